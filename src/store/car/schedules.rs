//! Schedules: store one, find the due ones, fire one; search, get, update, turn on and
//! off, delete (the scheduler APIs).

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use super::activities::{Activity, log_activity};
use super::jobs::{Targets, Trigger, create_job, resolve_targets};
use super::scripts::script_by_id;
use super::{Refusal, WriteResult};
use crate::auth::Caller;
use crate::page::Page;
use crate::store::columns::{by_name, columns};
use crate::store::search::{self, Search, Source};
use crate::store::{Store, StoreResult};

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

columns! {
    struct ScheduleCols {
        id, customer_id, title, script_id, recurrence_json, assets_json, asset_tags_json,
        excluded_assets_json, user_id, user_name, next_fire_ms,
    }
}

fn schedule_row(r: &Row<'_>, c: &ScheduleCols) -> rusqlite::Result<ScheduleRow> {
    let list = |at: usize| -> rusqlite::Result<Vec<i64>> {
        let text: String = r.get(at)?;
        Ok(serde_json::from_str(&text).unwrap_or_default())
    };
    Ok(ScheduleRow {
        id: r.get(c.id)?,
        customer_id: r.get(c.customer_id)?,
        title: r.get(c.title)?,
        script_id: r.get(c.script_id)?,
        recurrence_json: r.get(c.recurrence_json)?,
        targets: Targets {
            asset_ids: list(c.assets_json)?,
            tag_ids: list(c.asset_tags_json)?,
            excluded_ids: list(c.excluded_assets_json)?,
        },
        user_id: r.get(c.user_id)?,
        user_name: r.get(c.user_name)?,
        next_fire_ms: r.get(c.next_fire_ms)?,
    })
}

fn insert_schedule(
    tx: &Transaction<'_>,
    caller: &Caller,
    s: &NewSchedule,
    now_ms: i64,
) -> StoreResult<i64> {
    let ids = |v: &[i64]| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
    tx.prepare_cached(
        "INSERT INTO schedules (customer_id, title, description, script_id, activate, schedule_type, \
         start_date, end_date, start_time, hourly_interval, days_of_week_json, recurrence_date, \
         recurrence_month, monthly_schedule_type, assets_json, asset_tags_json, excluded_assets_json, \
         user_id, user_name, created_ms, next_fire_ms, recurrence_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, \
         ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)",
    )?
    .execute(params![
        caller.customer_id,
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
    Ok(tx.last_insert_rowid())
}

impl Store {
    /// Store a schedule.
    pub async fn car_create_schedule(
        &self,
        caller: std::sync::Arc<Caller>,
        s: NewSchedule,
        now_ms: i64,
    ) -> WriteResult<i64> {
        self.transaction(move |tx| {
            let customer = caller.customer_id;
            let script = tx
                .prepare_cached("SELECT 1 FROM scripts WHERE customer_id = ?1 AND id = ?2")?
                .query_row(params![customer, s.script_id], |_| Ok(()))
                .optional()?;
            if script.is_none() {
                return Ok(Err(Refusal::ScriptNotFound(s.script_id.to_string())));
            }
            let taken = tx
                .prepare_cached("SELECT 1 FROM schedules WHERE customer_id = ?1 AND title = ?2")?
                .query_row(params![customer, s.title], |_| Ok(()))
                .optional()?
                .is_some();
            if taken {
                return Ok(Err(Refusal::Duplicate(s.title)));
            }
            let id = insert_schedule(tx, &caller, &s, now_ms)?;
            log_schedule(tx, &caller, now_ms, (&s.title, id), "CREATE", None)?;
            Ok(Ok(id))
        })
        .await
    }

    /// Active schedules due at or before `now_ms`, all customers.
    pub async fn car_due_schedules(&self, now_ms: i64) -> StoreResult<Vec<ScheduleRow>> {
        self.read(move |conn| {
            let rows = conn
                .prepare_cached(
                    "SELECT id, customer_id, title, script_id, recurrence_json, assets_json, asset_tags_json, \
                     excluded_assets_json, user_id, user_name, next_fire_ms FROM schedules \
                     WHERE next_fire_ms IS NOT NULL AND next_fire_ms <= ?1 ORDER BY next_fire_ms",
                )?
                .query_map(params![now_ms], by_name(schedule_row))?
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
                .query_row(params![schedule.id], |r| r.get("next_fire_ms"))
                .optional()?;
            if current != Some(Some(fire_ms)) {
                return Ok(false);
            }
            let customer = schedule.customer_id;
            let script = script_by_id(tx, customer, schedule.script_id)?;
            let mut fired = false;
            if let Some(script) = script.filter(|s| s.status == "APPROVED")
                && let Ok(assets) = resolve_targets(tx, customer, &schedule.targets)?
                && !assets.is_empty()
            {
                let trigger = Trigger::Scheduled(schedule.id);
                create_job(tx, customer, &script, &assets, trigger, fire_ms)?;
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
}

/// A schedule as the scheduler APIs show it (search, get).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleDetailRow {
    pub id: i64,
    pub title: String,
    pub description: String,
    pub script_id: i64,
    /// The script's title now (`None` once the script is gone).
    pub script_title: Option<String>,
    pub activate: bool,
    pub schedule_type: String,
    pub start_date: String,
    pub end_date: String,
    pub start_time: String,
    pub hourly_interval: Option<i64>,
    pub days_of_week: Vec<String>,
    pub recurrence_date: Option<i64>,
    pub recurrence_month: Option<i64>,
    pub monthly_schedule_type: Option<String>,
    pub targets: Targets,
    pub user_id: String,
    pub user_name: String,
    pub created_ms: i64,
    pub last_executed_ms: i64,
    pub next_fire_ms: Option<i64>,
    /// When it fires, as the engine reads it.
    pub recurrence_json: String,
}

/// A change to a schedule in the activity log: its title and id, the action and comment.
fn log_schedule(
    tx: &rusqlite::Transaction<'_>,
    caller: &Caller,
    now_ms: i64,
    (title, id): (&str, i64),
    action: &'static str,
    comment: Option<&str>,
) -> StoreResult<()> {
    let activity = Activity {
        target_type: "schedule",
        target_name: title,
        target_id: id,
        action,
        comment,
    };
    log_activity(tx, caller, now_ms, &activity)
}

const DETAIL_COLS: &str = "sc.id, sc.title, sc.description, sc.script_id, \
    (SELECT s.title FROM scripts s WHERE s.id = sc.script_id) AS script_title, sc.activate, \
    sc.schedule_type, sc.start_date, sc.end_date, sc.start_time, sc.hourly_interval, \
    sc.days_of_week_json, sc.recurrence_date, sc.recurrence_month, sc.monthly_schedule_type, \
    sc.assets_json, sc.asset_tags_json, sc.excluded_assets_json, sc.user_id, sc.user_name, \
    sc.created_ms, sc.last_executed_ms, sc.next_fire_ms, sc.recurrence_json";

pub(in crate::store) const SOURCE: Source<'static> = Source {
    cols: DETAIL_COLS,
    from: "schedules sc",
    alias: "sc",
    key: "sc.id",
};

columns! {
    struct DetailCols {
        id, title, description, script_id, script_title, activate, schedule_type, start_date,
        end_date, start_time, hourly_interval, days_of_week_json, recurrence_date,
        recurrence_month, monthly_schedule_type, assets_json, asset_tags_json,
        excluded_assets_json, user_id, user_name, created_ms, last_executed_ms, next_fire_ms,
        recurrence_json,
    }
}

fn detail_row(r: &Row<'_>, c: &DetailCols) -> rusqlite::Result<ScheduleDetailRow> {
    let list = |at: usize| -> rusqlite::Result<Vec<i64>> {
        let text: String = r.get(at)?;
        Ok(serde_json::from_str(&text).unwrap_or_default())
    };
    let days: Option<String> = r.get(c.days_of_week_json)?;
    let days: Vec<u8> = days
        .and_then(|d| serde_json::from_str(&d).ok())
        .unwrap_or_default();
    Ok(ScheduleDetailRow {
        id: r.get(c.id)?,
        title: r.get(c.title)?,
        description: r.get(c.description)?,
        script_id: r.get(c.script_id)?,
        script_title: r.get(c.script_title)?,
        activate: r.get(c.activate)?,
        schedule_type: r.get(c.schedule_type)?,
        start_date: r.get(c.start_date)?,
        end_date: r.get(c.end_date)?,
        start_time: r.get(c.start_time)?,
        hourly_interval: r.get(c.hourly_interval)?,
        days_of_week: days.iter().map(u8::to_string).collect(),
        recurrence_date: r.get(c.recurrence_date)?,
        recurrence_month: r.get(c.recurrence_month)?,
        monthly_schedule_type: r.get(c.monthly_schedule_type)?,
        targets: Targets {
            asset_ids: list(c.assets_json)?,
            tag_ids: list(c.asset_tags_json)?,
            excluded_ids: list(c.excluded_assets_json)?,
        },
        user_id: r.get(c.user_id)?,
        user_name: r.get(c.user_name)?,
        created_ms: r.get(c.created_ms)?,
        last_executed_ms: r.get(c.last_executed_ms)?,
        next_fire_ms: r.get(c.next_fire_ms)?,
        recurrence_json: r.get(c.recurrence_json)?,
    })
}

fn schedule_by_id(
    conn: &Connection,
    customer_id: i64,
    id: i64,
) -> StoreResult<Option<ScheduleDetailRow>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {DETAIL_COLS} FROM schedules sc WHERE sc.customer_id = ?1 AND sc.id = ?2"
        ))?
        .query_row(params![customer_id, id], by_name(detail_row))
        .optional()?)
}

/// What activate and deactivate do to a schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// Fire from `next_fire_ms` on.
    On {
        next_fire_ms: i64,
    },
    Off,
}

impl Store {
    /// A customer's schedules, searched.
    pub async fn car_schedules(
        &self,
        customer_id: i64,
        q: Search,
    ) -> StoreResult<Page<ScheduleDetailRow>> {
        self.read(move |conn| search::run(conn, &SOURCE, customer_id, &q, by_name(detail_row)))
            .await
    }

    /// A customer's schedule by id.
    pub async fn car_schedule(
        &self,
        customer_id: i64,
        id: i64,
    ) -> StoreResult<Option<ScheduleDetailRow>> {
        self.read(move |conn| schedule_by_id(conn, customer_id, id))
            .await
    }

    /// Replace a schedule's definition (update): as create checks it, under its id. Its
    /// title may stay its own; another schedule's title is a [`Refusal::Duplicate`].
    pub async fn car_update_schedule(
        &self,
        caller: std::sync::Arc<Caller>,
        id: i64,
        s: NewSchedule,
        now_ms: i64,
    ) -> WriteResult<()> {
        self.transaction(move |tx| {
            let customer = caller.customer_id;
            if schedule_by_id(tx, customer, id)?.is_none() {
                return Ok(Err(Refusal::ScheduleNotFound(id.to_string())));
            }
            if script_by_id(tx, customer, s.script_id)?.is_none() {
                return Ok(Err(Refusal::ScriptNotFound(s.script_id.to_string())));
            }
            let taken = tx
                .prepare_cached(
                    "SELECT 1 FROM schedules WHERE customer_id = ?1 AND title = ?2 AND id <> ?3",
                )?
                .query_row(params![customer, s.title, id], |_| Ok(()))
                .optional()?
                .is_some();
            if taken {
                return Ok(Err(Refusal::Duplicate(s.title)));
            }
            let ids = |v: &[i64]| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
            tx.prepare_cached(
                "UPDATE schedules SET title = ?3, description = ?4, script_id = ?5, activate = ?6, \
                 schedule_type = ?7, start_date = ?8, end_date = ?9, start_time = ?10, \
                 hourly_interval = ?11, days_of_week_json = ?12, recurrence_date = ?13, \
                 recurrence_month = ?14, monthly_schedule_type = ?15, assets_json = ?16, \
                 asset_tags_json = ?17, excluded_assets_json = ?18, next_fire_ms = ?19, \
                 recurrence_json = ?20 WHERE customer_id = ?1 AND id = ?2",
            )?
            .execute(params![
                customer,
                id,
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
                if s.activate { s.next_fire_ms } else { None },
                s.recurrence_json
            ])?;
            log_schedule(tx, &caller, now_ms, (&s.title, id), "MODIFY", None)?;
            Ok(Ok(()))
        })
        .await
    }

    /// Turn a schedule on (from its next firing) or off (it fires no more until turned on).
    pub async fn car_activate_schedule(
        &self,
        caller: std::sync::Arc<Caller>,
        id: i64,
        to: Activation,
        now_ms: i64,
    ) -> WriteResult<()> {
        self.transaction(move |tx| {
            let Some(row) = schedule_by_id(tx, caller.customer_id, id)? else {
                return Ok(Err(Refusal::ScheduleNotFound(id.to_string())));
            };
            let (activate, next, comment) = match to {
                Activation::On { next_fire_ms } => (true, Some(next_fire_ms), "Activated"),
                Activation::Off => (false, None, "Deactivated"),
            };
            tx.prepare_cached(
                "UPDATE schedules SET activate = ?3, next_fire_ms = ?4 \
                 WHERE customer_id = ?1 AND id = ?2",
            )?
            .execute(params![caller.customer_id, id, activate, next])?;
            log_schedule(
                tx,
                &caller,
                now_ms,
                (&row.title, id),
                "MODIFY",
                Some(comment),
            )?;
            Ok(Ok(()))
        })
        .await
    }

    /// Delete a schedule; the jobs it made stay (a job outlives its schedule).
    pub async fn car_delete_schedule(
        &self,
        caller: std::sync::Arc<Caller>,
        id: i64,
        now_ms: i64,
    ) -> WriteResult<()> {
        self.transaction(move |tx| {
            let Some(row) = schedule_by_id(tx, caller.customer_id, id)? else {
                return Ok(Err(Refusal::ScheduleNotFound(id.to_string())));
            };
            tx.prepare_cached("DELETE FROM schedules WHERE customer_id = ?1 AND id = ?2")?
                .execute(params![caller.customer_id, id])?;
            log_schedule(tx, &caller, now_ms, (&row.title, id), "DELETE", None)?;
            Ok(Ok(()))
        })
        .await
    }
}
