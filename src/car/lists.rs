//! The list searches: assets, asset tags, jobs, asset jobs, activities.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::auth::CarCaller;
use super::body::SearchBody;
use super::error::CarError;
use super::extract::{CarJson, JsonObject};
use super::views;
use crate::query::catalog::{CAR_ACTIVITY, CAR_ASSET, CAR_ASSET_JOB, CAR_ASSET_TAG, CAR_JOB};
use crate::state::AppState;

/// `POST /sm/v1/assets/search`
pub(crate) async fn assets(
    State(state): State<AppState>,
    CarCaller(caller): CarCaller,
    CarJson(body): CarJson<JsonObject>,
) -> Result<Response, CarError> {
    let body = SearchBody::from_object(&body, "filter", None, state.limits().max_page_size)?;
    let search = body.search(&CAR_ASSET, "id", state.clock.now_ms())?;
    let page = state.store.car_assets(caller.customer_id, search).await?;
    Ok(views::list_page(&page, |a| {
        views::AssetItem::new(a, &caller)
    }))
}

/// `POST /sm/v1/assettags/search`
pub(crate) async fn tags(
    State(state): State<AppState>,
    CarCaller(caller): CarCaller,
    CarJson(body): CarJson<JsonObject>,
) -> Result<Response, CarError> {
    let body = SearchBody::from_object(&body, "filter", None, state.limits().max_page_size)?;
    let search = body.search(&CAR_ASSET_TAG, "id", state.clock.now_ms())?;
    let page = state.store.car_tags(caller.customer_id, search).await?;
    Ok(views::list_page(&page, |t| views::TagItem::new(t, &caller)))
}

/// `POST /sm/v1/jobs/search` (`startAt`/`endAt` bound the job's creation time)
pub(crate) async fn jobs(
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
    let search = body.search(&CAR_JOB, "created.dateTime", state.clock.now_ms())?;
    let page = state.store.car_jobs(caller.customer_id, search).await?;
    Ok(views::list_page(&page, |j| views::JobItem::new(j, &caller)))
}

/// `POST /sm/v1/assetjobs/search` (`includeScriptResult` adds the base64 result)
pub(crate) async fn asset_jobs(
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
    let search = body.search(&CAR_ASSET_JOB, "created.dateTime", state.clock.now_ms())?;
    let with_result = body.include_script_result;
    let page = state
        .store
        .car_asset_jobs(caller.customer_id, search, with_result)
        .await?;
    Ok(views::list_page(&page, |a| {
        views::AssetJobItem::new(a, &caller, with_result)
    }))
}

/// `POST /sm/v1/scripts/activities` (`qql`; `startDate`/`endDate`). Not in the envelope:
/// the guide's sample answers with the audit-log service's own shape.
pub(crate) async fn activities(
    State(state): State<AppState>,
    CarCaller(caller): CarCaller,
    CarJson(body): CarJson<JsonObject>,
) -> Result<Response, CarError> {
    let body = SearchBody::from_object(
        &body,
        "qql",
        Some(("startDate", "endDate")),
        state.limits().max_page_size,
    )?;
    let search = body.search(&CAR_ACTIVITY, "createdDate", state.clock.now_ms())?;
    let page = state
        .store
        .car_activities(caller.customer_id, search)
        .await?;
    let records = page
        .items
        .iter()
        .map(|a| views::ActivityItem::new(a, &caller))
        .collect();
    Ok(views::respond(
        StatusCode::OK,
        &views::ActivityPage::new(
            records,
            page.total.unwrap_or(0),
            body.page_number,
            body.page_size,
        ),
    ))
}
