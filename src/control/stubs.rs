//! `/_mock/stubs`: the stub mappings in force — list, read, add (WireMock's admin body: one
//! mapping object), replace, delete, and back to the loaded set.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::ops::ControlError;
use super::strict::{ControlJson, ControlPath};
use crate::state::AppState;
use crate::stubs::{Change, StubView};

impl From<Change> for ControlError {
    fn from(change: Change) -> ControlError {
        match change {
            Change::Refused(m) => ControlError::BadRequest(m),
            Change::NotFound(m) => ControlError::NotFound(m),
            Change::Taken(m) => ControlError::Conflict(m),
        }
    }
}

/// `GET /_mock/stubs`: every mapping in force, in the order they are tried.
pub(super) async fn list(State(state): State<AppState>) -> Json<Value> {
    let stubs = state.control.stubs.list();
    Json(json!({"count": stubs.len(), "stubs": stubs}))
}

/// `GET /_mock/stubs/{id}`.
pub(super) async fn get_one(
    State(state): State<AppState>,
    ControlPath(id): ControlPath<String>,
) -> Result<Json<StubView>, ControlError> {
    state
        .control
        .stubs
        .get(&id)
        .map(Json)
        .ok_or_else(|| ControlError::NotFound(format!("no stub {id}")))
}

/// `POST /_mock/stubs`: 201 with the mapping (its `id` given or made).
pub(super) async fn add(
    State(state): State<AppState>,
    ControlJson(body): ControlJson<Map<String, Value>>,
) -> Result<Response, ControlError> {
    let stubs = &state.control.stubs;
    let mapping = stubs.read(&Value::Object(body))?;
    Ok((StatusCode::CREATED, Json(stubs.add(mapping)?)).into_response())
}

/// `PUT /_mock/stubs/{id}`: the mapping replaced (404 when there is none).
pub(super) async fn replace(
    State(state): State<AppState>,
    ControlPath(id): ControlPath<String>,
    ControlJson(body): ControlJson<Map<String, Value>>,
) -> Result<Json<StubView>, ControlError> {
    Ok(Json(
        state.control.stubs.replace(&id, &Value::Object(body))?,
    ))
}

/// `DELETE /_mock/stubs/{id}`.
pub(super) async fn remove(
    State(state): State<AppState>,
    ControlPath(id): ControlPath<String>,
) -> Result<StatusCode, ControlError> {
    state.control.stubs.remove(&id)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /_mock/stubs`: every runtime change undone (the loaded set, as at start).
pub(super) async fn restore(State(state): State<AppState>) -> StatusCode {
    state.control.stubs.restore();
    StatusCode::NO_CONTENT
}
