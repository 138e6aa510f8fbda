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
mod views;

use axum::Router;
use axum::http::Uri;
use axum::routing::{any, get, post};

use crate::state::AppState;
use auth::CarCaller;
use error::CarError;
use extract::caught_up;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth", post(auth::login))
        .route("/sm/v1/scripts/search", post(caught_up(scripts::search)))
        .route("/sm/v1/scripts/export", get(caught_up(scripts::export)))
        .route("/sm/v1/scripts/import", post(caught_up(scripts::import)))
        .route(
            "/sm/v1/scripts/activities",
            post(caught_up(lists::activities)),
        )
        .route(
            "/sm/v1/scripts/scheduler",
            post(caught_up(scheduler::create)),
        )
        .route("/sm/v1/scripts/{key}", get(caught_up(scripts::get)))
        .route(
            "/sm/v1/scripts/{key}/clone",
            post(caught_up(scripts::clone)),
        )
        .route(
            "/sm/v1/scripts/{key}/execute",
            post(caught_up(execute::execute)),
        )
        .route("/sm/v1/assets/search", post(caught_up(lists::assets)))
        .route("/sm/v1/assettags/search", post(caught_up(lists::tags)))
        .route("/sm/v1/jobs/search", post(caught_up(lists::jobs)))
        .route(
            "/sm/v1/assetjobs/search",
            post(caught_up(lists::asset_jobs)),
        )
        .route("/sm/v1", any(caught_up(unknown)))
        .route("/sm/v1/{*rest}", any(caught_up(unknown)))
}

/// The gateway authenticates before routing: an unknown `/sm/v1` path is 401 without a
/// valid token and 404 with one.
async fn unknown(_caller: CarCaller, uri: Uri) -> CarError {
    CarError::NotFound(format!("No resource at {}", uri.path()))
}
