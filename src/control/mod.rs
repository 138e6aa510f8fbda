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

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::state::AppState;
pub use crate::state::ControlState;

use ops::ControlError;

/// The control API's error body, `{"error": message}`, with `status`.
pub(crate) fn error_body(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let status = match &self {
            ControlError::BadRequest(_) | ControlError::Seed(_) => StatusCode::BAD_REQUEST,
            ControlError::NotFound(_) => StatusCode::NOT_FOUND,
            ControlError::Store(e) => {
                tracing::error!(error = %crate::logging::cause(e), "store error on the control API");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        (status, Json(json!({"error": self.to_string()}))).into_response()
    }
}

/// A path parameter; a value that does not parse is the control API's `{"error"}` 400.
struct ControlPath<T>(T);

impl<T, S> FromRequestParts<S> for ControlPath<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(ControlPath(value)),
            Err(e) => Err(error_body(StatusCode::BAD_REQUEST, e.body_text())),
        }
    }
}

/// The query string; one that does not parse is the control API's `{"error"}` 400.
struct ControlQuery<T>(T);

impl<T, S> FromRequestParts<S> for ControlQuery<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ControlQuery(value)),
            Err(e) => Err(error_body(StatusCode::BAD_REQUEST, e.body_text())),
        }
    }
}

/// A path of the control API: `/_mock` itself or anything under `/_mock/`.
pub fn is_control_path(path: &str) -> bool {
    path == "/_mock" || path.starts_with("/_mock/")
}

pub fn router(state: &AppState) -> Router<AppState> {
    let caught_up = || axum::middleware::from_fn_with_state(state.clone(), catch_up_first);
    Router::new()
        .route("/_mock/", get(index::index))
        .route("/_mock", get(index::index))
        // Health counts and forced outcomes read CAR jobs: the engine catches up first.
        .route("/_mock/health", get(health).route_layer(caught_up()))
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
        .route(
            "/_mock/car/assetjobs/{id}/outcome",
            post(outcome).route_layer(caught_up()),
        )
        .route("/_mock/config", get(config).put(set_config))
        .route("/_mock/openapi.json", get(crate::openapi::serve))
}

/// Route layer: the job engine catches up with the clock first; a store error answers 503
/// (health's "unavailable") in the control API's format.
async fn catch_up_first(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match crate::car::engine::catch_up(&state).await {
        Ok(()) => next.run(request).await,
        Err(e) => store_unavailable(e),
    }
}

fn store_unavailable(e: crate::store::StoreError) -> Response {
    tracing::error!(error = %crate::logging::cause(&e), "store error on the control API");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({"status": "unavailable", "error": crate::logging::cause(&e)})),
    )
        .into_response()
}

/// With `--control-token`, every `/_mock/` call but health needs
/// `Authorization: Bearer <token>` or `X-Mock-Token: <token>`.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if let Some(token) = &state.control.token
        && is_control_path(path)
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

/// A request body as `T`: a JSON object (serde would also read an array as a struct's
/// fields in order, which no client means).
fn parse<T: serde::de::DeserializeOwned>(bytes: &Bytes) -> Result<T, ControlError> {
    let value = json_body(bytes)?;
    if !value.is_object() {
        return Err(ControlError::BadRequest(
            "the body must be a JSON object".to_owned(),
        ));
    }
    serde_json::from_value(value).map_err(|e| ControlError::BadRequest(e.to_string()))
}

/// `GET /_mock/health`: 200 once the store is loaded, with the seed's name, where the
/// baseline came from, what the store is, and record counts.
async fn health(State(state): State<AppState>) -> Response {
    let facts = async {
        Ok::<_, crate::store::StoreError>((
            state.store.record_counts().await?,
            state.store.provenance().await?,
        ))
    };
    match facts.await {
        Ok((counts, baseline)) => Json(json!({
            "status": "ok",
            "version": env!("CARGO_PKG_VERSION"),
            "seed": state.info.seed_name,
            "baseline": baseline,
            "store": state.store.kind(),
            "counts": counts,
            "clock": ClockView::from(state.clock.state()),
        }))
        .into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "error": crate::logging::cause(&e)})),
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
    ControlQuery(q): ControlQuery<ResetQuery>,
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
    body: Bytes,
) -> Result<Json<ClockView>, ControlError> {
    Ok(Json(ops::change_clock(&state, parse(&body)?).await?.into()))
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
    ControlPath(id): ControlPath<u64>,
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
    ControlPath(id): ControlPath<i64>,
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
