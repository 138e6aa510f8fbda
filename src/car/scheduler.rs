//! `POST /sm/v1/scripts/scheduler`: schedule a script's execution.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::auth::CarCaller;
use super::body::SearchBody;
use super::error::CarError;
use super::extract::{CarJson, JsonObject};
use super::recurrence::{Recurrence, day_number};
use super::views::{self, Envelope, NewId};
use crate::query::catalog::{CAR_ASSET, CAR_ASSET_TAG};
use crate::state::AppState;
use crate::store::car::{NewSchedule, Refusal, Targets};

/// Refuse what execute refuses, so a schedule cannot be made that could never run: a
/// script that is not `APPROVED`, an asset or tag id the customer does not have. (An unknown
/// script is the store's 404, as before; tags may gain assets later, so an empty target set
/// is not refused here.)
async fn check_as_execute_does(
    state: &AppState,
    customer_id: i64,
    script_id: i64,
    targets: &Targets,
) -> Result<(), CarError> {
    if let Some(script) = state
        .store
        .car_script(customer_id, script_id.to_string())
        .await?
        .filter(|s| s.id == script_id)
    {
        match script.status.as_str() {
            "APPROVED" => {}
            "DEPRECATED" => return Err(bad("Script is deprecated")),
            other => {
                return Err(bad(format!(
                    "Script is not approved (status {other}); only approved scripts can be scheduled"
                )));
            }
        }
    }
    let now = state.clock.now_ms();
    let missing = |found: Vec<i64>, asked: &[i64]| -> Vec<String> {
        asked
            .iter()
            .filter(|id| !found.contains(id))
            .map(i64::to_string)
            .collect()
    };
    if !targets.asset_ids.is_empty() {
        let q = by_ids(&targets.asset_ids).search(&CAR_ASSET, "id", now)?;
        let found = state.store.car_assets(customer_id, q).await?;
        let gone = missing(
            found.items.iter().map(|a| a.id).collect(),
            &targets.asset_ids,
        );
        if !gone.is_empty() {
            return Err(bad(format!("Asset(s) not found: {}", gone.join(", "))));
        }
    }
    if !targets.tag_ids.is_empty() {
        let q = by_ids(&targets.tag_ids).search(&CAR_ASSET_TAG, "id", now)?;
        let found = state.store.car_tags(customer_id, q).await?;
        let gone = missing(found.items.iter().map(|t| t.id).collect(), &targets.tag_ids);
        if !gone.is_empty() {
            return Err(bad(format!("Asset tag(s) not found: {}", gone.join(", "))));
        }
    }
    Ok(())
}

/// A search for these ids, all on one page.
fn by_ids(ids: &[i64]) -> SearchBody {
    let list: Vec<String> = ids.iter().map(i64::to_string).collect();
    SearchBody {
        filter: format!("id:[{}]", list.join(", ")),
        page_size: ids.len() as u64,
        ..SearchBody::default()
    }
}

fn bad(m: impl Into<String>) -> CarError {
    CarError::BadRequest(m.into())
}

fn str_field(body: &JsonObject, key: &str) -> Option<String> {
    match body.get(key)? {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn int_field(body: &JsonObject, key: &str) -> Result<Option<i64>, CarError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| bad(format!("{key} must be a whole number"))),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| bad(format!("{key} must be a whole number"))),
        Some(_) => Err(bad(format!("{key} must be a whole number"))),
    }
}

/// `[{"UUId": "..", "id": 123}]` → ids (also plain ids).
fn id_objects(body: &JsonObject, key: &str) -> Result<Vec<i64>, CarError> {
    let Some(list) = body.get(key).filter(|v| !v.is_null()) else {
        return Ok(Vec::new());
    };
    let Value::Array(items) = list else {
        return Err(bad(format!(
            "{key} must be a list like [{{\"UUId\": \"..\", \"id\": 123}}]"
        )));
    };
    items
        .iter()
        .map(|item| {
            let id = match item {
                Value::Object(o) => o.get("id").cloned().unwrap_or(Value::Null),
                other => other.clone(),
            };
            match id {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            }
            .ok_or_else(|| bad(format!("each of {key} needs a numeric id")))
        })
        .collect()
}

/// The one script a schedule runs: `scripts: [{"id": …}]`.
fn script_of(body: &JsonObject) -> Result<i64, CarError> {
    match body.get("scripts") {
        Some(Value::Array(list)) if list.len() == 1 => match list[0].get("id") {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        }
        .ok_or_else(|| bad("scripts[0].id must be a script id")),
        Some(Value::Array(list)) if list.len() > 1 => Err(bad(
            "A schedule runs one script: give exactly one in scripts",
        )),
        _ => Err(bad(
            "scripts is required: [{\"id\": <SCRIPT ID>, \"title\": \"<SCRIPT TITLE>\"}]",
        )),
    }
}

/// `daysOfWeek`: day numbers (1 = Sunday) or names.
fn days_of(body: &JsonObject) -> Result<Vec<u8>, CarError> {
    match body.get("daysOfWeek") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(days)) => days
            .iter()
            .map(|d| {
                let text = match d {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                day_number(&text).ok_or_else(|| {
                    bad(format!(
                        "daysOfWeek: {text} is not a day (1 = Sunday … 7 = Saturday)"
                    ))
                })
            })
            .collect(),
        Some(_) => Err(bad("daysOfWeek must be a list like [\"1\", \"2\"]")),
    }
}

/// A schedule as the request body defines it (create, update), checked as create checks
/// it: the fields, a script and targets the customer has, a recurrence that fires.
pub(crate) async fn schedule_of(
    state: &AppState,
    customer_id: i64,
    body: &JsonObject,
) -> Result<NewSchedule, CarError> {
    let title = str_field(body, "title")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| bad("title is required"))?;
    let script_id = script_of(body)?;
    for (key, label) in [
        ("startDate", "StartDate"),
        ("endDate", "EndDate"),
        ("startTime", "StartTime"),
    ] {
        if str_field(body, key).is_none_or(|v| v.is_empty()) {
            return Err(bad(format!("{label} is mandatory ({key})")));
        }
    }
    let schedule_type = str_field(body, "scheduleType")
        .ok_or_else(|| bad("scheduleType is required: ONE_TIME, HOURLY, DAILY, WEEKLY or MONTHLY"))?
        .to_ascii_uppercase();
    let days_of_week = days_of(body)?;
    let recurrence = Recurrence {
        schedule_type: schedule_type.clone(),
        start_date: str_field(body, "startDate").unwrap_or_default(),
        end_date: str_field(body, "endDate").unwrap_or_default(),
        start_time: str_field(body, "startTime").unwrap_or_default(),
        hourly_interval: int_field(body, "hourlyInterval")?,
        days_of_week,
        recurrence_date: int_field(body, "recurrenceDate")?,
        recurrence_month: int_field(body, "recurrenceMonth")?,
    };
    recurrence.validate().map_err(bad)?;
    let targets = Targets {
        asset_ids: id_objects(body, "assets")?,
        tag_ids: id_objects(body, "assetTags")?,
        excluded_ids: id_objects(body, "excludedAssets")?,
    };
    if targets.asset_ids.is_empty() && targets.tag_ids.is_empty() {
        return Err(bad("Assets or asset tags are required"));
    }
    check_as_execute_does(state, customer_id, script_id, &targets).await?;
    let next_fire_ms = recurrence.next_fire(state.clock.now_ms());
    if next_fire_ms.is_none() {
        return Err(bad(NEVER_FIRES));
    }
    let activate = match body.get("activate") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    };
    Ok(NewSchedule {
        title,
        description: str_field(body, "description").unwrap_or_default(),
        script_id,
        activate,
        schedule_type,
        start_date: recurrence.start_date.clone(),
        end_date: recurrence.end_date.clone(),
        start_time: recurrence.start_time.clone(),
        hourly_interval: recurrence.hourly_interval,
        days_of_week_json: (!recurrence.days_of_week.is_empty())
            .then(|| serde_json::to_string(&recurrence.days_of_week).unwrap_or_default()),
        recurrence_date: recurrence.recurrence_date,
        recurrence_month: recurrence.recurrence_month,
        monthly_schedule_type: str_field(body, "monthlyScheduleType"),
        targets,
        recurrence_json: serde_json::to_string(&recurrence).unwrap_or_default(),
        next_fire_ms,
    })
}

/// The guide's answer to a schedule that can never fire.
pub(crate) const NEVER_FIRES: &str =
    "Based on configured schedule, the given trigger will never fire.";

/// A taken schedule title, in the guide's words (409).
pub(crate) fn schedule_refusal(r: Refusal) -> CarError {
    match r {
        Refusal::Duplicate(t) => {
            CarError::Conflict(format!("Scheduler with the same title already exists: {t}"))
        }
        other => CarError::from(other),
    }
}

pub(crate) async fn create(
    State(state): State<AppState>,
    CarCaller(caller): CarCaller,
    CarJson(body): CarJson<JsonObject>,
) -> Result<Response, CarError> {
    let new = schedule_of(&state, caller.customer_id, &body).await?;
    let now = state.clock.now_ms();
    let id = state
        .store
        .car_create_schedule(caller, new, now)
        .await?
        .map_err(schedule_refusal)?;
    Ok(views::respond(
        StatusCode::CREATED,
        &Envelope::created(
            "Script scheduler created successfully",
            NewId {
                id: views::id_text(id),
            },
        ),
    ))
}
