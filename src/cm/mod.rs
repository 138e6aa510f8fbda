//! The Continuous Monitoring API: `/qps/rest/...`, HTTP Basic auth, XML and JSON
//! `ServiceRequest`/`ServiceResponse`.
//!
//! - [`wire`] — the `ServiceResponse` tree and its XML/JSON rendering.
//! - [`reply`] — request context, the rendered reply, the Basic-auth extractor.
//! - [`error`] — QPS error codes and texts.
//! - [`version`] — `/qps/rest/portal/version`.

pub mod error;
pub mod reply;
pub mod version;
pub mod wire;

use axum::Router;
use axum::routing::{any, get};

use crate::state::AppState;
use error::CmError;
use reply::{CmCaller, Ctx, Reply};

/// Every QPS path, with and without its trailing slash.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/qps/rest/portal/version",
            get(version::version).post(version::version),
        )
        .route(
            "/qps/rest/portal/version/",
            get(version::version).post(version::version),
        )
        .route("/qps/rest/{*rest}", any(unknown))
}

/// A QPS path that names no operation: authenticate first (as QPS does), then refuse.
async fn unknown(ctx: Ctx, _caller: CmCaller, uri: axum::http::Uri) -> Reply {
    ctx.fail(CmError::invalid_request(
        format!("Unknown operation: {}", uri.path()),
        "Check the URL against the Continuous Monitoring API guide.",
    ))
}
