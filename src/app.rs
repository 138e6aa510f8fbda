//! The app: both API surfaces and the control endpoints merged into one router over one
//! state, the fallbacks that answer what no route takes, and the layers every request
//! passes through.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;

use crate::state::AppState;
use crate::{car, classic, cm, control, http};

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

/// A path no surface has: 404 in the format of the surface its prefix names.
async fn not_found(
    axum::extract::State(state): axum::extract::State<AppState>,
    ctx: cm::reply::Ctx,
    uri: Uri,
) -> axum::response::Response {
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

/// Which API a path belongs to, by its prefix.
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
        } else if path.starts_with("/msp/") || path == "/msp" {
            Surface::Classic
        } else {
            Surface::Car
        }
    }
}
