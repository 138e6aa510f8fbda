//! qualys-mock: a local, stateful emulator of two Qualys APIs — CAR (`/auth`, `/sm/v1`) and
//! Continuous Monitoring (`/qps/rest`) — for offline tests, CI fixtures and docker-compose
//! test environments.
//!
//! Two wire surfaces stand over one core: one SQLite store, one clock, one filter engine and
//! one pagination model. Each surface renders its own wire format and its own errors.
//!
//! # Layout
//!
//! - `main.rs` — thin: parse the command line, start logging, run a subcommand.
//! - [`config`] — the command line (clap); every flag also a `QUALYS_MOCK_*` variable.
//! - [`server`] — start listeners (HTTP, HTTPS), serve, shut down gracefully.
//! - [`tls`] — certificates (given or generated) and the TLS listener.
//! - [`state`] — [`state::AppState`]: store, clock, JWT keys; cheap to clone.
//! - [`clock`] — the only source of "now"; tests and the control API move it.
//! - [`auth`] — gateway JWT issue and verify, framework-free.
//! - [`store`] — the only code that touches SQLite: schema, seed loading, queries per object.
//! - [`car`] — the CAR surface: `/auth`, `/sm/v1/*`, its bearer extractor and error envelope.
//! - [`cm`] — the CM surface: `/qps/rest/*`, Basic auth, `ServiceResponse` in XML and JSON.
//! - [`control`] — `/_mock/*`: health, reset, customers, seed, clock, request journal,
//!   faults, CM events, asset-job outcomes, config.
//! - [`mock`] — [`MockServer`]: the emulator in-process, for Rust tests.
//! - [`query`] — the one filter engine: QQL and QPS criteria → filter tree → SQL.
//! - [`page`] — the one pagination model (window in, page with has-more out).
//! - [`iprange`] — CM profile target lists (`10.10.10.1-10.10.31.255`).
//! - [`http`] — cross-cutting layers: request logging, body size limit.
//! - [`healthcheck`] — the `healthcheck` subcommand's tiny HTTP probe.
//! - [`generate`] — the `generate` subcommand: deterministic data sets of any size.
//! - [`rng`] — a small seedable generator (data sets, fault probabilities).
//!
//! `seed-data/` (embedded at build time) is the default data set; `tests/api/` drives the
//! real HTTP surface.

pub mod auth;
pub mod car;
pub mod clock;
pub mod cm;
pub mod config;
pub mod control;
pub mod generate;
pub mod healthcheck;
pub mod http;
pub mod iprange;
pub mod logging;
pub mod mock;
pub mod page;
pub mod query;
pub mod rng;
pub mod server;
pub mod state;
pub mod store;
pub mod tls;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;
use tower_http::limit::RequestBodyLimitLayer;

pub use mock::MockServer;
pub use state::AppState;

/// The whole service: both API surfaces and the control endpoints over one state.
pub fn app(state: AppState) -> Router {
    let max_body = state.info.max_body_bytes;
    Router::new()
        .merge(car::router())
        .merge(cm::router())
        .merge(control::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(http::log_requests))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            control::faults::inject,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            control::journal::record,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            control::guard,
        ))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(RequestBodyLimitLayer::new(max_body))
        .layer(axum::middleware::from_fn(move |req, next| {
            http::limit_body(max_body, req, next)
        }))
        .with_state(state)
}

/// A known path called with a method it does not take.
async fn method_not_allowed(method: axum::http::Method, uri: Uri) -> impl IntoResponse {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        axum::Json(car::error::gateway_body(
            StatusCode::METHOD_NOT_ALLOWED,
            &format!("{method} is not supported on {}", uri.path()),
        )),
    )
}

/// A path neither API has.
async fn not_found(uri: Uri) -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        axum::Json(car::error::gateway_body(
            StatusCode::NOT_FOUND,
            &format!("No resource at {}", uri.path()),
        )),
    )
}
