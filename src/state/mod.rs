//! Shared application state: cheap to clone (handles and `Arc`s inside).

use std::sync::{Arc, RwLock};

pub mod faults;
pub mod journal;

use faults::Faults;
use journal::Journal;

use crate::auth::JwtKeys;
use crate::clock::Clock;
use crate::config::Limits;
use crate::store::Store;

/// What every handler can reach: one reference count, so the clone axum makes for each
/// layer and handler a request passes is one atomic increment.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Shared>);

/// The state's parts, reached through [`AppState`].
#[derive(Debug)]
pub struct Shared {
    pub(crate) store: Store,
    pub(crate) clock: Clock,
    pub(crate) keys: JwtKeys,
    pub(crate) info: ServerInfo,
    /// Journal, faults, token: what `/_mock/` controls.
    pub(crate) control: ControlState,
    limits: RwLock<Limits>,
    /// The limits the server started with, which a full reset restores.
    start_limits: RwLock<Limits>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
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
    /// `--proxy-unmatched`: where requests no emulated API answers go.
    pub proxy: Option<crate::proxy::client::Proxy>,
}

impl Default for ServerInfo {
    fn default() -> Self {
        ServerInfo {
            seed_name: "default".to_owned(),
            max_body_bytes: 16 * 1024 * 1024,
            body_budget: crate::http::BodyBudget::default(),
            strict: false,
            proxy: None,
        }
    }
}

impl AppState {
    pub(crate) fn new(
        store: Store,
        clock: Clock,
        keys: JwtKeys,
        info: ServerInfo,
        control: ControlState,
    ) -> AppState {
        AppState(Arc::new(Shared {
            store,
            clock,
            keys,
            info,
            control,
            limits: RwLock::new(Limits::default()),
            start_limits: RwLock::new(Limits::default()),
        }))
    }

    /// The server's clock (the one `/_mock/clock` moves).
    pub fn clock(&self) -> &Clock {
        &self.clock
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
    pub(crate) fn change_limits(&self, limits: Limits) {
        *self.limits.write().unwrap_or_else(|e| e.into_inner()) = limits;
    }

    /// Back to the limits the server started with.
    pub(crate) fn restore_limits(&self) {
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
    /// The stub mappings (`--stubs`, `/_mock/stubs`).
    pub stubs: crate::stubs::set::Stubs,
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
            stubs: crate::stubs::set::Stubs::default(),
        }
    }
}

impl Default for ControlState {
    fn default() -> Self {
        ControlState::new(None, 1000, 4096)
    }
}
