//! The CAR engine over a whole server state: what it learns of new work, from the store.

use crate::car::engine::catch_up;
use crate::clock::Clock;
use crate::store::Seed;
use crate::store::car::{ExecuteLimits, Targets};

/// The engine learns of new work from the store's write itself: a job made by a write
/// that nobody followed with a call to the engine still moves along.
#[tokio::test]
async fn a_job_made_after_the_engine_went_idle_moves_along_with_no_call_to_wake_it() {
    let start = 1_767_225_600_000;
    let config = crate::config::ServerConfig::default();
    let state = crate::server::build_state(
        &config,
        Some(Seed::embedded().unwrap()),
        Some(Clock::frozen_at(start)),
    )
    .await
    .unwrap();
    catch_up(&state).await.unwrap();
    let limits = state.limits();
    let (queue, run) = (limits.job_queue_ms, limits.job_run_ms);
    assert_eq!(state.store.car_next_due(queue, run).await.unwrap(), None);
    let caller = state
        .store
        .authenticate("acme_ss2", "passwd")
        .await
        .unwrap()
        .unwrap();
    state
        .store
        .car_execute(
            caller,
            72648,
            Targets {
                asset_ids: vec![20452610],
                tag_ids: Vec::new(),
                excluded_ids: Vec::new(),
            },
            ExecuteLimits {
                interval_ms: 0,
                daily: 1_000,
            },
            state.clock.clone(),
        )
        .await
        .unwrap()
        .unwrap();
    state.clock.advance(queue + run);
    catch_up(&state).await.unwrap();
    // The job ran and finished: nothing is pending any more.
    assert_eq!(state.store.car_next_due(queue, run).await.unwrap(), None);
}
