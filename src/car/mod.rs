//! The CAR API: `POST /auth` (the gateway's token endpoint) and `/sm/v1/*`.
//!
//! - [`auth`] — `/auth` and the bearer extractor.
//! - [`error`] — the gateway 401 body and the CAR error envelope.
//! - [`extract`] — the engine catch-up every `/sm/v1` route runs first, and the JSON body
//!   extractor whose rejection is the CAR 400.
//! - [`keys`] — the keys each JSON body takes, declared on its route.
//! - [`body`] — the search body (filter, paging, sort, date bounds) and its compilation.
//! - [`views`] — store rows as the guide's JSON shapes.
//! - [`scripts`], [`execute`], [`scheduler`], [`lists`] — the handlers of the guide's routes;
//!   [`authoring`] (script create and update, their lookups, the retired routes) and
//!   [`schedules`] (the 2025 scheduler APIs) — those the vendor added since.
//! - [`engine`] — schedules fire and jobs progress as the store clock moves.
//! - [`recurrence`] — when a schedule fires (pure date arithmetic).
//! - [`refusal`] — the CAR answer (status, wording) to each refusal of the store.

pub(crate) mod auth;
mod authoring;
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
mod schedules;
mod scripts;
pub(crate) mod views;

use axum::Router;
use axum::http::Uri;
use axum::routing::{any, get, patch, post};

use crate::guard::GuardLayer;
use crate::state::AppState;
use auth::CarCaller;
use error::CarError;
use keys::{accepts, accepts_any_case};

/// `/auth` and every `/sm/*` route, each with and without a trailing slash (clients use
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
        ("/sm/v1/script-types", get(authoring::script_types)),
        ("/sm/v1/script-language", get(authoring::script_languages)),
        (
            "/sm/v5/script",
            post(authoring::create_v5).layer(accepts_any_case(keys::SCRIPT_CREATE)),
        ),
        (
            "/sm/v4/script",
            post(authoring::create_v4).layer(accepts_any_case(keys::SCRIPT_CREATE)),
        ),
        (
            "/sm/v4/script/{id}",
            patch(authoring::update).layer(accepts_any_case(keys::SCRIPT_UPDATE)),
        ),
        (
            "/sm/v1/scheduler/search",
            post(schedules::search).layer(accepts_any_case(keys::SCHEDULE_SEARCH)),
        ),
        (
            "/sm/v1/scheduler/{id}",
            get(schedules::get)
                .post(schedules::update)
                .delete(schedules::delete)
                .layer(accepts(keys::SCHEDULE)),
        ),
        ("/sm/v1/scheduler/{id}/activate", post(schedules::activate)),
        (
            "/sm/v1/scheduler/{id}/deactivate",
            post(schedules::deactivate),
        ),
    ]
    .into_iter()
    .fold(Router::new(), |router, (path, handler)| {
        router
            .route(&format!("{path}/"), handler.clone())
            .route(path, handler)
    })
    // The retired script create and update routes: 410 naming the replacement, whatever
    // the method.
    .route("/sm/v1/script", any(authoring::retired))
    .route("/sm/v1/script/{id}", any(authoring::retired))
    .route("/sm/v2/script", any(authoring::retired))
    .route("/sm/v2/script/{id}", any(authoring::retired))
    .route("/sm/v3/script", any(authoring::retired))
    .route("/sm/v3/script/{id}", any(authoring::retired))
    .route("/sm/v1", any(unknown))
    .route("/sm/v1/{*rest}", any(unknown))
    .route_layer(GuardLayer(engine::CatchUpFirst::<CarError>::new(state)));
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
