//! QPS errors: a `ServiceResponse` with an error `responseCode` and
//! `responseErrorDetails`, texts as the CM guide's Troubleshooting table words them.
//!
//! HTTP status: real traffic shows QPS answering request errors with **200** and the error
//! in the body, so every error here is 200 except authentication: a missing or wrong
//! credential answers **401** (with the same body), which is what HTTP clients and the
//! vendor's Postman collection treat as a failed login. See README "Choices".

use axum::http::StatusCode;

use crate::store::StoreError;

/// One QPS error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmError {
    pub code: &'static str,
    pub message: String,
    pub resolution: String,
    pub status: StatusCode,
}

impl CmError {
    fn new(code: &'static str, message: impl Into<String>, resolution: impl Into<String>) -> Self {
        CmError {
            code,
            message: message.into(),
            resolution: resolution.into(),
            status: StatusCode::OK,
        }
    }

    /// No credentials at all.
    pub fn credentials_needed() -> Self {
        CmError {
            status: StatusCode::UNAUTHORIZED,
            ..CmError::new(
                "AUTH_CREDENTIALS_NEEDED",
                "Login and password are required",
                "Provide the user and password credentials with HTTP Basic authentication \
                 (or the user and password request headers).",
            )
        }
    }

    /// Credentials that match no user.
    pub fn invalid_credentials() -> Self {
        CmError {
            status: StatusCode::UNAUTHORIZED,
            ..CmError::new(
                "INVALID_CREDENTIALS",
                "Authentication failed",
                "Verify both, user and password credentials.",
            )
        }
    }

    /// A request the service does not understand (unknown path or operation).
    pub fn invalid_request(message: impl Into<String>, resolution: impl Into<String>) -> Self {
        CmError::new("INVALID_REQUEST", message, resolution)
    }

    /// A user whose subscription lacks the CM module.
    pub fn no_cm_module() -> Self {
        CmError::new(
            "UNAUTHORIZED",
            "You do not have access to the module Continuous Monitoring required by this API.",
            "Please contact your account manager to have CM enabled in your subscription.",
        )
    }

    /// `get` of an id the caller's customer does not have (another customer's included).
    pub fn not_found(object: &str, id: &str) -> Self {
        CmError::new(
            "OBJECT_NOT_FOUND",
            format!("{object} with id {id} does not exist."),
            "Verify the id; search to list the objects you can access.",
        )
    }

    /// A fault of the emulator itself.
    pub fn internal(message: impl Into<String>) -> Self {
        CmError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            ..CmError::new(
                "INTERNAL_ERROR",
                message,
                "Retry the request; if it fails again, report it with the server log.",
            )
        }
    }
}

impl From<StoreError> for CmError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store error on the CM API");
        CmError::internal("An internal error occurred while processing the request.")
    }
}
