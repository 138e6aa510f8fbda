//! The CAR API: `POST /auth` (the gateway's token endpoint) and `/sm/v1/*`.
//!
//! - [`auth`] — `/auth` and the bearer extractor.
//! - [`error`] — the gateway 401 body and the CAR error envelope.

pub mod auth;
pub mod error;

use axum::Router;
use axum::http::Uri;
use axum::routing::{any, post};

use crate::state::AppState;
use auth::CarCaller;
use error::CarError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth", post(auth::login))
        .route("/sm/v1", any(unknown))
        .route("/sm/v1/{*rest}", any(unknown))
}

/// The gateway authenticates before routing: an unknown `/sm/v1` path is 401 without a
/// valid token and 404 with one.
async fn unknown(_caller: CarCaller, uri: Uri) -> CarError {
    CarError::NotFound(format!("No resource at {}", uri.path()))
}
