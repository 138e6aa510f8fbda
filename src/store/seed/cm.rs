//! CM seed records: rulesets, rules (with criteria), profiles, alerts — their checks and
//! inserts.

use std::borrow::Cow;
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
            check_alert(&AlertView::of(a), first + i, refs, customers, known)?;
        }
        Ok(())
    }

    /// Read `alerts.json` from `path` a chunk at a time — check each chunk against this
    /// seed's customers, profiles and rules, and insert it — so a file of a million alerts
    /// never stands in memory whole. A thread of its own reads, parses and checks while
    /// this one inserts ([`STREAM_CHUNK`] alerts at a time, one chunk waiting). Each record
    /// is read into a [`StreamedAlert`] borrowing its text from the read buffer, and its
    /// row packed into one [`PackedChunk`]: no allocation per record on the way.
    pub(super) fn insert_alerts_from(
        &self,
        tx: &rusqlite::Transaction<'_>,
        path: &std::path::Path,
        customer_ids: &Ids,
    ) -> StoreResult<()> {
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
        std::thread::scope(|scope| {
            let (send, chunks) = std::sync::mpsc::sync_channel::<PackedChunk>(1);
            let reader = scope.spawn(move || -> StoreResult<()> {
                let mut chunk = PackedChunk::default();
                let mut going = true;
                json_array_elements(file, |index, bytes| {
                    let parsed = serde_json::from_slice::<StreamedAlert<'_>>(bytes)
                        .ok()
                        .filter(|a| a.alert_info.get().trim_start().starts_with('{'));
                    let Some(alert) = parsed else {
                        // Parsed again, strictly, for the error that names the field (or
                        // read whole if it is valid after all).
                        let alert = parse_alert(index, bytes)?;
                        let view = AlertView::of(&alert);
                        let (event_s, alert_s) = check_alert(
                            &view,
                            index,
                            &mut refs,
                            &customers,
                            &super::check::Nothing,
                        )?;
                        let info = serde_json::to_string(&alert.alert_info)
                            .unwrap_or_else(|_| "{}".to_owned());
                        chunk.push(&view, customer_ids, event_s, alert_s, &info);
                        return Ok(true);
                    };
                    let view = alert.view();
                    let (event_s, alert_s) =
                        check_alert(&view, index, &mut refs, &customers, &super::check::Nothing)?;
                    match alert.alert_info.get() {
                        info if is_compact_json(info) => {
                            chunk.push(&view, customer_ids, event_s, alert_s, info)
                        }
                        info => {
                            let info = compact_object(info).map_err(|e| SeedError {
                                file: "alerts.json".to_owned(),
                                record: Some((index, None)),
                                field: Some("alertInfo".to_owned()),
                                message: super::strip_position(&e.to_string()),
                            })?;
                            chunk.push(&view, customer_ids, event_s, alert_s, &info)
                        }
                    }
                    if chunk.rows.len() == STREAM_CHUNK {
                        // A closed channel: the inserts stopped, and say why.
                        going = send.send(std::mem::take(&mut chunk)).is_ok();
                    }
                    Ok(going)
                })?;
                if going && !chunk.rows.is_empty() {
                    let _ = send.send(chunk);
                }
                Ok(())
            });
            let mut inserted = Ok(());
            for chunk in chunks.iter() {
                inserted = chunk.insert(tx);
                if inserted.is_err() {
                    break;
                }
            }
            drop(chunks);
            let read = reader
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            inserted.and(read)
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

/// The fields of an alert that its checks and its row read, wherever its text lives.
struct AlertView<'a> {
    id: i64,
    customer: &'a str,
    source: &'a str,
    event_type: &'a str,
    trigger_uuid: &'a str,
    ip_address: &'a str,
    hostname: &'a str,
    event_date: &'a str,
    alert_date: &'a str,
    is_hidden: bool,
    profile: Option<i64>,
    rule: Option<i64>,
}

impl AlertView<'_> {
    fn of(a: &AlertSeed) -> AlertView<'_> {
        AlertView {
            id: a.id,
            customer: &a.customer,
            source: &a.source,
            event_type: &a.event_type,
            trigger_uuid: &a.trigger_uuid,
            ip_address: &a.ip_address,
            hostname: &a.hostname,
            event_date: &a.event_date,
            alert_date: &a.alert_date,
            is_hidden: a.is_hidden,
            profile: a.profile,
            rule: a.rule,
        }
    }
}

/// Check one alert (record `index`) against the profiles and rules it names; its event
/// and alert dates in epoch seconds.
fn check_alert(
    a: &AlertView<'_>,
    index: usize,
    refs: &mut AlertRefs,
    customers: &HashSet<&str>,
    known: &dyn super::Known,
) -> Result<(i64, i64), SeedError> {
    let c = Check {
        table: &CM_ALERTS,
        index,
        name: a.id.to_string(),
        customers,
        known,
    };
    c.customer(a.customer)?;
    if a.id <= 0 || !refs.seen.insert(a.id) {
        return Err(c.fail("id", "must be positive and unique"));
    }
    if known.owner(&CM_ALERTS, a.id).is_some() {
        return Err(c.fail("id", format!("{} is taken by a stored record", a.id)));
    }
    c.one_of("eventType", a.event_type, EVENT_TYPES)?;
    let event_s = c.cm_date("eventDate", a.event_date)?;
    let alert_s = c.cm_date("alertDate", a.alert_date)?;
    if let Some(p) = a.profile {
        c.owned("profile", &CM_PROFILES, p, &refs.profiles, a.customer)?;
    }
    if let Some(r) = a.rule {
        c.owned("rule", &CM_RULES, r, &refs.rules, a.customer)?;
    }
    Ok((event_s, alert_s))
}

/// One record of a streamed `alerts.json`, read as [`AlertSeed`] reads it (the same fields,
/// defaults and refusals), its text borrowed from the read buffer where it holds no escapes
/// and its `alertInfo` left as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct StreamedAlert<'a> {
    id: i64,
    #[serde(borrow)]
    customer: Cow<'a, str>,
    #[serde(borrow, default = "remediation_text")]
    source: Cow<'a, str>,
    #[serde(borrow)]
    event_type: Cow<'a, str>,
    #[serde(borrow)]
    trigger_uuid: Cow<'a, str>,
    #[serde(borrow)]
    ip_address: Cow<'a, str>,
    #[serde(borrow, default)]
    hostname: Cow<'a, str>,
    #[serde(borrow)]
    event_date: Cow<'a, str>,
    #[serde(borrow)]
    alert_date: Cow<'a, str>,
    #[serde(default)]
    is_hidden: bool,
    profile: Option<i64>,
    rule: Option<i64>,
    #[serde(borrow, default = "no_alert_info")]
    alert_info: &'a serde_json::value::RawValue,
}

fn remediation_text() -> Cow<'static, str> {
    Cow::Borrowed("REMEDIATION")
}

/// An absent `alertInfo`: an empty object, as [`AlertSeed`] takes it.
fn no_alert_info() -> &'static serde_json::value::RawValue {
    serde_json::from_str("{}").expect("an empty object is JSON")
}

impl StreamedAlert<'_> {
    fn view(&self) -> AlertView<'_> {
        AlertView {
            id: self.id,
            customer: &self.customer,
            source: &self.source,
            event_type: &self.event_type,
            trigger_uuid: &self.trigger_uuid,
            ip_address: &self.ip_address,
            hostname: &self.hostname,
            event_date: &self.event_date,
            alert_date: &self.alert_date,
            is_hidden: self.is_hidden,
            profile: self.profile,
            rule: self.rule,
        }
    }
}

/// Whether `json` (valid JSON) is written as `serde_json` writes it: no blank outside its
/// strings and no escape in them, so it can be stored as it is.
fn is_compact_json(json: &str) -> bool {
    let mut in_string = false;
    for b in json.bytes() {
        match b {
            b'\\' => return false,
            b'"' => in_string = !in_string,
            b' ' | b'\n' | b'\r' | b'\t' if !in_string => return false,
            _ => {}
        }
    }
    true
}

/// A JSON object as `serde_json` writes it (as [`AlertSeed`]'s `alertInfo` is stored).
fn compact_object(json: &str) -> serde_json::Result<String> {
    serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(json)
        .and_then(|map| serde_json::to_string(&map))
}

/// Which text of a [`PackedChunk`] a row's column is (byte range).
type Span = (u32, u32);

/// One alert's row in a [`PackedChunk`].
struct PackedAlert {
    id: i64,
    customer: i64,
    event_s: i64,
    alert_s: i64,
    is_hidden: bool,
    profile: Option<i64>,
    rule: Option<i64>,
    /// source, event type, trigger uuid, IP address, hostname, alert info.
    text: [Span; 6],
}

/// Alerts' rows ready to insert, their text in one string.
#[derive(Default)]
struct PackedChunk {
    text: String,
    rows: Vec<PackedAlert>,
}

impl PackedChunk {
    fn push(&mut self, a: &AlertView<'_>, ids: &Ids, event_s: i64, alert_s: i64, info: &str) {
        if self.rows.is_empty() {
            self.rows.reserve(STREAM_CHUNK);
            self.text.reserve(STREAM_CHUNK * 160);
        }
        let mut span = |part: &str| -> Span {
            let start = self.text.len() as u32;
            self.text.push_str(part);
            (start, self.text.len() as u32)
        };
        let text = [
            span(a.source),
            span(a.event_type),
            span(a.trigger_uuid),
            span(a.ip_address),
            span(a.hostname),
            span(info),
        ];
        self.rows.push(PackedAlert {
            id: a.id,
            customer: ids.customer(a.customer),
            event_s,
            alert_s,
            is_hidden: a.is_hidden,
            profile: a.profile,
            rule: a.rule,
            text,
        });
    }

    fn insert(&self, tx: &rusqlite::Transaction<'_>) -> StoreResult<()> {
        let mut stmt = tx.prepare_cached(INSERT_ALERT)?;
        let text = |(start, end): Span| &self.text[start as usize..end as usize];
        for row in &self.rows {
            let [source, event_type, trigger_uuid, ip_address, hostname, info] = row.text;
            stmt.execute(params![
                row.id,
                row.customer,
                text(source),
                text(event_type),
                text(trigger_uuid),
                text(ip_address),
                text(hostname),
                row.event_s,
                row.alert_s,
                row.is_hidden,
                row.profile,
                row.rule,
                text(info)
            ])?;
        }
        Ok(())
    }
}

/// Alerts checked and inserted at a time while streaming a large file (at most three
/// chunks stand in memory: one being inserted, one waiting, one being read).
const STREAM_CHUNK: usize = 5_000;

/// The most bytes one record of a streamed file may take.
const MAX_RECORD_BYTES: usize = 64 * 1024 * 1024;

/// One alert of a streamed file, its record `index` (0-based) in `alerts.json`.
fn parse_alert(index: usize, bytes: &[u8]) -> StoreResult<AlertSeed> {
    serde_json::from_slice(bytes).map_err(|first| {
        // Parsed again, slower, to name the field.
        let de = &mut serde_json::Deserializer::from_slice(bytes);
        let (field, inner) = match serde_path_to_error::deserialize::<_, AlertSeed>(de) {
            Ok(_) => (String::new(), first),
            Err(e) => (e.path().to_string(), e.into_inner()),
        };
        let message = if inner.is_syntax() || inner.is_eof() {
            format!(
                "not valid JSON: {}",
                super::strip_position(&inner.to_string())
            )
        } else {
            super::strip_position(&inner.to_string())
        };
        SeedError {
            file: "alerts.json".to_owned(),
            record: Some((index, None)),
            field: (!field.is_empty() && field != ".").then_some(field),
            message,
        }
        .into()
    })
}

/// Read the JSON array in `input` a block at a time and hand each element's bytes, with
/// its index, to `each`, which answers whether to go on. Only the array's structure is
/// read here (brackets and braces outside strings, commas at the top); each element is
/// parsed, strictly, by `each`. Errors name `alerts.json`.
fn json_array_elements(
    mut input: impl std::io::Read,
    mut each: impl FnMut(usize, &[u8]) -> StoreResult<bool>,
) -> StoreResult<()> {
    const BLOCK: usize = 4 * 1024 * 1024;
    let fail = |message: String| -> crate::store::StoreError {
        SeedError::file("alerts.json", message).into()
    };
    let mut buf: Vec<u8> = Vec::with_capacity(2 * BLOCK);
    // The current element starts at `start`; bytes before `pos` are scanned.
    let (mut start, mut pos, mut index) = (0usize, 0usize, 0usize);
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let (mut opened, mut closed) = (false, false);
    loop {
        while pos < buf.len() {
            if in_string && !escaped {
                // Most of a record is its strings: skip to the next quote or backslash.
                pos += quote_or_backslash(&buf[pos..]).unwrap_or(buf.len() - pos);
                if pos == buf.len() {
                    break;
                }
            }
            let b = buf[pos];
            if in_string {
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_string = false;
                }
            } else if !opened || closed {
                if b == b'[' && !opened {
                    opened = true;
                    depth = 1;
                    start = pos + 1;
                } else if !b.is_ascii_whitespace() {
                    return Err(fail(if closed {
                        "not valid JSON: text after the array".to_owned()
                    } else {
                        "not valid JSON: expected an array of alerts".to_owned()
                    }));
                }
            } else {
                match b {
                    b'"' => in_string = true,
                    b'[' | b'{' => depth += 1,
                    b']' | b'}' if depth > 1 => depth -= 1,
                    b']' => {
                        let element = &buf[start..pos];
                        let empty = index == 0 && element.iter().all(u8::is_ascii_whitespace);
                        if !empty && !each(index, element)? {
                            return Ok(());
                        }
                        closed = true;
                    }
                    b'}' => return Err(fail(format!("record {index}: not valid JSON"))),
                    b',' if depth == 1 => {
                        if !each(index, &buf[start..pos])? {
                            return Ok(());
                        }
                        index += 1;
                        start = pos + 1;
                    }
                    _ => {}
                }
            }
            pos += 1;
        }
        if opened && !closed {
            buf.drain(..start);
            pos -= start;
            start = 0;
            if buf.len() > MAX_RECORD_BYTES {
                return Err(fail(format!(
                    "record {index}: larger than {} MB",
                    MAX_RECORD_BYTES >> 20
                )));
            }
        } else {
            buf.clear();
            pos = 0;
        }
        let filled = buf.len();
        buf.resize(filled + BLOCK, 0);
        let read = loop {
            match input.read(&mut buf[filled..]) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        let read = read.map_err(|e| fail(format!("cannot read: {e}")))?;
        buf.truncate(filled + read);
        if read == 0 {
            break;
        }
    }
    match (opened, closed) {
        (true, true) => Ok(()),
        (true, false) => Err(fail(format!(
            "record {index}: not valid JSON: the file ends inside the array"
        ))),
        (false, _) => Err(fail(
            "not valid JSON: expected an array of alerts".to_owned(),
        )),
    }
}

/// Where the first `"` or `\\` of `bytes` is: eight bytes at a time.
fn quote_or_backslash(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // A byte of `word ^ (b * ONES)` is zero where `word` holds `b`; a zero byte sets its
    // high bit in `(x - ONES) & !x & HIGHS`, and no byte before the first zero one does.
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in chunks.by_ref() {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        let found = zero_byte(word ^ (u64::from(b'"') * ONES))
            | zero_byte(word ^ (u64::from(b'\\') * ONES));
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == b'"' || b == b'\\')
        .map(|i| at + i)
}

/// What an alert's row takes beyond the record itself, worked out before the insert.
struct AlertRow {
    customer: i64,
    event_s: i64,
    alert_s: i64,
    info: String,
}

impl AlertRow {
    fn of(a: &AlertSeed, customer_ids: &Ids) -> AlertRow {
        let secs = |v: &str| dates::parse_s(v).unwrap_or(0);
        AlertRow {
            customer: customer_ids.customer(&a.customer),
            event_s: secs(&a.event_date),
            alert_s: secs(&a.alert_date),
            info: serde_json::to_string(&a.alert_info).unwrap_or_else(|_| "{}".to_owned()),
        }
    }
}

/// Insert alerts whose customers are stored.
fn insert_alerts(
    tx: &rusqlite::Transaction<'_>,
    alerts: &[AlertSeed],
    customer_ids: &Ids,
) -> StoreResult<()> {
    let rows: Vec<AlertRow> = alerts
        .iter()
        .map(|a| AlertRow::of(a, customer_ids))
        .collect();
    insert_alert_rows(tx, alerts, &rows)
}

const INSERT_ALERT: &str = "INSERT INTO cm_alerts (id, customer_id, source, event_type, trigger_uuid, \
     ip_address, hostname, event_s, alert_s, is_hidden, profile_id, rule_id, alert_info_json) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";

/// Insert alerts with their [`AlertRow`]s (one each, in order).
fn insert_alert_rows(
    tx: &rusqlite::Transaction<'_>,
    alerts: &[AlertSeed],
    rows: &[AlertRow],
) -> StoreResult<()> {
    let mut stmt = tx.prepare_cached(INSERT_ALERT)?;
    for (a, row) in alerts.iter().zip(rows) {
        stmt.execute(params![
            a.id,
            row.customer,
            a.source,
            a.event_type,
            a.trigger_uuid,
            a.ip_address,
            a.hostname,
            row.event_s,
            row.alert_s,
            a.is_hidden,
            a.profile,
            a.rule,
            row.info
        ])?;
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::dump;

    #[test]
    fn the_first_quote_or_backslash_is_found_at_any_offset() {
        for len in 0..40 {
            for at in 0..=len {
                for mark in [b'"', b'\\'] {
                    let mut bytes = vec![b'a'; len];
                    // Bytes past the first mark, and high bytes before it, change nothing.
                    if at > 0 {
                        bytes[at - 1] = 0x80 | b'"';
                    }
                    if at < len {
                        bytes[at] = mark;
                        bytes[len - 1] = if mark == b'"' { b'\\' } else { b'"' };
                        bytes[at] = mark;
                    }
                    let naive = bytes.iter().position(|&b| b == b'"' || b == b'\\');
                    assert_eq!(quote_or_backslash(&bytes), naive, "{bytes:?}");
                }
            }
        }
    }

    /// The rows of `cm_alerts`, in id order, as text.
    /// A streamed `alerts.json` is read by its own, borrowing parser: it stores exactly the
    /// rows a file read whole stores (defaults, escapes, an `alertInfo` written loosely), and
    /// refuses what a file read whole refuses, with the same words.
    #[tokio::test]
    async fn a_streamed_alerts_file_stores_and_refuses_what_a_read_one_does() {
        let dir = tempfile::tempdir().unwrap();
        let embedded = Seed::embedded().unwrap();
        let write = |name: &str, text: String| std::fs::write(dir.path().join(name), text).unwrap();
        for (name, text) in [
            ("customers.json", serde_json::to_string(&embedded.customers)),
            ("profiles.json", serde_json::to_string(&embedded.profiles)),
            ("rules.json", serde_json::to_string(&embedded.rules)),
            ("rulesets.json", serde_json::to_string(&embedded.rulesets)),
        ] {
            write(name, text.unwrap());
        }
        let profile = embedded
            .profiles
            .iter()
            .find(|p| p.customer == "Acme")
            .unwrap()
            .id;
        let base = r#""customer":"Acme","eventType":"PORT_OPEN","triggerUuid":"t","ipAddress":"10.0.0.1","eventDate":"2022-01-01T00:00:00Z","alertDate":"2022-01-01T00:00:01Z""#;
        let alerts = [
            format!(
                r#"{{"id":1,{base},"hostname":"h1","profile":{profile},"alertInfo":{{"port":80,"name":"a b"}}}}"#
            ),
            // Defaults: no source, hostname, alertInfo, profile or rule.
            format!(r#"{{"id":2,{base}}}"#),
            // Escapes in text; an alertInfo with blanks, escapes and nesting.
            format!(
                r#"{{"id":3,{base},"source":"R\u0045MEDIATION","hostname":"h\"q\\x\/y","alertInfo":
                {{ "port" : 443, "title":"caf\u00e9 \"x\"", "list":[1, 2.50, {{"a":null}}], "e":1e3 }} }}"#
            ),
            format!(r#"{{"id":4,{base},"isHidden":true,"alertInfo":{{}},"source":"OTHER"}}"#),
        ];
        write("alerts.json", format!("[{}]", alerts.join(",\n")));
        let read = Seed::from_dir_with(dir.path(), u64::MAX).unwrap();
        let streamed = Seed::from_dir_with(dir.path(), 0).unwrap();
        assert!(streamed.alerts_file.is_some());
        let (a, b) = (
            crate::store::Store::private_with(read).await.unwrap(),
            crate::store::Store::private_with(streamed).await.unwrap(),
        );
        let rows = dump(&a, Some("cm_alerts")).await;
        assert_eq!(rows.len(), 4);
        assert_eq!(dump(&b, Some("cm_alerts")).await, rows);
        // Written as a file read whole writes it: compact, escapes and numbers read.
        assert!(
            rows[2].contains("café") && rows[2].contains("2.5,") && rows[2].contains("1000.0"),
            "{}",
            rows[2]
        );

        for (bad, field) in [
            (r#""alertInfo":null"#, "alertInfo"),
            (r#""alertInfo":[1]"#, "alertInfo"),
            (r#""alertInfo":{"a":1,}"#, ""),
            (r#""source":null"#, "source"),
            (r#""hostname":5"#, "hostname"),
            (r#""colour":"red""#, ""),
            (r#""profile":999999"#, "profile"),
            (r#""eventDate":"yesterday""#, "eventDate"),
        ] {
            write(
                "alerts.json",
                format!("[{},\n{{\"id\":9,{base},{bad}}}]", alerts[0]),
            );
            let mut errors = Vec::new();
            for stream_above in [u64::MAX, 0] {
                let err = match Seed::from_dir_with(dir.path(), stream_above) {
                    Err(e) => e.to_string(),
                    Ok(seed) => crate::store::Store::private_with(seed)
                        .await
                        .unwrap_err()
                        .to_string(),
                };
                errors.push(err);
            }
            let streamed = &errors[1];
            assert!(
                streamed.contains("alerts.json") && streamed.contains(field),
                "{bad}: {streamed}"
            );
            if !field.is_empty() {
                // A file read whole names the record the same way (its index, and the
                // alert's id where the record could be read).
                assert!(errors[0].contains(field), "{bad}: {errors:?}");
            }
        }
    }

    /// The elements `json_array_elements` finds in `text`, read `block` bytes at a time.
    fn elements(text: &str, block: usize) -> Result<Vec<String>, String> {
        struct Trickle<'a>(&'a [u8], usize);
        impl std::io::Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.len().min(self.1).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut found = Vec::new();
        json_array_elements(Trickle(text.as_bytes(), block), |index, bytes| {
            assert_eq!(index, found.len());
            found.push(String::from_utf8(bytes.to_vec()).unwrap().trim().to_owned());
            Ok(true)
        })
        .map_err(|e| e.to_string())?;
        Ok(found)
    }

    #[test]
    fn array_elements_are_split_at_top_level_commas_only() {
        let text = r#" [ {"a": "x,]}\"[{", "b": [1, {"c": 2}]}, 5 ,"s\\"
            , [] ] "#;
        for block in [1, 2, 7, 1 << 20] {
            assert_eq!(
                elements(text, block).unwrap(),
                [
                    r#"{"a": "x,]}\"[{", "b": [1, {"c": 2}]}"#,
                    "5",
                    r#""s\\""#,
                    "[]"
                ],
                "read {block} bytes at a time"
            );
        }
        assert_eq!(elements(" [ ] ", 1).unwrap(), Vec::<String>::new());
        assert_eq!(elements("[1,]", 1).unwrap(), ["1", ""]);
    }

    #[test]
    fn what_is_not_one_array_is_refused() {
        for (text, message) in [
            ("", "expected an array"),
            ("{}", "expected an array"),
            ("[1] 2", "text after the array"),
            (
                "[1, {\"a\": 2",
                "record 1: not valid JSON: the file ends inside the array",
            ),
            ("[{\"a\": 1}}]", "record 0: not valid JSON"),
        ] {
            let err = elements(text, 3).unwrap_err();
            assert!(
                err.contains("alerts.json") && err.contains(message),
                "{text}: {err}"
            );
        }
    }
}
