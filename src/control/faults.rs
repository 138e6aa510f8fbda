//! Fault rules: make matching API calls fail, slow down, drop, or hit a rate limit — for
//! the next N calls, or with a probability drawn from a seeded generator — then stop. The
//! front layer every request passes through asks [`Taken::first`] for every API call.

use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::car::error::{CarError, RateLimit};
use crate::cm::error::CmError;
use crate::cm::reply::Ctx;
use crate::http::Surface;
use crate::state::AppState;
pub use crate::state::faults::{Fault, FaultSpec, check};
#[cfg(test)]
use crate::state::faults::{Faults, path_matches};
use crate::state::journal::FaultAction;

/// A body that fails at once: the connection is cut before any byte of the answer is sent.
struct Broken;

impl http_body::Body for Broken {
    type Data = axum::body::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::task::Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "fault: connection dropped",
        ))))
    }
}

fn qps_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "INVALID_CREDENTIALS",
        403 => "UNAUTHORIZED",
        404 => "OBJECT_NOT_FOUND",
        429 => "LIMIT_EXCEEDED",
        500..=599 => "INTERNAL_ERROR",
        _ => "INVALID_REQUEST",
    }
}

/// The API's own error for `status`: a CM `ServiceResponse` in the request's format naming
/// the called object's schema, the classic `SIMPLE_RETURN`, or the CAR body.
fn api_error(request: &Request, surface: Surface, status: StatusCode, now_s: i64) -> Response {
    match surface {
        Surface::Classic => {
            let text = format!("Simulated failure ({status})");
            return crate::classic::simple_return(status, now_s, None, &text);
        }
        Surface::Cm => {
            let ctx = Ctx::for_request(request.uri(), request.headers(), request.extensions());
            return ctx
                .fail(CmError {
                    code: qps_code(status),
                    message: format!("Simulated failure ({status})"),
                    resolution: "This failure was injected by qualys-mock.".into(),
                    status,
                })
                .into_response();
        }
        Surface::Car | Surface::Control => {}
    }
    let message = status
        .canonical_reason()
        .unwrap_or("Simulated failure")
        .to_owned();
    let mut response = match status.as_u16() {
        401 => CarError::Token(crate::auth::TokenError::Invalid).into_response(),
        400 => CarError::BadRequest(message).into_response(),
        404 => CarError::NotFound(message).into_response(),
        409 => CarError::Conflict(message).into_response(),
        _ => CarError::Internal(message).into_response(),
    };
    *response.status_mut() = status;
    response
}

fn rate_limited(request: &Request, surface: Surface, retry_after: u64, now_s: i64) -> Response {
    // A 429 says how long to wait: at least a second, or clients retry in a hot loop.
    let retry_after = retry_after.max(1);
    match surface {
        Surface::Classic => crate::classic::rate_limited(now_s, retry_after),
        Surface::Cm => {
            let mut response = api_error(request, surface, StatusCode::TOO_MANY_REQUESTS, now_s);
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                HeaderValue::from(retry_after),
            );
            response
        }
        Surface::Car | Surface::Control => CarError::TooManyRequests {
            message: "API rate limit exceeded".into(),
            limit: RateLimit {
                limit: 300,
                window_s: 3600,
                remaining: 0,
                retry_after_s: retry_after,
            },
        }
        .into_response(),
    }
}

/// A fault rule that applies to one API call (`/_mock/` is never faulted).
pub(crate) struct Taken {
    id: u64,
    spec: FaultSpec,
}

impl Taken {
    /// The first rule that applies to `request` on `surface`, counted. With no rule listed
    /// this is one atomic load.
    pub(crate) fn first(state: &AppState, surface: Surface, request: &Request) -> Option<Taken> {
        if surface == Surface::Control {
            return None;
        }
        let (id, spec) = state
            .control
            .faults
            .take(request.method().as_str(), request.uri().path())?;
        Some(Taken { id, spec })
    }

    fn action(&self) -> FaultAction {
        if self.spec.drop {
            FaultAction::Drop
        } else if self.spec.rate_limit.is_some() {
            FaultAction::RateLimit
        } else if self.spec.status.is_some() {
            FaultAction::Status
        } else {
            FaultAction::Latency
        }
    }

    /// Wait the rule's latency, then the answer it puts in place of the API's: a dropped
    /// connection, a rate limit, or a status (with the rule's body or the API's own error);
    /// the request back when the API answers (a latency rule).
    pub(crate) async fn answer(
        &self,
        state: &AppState,
        surface: Surface,
        request: Request,
    ) -> Result<Response, Request> {
        let spec = &self.spec;
        let now_s = state.clock.now_ms().div_euclid(1000);
        if let Some(ms) = spec.latency_ms {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        if spec.drop {
            Ok(Response::new(Body::new(Broken)))
        } else if let Some(retry_after) = spec.rate_limit {
            Ok(rate_limited(&request, surface, retry_after, now_s))
        } else if let Some(status) = spec.status.and_then(|s| StatusCode::from_u16(s).ok()) {
            Ok(match &spec.body {
                Some(serde_json::Value::String(text)) => (status, text.clone()).into_response(),
                Some(json) => (status, axum::Json(json.clone())).into_response(),
                None => api_error(&request, surface, status, now_s),
            })
        } else {
            Err(request)
        }
    }

    /// The rule's headers on the answer, and the mark the journal reads (which rule shaped
    /// it, and how).
    pub(crate) fn mark(&self, response: &mut Response) {
        for (k, v) in &self.spec.headers {
            if let (Ok(name), Ok(value)) =
                (HeaderName::try_from(k.as_str()), HeaderValue::from_str(v))
            {
                response.headers_mut().insert(name, value);
            }
        }
        response
            .extensions_mut()
            .insert(crate::state::journal::AppliedFault {
                id: self.id,
                action: self.action(),
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(path: &str) -> FaultSpec {
        FaultSpec {
            method: None,
            path: path.into(),
            status: Some(500),
            body: None,
            headers: Default::default(),
            latency_ms: None,
            drop: false,
            rate_limit: None,
            times: None,
            probability: None,
            seed: None,
        }
    }

    #[test]
    fn patterns() {
        assert!(path_matches(
            "/sm/v1/scripts/search",
            "/sm/v1/scripts/search"
        ));
        assert!(path_matches("/sm/v1/*", "/sm/v1/scripts/search"));
        assert!(path_matches(
            "/qps/rest/1.0/*/cm/alert*",
            "/qps/rest/1.0/search/cm/alert/"
        ));
        assert!(!path_matches("/sm/v1/*/execute", "/sm/v1/scripts/1/clone"));
        assert!(!path_matches("/auth", "/auth/x"));
    }

    #[test]
    fn times_then_stop() {
        let f = Faults::default();
        f.add(FaultSpec {
            times: Some(2),
            ..spec("/x")
        });
        assert!(f.take("GET", "/x").is_some());
        assert!(f.take("GET", "/x").is_some());
        assert!(f.take("GET", "/x").is_none());
        // Spent, but still listed with its count.
        let listed = f.list();
        assert_eq!((listed.len(), listed[0].applied), (1, 2));
    }

    #[test]
    fn probability_is_reproducible_by_seed() {
        let draws = |seed| {
            let f = Faults::default();
            f.add(FaultSpec {
                probability: Some(0.5),
                seed: Some(seed),
                ..spec("/x")
            });
            (0..64)
                .map(|_| f.take("GET", "/x").is_some())
                .collect::<Vec<_>>()
        };
        assert_eq!(draws(7), draws(7));
        assert_ne!(draws(7), draws(8));
        let hits = draws(7).iter().filter(|h| **h).count();
        assert!((16..=48).contains(&hits), "{hits}");
    }

    #[test]
    fn specs_are_checked() {
        assert!(check(&spec("/x")).is_ok());
        assert!(
            check(&FaultSpec {
                status: None,
                ..spec("/x")
            })
            .is_err()
        );
        assert!(
            check(&FaultSpec {
                probability: Some(2.0),
                ..spec("/x")
            })
            .is_err()
        );
        assert!(check(&spec("x")).is_err());
        for control in ["/_mock/reset", "/_mock/*", "/_mock"] {
            let e = check(&spec(control)).unwrap_err();
            assert!(e.contains("control API"), "{e}");
        }
        assert!(check(&spec("/*")).is_ok(), "every API path");
        assert!(
            check(&FaultSpec {
                status: Some(100),
                ..spec("/x")
            })
            .is_err()
        );
        assert!(
            check(&FaultSpec {
                times: Some(0),
                ..spec("/x")
            })
            .is_err()
        );
    }
}
