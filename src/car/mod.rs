//! The CAR API: `POST /auth` (the gateway's token endpoint) and `/sm/v1/*`.
//!
//! - [`auth`] — `/auth` and the bearer extractor.
//! - [`error`] — the gateway 401 body and the CAR error envelope.
//! - [`extract`] — the engine catch-up every `/sm/v1` route runs first, and the JSON body
//!   extractor whose rejection is the CAR 400.
//! - [`body`] — the search body (filter, paging, sort, date bounds) and its compilation.
//! - [`views`] — store rows as the guide's JSON shapes.
//! - [`scripts`], [`execute`], [`scheduler`], [`lists`] — the handlers.
//! - [`engine`] — schedules fire and jobs progress as the store clock moves.
//! - [`recurrence`] — when a schedule fires (pure date arithmetic).

mod auth;
mod body;
pub(crate) mod engine;
pub(crate) mod error;
mod execute;
pub(crate) mod extract;
mod lists;
mod recurrence;
mod scheduler;
mod scripts;
pub(crate) mod views;

use axum::Router;
use axum::http::Uri;
use axum::routing::{any, get, post};

use crate::state::AppState;
use auth::CarCaller;
use error::CarError;

/// `/auth` and every `/sm/v1` route; the latter behind the engine's catch-up layer.
pub fn router(state: &AppState) -> Router<AppState> {
    let sm = Router::new()
        .route("/sm/v1/scripts/search", post(scripts::search))
        .route("/sm/v1/scripts/export", get(scripts::export))
        .route("/sm/v1/scripts/import", post(scripts::import))
        .route("/sm/v1/scripts/activities", post(lists::activities))
        .route("/sm/v1/scripts/scheduler", post(scheduler::create))
        .route("/sm/v1/scripts/{key}", get(scripts::get))
        .route("/sm/v1/scripts/{key}/clone", post(scripts::clone))
        .route("/sm/v1/scripts/{key}/execute", post(execute::execute))
        .route("/sm/v1/assets/search", post(lists::assets))
        .route("/sm/v1/assettags/search", post(lists::tags))
        .route("/sm/v1/jobs/search", post(lists::jobs))
        .route("/sm/v1/assetjobs/search", post(lists::asset_jobs))
        .route("/sm/v1", any(unknown))
        .route("/sm/v1/{*rest}", any(unknown))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            extract::catch_up_first,
        ));
    Router::new().route("/auth", post(auth::login)).merge(sm)
}

/// The gateway authenticates before routing: an unknown `/sm/v1` path is 401 without a
/// valid token and 404 with one.
async fn unknown(_caller: CarCaller, uri: Uri) -> CarError {
    CarError::NotFound(format!("No resource at {}", uri.path()))
}
