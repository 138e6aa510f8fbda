//! One WireMock stub mapping, read from its JSON: the subset of WireMock's format the
//! emulator supports, every key checked. A key outside the subset is refused with where it
//! is (`request.bodyPatterns[0].matchesJsonPath`) and what is supported there — never
//! ignored, so a mapping never answers differently here than under WireMock.

use std::path::Path;

use axum::body::Bytes;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use base64::Engine;
use serde_json::{Map, Value};

use super::matchers::{BodyMatcher, StringMatcher, UrlMatcher, XmlTree, compile_regex};

/// WireMock's priority when a mapping gives none (1 is the highest).
pub const DEFAULT_PRIORITY: i64 = 5;
/// Longest `fixedDelayMilliseconds` taken.
pub const MAX_DELAY_MS: u64 = 60_000;
/// Largest body a mapping may answer with (inline or from `__files/`).
pub const MAX_RESPONSE_BODY_BYTES: u64 = 16 * 1024 * 1024;

/// The extension key inside `metadata` where the emulator's own settings live (WireMock
/// keeps `metadata` as it is, so the same file loads in both).
pub const EXTENSION_KEY: &str = "qualysMock";

const MAPPING_KEYS: &[&str] = &[
    "id",
    "uuid",
    "name",
    "priority",
    "request",
    "response",
    "metadata",
    "persistent",
];
const REQUEST_KEYS: &[&str] = &[
    "method",
    "url",
    "urlPath",
    "urlPattern",
    "urlPathPattern",
    "queryParameters",
    "headers",
    "bodyPatterns",
];
const RESPONSE_KEYS: &[&str] = &[
    "status",
    "headers",
    "body",
    "jsonBody",
    "base64Body",
    "bodyFileName",
    "fixedDelayMilliseconds",
];
const VALUE_KEYS: &[&str] = &[
    "equalTo",
    "caseInsensitive",
    "contains",
    "matches",
    "absent",
];
const BODY_KEYS: &[&str] = &[
    "equalTo",
    "caseInsensitive",
    "contains",
    "matches",
    "equalToJson",
    "ignoreArrayOrder",
    "ignoreExtraElements",
    "equalToXml",
];
const EXTENSION_KEYS: &[&str] = &["auth", "customer"];
/// Response headers the server sets itself from the body it sends.
const SERVER_HEADERS: &[&str] = &["content-length", "transfer-encoding", "connection"];

/// How a stubbed path checks its caller, as the platform does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Auth {
    /// HTTP Basic (or the `user`/`password` headers) with an emulator user's login.
    Basic,
    /// `Authorization: Bearer` with a JWT from the emulator's `POST /auth`.
    Bearer,
    /// No credentials needed.
    None,
}

/// A mapping's request side.
#[derive(Debug)]
pub struct RequestPattern {
    /// `None`: any method (WireMock's `ANY`, or no `method`).
    pub method: Option<String>,
    pub url: UrlMatcher,
    pub query: Vec<(String, StringMatcher)>,
    pub headers: Vec<(HeaderName, StringMatcher)>,
    pub body: Vec<BodyMatcher>,
}

/// A mapping's answer.
#[derive(Debug, Clone)]
pub struct ResponseDef {
    pub status: StatusCode,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Bytes,
    pub delay_ms: u64,
}

/// One mapping, ready to match.
#[derive(Debug)]
pub struct Mapping {
    pub id: String,
    pub name: Option<String>,
    /// Where it came from: the file (relative to the stubs folder) or `runtime`.
    pub source: String,
    pub priority: i64,
    pub request: RequestPattern,
    pub response: ResponseDef,
    /// `metadata.qualysMock.auth`; `None`: the path's default.
    pub auth: Option<Auth>,
    /// `metadata.qualysMock.customer`: the only customer whose users it answers.
    pub customer: Option<String>,
    /// The mapping as given, with its id: what `GET /_mock/stubs` shows.
    pub json: Value,
}

/// Why a mapping was refused: where (the file, the JSON key path) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub source: String,
    pub key: String,
    pub message: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.source, self.message)
        } else {
            write!(f, "{}: {}: {}", self.source, self.key, self.message)
        }
    }
}

impl std::error::Error for Refusal {}

/// What reading one mapping needs besides its JSON.
pub struct Context<'a> {
    /// The file or `runtime`, for messages.
    pub source: &'a str,
    /// `DIR/__files`, where `bodyFileName` is read; `None` without `--stubs`.
    pub files: Option<&'a Path>,
}

type Res<T> = Result<T, (String, String)>;

fn at(key: &str, message: impl Into<String>) -> (String, String) {
    (key.to_owned(), message.into())
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Refuse any key of `object` outside `supported`.
fn only(object: &Map<String, Value>, prefix: &str, supported: &[&str]) -> Res<()> {
    match object.keys().find(|k| !supported.contains(&k.as_str())) {
        Some(key) => Err(at(
            &join(prefix, key),
            format!("not supported (supported here: {})", supported.join(", ")),
        )),
        None => Ok(()),
    }
}

fn object<'v>(value: &'v Value, key: &str) -> Res<&'v Map<String, Value>> {
    value
        .as_object()
        .ok_or_else(|| at(key, "must be a JSON object"))
}

fn string<'v>(value: &'v Value, key: &str) -> Res<&'v str> {
    value.as_str().ok_or_else(|| at(key, "must be a string"))
}

impl Mapping {
    /// Read one mapping object.
    pub fn read(value: &Value, cx: &Context<'_>) -> Result<Mapping, Refusal> {
        Mapping::read_at(value, "", cx).map_err(|(key, message)| Refusal {
            source: cx.source.to_owned(),
            key,
            message,
        })
    }

    /// Read one mapping object at `prefix` (`mappings[2]` inside a file of many).
    pub fn read_at(value: &Value, prefix: &str, cx: &Context<'_>) -> Res<Mapping> {
        let top = object(
            value,
            if prefix.is_empty() {
                "(mapping)"
            } else {
                prefix
            },
        )?;
        only(top, prefix, MAPPING_KEYS)?;
        let key = |k: &str| join(prefix, k);
        let id = match (top.get("id"), top.get("uuid")) {
            (Some(id), Some(uuid)) if id != uuid => {
                return Err(at(&key("uuid"), "differs from id (give one, or the same)"));
            }
            (Some(v), _) | (None, Some(v)) => {
                let k = if top.contains_key("id") { "id" } else { "uuid" };
                let id = string(v, &key(k))?;
                if id.is_empty() || id.len() > 200 || id.contains('/') {
                    return Err(at(&key(k), "must be 1 to 200 characters without '/'"));
                }
                id.to_owned()
            }
            (None, None) => uuid::Uuid::new_v4().to_string(),
        };
        let name = match top.get("name") {
            Some(v) => Some(string(v, &key("name"))?.to_owned()),
            None => None,
        };
        if let Some(v) = top.get("persistent")
            && !v.is_boolean()
        {
            return Err(at(&key("persistent"), "must be true or false"));
        }
        let priority = match top.get("priority") {
            None => DEFAULT_PRIORITY,
            Some(v) => v
                .as_i64()
                .filter(|p| (1..=i32::MAX as i64).contains(p))
                .ok_or_else(|| at(&key("priority"), "must be a whole number from 1 (highest)"))?,
        };
        let (auth, customer) = match top.get("metadata") {
            None => (None, None),
            Some(v) => extension(object(v, &key("metadata"))?, &key("metadata"))?,
        };
        let request = read_request(
            top.get("request")
                .ok_or_else(|| at(&key("request"), "is required"))?,
            &key("request"),
        )?;
        let response = read_response(
            top.get("response")
                .ok_or_else(|| at(&key("response"), "is required"))?,
            &key("response"),
            cx,
        )?;
        let mut json = value.clone();
        if let Some(map) = json.as_object_mut()
            && !map.contains_key("id")
        {
            map.remove("uuid");
            map.insert("id".into(), Value::String(id.clone()));
        }
        Ok(Mapping {
            id,
            name,
            source: cx.source.to_owned(),
            priority,
            request,
            response,
            auth,
            customer,
            json,
        })
    }
}

fn extension(metadata: &Map<String, Value>, prefix: &str) -> Res<(Option<Auth>, Option<String>)> {
    let Some(ext) = metadata.get(EXTENSION_KEY) else {
        return Ok((None, None));
    };
    let prefix = join(prefix, EXTENSION_KEY);
    let ext = object(ext, &prefix)?;
    only(ext, &prefix, EXTENSION_KEYS)?;
    let auth = match ext.get("auth") {
        None => None,
        Some(v) => Some(match string(v, &join(&prefix, "auth"))? {
            "basic" => Auth::Basic,
            "bearer" => Auth::Bearer,
            "none" => Auth::None,
            other => {
                return Err(at(
                    &join(&prefix, "auth"),
                    format!("{other:?} is not one of basic, bearer, none"),
                ));
            }
        }),
    };
    let customer = match ext.get("customer") {
        None => None,
        Some(v) => {
            let name = string(v, &join(&prefix, "customer"))?.trim();
            if name.is_empty() {
                return Err(at(&join(&prefix, "customer"), "must name a customer"));
            }
            if auth == Some(Auth::None) {
                return Err(at(
                    &join(&prefix, "customer"),
                    "a per-customer stub authenticates its caller: auth cannot be none",
                ));
            }
            Some(name.to_owned())
        }
    };
    Ok((auth, customer))
}

fn read_request(value: &Value, prefix: &str) -> Res<RequestPattern> {
    let request = object(value, prefix)?;
    only(request, prefix, REQUEST_KEYS)?;
    let key = |k: &str| join(prefix, k);
    let method = match request.get("method") {
        None => None,
        Some(v) => {
            let m = string(v, &key("method"))?;
            if m == "ANY" {
                None
            } else if axum::http::Method::from_bytes(m.as_bytes()).is_err() || m.is_empty() {
                return Err(at(&key("method"), format!("{m:?} is not an HTTP method")));
            } else {
                Some(m.to_owned())
            }
        }
    };
    let given: Vec<&str> = ["url", "urlPath", "urlPattern", "urlPathPattern"]
        .into_iter()
        .filter(|k| request.contains_key(*k))
        .collect();
    let url = match given.as_slice() {
        [] => UrlMatcher::Any,
        [one] => {
            let k = key(one);
            let text = string(&request[*one], &k)?;
            match *one {
                "url" | "urlPath" if !text.starts_with('/') => {
                    return Err(at(&k, "must start with /"));
                }
                "url" => UrlMatcher::Url(text.to_owned()),
                "urlPath" => UrlMatcher::UrlPath(text.to_owned()),
                "urlPattern" => UrlMatcher::UrlPattern(compile_regex(text).map_err(|e| at(&k, e))?),
                _ => UrlMatcher::UrlPathPattern(compile_regex(text).map_err(|e| at(&k, e))?),
            }
        }
        many => {
            return Err(at(
                prefix,
                format!(
                    "gives {}: give at most one of url, urlPath, urlPattern, urlPathPattern",
                    many.join(" and ")
                ),
            ));
        }
    };
    let mut query = Vec::new();
    if let Some(v) = request.get("queryParameters") {
        let k = key("queryParameters");
        for (name, pattern) in object(v, &k)? {
            query.push((name.clone(), read_value(pattern, &join(&k, name))?));
        }
    }
    let mut headers = Vec::new();
    if let Some(v) = request.get("headers") {
        let k = key("headers");
        for (name, pattern) in object(v, &k)? {
            let header = HeaderName::try_from(name.as_str())
                .map_err(|_| at(&join(&k, name), "is not a header name"))?;
            headers.push((header, read_value(pattern, &join(&k, name))?));
        }
    }
    let mut body = Vec::new();
    if let Some(v) = request.get("bodyPatterns") {
        let k = key("bodyPatterns");
        let patterns = v
            .as_array()
            .ok_or_else(|| at(&k, "must be an array of patterns"))?;
        for (i, pattern) in patterns.iter().enumerate() {
            body.push(read_body(pattern, &format!("{k}[{i}]"))?);
        }
    }
    Ok(RequestPattern {
        method,
        url,
        query,
        headers,
        body,
    })
}

/// The operator of a pattern object: exactly one of `operators`, with `flags` beside it.
fn operator<'p>(
    pattern: &'p Map<String, Value>,
    prefix: &str,
    operators: &[&'static str],
) -> Res<(&'static str, &'p Value)> {
    let found: Vec<&'static str> = operators
        .iter()
        .copied()
        .filter(|k| pattern.contains_key(*k))
        .collect();
    match found.as_slice() {
        [one] => Ok((one, &pattern[*one])),
        [] => Err(at(prefix, format!("needs one of {}", operators.join(", ")))),
        many => Err(at(
            prefix,
            format!("gives {}: give exactly one", many.join(" and ")),
        )),
    }
}

fn flag(pattern: &Map<String, Value>, prefix: &str, name: &str, allowed: bool) -> Res<bool> {
    match pattern.get(name) {
        None => Ok(false),
        Some(_) if !allowed => Err(at(
            &join(prefix, name),
            "is not supported with this operator",
        )),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(at(&join(prefix, name), "must be true or false")),
    }
}

fn read_value(value: &Value, prefix: &str) -> Res<StringMatcher> {
    let pattern = object(value, prefix)?;
    only(pattern, prefix, VALUE_KEYS)?;
    let (op, operand) = operator(
        pattern,
        prefix,
        &["equalTo", "contains", "matches", "absent"],
    )?;
    read_string_operator(pattern, prefix, op, operand)
}

fn read_string_operator(
    pattern: &Map<String, Value>,
    prefix: &str,
    op: &str,
    operand: &Value,
) -> Res<StringMatcher> {
    let k = join(prefix, op);
    let case_insensitive = flag(pattern, prefix, "caseInsensitive", op == "equalTo")?;
    Ok(match op {
        "equalTo" => StringMatcher::EqualTo {
            value: string(operand, &k)?.to_owned(),
            case_insensitive,
        },
        "contains" => StringMatcher::Contains(string(operand, &k)?.to_owned()),
        "matches" => {
            StringMatcher::Matches(compile_regex(string(operand, &k)?).map_err(|e| at(&k, e))?)
        }
        _ => match operand {
            Value::Bool(true) => StringMatcher::Absent,
            _ => return Err(at(&k, "must be true")),
        },
    })
}

fn read_body(value: &Value, prefix: &str) -> Res<BodyMatcher> {
    let pattern = object(value, prefix)?;
    only(pattern, prefix, BODY_KEYS)?;
    let (op, operand) = operator(
        pattern,
        prefix,
        &[
            "equalTo",
            "contains",
            "matches",
            "equalToJson",
            "equalToXml",
        ],
    )?;
    let k = join(prefix, op);
    match op {
        "equalToJson" => {
            let expected = match operand {
                Value::String(text) => {
                    serde_json::from_str(text).map_err(|e| at(&k, format!("is not JSON: {e}")))?
                }
                other => other.clone(),
            };
            Ok(BodyMatcher::EqualToJson {
                expected,
                ignore_array_order: flag(pattern, prefix, "ignoreArrayOrder", true)?,
                ignore_extra_elements: flag(pattern, prefix, "ignoreExtraElements", true)?,
            })
        }
        "equalToXml" => {
            flag(pattern, prefix, "ignoreArrayOrder", false)?;
            flag(pattern, prefix, "ignoreExtraElements", false)?;
            flag(pattern, prefix, "caseInsensitive", false)?;
            let tree = XmlTree::parse(string(operand, &k)?)
                .map_err(|e| at(&k, format!("is not XML: {e}")))?;
            Ok(BodyMatcher::EqualToXml(tree))
        }
        _ => {
            flag(pattern, prefix, "ignoreArrayOrder", false)?;
            flag(pattern, prefix, "ignoreExtraElements", false)?;
            Ok(BodyMatcher::Text(read_string_operator(
                pattern, prefix, op, operand,
            )?))
        }
    }
}

fn read_response(value: &Value, prefix: &str, cx: &Context<'_>) -> Res<ResponseDef> {
    let response = object(value, prefix)?;
    only(response, prefix, RESPONSE_KEYS)?;
    let key = |k: &str| join(prefix, k);
    let status = match response.get("status") {
        None => StatusCode::OK,
        Some(v) => v
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .filter(|s| (100..=599).contains(s))
            .and_then(|s| StatusCode::from_u16(s).ok())
            .ok_or_else(|| at(&key("status"), "must be an HTTP status from 100 to 599"))?,
    };
    let mut headers = Vec::new();
    if let Some(v) = response.get("headers") {
        let k = key("headers");
        for (name, value) in object(v, &k)? {
            let hk = join(&k, name);
            let header =
                HeaderName::try_from(name.as_str()).map_err(|_| at(&hk, "is not a header name"))?;
            if SERVER_HEADERS.contains(&header.as_str()) {
                return Err(at(&hk, "is set by the server from the body it sends"));
            }
            let values: Vec<&Value> = match value {
                Value::Array(items) => items.iter().collect(),
                one => vec![one],
            };
            for v in values {
                let text = string(v, &hk)?;
                let value = HeaderValue::from_str(text)
                    .map_err(|_| at(&hk, "is not a valid header value"))?;
                headers.push((header.clone(), value));
            }
        }
    }
    let bodies: Vec<&str> = ["body", "jsonBody", "base64Body", "bodyFileName"]
        .into_iter()
        .filter(|k| response.contains_key(*k))
        .collect();
    let body = match bodies.as_slice() {
        [] => Bytes::new(),
        ["body"] => Bytes::from(string(&response["body"], &key("body"))?.to_owned()),
        ["jsonBody"] => Bytes::from(response["jsonBody"].to_string()),
        ["base64Body"] => {
            let k = key("base64Body");
            Bytes::from(
                base64::engine::general_purpose::STANDARD
                    .decode(string(&response["base64Body"], &k)?)
                    .map_err(|e| at(&k, format!("is not base64: {e}")))?,
            )
        }
        _ if bodies.len() > 1 => {
            return Err(at(
                prefix,
                format!("gives {}: give at most one body", bodies.join(" and ")),
            ));
        }
        _ => {
            let k = key("bodyFileName");
            body_file(string(&response["bodyFileName"], &k)?, cx).map_err(|e| at(&k, e))?
        }
    };
    if body.len() as u64 > MAX_RESPONSE_BODY_BYTES {
        return Err(at(
            prefix,
            format!("the body is larger than {MAX_RESPONSE_BODY_BYTES} bytes"),
        ));
    }
    let delay_ms = match response.get("fixedDelayMilliseconds") {
        None => 0,
        Some(v) => v.as_u64().filter(|d| *d <= MAX_DELAY_MS).ok_or_else(|| {
            at(
                &key("fixedDelayMilliseconds"),
                format!("must be a whole number from 0 to {MAX_DELAY_MS}"),
            )
        })?,
    };
    Ok(ResponseDef {
        status,
        headers,
        body,
        delay_ms,
    })
}

/// A `bodyFileName`'s bytes: a relative path inside `__files/`, read now (so a missing
/// file is refused at load, not at the first call).
fn body_file(name: &str, cx: &Context<'_>) -> Result<Bytes, String> {
    let Some(files) = cx.files else {
        return Err("needs a stubs folder (serve --stubs DIR), whose __files/ it names".into());
    };
    let relative = Path::new(name);
    if name.is_empty()
        || relative.is_absolute()
        || relative
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return Err(format!(
            "{name:?} must be a relative path inside __files/ (no .., no leading /)"
        ));
    }
    let path = files.join(relative);
    let meta = std::fs::metadata(&path).map_err(|e| format!("__files/{name}: {e}"))?;
    if meta.len() > MAX_RESPONSE_BODY_BYTES {
        return Err(format!(
            "__files/{name} is larger than {MAX_RESPONSE_BODY_BYTES} bytes"
        ));
    }
    std::fs::read(&path)
        .map(Bytes::from)
        .map_err(|e| format!("__files/{name}: {e}"))
}
