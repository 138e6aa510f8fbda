//! Shared application state: cheap to clone (handles and `Arc`s inside).

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

pub mod faults;
pub mod journal;

use faults::Faults;
use journal::Journal;

use crate::auth::JwtKeys;
use crate::clock::Clock;
use crate::store::{Caller, Store, StoreError};

/// What every handler can reach.
#[derive(Clone, Debug)]
pub struct AppState {
    pub store: Store,
    pub clock: Clock,
    pub keys: Arc<JwtKeys>,
    pub info: Arc<ServerInfo>,
    /// Journal, faults, token: what `/_mock/` controls.
    pub control: Arc<ControlState>,
    limits: Arc<RwLock<Limits>>,
    /// The limits the server started with, which a full reset restores.
    start_limits: Arc<RwLock<Limits>>,
    caches: Arc<Caches>,
}

/// What is kept in memory to spare the store: authenticated callers, and when the job
/// engine next has work. Cleared whenever the control API changes data.
#[derive(Debug, Default)]
struct Caches {
    /// CAR: user id → caller.
    by_user_id: Mutex<HashMap<i64, Caller>>,
    /// CM: (username, password) → caller, for credentials that were right.
    by_login: Mutex<HashMap<(String, String), Caller>>,
    /// Bumped by every data change: a caller looked up before a change is not cached
    /// after it (a lookup that raced a reset would keep a removed user alive).
    accounts_generation: AtomicU64,
    /// The engine has nothing to do before this time (epoch ms); `i64::MIN`: look.
    engine_due: AtomicI64,
    /// Bumped by every change that may give the engine work.
    engine_generation: AtomicU64,
    /// Rendered CM alert records, by (alert id, format): alerts and profiles never change
    /// once stored, so a rendering stays true until the data is reset or reseeded.
    records: Mutex<HashMap<(i64, bool), Arc<str>>>,
}

/// Rendered records kept at most (about 1.5 KB each).
const MAX_CACHED_RECORDS: usize = 20_000;

/// What flags set and the control API may change at run time.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    /// Shortest time between two executions of one script (CAR 429 inside it).
    pub execute_interval_ms: i64,
    /// Manual executions a customer may start in 24 hours.
    pub daily_executions: u64,
    /// Scripts a customer may hold (create, import and clone answer 429 past it).
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
    /// What the request bodies in flight may hold together.
    pub body_budget: crate::http::BodyBudget,
    /// Refuse CAR JSON bodies with keys their endpoint does not take (`--strict`) rather
    /// than ignore them.
    pub strict: bool,
}

impl Default for ServerInfo {
    fn default() -> Self {
        ServerInfo {
            seed_name: "default".to_owned(),
            max_body_bytes: 16 * 1024 * 1024,
            body_budget: crate::http::BodyBudget::default(),
            strict: false,
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
            control: Arc::new(ControlState::default()),
            limits: Arc::new(RwLock::new(Limits::default())),
            start_limits: Arc::new(RwLock::new(Limits::default())),
            caches: Arc::new(Caches {
                engine_due: AtomicI64::new(i64::MIN),
                ..Caches::default()
            }),
        }
    }

    /// A caller by user id, from the cache or the store.
    pub async fn caller_by_user_id(&self, id: i64) -> Result<Option<Caller>, StoreError> {
        if let Some(c) = self
            .caches
            .by_user_id
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
        {
            return Ok(Some(c.clone()));
        }
        let generation = self.caches.accounts_generation.load(Ordering::SeqCst);
        let found = self.store.caller_by_user_id(id).await?;
        if let Some(c) = &found {
            let mut cached = self
                .caches
                .by_user_id
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if self.caches.accounts_generation.load(Ordering::SeqCst) == generation {
                cached.insert(id, c.clone());
            }
        }
        Ok(found)
    }

    /// A caller by login, from the cache or the store.
    pub async fn authenticate(
        &self,
        user: &str,
        password: &str,
    ) -> Result<Option<Caller>, StoreError> {
        let key = (user.to_owned(), password.to_owned());
        if let Some(c) = self
            .caches
            .by_login
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return Ok(Some(c.clone()));
        }
        let generation = self.caches.accounts_generation.load(Ordering::SeqCst);
        let found = self.store.authenticate(user, password).await?;
        if let Some(c) = &found {
            let mut cached = self
                .caches
                .by_login
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if self.caches.accounts_generation.load(Ordering::SeqCst) == generation {
                cached.insert(key, c.clone());
            }
        }
        Ok(found)
    }

    /// A rendered alert record (`json`: the JSON rendering, else XML), if cached.
    pub fn cached_record(&self, id: i64, json: bool) -> Option<Arc<str>> {
        self.caches
            .records
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(id, json))
            .cloned()
    }

    /// Keep a rendered alert record (the cache starts over when full).
    pub fn cache_record(&self, id: i64, json: bool, text: Arc<str>) {
        let mut records = self
            .caches
            .records
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if records.len() >= MAX_CACHED_RECORDS {
            records.clear();
        }
        records.insert((id, json), text);
    }

    /// Data changed under the caches (reset, new customers, seeds, forced outcomes).
    pub fn data_changed(&self) {
        self.caches
            .accounts_generation
            .fetch_add(1, Ordering::SeqCst);
        self.caches
            .records
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.caches
            .by_user_id
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.caches
            .by_login
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.engine_work_added();
    }

    /// Something may be due for the engine (a job created, a schedule stored, ...).
    pub fn engine_work_added(&self) {
        self.caches.engine_generation.fetch_add(1, Ordering::SeqCst);
        self.caches.engine_due.store(i64::MIN, Ordering::SeqCst);
    }

    /// Whether the engine may have work at `now_ms`, and the generation seen.
    pub fn engine_check(&self, now_ms: i64) -> Option<u64> {
        let generation = self.caches.engine_generation.load(Ordering::SeqCst);
        (now_ms >= self.caches.engine_due.load(Ordering::SeqCst)).then_some(generation)
    }

    /// After a catch-up that began at `generation`: nothing is due before `next_ms`.
    pub fn engine_idle_until(&self, generation: u64, next_ms: Option<i64>) {
        self.caches
            .engine_due
            .store(next_ms.unwrap_or(i64::MAX), Ordering::SeqCst);
        // A change that raced the catch-up wins: look again next time.
        if self.caches.engine_generation.load(Ordering::SeqCst) != generation {
            self.caches.engine_due.store(i64::MIN, Ordering::SeqCst);
        }
    }

    /// The same state with other control settings (token, journal size).
    pub fn with_control(mut self, control: ControlState) -> AppState {
        self.control = Arc::new(control);
        self
    }

    /// The limits in force now.
    pub fn limits(&self) -> Limits {
        *self.limits.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The limits to start with (flags, a builder's): in force now, and what a full reset
    /// restores.
    pub fn set_limits(&self, limits: Limits) {
        *self.start_limits.write().unwrap_or_else(|e| e.into_inner()) = limits;
        self.change_limits(limits);
    }

    /// Change the limits in force (`PUT /_mock/config`), until a full reset.
    pub fn change_limits(&self, limits: Limits) {
        *self.limits.write().unwrap_or_else(|e| e.into_inner()) = limits;
        self.engine_work_added();
    }

    /// Back to the limits the server started with.
    pub fn restore_limits(&self) {
        let start = *self.start_limits.read().unwrap_or_else(|e| e.into_inner());
        self.change_limits(start);
    }
}

/// Control state shared by the handlers and middleware.
#[derive(Debug)]
pub struct ControlState {
    pub journal: Journal,
    pub faults: Faults,
    pub token: Option<String>,
}

impl ControlState {
    pub fn new(
        token: Option<String>,
        journal_size: usize,
        journal_body_bytes: usize,
    ) -> ControlState {
        ControlState {
            journal: Journal::new(journal_size, journal_body_bytes),
            faults: Faults::default(),
            token,
        }
    }
}

impl Default for ControlState {
    fn default() -> Self {
        ControlState::new(None, 1000, 4096)
    }
}
