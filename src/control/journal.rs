//! The request journal: what each API call was and how it was answered, in a ring of fixed
//! size, so a soak run does not grow memory. `/_mock/` calls are not recorded.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine as _;

use crate::http::Tee;
use crate::state::AppState;
pub use crate::state::journal::{Entry, Filter, Journal};

/// The user a request's credentials name: Basic user, `user` header, or a JWT's `sub`.
fn user_of(headers: &HeaderMap) -> Option<String> {
    if let Some(auth) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, rest) = auth.trim().split_once(' ')?;
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest)
                .ok()?;
            let text = String::from_utf8(decoded).ok()?;
            return text.split_once(':').map(|(u, _)| u.to_owned());
        }
        if scheme.eq_ignore_ascii_case("bearer") {
            let payload = rest.split('.').nth(1)?;
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .ok()?;
            let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
            return claims.get("sub")?.as_str().map(str::to_owned);
        }
    }
    headers
        .get("user")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Record every API call. The body streams to the handler through a [`Tee`] that keeps its
/// first `--journal-body-bytes` and nothing more, so a body the handler refuses (no
/// credentials) is never read, and the journal never holds more than its limit.
pub async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    if super::is_control_path(&path) {
        return next.run(request).await;
    }
    let started = Instant::now();
    let journal = &state.control.journal;
    let method = request.method().to_string();
    let query = request.uri().query().map(crate::http::redact_query);
    let user = user_of(request.headers());
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (parts, body) = request.into_parts();
    let (tee, seen) = Tee::new(body, journal.body_limit);
    let response = next.run(Request::from_parts(parts, Body::new(tee))).await;
    let (body_text, truncated) = {
        let seen = seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.total == 0 {
            (None, false)
        } else {
            let text = String::from_utf8_lossy(&seen.head);
            (
                Some(crate::http::redact_body(content_type.as_deref(), &text)),
                seen.total > seen.head.len() as u64,
            )
        }
    };
    journal.push(Entry {
        seq: 0,
        at_ms: state.clock.now_ms(),
        method,
        path,
        query,
        status: response.status().as_u16(),
        latency_ms: crate::dates::millis(started.elapsed()),
        user,
        body: body_text,
        body_truncated: truncated,
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
            status,
            latency_ms: 0.0,
            user: None,
            body: None,
            body_truncated: false,
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
    fn users_come_from_credentials() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            "Basic YWNtZV9zczI6cGFzc3dk".parse().unwrap(),
        );
        assert_eq!(user_of(&h).as_deref(), Some("acme_ss2"));
        let mut h = HeaderMap::new();
        h.insert("user", "bob".parse().unwrap());
        assert_eq!(user_of(&h).as_deref(), Some("bob"));
    }
}
