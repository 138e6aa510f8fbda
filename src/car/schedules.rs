//! The scheduler APIs of 2025 (CAR release 2.6): search, get, update, delete, activate,
//! deactivate — over the schedules `POST /sm/v1/scripts/scheduler` creates, which keep
//! firing through the clock ([`super::engine`]).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::auth::CarCaller;
use super::body::SearchBody;
use super::error::CarError;
use super::extract::{CarJson, JsonObject};
use super::recurrence::Recurrence;
use super::scheduler::{NEVER_FIRES, schedule_of, schedule_refusal};
use super::views::{self, Envelope, NewId, ScheduleItem};
use crate::query::catalog::CAR_SCHEDULE;
use crate::state::AppState;
use crate::store::car::Activation;

/// A schedule id from the path; one that is not a number names no schedule (404).
fn schedule_id(key: &str) -> Result<i64, CarError> {
    key.trim()
        .parse()
        .map_err(|_| CarError::NotFound(format!("Scheduler with id {key} not found")))
}

/// The envelope of a change: code `"0"`, the message, the schedule's id.
fn changed(status: StatusCode, message: &'static str, id: i64) -> Response {
    views::respond(
        status,
        &Envelope::created(
            message,
            NewId {
                id: views::id_text(id),
            },
        ),
    )
}

/// `POST /sm/v1/scheduler/search` (`startAt`/`endAt` bound the schedule's creation time)
pub(crate) async fn search(
    State(state): State<AppState>,
    CarCaller(caller): CarCaller,
    CarJson(body): CarJson<JsonObject>,
) -> Result<Response, CarError> {
    let body = SearchBody::from_object(
        &body,
        "filter",
        Some(("startAt", "endAt")),
        state.limits().max_page_size,
    )?;
    let search = body.search(&CAR_SCHEDULE, "created.dateTime", state.clock.now_ms())?;
    let page = state
        .store
        .car_schedules(caller.customer_id, search)
        .await?;
    Ok(views::list_page(&page, |s| ScheduleItem::new(s, &caller)))
}

/// `GET /sm/v1/scheduler/{id}`
pub(crate) async fn get(
    State(state): State<AppState>,
    CarCaller(caller): CarCaller,
    Path(key): Path<String>,
) -> Result<Response, CarError> {
    let id = schedule_id(&key)?;
    let schedule = state
        .store
        .car_schedule(caller.customer_id, id)
        .await?
        .ok_or_else(|| CarError::NotFound(format!("Scheduler with id {key} not found")))?;
    Ok(views::respond(
        StatusCode::OK,
        &Envelope::ok(ScheduleItem::new(&schedule, &caller)),
    ))
}

/// `POST /sm/v1/scheduler/{id}`: the whole definition again, as create takes it (but
/// `activate` left out keeps the schedule on or off).
pub(crate) async fn update(
    State(state): State<AppState>,
    CarCaller(caller): CarCaller,
    Path(key): Path<String>,
    CarJson(body): CarJson<JsonObject>,
) -> Result<Response, CarError> {
    let id = schedule_id(&key)?;
    // An unknown schedule is 404 before anything in the body is judged.
    let current = state
        .store
        .car_schedule(caller.customer_id, id)
        .await?
        .ok_or_else(|| CarError::NotFound(format!("Scheduler with id {key} not found")))?;
    let mut new = schedule_of(&state, caller.customer_id, &body).await?;
    // `activate` is optional on update: left out, the schedule stays as on or off as it was.
    if body.get("activate").is_none_or(serde_json::Value::is_null) {
        new.activate = current.activate;
    }
    state
        .store
        .car_update_schedule(caller, id, new, state.clock.now_ms())
        .await?
        .map_err(schedule_refusal)?;
    Ok(changed(
        StatusCode::OK,
        "Script scheduler updated successfully",
        id,
    ))
}

/// `DELETE /sm/v1/scheduler/{id}`
pub(crate) async fn delete(
    State(state): State<AppState>,
    CarCaller(caller): CarCaller,
    Path(key): Path<String>,
) -> Result<Response, CarError> {
    let id = schedule_id(&key)?;
    state
        .store
        .car_delete_schedule(caller, id, state.clock.now_ms())
        .await?
        .map_err(CarError::from)?;
    Ok(changed(
        StatusCode::OK,
        "Script scheduler deleted successfully",
        id,
    ))
}

/// `POST /sm/v1/scheduler/{id}/activate`: it fires from its next time after now on; one
/// whose recurrence has no time left is refused as create refuses it.
pub(crate) async fn activate(
    State(state): State<AppState>,
    CarCaller(caller): CarCaller,
    Path(key): Path<String>,
) -> Result<Response, CarError> {
    let id = schedule_id(&key)?;
    let schedule = state
        .store
        .car_schedule(caller.customer_id, id)
        .await?
        .ok_or_else(|| CarError::NotFound(format!("Scheduler with id {key} not found")))?;
    // As the engine reads it; a stored recurrence that does not read never fires.
    let recurrence = serde_json::from_str::<Recurrence>(&schedule.recurrence_json)
        .map_err(|_| CarError::BadRequest(NEVER_FIRES.to_owned()))?;
    let now = state.clock.now_ms();
    let next_fire_ms = recurrence
        .next_fire(now)
        .ok_or_else(|| CarError::BadRequest(NEVER_FIRES.to_owned()))?;
    state
        .store
        .car_activate_schedule(caller, id, Activation::On { next_fire_ms }, now)
        .await?
        .map_err(CarError::from)?;
    Ok(changed(
        StatusCode::OK,
        "Script scheduler activated successfully",
        id,
    ))
}

/// `POST /sm/v1/scheduler/{id}/deactivate`: it fires no more until activated.
pub(crate) async fn deactivate(
    State(state): State<AppState>,
    CarCaller(caller): CarCaller,
    Path(key): Path<String>,
) -> Result<Response, CarError> {
    let id = schedule_id(&key)?;
    state
        .store
        .car_activate_schedule(caller, id, Activation::Off, state.clock.now_ms())
        .await?
        .map_err(CarError::from)?;
    Ok(changed(
        StatusCode::OK,
        "Script scheduler deactivated successfully",
        id,
    ))
}
