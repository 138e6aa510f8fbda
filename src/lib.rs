//! qualys-mock: a local, stateful emulator of two Qualys APIs — CAR (`/auth`, `/sm/v1`) and
//! Continuous Monitoring (`/qps/rest`) — for offline tests, CI fixtures and docker-compose
//! test environments.
//!
//! Two wire surfaces stand over one core: one SQLite store, one clock, one filter engine and
//! one pagination model. Each surface renders its own wire format and its own errors.
//!
//! # Using it from Rust
//!
//! [`MockServer`] starts the emulator in-process on a free port (see its example); [`app`]
//! gives the axum `Router` over an [`AppState`] ([`AppState::from_config`]) for embedding.
//! Both run from a [`ServerConfig`], plain values that [`ServerConfig::check`] refuses with a
//! [`ConfigError`] when they cannot work. The control operations' types ([`NewCustomer`],
//! [`FaultSpec`], [`JournalFilter`], [`Limits`], ...) are re-exported here. [`cli::main`] is
//! the `qualys-mock` binary. Nothing else is public.
//!
//! # Layout
//!
//! - `main.rs` — the allocator, then [`cli::main`].
//! - `cli` — the command line (clap); every flag also a `QUALYS_MOCK_*` variable; the flags
//!   become a [`ServerConfig`]; the subcommands; the start banner.
//! - `config` — [`ServerConfig`]: everything a server runs with, as plain values.
//! - `server` — the state a `ServerConfig` describes, the listeners (HTTP, HTTPS), the ready
//!   file, graceful shutdown.
//! - `conn` — one listener's connections: header, body and idle timeouts.
//! - `logging` — text or JSON lines through a lossy writer that never blocks a request.
//! - `tls` — certificates (given or generated) and the TLS listener.
//! - `state/` — `AppState`: store, clock, JWT keys, limits, caches; cheap to clone. The
//!   control state's data (journal ring, fault rules) lives here, below `control`.
//! - `clock` — the only source of "now"; tests and the control API move it.
//! - `dates` — epoch seconds and milliseconds to ISO 8601 text and back, for every surface.
//! - `auth` — gateway JWT issue and verify, framework-free.
//! - `store/` — the only code that touches SQLite: where the data lives (a private file by
//!   default, a `--db` file, or memory) and its connections (one writer, readers beside it
//!   in WAL), schema, the one table of object types
//!   (`objects.rs`), the baseline and reset (`baseline.rs`), runtime customers and seeds,
//!   seed loading, one search, queries per object.
//! - `car/` — the CAR surface: `/auth`, `/sm/v1/*`; the engine's catch-up as a route layer,
//!   body and bearer extractors whose rejections are CAR errors, typed wire views.
//! - `cm/` — the CM surface: `/qps/rest/*`, Basic auth, `ServiceResponse` in XML and JSON,
//!   the served XSDs.
//! - `classic/` — the classic platform surface (`/msp/`): `about.php`, the Basic login
//!   probe clients such as qualysdk call, with the API-limit headers; VM-style XML errors.
//! - `control/` — `/_mock/*`: health, reset, customers, seed, clock, request journal,
//!   faults, CM events, asset-job outcomes, config, and the index at `/_mock/`.
//! - `mock` — [`MockServer`]: the emulator in-process, for Rust tests.
//! - `query/` — the one filter engine: QQL and QPS criteria → one tree with spans →
//!   validated once → SQL.
//! - `page` — the one pagination model (window in, page with has-more out).
//! - `proxy/` — `--proxy-unmatched`: what no emulated API answers, forwarded to the platform;
//!   `--record-stubs` writes each new pair as a WireMock mapping.
//! - `iprange` — CM profile target lists (`10.10.10.1-10.10.31.255`).
//! - `http` — cross-cutting layers: request logging, body size limit.
//! - `healthcheck` — the `healthcheck` subcommand's tiny HTTP probe.
//! - `generate/` — the `generate` subcommand: deterministic data sets of any size.
//! - `record/` — the `record` subcommand: a real tenant harvested into a seed folder.
//! - `xml` — the small element tree both the CM request parser and the recorder read.
//! - `rng` — a small seedable generator (data sets, fault probabilities).
//!
//! `seed-data/` (embedded at build time) is the default data set; `tests/api/` drives the
//! real HTTP surface through the public API; white-box tests sit beside their code
//! (`test_app` is their in-crate app). `docs/ARCHITECTURE.md` walks a request through.

// The library's API is what the crate root re-exports below, and `cli::main` (the binary).
// Everything else is the crate's own; its white-box tests live beside it (`#[cfg(test)]`).
mod auth;
mod car;
mod classic;
pub mod cli;
mod clock;
mod cm;
mod config;
mod conn;
mod control;
mod dates;
mod generate;
mod healthcheck;
mod http;
mod iprange;
mod logging;
mod mock;
mod openapi;
mod page;
mod proxy;
mod query;
mod record;
mod rng;
mod schemas;
mod server;
mod state;
mod store;
mod stubs;
#[cfg(test)]
mod test_app;
mod tls;
mod xml;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;

pub use clock::{Clock, ClockState};
pub use config::{Certificate, ConfigError, HttpsConfig, ProxyConfig, ServerConfig, Timeouts};
pub use control::ops::{
    ClockChange, ConfigChange, ControlError, ControlResult, CreatedCustomer, ForcedOutcome,
    NewCustomer, ResetReport, ResetRequest, ResetScope,
};
pub use mock::{MockServer, MockServerBuilder};
pub use server::StartError;
pub use state::faults::{Fault, FaultSpec};
pub use state::journal::{Entry as JournalEntry, Filter as JournalFilter};
pub use state::{AppState, Limits};
pub use store::{Seed, SeedError};

/// The whole service: both API surfaces and the control endpoints over one state.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(car::router(&state))
        .merge(cm::router())
        .merge(classic::router())
        .merge(control::router(&state))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard_bodies,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            path_must_decode,
        ))
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
        // `guard_bodies` enforces `--max-body-bytes` on every body, whoever reads it.
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

/// A known path called with a method it does not take: 405, in the format of the surface
/// the path belongs to (a CM client gets a `ServiceResponse`, a CAR client the gateway's
/// JSON, a control caller `{"error"}`, a classic caller `SIMPLE_RETURN`), with `Allow`.
async fn method_not_allowed(
    axum::extract::State(state): axum::extract::State<AppState>,
    ctx: cm::reply::Ctx,
    method: axum::http::Method,
    uri: Uri,
) -> axum::response::Response {
    let path = uri.path();
    let now_s = state.clock.now_ms().div_euclid(1000);
    let message = format!("{method} is not supported on {path}");
    let mut response = match Surface::of(path) {
        Surface::Cm => cm::wrong_method(ctx, message).into_response(),
        Surface::Control => control::error_body(StatusCode::METHOD_NOT_ALLOWED, message),
        Surface::Classic => {
            classic::simple_return(StatusCode::METHOD_NOT_ALLOWED, now_s, None, &message)
        }
        Surface::Car => (
            StatusCode::METHOD_NOT_ALLOWED,
            axum::Json(car::error::gateway_body(
                StatusCode::METHOD_NOT_ALLOWED,
                &message,
            )),
        )
            .into_response(),
    };
    // CAR and control: the router fills `Allow` with the methods the path really takes.
    if Surface::of(path) == Surface::Cm {
        response.headers_mut().insert(
            axum::http::header::ALLOW,
            axum::http::HeaderValue::from_static("GET, POST"),
        );
    }
    response
}

/// A path whose percent-encoding does not decode to UTF-8 (`/sm/v1/scripts/%FF`) names no
/// resource: 400 in the format of its surface, before any path extractor sees it.
async fn path_must_decode(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let path = request.uri().path();
    if http::percent_decodes_to_utf8(path) {
        return next.run(request).await;
    }
    let message = format!("The path {path} is not valid percent-encoded UTF-8");
    match Surface::of(path) {
        Surface::Cm => {
            let (parts, _) = request.into_parts();
            cm::reply::Ctx::from_parts(&parts)
                .fail(cm::error::CmError::invalid_request(
                    message,
                    "Percent-encode the path's text as UTF-8",
                ))
                .into_response()
        }
        Surface::Control => control::error_body(StatusCode::BAD_REQUEST, message),
        Surface::Classic => classic::simple_return(
            StatusCode::BAD_REQUEST,
            state.clock.now_ms().div_euclid(1000),
            None,
            &message,
        ),
        Surface::Car => car::error::CarError::BadRequest(message).into_response(),
    }
}

/// Every request body read under `--max-body-bytes` and the budget of bodies in flight
/// (`http::guard_body`); a body that ended early — too large, stalled, past its deadline,
/// or refused room — is answered here, in the format of the request's surface, whatever
/// the handler that was reading it made of the error.
async fn guard_bodies(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let ctx = cm::reply::Ctx::for_request(request.uri(), request.headers(), request.extensions());
    let path = request.uri().path().to_owned();
    match http::guard_body(request, state.info.max_body_bytes, &state.info.body_budget) {
        Err(refused) => body_refused(&path, ctx, &state, refused),
        Ok((request, watch)) => {
            let response = next.run(request).await;
            match watch.error() {
                Some(refused) => body_refused(&path, ctx, &state, refused),
                None => response,
            }
        }
    }
}

/// The one answer to a body that ended early, per surface: the gateway's JSON on CAR, a
/// `ServiceResponse` on CM (in the request's format), `{"error"}` on control,
/// `SIMPLE_RETURN` on the classic pages; 413 for too
/// large, 408 for a stall or a missed deadline, 503 (with `Retry-After`) when no budget
/// was free.
fn body_refused(
    path: &str,
    ctx: cm::reply::Ctx,
    state: &AppState,
    refused: http::BodyError,
) -> axum::response::Response {
    let status = refused.status();
    let message = refused.to_string();
    let mut response = match Surface::of(path) {
        Surface::Cm => ctx
            .fail(cm::error::CmError::body_refused(status, message))
            .into_response(),
        Surface::Control => control::error_body(status, message),
        Surface::Classic => classic::simple_return(
            status,
            state.clock.now_ms().div_euclid(1000),
            None,
            &message,
        ),
        Surface::Car => (
            status,
            axum::Json(car::error::gateway_body(status, &message)),
        )
            .into_response(),
    };
    if refused == http::BodyError::Busy {
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from_static("1"),
        );
    }
    response
}

/// A path no surface has: a stub's answer (`--stubs`, `/_mock/stubs`) or the platform's
/// (`--proxy-unmatched`) when either has one, else 404 in the format of the surface its
/// prefix names.
async fn not_found(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
) -> axum::response::Response {
    let parts = match answer_unrouted(&state, request).await {
        Ok(answer) => return answer,
        Err(request) => request.into_parts().0,
    };
    let (ctx, uri) = (cm::reply::Ctx::from_parts(&parts), parts.uri);
    let path = uri.path();
    let now_s = state.clock.now_ms().div_euclid(1000);
    let message = format!("No resource at {path}");
    match Surface::of(path) {
        Surface::Cm => cm::no_such_path(ctx, message).into_response(),
        Surface::Control => control::error_body(StatusCode::NOT_FOUND, message),
        Surface::Classic => classic::simple_return(StatusCode::NOT_FOUND, now_s, None, &message),
        Surface::Car => (
            StatusCode::NOT_FOUND,
            axum::Json(car::error::gateway_body(StatusCode::NOT_FOUND, &message)),
        )
            .into_response(),
    }
}

/// A request no emulated route takes: the first stub that matches answers it, else the
/// platform behind `--proxy-unmatched`; `Err` gives it back when neither does.
pub(crate) async fn answer_unrouted(
    state: &AppState,
    request: axum::extract::Request,
) -> Result<axum::response::Response, axum::extract::Request> {
    let request = match stubs::answer(state, request).await {
        stubs::Answer::Stub(response) => return Ok(response),
        stubs::Answer::Unmatched(request) => request,
    };
    proxy::forward(state, request).await
}

/// Which API a path belongs to, by its prefix (`/api/` is the classic platform's VM API,
/// which only stubs answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Surface {
    Car,
    Cm,
    Control,
    Classic,
}

impl Surface {
    fn of(path: &str) -> Surface {
        if path.starts_with("/qps/") || path == "/qps" {
            Surface::Cm
        } else if control::is_control_path(path) {
            Surface::Control
        } else if path.starts_with("/msp/") || path == "/msp" || path.starts_with("/api/") {
            Surface::Classic
        } else {
            Surface::Car
        }
    }
}
