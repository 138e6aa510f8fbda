//! Cross-cutting HTTP layers: request logging and the body size limit.

use std::time::Instant;

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Logs method, path, status and latency at info; request bodies at debug.
///
/// Latency is measured with a monotonic `Instant`; it is a measurement, not a reading of
/// business time, so it does not go through the store clock.
pub async fn log_requests(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let request = if tracing::enabled!(tracing::Level::DEBUG) {
        let (parts, body) = request.into_parts();
        // The body limit layer runs before this one, so this read is bounded.
        match to_bytes(body, usize::MAX).await {
            Ok(bytes) => {
                tracing::debug!(%method, %path, body = %String::from_utf8_lossy(&bytes), "request body");
                Request::from_parts(parts, Body::from(bytes))
            }
            Err(_) => return payload_too_large(),
        }
    } else {
        request
    };
    let response = next.run(request).await;
    tracing::info!(
        %method,
        %path,
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    response
}

/// The answer to a body over `--max-body-bytes`.
pub fn payload_too_large() -> Response {
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        axum::Json(json!({
            "status": 413,
            "error": "Payload Too Large",
            "message": "The request body is larger than the server accepts",
        })),
    )
        .into_response()
}

/// Reject bodies over `max` bytes up front when `Content-Length` says so; streamed bodies
/// are cut where they are read (`RequestBodyLimitLayer`, `DefaultBodyLimit`). Either way
/// the answer is the same JSON 413.
pub async fn limit_body(max: usize, request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max as u64) {
        return payload_too_large();
    }
    let response = next.run(request).await;
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return payload_too_large();
    }
    response
}
