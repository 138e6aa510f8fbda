//! The request journal: what each API call was and how it was answered, in a ring of fixed
//! size, so a soak run does not grow memory. `/_mock/` calls are not recorded.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;

use crate::http::{Tee, VerifiedUser};
use crate::state::AppState;
#[cfg(test)]
use crate::state::journal::Journal;
pub use crate::state::journal::{AppliedFault, Entry, FaultAction, Filter, IgnoredKeys};

/// Record every API call. The body streams to the handler through a [`Tee`] that keeps its
/// first `--journal-body-bytes` and nothing more, so a body the handler refuses (no
/// credentials) is never read, and the journal never holds more than its limit. The body is
/// shown as [`crate::http::shown_body`] says; the user is the one the auth extractor
/// verified (a [`VerifiedUser`] slot in the request's extensions), or none.
pub async fn record(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    if super::is_control_path(&path) {
        return next.run(request).await;
    }
    let started = Instant::now();
    let journal = &state.control.journal;
    let method = request.method().to_string();
    let query = request.uri().query().map(crate::http::redact_query);
    let verified = VerifiedUser::default();
    request.extensions_mut().insert(verified.clone());
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (mut parts, body) = request.into_parts();
    let ignored = IgnoredKeys::default();
    parts.extensions.insert(ignored.clone());
    let (tee, seen) = Tee::new(body, journal.body_limit);
    let response = next.run(Request::from_parts(parts, Body::new(tee))).await;
    let (body_text, truncated) = {
        let seen = seen.lock().unwrap_or_else(|e| e.into_inner());
        (
            crate::http::shown_body(&response, content_type.as_deref(), &seen),
            seen.total > seen.head.len() as u64,
        )
    };
    let fault = response.extensions().get::<AppliedFault>().copied();
    let answered_by = response
        .extensions()
        .get::<crate::state::journal::AnsweredBy>()
        .map(|a| a.0.clone());
    let dropped = fault.is_some_and(|f| f.action == FaultAction::Drop);
    let (response, error) = if dropped {
        (response, None)
    } else {
        error_message(&path, response).await
    };
    journal.push(Entry {
        seq: 0,
        at_ms: state.clock.now_ms(),
        method,
        path,
        query,
        status: (!dropped).then(|| response.status().as_u16()),
        latency_ms: crate::dates::millis(started.elapsed()),
        user: verified.get(),
        body: body_text,
        body_truncated: truncated,
        fault,
        ignored_keys: ignored.take(),
        error,
        answered_by,
    });
    response
}

/// Error answers are small; a larger one is not read for its message.
const ERROR_BODY_LIMIT: u64 = 8 * 1024;

/// The message of an error answer, for the journal: an HTTP error, or a QPS
/// `ServiceResponse` whose code is not `SUCCESS` (QPS answers errors with 200). The answer
/// is read only when it is small and whole in memory (its size known), then given back.
async fn error_message(path: &str, response: Response) -> (Response, Option<String>) {
    use http_body::Body as _;
    let may_be_error = response.status().as_u16() >= 400 || path.starts_with("/qps/");
    let small = response
        .body()
        .size_hint()
        .exact()
        .is_some_and(|n| n <= ERROR_BODY_LIMIT);
    if !may_be_error || !small {
        return (response, None);
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, ERROR_BODY_LIMIT as usize).await else {
        return (Response::from_parts(parts, Body::empty()), None);
    };
    let message = message_in(&bytes);
    (Response::from_parts(parts, Body::from(bytes)), message)
}

/// The message an error body carries: JSON `message` (CAR) or `error` (control), QPS
/// `errorMessage` (with its `responseCode`), or the classic API's `TEXT`.
fn message_in(bytes: &[u8]) -> Option<String> {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) {
        let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
        return value
            .get("message")
            .and_then(text)
            .or_else(|| value.get("error").and_then(text))
            .or_else(|| {
                let r = value.get("ServiceResponse")?;
                let code = r.get("responseCode")?.as_str()?;
                (code != "SUCCESS").then(|| {
                    let m = r
                        .pointer("/responseErrorDetails/errorMessage")
                        .and_then(text)
                        .unwrap_or_default();
                    format!("{code}: {m}")
                })
            });
    }
    let text = std::str::from_utf8(bytes).ok()?;
    let inner = |tag: &str| {
        let open = format!("<{tag}>");
        let start = text.find(&open)? + open.len();
        let end = text[start..].find(&format!("</{tag}>"))? + start;
        Some(text[start..end].to_owned())
    };
    match inner("responseCode") {
        Some(code) if code == "SUCCESS" => None,
        Some(code) => Some(format!(
            "{code}: {}",
            inner("errorMessage").unwrap_or_default()
        )),
        None => inner("TEXT"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, status: u16) -> Entry {
        Entry {
            seq: 0,
            at_ms: 0,
            method: "GET".into(),
            path: path.into(),
            query: None,
            status: Some(status),
            latency_ms: 0.0,
            user: None,
            error: None,
            body: None,
            body_truncated: false,
            fault: None,
            ignored_keys: Vec::new(),
            answered_by: None,
        }
    }

    #[test]
    fn the_ring_keeps_the_newest() {
        let j = Journal::new(3, 10);
        for i in 0..5 {
            j.push(entry(&format!("/p{i}"), 200));
        }
        let all = j.list(&Filter::default());
        assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![3, 4, 5]);
        assert_eq!(j.len(), 3);
    }

    #[test]
    fn the_message_is_read_from_each_surfaces_error_body() {
        let car = br#"{"errorCode":"400","message":"bad filter","body":null}"#;
        assert_eq!(message_in(car).as_deref(), Some("bad filter"));
        assert_eq!(message_in(br#"{"error":"nope"}"#).as_deref(), Some("nope"));
        let cm = b"<ServiceResponse><responseCode>INVALID_REQUEST</responseCode><responseErrorDetails><errorMessage>m</errorMessage></responseErrorDetails></ServiceResponse>";
        assert_eq!(message_in(cm).as_deref(), Some("INVALID_REQUEST: m"));
        let ok = b"<ServiceResponse><responseCode>SUCCESS</responseCode></ServiceResponse>";
        assert_eq!(message_in(ok), None);
        let classic =
            b"<SIMPLE_RETURN><RESPONSE><TEXT>Bad Login/Password</TEXT></RESPONSE></SIMPLE_RETURN>";
        assert_eq!(message_in(classic).as_deref(), Some("Bad Login/Password"));
    }

    #[test]
    fn a_filtered_delete_removes_only_the_matches() {
        let j = Journal::new(10, 10);
        for (path, status) in [("/auth", 201), ("/sm/v1/a", 200), ("/sm/v1/b", 401)] {
            j.push(entry(path, status));
        }
        let by_path = Filter {
            path: Some("/sm/".into()),
            status: Some(401),
            ..Filter::default()
        };
        assert_eq!(j.remove(&by_path), 1);
        let left: Vec<String> = j
            .list(&Filter::default())
            .into_iter()
            .map(|e| e.path)
            .collect();
        assert_eq!(left, ["/auth", "/sm/v1/a"]);
        assert_eq!(j.remove(&Filter::default()), 2);
        assert!(j.is_empty());
    }
}
