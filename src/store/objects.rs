//! The registry of object types: every table that holds a customer's data, declared once.
//!
//! Each entry says, in one place, everything the rest of the crate derives about its table:
//! the column naming its owner and how a customer's rows are copied into a new customer
//! (the baseline's reset, `copyOf`), its name in `/_mock/health` counts, its seed file (and
//! the embedded default's records), and — for a table an API searches — the object type
//! itself: its filter catalog (whose `object` is the name in paths and error texts), the
//! store's search source, and for CM its record element and served XSD. The search
//! dispatch (`car_explain`, `cm_explain`), CM's `Kind`, the schema locations of CM answers,
//! the served XSDs, the seed files, `/_mock/seed` keys and health counts all read it; the
//! tests below fail while a table or an object type is half-registered.
//! `docs/adding-an-object-type.md` walks through adding one.

use super::car::{activities, assets, jobs, schedules, scripts};
use super::cm as store_cm;
use super::search::Source;
use crate::query::catalog::{self, Catalog};

/// One table of customer data.
pub(crate) struct Table {
    pub name: &'static str,
    /// The column holding the owning customer's id.
    pub owner: &'static str,
    /// The name `/_mock/health` counts it under (`None`: not counted).
    pub counted_as: Option<&'static str>,
    /// How `copyOf` copies a customer's rows.
    pub copy: CopyRule,
    /// Its seed file (`None`: not seeded on its own — made through the API, or read with
    /// its parent's records).
    pub seed: Option<SeedFile>,
    /// The object type an API searches in it (`None`: a table no search names).
    pub object: Option<Object>,
}

/// A seed file: its name in a seed folder (without `.json`: its `/_mock/seed` key), and the
/// embedded default seed's records.
pub(crate) struct SeedFile {
    pub name: &'static str,
    pub default: &'static str,
}

/// An object type an API searches.
pub(crate) struct Object {
    /// Its filterable fields; `catalog.object` is its name (`alert`, `assettag`) in
    /// `search/cm/{name}` paths, explains and error texts.
    pub catalog: &'static Catalog,
    /// What its search selects from. Read by the query-plan tests, which hold every
    /// catalog field's SQL against it; the searches name their sources directly.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(super) source: Source<'static>,
    pub api: Api,
}

/// The API an object type belongs to, with what its wire format needs.
pub(crate) enum Api {
    Car,
    Cm(CmWire),
}

/// What CM's wire format needs of an object type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CmWire {
    /// The record's element (`Alert`, `RuleSet`).
    pub wrapper: &'static str,
    /// Its schema, named by every answer about it.
    pub xsd: Xsd,
}

/// A served XSD: where it is served and its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Xsd {
    pub path: &'static str,
    pub text: &'static str,
}

impl Object {
    /// Its name in paths, explains and error texts.
    pub fn name(&self) -> &'static str {
        self.catalog.object
    }
}

/// `registry! { NAME = Table { … }; … }`: each table as a named constant, and [`TABLES`]
/// listing them in the order written (parents first).
macro_rules! registry {
    ($($(#[$doc:meta])* $name:ident = $table:expr;)*) => {
        $($(#[$doc])* pub(crate) const $name: Table = $table;)*

        /// Every table of customer data, parents first.
        pub(crate) const TABLES: &[&Table] = &[$(&$name),*];
    };
}

/// The seed file `name.json`, embedded from `seed-data/`.
macro_rules! seed_file {
    ($name:literal) => {
        Some(SeedFile {
            name: concat!($name, ".json"),
            default: include_str!(concat!("../../seed-data/", $name, ".json")),
        })
    };
}

/// A CM object type's wire: its record element and `src/cm/xsd/{name}.xsd`, served at
/// `/qps/xsd/1.0/cm/{name}.xsd`.
macro_rules! cm_wire {
    ($wrapper:literal, $name:literal) => {
        Api::Cm(CmWire {
            wrapper: $wrapper,
            xsd: Xsd {
                path: concat!("/qps/xsd/1.0/cm/", $name, ".xsd"),
                text: include_str!(concat!("../cm/xsd/", $name, ".xsd")),
            },
        })
    };
}

/// The object types of one API, in registry order.
pub(crate) fn objects(car: bool) -> impl Iterator<Item = &'static Object> {
    TABLES
        .iter()
        .filter_map(|t| t.object.as_ref())
        .filter(move |o| matches!(o.api, Api::Car) == car)
}

/// The CAR object type of this name (a CAR catalog's `object`).
#[cfg(test)]
pub(crate) fn car_object(name: &str) -> Option<&'static Object> {
    objects(true).find(|o| o.name() == name)
}

/// The CM object type of this name (`alert` in `search/cm/alert`).
#[cfg(test)]
pub(crate) fn cm_object(name: &str) -> Option<&'static Object> {
    objects(false).find(|o| o.name() == name)
}

/// The object of a registry entry that declares one. Called in a `const` (its only use),
/// a table without one fails the build.
pub(crate) const fn object_of(table: &'static Table) -> &'static Object {
    match &table.object {
        Some(object) => object,
        None => panic!("the table declares no object type"),
    }
}

/// The CM wire of a registry entry that declares a CM object type. Called in a `const`
/// (its only use), a table without one fails the build.
pub(crate) const fn cm_wire_of(table: &'static Table) -> &'static CmWire {
    match &object_of(table).api {
        Api::Cm(wire) => wire,
        Api::Car => panic!("the table declares a CAR object type"),
    }
}

/// The seed file of a registry entry that declares one. Called in a `const` (its only
/// use), a table without one fails the build.
pub(crate) const fn seed_file_of(table: &'static Table) -> &'static SeedFile {
    match &table.seed {
        Some(file) => file,
        None => panic!("the table declares no seed file"),
    }
}

/// How a table's rows are copied into a new customer.
#[derive(Debug)]
pub(crate) enum CopyRule {
    /// Not copied (customers and users are made afresh; schedules are not seedable).
    No,
    /// Copied, every column as it is but these: `(column, SQL expression)`, where the
    /// expression may use `:off` (added to every id), `:cust` (the new customer's id),
    /// `:user_uuid`, `:user_name` (the new user's uuid and login), and `NEW_UUID`; an
    /// expression of `None` leaves the column to its default (a fresh row id).
    Rows(&'static [(&'static str, Option<&'static str>)]),
}

/// SQL for a fresh random (version 4) UUID.
pub(crate) const NEW_UUID: &str = "(lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) \
     || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' \
     || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(lower(hex(randomblob(2))), 2) \
     || '-' || lower(hex(randomblob(6))))";

const MOVED_ID: Option<&str> = Some("id + :off");

registry! {
    CUSTOMERS = Table {
        name: "customers",
        owner: "id",
        counted_as: Some("customers"),
        copy: CopyRule::No,
        seed: seed_file!("customers"),
        object: None,
    };
    USERS = Table {
        name: "users",
        owner: "customer_id",
        counted_as: Some("users"),
        copy: CopyRule::No,
        seed: seed_file!("users"),
        object: None,
    };
    SCRIPTS = Table {
        name: "scripts",
        owner: "customer_id",
        counted_as: Some("scripts"),
        copy: CopyRule::Rows(&[
            ("id", MOVED_ID),
            ("created_by_id", Some(":user_uuid")),
            ("created_by_name", Some(":user_name")),
            ("updated_by_id", Some(":user_uuid")),
            ("updated_by_name", Some(":user_name")),
            (
                "approver_id",
                Some("CASE WHEN approver_id IS NULL THEN NULL ELSE :user_uuid END"),
            ),
            (
                "approver_name",
                Some("CASE WHEN approver_name IS NULL THEN NULL ELSE :user_name END"),
            ),
        ]),
        seed: seed_file!("scripts"),
        object: Some(Object {
            catalog: &catalog::CAR_SCRIPT,
            source: scripts::SOURCE,
            api: Api::Car,
        }),
    };
    ASSETS = Table {
        name: "assets",
        owner: "customer_id",
        counted_as: Some("assets"),
        copy: CopyRule::Rows(&[("id", MOVED_ID)]),
        seed: seed_file!("assets"),
        object: Some(Object {
            catalog: &catalog::CAR_ASSET,
            source: assets::SOURCE,
            api: Api::Car,
        }),
    };
    ASSET_INTERFACES = Table {
        name: "asset_interfaces",
        owner: "customer_id",
        counted_as: None,
        copy: CopyRule::Rows(&[("asset_id", Some("asset_id + :off"))]),
        seed: None,
        object: None,
    };
    ASSET_TAGS = Table {
        name: "asset_tags",
        owner: "customer_id",
        counted_as: Some("assetTags"),
        copy: CopyRule::Rows(&[("id", MOVED_ID)]),
        seed: seed_file!("assettags"),
        object: Some(Object {
            catalog: &catalog::CAR_ASSET_TAG,
            source: assets::TAG_SOURCE,
            api: Api::Car,
        }),
    };
    ASSET_TAG_LINKS = Table {
        name: "asset_tag_links",
        owner: "customer_id",
        counted_as: None,
        copy: CopyRule::Rows(&[
            ("asset_id", Some("asset_id + :off")),
            ("tag_id", Some("tag_id + :off")),
        ]),
        seed: None,
        object: None,
    };
    SCHEDULES = Table {
        name: "schedules",
        owner: "customer_id",
        counted_as: Some("schedules"),
        copy: CopyRule::No,
        seed: None,
        object: Some(Object {
            catalog: &catalog::CAR_SCHEDULE,
            source: schedules::SOURCE,
            api: Api::Car,
        }),
    };
    SCRIPT_JOBS = Table {
        name: "script_jobs",
        owner: "customer_id",
        counted_as: Some("jobs"),
        copy: CopyRule::Rows(&[
            ("id", MOVED_ID),
            ("script_id", Some("script_id + :off")),
            ("schedule_id", Some("NULL")),
        ]),
        seed: seed_file!("jobs"),
        object: Some(Object {
            catalog: &catalog::CAR_JOB,
            source: jobs::SOURCE,
            api: Api::Car,
        }),
    };
    ASSET_JOBS = Table {
        name: "asset_jobs",
        owner: "customer_id",
        counted_as: Some("assetJobs"),
        copy: CopyRule::Rows(&[
            ("id", MOVED_ID),
            ("job_id", Some("job_id + :off")),
            ("asset_id", Some("asset_id + :off")),
        ]),
        seed: seed_file!("assetjobs"),
        object: Some(Object {
            catalog: &catalog::CAR_ASSET_JOB,
            source: jobs::ASSET_JOB_SOURCE,
            api: Api::Car,
        }),
    };
    ACTIVITIES = Table {
        name: "activities",
        owner: "customer_id",
        counted_as: Some("activities"),
        copy: CopyRule::Rows(&[
            ("seq", None),
            ("uuid", Some(NEW_UUID)),
            ("user_name", Some(":user_name")),
            ("user_uuid", Some(":user_uuid")),
            (
                "target_id",
                Some(
                    "CASE WHEN target_id <> '' AND target_id NOT GLOB '*[^0-9]*' \
                     THEN CAST(CAST(target_id AS INTEGER) + :off AS TEXT) ELSE target_id END",
                ),
            ),
        ]),
        seed: seed_file!("activities"),
        object: Some(Object {
            catalog: &catalog::CAR_ACTIVITY,
            source: activities::SOURCE,
            api: Api::Car,
        }),
    };
    CM_RULESETS = Table {
        name: "cm_rulesets",
        owner: "customer_id",
        counted_as: Some("rulesets"),
        copy: CopyRule::Rows(&[("id", MOVED_ID)]),
        seed: seed_file!("rulesets"),
        object: Some(Object {
            catalog: &catalog::CM_RULESET,
            source: store_cm::RULESET_SOURCE,
            api: cm_wire!("RuleSet", "ruleset"),
        }),
    };
    CM_RULES = Table {
        name: "cm_rules",
        owner: "customer_id",
        counted_as: Some("rules"),
        copy: CopyRule::Rows(&[("id", MOVED_ID), ("ruleset_id", Some("ruleset_id + :off"))]),
        seed: seed_file!("rules"),
        object: Some(Object {
            catalog: &catalog::CM_RULE,
            source: store_cm::RULE_SOURCE,
            api: cm_wire!("Rule", "rule"),
        }),
    };
    CM_RULE_CRITERIA = Table {
        name: "cm_rule_criteria",
        owner: "customer_id",
        counted_as: None,
        copy: CopyRule::Rows(&[("id", MOVED_ID), ("rule_id", Some("rule_id + :off"))]),
        seed: None,
        object: None,
    };
    CM_PROFILES = Table {
        name: "cm_profiles",
        owner: "customer_id",
        counted_as: Some("profiles"),
        copy: CopyRule::Rows(&[
            ("id", MOVED_ID),
            ("uuid", Some(NEW_UUID)),
            ("ruleset_id", Some("ruleset_id + :off")),
        ]),
        seed: seed_file!("profiles"),
        object: Some(Object {
            catalog: &catalog::CM_PROFILE,
            source: store_cm::PROFILE_SOURCE,
            api: cm_wire!("Profile", "profile"),
        }),
    };
    CM_ALERTS = Table {
        name: "cm_alerts",
        owner: "customer_id",
        counted_as: Some("alerts"),
        copy: CopyRule::Rows(&[
            ("id", MOVED_ID),
            ("profile_id", Some("profile_id + :off")),
            ("rule_id", Some("rule_id + :off")),
        ]),
        seed: seed_file!("alerts"),
        object: Some(Object {
            catalog: &catalog::CM_ALERT,
            source: store_cm::ALERT_SOURCE,
            api: cm_wire!("Alert", "alert"),
        }),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_of_the_schema_with_a_customer_is_listed_once() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(include_str!("schema.sql")).unwrap();
        let mut stmt = conn
            .prepare(
                "SELECT m.name FROM sqlite_master m WHERE m.type = 'table' AND EXISTS \
                 (SELECT 1 FROM pragma_table_info(m.name) p WHERE p.name = 'customer_id') \
                 OR m.name = 'customers' ORDER BY m.name",
            )
            .unwrap();
        let mut in_schema: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        in_schema.sort();
        let mut listed: Vec<String> = TABLES.iter().map(|t| t.name.to_owned()).collect();
        listed.sort();
        assert_eq!(listed, in_schema);
    }

    #[test]
    fn copy_overrides_name_real_columns() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(include_str!("schema.sql")).unwrap();
        for table in TABLES {
            if let CopyRule::Rows(overrides) = &table.copy {
                for (column, _) in *overrides {
                    let n: i64 = conn
                        .query_row(
                            "SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2",
                            [table.name, column],
                            |r| r.get(0),
                        )
                        .unwrap();
                    assert_eq!(n, 1, "{}.{column}", table.name);
                }
            }
        }
    }

    fn schema() -> rusqlite::Connection {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(include_str!("schema.sql")).unwrap();
        conn
    }

    #[test]
    fn every_object_type_searches_its_own_table_with_every_catalog_field() {
        let conn = schema();
        for table in TABLES {
            let Some(object) = &table.object else {
                continue;
            };
            let Source {
                cols, from, alias, ..
            } = object.source;
            assert!(
                from.starts_with(&format!("{} {alias}", table.name)),
                "{}: its search selects from {from:?}",
                object.name()
            );
            for field in object.catalog.fields {
                let sql = format!(
                    "SELECT {cols} FROM {from} WHERE {alias}.customer_id = ?1 AND ({}) IS NULL",
                    field.sql
                );
                if let Err(e) = conn.prepare(&sql) {
                    panic!("{}.{}: {e}", object.name(), field.name);
                }
            }
        }
    }

    #[test]
    fn every_object_type_is_counted_seeded_and_named_once() {
        let mut names = std::collections::HashSet::new();
        let mut counts = std::collections::HashSet::new();
        let mut files = std::collections::HashSet::new();
        for table in TABLES {
            if let Some(object) = &table.object {
                let car = matches!(object.api, Api::Car);
                assert!(
                    names.insert((car, object.name())),
                    "{} twice",
                    object.name()
                );
                assert!(table.counted_as.is_some(), "{} is not counted", table.name);
                // Schedules are made through the API only (a seed has no schedules).
                assert!(
                    table.seed.is_some() || table.name == "schedules",
                    "{} has no seed file",
                    table.name
                );
            }
            if let Some(name) = table.counted_as {
                assert!(counts.insert(name), "{name} counted twice");
            }
            if let Some(file) = &table.seed {
                assert!(file.name.ends_with(".json"), "{}", file.name);
                assert!(files.insert(file.name), "{} twice", file.name);
                let records: Vec<serde_json::Value> = serde_json::from_str(file.default)
                    .unwrap_or_else(|e| panic!("seed-data/{}: {e}", file.name));
                assert!(!records.is_empty(), "seed-data/{} is empty", file.name);
            }
        }
    }

    #[test]
    fn every_cm_object_type_names_its_schema_and_its_record_element_in_it() {
        for object in objects(false) {
            let Api::Cm(wire) = &object.api else {
                unreachable!("objects(false) is CM's")
            };
            let name = object.name();
            assert_eq!(wire.xsd.path, format!("/qps/xsd/1.0/cm/{name}.xsd"));
            let element = format!(
                "<xs:element name=\"{}\" type=\"{}\"",
                wire.wrapper, wire.wrapper
            );
            assert!(wire.xsd.text.contains(&element), "{name}: {element}");
        }
        assert_eq!(car_object("assettag").map(Object::name), Some("assettag"));
        assert!(car_object("alert").is_none() && cm_object("assettag").is_none());
        assert_eq!(cm_object("alert").map(Object::name), Some("alert"));
    }
}
