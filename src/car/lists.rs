//! The list searches: assets, asset tags, jobs, asset jobs, activities.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::auth::CarCaller;
use super::body::SearchBody;
use super::error::CarError;
use super::extract::{CarJson, JsonObject};
use super::views;
use crate::query::catalog::{CAR_ACTIVITY, CAR_ASSET, CAR_ASSET_JOB, CAR_ASSET_TAG, CAR_JOB};
use crate::state::AppState;

/// `POST /sm/v1/assets/search`
pub async fn assets(
    State(state): State<AppState>,
    CarCaller(caller): CarCaller,
    CarJson(body): CarJson<JsonObject>,
) -> Result<Json<Value>, CarError> {
    let body = SearchBody::from_object(&body, "filter", None, state.limits().max_page_size)?;
    let query = body.query(&CAR_ASSET, "id", state.clock.now_ms())?;
    let page = state.store.car_assets(caller.customer_id, query).await?;
    let items = page
        .items
        .iter()
        .map(|a| views::asset_item(a, &caller))
        .collect();
    Ok(Json(views::envelope(views::list(page.total, items))))
}

/// `POST /sm/v1/assettags/search`
pub async fn tags(
    State(state): State<AppState>,
    CarCaller(caller): CarCaller,
    CarJson(body): CarJson<JsonObject>,
) -> Result<Json<Value>, CarError> {
    let body = SearchBody::from_object(&body, "filter", None, state.limits().max_page_size)?;
    let query = body.query(&CAR_ASSET_TAG, "id", state.clock.now_ms())?;
    let page = state.store.car_tags(caller.customer_id, query).await?;
    let items = page
        .items
        .iter()
        .map(|t| views::tag_item(t, &caller))
        .collect();
    Ok(Json(views::envelope(views::list(page.total, items))))
}

/// `POST /sm/v1/jobs/search` (`startAt`/`endAt` bound the job's creation time)
pub async fn jobs(
    State(state): State<AppState>,
    CarCaller(caller): CarCaller,
    CarJson(body): CarJson<JsonObject>,
) -> Result<Json<Value>, CarError> {
    let body = SearchBody::from_object(
        &body,
        "filter",
        Some(("startAt", "endAt")),
        state.limits().max_page_size,
    )?;
    let query = body.query(&CAR_JOB, "created.dateTime", state.clock.now_ms())?;
    let page = state.store.car_jobs(caller.customer_id, query).await?;
    let items = page
        .items
        .iter()
        .map(|j| views::job_item(j, &caller))
        .collect();
    Ok(Json(views::envelope(views::list(page.total, items))))
}

/// `POST /sm/v1/assetjobs/search` (`includeScriptResult` adds the base64 result)
pub async fn asset_jobs(
    State(state): State<AppState>,
    CarCaller(caller): CarCaller,
    CarJson(body): CarJson<JsonObject>,
) -> Result<Json<Value>, CarError> {
    let body = SearchBody::from_object(
        &body,
        "filter",
        Some(("startAt", "endAt")),
        state.limits().max_page_size,
    )?;
    let query = body.query(&CAR_ASSET_JOB, "created.dateTime", state.clock.now_ms())?;
    let with_result = body.include_script_result;
    let page = state
        .store
        .car_asset_jobs(caller.customer_id, query, with_result)
        .await?;
    let items = page
        .items
        .iter()
        .map(|a| views::asset_job_item(a, &caller, with_result))
        .collect();
    Ok(Json(views::envelope(views::list(page.total, items))))
}

/// `POST /sm/v1/scripts/activities` (`qql`; `startDate`/`endDate`). Not in the envelope:
/// the guide's sample answers with the audit-log service's own shape.
pub async fn activities(
    State(state): State<AppState>,
    CarCaller(caller): CarCaller,
    CarJson(body): CarJson<JsonObject>,
) -> Result<Json<Value>, CarError> {
    let body = SearchBody::from_object(
        &body,
        "qql",
        Some(("startDate", "endDate")),
        state.limits().max_page_size,
    )?;
    let query = body.query(&CAR_ACTIVITY, "createdDate", state.clock.now_ms())?;
    let page = state
        .store
        .car_activities(caller.customer_id, query)
        .await?;
    let records: Vec<Value> = page
        .items
        .iter()
        .map(|a| views::activity_item(a, &caller))
        .collect();
    Ok(Json(json!({
        "auditRecords": records,
        "totalCount": page.total.unwrap_or(0),
        "pageNumber": body.page_number,
        "pageSize": body.page_size,
        "applicationName": "SM",
        "clientApp": "SM",
        "auditEnabledAppId": 1,
    })))
}
