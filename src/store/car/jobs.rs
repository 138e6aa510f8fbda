//! Jobs and asset jobs: searches, and an execution's checks and records.

use std::collections::BTreeSet;

use rusqlite::{OptionalExtension, Row, Transaction, params};

use super::activities::{Activity, log_activity};
use super::assets::{AssetRow, asset_by_id};
use super::scripts::{ScriptRow, script_by_id};
use super::{Refusal, WriteResult};
use crate::auth::Caller;
use crate::page::Page;
use crate::store::columns::{by_name, columns};
use crate::store::search::{self, Search, Source};
use crate::store::{Store, StoreResult};

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

/// A job's columns, under their own names (an asset job's are prefixed `aj_`).
macro_rules! job_cols {
    () => {
        "j.id, j.script_id, j.schedule_id, j.correlation_uuid, j.execution_type, j.title, \
         j.is_test, j.script_title, j.script_type, j.platform, j.severity, j.threshold, \
         j.category_id, j.category_name, j.created_ms, j.updated_ms"
    };
}

/// An asset job's columns (`aj_…`) and its job's; `$result` is the result column or `NULL`.
macro_rules! asset_job_cols {
    ($result:literal) => {
        concat!(
            "aj.id AS aj_id, aj.status AS aj_status, aj.output_code AS aj_output_code, \
             aj.output_text AS aj_output_text, ",
            $result,
            " AS aj_script_result, aj.manifest_id AS aj_manifest_id, aj.is_test AS aj_is_test, \
             aj.created_ms AS aj_created_ms, aj.end_ms AS aj_end_ms, aj.asset_id AS aj_asset_id, ",
            job_cols!()
        )
    };
}

pub(in crate::store) const SOURCE: Source<'static> = Source {
    cols: job_cols!(),
    from: "script_jobs j",
    alias: "j",
    key: "j.id",
};

/// Asset jobs without their results (up to 1 MB each: read only when asked for).
pub(in crate::store) const ASSET_JOB_SOURCE: Source<'static> = Source {
    cols: asset_job_cols!("NULL"),
    from: "asset_jobs aj JOIN script_jobs j ON j.id = aj.job_id",
    alias: "aj",
    key: "aj.id",
};

const ASSET_JOB_WITH_RESULT_SOURCE: Source<'static> = Source {
    cols: asset_job_cols!("aj.script_result"),
    ..ASSET_JOB_SOURCE
};

columns! {
    struct JobCols {
        id, script_id, schedule_id, correlation_uuid, execution_type, title, is_test,
        script_title, script_type, platform, severity, threshold, category_id, category_name,
        created_ms, updated_ms,
    }
}

fn job_row(r: &Row<'_>, c: &JobCols) -> rusqlite::Result<JobRow> {
    Ok(JobRow {
        id: r.get(c.id)?,
        script_id: r.get(c.script_id)?,
        schedule_id: r.get(c.schedule_id)?,
        correlation_uuid: r.get(c.correlation_uuid)?,
        execution_type: r.get(c.execution_type)?,
        title: r.get(c.title)?,
        is_test: r.get(c.is_test)?,
        script_title: r.get(c.script_title)?,
        script_type: r.get(c.script_type)?,
        platform: r.get(c.platform)?,
        severity: r.get(c.severity)?,
        threshold: r.get(c.threshold)?,
        category_id: r.get(c.category_id)?,
        category_name: r.get(c.category_name)?,
        created_ms: r.get(c.created_ms)?,
        updated_ms: r.get(c.updated_ms)?,
    })
}

columns! {
    struct AssetJobCols {
        aj_id, aj_status, aj_output_code, aj_output_text, aj_script_result, aj_manifest_id,
        aj_is_test, aj_created_ms, aj_end_ms, aj_asset_id,
    }
}

/// An asset job (without its asset) and its asset's id.
fn asset_job_row(
    r: &Row<'_>,
    (c, job): &(AssetJobCols, JobCols),
) -> rusqlite::Result<(AssetJobRow, i64)> {
    Ok((
        AssetJobRow {
            id: r.get(c.aj_id)?,
            status: r.get(c.aj_status)?,
            output_code: r.get(c.aj_output_code)?,
            output_text: r.get(c.aj_output_text)?,
            script_result: r.get(c.aj_script_result)?,
            manifest_id: r.get(c.aj_manifest_id)?,
            is_test: r.get(c.aj_is_test)?,
            created_ms: r.get(c.aj_created_ms)?,
            end_ms: r.get(c.aj_end_ms)?,
            job: job_row(r, job)?,
            asset: None,
        },
        r.get(c.aj_asset_id)?,
    ))
}

/// The customer's assets an execution reaches: ids ∪ tagged − excluded.
pub(super) fn resolve_targets(
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
            missing.push(*id);
        }
    }
    if !missing.is_empty() {
        return Ok(Err(Refusal::AssetsNotFound(missing)));
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
            missing.push(*tag);
            continue;
        }
        for id in members.query_map(params![tag, customer_id], |r| r.get::<_, i64>("asset_id"))? {
            set.insert(id?);
        }
    }
    if !missing.is_empty() {
        return Ok(Err(Refusal::TagsNotFound(missing)));
    }
    for id in &t.excluded_ids {
        set.remove(id);
    }
    Ok(Ok(set.into_iter().collect()))
}

/// How a job comes to be: by hand, or by a schedule firing.
pub(super) enum Trigger {
    Manual,
    Scheduled(i64),
}

/// Create a job and its asset jobs for `script` on `targets` at `now_ms`; the job's
/// correlation id.
pub(super) fn create_job(
    tx: &Transaction<'_>,
    customer_id: i64,
    script: &ScriptRow,
    targets: &[i64],
    trigger: Trigger,
    now_ms: i64,
) -> StoreResult<String> {
    let (execution_type, schedule_id) = match trigger {
        Trigger::Manual => ("Manual", None),
        Trigger::Scheduled(id) => ("Scheduled", Some(id)),
    };
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
    Ok(correlation)
}

/// Whether `script` may run now: approved, not within the execute interval, and under the
/// customer's daily limit.
fn may_execute(
    tx: &Transaction<'_>,
    customer_id: i64,
    script: &ScriptRow,
    limits: ExecuteLimits,
    now_ms: i64,
) -> StoreResult<Result<(), Refusal>> {
    match script.status.as_str() {
        "APPROVED" => {}
        "DEPRECATED" => return Ok(Err(Refusal::Deprecated)),
        other => return Ok(Err(Refusal::NotApproved(other.to_owned()))),
    }
    if script.last_executed_ms > 0 && now_ms - script.last_executed_ms < limits.interval_ms {
        return Ok(Err(Refusal::TooSoon {
            retry_after_ms: script.last_executed_ms + limits.interval_ms - now_ms,
        }));
    }
    let day_ago = now_ms - 86_400_000;
    let (count, oldest): (i64, Option<i64>) = tx
        .prepare_cached(
            "SELECT count(*) AS n, min(created_ms) AS oldest FROM script_jobs WHERE customer_id = ?1 \
             AND execution_type = 'Manual' AND created_ms > ?2",
        )?
        .query_row(params![customer_id, day_ago], |r| {
            Ok((r.get("n")?, r.get("oldest")?))
        })?;
    if u64::try_from(count).unwrap_or(0) >= limits.daily {
        return Ok(Err(Refusal::DailyLimit {
            limit: limits.daily,
            retry_after_ms: oldest.map_or(0, |o| o + 86_400_000 - now_ms),
        }));
    }
    Ok(Ok(()))
}

impl Store {
    pub async fn car_jobs(&self, customer_id: i64, q: Search) -> StoreResult<Page<JobRow>> {
        self.search(q.filter.lookup, move |conn| {
            search::run(conn, &SOURCE, customer_id, &q, by_name(job_row))
        })
        .await
    }

    pub async fn car_asset_jobs(
        &self,
        customer_id: i64,
        q: Search,
        with_result: bool,
    ) -> StoreResult<Page<AssetJobRow>> {
        self.search(q.filter.lookup, move |conn| {
            let source = if with_result {
                &ASSET_JOB_WITH_RESULT_SOURCE
            } else {
                &ASSET_JOB_SOURCE
            };
            search::run(conn, source, customer_id, &q, by_name(asset_job_row))?.try_map(
                |(mut row, asset_id)| {
                    row.asset =
                        asset_by_id(conn, asset_id)?.filter(|a| a.customer_id == customer_id);
                    Ok(row)
                },
            )
        })
        .await
    }

    /// Execute a script on demand: checks, job and asset jobs, activity — one transaction.
    pub async fn car_execute(
        &self,
        caller: std::sync::Arc<Caller>,
        script_id: i64,
        targets: Targets,
        limits: ExecuteLimits,
        clock: crate::clock::Clock,
    ) -> WriteResult<String> {
        self.transaction(move |tx| {
            // "Now" is read once the store is ours: a request that waited for the store
            // must not count its wait against the execute interval.
            let now_ms = clock.now_ms();
            let customer = caller.customer_id;
            let Some(script) = script_by_id(tx, customer, script_id)? else {
                return Ok(Err(Refusal::ScriptNotFound(script_id.to_string())));
            };
            if let Err(refusal) = may_execute(tx, customer, &script, limits, now_ms)? {
                return Ok(Err(refusal));
            }
            let assets = match resolve_targets(tx, customer, &targets)? {
                Ok(a) => a,
                Err(refusal) => return Ok(Err(refusal)),
            };
            if assets.is_empty() {
                return Ok(Err(Refusal::NoTargets));
            }
            let correlation = create_job(tx, customer, &script, &assets, Trigger::Manual, now_ms)?;
            let activity = Activity {
                target_type: "script",
                target_name: &script.title,
                target_id: script.id,
                action: "EXECUTE",
                comment: None,
            };
            log_activity(tx, &caller, now_ms, &activity)?;
            Ok(Ok(correlation))
        })
        .await
    }
}
