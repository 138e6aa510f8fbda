//! `--record-stubs DIR`: each new request/answer pair the proxy forwards, written as a
//! WireMock stub mapping, as WireMock's own recorder writes them.
//!
//! - `DIR/mappings/<name>-<id>.json`, `<name>` the URL path made safe as WireMock's
//!   `SafeNames` does (`/api/2.0/fo/asset/host/` → `api_20_fo_asset_host`), `<id>` a UUID
//!   derived from the request match, so the same request always names the same file.
//! - The request is matched on `method` and `url` (path and query, exactly as sent), as
//!   WireMock's recorder does; an `Accept` header other than `*/*` is matched too (`equalTo`),
//!   since the platform's QPS APIs answer XML or JSON by it. A request body is matched by its
//!   `Content-Type`, as the recorder's automatic choice: `equalToJson` (JSON), `equalToXml`
//!   (XML), `equalTo` (anything else), so two POST searches differing only in their body get
//!   two mappings. (The recorder also sets `ignoreArrayOrder` and `ignoreExtraElements` on
//!   `equalToJson`; they are left out, so a search body matches only itself.)
//! - The answer: `status`, `headers` (multiple values joined with `, `), and the body inline
//!   (`body` when it is UTF-8 text, `base64Body` otherwise) up to [`INLINE_BODY_BYTES`], in
//!   `DIR/__files/<name>-<id>.<ext>` (`bodyFileName`) past it.
//! - Never written: the request's headers other than `Accept`, the answer's `Set-Cookie`,
//!   `Date` and any header named for a credential; and no pair that carries one — a JWT, a
//!   credential the caller sent (its `Authorization` value, Basic password, bearer token,
//!   cookie values, token headers) or the platform set (cookies, token headers), or a
//!   `password` field — anywhere in its URL, bodies or written headers. Such a pair is
//!   forwarded and not recorded (a warning says why): a token answer redacted would replay
//!   as a broken token anyway.
//! - Not recorded either: answers 401, 407 (refused credentials), 429 (rate limit) and 5xx
//!   (the platform failing), which would otherwise stand in for the good answer after them.
//! - Duplicates (the same request match) are written once, across restarts too (the file
//!   name is derived from the match). Files are written to a temporary name and renamed.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Bytes;
use axum::http::HeaderMap;
use base64::Engine as _;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// Answer bodies up to this size are written inside the mapping; larger ones in `__files/`.
pub const INLINE_BODY_BYTES: usize = 64 * 1024;

/// The shortest credential value looked for in what is written (shorter ones would match
/// ordinary text).
const MIN_SECRET_CHARS: usize = 4;

/// One forwarded request and the platform's answer.
pub struct Exchange {
    pub method: String,
    /// Path and query, as the caller sent them.
    pub url: String,
    pub request_headers: HeaderMap,
    pub request_body: Bytes,
    pub status: u16,
    pub response_headers: HeaderMap,
    pub response_body: Bytes,
}

/// What recording one exchange did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A new mapping, at this path.
    Written(PathBuf),
    /// The same request match was recorded before.
    Duplicate(PathBuf),
    /// Not recorded, and why.
    Skipped(String),
    /// Writing failed.
    Failed(String),
}

impl Outcome {
    pub fn log(&self, path: &str) {
        match self {
            Outcome::Written(file) => {
                tracing::info!(path, file = %file.display(), "proxy: recorded a stub mapping");
            }
            Outcome::Duplicate(file) => {
                tracing::debug!(path, file = %file.display(), "proxy: already recorded");
            }
            Outcome::Skipped(why) => {
                tracing::warn!(path, "proxy: answer returned, not recorded: {why}");
            }
            Outcome::Failed(why) => {
                tracing::warn!(path, "proxy: recording failed: {why}");
            }
        }
    }
}

/// Writes mappings under one folder.
pub struct Recorder {
    dir: PathBuf,
    /// Request matches written (or being written) by this process.
    claimed: Mutex<HashSet<String>>,
}

impl Recorder {
    /// A recorder into `dir`, its `mappings/` and `__files/` created if missing.
    pub fn create(dir: &Path) -> Result<Recorder, String> {
        for sub in ["mappings", "__files"] {
            std::fs::create_dir_all(dir.join(sub))
                .map_err(|e| format!("--record-stubs {}: {e}", dir.join(sub).display()))?;
        }
        Ok(Recorder {
            dir: dir.to_owned(),
            claimed: Mutex::new(HashSet::new()),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Write `exchange` as a mapping unless it is a duplicate or carries a credential.
    /// Blocking (file I/O): run it off the async threads.
    pub fn record(&self, exchange: &Exchange) -> Outcome {
        if let Some(why) = passing_failure(exchange.status) {
            return Outcome::Skipped(why);
        }
        let path = exchange.url.split('?').next().unwrap_or_default();
        if let Some(api) = crate::stubs::emulated::surface_of(path) {
            // `--stubs` refuses a mapping on an emulated API's paths (the whole folder).
            return Outcome::Skipped(format!("{path} is on the emulated {api} API's paths"));
        }
        if let Some(why) = carries_credential(exchange) {
            return Outcome::Skipped(why);
        }
        let request = match request_pattern(exchange) {
            Ok(request) => request,
            Err(why) => return Outcome::Skipped(why),
        };
        let key = match_key(&request);
        let id = id_of(&key);
        let name = safe_name(exchange.url.split('?').next().unwrap_or_default());
        let file = self.dir.join("mappings").join(format!("{name}-{id}.json"));
        {
            let mut claimed = self.claimed.lock().unwrap_or_else(|e| e.into_inner());
            if claimed.contains(&key) || file.exists() {
                claimed.insert(key);
                return Outcome::Duplicate(file);
            }
            claimed.insert(key.clone());
        }
        match self.write(exchange, request, &id, &name, &file) {
            Ok(()) => Outcome::Written(file),
            Err(e) => {
                self.claimed
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&key);
                Outcome::Failed(format!("{}: {e}", file.display()))
            }
        }
    }

    fn write(
        &self,
        exchange: &Exchange,
        request: Value,
        id: &str,
        name: &str,
        file: &Path,
    ) -> std::io::Result<()> {
        let mut response = Map::new();
        response.insert("status".into(), json!(exchange.status));
        let headers = response_headers(&exchange.response_headers);
        if !headers.is_empty() {
            response.insert("headers".into(), Value::Object(headers));
        }
        let body = &exchange.response_body;
        if body.len() > INLINE_BODY_BYTES {
            let body_file = format!("{name}-{id}.{}", extension(&exchange.response_headers));
            write_atomic(&self.dir.join("__files").join(&body_file), body)?;
            response.insert("bodyFileName".into(), Value::String(body_file));
        } else if !body.is_empty() {
            match std::str::from_utf8(body) {
                Ok(text) => response.insert("body".into(), Value::String(text.to_owned())),
                Err(_) => response.insert(
                    "base64Body".into(),
                    Value::String(base64::engine::general_purpose::STANDARD.encode(body)),
                ),
            };
        }
        let mapping = json!({
            "id": id,
            "name": name,
            "request": request,
            "response": Value::Object(response),
        });
        let mut text = serde_json::to_vec_pretty(&mapping).map_err(std::io::Error::other)?;
        text.push(b'\n');
        write_atomic(file, &text)
    }
}

/// The request half of the mapping: `url`, `method`, `Accept`, the body pattern.
fn request_pattern(exchange: &Exchange) -> Result<Value, String> {
    let mut request = Map::new();
    request.insert("url".into(), Value::String(exchange.url.clone()));
    request.insert("method".into(), Value::String(exchange.method.clone()));
    if let Some(accept) = exchange
        .request_headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.trim() != "*/*" && !v.trim().is_empty())
    {
        request.insert("headers".into(), json!({ "Accept": { "equalTo": accept } }));
    }
    let body = &exchange.request_body;
    if !body.is_empty() {
        let text = std::str::from_utf8(body).map_err(|_| {
            "the request body is not UTF-8 text (WireMock's binaryEqualTo is outside the \
             supported matchers)"
                .to_owned()
        })?;
        let content_type = exchange
            .request_headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let pattern =
            if content_type.contains("json") && serde_json::from_str::<Value>(text).is_ok() {
                json!({ "equalToJson": text })
            } else if content_type.contains("xml") {
                json!({ "equalToXml": text })
            } else {
                json!({ "equalTo": text })
            };
        request.insert("bodyPatterns".into(), json!([pattern]));
    }
    Ok(Value::Object(request))
}

/// Why an answer with `status` is not recorded: a refused login (401, 407), a rate limit
/// (429) or a platform failure (5xx) says nothing lasting about the request, and being
/// first it would stand in for the good answer that follows (duplicates are written once).
fn passing_failure(status: u16) -> Option<String> {
    match status {
        401 | 407 => Some(format!(
            "HTTP {status}: the platform refused the credentials"
        )),
        429 => Some("HTTP 429: the platform's rate limit".to_owned()),
        500..=599 => Some(format!("HTTP {status}: a failure of the platform")),
        _ => None,
    }
}

/// What makes two request matches the same: the pattern, with an `equalToJson` body read as
/// JSON with its keys sorted (key order and spacing do not make another search).
fn match_key(request: &Value) -> String {
    let mut key = request.clone();
    if let Some(pattern) = key
        .get_mut("bodyPatterns")
        .and_then(|p| p.get_mut(0))
        .and_then(|p| p.get_mut("equalToJson"))
        && let Some(body) = pattern
            .as_str()
            .and_then(|text| serde_json::from_str::<Value>(text).ok())
    {
        *pattern = sorted(body, 0);
    }
    key.to_string()
}

/// `value` with every object's keys in order (nesting depth bounded like serde_json's).
fn sorted(value: Value, depth: usize) -> Value {
    match value {
        Value::Object(map) if depth < 128 => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sorted(v, depth + 1)))
                    .collect(),
            )
        }
        Value::Array(items) if depth < 128 => {
            Value::Array(items.into_iter().map(|v| sorted(v, depth + 1)).collect())
        }
        other => other,
    }
}

/// A mapping id: a UUID derived from the request match (same match, same id).
fn id_of(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}

/// WireMock's `SafeNames.makeSafeNameFromUrl`: `/` to `_`, white space to `-`, anything but
/// letters, digits, `_` and `-` dropped, `_` trimmed from both ends, at most 200 characters,
/// lower case. An empty result (the path `/`) is `root`. (WireMock first decomposes accented
/// letters and keeps their base letter; here every letter outside ASCII is dropped.)
pub fn safe_name(path: &str) -> String {
    let slug: String = path
        .chars()
        .map(|c| match c {
            '/' => '_',
            c if c.is_whitespace() => '-',
            c => c,
        })
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    let slug: String = slug
        .trim_matches('_')
        .chars()
        .take(200)
        .collect::<String>()
        .to_ascii_lowercase();
    if slug.is_empty() {
        "root".to_owned()
    } else {
        slug
    }
}

/// Answer headers never written: cookies, the date, and any named for a credential.
fn is_withheld_response_header(name: &str) -> bool {
    matches!(
        name,
        "set-cookie" | "set-cookie2" | "date" | "authorization" | "cookie"
    ) || names_a_credential(name)
}

/// A header named for a credential (`X-Auth-Token`, `X-Session-Id`, `X-Api-Key`, ...).
/// `WWW-Authenticate` is a challenge, not a credential.
fn names_a_credential(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name != "www-authenticate"
        && (name.contains("token")
            || name.starts_with("x-auth")
            || name.contains("session")
            || name.contains("api-key")
            || name.contains("apikey")
            || name.contains("secret")
            || name.contains("password"))
}

fn response_headers(headers: &HeaderMap) -> Map<String, Value> {
    let mut out = Map::new();
    for name in headers.keys() {
        if is_withheld_response_header(name.as_str()) {
            continue;
        }
        let values: Vec<String> = headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        out.insert(name.as_str().to_owned(), Value::String(values.join(", ")));
    }
    out
}

/// The extension of a body file, by the answer's `Content-Type`.
fn extension(headers: &HeaderMap) -> &'static str {
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.contains("json") {
        "json"
    } else if content_type.contains("xml") {
        "xml"
    } else if content_type.contains("html") {
        "html"
    } else if content_type.contains("csv") {
        "csv"
    } else if content_type.starts_with("text/") {
        "txt"
    } else {
        "bin"
    }
}

/// Why `exchange` must not be written, if it carries a credential.
fn carries_credential(exchange: &Exchange) -> Option<String> {
    let secrets = secrets(&exchange.request_headers, &exchange.response_headers);
    let written_headers = response_headers(&exchange.response_headers);
    let places: [(&str, &[u8]); 3] = [
        ("its URL", exchange.url.as_bytes()),
        ("the request body", &exchange.request_body),
        ("the answer body", &exchange.response_body),
    ];
    let header_text = Value::Object(written_headers).to_string();
    for (place, bytes) in places
        .iter()
        .copied()
        .chain([("the answer's headers", header_text.as_bytes())])
    {
        if secrets.iter().any(|s| contains(bytes, s.as_bytes())) {
            return Some(format!(
                "{place} holds a credential (a value from the caller's Authorization, cookies \
                 or token headers, or a cookie or token the platform set)"
            ));
        }
        if has_jwt(bytes) {
            return Some(format!("{place} holds a JWT"));
        }
    }
    let query = exchange.url.split_once('?').map_or("", |(_, q)| q);
    let form = std::str::from_utf8(&exchange.request_body).unwrap_or_default();
    for text in [query, form] {
        if let Ok(pairs) = serde_urlencoded::from_str::<Vec<(String, String)>>(text)
            && pairs.iter().any(|(k, _)| is_password_key(k))
        {
            return Some("the request carries a password field".to_owned());
        }
    }
    if let Ok(json) = serde_json::from_slice::<Value>(&exchange.request_body)
        && has_password_key(&json, 0)
    {
        return Some("the request body carries a password field".to_owned());
    }
    None
}

fn is_password_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.contains("password") || key == "passwd"
}

fn has_password_key(value: &Value, depth: usize) -> bool {
    if depth > 64 {
        return false;
    }
    match value {
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| is_password_key(k) || has_password_key(v, depth + 1)),
        Value::Array(items) => items.iter().any(|v| has_password_key(v, depth + 1)),
        _ => false,
    }
}

/// The credential values in a request's and an answer's headers.
fn secrets(request: &HeaderMap, response: &HeaderMap) -> Vec<String> {
    let mut out = Vec::new();
    for (name, value) in request {
        let Ok(value) = value.to_str() else { continue };
        let n = name.as_str();
        if n == "authorization" || n == "proxy-authorization" {
            out.push(value.to_owned());
            if let Some((scheme, credential)) = value.trim().split_once(' ') {
                let credential = credential.trim();
                out.push(credential.to_owned());
                if scheme.eq_ignore_ascii_case("basic")
                    && let Ok(decoded) =
                        base64::engine::general_purpose::STANDARD.decode(credential)
                    && let Ok(pair) = String::from_utf8(decoded)
                {
                    if let Some((_, password)) = pair.split_once(':') {
                        out.push(password.to_owned());
                    }
                    out.push(pair);
                }
            }
        } else if n == "cookie" {
            out.extend(
                value
                    .split(';')
                    .filter_map(|c| c.split_once('=').map(|(_, v)| v.trim().to_owned())),
            );
        } else if names_a_credential(n) {
            out.push(value.to_owned());
        }
    }
    for (name, value) in response {
        let Ok(value) = value.to_str() else { continue };
        let n = name.as_str();
        if n == "set-cookie" || n == "set-cookie2" {
            if let Some((_, v)) = value.split(';').next().and_then(|c| c.split_once('=')) {
                out.push(v.trim().to_owned());
            }
        } else if names_a_credential(n) || n == "authorization" {
            out.push(value.to_owned());
        }
    }
    out.retain(|s| s.chars().count() >= MIN_SECRET_CHARS);
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && haystack.len() >= needle.len()
        && haystack.windows(needle.len()).any(|w| w == needle)
}

/// A JWT-looking token: `eyJ` (a base64url JSON object) then two more dot-separated
/// base64url segments.
fn has_jwt(bytes: &[u8]) -> bool {
    let is_b64url = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    let mut from = 0;
    while let Some(at) = bytes[from..].windows(3).position(|w| w == b"eyJ") {
        let start = from + at;
        let mut i = start;
        let mut segments = 1;
        let mut length = 0;
        while i < bytes.len() {
            if is_b64url(bytes[i]) {
                length += 1;
            } else if bytes[i] == b'.' && length > 0 && segments < 3 {
                segments += 1;
                length = 0;
            } else {
                break;
            }
            i += 1;
        }
        if segments == 3 && length > 0 {
            return true;
        }
        from = start + 3;
    }
    false
}

static TEMP_SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// Write `bytes` to `path` whole or not at all: a temporary file beside it (not named
/// `*.json`, so no loader reads it half-written), renamed over it.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(
        ".{file_name}.{}-{}.tmp",
        std::process::id(),
        TEMP_SEQUENCE.fetch_add(1, Ordering::Relaxed)
    ));
    let written = std::fs::write(&temp, bytes).and_then(|()| std::fs::rename(&temp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_wiremocks_safe_names() {
        assert_eq!(safe_name("/api/2.0/fo/asset/host/"), "api_20_fo_asset_host");
        assert_eq!(
            safe_name("/qps/rest/2.0/search/am/hostasset"),
            "qps_rest_20_search_am_hostasset"
        );
        assert_eq!(safe_name("/"), "root");
        // Letters outside ASCII are dropped (WireMock keeps the base letter of an accented one).
        assert_eq!(safe_name("/a b/ÄÖ/../x"), "a-b___x");
        assert_eq!(safe_name(&format!("/{}", "x".repeat(500))).len(), 200);
    }

    #[test]
    fn a_jwt_is_found_wherever_it_sits() {
        assert!(has_jwt(b"token: eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiJ4In0.c2ln"));
        assert!(has_jwt(b"eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiJ4In0.c2ln"));
        assert!(!has_jwt(b"eyJhbGciOiJIUzUxMiJ9 and more"));
        assert!(!has_jwt(b"eyJ.eyJ."));
        assert!(!has_jwt(b"no token here"));
    }

    #[test]
    fn the_same_request_match_has_the_same_id() {
        assert_eq!(id_of("a"), id_of("a"));
        assert_ne!(id_of("a"), id_of("b"));
        assert!(uuid::Uuid::parse_str(&id_of("a")).is_ok());
    }
}
