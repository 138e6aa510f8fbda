//! The request journal: what each API call was and how it was answered, in a ring of fixed
//! size, so a soak run does not grow memory. `/_mock/` calls are not recorded.

use std::time::Instant;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, Uri, header};
use axum::response::Response;

use crate::http::{BodyWatch, Surface, VerifiedUser};
use crate::state::AppState;
#[cfg(test)]
use crate::state::journal::Journal;
use crate::state::journal::KeptBody;
pub use crate::state::journal::{AppliedFault, Entry, FaultAction, Filter, IgnoredKeys};

/// One API call being recorded: what the entry needs of the request, taken before the
/// request goes to its handler, and the slots its extractors fill (the verified user, the
/// ignored keys). The body is kept by the body guard (its first `--journal-body-bytes`,
/// nothing more, and only what the handler read, so a body the handler refuses unread —
/// no credentials — is never read); it is kept as [`KeptBody`] says, its secrets redacted when the entry is read.
pub(crate) struct Recording {
    method: Method,
    uri: Uri,
    content_type: Option<HeaderValue>,
    verified: VerifiedUser,
    ignored: IgnoredKeys,
}

impl Recording {
    /// Start recording `request` on `surface`; `None` for a control call (never recorded)
    /// or when the journal keeps nothing (`--journal-size 0`).
    pub(crate) fn start(
        state: &AppState,
        surface: Surface,
        request: &mut Request,
    ) -> Option<Recording> {
        if surface == Surface::Control || state.control.journal.capacity() == 0 {
            return None;
        }
        let verified = VerifiedUser::default();
        let ignored = IgnoredKeys::default();
        request.extensions_mut().insert(verified.clone());
        request.extensions_mut().insert(ignored.clone());
        Some(Recording {
            method: request.method().clone(),
            uri: request.uri().clone(),
            content_type: request.headers().get(header::CONTENT_TYPE).cloned(),
            verified,
            ignored,
        })
    }

    /// Bytes of the request body the entry keeps.
    pub(crate) fn body_bytes(state: &AppState) -> usize {
        state.control.journal.body_limit
    }

    /// The entry for `response`, the answer to the call begun at `started` whose body was
    /// read under `body` (none: no body, or none read).
    pub(crate) async fn finish(
        self,
        state: &AppState,
        surface: Surface,
        response: Response,
        body: Option<&BodyWatch>,
        started: Instant,
    ) -> Response {
        let journal = &state.control.journal;
        let content_type = self.content_type.as_ref().and_then(|v| v.to_str().ok());
        let (kept, truncated) = body.map_or((None, false), |watch| {
            watch.seen(journal.body_limit, |head, total| {
                (
                    kept_body(&response, content_type, head, total),
                    total > head.len() as u64,
                )
            })
        });
        let fault = response.extensions().get::<AppliedFault>().copied();
        let answered_by = response
            .extensions()
            .get::<crate::state::journal::AnsweredBy>()
            .map(|a| a.0.clone());
        let dropped = fault.is_some_and(|f| f.action == FaultAction::Drop);
        let (response, error) = if dropped {
            (response, None)
        } else {
            error_message(surface, response).await
        };
        journal.push(
            Entry {
                seq: 0,
                at_ms: state.clock.now_ms(),
                method: self.method.to_string(),
                path: self.uri.path().to_owned(),
                query: self.uri.query().map(crate::http::redact_query),
                status: (!dropped).then(|| response.status().as_u16()),
                latency_ms: crate::dates::millis(started.elapsed()),
                user: self.verified.get(),
                body: None,
                body_truncated: truncated,
                fault,
                ignored_keys: self.ignored.take(),
                error,
                answered_by,
            },
            kept,
        );
        response
    }
}

/// The request body an entry keeps ([`crate::http::SeenBody`]): as the handler showed it,
/// else its first bytes as read, shown when the entry is read ([`KeptBody`]).
fn kept_body(
    response: &Response,
    content_type: Option<&str>,
    head: &[u8],
    total: u64,
) -> Option<KeptBody> {
    Some(match crate::http::SeenBody::of(response, head, total)? {
        crate::http::SeenBody::Shown(text) => KeptBody::Shown(text.to_owned()),
        crate::http::SeenBody::Read(bytes) => KeptBody::Read {
            content_type: content_type.map(str::to_owned),
            bytes: bytes.to_vec(),
        },
    })
}

/// Error answers are small; a larger one is not read for its message.
const ERROR_BODY_LIMIT: u64 = 8 * 1024;

/// The message of an error answer, for the journal: an HTTP error, or a QPS
/// `ServiceResponse` whose code is not `SUCCESS` (QPS answers errors with 200). The answer
/// is read only when it is small and whole in memory (its size known), then given back.
async fn error_message(surface: Surface, response: Response) -> (Response, Option<String>) {
    use http_body::Body as _;
    let may_be_error = response.status().as_u16() >= 400
        || (surface == Surface::Cm
            && response
                .extensions()
                .get::<crate::state::journal::NoErrorInBody>()
                .is_none());
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
            j.push(entry(&format!("/p{i}"), 200), None);
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
            j.push(entry(path, status), None);
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
