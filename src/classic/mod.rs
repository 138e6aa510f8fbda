//! The classic Qualys platform API (`/msp/...`, the VM API's oldest surface): only what
//! clients of the emulated APIs call on it — `GET|POST /msp/about.php`, the version page
//! qualysdk's `BasicAuth` (and qualysetl, monitoring probes) call to check a Basic login and
//! read the subscription's API limits from its headers.
//!
//! Its answers are XML. Errors are the VM API's `SIMPLE_RETURN`
//! (`<SIMPLE_RETURN><RESPONSE><DATETIME/>[<CODE/>]<TEXT/></RESPONSE></SIMPLE_RETURN>`): a
//! failed or missing login is 401 with `Bad Login/Password` (the text Qualys support's API
//! troubleshooting note shows) and the Basic challenge; a rate limit is the VM guide's 409
//! with code 1965. Credentials are read as on CM (HTTP Basic, or the `user` and `password`
//! headers); `X-Requested-With` is not required, as qualysdk's probe does not send it.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::cm::reply::{BASIC_CHALLENGE, Credentials, credentials};
use crate::cm::wire::escape;
use crate::state::AppState;

/// The API limits every successful answer states, as the VM API's response headers do.
/// The emulator does not count calls against them: a subscription at rest, with this call
/// the only one running.
pub const RATE_LIMIT: u64 = 300;
pub const RATE_WINDOW_SECS: u64 = 3600;
pub const CONCURRENCY_LIMIT: u64 = 2;

/// The versions `about.php` reports.
const WEB_VERSION: &str = "10.35.1.0-1";
const SCANNER_VERSION: &str = "13.6.36-1";
const VULNSIGS_VERSION: &str = "2.6.243-2";

pub fn router() -> Router<AppState> {
    Router::new().route("/msp/about.php", get(about).post(about))
}

/// `GET|POST /msp/about.php`: the version page, for a valid Basic login.
async fn about(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    headers: HeaderMap,
) -> Response {
    let now_s = state.clock.now_ms().div_euclid(1000);
    let (user, password) = match credentials(&headers) {
        Credentials::Given(user, password) => (user, password),
        Credentials::Missing | Credentials::Malformed => return bad_login(now_s),
    };
    let caller = match state.store.authenticate(&user, &password).await {
        Ok(Some(caller)) => {
            crate::http::VerifiedUser::note(&extensions, &caller.username);
            caller
        }
        Ok(None) => return bad_login(now_s),
        Err(e) => {
            tracing::error!(error = %e, "store error on /msp/about.php");
            return simple_return(
                StatusCode::INTERNAL_SERVER_ERROR,
                now_s,
                Some(999),
                "Internal error. Please contact customer support.",
            );
        }
    };
    let date = crate::dates::iso_s(now_s);
    // A comment must not hold `--`; a login is text, so say it with `-` alone.
    let username = escape(&caller.username).replace("--", "-\u{2010}");
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n\
         <ABOUT>\n  \
         <API-VERSION MAJOR=\"1\" MINOR=\"4\" />\n  \
         <WEB-VERSION>{WEB_VERSION}</WEB-VERSION>\n  \
         <SCANNER-VERSION>{SCANNER_VERSION}</SCANNER-VERSION>\n  \
         <VULNSIGS-VERSION>{VULNSIGS_VERSION}</VULNSIGS-VERSION>\n\
         </ABOUT>\n\
         <!-- Generated for username=\"{username}\" date=\"{date}\" -->\n"
    );
    let mut response = xml(StatusCode::OK, body);
    limit_headers(response.headers_mut(), RATE_LIMIT, 0);
    response
}

/// The VM API's limit headers: the limits, what is left of the window, how long to wait.
fn limit_headers(headers: &mut HeaderMap, remaining: u64, wait_s: u64) {
    for (name, value) in [
        ("x-ratelimit-limit", RATE_LIMIT),
        ("x-ratelimit-window-sec", RATE_WINDOW_SECS),
        ("x-ratelimit-remaining", remaining),
        ("x-ratelimit-towait-sec", wait_s),
        ("x-concurrency-limit-limit", CONCURRENCY_LIMIT),
        ("x-concurrency-limit-running", 1),
    ] {
        headers.insert(HeaderName::from_static(name), HeaderValue::from(value));
    }
}

/// A rate limit reached (a fault rule's `rateLimit`): the VM API answers 409 with code
/// 1965 and says how long to wait in `X-RateLimit-ToWait-Sec`.
pub(crate) fn rate_limited(now_s: i64, wait_s: u64) -> Response {
    let mut response = simple_return(
        StatusCode::CONFLICT,
        now_s,
        Some(1965),
        &format!("API rate limit exceeded; retry in {wait_s} seconds."),
    );
    limit_headers(response.headers_mut(), 0, wait_s);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(wait_s));
    response
}

/// 401 `Bad Login/Password`, with the Basic challenge.
pub(crate) fn bad_login(now_s: i64) -> Response {
    let mut response = simple_return(StatusCode::UNAUTHORIZED, now_s, None, "Bad Login/Password");
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(BASIC_CHALLENGE),
    );
    response
}

/// The VM API's error answer: `SIMPLE_RETURN` with the time, an error code where the VM
/// guide's table has one, and the text.
pub(crate) fn simple_return(
    status: StatusCode,
    now_s: i64,
    code: Option<u32>,
    text: &str,
) -> Response {
    let code = code
        .map(|c| format!("    <CODE>{c}</CODE>\n"))
        .unwrap_or_default();
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n\
         <SIMPLE_RETURN>\n  <RESPONSE>\n    \
         <DATETIME>{}</DATETIME>\n{code}    \
         <TEXT>{}</TEXT>\n  \
         </RESPONSE>\n</SIMPLE_RETURN>\n",
        crate::dates::iso_s(now_s),
        escape(text)
    );
    xml(status, body)
}

fn xml(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/xml;charset=UTF-8")],
        body,
    )
        .into_response()
}
