//! `POST /auth` and the bearer-token extractor for `/sm/v1`.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use super::error::CarError;
use crate::auth::TokenError;
use crate::state::AppState;
use crate::store::Caller;

/// The most of a body `POST /auth` reads.
const LOGIN_BODY_BYTES: usize = 64 * 1024;

/// `POST /auth`: form `username`, `password`, `token=true` (`permissions=true` is accepted
/// and ignored). Fields may also come in the query string. Any `Authorization` header is
/// ignored. 201 with the raw JWT as the body.
pub(crate) async fn login(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response, CarError> {
    // A login is a few fields: read no more of an unauthenticated body than that.
    let Ok(body) = axum::body::to_bytes(body, LOGIN_BODY_BYTES).await else {
        return Ok(crate::http::payload_too_large());
    };
    let mut form: HashMap<String, String> = uri
        .query()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"));
    let parsed: Option<HashMap<String, String>> = if body.is_empty() {
        Some(HashMap::new())
    } else if is_json {
        serde_json::from_slice::<HashMap<String, serde_json::Value>>(&body)
            .ok()
            .map(|m| {
                m.into_iter()
                    .map(|(k, v)| match v {
                        serde_json::Value::String(s) => (k, s),
                        other => (k, other.to_string()),
                    })
                    .collect()
            })
    } else {
        serde_urlencoded::from_bytes(&body).ok()
    };
    let Some(fields) = parsed else {
        return Err(CarError::GatewayBadRequest(
            "The request body is not a valid form".to_owned(),
        ));
    };
    form.extend(fields);

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
    let Some(caller) = state.authenticate(username, password).await? else {
        return Err(CarError::LoginFailed(
            "Authentication failed: invalid username or password".to_owned(),
        ));
    };
    let token = state.keys.issue(&caller, state.clock.now_s());
    Ok((
        StatusCode::CREATED,
        [(header::CONTENT_TYPE, "text/plain;charset=UTF-8")],
        token,
    )
        .into_response())
}

/// The caller behind `Authorization: Bearer <jwt>`; any failure is the gateway's 401.
#[derive(Debug, Clone)]
pub(crate) struct CarCaller(pub(crate) Caller);

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
        match state.caller_by_user_id(claims.portal_user_id).await? {
            Some(caller) if caller.customer_id == claims.customer_id => Ok(CarCaller(caller)),
            _ => Err(TokenError::Invalid.into()),
        }
    }
}
