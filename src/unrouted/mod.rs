//! The requests no emulated route takes: the first stub that matches answers one
//! ([`stubs`]), else the platform behind `--proxy-unmatched` ([`forward`], which records
//! what it forwards when asked), else the 404 of the request's surface. The router's
//! fallbacks; the stub set and the proxy client they read are data in the state below.

mod forward;
mod stubs;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::http::Surface;
use crate::state::AppState;
use crate::{car, classic, cm, control};

/// A path no surface has: a stub's answer (`--stubs`, `/_mock/stubs`) or the platform's
/// (`--proxy-unmatched`) when either has one, else 404 in the format of the request's
/// surface. The router's fallback.
pub(crate) async fn not_found(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
) -> Response {
    let parts = match answer_unrouted(&state, request).await {
        Ok(answer) => return answer,
        Err(request) => request.into_parts().0,
    };
    refuse_unknown_path(&state, &parts)
}

/// 404 in the format of the request's surface.
fn refuse_unknown_path(state: &AppState, parts: &axum::http::request::Parts) -> Response {
    let path = parts.uri.path();
    let surface = Surface::of_request(&parts.extensions, path);
    let ctx = cm::reply::Ctx::from_parts(parts);
    let now_s = state.clock.now_ms().div_euclid(1000);
    let message = format!("No resource at {path}");
    match surface {
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

/// A `/qps/rest/` path no CM route takes: a stub's answer or the platform's when either
/// has one, else CM's own refusal (after checking the caller, as QPS does).
pub(crate) async fn unknown_qps_operation(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
) -> Response {
    match answer_unrouted(&state, request).await {
        Ok(answer) => answer,
        Err(request) => cm::unknown_operation(&state, request.into_parts().0).await,
    }
}

/// A request no emulated route takes: the first stub that matches answers it, else the
/// platform behind `--proxy-unmatched`; `Err` gives it back when neither does.
async fn answer_unrouted(
    state: &AppState,
    request: axum::extract::Request,
) -> Result<Response, axum::extract::Request> {
    let request = match stubs::answer(state, request).await {
        stubs::Answer::Stub(response) => return Ok(response),
        stubs::Answer::Unmatched(request) => request,
    };
    forward::forward(state, request).await
}
