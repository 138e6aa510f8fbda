//! The emulator's own endpoints, under the reserved `/_mock/` prefix (no Qualys path starts
//! with it). JSON in and out.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/_mock/health", get(health))
}

/// `GET /_mock/health`: 200 once the store is loaded, with the seed's name and record counts.
async fn health(State(state): State<AppState>) -> Response {
    match state.store.record_counts().await {
        Ok(counts) => Json(json!({
            "status": "ok",
            "version": env!("CARGO_PKG_VERSION"),
            "seed": state.info.seed_name,
            "counts": counts,
            "clock": state.clock.state(),
        }))
        .into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "error": e.to_string()})),
        )
            .into_response(),
    }
}
