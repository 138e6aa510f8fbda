//! The job engine's queries: asset jobs moving along, forced outcomes, the next due time.

use rusqlite::params;

use crate::store::{Store, StoreResult};

/// The outcome the engine gives a finished asset job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub status: &'static str,
    pub code: i64,
    pub text: String,
    pub result: Vec<u8>,
}

/// A running asset job that is due to finish, with what deciding its outcome reads.
struct Due {
    id: i64,
    started_ms: i64,
    content: Vec<u8>,
    script_title: String,
    asset_name: String,
    asset_address: String,
}

impl Store {
    /// Move asset jobs along at `now_ms`: queued ones start after `queue_ms`, running ones
    /// finish `run_ms` later with the outcome `decide` gives (script content, script title,
    /// asset name, asset address). Returns how many changed.
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
            let due: Vec<Due> = tx
                .prepare_cached(
                    "SELECT aj.id, aj.started_ms, coalesce(s.content, x'') AS content, j.script_title, \
                     coalesce(a.name, '') AS asset_name, coalesce(a.address, '') AS asset_address \
                     FROM asset_jobs aj \
                     JOIN script_jobs j ON j.id = aj.job_id \
                     LEFT JOIN scripts s ON s.id = j.script_id \
                     LEFT JOIN assets a ON a.id = aj.asset_id \
                     WHERE aj.end_ms IS NULL AND aj.forced = 0 AND aj.status = 'IN_PROGRESS' \
                     AND aj.started_ms + ?2 <= ?1",
                )?
                .query_map(params![now_ms, run_ms], |r| {
                    Ok(Due {
                        id: r.get("id")?,
                        started_ms: r.get("started_ms")?,
                        content: r.get("content")?,
                        script_title: r.get("script_title")?,
                        asset_name: r.get("asset_name")?,
                        asset_address: r.get("asset_address")?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut finish = tx.prepare_cached(
                "UPDATE asset_jobs SET status = ?2, output_code = ?3, output_text = ?4, script_result = ?5, \
                 end_ms = ?6 WHERE id = ?1",
            )?;
            for d in &due {
                let o = decide(&d.content, &d.script_title, &d.asset_name, &d.asset_address);
                finish.execute(params![d.id, o.status, o.code, o.text, o.result, d.started_ms + run_ms])?;
            }
            Ok(started + due.len())
        })
        .await
    }

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

    /// When the engine next has something to do: the earliest schedule firing or asset-job
    /// transition; `None` when nothing is pending. Kept until the next write (which may give
    /// the engine work: a job, a schedule, a reset), so most calls touch no connection.
    pub async fn car_next_due(&self, queue_ms: i64, run_ms: i64) -> StoreResult<Option<i64>> {
        let key = (queue_ms, run_ms);
        if let Some(due) = self.caches.next_due.get(&key, self.generation()) {
            return Ok(due);
        }
        let seen = self.generation();
        let due = self.read_next_due(queue_ms, run_ms).await?;
        self.caches.next_due.keep(key, due, seen, self.generation());
        Ok(due)
    }

    /// [`Store::car_next_due`] if the store has kept it since its last write, without a
    /// read; `None` when it has not.
    pub fn car_next_due_kept(&self, queue_ms: i64, run_ms: i64) -> Option<Option<i64>> {
        self.caches
            .next_due
            .get(&(queue_ms, run_ms), self.generation())
    }

    async fn read_next_due(&self, queue_ms: i64, run_ms: i64) -> StoreResult<Option<i64>> {
        self.read(move |conn| {
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
