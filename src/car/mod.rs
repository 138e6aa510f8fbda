//! The CAR API: `POST /auth` (the gateway's token endpoint) and `/sm/v1/*`.
//!
//! - [`auth`] — `/auth` and the bearer extractor.
//! - [`error`] — the gateway 401 body and the CAR error envelope.
//! - [`extract`] — the engine catch-up every `/sm/v1` route runs first, and the JSON body
//!   extractor whose rejection is the CAR 400.
//! - [`keys`] — the keys each JSON body takes, declared on its route.
//! - [`body`] — the search body (filter, paging, sort, date bounds) and its compilation.
//! - [`views`] — store rows as the guide's JSON shapes.
//! - [`scripts`], [`execute`], [`scheduler`], [`lists`] — the handlers.
//! - [`engine`] — schedules fire and jobs progress as the store clock moves.
//! - [`recurrence`] — when a schedule fires (pure date arithmetic).
//! - [`refusal`] — the CAR answer (status, wording) to each refusal of the store.

mod auth;
mod body;
pub(crate) mod engine;
pub(crate) mod error;
mod execute;
pub(crate) mod extract;
mod keys;
mod lists;
mod recurrence;
mod refusal;
mod scheduler;
mod scripts;
pub(crate) mod views;

use axum::Router;
use axum::http::Uri;
use axum::routing::{any, get, post};

use crate::state::AppState;
use auth::CarCaller;
use error::CarError;
use keys::{accepts, accepts_any_case};

/// `/auth` and every `/sm/v1` route, each with and without a trailing slash (clients use
/// both, and CM takes both); the `/sm/v1` ones behind the engine's catch-up layer.
pub fn router(state: &AppState) -> Router<AppState> {
    let sm = [
        (
            "/sm/v1/scripts/search",
            post(scripts::search).layer(accepts_any_case(keys::SEARCH)),
        ),
        ("/sm/v1/scripts/export", get(scripts::export)),
        ("/sm/v1/scripts/import", post(scripts::import)),
        (
            "/sm/v1/scripts/activities",
            post(lists::activities).layer(accepts_any_case(keys::SEARCH_START_DATE)),
        ),
        (
            "/sm/v1/scripts/scheduler",
            post(scheduler::create).layer(accepts(keys::SCHEDULE)),
        ),
        ("/sm/v1/scripts/{key}", get(scripts::get)),
        (
            "/sm/v1/scripts/{key}/clone",
            post(scripts::clone).layer(accepts(keys::CLONE)),
        ),
        (
            "/sm/v1/scripts/{key}/execute",
            post(execute::execute).layer(accepts(keys::EXECUTE)),
        ),
        (
            "/sm/v1/assets/search",
            post(lists::assets).layer(accepts_any_case(keys::SEARCH)),
        ),
        (
            "/sm/v1/assettags/search",
            post(lists::tags).layer(accepts_any_case(keys::SEARCH)),
        ),
        (
            "/sm/v1/jobs/search",
            post(lists::jobs).layer(accepts_any_case(keys::SEARCH_START_AT)),
        ),
        (
            "/sm/v1/assetjobs/search",
            post(lists::asset_jobs).layer(accepts_any_case(keys::SEARCH_START_AT)),
        ),
    ]
    .into_iter()
    .fold(Router::new(), |router, (path, handler)| {
        router
            .route(&format!("{path}/"), handler.clone())
            .route(path, handler)
    })
    .route("/sm/v1", any(unknown))
    .route("/sm/v1/{*rest}", any(unknown))
    .route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        extract::catch_up_first,
    ));
    Router::new()
        .route("/auth", post(auth::login))
        .route("/auth/", post(auth::login))
        .merge(sm)
}

/// The gateway authenticates before routing: an unknown `/sm/v1` path is 401 without a
/// valid token and 404 with one.
async fn unknown(_caller: CarCaller, uri: Uri) -> CarError {
    CarError::NotFound(format!("No resource at {}", uri.path()))
}
