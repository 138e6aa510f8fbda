//! Shared application state: cheap to clone (handles and `Arc`s inside).

use std::sync::{Arc, RwLock};

use crate::auth::JwtKeys;
use crate::clock::Clock;
use crate::store::{Seed, Store, StoreError};

/// What every handler can reach.
#[derive(Clone, Debug)]
pub struct AppState {
    pub store: Store,
    pub clock: Clock,
    pub keys: Arc<JwtKeys>,
    pub info: Arc<ServerInfo>,
    /// Journal, faults, seeds: what `/_mock/` controls.
    pub control: Arc<crate::control::ControlState>,
    limits: Arc<RwLock<Limits>>,
}

/// What flags set and the control API may change at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    /// Shortest time between two executions of one script (CAR 429 inside it).
    pub execute_interval_ms: i64,
    /// Manual executions a customer may start in 24 hours.
    pub daily_executions: u64,
    /// Scripts a customer may hold (import and clone answer 429 past it).
    pub script_limit: u64,
    /// How long an asset job stays QUEUED.
    pub job_queue_ms: i64,
    /// How long an asset job runs before its final status.
    pub job_run_ms: i64,
    /// Largest CAR `pageSize`.
    pub max_page_size: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            execute_interval_ms: 60_000,
            daily_executions: 1_000,
            script_limit: 5_000,
            job_queue_ms: 5_000,
            job_run_ms: 30_000,
            max_page_size: 1_000,
        }
    }
}

/// Facts about this server, fixed at start.
#[derive(Debug, Clone)]
pub struct ServerInfo {
    /// The seed the store was loaded from (`default` for the embedded one).
    pub seed_name: String,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
}

impl Default for ServerInfo {
    fn default() -> Self {
        ServerInfo {
            seed_name: "default".to_owned(),
            max_body_bytes: 16 * 1024 * 1024,
        }
    }
}

impl AppState {
    pub fn new(store: Store, clock: Clock, keys: JwtKeys, info: ServerInfo) -> AppState {
        AppState {
            store,
            clock,
            keys: Arc::new(keys),
            info: Arc::new(info),
            control: Arc::new(crate::control::ControlState::default()),
            limits: Arc::new(RwLock::new(Limits::default())),
        }
    }

    /// The same state with other control settings (token, journal size).
    pub fn with_control(mut self, control: crate::control::ControlState) -> AppState {
        control.set_startup_seed(self.control.startup_seed());
        self.control = Arc::new(control);
        self
    }

    /// The limits in force now.
    pub fn limits(&self) -> Limits {
        *self.limits.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Replace the limits (flags at start, `PUT /_mock/config` at run time).
    pub fn set_limits(&self, limits: Limits) {
        *self.limits.write().unwrap_or_else(|e| e.into_inner()) = limits;
    }

    /// A fresh in-memory store loaded with `seed`, a random JWT secret and `clock`.
    pub async fn in_memory(seed: Seed, clock: Clock) -> Result<AppState, StoreError> {
        let store = Store::open_memory()?;
        let info = ServerInfo {
            seed_name: seed.name.clone(),
            ..ServerInfo::default()
        };
        store.load_seed(seed.clone()).await?;
        let state = AppState::new(store, clock, JwtKeys::random(), info);
        state.control.set_startup_seed(seed);
        Ok(state)
    }
}
