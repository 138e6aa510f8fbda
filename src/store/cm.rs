//! CM objects: rulesets, rules (with criteria), profiles, alerts. Row types and queries.
//!
//! Every search runs through [`super::search`]: `customer_id = ? AND (<compiled filter>)
//! ORDER BY id LIMIT ? OFFSET ?`, fetching one record more than asked to tell whether more
//! remain. Rows are read by column name; a profile's search names its ruleset's columns
//! `ruleset_…`.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::columns::{by_name, columns};
use super::search::{self, Search, Source};
use super::{Store, StoreResult};
use crate::page::{Page, Window};
use crate::query::SqlWhere;
use crate::query::catalog::CM_ALERT;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesetRow {
    pub id: i64,
    pub title: String,
    pub description: String,
    pub created_s: i64,
    pub updated_s: i64,
    pub is_template: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleCriterionRow {
    pub id: i64,
    pub property_name: String,
    pub property_value: String,
    pub expression_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRow {
    pub id: i64,
    pub ruleset_id: Option<i64>,
    pub rule_type: String,
    /// Joined by ", " as on the wire.
    pub event_types: String,
    pub json_data: String,
    pub created_s: i64,
    pub criteria: Vec<RuleCriterionRow>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesetWithRules {
    pub ruleset: RulesetRow,
    pub rules: Vec<RuleRow>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileRow {
    pub id: i64,
    pub uuid: String,
    pub title: String,
    pub created_s: i64,
    pub updated_s: i64,
    pub frequency: String,
    pub is_active: bool,
    pub included_ips: String,
    pub target_list: String,
    pub ruleset: Option<RulesetRow>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlertRow {
    pub id: i64,
    pub source: String,
    pub event_type: String,
    pub trigger_uuid: String,
    pub ip_address: String,
    pub hostname: String,
    pub event_s: i64,
    pub alert_s: i64,
    pub is_hidden: bool,
    /// The profile that raised it (without its ruleset, as alerts show it); shared by the
    /// alerts of one page that name the same profile.
    pub profile: Option<std::sync::Arc<ProfileRow>>,
    /// The event's details as stored (a JSON object); see [`AlertRow::alert_info`].
    pub alert_info_json: String,
}

impl AlertRow {
    /// The event's details, parsed.
    pub fn alert_info(&self) -> serde_json::Map<String, serde_json::Value> {
        serde_json::from_str(&self.alert_info_json).unwrap_or_default()
    }
}

/// A ruleset's columns, named `ruleset_…` (a profile's search selects them beside its own).
macro_rules! ruleset_cols {
    () => {
        "s.id AS ruleset_id, s.title AS ruleset_title, s.description AS ruleset_description, \
         s.created_s AS ruleset_created_s, s.updated_s AS ruleset_updated_s, \
         s.is_template AS ruleset_is_template"
    };
}

columns! {
    struct RulesetCols {
        ruleset_id, ruleset_title, ruleset_description, ruleset_created_s, ruleset_updated_s,
        ruleset_is_template,
    }
}

fn ruleset_row(row: &Row<'_>, c: &RulesetCols) -> rusqlite::Result<RulesetRow> {
    Ok(RulesetRow {
        id: row.get(c.ruleset_id)?,
        title: row.get(c.ruleset_title)?,
        description: row.get(c.ruleset_description)?,
        created_s: row.get(c.ruleset_created_s)?,
        updated_s: row.get(c.ruleset_updated_s)?,
        is_template: row.get(c.ruleset_is_template)?,
    })
}

macro_rules! profile_cols {
    () => {
        "p.id, p.uuid, p.title, p.created_s, p.updated_s, p.frequency, p.is_active, \
         p.included_ips, p.target_list"
    };
}

const PROFILE_COLS: &str = profile_cols!();

columns! {
    struct ProfileCols {
        id, uuid, title, created_s, updated_s, frequency, is_active, included_ips, target_list,
    }
}

/// A profile, without its ruleset.
fn profile_row(row: &Row<'_>, c: &ProfileCols) -> rusqlite::Result<ProfileRow> {
    Ok(ProfileRow {
        id: row.get(c.id)?,
        uuid: row.get(c.uuid)?,
        title: row.get(c.title)?,
        created_s: row.get(c.created_s)?,
        updated_s: row.get(c.updated_s)?,
        frequency: row.get(c.frequency)?,
        is_active: row.get(c.is_active)?,
        included_ips: row.get(c.included_ips)?,
        target_list: row.get(c.target_list)?,
        ruleset: None,
    })
}

columns! {
    struct AlertCols {
        id, source, event_type, trigger_uuid, ip_address, hostname, event_s, alert_s,
        is_hidden, alert_info_json, profile_id,
    }
}

/// An alert (without its profile) and its profile's id.
fn alert_row(r: &Row<'_>, c: &AlertCols) -> rusqlite::Result<(AlertRow, Option<i64>)> {
    Ok((
        AlertRow {
            id: r.get(c.id)?,
            source: r.get(c.source)?,
            event_type: r.get(c.event_type)?,
            trigger_uuid: r.get(c.trigger_uuid)?,
            ip_address: r.get(c.ip_address)?,
            hostname: r.get(c.hostname)?,
            event_s: r.get(c.event_s)?,
            alert_s: r.get(c.alert_s)?,
            is_hidden: r.get(c.is_hidden)?,
            alert_info_json: r.get(c.alert_info_json)?,
            profile: None,
        },
        r.get(c.profile_id)?,
    ))
}

pub(super) const ALERT_SOURCE: Source<'static> = Source {
    cols: "a.id, a.source, a.event_type, a.trigger_uuid, a.ip_address, a.hostname, a.event_s, \
           a.alert_s, a.is_hidden, a.alert_info_json, a.profile_id",
    from: "cm_alerts a",
    alias: "a",
    key: "a.id",
};

const ALERT_ID_SOURCE: Source<'static> = Source {
    cols: "a.id",
    ..ALERT_SOURCE
};

pub(super) const PROFILE_SOURCE: Source<'static> = Source {
    cols: concat!(profile_cols!(), ", ", ruleset_cols!()),
    from: "cm_profiles p LEFT JOIN cm_rulesets s ON s.id = p.ruleset_id AND s.customer_id = p.customer_id",
    alias: "p",
    key: "p.id",
};

pub(super) const RULE_SOURCE: Source<'static> = Source {
    cols: RULE_COLS,
    from: "cm_rules r",
    alias: "r",
    key: "r.id",
};

pub(super) const RULESET_SOURCE: Source<'static> = Source {
    cols: ruleset_cols!(),
    from: "cm_rulesets s",
    alias: "s",
    key: "s.id",
};

fn rule_criteria(conn: &Connection, rule_id: i64) -> StoreResult<Vec<RuleCriterionRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, property_name, property_value, expression_type FROM cm_rule_criteria \
         WHERE rule_id = ?1 ORDER BY position",
    )?;
    let rows = stmt
        .query_map(params![rule_id], |r| {
            Ok(RuleCriterionRow {
                id: r.get("id")?,
                property_name: r.get("property_name")?,
                property_value: r.get("property_value")?,
                expression_type: r.get("expression_type")?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

const RULE_COLS: &str = "r.id, r.ruleset_id, r.rule_type, r.event_types, r.json_data, r.created_s";

columns! {
    struct RuleCols { id, ruleset_id, rule_type, event_types, json_data, created_s }
}

fn rule_row(row: &Row<'_>, c: &RuleCols) -> rusqlite::Result<RuleRow> {
    Ok(RuleRow {
        id: row.get(c.id)?,
        ruleset_id: row.get(c.ruleset_id)?,
        rule_type: row.get(c.rule_type)?,
        event_types: row.get(c.event_types)?,
        json_data: row.get(c.json_data)?,
        created_s: row.get(c.created_s)?,
        criteria: Vec::new(),
    })
}

fn with_criteria(conn: &Connection, mut rule: RuleRow) -> StoreResult<RuleRow> {
    rule.criteria = rule_criteria(conn, rule.id)?;
    Ok(rule)
}

impl Store {
    /// A page of alerts, each rendered by `render` — or taken from the store's record cache, where a rendering stays
    /// while no write has happened since it was made ([`super::cache`]). The page's ids,
    /// the rows of the alerts not cached, and the rendering happen in one read snapshot.
    /// `variant` names the rendering (a cache key beside the id: JSON or XML).
    pub async fn cm_alerts_rendered<F>(
        &self,
        customer_id: i64,
        search: Search,
        variant: bool,
        mut render: F,
    ) -> StoreResult<Page<(i64, Arc<str>)>>
    where
        F: FnMut(AlertRow) -> Arc<str> + Send + 'static,
    {
        let (caches, conns) = (Arc::clone(&self.caches), Arc::clone(&self.conns));
        self.search(search.filter.lookup, move |conn| {
            let seen = conns.generation();
            let ids = search::run(conn, &ALERT_ID_SOURCE, customer_id, &search, |r| {
                r.get::<_, i64>("id")
            })?;
            let mut rendered: HashMap<i64, Arc<str>> = ids
                .items
                .iter()
                .filter_map(|id| caches.rendered.get(&(*id, variant), seen).map(|t| (*id, t)))
                .collect();
            let missing: Vec<i64> = ids
                .items
                .iter()
                .copied()
                .filter(|id| !rendered.contains_key(id))
                .collect();
            if !missing.is_empty() {
                let rows = alerts(
                    conn,
                    customer_id,
                    &Search::in_id_order(
                        SqlWhere::ids(&CM_ALERT, &missing),
                        Window {
                            offset: 0,
                            limit: missing.len() as u64,
                        },
                    ),
                )?
                .items;
                let now = conns.generation();
                for alert in rows {
                    let id = alert.id;
                    let text = render(alert);
                    caches
                        .rendered
                        .keep((id, variant), Arc::clone(&text), seen, now);
                    rendered.insert(id, text);
                }
            }
            // One snapshot: every id on the page has its row, so its rendering.
            ids.try_map(|id| {
                rendered.remove(&id).map(|t| (id, t)).ok_or_else(|| {
                    super::StoreError::Schema(format!("alert {id} has no row in its snapshot"))
                })
            })
        })
        .await
    }

    /// Alerts of `customer_id` matching `search`, in ascending id.
    pub async fn cm_alerts(&self, customer_id: i64, search: Search) -> StoreResult<Page<AlertRow>> {
        self.search(search.filter.lookup, move |conn| {
            alerts(conn, customer_id, &search)
        })
        .await
    }

    /// Profiles of `customer_id` matching `search`, with their ruleset.
    pub async fn cm_profiles(
        &self,
        customer_id: i64,
        search: Search,
    ) -> StoreResult<Page<ProfileRow>> {
        self.search(search.filter.lookup, move |conn| {
            let map = |r: &Row<'_>, (p, s): &(ProfileCols, RulesetCols)| {
                let mut profile = profile_row(r, p)?;
                let ruleset_id: Option<i64> = r.get(s.ruleset_id)?;
                if ruleset_id.is_some() {
                    profile.ruleset = Some(ruleset_row(r, s)?);
                }
                Ok(profile)
            };
            search::run(conn, &PROFILE_SOURCE, customer_id, &search, by_name(map))
        })
        .await
    }

    /// Rules of `customer_id` matching `search`, with their criteria.
    pub async fn cm_rules(&self, customer_id: i64, search: Search) -> StoreResult<Page<RuleRow>> {
        self.search(search.filter.lookup, move |conn| {
            search::run(conn, &RULE_SOURCE, customer_id, &search, by_name(rule_row))?
                .try_map(|rule| with_criteria(conn, rule))
        })
        .await
    }

    /// Rulesets of `customer_id` matching `search`, each with its rules.
    pub async fn cm_rulesets(
        &self,
        customer_id: i64,
        search: Search,
    ) -> StoreResult<Page<RulesetWithRules>> {
        self.search(search.filter.lookup, move |conn| {
            let page = search::run(
                conn,
                &RULESET_SOURCE,
                customer_id,
                &search,
                by_name(ruleset_row),
            )?;
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {RULE_COLS} FROM cm_rules r WHERE r.ruleset_id = ?1 AND r.customer_id = ?2 \
                 ORDER BY r.id"
            ))?;
            page.try_map(|ruleset| {
                let rules = stmt
                    .query_map(params![ruleset.id, customer_id], by_name(rule_row))?
                    .map(|rule| with_criteria(conn, rule?))
                    .collect::<StoreResult<Vec<_>>>()?;
                Ok(RulesetWithRules { ruleset, rules })
            })
        })
        .await
    }
}

/// Alerts of `customer_id` matching `search`, each with its profile.
fn alerts(conn: &Connection, customer_id: i64, search: &Search) -> StoreResult<Page<AlertRow>> {
    let page = search::run(conn, &ALERT_SOURCE, customer_id, search, by_name(alert_row))?;
    // A page names few profiles: read each once, share it.
    let mut profiles: HashMap<i64, Option<Arc<ProfileRow>>> = HashMap::new();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {PROFILE_COLS} FROM cm_profiles p WHERE p.id = ?1 AND p.customer_id = ?2"
    ))?;
    let mut profile = by_name(profile_row);
    page.try_map(|(mut alert, profile_id)| {
        if let Some(id) = profile_id {
            alert.profile = match profiles.entry(id) {
                Entry::Occupied(e) => e.get().clone(),
                Entry::Vacant(e) => {
                    let row = stmt
                        .query_row(params![id, customer_id], &mut profile)
                        .optional()?;
                    e.insert(row.map(Arc::new)).clone()
                }
            };
        }
        Ok(alert)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::criteria::{Criterion, compile};
    use crate::store::Seed;

    async fn seeded() -> Store {
        Store::private_with(Seed::embedded().unwrap())
            .await
            .unwrap()
    }

    fn by_id(id: &str) -> SqlWhere {
        let c = Criterion {
            field: Some("id".into()),
            operator: Some("EQUALS".into()),
            value: Some(id.into()),
        };
        compile(&[c], &CM_ALERT, 0).unwrap().1
    }

    const ACME: i64 = 1001;
    const GLOBEX: i64 = 2002;
    fn all(filter: SqlWhere) -> Search {
        Search::in_id_order(
            filter,
            Window {
                offset: 0,
                limit: 1000,
            },
        )
    }

    #[tokio::test]
    async fn every_query_is_scoped_to_the_customer() {
        let store = seeded().await;
        let acme = store.cm_alerts(ACME, all(by_id("246213"))).await.unwrap();
        assert_eq!(acme.items.len(), 1);
        let globex = store.cm_alerts(GLOBEX, all(by_id("246213"))).await.unwrap();
        assert!(globex.items.is_empty());
        let all_globex = store
            .cm_alerts(GLOBEX, all(SqlWhere::default()))
            .await
            .unwrap();
        assert_eq!(all_globex.items.len(), 5);
        assert!(
            all_globex
                .items
                .iter()
                .all(|a| a.ip_address.starts_with("10.20."))
        );
        let profiles = store
            .cm_profiles(GLOBEX, all(SqlWhere::default()))
            .await
            .unwrap();
        assert_eq!(
            profiles.items.iter().map(|p| p.id).collect::<Vec<_>>(),
            vec![9201]
        );
        let rulesets = store
            .cm_rulesets(GLOBEX, all(SqlWhere::default()))
            .await
            .unwrap();
        assert_eq!(rulesets.items.len(), 1);
        assert_eq!(rulesets.items[0].rules.len(), 1);
    }

    #[tokio::test]
    async fn windows_page_in_id_order() {
        let store = seeded().await;
        let w = Window {
            offset: 0,
            limit: 3,
        };
        let first = store
            .cm_alerts(ACME, Search::in_id_order(SqlWhere::default(), w))
            .await
            .unwrap();
        assert!(first.has_more);
        let ids: Vec<i64> = first.items.iter().map(|a| a.id).collect();
        assert_eq!(ids, vec![237124, 237172, 238503]);
    }
}

/// An alert to store (event injection).
#[derive(Debug, Clone, PartialEq)]
pub struct NewAlert {
    pub event_type: String,
    pub ip_address: String,
    pub hostname: String,
    pub event_s: i64,
    pub alert_s: i64,
    pub profile_id: i64,
    pub rule_id: i64,
    pub alert_info: serde_json::Map<String, serde_json::Value>,
}

impl Store {
    /// Store alerts (new ids after the largest), in one transaction.
    pub async fn cm_insert_alerts(
        &self,
        customer_id: i64,
        alerts: Vec<NewAlert>,
    ) -> StoreResult<Vec<i64>> {
        self.transaction(move |tx| {
            // New ids stay in the customer's own id block (a copied customer's ids are the
            // originals plus a billion times its id), after the block's highest id.
            let block: i64 = tx.query_row(
                "SELECT coalesce(max(id), 0) / 1000000000 * 1000000000 FROM cm_alerts \
                 WHERE customer_id = ?1",
                params![customer_id],
                |r| r.get(0),
            )?;
            let mut stmt = tx.prepare_cached(
                "INSERT INTO cm_alerts (id, customer_id, source, event_type, trigger_uuid, ip_address, \
                 hostname, event_s, alert_s, is_hidden, profile_id, rule_id, alert_info_json) VALUES \
                 ((SELECT coalesce(max(id), ?11) + 1 FROM cm_alerts WHERE id >= ?11 AND id < ?11 + 1000000000), \
                 ?1, 'REMEDIATION', ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8, ?9, ?10)",
            )?;
            let mut ids = Vec::with_capacity(alerts.len());
            for a in &alerts {
                let info = serde_json::Value::Object(a.alert_info.clone()).to_string();
                stmt.execute(params![
                    customer_id,
                    a.event_type,
                    uuid::Uuid::new_v4().to_string(),
                    a.ip_address,
                    a.hostname,
                    a.event_s,
                    a.alert_s,
                    a.profile_id,
                    a.rule_id,
                    info,
                    block
                ])?;
                ids.push(tx.last_insert_rowid());
            }
            Ok(ids)
        })
        .await
    }
}
