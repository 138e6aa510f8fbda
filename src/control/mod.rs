//! The emulator's own endpoints, under the reserved `/_mock/` prefix (no Qualys path starts
//! with it). JSON in and out. Guarded by `--control-token` when set (health stays open).
//!
//! - [`ops`] — the operations (also behind [`crate::mock::MockServer`]).
//! - [`journal`] — the request journal and its middleware.
//! - [`faults`] — fault rules and their middleware.

pub mod faults;
pub mod index;
pub mod journal;
pub mod ops;

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::state::AppState;
use crate::store::Seed;
use ops::ControlError;

/// Control state shared by the handlers and middleware.
#[derive(Debug)]
pub struct ControlState {
    pub journal: journal::Journal,
    pub faults: faults::Faults,
    pub token: Option<String>,
    seeds: Mutex<Seeds>,
    /// Held while a customer is created or records are seeded: picking ids and checking
    /// against what was seeded must not interleave with another such change.
    changing: tokio::sync::Mutex<()>,
}

#[derive(Debug, Default)]
struct Seeds {
    /// What the server started with: what a reset goes back to.
    startup: Arc<Seed>,
    /// Customers created at run time, with what they were created with.
    created: Vec<(String, Seed)>,
    /// Everything seeded since the start (for validating new records against).
    loaded: Vec<Seed>,
}

impl ControlState {
    pub fn new(
        token: Option<String>,
        journal_size: usize,
        journal_body_bytes: usize,
    ) -> ControlState {
        ControlState {
            journal: journal::Journal::new(journal_size, journal_body_bytes),
            faults: faults::Faults::default(),
            token,
            seeds: Mutex::new(Seeds::default()),
            changing: tokio::sync::Mutex::new(()),
        }
    }

    fn seeds(&self) -> std::sync::MutexGuard<'_, Seeds> {
        self.seeds.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn set_startup_seed(&self, seed: impl Into<Arc<Seed>>) {
        self.seeds().startup = seed.into();
    }

    /// Shared, not copied: a reset reads it once per test.
    pub fn startup_seed(&self) -> Arc<Seed> {
        Arc::clone(&self.seeds().startup)
    }

    /// The startup seed plus everything seeded since.
    pub fn current_seed(&self) -> Seed {
        let seeds = self.seeds();
        let mut all = Seed::clone(&seeds.startup);
        for (_, s) in &seeds.created {
            all = all.merged(s);
        }
        for s in &seeds.loaded {
            all = all.merged(s);
        }
        all
    }

    /// What one customer is reset to: its part of the startup seed, or what it was created
    /// with.
    pub fn seed_of(&self, customer: &str) -> Seed {
        let seeds = self.seeds();
        seeds
            .created
            .iter()
            .find(|(name, _)| name == customer)
            .map(|(_, s)| s.clone())
            .unwrap_or_else(|| seeds.startup.for_customer(customer))
    }

    fn remember_customer(&self, name: &str, seed: Seed) {
        self.seeds().created.push((name.to_owned(), seed));
    }

    fn remember_seed(&self, seed: Seed) {
        self.seeds().loaded.push(seed);
    }

    fn forget_runtime_seeds(&self) {
        let mut seeds = self.seeds();
        seeds.created.clear();
        seeds.loaded.clear();
    }
}

impl Default for ControlState {
    fn default() -> Self {
        ControlState::new(None, 1000, 4096)
    }
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let status = match &self {
            ControlError::BadRequest(_) | ControlError::Seed(_) => StatusCode::BAD_REQUEST,
            ControlError::NotFound(_) => StatusCode::NOT_FOUND,
            ControlError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (status, Json(json!({"error": self.to_string()}))).into_response()
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/_mock/", get(index::index))
        .route("/_mock/health", get(health))
        .route("/_mock/reset", post(reset))
        .route("/_mock/customers", post(customers))
        .route("/_mock/seed", post(seed))
        .route("/_mock/clock", get(clock).post(set_clock))
        .route("/_mock/requests", get(requests).delete(clear_requests))
        .route(
            "/_mock/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/_mock/faults/{id}", delete(remove_fault))
        .route("/_mock/cm/events", post(cm_events))
        .route("/_mock/car/assetjobs/{id}/outcome", post(outcome))
        .route("/_mock/config", get(config).put(set_config))
}

/// With `--control-token`, every `/_mock/` call but health needs
/// `Authorization: Bearer <token>` or `X-Mock-Token: <token>`.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if let Some(token) = &state.control.token
        && path.starts_with("/_mock/")
        && path != "/_mock/health"
    {
        let headers = request.headers();
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let given = headers.get("x-mock-token").and_then(|v| v.to_str().ok());
        if bearer != Some(token.as_str()) && given != Some(token.as_str()) {
            return (
                StatusCode::UNAUTHORIZED,
                Json(json!({"error": "the control API needs the control token (X-Mock-Token)"})),
            )
                .into_response();
        }
    }
    next.run(request).await
}

fn json_body(bytes: &Bytes) -> Result<Value, ControlError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ControlError::BadRequest(format!("invalid JSON: {e}")))
}

fn parse<T: serde::de::DeserializeOwned>(bytes: &Bytes) -> Result<T, ControlError> {
    serde_json::from_value(json_body(bytes)?).map_err(|e| ControlError::BadRequest(e.to_string()))
}

/// `GET /_mock/health`: 200 once the store is loaded, with the seed's name and record counts.
async fn health(State(state): State<AppState>) -> Response {
    match state.store.record_counts().await {
        Ok(counts) => Json(json!({
            "status": "ok",
            "version": env!("CARGO_PKG_VERSION"),
            "seed": state.info.seed_name,
            "counts": counts,
            "clock": state.clock.state(),
        }))
        .into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "error": e.to_string()})),
        )
            .into_response(),
    }
}

#[derive(serde::Deserialize)]
struct ResetQuery {
    customer: Option<String>,
}

async fn reset(
    State(state): State<AppState>,
    Query(q): Query<ResetQuery>,
) -> Result<Json<ops::ResetReport>, ControlError> {
    Ok(Json(ops::reset(&state, q.customer).await?))
}

async fn customers(State(state): State<AppState>, body: Bytes) -> Result<Response, ControlError> {
    let created = ops::create_customer(&state, parse(&body)?).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

async fn seed(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<ops::Loaded>, ControlError> {
    Ok(Json(ops::load_seed(&state, &json_body(&body)?).await?))
}

async fn clock(State(state): State<AppState>) -> Json<crate::clock::ClockState> {
    Json(state.clock.state())
}

async fn set_clock(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<crate::clock::ClockState>, ControlError> {
    Ok(Json(ops::change_clock(&state, parse(&body)?).await?))
}

async fn requests(
    State(state): State<AppState>,
    Query(filter): Query<journal::Filter>,
) -> Json<Value> {
    let entries = ops::requests(&state, &filter);
    Json(
        json!({"count": entries.len(), "capacity": state.control.journal.capacity(), "requests": entries}),
    )
}

async fn clear_requests(State(state): State<AppState>) -> StatusCode {
    state.control.journal.clear();
    StatusCode::NO_CONTENT
}

async fn list_faults(State(state): State<AppState>) -> Json<Vec<faults::Fault>> {
    Json(state.control.faults.list())
}

async fn add_fault(State(state): State<AppState>, body: Bytes) -> Result<Response, ControlError> {
    let fault = ops::add_fault(&state, parse(&body)?)?;
    Ok((StatusCode::CREATED, Json(fault)).into_response())
}

async fn clear_faults(State(state): State<AppState>) -> StatusCode {
    state.control.faults.clear();
    StatusCode::NO_CONTENT
}

async fn remove_fault(
    State(state): State<AppState>,
    Path(id): Path<u64>,
) -> Result<StatusCode, ControlError> {
    if state.control.faults.remove(id) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ControlError::NotFound(format!("no fault {id}")))
    }
}

async fn cm_events(State(state): State<AppState>, body: Bytes) -> Result<Response, ControlError> {
    let alerts = ops::inject_events(&state, parse(&body)?).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"count": alerts.len(), "alerts": alerts})),
    )
        .into_response())
}

async fn outcome(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<StatusCode, ControlError> {
    ops::force_outcome(&state, id, parse(&body)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn config(State(state): State<AppState>) -> Json<crate::state::Limits> {
    Json(state.limits())
}

async fn set_config(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<crate::state::Limits>, ControlError> {
    Ok(Json(ops::update_config(&state, &json_body(&body)?)?))
}
