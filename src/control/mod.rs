//! The emulator's own endpoints, under the reserved `/_mock/` prefix (no Qualys path starts
//! with it). JSON in and out. Guarded by `--control-token` when set (health stays open).
//!
//! - [`ops`] — the operations (also behind the in-process server's methods).
//! - [`journal`] — the request journal and how a call is recorded.
//! - [`faults`] — fault rules and how one shapes a call.
//! - [`strict`] — how queries, paths and bodies are read: strictly, or a 400.

pub mod faults;
pub mod index;
pub mod journal;
pub mod ops;
pub(crate) mod strict;
mod stubs;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post, put};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::guard::GuardLayer;
use crate::state::AppState;
pub use crate::state::ControlState;

use ops::ControlError;
use strict::{ControlJson, ControlPath, ControlQuery, Unread};

/// The control API's error body, `{"error": message}`, with `status`.
pub(crate) fn error_body(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let status = match &self {
            ControlError::BadRequest(_) | ControlError::Seed(_) => StatusCode::BAD_REQUEST,
            ControlError::NotFound(_) => StatusCode::NOT_FOUND,
            ControlError::Store(crate::store::StoreError::Full) => {
                tracing::error!(
                    "the disk that holds the store is full: a control call was refused"
                );
                StatusCode::SERVICE_UNAVAILABLE
            }
            ControlError::Conflict(_) => StatusCode::CONFLICT,
            ControlError::Store(e) => {
                tracing::error!(error = %e, "store error on the control API");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        (status, Json(json!({"error": self.to_string()}))).into_response()
    }
}

/// The control routes, grouped by what they read. Those that read a query string or a
/// body take it through [`strict`]'s extractors; the groups that read none refuse one (a
/// layer over the group), so no handler can ignore what a caller sent.
pub fn router(state: &AppState) -> Router<AppState> {
    let caught_up = || GuardLayer(crate::car::engine::CatchUpFirst::<Unavailable>::new(state));
    let reading_nothing = Router::new()
        .route("/_mock/", get(index::index))
        .route("/_mock", get(index::index))
        // Health counts CAR jobs: the engine catches up first.
        .route("/_mock/health", get(health).route_layer(caught_up()))
        .route("/_mock/clock", get(clock))
        .route("/_mock/faults", get(list_faults).delete(clear_faults))
        .route("/_mock/faults/{id}", delete(remove_fault))
        .route("/_mock/config", get(config))
        .route("/_mock/stubs", get(stubs::list).delete(stubs::restore))
        .route(
            "/_mock/stubs/{id}",
            get(stubs::get_one).delete(stubs::remove),
        )
        .route_layer(GuardLayer(Unread {
            query: true,
            body: true,
        }));
    let reading_a_query = Router::new()
        .route("/_mock/requests", get(requests).delete(clear_requests))
        .route_layer(GuardLayer(Unread {
            query: false,
            body: true,
        }));
    let reading_a_body = Router::new()
        .route("/_mock/customers", post(customers))
        .route("/_mock/seed", post(seed))
        .route("/_mock/clock", post(set_clock))
        .route("/_mock/faults", post(add_fault))
        .route("/_mock/cm/events", post(cm_events))
        .route(
            "/_mock/car/assetjobs/{id}/outcome",
            post(outcome).route_layer(caught_up()),
        )
        .route("/_mock/config", put(set_config))
        .route("/_mock/stubs", post(stubs::add))
        .route("/_mock/stubs/{id}", put(stubs::replace))
        .route_layer(GuardLayer(Unread {
            query: true,
            body: false,
        }));
    let reading_both = Router::new().route("/_mock/reset", post(reset));
    reading_nothing
        .merge(reading_a_query)
        .merge(reading_a_body)
        .merge(reading_both)
}

/// A control route mounted beside [`router`] (where the router is assembled) that reads
/// neither a query string nor a body: both refused, as on the routes of its first group.
pub(crate) fn reading_nothing(route: MethodRouter<AppState>) -> MethodRouter<AppState> {
    route.route_layer(GuardLayer(Unread {
        query: true,
        body: true,
    }))
}

/// A store error on a control route that reads CAR state: 503 (health's "unavailable") in
/// the control API's format.
struct Unavailable(crate::store::StoreError);

impl From<crate::store::StoreError> for Unavailable {
    fn from(e: crate::store::StoreError) -> Self {
        Unavailable(e)
    }
}

impl IntoResponse for Unavailable {
    fn into_response(self) -> Response {
        store_unavailable(self.0)
    }
}

fn store_unavailable(e: crate::store::StoreError) -> Response {
    tracing::error!(error = %e, "store error on the control API");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({"status": "unavailable", "error": e.to_string()})),
    )
        .into_response()
}

/// With `--control-token`, every `/_mock/` call but health needs
/// `Authorization: Bearer <token>` or `X-Mock-Token: <token>`: the 401 for a control call
/// (the front layer asks for those only) without it.
pub(crate) fn token_refusal(state: &AppState, request: &Request) -> Option<Response> {
    let token = state.control.token.as_ref()?;
    if request.uri().path() == "/_mock/health" {
        return None;
    }
    let headers = request.headers();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let given = headers.get("x-mock-token").and_then(|v| v.to_str().ok());
    if bearer == Some(token.as_str()) || given == Some(token.as_str()) {
        return None;
    }
    Some(
        (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "the control API needs the control token (X-Mock-Token)"})),
        )
            .into_response(),
    )
}

/// `GET /_mock/health`: 200 once the store is loaded, with the seed's name, where the
/// baseline came from, what the store is, record counts, the clock, and the request-body
/// memory held now against `--body-budget-bytes`. The job engine catches up first (its
/// firings add jobs to the counts). The store's part is read again after every write and
/// at least once a second ([`crate::store::Store::health_facts`]); the clock and the
/// bodies are read on every call.
async fn health(State(state): State<AppState>) -> Response {
    match state.store.health_facts().await {
        Ok(facts) => {
            // What changes only with the store's facts is rendered once per read of them.
            let shown = facts.shown.get_or_init(|| {
                let fixed = serde_json::to_string(&HealthFixed {
                    status: "ok",
                    version: env!("CARGO_PKG_VERSION"),
                    seed: &state.info.seed_name,
                    baseline: &facts.baseline,
                    store: state.store.kind(),
                    counts: &facts.counts,
                })
                .unwrap_or_default();
                // Without its closing brace: the fields that change per call follow.
                fixed.strip_suffix('}').unwrap_or(&fixed).into()
            });
            let clock = ClockView::from(state.clock.state());
            let bodies = Bodies {
                held_bytes: state.info.body_budget.held_bytes(),
                budget_bytes: state.info.body_budget.total_bytes(),
            };
            let mut body = Vec::with_capacity(shown.len() + 200);
            body.extend_from_slice(shown.as_bytes());
            body.extend_from_slice(br#","clock":"#);
            // Numbers, a bool and an ISO date: neither can fail to serialize into memory.
            let _ = serde_json::to_writer(&mut body, &clock);
            body.extend_from_slice(br#","bodies":"#);
            let _ = serde_json::to_writer(&mut body, &bodies);
            body.push(b'}');
            (
                [(
                    header::CONTENT_TYPE,
                    axum::http::HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response()
        }
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "error": e.to_string()})),
        )
            .into_response(),
    }
}

/// The start of a healthy `GET /_mock/health`, in its order: what changes only with a write
/// to the store. The clock and `bodies` follow, read on every call.
#[derive(serde::Serialize)]
struct HealthFixed<'a> {
    status: &'static str,
    version: &'static str,
    seed: &'a str,
    baseline: &'a crate::store::Provenance,
    store: crate::store::StoreKind,
    counts: &'a crate::store::RecordCounts,
}

/// Request-body memory held now, and the budget.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Bodies {
    held_bytes: usize,
    budget_bytes: usize,
}

async fn reset(
    State(state): State<AppState>,
    ControlQuery(query): ControlQuery<ops::ResetRequest>,
    ControlJson(body): ControlJson<ops::ResetRequest>,
) -> Result<Json<ops::ResetReport>, ControlError> {
    let request = query.merged_with(body)?;
    Ok(Json(ops::reset(&state, request).await?))
}

async fn customers(
    State(state): State<AppState>,
    ControlJson(body): ControlJson<ops::NewCustomer>,
) -> Result<Response, ControlError> {
    let created = ops::create_customer(&state, body).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

async fn seed(
    State(state): State<AppState>,
    ControlJson(body): ControlJson<serde_json::Map<String, Value>>,
) -> Result<Json<ops::Loaded>, ControlError> {
    Ok(Json(ops::load_seed(&state, &Value::Object(body)).await?))
}

/// The clock as the control API answers it: `nowMs`, `frozen`, `offsetMs`, and `now` as
/// ISO 8601 in UTC to the millisecond (`2022-05-10T00:00:00.000Z`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ClockView {
    #[serde(flatten)]
    pub state: crate::clock::ClockState,
    pub now: String,
}

impl From<crate::clock::ClockState> for ClockView {
    fn from(state: crate::clock::ClockState) -> ClockView {
        let now = crate::dates::iso_ms(state.now_ms);
        ClockView { state, now }
    }
}

async fn clock(State(state): State<AppState>) -> Json<ClockView> {
    Json(state.clock.state().into())
}

async fn set_clock(
    State(state): State<AppState>,
    ControlJson(change): ControlJson<ops::ClockChange>,
) -> Result<Json<ClockView>, ControlError> {
    Ok(Json(ops::change_clock(&state, change).await?.into()))
}

async fn requests(
    State(state): State<AppState>,
    ControlQuery(filter): ControlQuery<journal::Filter>,
) -> Json<Value> {
    let entries = ops::requests(&state, &filter);
    Json(
        json!({"count": entries.len(), "capacity": state.control.journal.capacity(), "requests": entries}),
    )
}

/// `DELETE /_mock/requests`: the entries the filter matches (all without one).
async fn clear_requests(
    State(state): State<AppState>,
    ControlQuery(filter): ControlQuery<journal::Filter>,
) -> StatusCode {
    state.control.journal.remove(&filter);
    StatusCode::NO_CONTENT
}

async fn list_faults(State(state): State<AppState>) -> Json<Vec<faults::Fault>> {
    Json(state.control.faults.list())
}

async fn add_fault(
    State(state): State<AppState>,
    ControlJson(spec): ControlJson<faults::FaultSpec>,
) -> Result<Response, ControlError> {
    let fault = ops::add_fault(&state, spec)?;
    Ok((StatusCode::CREATED, Json(fault)).into_response())
}

async fn clear_faults(State(state): State<AppState>) -> StatusCode {
    state.control.faults.clear();
    StatusCode::NO_CONTENT
}

async fn remove_fault(
    State(state): State<AppState>,
    ControlPath(id): ControlPath<u64>,
) -> Result<StatusCode, ControlError> {
    if state.control.faults.remove(id) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ControlError::NotFound(format!("no fault {id}")))
    }
}

async fn cm_events(
    State(state): State<AppState>,
    ControlJson(events): ControlJson<ops::Events>,
) -> Result<Response, ControlError> {
    let alerts = ops::inject_events(&state, events).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"count": alerts.len(), "alerts": alerts})),
    )
        .into_response())
}

async fn outcome(
    State(state): State<AppState>,
    ControlPath(id): ControlPath<i64>,
    ControlJson(forced): ControlJson<ops::ForcedOutcome>,
) -> Result<StatusCode, ControlError> {
    ops::force_outcome(&state, id, forced).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn config(State(state): State<AppState>) -> Json<crate::config::Limits> {
    Json(state.limits())
}

async fn set_config(
    State(state): State<AppState>,
    ControlJson(change): ControlJson<ops::ConfigChange>,
) -> Result<Json<crate::config::Limits>, ControlError> {
    Ok(Json(ops::update_config(&state, change)?))
}
