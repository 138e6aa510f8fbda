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
pub use crate::state::journal::{AppliedFault, Entry, FaultAction, Filter, IgnoredKeys, Journal};

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
    let dropped = fault.is_some_and(|f| f.action == FaultAction::Drop);
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
    });
    response
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
            body: None,
            body_truncated: false,
            fault: None,
            ignored_keys: Vec::new(),
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
