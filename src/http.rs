//! What every request passes through, whatever its surface: which [`Surface`] it belongs
//! to, the request log, its body under the size limit and the budget of bodies in flight,
//! and the redaction of what the journal and the log show. The front layer of the router
//! applies them.

use std::time::Instant;

use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Bytes of a request body the debug log shows.
pub const LOGGED_BODY_BYTES: usize = 64 * 1024;

/// Which API a request belongs to. The router's front layer decides it once, from the
/// path's prefix, and puts it in the request's extensions; the fallbacks, the body guard's
/// answers, the fault rules and the journal read it from there (the [`Surface`] extractor).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// `/auth`, `/sm/v1/...` and anything no other prefix names.
    Car,
    /// `/qps/...`.
    Cm,
    /// `/_mock` and `/_mock/...`.
    Control,
    /// `/msp/...`, and `/api/...` (the classic platform's VM API, which only stubs answer).
    Classic,
}

impl Surface {
    /// The surface a path's prefix names: the one decision, made by the front layer.
    pub fn of(path: &str) -> Surface {
        if path.starts_with("/qps/") || path == "/qps" {
            Surface::Cm
        } else if path == "/_mock" || path.starts_with("/_mock/") {
            Surface::Control
        } else if path.starts_with("/msp/") || path == "/msp" || path.starts_with("/api/") {
            Surface::Classic
        } else {
            Surface::Car
        }
    }

    /// The surface the front layer put in `extensions`; decided from `path` only for a
    /// request that did not pass through it (a surface's router used on its own).
    pub fn of_request(extensions: &axum::http::Extensions, path: &str) -> Surface {
        extensions
            .get::<Surface>()
            .copied()
            .unwrap_or_else(|| Surface::of(path))
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Surface {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Surface::of_request(&parts.extensions, parts.uri.path()))
    }
}

/// The request log of one request: method, path, status and latency at info; the body at
/// debug (what the handler read of it, at most 64 KiB, secrets redacted). Nothing is
/// copied when the log would not show it.
///
/// Latency is measured with a monotonic `Instant`; it is a measurement, not a reading of
/// business time, so it does not go through the store clock.
pub struct RequestLog {
    info: bool,
    debug: bool,
}

impl RequestLog {
    /// What the log will show of the requests: checked once per request.
    pub fn levels() -> RequestLog {
        RequestLog {
            info: tracing::enabled!(tracing::Level::INFO),
            debug: tracing::enabled!(tracing::Level::DEBUG),
        }
    }

    /// Whether requests are logged at all (at info, or their bodies at debug).
    pub fn shows_requests(&self) -> bool {
        self.info || self.debug
    }

    /// Bytes of the body to keep for the debug log (0 when it is not shown).
    pub fn body_bytes(&self) -> usize {
        if self.debug { LOGGED_BODY_BYTES } else { 0 }
    }

    /// Log the answer to `method` `uri`, begun at `started`; `body` is the watch over what
    /// was read of its body, when any was.
    pub fn answered(
        &self,
        method: &axum::http::Method,
        uri: &axum::http::Uri,
        content_type: Option<&axum::http::HeaderValue>,
        response: &Response,
        body: Option<&BodyWatch>,
        started: Instant,
    ) {
        let path = uri.path();
        if self.debug
            && let Some(watch) = body
        {
            let content_type = content_type.and_then(|v| v.to_str().ok());
            let shown = watch.seen(LOGGED_BODY_BYTES, |head, total| {
                shown_body(response, content_type, head, total).map(|body| (body, total))
            });
            if let Some((body, total)) = shown {
                tracing::debug!(%method, %path, bytes = total, body = %body, "request body");
            }
        }
        if self.info {
            tracing::info!(
                %method,
                %path,
                status = response.status().as_u16(),
                latency_ms = crate::dates::millis(started.elapsed()),
                "request"
            );
        }
    }
}

/// Whom a request's credentials were verified as, noted by the extractor that verified
/// them (CAR bearer, CM Basic, `POST /auth`) in a slot the journal puts in the request's
/// extensions and reads once the handler has run. Unverified credentials note nothing: a
/// forged token's `sub` is never anyone's name.
#[derive(Debug, Clone, Default)]
pub struct VerifiedUser(std::sync::Arc<std::sync::Mutex<Option<String>>>);

impl VerifiedUser {
    /// Note `username` in the slot of `extensions`, if there is one.
    pub fn note(extensions: &axum::http::Extensions, username: &str) {
        if let Some(slot) = extensions.get::<VerifiedUser>() {
            *slot.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(username.to_owned());
        }
    }

    /// The user noted, if any.
    pub fn get(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// A request body as its handler says it may be shown (a response extension): for a body
/// only its handler's parser can tell the secrets of (`POST /auth`), what that parser read
/// with every credential replaced, or `***` for a body it could not read. The journal and
/// the debug log show this instead of the raw text.
#[derive(Debug, Clone)]
pub struct ShownBody(pub String);

/// What was read of a request's body, as the journal and the debug log take it: the
/// handler's [`ShownBody`] when it gave one (it read credentials in it), else the bytes read
/// (`head`, the first of `total`); `None` when nothing was read.
pub enum SeenBody<'a> {
    Shown(&'a str),
    Read(&'a [u8]),
}

impl<'a> SeenBody<'a> {
    pub fn of(response: &'a Response, head: &'a [u8], total: u64) -> Option<SeenBody<'a>> {
        if total == 0 {
            return None;
        }
        Some(match response.extensions().get::<ShownBody>() {
            Some(ShownBody(text)) => SeenBody::Shown(text),
            None => SeenBody::Read(head),
        })
    }
}

/// The body of a request as the journal and the debug log show it ([`SeenBody`]), its
/// secrets redacted.
pub fn shown_body(
    response: &Response,
    content_type: Option<&str>,
    head: &[u8],
    total: u64,
) -> Option<String> {
    Some(match SeenBody::of(response, head, total)? {
        SeenBody::Shown(text) => text.to_owned(),
        SeenBody::Read(bytes) => redact_body(content_type, &String::from_utf8_lossy(bytes)),
    })
}

/// The answer to a login body over what `/auth` reads (the gateway's JSON 413).
pub fn payload_too_large() -> Response {
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        axum::Json(json!({
            "status": 413,
            "error": "Payload Too Large",
            "message": BodyError::TooLarge.to_string(),
        })),
    )
        .into_response()
}

/// Why a request body was not read to its end, whatever read it: the one list the surfaces
/// answer from (the router's front layer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// Longer than `--max-body-bytes` (declared or as it streamed).
    #[error("The request body is larger than the server accepts")]
    TooLarge,
    /// No byte of it arrived for `--body-timeout-secs`.
    #[error("The request body stalled: no data arrived for {0} s")]
    Stalled(u64),
    /// Not complete `--body-deadline-secs` after the request head.
    #[error("The request body did not arrive within {0} s")]
    Deadline(u64),
    /// The bodies in flight already hold `--body-budget-bytes`, and none gave way in time.
    #[error("The server is busy receiving other request bodies; retry shortly")]
    Busy,
}

impl BodyError {
    /// The HTTP status every surface answers it with.
    pub fn status(self) -> StatusCode {
        match self {
            BodyError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::Stalled(_) | BodyError::Deadline(_) => StatusCode::REQUEST_TIMEOUT,
            BodyError::Busy => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The `BodyError` behind a body's error, through any wrapping (`axum::Error`, boxes).
    pub fn within(error: &(dyn std::error::Error + 'static)) -> Option<BodyError> {
        let mut next = Some(error);
        while let Some(e) = next {
            if let Some(found) = e.downcast_ref::<BodyError>() {
                return Some(*found);
            }
            next = e.source();
        }
        None
    }
}

/// The memory every request body in flight may hold together (`--body-budget-bytes`), in
/// KiB permits, and how long a body waits for room before it is refused.
#[derive(Debug, Clone)]
pub struct BodyBudget {
    permits: std::sync::Arc<tokio::sync::Semaphore>,
    kib: usize,
    wait: std::time::Duration,
}

impl BodyBudget {
    /// A budget of `bytes` (at least 1 KiB); a body waits at most `wait` for room.
    pub fn new(bytes: usize, wait: std::time::Duration) -> BodyBudget {
        let kib = bytes
            .div_ceil(1024)
            .clamp(1, tokio::sync::Semaphore::MAX_PERMITS);
        BodyBudget {
            permits: std::sync::Arc::new(tokio::sync::Semaphore::new(kib)),
            kib,
            wait,
        }
    }

    /// Bytes held by bodies now.
    pub fn held_bytes(&self) -> usize {
        (self.kib - self.permits.available_permits()) * 1024
    }

    /// Bytes the budget holds in all.
    pub fn total_bytes(&self) -> usize {
        self.kib * 1024
    }
}

impl Default for BodyBudget {
    fn default() -> BodyBudget {
        BodyBudget::new(256 * 1024 * 1024, std::time::Duration::from_secs(30))
    }
}

/// A request's body, as far as the guard knows: the error that ended it, the budget it
/// holds (kept until the answer is made, since the handler holds what it read till then),
/// and what the handler read of it — its first bytes, as many as the journal and the debug
/// log keep, and how many there were in all.
#[derive(Debug, Default)]
struct Fate {
    error: Option<BodyError>,
    held: Vec<tokio::sync::OwnedSemaphorePermit>,
    /// Bytes of the body to keep a copy of.
    keep: usize,
    head: Vec<u8>,
    total: u64,
}

/// The watch over one request's body that [`guard_body`] hands back.
#[derive(Debug, Clone)]
pub struct BodyWatch(std::sync::Arc<std::sync::Mutex<Fate>>);

impl BodyWatch {
    /// Why the body ended early, if it did.
    pub fn error(&self) -> Option<BodyError> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).error
    }

    /// `f` over the first `limit` bytes read of the body (at most what was kept) and the
    /// number of bytes read in all.
    pub fn seen<R>(&self, limit: usize, f: impl FnOnce(&[u8], u64) -> R) -> R {
        let fate = self.0.lock().unwrap_or_else(|e| e.into_inner());
        f(&fate.head[..fate.head.len().min(limit)], fate.total)
    }
}

impl Drop for BodyWatch {
    fn drop(&mut self) {
        // The last watch gone: the answer is made; the budget goes back.
        if std::sync::Arc::strong_count(&self.0) == 1 {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .held
                .clear();
        }
    }
}

/// Bytes of budget a body reserves at a time, before it reads them: a body holds budget for
/// what it has sent (and one step more), not for what it claims it will send.
const RESERVE_STEP: u64 = 64 * 1024;

/// Put `request`'s body under the limit and the budget: a declared length over `max` is
/// refused at once; otherwise the body is read through a [`Guarded`] that cuts it past
/// `max`, reserves budget 64 KiB ahead of what it reads (waiting for room, bounded), keeps
/// a copy of its first `keep` bytes and notes why it ended early, whatever error the
/// transport gave. A request with no body is handed on as it is, with no watch.
pub fn guard_body(
    request: Request,
    max: usize,
    budget: &BodyBudget,
    keep: usize,
) -> Result<(Request, Option<BodyWatch>), BodyError> {
    use http_body::Body as _;
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > max as u64) {
        return Err(BodyError::TooLarge);
    }
    if request.body().is_end_stream() {
        return Ok((request, None));
    }
    let fate = std::sync::Arc::new(std::sync::Mutex::new(Fate {
        keep,
        ..Fate::default()
    }));
    let (parts, body) = request.into_parts();
    let guarded = Guarded {
        inner: body,
        max: max as u64,
        declared,
        read: 0,
        reserved: 0,
        budget: budget.clone(),
        waiting: None,
        fate: fate.clone(),
    };
    Ok((
        Request::from_parts(parts, Body::new(guarded)),
        Some(BodyWatch(fate)),
    ))
}

type Reserving = std::pin::Pin<
    Box<
        dyn std::future::Future<
                Output = Result<
                    Result<tokio::sync::OwnedSemaphorePermit, tokio::sync::AcquireError>,
                    tokio::time::error::Elapsed,
                >,
            > + Send,
    >,
>;

/// A request body read under the size limit and the budget; see [`guard_body`].
struct Guarded {
    inner: Body,
    max: u64,
    declared: Option<u64>,
    read: u64,
    /// Bytes of budget held (a multiple of 1 KiB).
    reserved: u64,
    budget: BodyBudget,
    /// KiB asked for and the wait for them.
    waiting: Option<(u64, Reserving)>,
    fate: std::sync::Arc<std::sync::Mutex<Fate>>,
}

impl Guarded {
    fn fail(&self, error: BodyError) -> axum::Error {
        let mut fate = self.fate.lock().unwrap_or_else(|e| e.into_inner());
        fate.error.get_or_insert(error);
        axum::Error::new(error)
    }

    /// KiB more of budget to hold before the next read, if any: room for the next step
    /// of the body (its declared length at most), never more than the whole budget.
    fn shortfall(&self) -> Option<u64> {
        if self.read < self.reserved {
            return None;
        }
        let end = self.declared.unwrap_or(self.max + 1);
        let want = (self.read + RESERVE_STEP).min(end);
        let total = u64::try_from(self.budget.kib).unwrap_or(u64::MAX);
        let want_kib = want.div_ceil(1024).min(total);
        let held_kib = self.reserved / 1024;
        (want_kib > held_kib).then(|| want_kib - held_kib)
    }
}

impl http_body::Body for Guarded {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        use std::task::Poll;
        let this = &mut *self;
        if this.waiting.is_none()
            && !this.inner.is_end_stream()
            && let Some(kib) = this.shortfall()
        {
            let permits = this.budget.permits.clone();
            let n = u32::try_from(kib).unwrap_or(u32::MAX);
            let wait = this.budget.wait;
            this.waiting = Some((
                kib,
                Box::pin(tokio::time::timeout(wait, permits.acquire_many_owned(n))),
            ));
        }
        if let Some((kib, reserving)) = this.waiting.as_mut() {
            match reserving.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(Ok(permit))) => {
                    this.reserved += *kib * 1024;
                    this.fate
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .held
                        .push(permit);
                    this.waiting = None;
                }
                Poll::Ready(_) => {
                    this.waiting = None;
                    return Poll::Ready(Some(Err(this.fail(BodyError::Busy))));
                }
            }
        }
        match std::pin::Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref()
                    && !data.is_empty()
                {
                    this.read += data.len() as u64;
                    let mut fate = this.fate.lock().unwrap_or_else(|e| e.into_inner());
                    fate.total += data.len() as u64;
                    let room = fate.keep.saturating_sub(fate.head.len());
                    fate.head.extend_from_slice(&data[..room.min(data.len())]);
                }
                if this.read > this.max {
                    return Poll::Ready(Some(Err(this.fail(BodyError::TooLarge))));
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => match BodyError::within(&e) {
                Some(known) => Poll::Ready(Some(Err(this.fail(known)))),
                None => Poll::Ready(Some(Err(e))),
            },
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Whether `%XX` escapes in `path` decode (with the rest of it) to UTF-8. An escape that is
/// not two hex digits stays as it is, as axum reads it.
pub fn percent_decodes_to_utf8(path: &str) -> bool {
    if !path.contains('%') {
        return true;
    }
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    std::str::from_utf8(&out).is_ok()
}

/// Field names whose values are secrets: passwords, secrets and tokens.
pub fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "password",
        "passwd",
        "pwd",
        "secret",
        "token",
        "authorization",
        "apikey",
        "api_key",
    ]
    .iter()
    .any(|s| name.contains(s))
}

/// Whether the value of field `name` is shown as `***`: any value of a secret name, except
/// a yes or no under a token name (`token=true` on `POST /auth` is a flag, not a token). A
/// password of `true` is still a password.
pub fn is_secret(name: &str, value: &str) -> bool {
    let flag = value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("false");
    let token_flag = flag && {
        let name = name.to_ascii_lowercase();
        name.contains("token")
            && !["pass", "pwd", "secret", "key"]
                .iter()
                .any(|s| name.contains(s))
    };
    is_secret_name(name) && !token_flag
}

/// JSON with every value under a secret key (any type: string, number, object...) replaced
/// by `"***"`, at any depth.
fn redact_json_value(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                let text = match &*v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                if is_secret(key, &text) {
                    *v = serde_json::Value::String(REDACTED.to_owned());
                } else {
                    redact_json_value(v);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_json_value),
        _ => {}
    }
}

pub const REDACTED: &str = "***";

/// `a=1&password=x` with every secret value replaced by `***`.
pub fn redact_form(text: &str) -> String {
    text.split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) => {
                let decoded = serde_urlencoded::from_str::<Vec<(String, String)>>(pair)
                    .ok()
                    .and_then(|v| v.into_iter().next());
                let (dname, dvalue) =
                    decoded.unwrap_or_else(|| (name.to_owned(), value.to_owned()));
                if is_secret(&dname, &dvalue) && !value.is_empty() {
                    format!("{name}={REDACTED}")
                } else {
                    pair.to_owned()
                }
            }
            None => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// JSON text (whole or cut short) with the value of every secret key replaced by `"***"`.
/// Whole JSON is parsed and redacted as values (keys compared as they decode, so
/// `"pass\u0077ord"` is a password; values of any type). Text that does not parse (a body
/// cut at the journal's limit) is scanned instead, with the same rules.
pub fn redact_json(text: &str) -> String {
    let scanned = scan_json(text);
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return scanned;
    };
    let mut redacted = value.clone();
    redact_json_value(&mut redacted);
    // The scan keeps the text as it was sent, spacing and all; where it missed a secret (a
    // value that is an object under a secret key), the value redacted is shown instead.
    match serde_json::from_str::<serde_json::Value>(&scanned) {
        Ok(v) if v == redacted => scanned,
        _ => redacted.to_string(),
    }
}

/// [`redact_json`] on the text: for JSON cut short, and to keep the text's own spacing.
fn scan_json(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        if bytes[i] != b'"' {
            i += 1;
            continue;
        }
        // A string: find its end.
        let start = i + 1;
        let mut j = start;
        while j < bytes.len() && bytes[j] != b'"' {
            j += if bytes[j] == b'\\' { 2 } else { 1 };
        }
        let end = j.min(bytes.len());
        // The key as it decodes (`pass\u0077ord` is `password`); as written if it does not.
        let raw_key = text.get(start..end).unwrap_or("");
        let key = serde_json::from_str::<String>(&format!("\"{raw_key}\""))
            .unwrap_or_else(|_| raw_key.to_owned());
        i = end + 1;
        // A key is followed by `:`; its value is the next string or scalar.
        let mut k = i;
        while k < bytes.len() && bytes[k].is_ascii_whitespace() {
            k += 1;
        }
        if k < bytes.len() && bytes[k] == b':' && is_secret_name(&key) {
            k += 1;
            while k < bytes.len() && bytes[k].is_ascii_whitespace() {
                k += 1;
            }
            let (vstart, vend) = if k < bytes.len() && bytes[k] == b'"' {
                let vstart = k + 1;
                let mut v = vstart;
                while v < bytes.len() && bytes[v] != b'"' {
                    v += if bytes[v] == b'\\' { 2 } else { 1 };
                }
                (vstart, v.min(bytes.len()))
            } else {
                // A number, literal, or the start of an object or array: up to the next
                // delimiter (a nested value's own secret keys are scanned as the loop goes on).
                let mut v = k;
                while v < bytes.len() && !b",}]{[ \t\r\n".contains(&bytes[v]) {
                    v += 1;
                }
                (k, v)
            };
            let value = text.get(vstart..vend).unwrap_or("");
            if vend > vstart && is_secret(&key, value) {
                out.push_str(&text[copied..vstart]);
                if vstart == k {
                    // A scalar becomes the string "***".
                    out.push('"');
                    out.push_str(REDACTED);
                    out.push('"');
                } else {
                    out.push_str(REDACTED);
                }
                copied = vend;
            }
            i = vend.max(i);
            if vstart > k {
                i = vend + 1;
            }
        }
    }
    if copied < text.len() {
        out.push_str(&text[copied..]);
    }
    out
}

/// Credentials written into any text: `Bearer <token>`, `Basic <base64>` and anything shaped
/// like a JWT.
pub fn redact_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let lower = rest.to_ascii_lowercase();
        let next = ["bearer ", "basic ", "eyj"]
            .iter()
            .filter_map(|p| lower.find(p).map(|at| (at, *p)))
            .min_by_key(|(at, _)| *at);
        let Some((at, prefix)) = next else {
            out.push_str(rest);
            break;
        };
        let secret_at = if prefix == "eyj" {
            at
        } else {
            at + prefix.len()
        };
        let len = rest[secret_at..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || "-_.+/=".contains(c)))
            .unwrap_or(rest.len() - secret_at);
        // `eyJ` alone, or a word after "basic ", is not necessarily a credential: only a
        // JWT-shaped run (two dots) or a run of 8+ token characters after a scheme.
        let token = &rest[secret_at..secret_at + len];
        let is_credential = if prefix == "eyj" {
            token.matches('.').count() >= 2
        } else {
            len >= 8
        };
        // Move past the run, or past one character when there is none.
        let advance = if len > 0 {
            len
        } else {
            rest[secret_at..].chars().next().map_or(0, char::len_utf8)
        };
        if is_credential {
            out.push_str(&rest[..secret_at]);
            out.push_str(REDACTED);
        } else {
            out.push_str(&rest[..secret_at + advance]);
        }
        if advance == 0 {
            break;
        }
        rest = &rest[secret_at + advance..];
    }
    out
}

/// A request body as the journal and the debug log show it: secrets replaced by `***`.
pub fn redact_body(content_type: Option<&str>, text: &str) -> String {
    let ct = content_type.unwrap_or("").to_ascii_lowercase();
    let trimmed = text.trim_start();
    let text = if ct.contains("json") || trimmed.starts_with('{') || trimmed.starts_with('[') {
        redact_json(text)
    } else if ct.contains("x-www-form-urlencoded")
        || (!ct.contains("multipart") && text.contains('='))
    {
        redact_form(text)
    } else {
        text.to_owned()
    };
    redact_credentials(&text)
}

/// A query string as the journal shows it: secrets replaced by `***`.
pub fn redact_query(query: &str) -> String {
    redact_credentials(&redact_form(query))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guarded(declared: Option<u64>, budget_bytes: usize, read: u64, reserved: u64) -> Guarded {
        Guarded {
            inner: Body::empty(),
            max: 16 << 20,
            declared,
            read,
            reserved,
            budget: BodyBudget::new(budget_bytes, std::time::Duration::from_secs(1)),
            waiting: None,
            fate: std::sync::Arc::default(),
        }
    }

    #[test]
    fn a_body_reserves_budget_a_step_ahead_of_what_it_read() {
        // A 16 MiB claim holds one step, not 16 MiB, until its bytes come.
        assert_eq!(
            guarded(Some(16 << 20), 256 << 20, 0, 0).shortfall(),
            Some(64)
        );
        // Never past its declared length, nor past the whole budget.
        assert_eq!(guarded(Some(60_000), 256 << 20, 0, 0).shortfall(), Some(59));
        assert_eq!(
            guarded(Some(16 << 20), 16 << 10, 0, 0).shortfall(),
            Some(16)
        );
        // Room left from the last step: nothing more yet.
        assert_eq!(guarded(None, 256 << 20, 1000, 64 << 10).shortfall(), None);
        // A frame past the reservation: the overshoot and the next step.
        assert_eq!(
            guarded(None, 256 << 20, 100 << 10, 64 << 10).shortfall(),
            Some(100)
        );
        // All of it read and held.
        assert_eq!(guarded(Some(2048), 256 << 20, 2048, 2048).shortfall(), None);
    }

    #[test]
    fn a_body_error_is_found_through_its_wrappings() {
        let boxed: tower_http::BoxError = Box::new(BodyError::Stalled(3));
        let wrapped = axum::Error::new(axum::Error::new(boxed));
        assert_eq!(BodyError::within(&wrapped), Some(BodyError::Stalled(3)));
        let other = axum::Error::new(std::io::Error::other("reset"));
        assert_eq!(BodyError::within(&other), None);
    }

    #[test]
    fn paths_decode_or_not() {
        assert!(percent_decodes_to_utf8("/sm/v1/scripts/16515"));
        assert!(percent_decodes_to_utf8("/a/%C3%A9/%zz/%"));
        assert!(percent_decodes_to_utf8("/a/%4"));
        assert!(!percent_decodes_to_utf8("/sm/v1/scripts/%FF"));
        assert!(!percent_decodes_to_utf8("/a/%C3"));
    }

    #[test]
    fn forms_lose_their_passwords() {
        assert_eq!(
            redact_form("username=acme_ss2&password=passwd&token=true"),
            "username=acme_ss2&password=***&token=true"
        );
        assert_eq!(redact_form("a=1&Pass%77ord=x"), "a=1&Pass%77ord=***");
        assert_eq!(redact_form("access_token=abc"), "access_token=***");
    }

    #[test]
    fn json_loses_its_passwords_whole_or_cut() {
        assert_eq!(
            redact_json(r#"{"username": "u", "password": "p\"w", "n": 1}"#),
            r#"{"username": "u", "password": "***", "n": 1}"#
        );
        assert_eq!(redact_json(r#"{"password":"abc"#), r#"{"password":"***"#);
        assert_eq!(redact_json(r#"{"token": true}"#), r#"{"token": true}"#);
        assert_eq!(redact_json(r#"["password", "x"]"#), r#"["password", "x"]"#);
    }

    #[test]
    fn json_secrets_are_found_by_their_decoded_key_with_any_value() {
        for (body, shown) in [
            (r#"{"pass\u0077ord": "pw"}"#, r#"{"pass\u0077ord": "***"}"#),
            (r#"{"password": 1234}"#, r#"{"password": "***"}"#),
            (r#"{"password": true}"#, r#"{"password": "***"}"#),
            (r#"{"password": null}"#, r#"{"password": "***"}"#),
            (r#"{"password": {"a": [1]}}"#, r#"{"password":"***"}"#),
            (
                r#"[{"x": {"secret": "s"}}]"#,
                r#"[{"x": {"secret": "***"}}]"#,
            ),
            (r#"{"access_token": false}"#, r#"{"access_token": false}"#),
            (r#"{ "n" : 1 }"#, r#"{ "n" : 1 }"#),
            // Cut short: scanned, with the same rules.
            (
                r#"{"pass\u0077ord": "pw", "x"#,
                r#"{"pass\u0077ord": "***", "x"#,
            ),
            (r#"{"password": 1234, "x"#, r#"{"password": "***", "x"#),
            (r#"{"password": true, "x"#, r#"{"password": "***", "x"#),
            (r#"{"token": true, "x"#, r#"{"token": true, "x"#),
        ] {
            assert_eq!(redact_json(body), shown, "{body}");
        }
    }

    #[test]
    fn a_password_of_true_is_a_password_and_token_true_a_flag() {
        assert_eq!(
            redact_form("password=true&token=true&secret=false"),
            "password=***&token=true&secret=***"
        );
    }

    #[test]
    fn credentials_in_text_are_hidden() {
        assert_eq!(
            redact_credentials("see Bearer abcdefghijkl here"),
            "see Bearer *** here"
        );
        assert_eq!(
            redact_credentials("jwt eyJhbGciOi.eyJzdWIi.c2lnbmF0dXJl end"),
            "jwt *** end"
        );
        assert_eq!(redact_credentials("basic idea"), "basic idea");
        assert_eq!(redact_credentials("Bearer é Basic "), "Bearer é Basic ");
        assert_eq!(redact_credentials("eyJ"), "eyJ");
        assert_eq!(
            redact_credentials("é Basic YWNtZTpwdw== x"),
            "é Basic *** x"
        );
    }
}
