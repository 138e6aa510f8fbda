//! The one table of stored object types.
//!
//! Every table that holds a customer's data is listed here once, parents before children,
//! with the column naming its owner and how a customer's rows are copied into a new
//! customer. The baseline (reset), per-customer copies (`copyOf`) and the record counts of
//! `/_mock/health` all iterate this list; adding a table means adding it to `schema.sql` and
//! here.

/// One table of customer data.
#[derive(Debug)]
pub(crate) struct Table {
    pub name: &'static str,
    /// The column holding the owning customer's id.
    pub owner: &'static str,
    /// The name `/_mock/health` counts it under (`None`: not counted).
    pub counted_as: Option<&'static str>,
    /// How `copyOf` copies a customer's rows.
    pub copy: CopyRule,
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

/// Every table of customer data, parents first.
pub(crate) const TABLES: &[Table] = &[
    Table {
        name: "customers",
        owner: "id",
        counted_as: Some("customers"),
        copy: CopyRule::No,
    },
    Table {
        name: "users",
        owner: "customer_id",
        counted_as: Some("users"),
        copy: CopyRule::No,
    },
    Table {
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
    },
    Table {
        name: "assets",
        owner: "customer_id",
        counted_as: Some("assets"),
        copy: CopyRule::Rows(&[("id", MOVED_ID)]),
    },
    Table {
        name: "asset_interfaces",
        owner: "customer_id",
        counted_as: None,
        copy: CopyRule::Rows(&[("asset_id", Some("asset_id + :off"))]),
    },
    Table {
        name: "asset_tags",
        owner: "customer_id",
        counted_as: Some("assetTags"),
        copy: CopyRule::Rows(&[("id", MOVED_ID)]),
    },
    Table {
        name: "asset_tag_links",
        owner: "customer_id",
        counted_as: None,
        copy: CopyRule::Rows(&[
            ("asset_id", Some("asset_id + :off")),
            ("tag_id", Some("tag_id + :off")),
        ]),
    },
    Table {
        name: "schedules",
        owner: "customer_id",
        counted_as: Some("schedules"),
        copy: CopyRule::No,
    },
    Table {
        name: "script_jobs",
        owner: "customer_id",
        counted_as: Some("jobs"),
        copy: CopyRule::Rows(&[
            ("id", MOVED_ID),
            ("script_id", Some("script_id + :off")),
            ("schedule_id", Some("NULL")),
        ]),
    },
    Table {
        name: "asset_jobs",
        owner: "customer_id",
        counted_as: Some("assetJobs"),
        copy: CopyRule::Rows(&[
            ("id", MOVED_ID),
            ("job_id", Some("job_id + :off")),
            ("asset_id", Some("asset_id + :off")),
        ]),
    },
    Table {
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
    },
    Table {
        name: "cm_rulesets",
        owner: "customer_id",
        counted_as: Some("rulesets"),
        copy: CopyRule::Rows(&[("id", MOVED_ID)]),
    },
    Table {
        name: "cm_rules",
        owner: "customer_id",
        counted_as: Some("rules"),
        copy: CopyRule::Rows(&[("id", MOVED_ID), ("ruleset_id", Some("ruleset_id + :off"))]),
    },
    Table {
        name: "cm_rule_criteria",
        owner: "customer_id",
        counted_as: None,
        copy: CopyRule::Rows(&[("id", MOVED_ID), ("rule_id", Some("rule_id + :off"))]),
    },
    Table {
        name: "cm_profiles",
        owner: "customer_id",
        counted_as: Some("profiles"),
        copy: CopyRule::Rows(&[
            ("id", MOVED_ID),
            ("uuid", Some(NEW_UUID)),
            ("ruleset_id", Some("ruleset_id + :off")),
        ]),
    },
    Table {
        name: "cm_alerts",
        owner: "customer_id",
        counted_as: Some("alerts"),
        copy: CopyRule::Rows(&[
            ("id", MOVED_ID),
            ("profile_id", Some("profile_id + :off")),
            ("rule_id", Some("rule_id + :off")),
        ]),
    },
];

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
}
