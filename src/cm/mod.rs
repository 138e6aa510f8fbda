//! The Continuous Monitoring API: `/qps/rest/...`, HTTP Basic auth, XML and JSON
//! `ServiceRequest`/`ServiceResponse`.
//!
//! - [`wire`] — the `ServiceResponse` tree and its XML/JSON rendering.
//! - [`reply`] — request context, the rendered reply, the Basic-auth extractor.
//! - [`error`] — QPS error codes and texts.
//! - [`request`] — `ServiceRequest` in (XML or JSON): preferences and criteria.
//! - [`objects`] — the four object types: catalogs, rows rendered as record trees.
//! - [`fields`] — the `fields` URL parameter.
//! - [`search`] — search, get and download handlers; QPS paging.
//! - [`download`] — CSV and CEF.
//! - [`version`] — `/qps/rest/portal/version`.
//! - [`xsd`] — the schemas XML answers name, served at `/qps/xsd/...`.

pub mod download;
pub mod error;
pub mod events;
pub mod fields;
pub mod objects;
pub mod reply;
pub mod request;
pub mod search;
pub mod version;
pub mod wire;
pub mod xsd;

use axum::Router;
use axum::routing::{MethodRouter, get};

use crate::state::AppState;
use error::CmError;
use reply::{CmCaller, Ctx, Reply};

/// Every QPS path, with and without its trailing slash.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/qps/xsd/{*name}", get(serve_schema))
        .merge(both_slashes(
            "/qps/rest/portal/version",
            get(version::version).post(version::version),
        ))
        .merge(both_slashes(
            "/qps/rest/1.0/search/cm/{object}",
            get(search::search).post(search::search),
        ))
        .merge(both_slashes(
            "/qps/rest/1.0/get/cm/{object}/{id}",
            get(search::get_one).post(search::get_one),
        ))
        .merge(both_slashes(
            "/qps/rest/1.0/download/cm/{object}",
            get(search::download).post(search::download),
        ))
}

/// `GET /qps/xsd/{*name}`: a schema (no credentials needed: clients and validators fetch
/// them bare), or the CM 404.
async fn serve_schema(
    ctx: Ctx,
    axum::extract::Path(name): axum::extract::Path<String>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let path = format!("/qps/xsd/{name}");
    match xsd::schema(&path) {
        Some(text) => (
            [(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/xml"),
            )],
            text,
        )
            .into_response(),
        None => no_such_path(ctx, format!("No schema at {path}")).into_response(),
    }
}

/// A route at `path` and `path/`: clients use both.
fn both_slashes(path: &str, handler: MethodRouter<AppState>) -> Router<AppState> {
    Router::new()
        .route(path, handler.clone())
        .route(&format!("{path}/"), handler)
}

/// A QPS path that names no CM operation (Asset Management, WAS, ...) and nothing else
/// answered (`app` tries stubs and the proxy first): authenticate first, as QPS does, then
/// refuse.
pub(crate) async fn unknown_operation(
    state: &AppState,
    mut parts: axum::http::request::Parts,
) -> axum::response::Response {
    use axum::extract::FromRequestParts;
    use axum::response::IntoResponse;
    let ctx = Ctx::from_parts(&parts);
    if let Err(refused) = CmCaller::from_request_parts(&mut parts, state).await {
        return refused.into_response();
    }
    ctx.fail(CmError::invalid_request(
        format!("Unknown operation: {}", parts.uri.path()),
        "Check the URL against the Continuous Monitoring API guide.",
    ))
    .into_response()
}

/// A method a QPS path does not take: HTTP 405 with an `INVALID_REQUEST` ServiceResponse.
pub(crate) fn wrong_method(ctx: Ctx, message: String) -> Reply {
    let mut error = CmError::invalid_request(message, "Use GET or POST.");
    error.status = axum::http::StatusCode::METHOD_NOT_ALLOWED;
    ctx.fail(error)
}

/// A `/qps/` path outside `/qps/rest`: HTTP 404 with an `INVALID_REQUEST` ServiceResponse.
pub(crate) fn no_such_path(ctx: Ctx, message: String) -> Reply {
    let mut error = CmError::invalid_request(
        message,
        "Check the URL against the Continuous Monitoring API guide.",
    );
    error.status = axum::http::StatusCode::NOT_FOUND;
    ctx.fail(error)
}
