//! How a CM handler answers: the request's [`Ctx`] (format, schema location) plus a
//! `ServiceResponse` or a [`CmError`], rendered by [`Reply`]'s `IntoResponse`.
//! The Basic-auth extractor [`CmCaller`] rejects with a `Reply` too, so an auth failure is
//! answered in the format and schema of the endpoint that was called.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;

use super::error::CmError;
use super::objects::Kind;
use super::wire::{Format, ServiceResponse};
use super::xsd;
use crate::auth::Caller;
use crate::state::AppState;
use crate::state::journal::NoErrorInBody;

/// What every CM answer needs to know about its request.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub format: Format,
    /// Full `xsi:noNamespaceSchemaLocation` for this endpoint.
    pub schema_url: String,
}

impl Ctx {
    pub fn from_parts(parts: &Parts) -> Ctx {
        Ctx::for_request(&parts.uri, &parts.headers, &parts.extensions)
    }

    /// The context of a request known by its URI, headers and extensions.
    pub fn for_request(uri: &Uri, headers: &HeaderMap, extensions: &Extensions) -> Ctx {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| uri.authority().map(|a| a.as_str()))
            .unwrap_or("localhost");
        let (scheme, path) = (scheme(uri, headers, extensions), schema_path(uri.path()));
        let mut schema_url = String::with_capacity(scheme.len() + 3 + host.len() + path.len());
        for part in [scheme, "://", host, path] {
            schema_url.push_str(part);
        }
        Ctx {
            format: Format::from_headers(headers),
            schema_url,
        }
    }

    pub fn ok(self, response: ServiceResponse) -> Reply {
        Reply {
            ctx: self,
            result: Ok(Answer::Response(response)),
        }
    }

    pub fn fail(self, error: CmError) -> Reply {
        Reply {
            ctx: self,
            result: Err(error),
        }
    }

    /// A success answer rendered already (by [`ServiceResponse::render`] for this context).
    pub fn rendered(self, result: Result<Arc<[u8]>, CmError>) -> Reply {
        Reply {
            ctx: self,
            result: result.map(Answer::Rendered),
        }
    }
}

/// Marks a request that came in over TLS (the HTTPS listener adds it), so answers name the
/// schemas at `https://`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Https;

/// The request's own scheme: HTTPS when the TLS listener marked it (or the URI or a proxy's
/// `X-Forwarded-Proto` says so), HTTP otherwise.
pub(crate) fn scheme(uri: &Uri, headers: &HeaderMap, extensions: &Extensions) -> &'static str {
    let forwarded = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(str::trim);
    if extensions.get::<Https>().is_some()
        || uri.scheme_str() == Some("https")
        || forwarded.is_some_and(|p| p.eq_ignore_ascii_case("https"))
    {
        "https"
    } else {
        "http"
    }
}

/// The served XSD for a path: `/qps/xsd/1.0/cm/alert.xsd`, `/qps/xsd/version.xsd`; paths
/// that name no CM object get the envelope schema `/qps/xsd/1.0/cm.xsd`.
fn schema_path(path: &str) -> &'static str {
    let rest = path.trim_start_matches("/qps/rest/");
    if rest == "portal/version" || rest.starts_with("portal/version/") {
        return xsd::VERSION;
    }
    let mut parts = rest.split('/').filter(|s| !s.is_empty());
    match [parts.next(), parts.next(), parts.next(), parts.next()] {
        [
            Some("1.0"),
            Some("search" | "get" | "download"),
            Some("cm"),
            Some(object),
        ] => Kind::from_path(object).map_or(xsd::ENVELOPE, |k| k.xsd().path),
        _ => xsd::ENVELOPE,
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Ctx::from_parts(parts))
    }
}

/// A rendered CM answer.
#[derive(Debug)]
pub struct Reply {
    ctx: Ctx,
    result: Result<Answer, CmError>,
}

/// A success answer, to render or rendered already.
#[derive(Debug)]
enum Answer {
    Response(ServiceResponse),
    Rendered(Arc<[u8]>),
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let succeeded = self.result.is_ok();
        let (status, body) = match self.result {
            Ok(Answer::Response(response)) => (
                StatusCode::OK,
                Body::from(response.render(self.ctx.format, &self.ctx.schema_url)),
            ),
            Ok(Answer::Rendered(bytes)) => (StatusCode::OK, Body::from(Bytes::from_owner(bytes))),
            Err(e) => (
                e.status,
                Body::from(
                    ServiceResponse::error(e.code, e.message, e.resolution)
                        .render(self.ctx.format, &self.ctx.schema_url),
                ),
            ),
        };
        let mut response = (
            status,
            [(header::CONTENT_TYPE, self.ctx.format.content_type())],
            body,
        )
            .into_response();
        if succeeded {
            // A QPS error is answered with 200 too: the journal would read this answer for
            // its `responseCode` if it were not told.
            response.extensions_mut().insert(NoErrorInBody);
        }
        if status == StatusCode::UNAUTHORIZED {
            // RFC 7617: the challenge clients that send credentials only when asked need.
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(BASIC_CHALLENGE),
            );
        }
        response
    }
}

/// The challenge on every CM 401.
pub const BASIC_CHALLENGE: &str = "Basic realm=\"Qualys API\", charset=\"UTF-8\"";

/// The authenticated CM caller: HTTP Basic, or the `user` and `password` headers.
#[derive(Debug, Clone)]
pub struct CmCaller(pub std::sync::Arc<Caller>);

impl FromRequestParts<AppState> for CmCaller {
    type Rejection = Reply;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Reply> {
        let fail = |e: CmError| Ctx::from_parts(parts).fail(e);
        let (user, password) = match credentials(&parts.headers) {
            Credentials::Missing => return Err(fail(CmError::credentials_needed())),
            Credentials::Malformed => return Err(fail(CmError::invalid_credentials())),
            Credentials::Given(user, password) => (user, password),
        };
        match state.store.authenticate(&user, &password).await {
            Ok(Some(caller)) => {
                crate::http::VerifiedUser::note(&parts.extensions, &caller.username);
                Ok(CmCaller(caller))
            }
            Ok(None) => Err(fail(CmError::invalid_credentials())),
            Err(e) => Err(fail(e.into())),
        }
    }
}

pub(crate) enum Credentials {
    Missing,
    Malformed,
    Given(String, String),
}

/// The Basic credentials of a request (or the `user` and `password` headers).
pub(crate) fn credentials(headers: &HeaderMap) -> Credentials {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let Some(encoded) = value.to_str().ok().and_then(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("basic").then(|| rest.trim())
        }) else {
            return Credentials::Malformed;
        };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok());
        return match decoded.as_deref().and_then(|s| s.split_once(':')) {
            Some((user, password)) => Credentials::Given(user.to_owned(), password.to_owned()),
            None => Credentials::Malformed,
        };
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match (header("user"), header("password")) {
        (Some(user), Some(password)) => Credentials::Given(user.to_owned(), password.to_owned()),
        (None, None) => Credentials::Missing,
        _ => Credentials::Malformed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_paths_follow_the_object_type() {
        assert_eq!(
            schema_path("/qps/rest/1.0/search/cm/alert/"),
            "/qps/xsd/1.0/cm/alert.xsd"
        );
        assert_eq!(
            schema_path("/qps/rest/1.0/get/cm/rule/6002"),
            "/qps/xsd/1.0/cm/rule.xsd"
        );
        assert_eq!(
            schema_path("/qps/rest/portal/version/"),
            "/qps/xsd/version.xsd"
        );
        for other in [
            "/qps/rest/1.0/search/cm/bogus",
            "/qps/rest/2.0/search/cm/alert",
            "/qps/rest/1.0/search/am/asset",
            "/qps/nothing",
        ] {
            assert_eq!(schema_path(other), "/qps/xsd/1.0/cm.xsd", "{other}");
        }
        for (path, _) in crate::cm::xsd::schemas() {
            assert!(path.starts_with("/qps/xsd/"));
        }
    }
}
