//! How the control API reads what it is sent: strictly. Every query string, path parameter
//! and body goes through the extractors here, whose rejections are the control API's own
//! `{"error"}` 400 naming what was wrong (an unknown key, a duplicate, a wrong type or
//! shape) — never a default action. A route that takes no query or no body refuses one
//! ([`Unread`]), so a caller's `?customer=` or `{"id": 3}` is never ignored.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde::de::DeserializeOwned;

use super::error_body;
use crate::guard::{Checked, Guard};

fn bad_request(message: impl Into<String>) -> Response {
    error_body(StatusCode::BAD_REQUEST, message.into())
}

/// A path parameter; a value that does not parse is a 400.
pub(crate) struct ControlPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ControlPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(ControlPath(value)),
            Err(e) => Err(bad_request(e.body_text())),
        }
    }
}

/// The query string as `T`, which must refuse unknown fields (`deny_unknown_fields`): an
/// unknown key (`?Customer=`, `?customer[]=`), a repeated one or a value of the wrong type
/// is a 400 naming it.
pub(crate) struct ControlQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ControlQuery<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        parse_query(parts.uri.query().unwrap_or(""))
            .map(ControlQuery)
            .map_err(bad_request)
    }
}

/// A query string as `T`, with the reason it is refused.
pub(crate) fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, String> {
    serde_urlencoded::from_str(query).map_err(|e| format!("invalid query string: {e}"))
}

/// The body as `T`, which must refuse unknown fields: a JSON object (an empty body reads
/// as `{}`). Anything else — a form, a JSON array or string, a repeated key, an unknown
/// key, a wrong type — is a 400 naming it. The body limit's refusal keeps its status.
pub(crate) struct ControlJson<T>(pub T);

impl<T, S> FromRequest<S> for ControlJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Response> {
        let content_type = content_type(&request);
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|e| error_body(e.status(), e.body_text()))?;
        parse_body(&bytes, content_type.as_deref())
            .map(ControlJson)
            .map_err(bad_request)
    }
}

fn content_type(request: &Request) -> Option<String> {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// A body as `T`, with the reason it is refused.
pub(crate) fn parse_body<T: DeserializeOwned>(
    bytes: &[u8],
    content_type: Option<&str>,
) -> Result<T, String> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    let not_an_object = || {
        let sent = match content_type {
            Some(t) if !t.to_ascii_lowercase().contains("json") => format!(" (sent as {t})"),
            _ => String::new(),
        };
        format!("the body must be a JSON object{sent}")
    };
    match first {
        None => serde_json::from_slice(b"{}").map_err(|e| format!("the body is required: {e}")),
        Some(b'{') => {
            let refused = |e: serde_json::Error| {
                if e.is_syntax() || e.is_eof() {
                    format!("{}: {e}", not_an_object())
                } else {
                    e.to_string()
                }
            };
            // A key repeated at any depth is refused (serde_json would keep the last in a
            // map, e.g. a seed's object types), then the body is read as `T`.
            serde_json::from_slice::<UniqueKeys>(bytes).map_err(refused)?;
            serde_json::from_slice(bytes).map_err(refused)
        }
        Some(_) => Err(not_an_object()),
    }
}

/// Any JSON value whose objects, at every depth, name each key once.
struct UniqueKeys;

impl<'de> serde::Deserialize<'de> for UniqueKeys {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UniqueKeysVisitor)
    }
}

struct UniqueKeysVisitor;

impl<'de> serde::de::Visitor<'de> for UniqueKeysVisitor {
    type Value = UniqueKeys;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_i64<E>(self, _: i64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_u64<E>(self, _: u64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_f64<E>(self, _: f64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_str<E>(self, _: &str) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_unit<E>(self) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<UniqueKeys, A::Error> {
        while seq.next_element::<UniqueKeys>()?.is_some() {}
        Ok(UniqueKeys)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<UniqueKeys, A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(serde::de::Error::custom(format!("duplicate field `{key}`")));
            }
            map.next_value::<UniqueKeys>()?;
        }
        Ok(UniqueKeys)
    }
}

/// What a route that reads no query or no body accepts: nothing (an empty body or `{}`).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Nothing {}

/// The guard of the control routes that read no query string, no body, or neither: one
/// given is a 400, so a caller's `?customer=` or `{"id": 3}` is never ignored. A body is
/// looked at first; one that is empty or `{}` is handed on.
#[derive(Clone, Copy)]
pub(crate) struct Unread {
    pub query: bool,
    pub body: bool,
}

impl Guard for Unread {
    fn check(&self, request: Request) -> Checked {
        // No body at all (a GET, as most are): nothing to read or refuse.
        if !self.body || http_body::Body::is_end_stream(request.body()) {
            return match self.query_refusal(&request) {
                Some(refused) => Checked::Answer(refused),
                None => Checked::Pass(request),
            };
        }
        let unread = *self;
        Checked::Wait(Box::pin(async move {
            let request = no_body(request).await?;
            match unread.query_refusal(&request) {
                Some(refused) => Err(refused),
                None => Ok(request),
            }
        }))
    }
}

impl Unread {
    fn query_refusal(&self, request: &Request) -> Option<Response> {
        let query = request
            .uri()
            .query()
            .filter(|q| self.query && !q.is_empty())?;
        Some(bad_request(format!(
            "{} {} takes no query string (got {query:?})",
            request.method(),
            request.uri().path()
        )))
    }
}

/// The request again if its body is empty or `{}`; else the 400.
async fn no_body(request: Request) -> Result<Request, Response> {
    let content_type = content_type(&request);
    let (parts, body) = request.into_parts();
    let (method, path) = (parts.method.clone(), parts.uri.path().to_owned());
    let bytes = match Bytes::from_request(Request::from_parts(parts.clone(), body), &()).await {
        Ok(bytes) => bytes,
        Err(e) => return Err(error_body(e.status(), e.body_text())),
    };
    if let Err(reason) = parse_body::<Nothing>(&bytes, content_type.as_deref()) {
        return Err(bad_request(format!(
            "{method} {path} takes no body: {reason}"
        )));
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_repeated_at_any_depth_is_refused() {
        let seed = br#"{"scripts": [{"id": 1, "id": 2}]}"#;
        let e = parse_body::<serde_json::Map<String, serde_json::Value>>(seed, None).unwrap_err();
        assert!(e.contains("duplicate field `id`"), "{e}");
        let top = br#"{"scripts": [], "scripts": []}"#;
        let e = parse_body::<serde_json::Map<String, serde_json::Value>>(top, None).unwrap_err();
        assert!(e.contains("duplicate field `scripts`"), "{e}");
        let fine = br#"{"a": [{"id": 1}, {"id": 2}], "b": {"id": 1}}"#;
        assert!(parse_body::<serde_json::Value>(fine, None).is_ok());
    }

    #[test]
    fn only_an_object_is_a_body() {
        for body in [&b"[]"[..], b"null", b"\"x\"", b"customer=Globex", b"{"] {
            let e =
                parse_body::<serde_json::Value>(body, Some("application/x-www-form-urlencoded"))
                    .unwrap_err();
            assert!(
                e.starts_with("the body must be a JSON object (sent as"),
                "{e}"
            );
        }
        assert!(parse_body::<serde_json::Value>(b"  ", None).is_ok());
    }
}
