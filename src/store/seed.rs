//! Seed data: read, validate, load.
//!
//! A seed is a folder of JSON files, one per object type (the format is described in
//! `seed-data/README.md`). The default seed is embedded in the binary at build time.
//! [`Seed::embedded`] and [`Seed::from_dir`] parse and validate every file up front; an error
//! names the file, the record and the field. [`super::Store::load_seed`] then inserts it all
//! in one transaction, so a store is never half-loaded.
//!
//! Adding an object type: a record struct here (serde, `deny_unknown_fields`), a field on
//! [`Seed`], a line in [`FILES`], checks in [`Seed::validate`], inserts in [`Seed::insert`].

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::StoreResult;
use crate::query::catalog::{EVENT_TYPES, FREQUENCIES, RULE_TYPES};

pub mod car;
pub use car::{
    ActivitySeed, AssetJobSeed, AssetSeed, AssetTagSeed, JobSeed, ScriptSeed, iso_millis,
};

/// The seed files this build knows, in load order, with the embedded default's contents.
const FILES: &[(&str, &str)] = &[
    (
        "customers.json",
        include_str!("../../seed-data/customers.json"),
    ),
    ("users.json", include_str!("../../seed-data/users.json")),
    (
        "rulesets.json",
        include_str!("../../seed-data/rulesets.json"),
    ),
    ("rules.json", include_str!("../../seed-data/rules.json")),
    (
        "profiles.json",
        include_str!("../../seed-data/profiles.json"),
    ),
    ("alerts.json", include_str!("../../seed-data/alerts.json")),
    (
        "assettags.json",
        include_str!("../../seed-data/assettags.json"),
    ),
    ("assets.json", include_str!("../../seed-data/assets.json")),
    ("scripts.json", include_str!("../../seed-data/scripts.json")),
    ("jobs.json", include_str!("../../seed-data/jobs.json")),
    (
        "assetjobs.json",
        include_str!("../../seed-data/assetjobs.json"),
    ),
    (
        "activities.json",
        include_str!("../../seed-data/activities.json"),
    ),
];

/// Every list of a [`Seed`], once: its field, its file, and the field naming its customer.
macro_rules! seed_lists {
    ($apply:ident) => {
        $apply!(
            customers "customers.json" name,
            users "users.json" customer,
            rulesets "rulesets.json" customer,
            rules "rules.json" customer,
            profiles "profiles.json" customer,
            alerts "alerts.json" customer,
            asset_tags "assettags.json" customer,
            assets "assets.json" customer,
            scripts "scripts.json" customer,
            jobs "jobs.json" customer,
            asset_jobs "assetjobs.json" customer,
            activities "activities.json" customer
        )
    };
}

/// A seed that failed to read or validate. Displays as
/// `users.json: record 2 ("bob"), field customer: unknown customer "Acm"`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SeedError {
    pub file: String,
    /// The record's index in its file (0-based) and, where it has one, its name.
    pub record: Option<(usize, Option<String>)>,
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for SeedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "seed file {}", self.file)?;
        if let Some((index, name)) = &self.record {
            write!(f, ": record {index}")?;
            if let Some(name) = name {
                write!(f, " ({name:?})")?;
            }
        }
        if let Some(field) = &self.field {
            write!(f, ", field {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl SeedError {
    pub(crate) fn file(file: &str, message: impl Into<String>) -> Self {
        SeedError {
            file: file.to_owned(),
            record: None,
            field: None,
            message: message.into(),
        }
    }

    pub(crate) fn record(
        file: &str,
        index: usize,
        name: &str,
        field: &str,
        message: impl Into<String>,
    ) -> Self {
        SeedError {
            file: file.to_owned(),
            record: Some((index, Some(name.to_owned()))),
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }
}

/// One customer (tenant). Every other record names its customer by `name`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CustomerSeed {
    pub id: i64,
    pub uuid: String,
    pub name: String,
}

/// One user: a login for both APIs.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UserSeed {
    pub id: i64,
    pub uuid: String,
    pub customer: String,
    pub username: String,
    pub password: String,
    pub name: String,
    #[serde(default)]
    pub modules: Vec<String>,
}

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

/// A parsed, validated seed.
#[derive(Debug, Clone, Default)]
pub struct Seed {
    /// Shown by `/_mock/health`: `default` for the embedded seed, else the folder's name.
    pub name: String,
    pub customers: Vec<CustomerSeed>,
    pub users: Vec<UserSeed>,
    pub rulesets: Vec<RulesetSeed>,
    pub rules: Vec<RuleSeed>,
    pub profiles: Vec<ProfileSeed>,
    pub alerts: Vec<AlertSeed>,
    pub asset_tags: Vec<AssetTagSeed>,
    pub assets: Vec<AssetSeed>,
    pub scripts: Vec<ScriptSeed>,
    pub jobs: Vec<JobSeed>,
    pub asset_jobs: Vec<AssetJobSeed>,
    pub activities: Vec<ActivitySeed>,
}

impl Seed {
    /// The default seed, embedded in the binary.
    pub fn embedded() -> Result<Seed, SeedError> {
        Seed::parse("default", |file| {
            Ok(FILES
                .iter()
                .find(|(name, _)| *name == file)
                .map(|(_, text)| (*text).to_owned()))
        })
    }

    /// A seed folder. Files it lacks are empty, but `customers.json` is required; a `.json`
    /// file this build does not know is an error (a typo would otherwise load nothing).
    pub fn from_dir(dir: &Path) -> Result<Seed, SeedError> {
        let shown = dir.display().to_string();
        let entries = std::fs::read_dir(dir)
            .map_err(|e| SeedError::file(&shown, format!("cannot read the folder: {e}")))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".json") && !FILES.iter().any(|(known, _)| *known == name) {
                let known: Vec<&str> = FILES.iter().map(|(n, _)| *n).collect();
                return Err(SeedError::file(
                    &name,
                    format!("unknown seed file; known files: {}", known.join(", ")),
                ));
            }
        }
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| shown.clone());
        Seed::parse(&name, |file| {
            let path = dir.join(file);
            match std::fs::read_to_string(&path) {
                Ok(text) => Ok(Some(text)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(SeedError::file(file, format!("cannot read: {e}"))),
            }
        })
    }

    fn parse(
        name: &str,
        read: impl Fn(&str) -> Result<Option<String>, SeedError>,
    ) -> Result<Seed, SeedError> {
        if read("customers.json")?.is_none() {
            return Err(SeedError::file(
                "customers.json",
                "missing: a seed needs customers",
            ));
        }
        let seed = read_lists(name, &read)?;
        seed.validate()?;
        Ok(seed)
    }

    /// Checks that JSON types alone cannot express: uniqueness and references.
    fn validate(&self) -> Result<(), SeedError> {
        let file = "customers.json";
        let (mut ids, mut uuids, mut names) = (HashSet::new(), HashSet::new(), HashSet::new());
        for (i, c) in self.customers.iter().enumerate() {
            if c.id <= 0 {
                return Err(SeedError::record(
                    file,
                    i,
                    &c.name,
                    "id",
                    "must be positive",
                ));
            }
            if !ids.insert(c.id) {
                return Err(SeedError::record(file, i, &c.name, "id", "duplicate id"));
            }
            if !uuids.insert(c.uuid.as_str()) {
                return Err(SeedError::record(
                    file,
                    i,
                    &c.name,
                    "uuid",
                    "duplicate uuid",
                ));
            }
            if c.name.trim().is_empty() || !names.insert(c.name.as_str()) {
                return Err(SeedError::record(
                    file,
                    i,
                    &c.name,
                    "name",
                    "empty or duplicate name",
                ));
            }
        }

        let file = "users.json";
        let (mut ids, mut uuids, mut logins) = (HashSet::new(), HashSet::new(), HashSet::new());
        for (i, u) in self.users.iter().enumerate() {
            let rec = |field: &str, msg: &str| SeedError::record(file, i, &u.username, field, msg);
            if !names.contains(u.customer.as_str()) {
                return Err(rec(
                    "customer",
                    &format!("unknown customer {:?}", u.customer),
                ));
            }
            if u.id <= 0 || !ids.insert(u.id) {
                return Err(rec("id", "must be positive and unique"));
            }
            if !uuids.insert(u.uuid.as_str()) {
                return Err(rec("uuid", "duplicate uuid"));
            }
            if u.username.trim().is_empty() || !logins.insert(u.username.as_str()) {
                return Err(rec("username", "empty or duplicate username"));
            }
            if u.password.is_empty() {
                return Err(rec("password", "must not be empty"));
            }
        }
        self.validate_cm(&names)?;
        self.validate_car(&names)
    }

    fn validate_cm(&self, customers: &HashSet<&str>) -> Result<(), SeedError> {
        let customer = |file: &str, i: usize, name: &str, c: &str| {
            if customers.contains(c) {
                Ok(())
            } else {
                Err(SeedError::record(
                    file,
                    i,
                    name,
                    "customer",
                    format!("unknown customer {c:?}"),
                ))
            }
        };
        let date = |file: &str, i: usize, name: &str, field: &str, v: &str| {
            iso_seconds(v).map(|_| ()).ok_or_else(|| {
                SeedError::record(
                    file,
                    i,
                    name,
                    field,
                    format!("{v:?} is not a date like 2018-06-04T10:57:43Z"),
                )
            })
        };
        let one_of = |file: &str, i: usize, name: &str, field: &str, v: &str, allowed: &[&str]| {
            if allowed.contains(&v) {
                Ok(())
            } else {
                Err(SeedError::record(
                    file,
                    i,
                    name,
                    field,
                    format!("{v:?} is not one of {}", allowed.join(", ")),
                ))
            }
        };

        let file = "rulesets.json";
        let mut rulesets: HashMap<i64, &str> = HashMap::new();
        for (i, r) in self.rulesets.iter().enumerate() {
            customer(file, i, &r.title, &r.customer)?;
            if r.id <= 0 || rulesets.insert(r.id, r.customer.as_str()).is_some() {
                return Err(SeedError::record(
                    file,
                    i,
                    &r.title,
                    "id",
                    "must be positive and unique",
                ));
            }
            date(file, i, &r.title, "dateCreated", &r.date_created)?;
            date(file, i, &r.title, "dateUpdated", &r.date_updated)?;
        }
        let same_customer = |file: &str,
                             i: usize,
                             name: &str,
                             field: &str,
                             id: i64,
                             owners: &HashMap<i64, &str>,
                             c: &str| {
            match owners.get(&id) {
                Some(owner) if *owner == c => Ok(()),
                Some(_) => Err(SeedError::record(
                    file,
                    i,
                    name,
                    field,
                    format!("{id} belongs to another customer"),
                )),
                None => Err(SeedError::record(
                    file,
                    i,
                    name,
                    field,
                    format!("no such id {id}"),
                )),
            }
        };

        let file = "rules.json";
        let (mut rules, mut criteria) = (HashMap::new(), HashSet::new());
        for (i, r) in self.rules.iter().enumerate() {
            let name = r.id.to_string();
            customer(file, i, &name, &r.customer)?;
            if r.id <= 0 || rules.insert(r.id, r.customer.as_str()).is_some() {
                return Err(SeedError::record(
                    file,
                    i,
                    &name,
                    "id",
                    "must be positive and unique",
                ));
            }
            if let Some(rs) = r.ruleset {
                same_customer(file, i, &name, "ruleset", rs, &rulesets, &r.customer)?;
            }
            one_of(file, i, &name, "ruleType", &r.rule_type, RULE_TYPES)?;
            if r.event_types.is_empty() {
                return Err(SeedError::record(
                    file,
                    i,
                    &name,
                    "eventTypes",
                    "must not be empty",
                ));
            }
            for e in &r.event_types {
                one_of(file, i, &name, "eventTypes", e, EVENT_TYPES)?;
            }
            date(file, i, &name, "dateCreated", &r.date_created)?;
            for c in &r.criteria {
                if !criteria.insert(c.id) {
                    return Err(SeedError::record(
                        file,
                        i,
                        &name,
                        "criteria.id",
                        format!("duplicate criterion id {}", c.id),
                    ));
                }
            }
            if let Some(json) = &r.json_data
                && serde_json::from_str::<serde_json::Value>(json).is_err()
            {
                return Err(SeedError::record(
                    file,
                    i,
                    &name,
                    "jsonData",
                    "is not valid JSON text",
                ));
            }
        }

        let file = "profiles.json";
        let mut profiles = HashMap::new();
        for (i, p) in self.profiles.iter().enumerate() {
            customer(file, i, &p.title, &p.customer)?;
            if p.id <= 0 || profiles.insert(p.id, p.customer.as_str()).is_some() {
                return Err(SeedError::record(
                    file,
                    i,
                    &p.title,
                    "id",
                    "must be positive and unique",
                ));
            }
            if let Some(rs) = p.ruleset {
                same_customer(file, i, &p.title, "ruleset", rs, &rulesets, &p.customer)?;
            }
            one_of(file, i, &p.title, "frequency", &p.frequency, FREQUENCIES)?;
            date(file, i, &p.title, "dateCreated", &p.date_created)?;
            date(file, i, &p.title, "dateUpdated", &p.date_updated)?;
            if crate::iprange::IpRanges::parse(&p.included_ips).is_none() {
                return Err(SeedError::record(
                    file,
                    i,
                    &p.title,
                    "includedIps",
                    "not a list of IPv4 addresses and ranges",
                ));
            }
        }

        let file = "alerts.json";
        let mut alerts = HashSet::new();
        for (i, a) in self.alerts.iter().enumerate() {
            let name = a.id.to_string();
            customer(file, i, &name, &a.customer)?;
            if a.id <= 0 || !alerts.insert(a.id) {
                return Err(SeedError::record(
                    file,
                    i,
                    &name,
                    "id",
                    "must be positive and unique",
                ));
            }
            one_of(file, i, &name, "eventType", &a.event_type, EVENT_TYPES)?;
            date(file, i, &name, "eventDate", &a.event_date)?;
            date(file, i, &name, "alertDate", &a.alert_date)?;
            if let Some(p) = a.profile {
                same_customer(file, i, &name, "profile", p, &profiles, &a.customer)?;
            }
            if let Some(r) = a.rule {
                same_customer(file, i, &name, "rule", r, &rules, &a.customer)?;
            }
        }
        Ok(())
    }

    /// Insert everything; runs inside the caller's transaction.
    /// Insert everything; runs inside the caller's transaction. Customers and users are
    /// looked up in the database, so a partial seed (loaded at run time) may name ones
    /// stored before; an unknown one fails the foreign key and rolls the whole load back.
    pub(super) fn insert(&self, tx: &rusqlite::Transaction<'_>) -> StoreResult<()> {
        {
            let mut stmt =
                tx.prepare_cached("INSERT INTO customers (id, uuid, name) VALUES (?1, ?2, ?3)")?;
            for c in &self.customers {
                stmt.execute(rusqlite::params![c.id, c.uuid, c.name])?;
            }
        }
        let customer_ids = Ids::load(tx)?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO users (id, customer_id, uuid, username, password, display_name, \
                 modules_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for u in &self.users {
                let modules = serde_json::to_string(&u.modules).unwrap_or_else(|_| "[]".into());
                stmt.execute(rusqlite::params![
                    u.id,
                    customer_ids.customer(&u.customer),
                    u.uuid,
                    u.username,
                    u.password,
                    u.name,
                    modules
                ])?;
            }
        }
        let customer_ids = Ids::load(tx)?;
        self.insert_cm(tx, &customer_ids)?;
        self.insert_car(tx, &customer_ids)
    }

    fn insert_cm(&self, tx: &rusqlite::Transaction<'_>, customer_ids: &Ids) -> StoreResult<()> {
        use rusqlite::params;
        let cust = |name: &str| customer_ids.customer(name);
        let secs = |v: &str| iso_seconds(v).unwrap_or(0);
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
            "INSERT INTO cm_rule_criteria (id, rule_id, position, property_name, property_value, expression_type) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
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
        let mut stmt = tx.prepare_cached(
            "INSERT INTO cm_alerts (id, customer_id, source, event_type, trigger_uuid, ip_address, hostname, \
             event_s, alert_s, is_hidden, profile_id, rule_id, alert_info_json) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?;
        for a in &self.alerts {
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

/// Customers and users as stored, for resolving names while inserting.
pub(super) struct Ids {
    customers: HashMap<String, i64>,
    /// username → (uuid, display name)
    pub(super) users: HashMap<String, (String, String)>,
}

impl Ids {
    fn load(tx: &rusqlite::Transaction<'_>) -> StoreResult<Ids> {
        let customers = tx
            .prepare_cached("SELECT name, id FROM customers")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<HashMap<String, i64>>>()?;
        let users = tx
            .prepare_cached("SELECT username, uuid, display_name FROM users")?
            .query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?
            .collect::<rusqlite::Result<HashMap<String, (String, String)>>>()?;
        Ok(Ids { customers, users })
    }

    /// A customer's id; 0 (which no customer has, so the insert fails) when unknown.
    pub(super) fn customer(&self, name: &str) -> i64 {
        self.customers.get(name).copied().unwrap_or(0)
    }

    pub(super) fn user(&self, username: &str) -> (&str, &str) {
        self.users
            .get(username)
            .map(|(u, n)| (u.as_str(), n.as_str()))
            .unwrap_or(("", ""))
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
                "propertyValue": c.property_value,
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

/// `2018-06-04T10:57:43Z` (any RFC 3339) to epoch seconds.
pub fn iso_seconds(v: &str) -> Option<i64> {
    iso_millis(v).map(|ms| ms.div_euclid(1000))
}

/// Every list of a seed, each from its file (missing files are empty lists).
fn read_lists(
    name: &str,
    read: &impl Fn(&str) -> Result<Option<String>, SeedError>,
) -> Result<Seed, SeedError> {
    macro_rules! read_all {
        ($($field:ident $file:literal $owner:ident),*) => {
            Ok(Seed { name: name.to_owned(), $($field: parse_optional(read, $file)?,)* })
        };
    }
    seed_lists!(read_all)
}

fn parse_optional<T: DeserializeOwned>(
    read: &impl Fn(&str) -> Result<Option<String>, SeedError>,
    file: &str,
) -> Result<Vec<T>, SeedError> {
    match read(file)? {
        Some(text) => parse_file(file, &text),
        None => Ok(Vec::new()),
    }
}

/// Parse one file (a JSON array of records), naming the record and field on error.
fn parse_file<T: DeserializeOwned>(file: &str, text: &str) -> Result<Vec<T>, SeedError> {
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let mut record = None;
        let mut field = Vec::new();
        for segment in e.path().iter() {
            match segment {
                serde_path_to_error::Segment::Seq { index } if record.is_none() => {
                    record = Some((*index, None));
                }
                other => field.push(other.to_string().trim_start_matches('.').to_owned()),
            }
        }
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            // The position says more than a record index would.
            return SeedError::file(file, format!("not valid JSON: {inner}"));
        }
        SeedError {
            file: file.to_owned(),
            record,
            field: (!field.is_empty()).then(|| field.join(".")),
            message: strip_position(&inner.to_string()),
        }
    })
}

/// serde_json appends " at line L column C"; the record and field say more.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

impl Seed {
    /// Check the whole seed (what loading does before storing anything).
    pub fn check(&self) -> Result<(), SeedError> {
        self.validate()
    }

    /// How many records a file holds in this seed.
    pub fn count(&self, file: &str) -> usize {
        let seed = self;
        macro_rules! count {
            ($($field:ident $name:literal $owner:ident),*) => {
                match file { $($name => seed.$field.len(),)* _ => 0 }
            };
        }
        seed_lists!(count)
    }

    /// Check `more` as it would stand after this seed; errors name `more`'s own records.
    pub fn check_addition(&self, more: &Seed) -> Result<(), SeedError> {
        self.merged(more).check().map_err(|mut e| {
            let base = self.count(&e.file);
            if let Some((index, _)) = &mut e.record {
                *index = index.saturating_sub(base);
            }
            e
        })
    }

    /// Only the records of one customer (its own entry, users and objects).
    pub fn for_customer(&self, name: &str) -> Seed {
        let seed = self;
        macro_rules! only {
            ($($field:ident $file:literal $owner:ident),*) => {
                Seed {
                    name: seed.name.clone(),
                    $($field: seed.$field.iter().filter(|x| x.$owner == name).cloned().collect(),)*
                }
            };
        }
        seed_lists!(only)
    }

    /// This seed's records followed by `more`'s.
    pub fn merged(&self, more: &Seed) -> Seed {
        let seed = self;
        macro_rules! cat {
            ($($field:ident $file:literal $owner:ident),*) => {
                Seed {
                    name: seed.name.clone(),
                    $($field: seed.$field.iter().chain(&more.$field).cloned().collect(),)*
                }
            };
        }
        seed_lists!(cat)
    }

    /// Records given at run time as one JSON object whose keys are the seed files' names
    /// (`{"scripts": [...], "alerts": [...]}`; `.json` may be left off). Parsed and
    /// reported like files; references are checked by the caller against what is stored.
    pub fn from_json_object(value: &serde_json::Value) -> Result<Seed, SeedError> {
        let Some(object) = value.as_object() else {
            return Err(SeedError::file(
                "(request body)",
                "must be an object like {\"scripts\": [...]}",
            ));
        };
        for key in object.keys() {
            let file = if key.ends_with(".json") {
                key.clone()
            } else {
                format!("{key}.json")
            };
            if !FILES.iter().any(|(known, _)| *known == file) {
                let known: Vec<&str> = FILES
                    .iter()
                    .map(|(n, _)| n.trim_end_matches(".json"))
                    .collect();
                return Err(SeedError::file(
                    &file,
                    format!("unknown object type; known: {}", known.join(", ")),
                ));
            }
        }
        let read = |file: &str| -> Result<Option<String>, SeedError> {
            let key = file.trim_end_matches(".json");
            Ok(object
                .get(key)
                .or_else(|| object.get(file))
                .map(serde_json::Value::to_string))
        };
        read_lists("runtime", &read)
    }

    /// A copy of `template`'s objects for a new customer and its one user: every id moved by
    /// `offset`, uuids of activities renewed, users of the template replaced by the new one.
    pub fn copy_customer(
        &self,
        template: &str,
        customer: CustomerSeed,
        user: UserSeed,
        offset: i64,
    ) -> Seed {
        let t = self.for_customer(template);
        let (c, u) = (customer.name.clone(), user.username.clone());
        let moved = |id: i64| id + offset;
        Seed {
            name: self.name.clone(),
            customers: vec![customer],
            users: vec![user],
            rulesets: t
                .rulesets
                .into_iter()
                .map(|mut r| {
                    r.id = moved(r.id);
                    r.customer = c.clone();
                    r
                })
                .collect(),
            rules: t
                .rules
                .into_iter()
                .map(|mut r| {
                    r.id = moved(r.id);
                    r.ruleset = r.ruleset.map(moved);
                    r.customer = c.clone();
                    for cr in &mut r.criteria {
                        cr.id = moved(cr.id);
                    }
                    r
                })
                .collect(),
            profiles: t
                .profiles
                .into_iter()
                .map(|mut p| {
                    p.id = moved(p.id);
                    p.ruleset = p.ruleset.map(moved);
                    p.uuid = uuid::Uuid::new_v4().to_string();
                    p.customer = c.clone();
                    p
                })
                .collect(),
            alerts: t
                .alerts
                .into_iter()
                .map(|mut a| {
                    a.id = moved(a.id);
                    a.profile = a.profile.map(moved);
                    a.rule = a.rule.map(moved);
                    a.customer = c.clone();
                    a
                })
                .collect(),
            asset_tags: t
                .asset_tags
                .into_iter()
                .map(|mut x| {
                    x.id = moved(x.id);
                    x.customer = c.clone();
                    x
                })
                .collect(),
            assets: t
                .assets
                .into_iter()
                .map(|mut a| {
                    a.id = moved(a.id);
                    a.tags = a.tags.iter().map(|id| moved(*id)).collect();
                    a.customer = c.clone();
                    a
                })
                .collect(),
            scripts: t
                .scripts
                .into_iter()
                .map(|mut s| {
                    s.id = moved(s.id);
                    s.customer = c.clone();
                    s.created_by = u.clone();
                    s.updated_by = s.updated_by.map(|_| u.clone());
                    s.approved_by = s.approved_by.map(|_| u.clone());
                    s
                })
                .collect(),
            jobs: t
                .jobs
                .into_iter()
                .map(|mut j| {
                    j.id = moved(j.id);
                    j.script = moved(j.script);
                    j.customer = c.clone();
                    j
                })
                .collect(),
            asset_jobs: t
                .asset_jobs
                .into_iter()
                .map(|mut a| {
                    a.id = moved(a.id);
                    a.job = moved(a.job);
                    a.asset = moved(a.asset);
                    a.customer = c.clone();
                    a
                })
                .collect(),
            activities: t
                .activities
                .into_iter()
                .map(|mut a| {
                    a.id = uuid::Uuid::new_v4().to_string();
                    a.customer = c.clone();
                    a.user = u.clone();
                    a.target_id = a
                        .target_id
                        .parse::<i64>()
                        .map_or(a.target_id, |id| moved(id).to_string());
                    a
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed_with(customers: &str, users: &str) -> Result<Seed, SeedError> {
        Seed::parse("t", |file| {
            Ok(match file {
                "customers.json" => Some(customers.to_owned()),
                "users.json" => Some(users.to_owned()),
                _ => None,
            })
        })
    }

    const ACME: &str = r#"[{"id":1,"uuid":"u1","name":"Acme"}]"#;

    #[test]
    fn embedded_seed_is_valid() {
        let seed = Seed::embedded().unwrap();
        assert_eq!(seed.name, "default");
        assert!(seed.users.iter().any(|u| u.username == "acme_ss2"));
        assert!(seed.users.iter().any(|u| u.username == "globex_ss1"));
    }

    #[test]
    fn wrong_type_names_record_and_field() {
        let users =
            r#"[{"id":1,"uuid":"x","customer":"Acme","username":"a","password":5,"name":"A"}]"#;
        let err = seed_with(ACME, users).unwrap_err();
        assert_eq!(
            err.to_string(),
            "seed file users.json: record 0, field password: invalid type: integer `5`, expected a string"
        );
    }

    #[test]
    fn missing_field_names_record() {
        let users = r#"[{"id":1,"uuid":"x","customer":"Acme","username":"a","name":"A"}]"#;
        let err = seed_with(ACME, users).unwrap_err();
        assert_eq!(
            err.to_string(),
            "seed file users.json: record 0: missing field `password`"
        );
    }

    #[test]
    fn unknown_customer_is_rejected() {
        let users =
            r#"[{"id":1,"uuid":"x","customer":"Acm","username":"bob","password":"p","name":"B"}]"#;
        let err = seed_with(ACME, users).unwrap_err();
        assert_eq!(
            err.to_string(),
            "seed file users.json: record 0 (\"bob\"), field customer: unknown customer \"Acm\""
        );
    }

    #[test]
    fn bad_json_is_rejected() {
        let err = seed_with("[{", "[]").unwrap_err();
        assert_eq!(err.file, "customers.json");
        assert!(err.message.starts_with("not valid JSON"), "{err}");
    }

    #[test]
    fn duplicate_username_is_rejected() {
        let users = r#"[{"id":1,"uuid":"x","customer":"Acme","username":"a","password":"p","name":"A"},
                       {"id":2,"uuid":"y","customer":"Acme","username":"a","password":"p","name":"A"}]"#;
        let err = seed_with(ACME, users).unwrap_err();
        assert_eq!(err.record, Some((1, Some("a".into()))));
        assert_eq!(err.field.as_deref(), Some("username"));
    }
}
