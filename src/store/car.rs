//! CAR objects: scripts, assets and tags, jobs and asset jobs, activities, schedules.
//!
//! Searches return a page plus the total (`totalCount`). Every write — import, clone,
//! execute, schedule, a schedule firing, jobs progressing — is one transaction: stored
//! whole or not at all, and serialised by the one connection, so concurrent writers cannot
//! both pass a check (title free, script limit, execute interval) that only one may pass.

use std::collections::BTreeSet;

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params, params_from_iter};

use super::{Caller, Store, StoreResult, sql_i64, to_sql};
use crate::page::{Page, Window};
use crate::query::SqlWhere;

/// A search: compiled filter, sort (catalog SQL expression, descending?), window.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub filter: SqlWhere,
    pub order: Vec<(&'static str, bool)>,
    pub window: Option<Window>,
}

/// Why a write was refused (the caller maps each to its API's error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    NotFound(String),
    /// A title that is taken (scripts, schedules).
    Duplicate(String),
    /// The customer's script limit would be passed.
    ScriptLimit(u64),
    /// The same script ran less than the execute interval ago.
    TooSoon {
        retry_after_ms: i64,
    },
    /// The customer's executions in the last 24 hours reached the limit.
    DailyLimit {
        limit: u64,
        retry_after_ms: i64,
    },
    Invalid(String),
}

pub type WriteResult<T> = StoreResult<Result<T, Refusal>>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptRow {
    pub id: i64,
    pub title: String,
    pub description: String,
    pub category_id: i64,
    pub category_name: String,
    pub type_id: i64,
    pub type_name: String,
    pub platform: String,
    pub status: String,
    pub severity: i64,
    pub threshold: i64,
    pub content: Vec<u8>,
    pub imported_from_id: i64,
    pub recurring_day: i64,
    pub approver_id: Option<String>,
    pub approver_name: Option<String>,
    pub created_ms: i64,
    pub created_by_id: String,
    pub created_by_name: String,
    pub updated_ms: i64,
    pub updated_by_id: String,
    pub updated_by_name: String,
    pub last_executed_ms: i64,
    pub blacklisted_commands: String,
    pub subscribed_modules: Vec<String>,
}

/// A script to store (import, clone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewScript {
    pub title: String,
    pub description: String,
    pub category_id: i64,
    pub category_name: String,
    pub type_id: i64,
    pub type_name: String,
    pub platform: String,
    pub severity: i64,
    pub threshold: i64,
    pub content: Vec<u8>,
    pub imported_from_id: i64,
    pub recurring_day: i64,
    pub blacklisted_commands: String,
    pub subscribed_modules: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceRow {
    pub hostname: Option<String>,
    pub mac_address: Option<String>,
    pub address: Option<String>,
    pub interface_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRef {
    pub id: i64,
    pub uuid: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetRow {
    pub id: i64,
    pub customer_id: i64,
    pub agent_id: String,
    pub agent_uuid: String,
    pub name: String,
    pub address: String,
    pub operating_system: String,
    pub asset_type: String,
    pub agent_version: String,
    pub activated_for_modules: Vec<String>,
    pub interfaces: Vec<InterfaceRow>,
    pub tags: Vec<TagRef>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRow {
    pub id: i64,
    pub customer_id: i64,
    pub uuid: String,
    pub name: String,
    pub background_color: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    pub id: i64,
    pub script_id: i64,
    pub schedule_id: Option<i64>,
    pub correlation_uuid: String,
    pub execution_type: String,
    pub title: String,
    pub is_test: bool,
    pub script_title: String,
    pub script_type: String,
    pub platform: String,
    pub severity: i64,
    pub threshold: i64,
    pub category_id: i64,
    pub category_name: String,
    pub created_ms: i64,
    pub updated_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetJobRow {
    pub id: i64,
    pub status: String,
    pub output_code: Option<i64>,
    pub output_text: Option<String>,
    pub script_result: Option<Vec<u8>>,
    pub manifest_id: String,
    pub is_test: bool,
    pub created_ms: i64,
    pub end_ms: Option<i64>,
    pub job: JobRow,
    /// `None` when the asset no longer exists.
    pub asset: Option<AssetRow>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActivityRow {
    pub uuid: String,
    pub user_name: String,
    pub user_uuid: String,
    pub client: Option<String>,
    pub source_ip: Option<String>,
    pub created_ms: i64,
    pub target_type: String,
    pub target_name: String,
    pub action: String,
    pub audit_comment: Option<String>,
    pub custom_fields: serde_json::Value,
}

/// Targets of an execution, as given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Targets {
    pub asset_ids: Vec<i64>,
    pub tag_ids: Vec<i64>,
    pub excluded_ids: Vec<i64>,
}

/// Limits an execution is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecuteLimits {
    pub interval_ms: i64,
    pub daily: u64,
}

/// A stored schedule, with what firing it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleRow {
    pub id: i64,
    pub customer_id: i64,
    pub title: String,
    pub script_id: i64,
    pub recurrence_json: String,
    pub targets: Targets,
    pub user_id: String,
    pub user_name: String,
    pub next_fire_ms: Option<i64>,
}

/// A schedule to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSchedule {
    pub title: String,
    pub description: String,
    pub script_id: i64,
    pub activate: bool,
    pub schedule_type: String,
    pub start_date: String,
    pub end_date: String,
    pub start_time: String,
    pub hourly_interval: Option<i64>,
    pub days_of_week_json: Option<String>,
    pub recurrence_date: Option<i64>,
    pub recurrence_month: Option<i64>,
    pub monthly_schedule_type: Option<String>,
    pub targets: Targets,
    /// The recurrence as the engine reads it back.
    pub recurrence_json: String,
    pub next_fire_ms: Option<i64>,
}

/// The outcome the engine gives a finished asset job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub status: &'static str,
    pub code: i64,
    pub text: String,
    pub result: Vec<u8>,
}

/// The count and select statements of a search, and their values (the select's last two
/// are the limit and offset).
fn search_sql(
    cols: &str,
    from: &str,
    alias: &str,
    key: &str,
    customer_id: i64,
    q: &Query,
) -> (String, String, Vec<rusqlite::types::Value>) {
    let filter = if q.filter.sql.is_empty() {
        "1"
    } else {
        &q.filter.sql
    };
    let condition = format!("{alias}.customer_id = ? AND ({filter})");
    let mut values = Vec::with_capacity(q.filter.params.len() + 3);
    values.push(rusqlite::types::Value::Integer(customer_id));
    values.extend(q.filter.params.iter().map(to_sql));
    let mut order: Vec<String> = q
        .order
        .iter()
        .map(|(expr, desc)| format!("{expr} {}", if *desc { "DESC" } else { "ASC" }))
        .collect();
    order.push(format!("{key} ASC"));
    let window = q.window.unwrap_or(Window {
        offset: 0,
        limit: u64::MAX >> 1,
    });
    values.push(rusqlite::types::Value::Integer(sql_i64(window.limit)));
    values.push(rusqlite::types::Value::Integer(sql_i64(window.offset)));
    (
        format!("SELECT count(*) FROM {from} WHERE {condition}"),
        format!(
            "SELECT {cols} FROM {from} WHERE {condition} ORDER BY {} LIMIT ? OFFSET ?",
            order.join(", ")
        ),
        values,
    )
}

/// `SELECT cols FROM from WHERE alias.customer_id = ? AND (filter) ORDER BY .. LIMIT ..`
/// plus the total. `key` breaks ties in the order (the table's primary key).
#[allow(clippy::too_many_arguments)]
fn search<T>(
    conn: &Connection,
    cols: &str,
    from: &str,
    alias: &str,
    key: &str,
    customer_id: i64,
    q: &Query,
    map: impl Fn(&Row<'_>) -> rusqlite::Result<T>,
) -> StoreResult<Page<T>> {
    let (count_sql, sql, values) = search_sql(cols, from, alias, key, customer_id, q);
    let filter_values = &values[..values.len() - 2];
    let total: i64 = conn
        .prepare_cached(&count_sql)?
        .query_row(params_from_iter(filter_values.iter()), |r| r.get(0))?;
    let window = q.window.unwrap_or(Window {
        offset: 0,
        limit: u64::MAX >> 1,
    });
    let items = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(values), map)?
        .collect::<rusqlite::Result<Vec<T>>>()?;
    let total = u64::try_from(total).unwrap_or(0);
    Ok(Page {
        has_more: window.offset.saturating_add(items.len() as u64) < total,
        items,
        total: Some(total),
    })
}

const SCRIPT_COLS: &str = "s.id, s.title, s.description, s.category_id, s.category_name, s.type_id, \
    s.type_name, s.platform, s.status, s.severity, s.threshold, s.content, s.imported_from_id, \
    s.recurring_day, s.approver_id, s.approver_name, s.created_ms, s.created_by_id, s.created_by_name, \
    s.updated_ms, s.updated_by_id, s.updated_by_name, s.last_executed_ms, s.blacklisted_commands, \
    s.subscribed_modules_json";

fn script_row(r: &Row<'_>) -> rusqlite::Result<ScriptRow> {
    let modules: String = r.get(24)?;
    Ok(ScriptRow {
        id: r.get(0)?,
        title: r.get(1)?,
        description: r.get(2)?,
        category_id: r.get(3)?,
        category_name: r.get(4)?,
        type_id: r.get(5)?,
        type_name: r.get(6)?,
        platform: r.get(7)?,
        status: r.get(8)?,
        severity: r.get(9)?,
        threshold: r.get(10)?,
        content: r.get(11)?,
        imported_from_id: r.get(12)?,
        recurring_day: r.get(13)?,
        approver_id: r.get(14)?,
        approver_name: r.get(15)?,
        created_ms: r.get(16)?,
        created_by_id: r.get(17)?,
        created_by_name: r.get(18)?,
        updated_ms: r.get(19)?,
        updated_by_id: r.get(20)?,
        updated_by_name: r.get(21)?,
        last_executed_ms: r.get(22)?,
        blacklisted_commands: r.get(23)?,
        subscribed_modules: serde_json::from_str(&modules).unwrap_or_default(),
    })
}

/// A customer's script by id.
fn script_by_id(conn: &Connection, customer_id: i64, id: i64) -> StoreResult<Option<ScriptRow>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {SCRIPT_COLS} FROM scripts s WHERE s.customer_id = ?1 AND s.id = ?2"
        ))?
        .query_row(params![customer_id, id], script_row)
        .optional()?)
}

fn script_by_key(conn: &Connection, customer_id: i64, key: &str) -> StoreResult<Option<ScriptRow>> {
    if let Ok(id) = key.parse::<i64>() {
        let found = script_by_id(conn, customer_id, id)?;
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {SCRIPT_COLS} FROM scripts s WHERE s.customer_id = ?1 AND s.title = ?2"
        ))?
        .query_row(params![customer_id, key], script_row)
        .optional()?)
}

const ASSET_COLS: &str = "a.id, a.customer_id, a.agent_id, a.agent_uuid, a.name, a.address, \
    a.operating_system, a.asset_type, a.agent_version, a.activated_for_modules_json";

fn asset_row(r: &Row<'_>) -> rusqlite::Result<AssetRow> {
    let modules: String = r.get(9)?;
    Ok(AssetRow {
        id: r.get(0)?,
        customer_id: r.get(1)?,
        agent_id: r.get(2)?,
        agent_uuid: r.get(3)?,
        name: r.get(4)?,
        address: r.get(5)?,
        operating_system: r.get(6)?,
        asset_type: r.get(7)?,
        agent_version: r.get(8)?,
        activated_for_modules: serde_json::from_str(&modules).unwrap_or_default(),
        interfaces: Vec::new(),
        tags: Vec::new(),
    })
}

fn fill_asset(conn: &Connection, mut asset: AssetRow) -> StoreResult<AssetRow> {
    asset.interfaces = conn
        .prepare_cached(
            "SELECT hostname, mac_address, address, interface_name FROM asset_interfaces \
             WHERE asset_id = ?1 ORDER BY position",
        )?
        .query_map(params![asset.id], |r| {
            Ok(InterfaceRow {
                hostname: r.get(0)?,
                mac_address: r.get(1)?,
                address: r.get(2)?,
                interface_name: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    asset.tags = conn
        .prepare_cached(
            "SELECT t.id, t.uuid, t.name FROM asset_tag_links l JOIN asset_tags t ON t.id = l.tag_id \
             WHERE l.asset_id = ?1 ORDER BY l.rowid",
        )?
        .query_map(params![asset.id], |r| {
            Ok(TagRef {
                id: r.get(0)?,
                uuid: r.get(1)?,
                name: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(asset)
}

fn asset_by_id(conn: &Connection, id: i64) -> StoreResult<Option<AssetRow>> {
    let row = conn
        .prepare_cached(&format!(
            "SELECT {ASSET_COLS} FROM assets a WHERE a.id = ?1"
        ))?
        .query_row(params![id], asset_row)
        .optional()?;
    row.map(|a| fill_asset(conn, a)).transpose()
}

const JOB_COLS: &str = "j.id, j.script_id, j.schedule_id, j.correlation_uuid, j.execution_type, \
    j.title, j.is_test, j.script_title, j.script_type, j.platform, j.severity, j.threshold, \
    j.category_id, j.category_name, j.created_ms, j.updated_ms";

fn job_at(r: &Row<'_>, i: usize) -> rusqlite::Result<JobRow> {
    Ok(JobRow {
        id: r.get(i)?,
        script_id: r.get(i + 1)?,
        schedule_id: r.get(i + 2)?,
        correlation_uuid: r.get(i + 3)?,
        execution_type: r.get(i + 4)?,
        title: r.get(i + 5)?,
        is_test: r.get(i + 6)?,
        script_title: r.get(i + 7)?,
        script_type: r.get(i + 8)?,
        platform: r.get(i + 9)?,
        severity: r.get(i + 10)?,
        threshold: r.get(i + 11)?,
        category_id: r.get(i + 12)?,
        category_name: r.get(i + 13)?,
        created_ms: r.get(i + 14)?,
        updated_ms: r.get(i + 15)?,
    })
}

/// Record an audit activity inside a write.
#[allow(clippy::too_many_arguments)]
fn log_activity(
    tx: &Transaction<'_>,
    caller: &Caller,
    now_ms: i64,
    target_type: &str,
    target_name: &str,
    target_id: i64,
    action: &str,
    comment: Option<&str>,
) -> StoreResult<()> {
    let fields =
        serde_json::json!([{"key": "targetId", "value": target_id.to_string()}]).to_string();
    tx.prepare_cached(
        "INSERT INTO activities (uuid, customer_id, user_name, user_uuid, created_ms, target_type, \
         target_name, target_id, action, audit_comment, custom_fields_json) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        uuid::Uuid::new_v4().to_string(),
        caller.customer_id,
        caller.username,
        caller.user_uuid,
        now_ms,
        target_type,
        target_name,
        target_id.to_string(),
        action,
        comment,
        fields
    ])?;
    Ok(())
}

fn insert_script(
    tx: &Transaction<'_>,
    caller: &Caller,
    s: &NewScript,
    now_ms: i64,
) -> StoreResult<i64> {
    let modules = serde_json::to_string(&s.subscribed_modules).unwrap_or_else(|_| "[]".into());
    tx.prepare_cached(
        "INSERT INTO scripts (customer_id, title, description, category_id, category_name, type_id, \
         type_name, platform, status, severity, threshold, content, imported_from_id, recurring_day, \
         created_ms, created_by_id, created_by_name, updated_ms, updated_by_id, updated_by_name, \
         blacklisted_commands, subscribed_modules_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, \
         'PENDING_REVIEW', ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?14, ?15, ?16, ?17, ?18)",
    )?
    .execute(params![
        caller.customer_id,
        s.title,
        s.description,
        s.category_id,
        s.category_name,
        s.type_id,
        s.type_name,
        s.platform,
        s.severity,
        s.threshold,
        s.content,
        s.imported_from_id,
        s.recurring_day,
        now_ms,
        caller.user_uuid,
        caller.display_name,
        s.blacklisted_commands,
        modules
    ])?;
    Ok(tx.last_insert_rowid())
}

fn title_taken(tx: &Transaction<'_>, customer_id: i64, title: &str) -> StoreResult<bool> {
    Ok(tx
        .prepare_cached("SELECT 1 FROM scripts WHERE customer_id = ?1 AND title = ?2")?
        .query_row(params![customer_id, title], |_| Ok(()))
        .optional()?
        .is_some())
}

fn script_count(tx: &Transaction<'_>, customer_id: i64) -> StoreResult<u64> {
    let n: i64 = tx
        .prepare_cached("SELECT count(*) FROM scripts WHERE customer_id = ?1")?
        .query_row(params![customer_id], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The customer's assets an execution reaches: ids ∪ tagged − excluded.
fn resolve_targets(
    tx: &Transaction<'_>,
    customer_id: i64,
    t: &Targets,
) -> StoreResult<Result<Vec<i64>, Refusal>> {
    let mut set = BTreeSet::new();
    let mut missing = Vec::new();
    let mut asset_stmt =
        tx.prepare_cached("SELECT 1 FROM assets WHERE id = ?1 AND customer_id = ?2")?;
    for id in &t.asset_ids {
        if asset_stmt
            .query_row(params![id, customer_id], |_| Ok(()))
            .optional()?
            .is_some()
        {
            set.insert(*id);
        } else {
            missing.push(id.to_string());
        }
    }
    if !missing.is_empty() {
        return Ok(Err(Refusal::Invalid(format!(
            "Asset(s) not found: {}",
            missing.join(", ")
        ))));
    }
    let mut tag_stmt =
        tx.prepare_cached("SELECT 1 FROM asset_tags WHERE id = ?1 AND customer_id = ?2")?;
    let mut members = tx.prepare_cached(
        "SELECT l.asset_id FROM asset_tag_links l JOIN assets a ON a.id = l.asset_id \
         WHERE l.tag_id = ?1 AND a.customer_id = ?2",
    )?;
    for tag in &t.tag_ids {
        if tag_stmt
            .query_row(params![tag, customer_id], |_| Ok(()))
            .optional()?
            .is_none()
        {
            missing.push(tag.to_string());
            continue;
        }
        for id in members.query_map(params![tag, customer_id], |r| r.get::<_, i64>(0))? {
            set.insert(id?);
        }
    }
    if !missing.is_empty() {
        return Ok(Err(Refusal::Invalid(format!(
            "Asset tag(s) not found: {}",
            missing.join(", ")
        ))));
    }
    for id in &t.excluded_ids {
        set.remove(id);
    }
    Ok(Ok(set.into_iter().collect()))
}

/// Create a job and its asset jobs for `script` on `targets` at `now_ms`.
fn create_job(
    tx: &Transaction<'_>,
    customer_id: i64,
    script: &ScriptRow,
    targets: &[i64],
    execution_type: &str,
    schedule_id: Option<i64>,
    now_ms: i64,
) -> StoreResult<(i64, String)> {
    let correlation = uuid::Uuid::new_v4().to_string();
    let title = format!("{}-{}", script.title, now_ms / 1000);
    tx.prepare_cached(
        "INSERT INTO script_jobs (customer_id, script_id, schedule_id, correlation_uuid, execution_type, \
         title, is_test, script_title, script_type, platform, severity, threshold, category_id, \
         category_name, created_ms, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, ?8, ?9, ?10, ?11, \
         ?12, ?13, ?14, ?14)",
    )?
    .execute(params![
        customer_id,
        script.id,
        schedule_id,
        correlation,
        execution_type,
        title,
        script.title,
        script.type_name,
        script.platform,
        script.severity,
        script.threshold,
        script.category_id,
        script.category_name,
        now_ms
    ])?;
    let job_id = tx.last_insert_rowid();
    let mut stmt = tx.prepare_cached(
        "INSERT INTO asset_jobs (customer_id, job_id, asset_id, status, manifest_id, is_test, created_ms) \
         VALUES (?1, ?2, ?3, 'QUEUED', ?4, 0, ?5)",
    )?;
    for asset in targets {
        stmt.execute(params![
            customer_id,
            job_id,
            asset,
            uuid::Uuid::new_v4().to_string(),
            now_ms
        ])?;
    }
    tx.prepare_cached("UPDATE scripts SET last_executed_ms = ?2 WHERE id = ?1")?
        .execute(params![script.id, now_ms])?;
    Ok((job_id, correlation))
}

/// What each CAR search selects from: (columns, from, alias, key).
fn car_source(object: &str) -> (&'static str, &'static str, &'static str, &'static str) {
    match object {
        "script" => (SCRIPT_COLS, "scripts s", "s", "s.id"),
        "asset" => (ASSET_COLS, "assets a", "a", "a.id"),
        "assettag" => ("t.id", "asset_tags t", "t", "t.id"),
        "job" => (JOB_COLS, "script_jobs j", "j", "j.id"),
        "assetjob" => (
            "aj.id",
            "asset_jobs aj JOIN script_jobs j ON j.id = aj.job_id",
            "aj",
            "aj.id",
        ),
        _ => ("ac.uuid", "activities ac", "ac", "ac.seq"),
    }
}

impl Store {
    /// The query plans (count, then select) of a CAR search, as run.
    pub async fn car_explain(
        &self,
        object: &'static str,
        customer_id: i64,
        q: Query,
    ) -> StoreResult<Vec<String>> {
        self.call(move |conn| {
            let (cols, from, alias, key) = car_source(object);
            let (count_sql, sql, values) = search_sql(cols, from, alias, key, customer_id, &q);
            let mut lines = super::cm::plan(conn, &count_sql, &values[..values.len() - 2])?;
            lines.extend(super::cm::plan(conn, &sql, &values)?);
            Ok(lines)
        })
        .await
    }

    pub async fn car_scripts(&self, customer_id: i64, q: Query) -> StoreResult<Page<ScriptRow>> {
        self.call(move |conn| {
            search(
                conn,
                SCRIPT_COLS,
                "scripts s",
                "s",
                "s.id",
                customer_id,
                &q,
                script_row,
            )
        })
        .await
    }

    /// A script by id, or else by title.
    pub async fn car_script(
        &self,
        customer_id: i64,
        key: String,
    ) -> StoreResult<Option<ScriptRow>> {
        self.call(move |conn| script_by_key(conn, customer_id, &key))
            .await
    }

    /// Scripts by id, in the order asked; ids the customer lacks are reported.
    pub async fn car_scripts_by_ids(
        &self,
        customer_id: i64,
        ids: Vec<i64>,
    ) -> StoreResult<Result<Vec<ScriptRow>, Vec<i64>>> {
        self.call(move |conn| {
            let (mut found, mut missing) = (Vec::new(), Vec::new());
            for id in ids {
                match script_by_id(conn, customer_id, id)? {
                    Some(s) => found.push(s),
                    None => missing.push(id),
                }
            }
            Ok(if missing.is_empty() {
                Ok(found)
            } else {
                Err(missing)
            })
        })
        .await
    }

    pub async fn car_assets(&self, customer_id: i64, q: Query) -> StoreResult<Page<AssetRow>> {
        self.call(move |conn| {
            let page = search(
                conn,
                ASSET_COLS,
                "assets a",
                "a",
                "a.id",
                customer_id,
                &q,
                asset_row,
            )?;
            let items = page
                .items
                .into_iter()
                .map(|a| fill_asset(conn, a))
                .collect::<StoreResult<Vec<_>>>()?;
            Ok(Page { items, ..page })
        })
        .await
    }

    pub async fn car_tags(&self, customer_id: i64, q: Query) -> StoreResult<Page<TagRow>> {
        self.call(move |conn| {
            search(
                conn,
                "t.id, t.customer_id, t.uuid, t.name, t.background_color",
                "asset_tags t",
                "t",
                "t.id",
                customer_id,
                &q,
                |r| {
                    Ok(TagRow {
                        id: r.get(0)?,
                        customer_id: r.get(1)?,
                        uuid: r.get(2)?,
                        name: r.get(3)?,
                        background_color: r.get(4)?,
                    })
                },
            )
        })
        .await
    }

    pub async fn car_jobs(&self, customer_id: i64, q: Query) -> StoreResult<Page<JobRow>> {
        self.call(move |conn| {
            search(
                conn,
                JOB_COLS,
                "script_jobs j",
                "j",
                "j.id",
                customer_id,
                &q,
                |r| job_at(r, 0),
            )
        })
        .await
    }

    pub async fn car_asset_jobs(
        &self,
        customer_id: i64,
        q: Query,
        with_result: bool,
    ) -> StoreResult<Page<AssetJobRow>> {
        self.call(move |conn| {
            // The result is read only when asked for: it may be up to 1 MB per job.
            let result = if with_result {
                "aj.script_result"
            } else {
                "NULL"
            };
            let cols = format!(
                "aj.id, aj.status, aj.output_code, aj.output_text, {result}, aj.manifest_id, \
                 aj.is_test, aj.created_ms, aj.end_ms, aj.asset_id, {JOB_COLS}"
            );
            let page = search(
                conn,
                &cols,
                "asset_jobs aj JOIN script_jobs j ON j.id = aj.job_id",
                "aj",
                "aj.id",
                customer_id,
                &q,
                |r| {
                    Ok((
                        AssetJobRow {
                            id: r.get(0)?,
                            status: r.get(1)?,
                            output_code: r.get(2)?,
                            output_text: r.get(3)?,
                            script_result: r.get(4)?,
                            manifest_id: r.get(5)?,
                            is_test: r.get(6)?,
                            created_ms: r.get(7)?,
                            end_ms: r.get(8)?,
                            job: job_at(r, 10)?,
                            asset: None,
                        },
                        r.get::<_, i64>(9)?,
                    ))
                },
            )?;
            let mut items = Vec::with_capacity(page.items.len());
            for (mut row, asset_id) in page.items {
                row.asset = asset_by_id(conn, asset_id)?.filter(|a| a.customer_id == customer_id);
                items.push(row);
            }
            Ok(Page {
                items,
                has_more: page.has_more,
                total: page.total,
            })
        })
        .await
    }

    pub async fn car_activities(
        &self,
        customer_id: i64,
        q: Query,
    ) -> StoreResult<Page<ActivityRow>> {
        self.call(move |conn| {
            search(
                conn,
                "ac.uuid, ac.user_name, ac.user_uuid, ac.client, ac.source_ip, ac.created_ms, \
                 ac.target_type, ac.target_name, ac.action, ac.audit_comment, ac.custom_fields_json",
                "activities ac",
                "ac",
                "ac.seq",
                customer_id,
                &q,
                |r| {
                    let fields: String = r.get(10)?;
                    Ok(ActivityRow {
                        uuid: r.get(0)?,
                        user_name: r.get(1)?,
                        user_uuid: r.get(2)?,
                        client: r.get(3)?,
                        source_ip: r.get(4)?,
                        created_ms: r.get(5)?,
                        target_type: r.get(6)?,
                        target_name: r.get(7)?,
                        action: r.get(8)?,
                        audit_comment: r.get(9)?,
                        custom_fields: serde_json::from_str(&fields).unwrap_or_default(),
                    })
                },
            )
        })
        .await
    }

    /// Import scripts: all stored, or none.
    pub async fn car_import(
        &self,
        caller: Caller,
        scripts: Vec<NewScript>,
        limit: u64,
        now_ms: i64,
    ) -> WriteResult<Vec<i64>> {
        self.transaction(move |tx| {
            let count = script_count(tx, caller.customer_id)?;
            if count + scripts.len() as u64 > limit {
                return Ok(Err(Refusal::ScriptLimit(limit)));
            }
            let mut titles = BTreeSet::new();
            for s in &scripts {
                if !titles.insert(s.title.as_str())
                    || title_taken(tx, caller.customer_id, &s.title)?
                {
                    return Ok(Err(Refusal::Duplicate(s.title.clone())));
                }
            }
            let mut ids = Vec::with_capacity(scripts.len());
            for s in &scripts {
                let id = insert_script(tx, &caller, s, now_ms)?;
                let comment = format!("Imported (exported id {})", s.imported_from_id);
                log_activity(
                    tx,
                    &caller,
                    now_ms,
                    "script",
                    &s.title,
                    id,
                    "CREATE",
                    Some(&comment),
                )?;
                ids.push(id);
            }
            Ok(Ok(ids))
        })
        .await
    }

    /// Clone a script under a new title; the clone needs review again.
    pub async fn car_clone(
        &self,
        caller: Caller,
        source: String,
        title: String,
        limit: u64,
        now_ms: i64,
    ) -> WriteResult<i64> {
        self.transaction(move |tx| {
            let Some(src) = script_by_key(tx, caller.customer_id, &source)? else {
                return Ok(Err(Refusal::NotFound(format!(
                    "Script not found: {source}"
                ))));
            };
            if matches!(src.status.as_str(), "DEPRECATED" | "REJECTED") {
                return Ok(Err(Refusal::Invalid(format!(
                    "Cannot clone a {} script",
                    src.status.to_ascii_lowercase()
                ))));
            }
            if title_taken(tx, caller.customer_id, &title)? {
                return Ok(Err(Refusal::Duplicate(title)));
            }
            if script_count(tx, caller.customer_id)? >= limit {
                return Ok(Err(Refusal::ScriptLimit(limit)));
            }
            let new = NewScript {
                title: title.clone(),
                description: src.description.clone(),
                category_id: src.category_id,
                category_name: src.category_name.clone(),
                type_id: src.type_id,
                type_name: src.type_name.clone(),
                platform: src.platform.clone(),
                severity: src.severity,
                threshold: src.threshold,
                content: src.content.clone(),
                imported_from_id: 0,
                recurring_day: src.recurring_day,
                blacklisted_commands: src.blacklisted_commands.clone(),
                subscribed_modules: src.subscribed_modules.clone(),
            };
            let id = insert_script(tx, &caller, &new, now_ms)?;
            let comment = format!("Cloned from script {}", src.id);
            log_activity(
                tx,
                &caller,
                now_ms,
                "script",
                &title,
                id,
                "CREATE",
                Some(&comment),
            )?;
            Ok(Ok(id))
        })
        .await
    }

    /// Execute a script on demand: checks, job and asset jobs, activity — one transaction.
    pub async fn car_execute(
        &self,
        caller: Caller,
        script_id: i64,
        targets: Targets,
        limits: ExecuteLimits,
        now_ms: i64,
    ) -> WriteResult<String> {
        self.transaction(move |tx| {
            let customer = caller.customer_id;
            let Some(script) = script_by_id(tx, customer, script_id)? else {
                return Ok(Err(Refusal::NotFound(format!("Script not found: {script_id}"))));
            };
            match script.status.as_str() {
                "APPROVED" => {}
                "DEPRECATED" => return Ok(Err(Refusal::Invalid("Script is deprecated".into()))),
                other => {
                    return Ok(Err(Refusal::Invalid(format!(
                        "Script is not approved (status {other}); only approved scripts can be executed"
                    ))));
                }
            }
            if script.last_executed_ms > 0 && now_ms - script.last_executed_ms < limits.interval_ms {
                return Ok(Err(Refusal::TooSoon {
                    retry_after_ms: script.last_executed_ms + limits.interval_ms - now_ms,
                }));
            }
            let day_ago = now_ms - 86_400_000;
            let (count, oldest): (i64, Option<i64>) = tx
                .prepare_cached(
                    "SELECT count(*), min(created_ms) FROM script_jobs WHERE customer_id = ?1 \
                     AND execution_type = 'Manual' AND created_ms > ?2",
                )?
                .query_row(params![customer, day_ago], |r| Ok((r.get(0)?, r.get(1)?)))?;
            if u64::try_from(count).unwrap_or(0) >= limits.daily {
                return Ok(Err(Refusal::DailyLimit {
                    limit: limits.daily,
                    retry_after_ms: oldest.map_or(0, |o| o + 86_400_000 - now_ms),
                }));
            }
            let assets = match resolve_targets(tx, customer, &targets)? {
                Ok(a) => a,
                Err(refusal) => return Ok(Err(refusal)),
            };
            if assets.is_empty() {
                return Ok(Err(Refusal::Invalid(
                    "No assets to execute the script on: the given assets and tags reach none, \
                     or all are excluded"
                        .into(),
                )));
            }
            let (_, correlation) = create_job(tx, customer, &script, &assets, "Manual", None, now_ms)?;
            log_activity(tx, &caller, now_ms, "script", &script.title, script.id, "EXECUTE", None)?;
            Ok(Ok(correlation))
        })
        .await
    }

    /// Store a schedule.
    pub async fn car_create_schedule(
        &self,
        caller: Caller,
        s: NewSchedule,
        now_ms: i64,
    ) -> WriteResult<i64> {
        self.transaction(move |tx| {
            let customer = caller.customer_id;
            let script: Option<String> = tx
                .prepare_cached("SELECT title FROM scripts WHERE customer_id = ?1 AND id = ?2")?
                .query_row(params![customer, s.script_id], |r| r.get(0))
                .optional()?;
            if script.is_none() {
                return Ok(Err(Refusal::NotFound(format!("Script not found: {}", s.script_id))));
            }
            let taken = tx
                .prepare_cached("SELECT 1 FROM schedules WHERE customer_id = ?1 AND title = ?2")?
                .query_row(params![customer, s.title], |_| Ok(()))
                .optional()?
                .is_some();
            if taken {
                return Ok(Err(Refusal::Duplicate(s.title)));
            }
            let ids = |v: &[i64]| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
            tx.prepare_cached(
                "INSERT INTO schedules (customer_id, title, description, script_id, activate, schedule_type, \
                 start_date, end_date, start_time, hourly_interval, days_of_week_json, recurrence_date, \
                 recurrence_month, monthly_schedule_type, assets_json, asset_tags_json, excluded_assets_json, \
                 user_id, user_name, created_ms, next_fire_ms, recurrence_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, \
                 ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)",
            )?
            .execute(params![
                customer,
                s.title,
                s.description,
                s.script_id,
                s.activate,
                s.schedule_type,
                s.start_date,
                s.end_date,
                s.start_time,
                s.hourly_interval,
                s.days_of_week_json,
                s.recurrence_date,
                s.recurrence_month,
                s.monthly_schedule_type,
                ids(&s.targets.asset_ids),
                ids(&s.targets.tag_ids),
                ids(&s.targets.excluded_ids),
                caller.user_uuid,
                caller.display_name,
                now_ms,
                if s.activate { s.next_fire_ms } else { None },
                s.recurrence_json
            ])?;
            let id = tx.last_insert_rowid();
            log_activity(tx, &caller, now_ms, "schedule", &s.title, id, "CREATE", None)?;
            Ok(Ok(id))
        })
        .await
    }

    /// Active schedules due at or before `now_ms`, all customers.
    pub async fn car_due_schedules(&self, now_ms: i64) -> StoreResult<Vec<ScheduleRow>> {
        self.call(move |conn| {
            let rows = conn
                .prepare_cached(
                    "SELECT id, customer_id, title, script_id, recurrence_json, assets_json, asset_tags_json, \
                     excluded_assets_json, user_id, user_name, next_fire_ms FROM schedules \
                     WHERE next_fire_ms IS NOT NULL AND next_fire_ms <= ?1 ORDER BY next_fire_ms",
                )?
                .query_map(params![now_ms], |r| {
                    let list = |i: usize| -> rusqlite::Result<Vec<i64>> {
                        let text: String = r.get(i)?;
                        Ok(serde_json::from_str(&text).unwrap_or_default())
                    };
                    Ok(ScheduleRow {
                        id: r.get(0)?,
                        customer_id: r.get(1)?,
                        title: r.get(2)?,
                        script_id: r.get(3)?,
                        recurrence_json: r.get(4)?,
                        targets: Targets {
                            asset_ids: list(5)?,
                            tag_ids: list(6)?,
                            excluded_ids: list(7)?,
                        },
                        user_id: r.get(8)?,
                        user_name: r.get(9)?,
                        next_fire_ms: r.get(10)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    /// Fire a schedule at `fire_ms` (jobs as an execution would create, `Scheduled`), and set
    /// its next firing. A script no longer approved, or targets that reach no asset, skip
    /// the firing but still move the schedule on.
    pub async fn car_fire_schedule(
        &self,
        schedule: ScheduleRow,
        fire_ms: i64,
        next_ms: Option<i64>,
    ) -> StoreResult<bool> {
        self.transaction(move |tx| {
            // Another catch-up may have fired it meanwhile: fire each time once.
            let current: Option<Option<i64>> = tx
                .prepare_cached("SELECT next_fire_ms FROM schedules WHERE id = ?1")?
                .query_row(params![schedule.id], |r| r.get(0))
                .optional()?;
            if current != Some(Some(fire_ms)) {
                return Ok(false);
            }
            let script = script_by_id(tx, schedule.customer_id, schedule.script_id)?;
            let mut fired = false;
            if let Some(script) = script.filter(|s| s.status == "APPROVED")
                && let Ok(assets) = resolve_targets(tx, schedule.customer_id, &schedule.targets)?
                && !assets.is_empty()
            {
                create_job(tx, schedule.customer_id, &script, &assets, "Scheduled", Some(schedule.id), fire_ms)?;
                fired = true;
            }
            tx.prepare_cached(
                "UPDATE schedules SET last_executed_ms = CASE WHEN ?3 THEN ?2 ELSE last_executed_ms END, \
                 next_fire_ms = ?4 WHERE id = ?1",
            )?
            .execute(params![schedule.id, fire_ms, fired, next_ms])?;
            Ok(fired)
        })
        .await
    }

    /// Move asset jobs along at `now_ms`: queued ones start after `queue_ms`, running ones
    /// finish `run_ms` later with the outcome `decide` gives (script content, asset name,
    /// asset address). Returns how many changed.
    pub async fn car_advance_jobs(
        &self,
        now_ms: i64,
        queue_ms: i64,
        run_ms: i64,
        decide: fn(&[u8], &str, &str, &str) -> Outcome,
    ) -> StoreResult<usize> {
        self.transaction(move |tx| {
            let started = tx
                .prepare_cached(
                    "UPDATE asset_jobs SET status = 'IN_PROGRESS', started_ms = created_ms + ?2 \
                     WHERE end_ms IS NULL AND forced = 0 AND status = 'QUEUED' AND created_ms + ?2 <= ?1",
                )?
                .execute(params![now_ms, queue_ms])?;
            let due: Vec<(i64, i64, Vec<u8>, String, String, String)> = tx
                .prepare_cached(
                    "SELECT aj.id, aj.started_ms, coalesce(s.content, x''), j.script_title, \
                     coalesce(a.name, ''), coalesce(a.address, '') FROM asset_jobs aj \
                     JOIN script_jobs j ON j.id = aj.job_id \
                     LEFT JOIN scripts s ON s.id = j.script_id \
                     LEFT JOIN assets a ON a.id = aj.asset_id \
                     WHERE aj.end_ms IS NULL AND aj.forced = 0 AND aj.status = 'IN_PROGRESS' \
                     AND aj.started_ms + ?2 <= ?1",
                )?
                .query_map(params![now_ms, run_ms], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut finish = tx.prepare_cached(
                "UPDATE asset_jobs SET status = ?2, output_code = ?3, output_text = ?4, script_result = ?5, \
                 end_ms = ?6 WHERE id = ?1",
            )?;
            for (id, started_ms, content, title, name, address) in &due {
                let o = decide(content, title, name, address);
                finish.execute(params![id, o.status, o.code, o.text, o.result, started_ms + run_ms])?;
            }
            Ok(started + due.len())
        })
        .await
    }
}

impl Store {
    /// Force an asset job's status and output (control API). The engine leaves it alone
    /// afterwards. `false` when no such asset job exists.
    pub async fn car_force_outcome(
        &self,
        id: i64,
        outcome: Outcome,
        now_ms: i64,
    ) -> StoreResult<bool> {
        self.transaction(move |tx| {
            let is_final = !matches!(outcome.status, "QUEUED" | "IN_PROGRESS");
            let changed = tx
                .prepare_cached(
                    "UPDATE asset_jobs SET status = ?2, output_code = ?3, output_text = ?4, \
                     script_result = ?5, forced = 1, \
                     started_ms = CASE WHEN ?2 = 'QUEUED' THEN NULL ELSE coalesce(started_ms, ?6) END, \
                     end_ms = CASE WHEN ?7 THEN ?6 ELSE NULL END WHERE id = ?1",
                )?
                .execute(params![id, outcome.status, outcome.code, outcome.text, outcome.result, now_ms, is_final])?;
            Ok(changed > 0)
        })
        .await
    }
}

impl Store {
    /// When the engine next has something to do: the earliest schedule firing or asset-job
    /// transition; `None` when nothing is pending.
    pub async fn car_next_due(&self, queue_ms: i64, run_ms: i64) -> StoreResult<Option<i64>> {
        self.call(move |conn| {
            let jobs: Option<i64> = conn
                .prepare_cached(
                    "SELECT min(CASE WHEN status = 'QUEUED' THEN created_ms + ?1 ELSE started_ms + ?2 END) \
                     FROM asset_jobs WHERE end_ms IS NULL AND forced = 0",
                )?
                .query_row(params![queue_ms, run_ms], |r| r.get(0))?;
            let schedules: Option<i64> = conn
                .prepare_cached("SELECT min(next_fire_ms) FROM schedules WHERE next_fire_ms IS NOT NULL")?
                .query_row([], |r| r.get(0))?;
            Ok(match (jobs, schedules) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            })
        })
        .await
    }
}
