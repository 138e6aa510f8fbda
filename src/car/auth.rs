//! `POST /auth` and the bearer-token extractor for `/sm/v1`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::error::CarError;
use crate::auth::Caller;
use crate::auth::TokenError;
use crate::http::{ShownBody, VerifiedUser};
use crate::state::AppState;

/// The most of a body `POST /auth` reads.
const LOGIN_BODY_BYTES: usize = 64 * 1024;

/// `POST /auth`: fields `username`, `password`, `token=true` (`permissions=true` is
/// accepted and ignored), as a form, JSON or multipart body, or in the query string. Any
/// `Authorization` header is ignored. 201 with the raw JWT as the body.
///
/// The answer carries a [`ShownBody`]: what this parser read of the body with the password
/// (and any other secret) as `***`, or `***` alone when it could not read it, so the journal
/// and the debug log show credentials in no body shape.
pub(crate) async fn login(State(state): State<AppState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let (outcome, shown) = login_with(&state, &parts, body).await;
    let mut response = match outcome {
        Ok(response) => response,
        Err(e) => e.into_response(),
    };
    if let Some(shown) = shown {
        response.extensions_mut().insert(ShownBody(shown));
    }
    response
}

async fn login_with(
    state: &AppState,
    parts: &Parts,
    body: axum::body::Body,
) -> (Result<Response, CarError>, Option<String>) {
    // A login is a few fields: read no more of an unauthenticated body than that.
    let Ok(body) = axum::body::to_bytes(body, LOGIN_BODY_BYTES).await else {
        return (
            Ok(crate::http::payload_too_large()),
            Some(crate::http::REDACTED.to_owned()),
        );
    };
    let mut form: HashMap<String, String> = parts
        .uri
        .query()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let Some(read) = LoginBody::read(&parts.headers, body).await else {
        return (
            Err(CarError::GatewayBadRequest(
                "The request body is not a valid form".to_owned(),
            )),
            Some(crate::http::REDACTED.to_owned()),
        );
    };
    let shown = read.shown();
    form.extend(read.into_fields());
    (authenticate(state, parts, &form).await, shown)
}

async fn authenticate(
    state: &AppState,
    parts: &Parts,
    form: &HashMap<String, String>,
) -> Result<Response, CarError> {
    let field = |name: &str| form.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let missing: Vec<&str> = ["username", "password", "token"]
        .into_iter()
        .filter(|f| field(f).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(CarError::GatewayBadRequest(format!(
            "Missing required parameter(s): {}",
            missing.join(", ")
        )));
    }
    if !field("token").is_some_and(|t| t.eq_ignore_ascii_case("true")) {
        return Err(CarError::GatewayBadRequest(
            "Parameter token must be true".to_owned(),
        ));
    }
    let (username, password) = (
        field("username").unwrap_or(""),
        field("password").unwrap_or(""),
    );
    let Some(caller) = state.store.authenticate(username, password).await? else {
        return Err(CarError::LoginFailed(
            "Authentication failed: invalid username or password".to_owned(),
        ));
    };
    VerifiedUser::note(&parts.extensions, &caller.username);
    let token = state.keys.issue(&caller, state.clock.now_s());
    Ok((
        StatusCode::CREATED,
        [(header::CONTENT_TYPE, "text/plain;charset=UTF-8")],
        token,
    )
        .into_response())
}

/// The fields of a login body, in the shape it came in.
#[derive(Debug, PartialEq)]
enum LoginBody {
    Empty,
    /// A JSON object (and its text); a value that is not a string is read as its JSON text.
    Json(serde_json::Map<String, serde_json::Value>, String),
    /// Form or multipart fields, in order.
    Fields(Vec<(String, String)>),
}

impl LoginBody {
    /// Read `body` as its `Content-Type` says: JSON, multipart/form-data, else a form.
    /// `None`: it is none of them.
    async fn read(headers: &HeaderMap, body: Bytes) -> Option<LoginBody> {
        if body.is_empty() {
            return Some(LoginBody::Empty);
        }
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if content_type.starts_with("application/json") {
            let map = serde_json::from_slice(&body).ok()?;
            Some(LoginBody::Json(
                map,
                String::from_utf8_lossy(&body).into_owned(),
            ))
        } else if content_type.starts_with("multipart/form-data") {
            multipart_fields(headers, body).await.map(LoginBody::Fields)
        } else {
            serde_urlencoded::from_bytes(&body)
                .ok()
                .map(LoginBody::Fields)
        }
    }

    /// The fields as the login reads them (a later field of a name wins).
    fn into_fields(self) -> Vec<(String, String)> {
        match self {
            LoginBody::Empty => Vec::new(),
            LoginBody::Json(map, _) => map
                .into_iter()
                .map(|(k, v)| match v {
                    serde_json::Value::String(s) => (k, s),
                    other => (k, other.to_string()),
                })
                .collect(),
            LoginBody::Fields(fields) => fields,
        }
    }

    /// The body as it may be shown: JSON as JSON, form and multipart fields as a form, each
    /// secret value (`password` whatever its type, and any other secret-named field) `***`.
    fn shown(&self) -> Option<String> {
        let secret =
            |name: &str, value: &str| name == "password" || crate::http::is_secret(name, value);
        match self {
            LoginBody::Empty => None,
            LoginBody::Json(map, text) => {
                let mut map = map.clone();
                for (name, value) in map.iter_mut() {
                    let text = match &*value {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    if secret(name, &text) {
                        *value = serde_json::Value::String(crate::http::REDACTED.to_owned());
                    }
                }
                let redacted =
                    crate::http::redact_json(&serde_json::Value::Object(map).to_string());
                // The text as sent (its spacing kept) when its redaction hides the same.
                let as_sent = crate::http::redact_json(text);
                let same = serde_json::from_str::<serde_json::Value>(&as_sent).ok()
                    == serde_json::from_str::<serde_json::Value>(&redacted).ok();
                Some(if same { as_sent } else { redacted })
            }
            LoginBody::Fields(fields) => {
                let shown: Vec<(&str, &str)> = fields
                    .iter()
                    .map(|(name, value)| {
                        if secret(name, value) {
                            (name.as_str(), crate::http::REDACTED)
                        } else {
                            (name.as_str(), value.as_str())
                        }
                    })
                    .collect();
                Some(
                    serde_urlencoded::to_string(shown)
                        .unwrap_or_else(|_| crate::http::REDACTED.to_owned()),
                )
            }
        }
    }
}

/// The text fields of a multipart/form-data body; `None` when it is not one, or a field is
/// not text.
async fn multipart_fields(headers: &HeaderMap, body: Bytes) -> Option<Vec<(String, String)>> {
    let mut request = axum::http::Request::new(axum::body::Body::from(body));
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        request
            .headers_mut()
            .insert(header::CONTENT_TYPE, ct.clone());
    }
    let mut multipart = axum::extract::Multipart::from_request(request, &())
        .await
        .ok()?;
    let mut fields = Vec::new();
    while let Some(field) = multipart.next_field().await.ok()? {
        let name = field.name().unwrap_or("").to_owned();
        let value = field.text().await.ok()?;
        fields.push((name, value));
    }
    Some(fields)
}

/// The caller behind `Authorization: Bearer <jwt>`; any failure is the gateway's 401.
#[derive(Debug, Clone)]
pub(crate) struct CarCaller(pub(crate) std::sync::Arc<Caller>);

impl FromRequestParts<AppState> for CarCaller {
    type Rejection = CarError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, CarError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|t| !t.is_empty())
            .ok_or(TokenError::Invalid)?;
        let claims = state.keys.verify(token, state.clock.now_s())?;
        // The token must name the user row and customer the store holds now: one that
        // outlived its user or customer (a reset, a customer made again) is not authenticated.
        match state.store.caller_by_user_id(claims.portal_user_id).await? {
            Some(caller) if claims.name(&caller) => {
                VerifiedUser::note(&parts.extensions, &caller.username);
                Ok(CarCaller(caller))
            }
            _ => Err(TokenError::Invalid.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read(content_type: &str, body: &str) -> Option<LoginBody> {
        let mut headers = HeaderMap::new();
        if !content_type.is_empty() {
            headers.insert(header::CONTENT_TYPE, content_type.parse().unwrap());
        }
        LoginBody::read(&headers, Bytes::from(body.to_owned())).await
    }

    #[tokio::test]
    async fn every_shape_reads_the_password_the_login_uses_and_shows_it_as_stars() {
        let multipart = "--b\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nu\r\n\
                         --b\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\np w\r\n--b--\r\n";
        for (content_type, body, password, shown) in [
            (
                "",
                "username=u&password=p%20w",
                "p w",
                "username=u&password=***",
            ),
            (
                "application/x-www-form-urlencoded",
                "username=u&pass%77ord=p+w&token=true",
                "p w",
                "username=u&password=***&token=true",
            ),
            (
                "multipart/form-data; boundary=b",
                multipart,
                "p w",
                "username=u&password=***",
            ),
            (
                "application/json",
                r#"{"username":"u","pass\u0077ord":"p\u0020w"}"#,
                "p w",
                r#"{"username":"u","pass\u0077ord":"***"}"#,
            ),
            (
                "application/json",
                r#"{"username": "u", "password": "p", "token": "true"}"#,
                "p",
                r#"{"username": "u", "password": "***", "token": "true"}"#,
            ),
            (
                "application/json",
                r#"{"password":12}"#,
                "12",
                r#"{"password":"***"}"#,
            ),
            (
                "application/json",
                r#"{"password":true}"#,
                "true",
                r#"{"password":"***"}"#,
            ),
            (
                "application/json",
                r#"{"password":{"a":1}}"#,
                r#"{"a":1}"#,
                r#"{"password":"***"}"#,
            ),
        ] {
            let body_read = read(content_type, body).await.unwrap();
            assert_eq!(body_read.shown().as_deref(), Some(shown), "{body}");
            let fields: HashMap<String, String> = body_read.into_fields().into_iter().collect();
            assert_eq!(fields["password"], password, "{body}");
        }
        assert_eq!(read("", "").await, Some(LoginBody::Empty));
        assert_eq!(LoginBody::Empty.shown(), None);
    }

    #[tokio::test]
    async fn a_body_of_no_shape_reads_as_none() {
        assert_eq!(read("application/json", "[1]").await, None);
        assert_eq!(read("application/json", r#"{"password":"x""#).await, None);
        assert_eq!(
            read("multipart/form-data; boundary=b", "--b\r\nnope").await,
            None
        );
        assert_eq!(read("multipart/form-data", "--b--\r\n").await, None);
    }
}
