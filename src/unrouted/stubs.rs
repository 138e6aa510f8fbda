//! Answering from the stubs in force: a request no emulated route took meets the mappings
//! (by priority, 1 first; the newest first among equals), with the platform's auth checked
//! against the emulator's users. What comes after when none matches is the proxy, then the
//! surface's 404.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use crate::state::AppState;
use crate::state::journal::AnsweredBy;
use crate::stubs::{Auth, Mapping};

/// What [`answer`] made of a request no emulated route took.
pub enum Answer {
    /// A stub answered (or its auth refused the caller).
    Stub(Response),
    /// No stub matched: the request, its body intact (for what comes after the stubs: the
    /// proxy, the surface's 404).
    Unmatched(Request),
}

/// The request's path and query as sent, its path, and its decoded query parameters.
struct Target<'a> {
    path_and_query: &'a str,
    path: &'a str,
    query: Vec<(String, String)>,
}

impl Target<'_> {
    fn query_values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> {
        self.query
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn request_matches(m: &Mapping, parts: &Parts, target: &Target<'_>, body: &str) -> bool {
    let pattern = &m.request;
    if let Some(method) = &pattern.method
        && method != parts.method.as_str()
    {
        return false;
    }
    pattern.url.matches(target.path_and_query, target.path)
        && pattern
            .query
            .iter()
            .all(|(name, matcher)| matcher.matches_values(target.query_values(name)))
        && pattern.headers.iter().all(|(name, matcher)| {
            let values: Vec<String> = parts
                .headers
                .get_all(name)
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect();
            matcher.matches_values(values.iter().map(String::as_str))
        })
        && pattern.body.iter().all(|matcher| matcher.matches(body))
}

/// The auth a stubbed path needs when its mapping does not say: Basic on the classic
/// platform's prefixes (`/api/`, `/msp/`, `/qps/`), Bearer on the gateway's
/// (`/csam/`, `/am/`, `/sm/`, `/etm/`, `/pcas/`), none elsewhere. A per-customer mapping
/// with none of these authenticates with Basic.
pub fn default_auth(path: &str) -> Auth {
    const BASIC: &[&str] = &["/api/", "/msp/", "/qps/"];
    const BEARER: &[&str] = &["/csam/", "/am/", "/sm/", "/etm/", "/pcas/"];
    if BASIC.iter().any(|p| path.starts_with(p)) {
        Auth::Basic
    } else if BEARER.iter().any(|p| path.starts_with(p)) {
        Auth::Bearer
    } else {
        Auth::None
    }
}

fn auth_of(m: &Mapping, path: &str) -> Auth {
    match (m.auth, &m.customer) {
        (Some(auth), _) => auth,
        (None, customer) => match (default_auth(path), customer) {
            (Auth::None, Some(_)) => Auth::Basic,
            (auth, _) => auth,
        },
    }
}

/// The caller behind the credentials `auth` asks for, or the platform's 401 for the path.
async fn authenticate(
    state: &AppState,
    parts: &mut Parts,
    auth: Auth,
) -> Result<Option<std::sync::Arc<crate::auth::Caller>>, Response> {
    use crate::cm::reply::{Credentials, credentials};
    match auth {
        Auth::None => Ok(None),
        Auth::Bearer => crate::car::auth::CarCaller::from_request_parts(parts, state)
            .await
            .map(|c| Some(c.0))
            .map_err(IntoResponse::into_response),
        Auth::Basic => {
            let is_qps = parts.uri.path().starts_with("/qps/");
            let now_s = state.clock.now_ms().div_euclid(1000);
            let refuse = |parts: &Parts, missing: bool| {
                if is_qps {
                    let error = if missing {
                        crate::cm::error::CmError::credentials_needed()
                    } else {
                        crate::cm::error::CmError::invalid_credentials()
                    };
                    crate::cm::reply::Ctx::from_parts(parts)
                        .fail(error)
                        .into_response()
                } else {
                    crate::classic::bad_login(now_s)
                }
            };
            let (user, password) = match credentials(&parts.headers) {
                Credentials::Given(user, password) => (user, password),
                Credentials::Missing => return Err(refuse(parts, true)),
                Credentials::Malformed => return Err(refuse(parts, false)),
            };
            match state.store.authenticate(&user, &password).await {
                Ok(Some(caller)) => {
                    crate::http::VerifiedUser::note(&parts.extensions, &caller.username);
                    Ok(Some(caller))
                }
                Ok(None) => Err(refuse(parts, false)),
                Err(e) => {
                    tracing::error!(error = %e, "store error checking a stub's caller");
                    if is_qps {
                        Err(crate::cm::reply::Ctx::from_parts(parts)
                            .fail(e.into())
                            .into_response())
                    } else {
                        Err(crate::classic::simple_return(
                            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                            now_s,
                            Some(999),
                            "Internal error. Please contact customer support.",
                        ))
                    }
                }
            }
        }
    }
}

fn marked(mut response: Response, id: &str) -> Response {
    response
        .extensions_mut()
        .insert(AnsweredBy(format!("stub:{id}")));
    response
}

/// Answer `request` from the stubs in force: the first mapping (by priority) whose request
/// side matches and whose customer, if it names one, is the caller's. Its auth is checked
/// first: a caller it refuses gets the platform's 401 for the path.
pub async fn answer(state: &AppState, request: Request) -> Answer {
    let stubs = state.control.stubs.snapshot();
    if stubs.is_empty() {
        return Answer::Unmatched(request);
    }
    let (mut parts, body) = request.into_parts();
    let (body, bytes): (Body, Bytes) = if stubs.iter().any(|e| !e.mapping.request.body.is_empty()) {
        match axum::body::to_bytes(body, state.info.max_body_bytes).await {
            Ok(bytes) => (Body::from(bytes.clone()), bytes),
            // The body guard answers a body it cut short, whatever is answered here.
            Err(_) => return Answer::Unmatched(Request::from_parts(parts, Body::empty())),
        }
    } else {
        (body, Bytes::new())
    };
    let text = String::from_utf8_lossy(&bytes);
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| parts.uri.path().to_owned());
    let path = parts.uri.path().to_owned();
    let target = Target {
        path_and_query: &path_and_query,
        path: &path,
        query: serde_urlencoded::from_str(parts.uri.query().unwrap_or("")).unwrap_or_default(),
    };
    let mut checked: Vec<(Auth, Option<std::sync::Arc<crate::auth::Caller>>)> = Vec::new();
    for entry in stubs.iter() {
        let m = &entry.mapping;
        if !request_matches(m, &parts, &target, &text) {
            continue;
        }
        let auth = auth_of(m, &path);
        let caller = match checked.iter().find(|(a, _)| *a == auth) {
            Some((_, caller)) => caller.clone(),
            None => match authenticate(state, &mut parts, auth).await {
                Ok(caller) => {
                    checked.push((auth, caller.clone()));
                    caller
                }
                Err(refused) => return Answer::Stub(marked(refused, &m.id)),
            },
        };
        if let Some(customer) = &m.customer
            && caller.as_ref().map(|c| &c.customer_name) != Some(customer)
        {
            continue;
        }
        let r = &m.response;
        if r.delay_ms > 0 {
            // A real delay, as WireMock's: the mapping asks the caller to wait.
            tokio::time::sleep(std::time::Duration::from_millis(r.delay_ms)).await;
        }
        let mut response = Response::new(Body::from(r.body.clone()));
        *response.status_mut() = r.status;
        for (name, value) in &r.headers {
            response.headers_mut().append(name.clone(), value.clone());
        }
        return Answer::Stub(marked(response, &m.id));
    }
    Answer::Unmatched(Request::from_parts(parts, body))
}
