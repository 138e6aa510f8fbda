//! Seed data: read, validate, load.
//!
//! A seed is a folder of JSON files, one per object type (the format is described in
//! `seed-data/README.md`). The default seed is embedded in the binary at build time.
//! [`Seed::embedded`] and [`Seed::from_dir`] parse and validate every file up front; an error
//! names the file, the record and the field. [`super::Store::initialize`] then inserts it all
//! in one transaction, so a store is never half-loaded. Records seeded at run time are
//! checked against the store ([`Known`]) instead of against everything seeded before.
//!
//! - `check.rs` — the one validation helper ([`check::Check`]) and [`Known`].
//! - `cm.rs`, `car.rs` — each API's records, their checks and inserts.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::StoreResult;
use super::objects::{self, SeedFile};

pub mod car;
pub(crate) mod check;
pub mod cm;
/// An RFC 3339 date-time in epoch milliseconds (the name older callers use).
pub use crate::dates::parse_ms as iso_millis;
pub use car::{ActivitySeed, AssetJobSeed, AssetSeed, AssetTagSeed, JobSeed, ScriptSeed};
pub(crate) use check::Known;
pub use cm::{AlertSeed, ProfileSeed, RuleCriterionSeed, RuleSeed, RulesetSeed};

/// An `alerts.json` larger than this is streamed while it is inserted (see
/// [`Seed::alerts_file`]).
const STREAM_ABOVE_BYTES: u64 = 16 * 1024 * 1024;

/// A recorded folder's description (not an object type): see [`Seed::manifest`].
const MANIFEST: &str = "manifest.json";

/// `manifest.json`, when the folder has one: a JSON object whose `recordedAt`, if given, is
/// a date.
fn read_manifest(dir: &Path) -> Result<Option<serde_json::Value>, SeedError> {
    let text = match std::fs::read_to_string(dir.join(MANIFEST)) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(SeedError::file(MANIFEST, format!("cannot read: {e}"))),
    };
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| SeedError::file(MANIFEST, format!("not JSON: {e}")))?;
    if !value.is_object() {
        return Err(SeedError::file(MANIFEST, "must be a JSON object"));
    }
    if let Some(at) = value
        .get("recordedAt")
        .filter(|at| at.as_str().and_then(crate::dates::parse_ms).is_none())
    {
        return Err(SeedError::file(
            MANIFEST,
            format!("recordedAt: not a date: {at}"),
        ));
    }
    Ok(Some(value))
}

impl Seed {
    /// When a recorded folder was captured (its manifest's `recordedAt`), in epoch
    /// milliseconds.
    pub fn recorded_at_ms(&self) -> Option<i64> {
        self.manifest
            .as_ref()?
            .get("recordedAt")?
            .as_str()
            .and_then(crate::dates::parse_ms)
    }
}

/// The embedded default seed's name, as `/_mock/health` shows it.
pub const EMBEDDED_NAME: &str = "default";

/// Every list of a [`Seed`], once, in load order: its field, its table in the registry
/// (`super::objects`, which names its file and holds the embedded default's records), and
/// the field naming its customer.
macro_rules! seed_lists {
    ($apply:ident) => {
        $apply!(
            customers CUSTOMERS name,
            users USERS customer,
            rulesets CM_RULESETS customer,
            rules CM_RULES customer,
            profiles CM_PROFILES customer,
            alerts CM_ALERTS customer,
            asset_tags ASSET_TAGS customer,
            assets ASSETS customer,
            scripts SCRIPTS customer,
            jobs SCRIPT_JOBS customer,
            asset_jobs ASSET_JOBS customer,
            activities ACTIVITIES customer
        )
    };
}

/// The seed files this build knows, in load order (a table without a seed file in the
/// registry fails the build here).
const FILES: &[&SeedFile] = {
    macro_rules! files {
        ($($field:ident $table:ident $owner:ident),*) => {
            &[$(objects::seed_file_of(&objects::$table)),*]
        };
    }
    seed_lists!(files)
};

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

/// A parsed, validated seed.
#[derive(Debug, Clone, Default)]
pub struct Seed {
    /// Shown by `/_mock/health`: `default` for the embedded seed, else the folder's name.
    pub name: String,
    /// The folder it was read from (`None`: embedded, or given at run time).
    pub source: Option<String>,
    /// A large `alerts.json` left on disk: read a chunk at a time while the seed is
    /// inserted (its records are checked then), never held in memory whole.
    pub alerts_file: Option<std::path::PathBuf>,
    /// A recorded folder's `manifest.json` (`qualys-mock record`): shown in the baseline's
    /// provenance; its `recordedAt` can start the clock (`serve --clock-from-seed`).
    pub manifest: Option<serde_json::Value>,
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
    /// The object types a seed holds (`customers`, `users`, ...), in load order: the keys
    /// of `POST /_mock/seed` (also accepted with `.json`).
    pub fn object_types() -> impl Iterator<Item = &'static str> {
        FILES.iter().map(|file| file.name.trim_end_matches(".json"))
    }

    /// The default seed, embedded in the binary.
    pub fn embedded() -> Result<Seed, SeedError> {
        Seed::parse(EMBEDDED_NAME, |file| {
            Ok(FILES
                .iter()
                .find(|known| known.name == file)
                .map(|known| known.default.to_owned()))
        })
    }

    /// A seed folder. Files it lacks are empty, but `customers.json` is required; a `.json`
    /// file this build does not know is an error (a typo would otherwise load nothing).
    pub fn from_dir(dir: &Path) -> Result<Seed, SeedError> {
        Seed::from_dir_with(dir, STREAM_ABOVE_BYTES)
    }

    /// [`Seed::from_dir`], streaming an `alerts.json` larger than `stream_above` bytes.
    pub(crate) fn from_dir_with(dir: &Path, stream_above: u64) -> Result<Seed, SeedError> {
        let shown = dir.display().to_string();
        let entries = std::fs::read_dir(dir)
            .map_err(|e| SeedError::file(&shown, format!("cannot read the folder: {e}")))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".json")
                && name != MANIFEST
                && !FILES.iter().any(|known| known.name == name)
            {
                let known: Vec<&str> = FILES.iter().map(|known| known.name).collect();
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
        let alerts = dir.join("alerts.json");
        let stream_alerts = std::fs::metadata(&alerts).is_ok_and(|m| m.len() > stream_above);
        let mut seed = Seed::parse(&name, |file| {
            if stream_alerts && file == "alerts.json" {
                return Ok(None);
            }
            let path = dir.join(file);
            match std::fs::read_to_string(&path) {
                Ok(text) => Ok(Some(text)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(SeedError::file(file, format!("cannot read: {e}"))),
            }
        })?;
        seed.source = Some(shown);
        seed.alerts_file = stream_alerts.then_some(alerts);
        seed.manifest = read_manifest(dir)?;
        Ok(seed)
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
        let started = std::time::Instant::now();
        let seed = read_lists(name, &read)?;
        let parsed = started.elapsed();
        seed.check()?;
        tracing::debug!(
            parse_ms = parsed.as_secs_f64() * 1000.0,
            check_ms = (started.elapsed() - parsed).as_secs_f64() * 1000.0,
            "seed {name} read"
        );
        Ok(seed)
    }

    /// Checks that JSON types alone cannot express, uniqueness and references, against
    /// the seed itself and what `known` says the store holds.
    pub(crate) fn check_against(&self, known: &dyn Known) -> Result<(), SeedError> {
        let file = "customers.json";
        let (mut ids, mut uuids, mut names) = (HashSet::new(), HashSet::new(), HashSet::new());
        for (i, c) in self.customers.iter().enumerate() {
            if known.customer(&c.name) || known.customer_key_taken(c.id, &c.uuid) {
                return Err(SeedError::record(
                    file,
                    i,
                    &c.name,
                    "name",
                    "a customer of this name, id or uuid is stored already",
                ));
            }
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
            if !names.contains(u.customer.as_str()) && !known.customer(&u.customer) {
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
            if known.user_customer(&u.username).is_some() || known.user_key_taken(u.id, &u.uuid) {
                return Err(rec(
                    "username",
                    "a user of this login, id or uuid is stored already",
                ));
            }
        }
        self.validate_cm(&names, known)?;
        self.validate_car(&names, known)
    }

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
                 modules_json, serial) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
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
                    modules,
                    super::accounts::next_user_serial(tx)?
                ])?;
            }
        }
        let customer_ids = Ids::load(tx)?;
        self.insert_cm(tx, &customer_ids)?;
        if let Some(path) = &self.alerts_file {
            self.insert_alerts_from(tx, path, &customer_ids)?;
        }
        self.insert_car(tx, &customer_ids)
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

/// Every list of a seed, each from its file (missing files are empty lists).
fn read_lists(
    name: &str,
    read: &impl Fn(&str) -> Result<Option<String>, SeedError>,
) -> Result<Seed, SeedError> {
    macro_rules! read_all {
        ($($field:ident $table:ident $owner:ident),*) => {
            Ok(Seed { name: name.to_owned(), source: None, alerts_file: None, manifest: None, $($field: parse_optional(read, const { objects::seed_file_of(&objects::$table) }.name)?,)* })
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
    /// Check the whole seed on its own (what start-up loading does before storing).
    pub fn check(&self) -> Result<(), SeedError> {
        self.check_against(&check::Nothing)
    }

    /// Where this seed came from, as a baseline's provenance made now.
    pub fn provenance(&self, clock: &crate::clock::Clock) -> super::Provenance {
        super::Provenance {
            source: match self.source.as_deref() {
                None => format!("seed {}", self.name),
                Some(path) => format!("seed folder {path}"),
            },
            created: clock.now_iso(),
            recorded: self.manifest.clone(),
        }
    }

    /// [`Seed::provenance`] of the embedded seed, without reading it.
    pub fn embedded_provenance(clock: &crate::clock::Clock) -> super::Provenance {
        Seed {
            name: EMBEDDED_NAME.to_owned(),
            ..Seed::default()
        }
        .provenance(clock)
    }

    /// How many records the seed holds.
    pub fn len(&self) -> usize {
        let seed = self;
        macro_rules! sum {
            ($($field:ident $table:ident $owner:ident),*) => { 0 $(+ seed.$field.len())* };
        }
        seed_lists!(sum)
    }

    /// Whether the seed holds no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
            if !FILES.iter().any(|known| known.name == file) {
                let known: Vec<&str> = Seed::object_types().collect();
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
    fn every_seed_file_of_the_registry_is_read_into_a_seed_list() {
        let mut registered: Vec<&str> = objects::TABLES
            .iter()
            .filter_map(|t| t.seed.as_ref().map(|f| f.name))
            .collect();
        let mut read: Vec<&str> = FILES.iter().map(|f| f.name).collect();
        registered.sort_unstable();
        read.sort_unstable();
        assert_eq!(read, registered);
        // And the embedded default holds records of every list.
        let seed = Seed::embedded().unwrap();
        macro_rules! lists {
            ($($field:ident $table:ident $owner:ident),*) => {
                [$((stringify!($field), seed.$field.len())),*]
            };
        }
        for (list, len) in seed_lists!(lists) {
            assert!(len > 0, "the default seed's {list} is empty");
        }
    }

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

    /// The alert indexes whose keys follow the order alerts come in are made with the
    /// tables and kept while a seed is inserted; those by address and name are built after.
    #[test]
    fn alert_indexes_in_load_order_are_kept_while_loading_and_the_rest_built_after() {
        let (tables, after) = crate::store::schema_parts();
        for kept in ["customer_id", "customer_event", "customer_alert_date"] {
            let index = format!("CREATE INDEX cm_alerts_{kept} ");
            assert!(tables.contains(&index) && !after.contains(&index), "{kept}");
        }
        for built in ["customer_ip", "customer_host"] {
            let index = format!("CREATE INDEX cm_alerts_{built} ");
            assert!(
                after.contains(&index) && !tables.contains(&index),
                "{built}"
            );
        }
    }

    #[tokio::test]
    async fn a_streamed_alerts_file_loads_like_a_read_one_and_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        fn write(dir: &std::path::Path, name: &str, records: &impl serde::Serialize) {
            std::fs::write(dir.join(name), serde_json::to_string(records).unwrap()).unwrap();
        }
        let embedded = Seed::embedded().unwrap();
        write(dir.path(), "customers.json", &embedded.customers);
        write(dir.path(), "users.json", &embedded.users);
        write(dir.path(), "rulesets.json", &embedded.rulesets);
        write(dir.path(), "rules.json", &embedded.rules);
        write(dir.path(), "profiles.json", &embedded.profiles);
        write(dir.path(), "alerts.json", &embedded.alerts);
        let read = Seed::from_dir_with(dir.path(), u64::MAX).unwrap();
        let streamed = Seed::from_dir_with(dir.path(), 0).unwrap();
        assert!(streamed.alerts.is_empty() && streamed.alerts_file.is_some());
        let (a, b) = (
            crate::store::Store::private_with(read).await.unwrap(),
            crate::store::Store::private_with(streamed).await.unwrap(),
        );
        assert_eq!(
            a.record_counts().await.unwrap(),
            b.record_counts().await.unwrap()
        );
        assert_eq!(b.record_counts().await.unwrap()["alerts"], 2016);

        // A bad record far into the stream fails the whole load and names the record.
        let mut alerts = serde_json::to_value(&embedded.alerts).unwrap();
        alerts[2010]["profile"] = serde_json::json!(999_999);
        write(dir.path(), "alerts.json", &alerts);
        let seed = Seed::from_dir_with(dir.path(), 0).unwrap();
        let err = crate::store::Store::private_with(seed)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("alerts.json") && err.contains("record 2010"),
            "{err}"
        );
        alerts[2010] = serde_json::json!({"id": "not a number"});
        write(dir.path(), "alerts.json", &alerts);
        let seed = Seed::from_dir_with(dir.path(), 0).unwrap();
        let err = crate::store::Store::private_with(seed)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("alerts.json") && err.contains("record 2010"),
            "{err}"
        );
    }
}
