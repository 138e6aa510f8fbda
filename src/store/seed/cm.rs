//! CM seed records: rulesets, rules (with criteria), profiles, alerts — their checks and
//! inserts.

use std::collections::HashSet;

use rusqlite::params;
use serde::{Deserialize, Serialize};

use super::check::{Check, Owners};
use super::{Ids, Seed, SeedError};
use crate::dates;
use crate::query::catalog::{EVENT_TYPES, FREQUENCIES, RULE_TYPES};
use crate::store::StoreResult;
use crate::store::objects::{CM_ALERTS, CM_PROFILES, CM_RULES, CM_RULESETS, Table};

/// A CM ruleset.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RulesetSeed {
    pub id: i64,
    pub customer: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub date_created: String,
    pub date_updated: String,
    #[serde(default)]
    pub is_template: bool,
}

/// One criterion of a CM rule.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RuleCriterionSeed {
    pub id: i64,
    pub property_name: String,
    pub property_value: String,
    pub expression_type: String,
}

/// A CM rule; `jsonData` is built from the other fields when not given.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RuleSeed {
    pub id: i64,
    pub customer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ruleset: Option<i64>,
    pub rule_type: String,
    pub event_types: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub json_data: Option<String>,
    pub date_created: String,
    #[serde(default)]
    pub criteria: Vec<RuleCriterionSeed>,
}

/// A CM monitoring profile; `targetList` defaults to `includedIps`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ProfileSeed {
    pub id: i64,
    pub customer: String,
    pub uuid: String,
    pub title: String,
    pub date_created: String,
    pub date_updated: String,
    pub frequency: String,
    pub is_active: bool,
    pub included_ips: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_list: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ruleset: Option<i64>,
}

fn remediation() -> String {
    "REMEDIATION".to_owned()
}

/// A CM alert. `alertInfo` is the event's details, rendered as given.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AlertSeed {
    pub id: i64,
    pub customer: String,
    #[serde(default = "remediation")]
    pub source: String,
    pub event_type: String,
    pub trigger_uuid: String,
    pub ip_address: String,
    #[serde(default)]
    pub hostname: String,
    pub event_date: String,
    pub alert_date: String,
    #[serde(default)]
    pub is_hidden: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<i64>,
    #[serde(default)]
    pub alert_info: serde_json::Map<String, serde_json::Value>,
}

impl Seed {
    pub(super) fn validate_cm(
        &self,
        customers: &HashSet<&str>,
        known: &dyn super::Known,
    ) -> Result<(), SeedError> {
        let check = |table: &'static Table, index: usize, name: String| Check {
            table,
            index,
            name,
            customers,
            known,
        };

        let mut rulesets = Owners::new();
        for (i, r) in self.rulesets.iter().enumerate() {
            let c = check(&CM_RULESETS, i, r.title.clone());
            c.customer(&r.customer)?;
            c.unique(r.id, &mut rulesets, &r.customer)?;
            c.cm_date("dateCreated", &r.date_created)?;
            c.cm_date("dateUpdated", &r.date_updated)?;
        }

        let (mut rules, mut criteria) = (Owners::new(), HashSet::new());
        for (i, r) in self.rules.iter().enumerate() {
            let c = check(&CM_RULES, i, r.id.to_string());
            c.customer(&r.customer)?;
            c.unique(r.id, &mut rules, &r.customer)?;
            if let Some(rs) = r.ruleset {
                c.owned("ruleset", &CM_RULESETS, rs, &rulesets, &r.customer)?;
            }
            c.one_of("ruleType", &r.rule_type, RULE_TYPES)?;
            if r.event_types.is_empty() {
                return Err(c.fail("eventTypes", "must not be empty"));
            }
            for e in &r.event_types {
                c.one_of("eventTypes", e, EVENT_TYPES)?;
            }
            c.cm_date("dateCreated", &r.date_created)?;
            for cr in &r.criteria {
                if !criteria.insert(cr.id) || known.criterion_taken(cr.id) {
                    return Err(c.fail("criteria.id", format!("duplicate criterion id {}", cr.id)));
                }
            }
            if let Some(json) = &r.json_data
                && serde_json::from_str::<serde_json::Value>(json).is_err()
            {
                return Err(c.fail("jsonData", "is not valid JSON text"));
            }
        }

        let mut profiles = Owners::new();
        for (i, p) in self.profiles.iter().enumerate() {
            let c = check(&CM_PROFILES, i, p.title.clone());
            c.customer(&p.customer)?;
            c.unique(p.id, &mut profiles, &p.customer)?;
            if let Some(rs) = p.ruleset {
                c.owned("ruleset", &CM_RULESETS, rs, &rulesets, &p.customer)?;
            }
            c.one_of("frequency", &p.frequency, FREQUENCIES)?;
            c.cm_date("dateCreated", &p.date_created)?;
            c.cm_date("dateUpdated", &p.date_updated)?;
            if crate::iprange::IpRanges::parse(&p.included_ips).is_none() {
                return Err(c.fail("includedIps", "not a list of IPv4 addresses and ranges"));
            }
        }

        let refs = AlertRefs {
            profiles,
            rules,
            seen: HashSet::new(),
        };
        let mut refs = refs;
        self.check_alerts(&self.alerts, 0, &mut refs, customers, known)
    }

    /// Check alerts (numbered from `first`) against the profiles and rules they name.
    fn check_alerts(
        &self,
        alerts: &[AlertSeed],
        first: usize,
        refs: &mut AlertRefs,
        customers: &HashSet<&str>,
        known: &dyn super::Known,
    ) -> Result<(), SeedError> {
        for (i, a) in alerts.iter().enumerate() {
            let c = Check {
                table: &CM_ALERTS,
                index: first + i,
                name: a.id.to_string(),
                customers,
                known,
            };
            c.customer(&a.customer)?;
            if a.id <= 0 || !refs.seen.insert(a.id) {
                return Err(c.fail("id", "must be positive and unique"));
            }
            if known.owner(&CM_ALERTS, a.id).is_some() {
                return Err(c.fail("id", format!("{} is taken by a stored record", a.id)));
            }
            c.one_of("eventType", &a.event_type, EVENT_TYPES)?;
            c.cm_date("eventDate", &a.event_date)?;
            c.cm_date("alertDate", &a.alert_date)?;
            if let Some(p) = a.profile {
                c.owned("profile", &CM_PROFILES, p, &refs.profiles, &a.customer)?;
            }
            if let Some(r) = a.rule {
                c.owned("rule", &CM_RULES, r, &refs.rules, &a.customer)?;
            }
        }
        Ok(())
    }

    /// Read `alerts.json` from `path` a chunk at a time — check each chunk against this
    /// seed's customers, profiles and rules, and insert it — so a file of a million alerts
    /// never stands in memory whole.
    pub(super) fn insert_alerts_from(
        &self,
        tx: &rusqlite::Transaction<'_>,
        path: &std::path::Path,
        customer_ids: &Ids,
    ) -> StoreResult<()> {
        use serde::de::{Deserializer as _, Error as _};
        let file = std::fs::File::open(path)
            .map_err(|e| SeedError::file("alerts.json", format!("cannot read: {e}")))?;
        let owners = |pairs: Vec<(i64, &String)>| -> Owners {
            pairs.into_iter().map(|(id, c)| (id, c.clone())).collect()
        };
        let mut refs = AlertRefs {
            profiles: owners(self.profiles.iter().map(|p| (p.id, &p.customer)).collect()),
            rules: owners(self.rules.iter().map(|r| (r.id, &r.customer)).collect()),
            seen: HashSet::new(),
        };
        let customers: HashSet<&str> = self.customers.iter().map(|c| c.name.as_str()).collect();
        let mut failure: Option<crate::store::StoreError> = None;
        let mut count = 0usize;
        let mut flush = |chunk: &[AlertSeed], first: usize| -> StoreResult<()> {
            self.check_alerts(chunk, first, &mut refs, &customers, &super::check::Nothing)?;
            insert_alerts(tx, chunk, customer_ids)
        };
        let visitor = AlertStream {
            flush: &mut flush,
            failure: &mut failure,
            count: &mut count,
        };
        let mut de =
            serde_json::Deserializer::from_reader(std::io::BufReader::with_capacity(1 << 20, file));
        let parsed = de.deserialize_seq(visitor).and_then(|()| de.end());
        if let Some(e) = failure {
            return Err(e);
        }
        parsed.map_err(|e| {
            let e = serde_json::Error::custom(e);
            SeedError::file("alerts.json", format!("record {count}: {e}")).into()
        })
    }

    pub(super) fn insert_cm(
        &self,
        tx: &rusqlite::Transaction<'_>,
        customer_ids: &Ids,
    ) -> StoreResult<()> {
        let cust = |name: &str| customer_ids.customer(name);
        let secs = |v: &str| dates::parse_s(v).unwrap_or(0);
        let mut stmt = tx.prepare_cached(
            "INSERT INTO cm_rulesets (id, customer_id, title, description, created_s, updated_s, is_template) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for r in &self.rulesets {
            stmt.execute(params![
                r.id,
                cust(&r.customer),
                r.title,
                r.description,
                secs(&r.date_created),
                secs(&r.date_updated),
                r.is_template
            ])?;
        }
        let mut stmt = tx.prepare_cached(
            "INSERT INTO cm_rules (id, customer_id, ruleset_id, rule_type, event_types, json_data, created_s) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        let mut crit = tx.prepare_cached(
            "INSERT INTO cm_rule_criteria (id, rule_id, customer_id, position, property_name, property_value, \
             expression_type) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for r in &self.rules {
            let json = r.json_data.clone().unwrap_or_else(|| default_rule_json(r));
            stmt.execute(params![
                r.id,
                cust(&r.customer),
                r.ruleset,
                r.rule_type,
                r.event_types.join(", "),
                json,
                secs(&r.date_created)
            ])?;
            for (pos, c) in r.criteria.iter().enumerate() {
                crit.execute(params![
                    c.id,
                    r.id,
                    cust(&r.customer),
                    pos as i64,
                    c.property_name,
                    c.property_value,
                    c.expression_type
                ])?;
            }
        }
        let mut stmt = tx.prepare_cached(
            "INSERT INTO cm_profiles (id, customer_id, uuid, title, created_s, updated_s, frequency, is_active, \
             included_ips, target_list, ruleset_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;
        for p in &self.profiles {
            let target = p
                .target_list
                .clone()
                .unwrap_or_else(|| p.included_ips.clone());
            stmt.execute(params![
                p.id,
                cust(&p.customer),
                p.uuid,
                p.title,
                secs(&p.date_created),
                secs(&p.date_updated),
                p.frequency,
                p.is_active,
                p.included_ips,
                target,
                p.ruleset
            ])?;
        }
        insert_alerts(tx, &self.alerts, customer_ids)
    }
}

/// What alerts are checked against while they are read: the seed's profiles and rules, and
/// the alert ids seen so far.
struct AlertRefs {
    profiles: Owners,
    rules: Owners,
    seen: HashSet<i64>,
}

/// Feeds the elements of the alerts array to `flush` in chunks, as they are parsed.
struct AlertStream<'a, F: FnMut(&[AlertSeed], usize) -> StoreResult<()>> {
    flush: &'a mut F,
    failure: &'a mut Option<crate::store::StoreError>,
    count: &'a mut usize,
}

/// Alerts checked and inserted at a time while streaming a large file.
const STREAM_CHUNK: usize = 20_000;

impl<'de, F: FnMut(&[AlertSeed], usize) -> StoreResult<()>> serde::de::Visitor<'de>
    for AlertStream<'_, F>
{
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON array of alerts")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        use serde::de::Error as _;
        let mut chunk = Vec::with_capacity(STREAM_CHUNK);
        let mut first = 0;
        loop {
            let next = seq.next_element::<AlertSeed>()?;
            let done = next.is_none();
            if let Some(alert) = next {
                chunk.push(alert);
                *self.count += 1;
            }
            if chunk.len() == STREAM_CHUNK || (done && !chunk.is_empty()) {
                if let Err(e) = (self.flush)(&chunk, first) {
                    *self.failure = Some(e);
                    return Err(A::Error::custom("stopped"));
                }
                first += chunk.len();
                chunk.clear();
            }
            if done {
                return Ok(());
            }
        }
    }
}

/// Insert alerts whose customers are stored.
fn insert_alerts(
    tx: &rusqlite::Transaction<'_>,
    alerts: &[AlertSeed],
    customer_ids: &Ids,
) -> StoreResult<()> {
    {
        let cust = |name: &str| customer_ids.customer(name);
        let secs = |v: &str| dates::parse_s(v).unwrap_or(0);
        let mut stmt = tx.prepare_cached(
            "INSERT INTO cm_alerts (id, customer_id, source, event_type, trigger_uuid, ip_address, hostname, \
             event_s, alert_s, is_hidden, profile_id, rule_id, alert_info_json) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?;
        for a in alerts {
            let info = serde_json::Value::Object(a.alert_info.clone()).to_string();
            stmt.execute(params![
                a.id,
                cust(&a.customer),
                a.source,
                a.event_type,
                a.trigger_uuid,
                a.ip_address,
                a.hostname,
                secs(&a.event_date),
                secs(&a.alert_date),
                a.is_hidden,
                a.profile,
                a.rule,
                info
            ])?;
        }
        Ok(())
    }
}

/// A rule's `jsonData` as the CM UI writes it, from its type, events and criteria.
fn default_rule_json(r: &RuleSeed) -> String {
    let criteria: Vec<serde_json::Value> = r
        .criteria
        .iter()
        .map(|c| {
            serde_json::json!({
                "propertyName": c.property_name,
                "PropertyValue": c.property_value,
                "expressionType": c.expression_type,
            })
        })
        .collect();
    let mut ui = serde_json::Map::new();
    for e in &r.event_types {
        ui.insert(format!("eventType.{e}"), "on".into());
    }
    serde_json::json!({
        "ruleType": r.rule_type,
        "eventTypes": r.event_types,
        "criteria": criteria,
        "uiState": ui,
    })
    .to_string()
}
