//! CAR errors, in the gateway's formats.
//!
//! - 401 from the gateway: `{"status":401,"error":"Unauthorized","message":"JWT expired"}`
//!   (or `Not authenticated`), as the research notes record for gateway APIs.
//! - Other errors: the CAR envelope with `errorCode` (the HTTP status as a string) and
//!   `message` filled and `body` null. The guides do not show these bodies; this shape is
//!   the inferred one (README "Choices").

use axum::Json;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::auth::TokenError;
use crate::store::StoreError;

/// Rate-limit details for a 429.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RateLimit {
    pub(crate) limit: u64,
    pub(crate) window_s: u64,
    pub(crate) remaining: u64,
    pub(crate) retry_after_s: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CarError {
    /// A gateway authentication failure (bearer token).
    #[error("{0}")]
    Token(TokenError),
    /// `/auth` refused the credentials.
    #[error("{0}")]
    LoginFailed(String),
    /// A gateway-level bad request (`/auth` form).
    #[error("{0}")]
    GatewayBadRequest(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// A route the vendor has retired (its replacement named).
    #[error("{0}")]
    Gone(String),
    /// A body over the server's limit (the outer body limit words the answer).
    #[error("{0}")]
    TooLarge(String),
    #[error("{message}")]
    TooManyRequests { message: String, limit: RateLimit },
    #[error("{0}")]
    Internal(String),
    /// The emulator cannot store the change now (its disk is full); the request may be
    /// sent again.
    #[error("{0}")]
    Unavailable(String),
}

impl CarError {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            CarError::Token(_) | CarError::LoginFailed(_) => StatusCode::UNAUTHORIZED,
            CarError::GatewayBadRequest(_) | CarError::BadRequest(_) => StatusCode::BAD_REQUEST,
            CarError::NotFound(_) => StatusCode::NOT_FOUND,
            CarError::Conflict(_) => StatusCode::CONFLICT,
            CarError::Gone(_) => StatusCode::GONE,
            CarError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            CarError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            CarError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            CarError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// The gateway's own error body: `{"status": 401, "error": "Unauthorized", "message": ..}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub(crate) struct GatewayBody {
    status: u16,
    error: &'static str,
    message: String,
}

/// The gateway's own error body for `status`.
pub(crate) fn gateway_body(status: StatusCode, message: &str) -> GatewayBody {
    GatewayBody {
        status: status.as_u16(),
        error: status.canonical_reason().unwrap_or(""),
        message: message.to_owned(),
    }
}

/// The challenge on a `/sm/v1` 401 (`/auth` is a form login and has none).
pub(crate) const BEARER_CHALLENGE: &str = "Bearer realm=\"Qualys API Gateway\"";
const BEARER_EXPIRED: &str = "Bearer realm=\"Qualys API Gateway\", error=\"invalid_token\", \
                              error_description=\"JWT expired\"";

/// The CAR error envelope: `errorCode` the status as a string, `body` null.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ErrorEnvelope<'a> {
    error_code: String,
    message: &'a str,
    #[schema(schema_with = crate::schemas::null)]
    body: Option<()>,
}

impl IntoResponse for CarError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = self.to_string();
        match self {
            CarError::Token(e) => {
                // RFC 6750: a bearer-protected resource's 401 names the scheme it wants.
                let challenge = match e {
                    TokenError::Expired => BEARER_EXPIRED,
                    TokenError::Invalid => BEARER_CHALLENGE,
                };
                (
                    status,
                    [(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static(challenge),
                    )],
                    Json(gateway_body(status, &message)),
                )
                    .into_response()
            }
            CarError::LoginFailed(_) | CarError::GatewayBadRequest(_) => {
                (status, Json(gateway_body(status, &message))).into_response()
            }
            CarError::TooManyRequests { limit, .. } => {
                let mut response = (status, envelope(status, &message)).into_response();
                let headers = response.headers_mut();
                let mut put = |name: &'static str, value: u64| {
                    headers.insert(HeaderName::from_static(name), HeaderValue::from(value));
                };
                put("x-ratelimit-limit", limit.limit);
                put("x-ratelimit-window-sec", limit.window_s);
                put("x-ratelimit-remaining", limit.remaining);
                // How long to wait is never 0: clients that honour it would retry in a
                // hot loop.
                let wait = limit.retry_after_s.max(1);
                put("x-ratelimit-towait-sec", wait);
                headers.insert(header::RETRY_AFTER, HeaderValue::from(wait));
                response
            }
            _ => (status, envelope(status, &message)).into_response(),
        }
    }
}

fn envelope(status: StatusCode, message: &str) -> Json<ErrorEnvelope<'_>> {
    Json(ErrorEnvelope {
        error_code: status.as_u16().to_string(),
        message,
        body: None,
    })
}

/// The answer to a request the store could not take because its disk is full.
pub(crate) const FULL_DISK: &str =
    "The emulator's disk is full; nothing was changed. Retry once there is room.";

impl From<StoreError> for CarError {
    fn from(e: StoreError) -> Self {
        if let StoreError::TooSlow(limit) = e {
            return CarError::BadRequest(format!(
                "The search ran longer than {} s and was stopped; narrow the filter",
                limit.as_secs()
            ));
        }
        if let StoreError::Full = e {
            tracing::error!("the disk that holds the store is full: a CAR request was refused");
            return CarError::Unavailable(FULL_DISK.to_owned());
        }
        tracing::error!(error = %e, "store error on the CAR API");
        CarError::Internal("Internal server error".to_owned())
    }
}

impl From<TokenError> for CarError {
    fn from(e: TokenError) -> Self {
        CarError::Token(e)
    }
}
