//! Shared application state: cheap to clone (handles and `Arc`s inside).

use std::sync::Arc;

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
        }
    }

    /// A fresh in-memory store loaded with `seed`, a random JWT secret and `clock`.
    pub async fn in_memory(seed: Seed, clock: Clock) -> Result<AppState, StoreError> {
        let store = Store::open_memory()?;
        let info = ServerInfo {
            seed_name: seed.name.clone(),
            ..ServerInfo::default()
        };
        store.load_seed(seed).await?;
        Ok(AppState::new(store, clock, JwtKeys::random(), info))
    }
}
