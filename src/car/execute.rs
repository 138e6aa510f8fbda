//! `POST /sm/v1/scripts/{id}/execute`: run a script now on assets and tags.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::auth::CarCaller;
use super::error::CarError;
use super::extract::{CarJson, JsonObject};
use super::views::{self, Envelope, Execution};
use crate::state::AppState;
use crate::store::car::{ExecuteLimits, Targets};

/// Most ids each list may hold.
pub(crate) const MAX_IDS: usize = 25;

/// Ids as an array of numbers or strings, or one comma-separated string.
pub(crate) fn ids(body: &JsonObject, key: &str) -> Result<Vec<i64>, CarError> {
    let bad = || CarError::BadRequest(format!("{key} must be a list of ids"));
    let parse = |v: &Value| match v {
        Value::Number(n) => n.as_i64().ok_or_else(bad),
        Value::String(s) => s.trim().parse::<i64>().map_err(|_| bad()),
        _ => Err(bad()),
    };
    match body.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(parse).collect(),
        Some(Value::String(s)) => s
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| p.parse::<i64>().map_err(|_| bad()))
            .collect(),
        Some(other) => parse(other).map(|id| vec![id]),
    }
}

pub(crate) async fn execute(
    State(state): State<AppState>,
    CarCaller(caller): CarCaller,
    Path(key): Path<String>,
    CarJson(body): CarJson<JsonObject>,
) -> Result<Response, CarError> {
    let script_id: i64 = key
        .parse()
        .map_err(|_| CarError::NotFound(format!("Script with id {key} not found")))?;
    match body.get("testMode") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => {}
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => {}
        Some(_) => {
            return Err(CarError::BadRequest(
                "testMode must be false: the API runs scripts in production mode only".into(),
            ));
        }
    }
    let targets = Targets {
        asset_ids: ids(&body, "assetIds")?,
        tag_ids: ids(&body, "assetTagIds")?,
        excluded_ids: ids(&body, "excludedAssetIds")?,
    };
    for (name, list) in [
        ("asset ids", &targets.asset_ids),
        ("asset tag ids", &targets.tag_ids),
        ("excluded asset ids", &targets.excluded_ids),
    ] {
        if list.len() > MAX_IDS {
            return Err(CarError::BadRequest(format!(
                "At most {MAX_IDS} {name} may be given (got {})",
                list.len()
            )));
        }
    }
    if targets.asset_ids.is_empty() && targets.tag_ids.is_empty() {
        return Err(CarError::BadRequest(
            "Provide assetIds or assetTagIds".into(),
        ));
    }
    let limits = state.limits();
    let correlation = state
        .store
        .car_execute(
            caller,
            script_id,
            targets,
            ExecuteLimits {
                interval_ms: limits.execute_interval_ms,
                daily: limits.daily_executions,
            },
            state.clock.clone(),
        )
        .await?
        .map_err(CarError::from)?;
    Ok(views::respond(
        StatusCode::OK,
        &Envelope::ok(Execution {
            correlation_uuid: &correlation,
        }),
    ))
}
