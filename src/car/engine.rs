//! The living part of CAR: schedules fire and asset jobs progress as the store clock
//! moves. Nothing runs in the background; [`catch_up`] brings the store up to "now" before
//! anything reads jobs, schedules or scripts, so moving the clock (tests, `/_mock/clock`)
//! has its effect at once and no test needs to sleep.
//!
//! Asset jobs: `QUEUED` for `job_queue_ms`, then `IN_PROGRESS` for `job_run_ms`, then a final
//! status. The outcome is deterministic: a script whose content contains
//! `qualys-mock:fail` fails (code 1), one with `qualys-mock:timeout` times out (code 124),
//! any other succeeds (code 0); the result text names the script and the asset.

use std::marker::PhantomData;

use axum::extract::Request;
use axum::response::IntoResponse;

use super::recurrence::Recurrence;
use crate::guard::{Checked, Guard};
use crate::state::AppState;
use crate::store::car::Outcome;
use crate::store::{StoreError, StoreResult};

/// Firings handled in one catch-up at most.
const MAX_FIRINGS: usize = 100_000;

/// The misfire policy: when the clock jumps past several firings of a schedule, it fires
/// the first this many of them (each at its own time); the rest of the jump is skipped and
/// the schedule goes on with its first firing after the new time. So one clock move creates
/// at most this many jobs per schedule, however far it jumps.
pub(crate) const MAX_MISSED_FIRINGS: usize = 10;

/// Route guard, the one catch-up of every route that reads CAR state (`/sm/v1`, and the
/// control routes that read jobs): the engine catches up with the clock before the request
/// is extracted or handled; a store error answers the surface's own error `E`. When the
/// store has kept that nothing is due yet (most requests), the request goes straight on.
pub(crate) struct CatchUpFirst<E> {
    state: AppState,
    error: PhantomData<fn() -> E>,
}

impl<E> CatchUpFirst<E> {
    pub(crate) fn new(state: &AppState) -> CatchUpFirst<E> {
        CatchUpFirst {
            state: state.clone(),
            error: PhantomData,
        }
    }
}

impl<E> Clone for CatchUpFirst<E> {
    fn clone(&self) -> Self {
        CatchUpFirst::new(&self.state)
    }
}

impl<E: From<StoreError> + IntoResponse + 'static> Guard for CatchUpFirst<E> {
    fn check(&self, request: Request) -> Checked {
        if nothing_due(&self.state) {
            return Checked::Pass(request);
        }
        let state = self.state.clone();
        Checked::Wait(Box::pin(async move {
            match catch_up(&state).await {
                Ok(()) => Ok(request),
                Err(e) => Err(E::from(e).into_response()),
            }
        }))
    }
}

/// Whether the store has kept, since its last write, that the engine has nothing to do
/// before the clock's now (false when it has not kept it, or something is due).
fn nothing_due(state: &AppState) -> bool {
    let limits = state.limits();
    match state
        .store
        .car_next_due_kept(limits.job_queue_ms, limits.job_run_ms)
    {
        Some(due) => due.is_none_or(|due| due > state.clock.now_ms()),
        None => false,
    }
}

/// Fire what is due and move jobs along, up to the clock's now.
pub(crate) async fn catch_up(state: &AppState) -> StoreResult<()> {
    let now = state.clock.now_ms();
    let limits = state.limits();
    // Most requests find nothing due: the store keeps when the engine next has work until
    // the next write, so this touches no connection.
    let due = state
        .store
        .car_next_due(limits.job_queue_ms, limits.job_run_ms)
        .await?;
    if due.is_none_or(|due| due > now) {
        return Ok(());
    }
    let mut fired = 0;
    while fired < MAX_FIRINGS {
        let due = state.store.car_due_schedules(now).await?;
        if due.is_empty() {
            break;
        }
        for schedule in due {
            let Some(first) = schedule.next_fire_ms else {
                continue;
            };
            let recurrence = serde_json::from_str::<Recurrence>(&schedule.recurrence_json).ok();
            let after = |at: i64| recurrence.as_ref().and_then(|r| r.next_fire(at + 1));
            // The firings due by now that are kept, then the first one after now.
            let mut kept = vec![first];
            let mut next = after(first);
            while let Some(at) =
                next.filter(|at| *at <= now && *at > *kept.last().unwrap_or(&first))
            {
                if kept.len() < MAX_MISSED_FIRINGS {
                    kept.push(at);
                }
                next = after(at);
            }
            for (i, at) in kept.iter().enumerate() {
                let then = kept.get(i + 1).copied().or(next);
                state
                    .store
                    .car_fire_schedule(schedule.clone(), *at, then)
                    .await?;
                fired += 1;
            }
        }
    }
    state
        .store
        .car_advance_jobs(now, limits.job_queue_ms, limits.job_run_ms, outcome)
        .await?;
    Ok(())
}

/// The deterministic outcome of running `content` on an asset.
pub(crate) fn outcome(content: &[u8], title: &str, asset: &str, address: &str) -> Outcome {
    let has = |marker: &[u8]| content.windows(marker.len()).any(|w| w == marker);
    let (status, code, text) = if has(b"qualys-mock:fail") {
        ("FAILED", 1, "Script exited with a non-zero code")
    } else if has(b"qualys-mock:timeout") {
        (
            "TIMED_OUT",
            124,
            "Script did not finish within the threshold",
        )
    } else {
        ("SUCCESS", 0, "SUCCESS")
    };
    Outcome {
        status,
        code,
        text: text.to_owned(),
        result: format!("{title} on {asset} ({address}): exit code {code}\n").into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::outcome;

    #[test]
    fn outcomes_follow_the_markers() {
        assert_eq!(outcome(b"echo hi", "t", "a", "1.2.3.4").status, "SUCCESS");
        let failed = outcome(b"# qualys-mock:fail\nexit 1", "t", "a", "1.2.3.4");
        assert_eq!((failed.status, failed.code), ("FAILED", 1));
        assert_eq!(
            outcome(b"qualys-mock:timeout", "t", "a", "b").status,
            "TIMED_OUT"
        );
        assert_eq!(
            String::from_utf8(outcome(b"", "Disk", "web1", "10.0.0.1").result).unwrap(),
            "Disk on web1 (10.0.0.1): exit code 0\n"
        );
    }
}
