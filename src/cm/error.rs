//! QPS errors: a `ServiceResponse` with an error `responseCode` and
//! `responseErrorDetails`, texts as the CM guide's Troubleshooting table words them.
//!
//! HTTP status: real traffic shows QPS answering request errors with **200** and the error
//! in the body, so every error here is 200 except authentication: a missing or wrong
//! credential answers **401** (with the same body), which is what HTTP clients and the
//! vendor's Postman collection treat as a failed login. See README "Choices".

use axum::http::StatusCode;

use crate::query::catalog::FieldType;
use crate::query::criteria::{CriteriaError, CriteriaFault};
use crate::query::{InvalidKind, Op};
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

    /// A request body that ended early (`crate::http::BodyError`), with its HTTP status:
    /// 413 and 408 are the client's request (`INVALID_REQUEST`), 503 the server's state.
    pub fn body_refused(status: StatusCode, message: String) -> Self {
        let (code, resolution) = match status {
            StatusCode::PAYLOAD_TOO_LARGE => (
                "INVALID_REQUEST",
                "Send a smaller request body (the server's --max-body-bytes).",
            ),
            StatusCode::REQUEST_TIMEOUT => (
                "INVALID_REQUEST",
                "Send the whole request body promptly, without pausing.",
            ),
            _ => ("INTERNAL_ERROR", "Retry the request shortly."),
        };
        CmError {
            status,
            ..CmError::new(code, message, resolution)
        }
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
        if let StoreError::TooSlow(limit) = e {
            return CmError::invalid_request(
                format!(
                    "The search ran longer than {} s and was stopped.",
                    limit.as_secs()
                ),
                "Narrow the criteria.",
            );
        }
        if let StoreError::Full = e {
            tracing::error!("the disk that holds the store is full: a CM request was refused");
            return CmError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                ..CmError::new(
                    "INTERNAL_ERROR",
                    crate::car::error::FULL_DISK,
                    "Retry the request once the emulator's disk has room.",
                )
            };
        }
        tracing::error!(error = %e, "store error on the CM API");
        CmError::internal("An internal error occurred while processing the request.")
    }
}

/// The CM guide's "Available operators" for a type, as its error texts list them.
fn allowed_ops(ty: FieldType) -> String {
    let names: Vec<&str> = crate::query::criteria::qps_ops(ty)
        .iter()
        .map(|o: &Op| o.qps_name())
        .collect();
    names.join(", ")
}

fn value_resolution(ty: FieldType) -> String {
    match ty {
        FieldType::Boolean => "Values expected: true, false.".to_owned(),
        FieldType::Date(_) => {
            "Specify criteria value(s) as Date and Time in UTC format (YYYY-MM-DDTHH:MM:SSZ)."
                .to_owned()
        }
        FieldType::Keyword(values) => format!("Values expected: {}.", values.join(", ")),
        other => format!("Specify criteria value(s) as {}.", other.qps_name()),
    }
}

/// Criteria errors in the guide's Troubleshooting words (with the value wording real
/// traffic shows), as `INVALID_REQUEST`; the limits in the same style.
impl From<CriteriaError> for CmError {
    fn from(e: CriteriaError) -> Self {
        let (message, resolution) = match e.fault {
            CriteriaFault::FieldRequired => (
                "Criteria: Field is required.".to_owned(),
                "Specify the name of the criteria to search against.".to_owned(),
            ),
            CriteriaFault::InvalidOperator { field, written } => (
                format!(
                    "Criteria: Invalid operator for criteria '{}' ({written}). Allowed \
                     operations for this criteria are: {}.",
                    field.name,
                    allowed_ops(field.ty)
                ),
                "Use one of the operators the message lists.".to_owned(),
            ),
            CriteriaFault::Invalid(kind) => match kind {
                InvalidKind::UnknownField { field, known } => (
                    format!(
                        "Criteria: Invalid criteria ({field}). Please search against one of \
                         the following criteria: {}.",
                        known.join(", ")
                    ),
                    "Search against one of the criteria the message lists.".to_owned(),
                ),
                // QPS has no other way to reach an operator its type refuses; word it as
                // the operator error all the same.
                InvalidKind::OperatorNotAllowed { field, op } => (
                    format!(
                        "Criteria: Invalid operator for criteria '{}' ({}). Allowed \
                         operations for this criteria are: {}.",
                        field.name,
                        op.qps_name(),
                        allowed_ops(field.ty)
                    ),
                    "Use one of the operators the message lists.".to_owned(),
                ),
                InvalidKind::MissingValue { field } => (
                    format!("Criteria: Value is required for criteria '{}'.", field.name),
                    "Specify a value for a field name for search criteria.".to_owned(),
                ),
                InvalidKind::InvalidValue { field, value } => (
                    format!(
                        "Criteria: Invalid value format for criteria '{}' ({value}).",
                        field.name
                    ),
                    value_resolution(field.ty),
                ),
                InvalidKind::ValueTooLong { field, limit } => (
                    format!(
                        "Criteria: Value for criteria '{}' is longer than {limit} bytes.",
                        field.name
                    ),
                    format!("Specify a value of at most {limit} bytes."),
                ),
                InvalidKind::TooManyTerms { limit } => (
                    format!("Criteria: Too many criteria; at most {limit} are allowed."),
                    format!("Search with at most {limit} criteria; split the search if needed."),
                ),
                InvalidKind::TooManyValues { limit } => (
                    format!(
                        "Criteria: Too many values; at most {limit} are allowed in one request."
                    ),
                    format!("Specify at most {limit} values in all; split the search if needed."),
                ),
                InvalidKind::TooDeep { limit } => (
                    format!("Criteria: Criteria nest deeper than {limit} levels."),
                    "Specify a flat list of criteria.".to_owned(),
                ),
            },
        };
        CmError::invalid_request(message, resolution)
    }
}

#[cfg(test)]
mod tests {
    use super::CmError;
    use crate::query::catalog::CM_ALERT;
    use crate::query::criteria::{Criterion, compile};
    use crate::query::limits::{MAX_TERMS, MAX_VALUE_BYTES, MAX_VALUES};

    fn crit(field: &str, op: &str, value: &str) -> Criterion {
        Criterion {
            field: Some(field.into()),
            operator: Some(op.into()),
            value: Some(value.into()),
        }
    }

    fn messages(list: &[Criterion]) -> (String, String) {
        let e = CmError::from(compile(list, &CM_ALERT, 0).unwrap_err());
        assert_eq!(e.code, "INVALID_REQUEST");
        (e.message, e.resolution)
    }

    fn message(c: Criterion) -> (String, String) {
        messages(&[c])
    }

    #[test]
    fn guide_error_texts() {
        insta::assert_debug_snapshot!([
            message(Criterion::default()),
            message(crit("color", "EQUALS", "x")),
            message(crit("hostname", "GREATER", "x")),
            message(crit("id", "LIKE", "1")),
            message(crit("hostname", "EQUALS", " ")),
            message(crit("id", "EQUALS", "abc123")),
            message(crit("isHidden", "EQUALS", "yes")),
            message(crit("eventType", "IN", "PORT_OPEN,NOPE")),
            message(crit("eventDate", "GREATER", "June 4")),
        ]);
    }

    #[test]
    fn precedence_and_limits() {
        let many = vec![crit("id", "GREATER", "1"); MAX_TERMS + 1];
        let ids = vec!["7"; MAX_VALUES + 1].join(",");
        let long = "h".repeat(MAX_VALUE_BYTES + 1);
        insta::assert_debug_snapshot!(
            "criteria_errors",
            [
                // An unknown field is reported before an unknown operator.
                message(crit("color", "LIKE", "x")),
                // The operator as written.
                message(crit("hostname", "greater", "x")),
                // An earlier criterion's error comes first.
                messages(&[crit("id", "EQUALS", "x"), Criterion::default()]),
                messages(&[crit("id", "EQUALS", "1"), crit("id", "BETWEEN", "1")]),
                // An empty item of an IN list is a bad value, not a missing one.
                message(crit("id", "IN", "1,,2")),
                message(crit("id", "IN", " , ")),
                messages(&many),
                message(crit("id", "IN", &ids)),
                message(crit("hostname", "CONTAINS", &long)),
            ]
        );
    }
}
