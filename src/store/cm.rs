//! CM objects: rulesets, rules (with criteria), profiles, alerts. Row types and queries.
//!
//! Every search is `customer_id = ? AND (<compiled filter>) ORDER BY id LIMIT ? OFFSET ?`,
//! fetching one record more than asked to tell whether more remain.

use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};

use super::{Store, StoreResult, sql_i64, to_sql};
use crate::page::{Page, Window};
use crate::query::SqlWhere;

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

/// The SQL and values of a search (one more record than the window, to tell `hasMore`).
fn search_sql(
    select_from: &str,
    alias: &str,
    customer_id: i64,
    filter: &SqlWhere,
    window: Window,
) -> (String, Vec<rusqlite::types::Value>) {
    let sql = format!(
        "{select_from} WHERE {alias}.customer_id = ? AND ({}) ORDER BY {alias}.id LIMIT ? OFFSET ?",
        if filter.sql.is_empty() {
            "1"
        } else {
            &filter.sql
        }
    );
    let mut values = Vec::with_capacity(filter.params.len() + 3);
    values.push(rusqlite::types::Value::Integer(customer_id));
    values.extend(filter.params.iter().map(to_sql));
    values.push(rusqlite::types::Value::Integer(sql_i64(
        window.limit.saturating_add(1),
    )));
    values.push(rusqlite::types::Value::Integer(sql_i64(window.offset)));
    (sql, values)
}

/// `EXPLAIN QUERY PLAN` of a statement, one line per step.
pub(super) fn plan(
    conn: &Connection,
    sql: &str,
    values: &[rusqlite::types::Value],
) -> StoreResult<Vec<String>> {
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
    let rows = stmt
        .query_map(params_from_iter(values.iter()), |r| r.get::<_, String>(3))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

fn alert_select() -> String {
    "SELECT a.id, a.source, a.event_type, a.trigger_uuid, a.ip_address, a.hostname, \
     a.event_s, a.alert_s, a.is_hidden, a.alert_info_json, a.profile_id FROM cm_alerts a"
        .to_owned()
}

fn profile_select() -> String {
    format!(
        "SELECT {PROFILE_COLS}, {RULESET_COLS} FROM cm_profiles p LEFT JOIN cm_rulesets s \
         ON s.id = p.ruleset_id AND s.customer_id = p.customer_id"
    )
}

fn rule_select() -> String {
    format!("SELECT {RULE_COLS} FROM cm_rules r")
}

fn ruleset_select() -> String {
    format!("SELECT {RULESET_COLS} FROM cm_rulesets s")
}

/// Run `SELECT … FROM … WHERE customer AND filter ORDER BY id` over a window (+1).
fn search<T>(
    conn: &Connection,
    select_from: &str,
    alias: &str,
    customer_id: i64,
    filter: &SqlWhere,
    window: Window,
    map: impl Fn(&Row<'_>) -> rusqlite::Result<T>,
) -> StoreResult<Page<T>> {
    let (sql, values) = search_sql(select_from, alias, customer_id, filter, window);
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(params_from_iter(values), map)?
        .collect::<rusqlite::Result<Vec<T>>>()?;
    Ok(Page::from_overfetch(rows, window, None))
}

const RULESET_COLS: &str = "s.id, s.title, s.description, s.created_s, s.updated_s, s.is_template";

fn ruleset_at(row: &Row<'_>, i: usize) -> rusqlite::Result<RulesetRow> {
    Ok(RulesetRow {
        id: row.get(i)?,
        title: row.get(i + 1)?,
        description: row.get(i + 2)?,
        created_s: row.get(i + 3)?,
        updated_s: row.get(i + 4)?,
        is_template: row.get(i + 5)?,
    })
}

const PROFILE_COLS: &str = "p.id, p.uuid, p.title, p.created_s, p.updated_s, p.frequency, \
                            p.is_active, p.included_ips, p.target_list";

fn profile_at(row: &Row<'_>, i: usize) -> rusqlite::Result<ProfileRow> {
    Ok(ProfileRow {
        id: row.get(i)?,
        uuid: row.get(i + 1)?,
        title: row.get(i + 2)?,
        created_s: row.get(i + 3)?,
        updated_s: row.get(i + 4)?,
        frequency: row.get(i + 5)?,
        is_active: row.get(i + 6)?,
        included_ips: row.get(i + 7)?,
        target_list: row.get(i + 8)?,
        ruleset: None,
    })
}

fn rule_criteria(conn: &Connection, rule_id: i64) -> StoreResult<Vec<RuleCriterionRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, property_name, property_value, expression_type FROM cm_rule_criteria \
         WHERE rule_id = ?1 ORDER BY position",
    )?;
    let rows = stmt
        .query_map(params![rule_id], |r| {
            Ok(RuleCriterionRow {
                id: r.get(0)?,
                property_name: r.get(1)?,
                property_value: r.get(2)?,
                expression_type: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

const RULE_COLS: &str = "r.id, r.ruleset_id, r.rule_type, r.event_types, r.json_data, r.created_s";

fn rule_row(row: &Row<'_>) -> rusqlite::Result<RuleRow> {
    Ok(RuleRow {
        id: row.get(0)?,
        ruleset_id: row.get(1)?,
        rule_type: row.get(2)?,
        event_types: row.get(3)?,
        json_data: row.get(4)?,
        created_s: row.get(5)?,
        criteria: Vec::new(),
    })
}

fn with_criteria(conn: &Connection, mut rules: Vec<RuleRow>) -> StoreResult<Vec<RuleRow>> {
    for rule in &mut rules {
        rule.criteria = rule_criteria(conn, rule.id)?;
    }
    Ok(rules)
}

impl Store {
    /// The query plan of a CM search (`alert`, `profile`, `rule`, `ruleset`), as run.
    pub async fn cm_explain(
        &self,
        object: &'static str,
        customer_id: i64,
        filter: SqlWhere,
        window: Window,
    ) -> StoreResult<Vec<String>> {
        self.call(move |conn| {
            let (select, alias) = match object {
                "alert" => (alert_select(), "a"),
                "profile" => (profile_select(), "p"),
                "rule" => (rule_select(), "r"),
                _ => (ruleset_select(), "s"),
            };
            let (sql, values) = search_sql(&select, alias, customer_id, &filter, window);
            plan(conn, &sql, &values)
        })
        .await
    }

    /// Only the ids of a page of alerts (what a render cache needs first).
    pub async fn cm_alert_ids(
        &self,
        customer_id: i64,
        filter: SqlWhere,
        window: Window,
    ) -> StoreResult<Page<i64>> {
        self.call(move |conn| {
            search(
                conn,
                "SELECT a.id FROM cm_alerts a",
                "a",
                customer_id,
                &filter,
                window,
                |r| r.get(0),
            )
        })
        .await
    }

    /// Alerts of `customer_id` matching `filter`, in ascending id.
    pub async fn cm_alerts(
        &self,
        customer_id: i64,
        filter: SqlWhere,
        window: Window,
    ) -> StoreResult<Page<AlertRow>> {
        self.call(move |conn| {
            let page = search(
                conn,
                &alert_select(),
                "a",
                customer_id,
                &filter,
                window,
                |r| {
                    Ok((
                        AlertRow {
                            id: r.get(0)?,
                            source: r.get(1)?,
                            event_type: r.get(2)?,
                            trigger_uuid: r.get(3)?,
                            ip_address: r.get(4)?,
                            hostname: r.get(5)?,
                            event_s: r.get(6)?,
                            alert_s: r.get(7)?,
                            is_hidden: r.get(8)?,
                            alert_info_json: r.get(9)?,
                            profile: None,
                        },
                        r.get::<_, Option<i64>>(10)?,
                    ))
                },
            )?;
            // A page names few profiles: read each once, share it.
            let mut profiles: std::collections::HashMap<i64, Option<std::sync::Arc<ProfileRow>>> =
                std::collections::HashMap::new();
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {PROFILE_COLS} FROM cm_profiles p WHERE p.id = ?1 AND p.customer_id = ?2"
            ))?;
            let mut items = Vec::with_capacity(page.items.len());
            for (mut alert, profile_id) in page.items {
                if let Some(id) = profile_id {
                    alert.profile = match profiles.entry(id) {
                        std::collections::hash_map::Entry::Occupied(e) => e.get().clone(),
                        std::collections::hash_map::Entry::Vacant(e) => {
                            let row = stmt
                                .query_row(params![id, customer_id], |r| profile_at(r, 0))
                                .optional()?;
                            e.insert(row.map(std::sync::Arc::new)).clone()
                        }
                    };
                }
                items.push(alert);
            }
            Ok(Page {
                items,
                has_more: page.has_more,
                total: page.total,
            })
        })
        .await
    }

    /// Profiles of `customer_id` matching `filter`, with their ruleset.
    pub async fn cm_profiles(
        &self,
        customer_id: i64,
        filter: SqlWhere,
        window: Window,
    ) -> StoreResult<Page<ProfileRow>> {
        self.call(move |conn| {
            search(
                conn,
                &profile_select(),
                "p",
                customer_id,
                &filter,
                window,
                |r| {
                    let mut profile = profile_at(r, 0)?;
                    let ruleset_id: Option<i64> = r.get(9)?;
                    if ruleset_id.is_some() {
                        profile.ruleset = Some(ruleset_at(r, 9)?);
                    }
                    Ok(profile)
                },
            )
        })
        .await
    }

    /// Rules of `customer_id` matching `filter`, with their criteria.
    pub async fn cm_rules(
        &self,
        customer_id: i64,
        filter: SqlWhere,
        window: Window,
    ) -> StoreResult<Page<RuleRow>> {
        self.call(move |conn| {
            let page = search(
                conn,
                &rule_select(),
                "r",
                customer_id,
                &filter,
                window,
                rule_row,
            )?;
            Ok(Page {
                items: with_criteria(conn, page.items)?,
                ..page
            })
        })
        .await
    }

    /// Rulesets of `customer_id` matching `filter`, each with its rules.
    pub async fn cm_rulesets(
        &self,
        customer_id: i64,
        filter: SqlWhere,
        window: Window,
    ) -> StoreResult<Page<RulesetWithRules>> {
        self.call(move |conn| {
            let page = search(
                conn,
                &ruleset_select(),
                "s",
                customer_id,
                &filter,
                window,
                |r| ruleset_at(r, 0),
            )?;
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {RULE_COLS} FROM cm_rules r WHERE r.ruleset_id = ?1 AND r.customer_id = ?2 \
                 ORDER BY r.id"
            ))?;
            let mut items = Vec::with_capacity(page.items.len());
            for ruleset in page.items {
                let rules = stmt
                    .query_map(params![ruleset.id, customer_id], rule_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                items.push(RulesetWithRules {
                    ruleset,
                    rules: with_criteria(conn, rules)?,
                });
            }
            Ok(Page {
                items,
                has_more: page.has_more,
                total: None,
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::catalog::CM_ALERT;
    use crate::query::criteria::{Criterion, compile};
    use crate::store::Seed;

    async fn seeded() -> Store {
        Store::memory_with(Seed::embedded().unwrap()).await.unwrap()
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
    const ALL: Window = Window {
        offset: 0,
        limit: 1000,
    };

    #[tokio::test]
    async fn every_query_is_scoped_to_the_customer() {
        let store = seeded().await;
        let acme = store.cm_alerts(ACME, by_id("246213"), ALL).await.unwrap();
        assert_eq!(acme.items.len(), 1);
        let globex = store.cm_alerts(GLOBEX, by_id("246213"), ALL).await.unwrap();
        assert!(globex.items.is_empty());
        let all_globex = store
            .cm_alerts(GLOBEX, SqlWhere::default(), ALL)
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
            .cm_profiles(GLOBEX, SqlWhere::default(), ALL)
            .await
            .unwrap();
        assert_eq!(
            profiles.items.iter().map(|p| p.id).collect::<Vec<_>>(),
            vec![9201]
        );
        let rulesets = store
            .cm_rulesets(GLOBEX, SqlWhere::default(), ALL)
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
        let first = store.cm_alerts(ACME, SqlWhere::default(), w).await.unwrap();
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
            let mut stmt = tx.prepare_cached(
                "INSERT INTO cm_alerts (id, customer_id, source, event_type, trigger_uuid, ip_address, \
                 hostname, event_s, alert_s, is_hidden, profile_id, rule_id, alert_info_json) VALUES \
                 ((SELECT coalesce(max(id), 0) + 1 FROM cm_alerts), ?1, 'REMEDIATION', ?2, ?3, ?4, ?5, ?6, \
                 ?7, 0, ?8, ?9, ?10)",
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
                    info
                ])?;
                ids.push(tx.last_insert_rowid());
            }
            Ok(ids)
        })
        .await
    }
}
