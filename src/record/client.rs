//! The recorder's HTTP side: a good API citizen.
//!
//! - At most `concurrency` calls are under way at once (a semaphore around every call).
//! - A 429 or 409 waits as `Retry-After` or `X-RateLimit-ToWait-Sec` say (1 s when neither
//!   does), up to [`MAX_WAITS`] times a call.
//! - 5xx answers, timeouts and dropped connections are retried with exponential backoff
//!   (0.5 s doubling, at most 30 s a wait), up to `max_retries` times a call.
//! - The CAR token is taken from `/auth`, renewed before its lifetime runs out (measured on
//!   this machine's monotonic clock from the moment it was issued, so the two hosts' clocks
//!   never need to agree) and once on a 401.
//!
//! No credential, token or `Authorization` value is ever part of an error or a log line:
//! errors name the URL's path and the status, never headers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::{Method, StatusCode};
use tokio::sync::{Mutex, Semaphore};

use super::RecordError;

/// How many 429/409 waits one call may sit through before the run gives up.
const MAX_WAITS: u32 = 50;
/// A token is renewed once this share of its lifetime has passed.
const RENEW_AT: f64 = 0.9;
/// The lifetime assumed when a token does not say (the gateway's is 4 hours).
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(4 * 3600);

/// Where the platform is and who calls it.
#[derive(Clone)]
pub(crate) struct Credentials {
    pub(crate) username: String,
    pub(crate) password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// One answer: status and body bytes.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: Vec<u8>,
}

/// What the gateway's token says about its caller (its claims, read without checking the
/// signature: the recorder only needs names and ids, and the server checks the token).
#[derive(Debug, Clone, Default)]
pub(crate) struct TokenClaims {
    pub(crate) customer_id: Option<i64>,
    pub(crate) customer_uuid: Option<String>,
    pub(crate) user_id: Option<i64>,
    pub(crate) user_uuid: Option<String>,
    pub(crate) modules: Vec<String>,
}

struct Token {
    value: String,
    issued: Instant,
    lifetime: Duration,
}

/// The HTTP client with the waits, retries and token described in the module docs.
pub(crate) struct Client {
    http: reqwest::Client,
    permits: Arc<Semaphore>,
    max_retries: u32,
    credentials: Credentials,
    gateway: Option<String>,
    token: Mutex<Option<Token>>,
    claims: std::sync::Mutex<TokenClaims>,
    /// Calls made, waits sat through, retries made (for the summary).
    pub(crate) stats: Stats,
}

#[derive(Default)]
pub(crate) struct Stats {
    pub(crate) calls: std::sync::atomic::AtomicU64,
    pub(crate) waits: std::sync::atomic::AtomicU64,
    pub(crate) retries: std::sync::atomic::AtomicU64,
    pub(crate) renewals: std::sync::atomic::AtomicU64,
}

fn bump(counter: &std::sync::atomic::AtomicU64) {
    counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

impl Client {
    pub(crate) fn new(
        credentials: Credentials,
        gateway: Option<String>,
        ca_bundle: Option<&std::path::Path>,
        concurrency: usize,
        max_retries: u32,
        timeout: Duration,
    ) -> Result<Client, RecordError> {
        // The crate's one TLS provider; a second install (tests in one process) is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(30))
            .user_agent(concat!("qualys-mock-record/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = ca_bundle {
            let pem = std::fs::read(path)
                .map_err(|e| RecordError::Usage(format!("--ca-bundle {}: {e}", path.display())))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                RecordError::Usage(format!(
                    "--ca-bundle {}: not a PEM bundle: {e}",
                    path.display()
                ))
            })?;
            if certs.is_empty() {
                return Err(RecordError::Usage(format!(
                    "--ca-bundle {}: holds no certificate",
                    path.display()
                )));
            }
            builder = builder.tls_certs_merge(certs);
        }
        let http = builder
            .build()
            .map_err(|e| RecordError::Usage(format!("cannot build the HTTP client: {e}")))?;
        Ok(Client {
            http,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            max_retries,
            credentials,
            gateway,
            token: Mutex::new(None),
            claims: std::sync::Mutex::new(TokenClaims::default()),
            stats: Stats::default(),
        })
    }

    pub(crate) fn claims(&self) -> TokenClaims {
        self.claims
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// A CM call with Basic auth: `POST url` with an XML `ServiceRequest` (or `GET` when
    /// `body` is `None`).
    pub(crate) async fn cm(&self, url: &str, body: Option<&str>) -> Result<Answer, RecordError> {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            self.credentials.username, self.credentials.password
        ));
        let method = if body.is_some() {
            Method::POST
        } else {
            Method::GET
        };
        self.call(url, || {
            let request = self
                .http
                .request(method.clone(), url)
                .header("Authorization", format!("Basic {basic}"))
                .header("Accept", "application/xml");
            match body {
                Some(xml) => request
                    .header("Content-Type", "text/xml")
                    .body(xml.to_owned()),
                None => request,
            }
        })
        .await
    }

    /// A CAR call with the bearer token: JSON body for `POST`, none for `GET`. A 401 renews
    /// the token once and repeats the call.
    pub(crate) async fn car(
        &self,
        method: Method,
        url: &str,
        json: Option<&serde_json::Value>,
    ) -> Result<Answer, RecordError> {
        let mut renewed = false;
        loop {
            let token = self.token(false).await?;
            let answer = self
                .call(url, || {
                    let request = self
                        .http
                        .request(method.clone(), url)
                        .header("Authorization", format!("Bearer {token}"))
                        .header("Accept", "application/json");
                    match json {
                        Some(body) => request
                            .header("Content-Type", "application/json")
                            .body(body.to_string()),
                        None => request,
                    }
                })
                .await?;
            if answer.status == StatusCode::UNAUTHORIZED && !renewed {
                renewed = true;
                self.token(true).await?;
                continue;
            }
            return Ok(answer);
        }
    }

    /// The current token, fetched or renewed when `force`, absent, or near its end.
    async fn token(&self, force: bool) -> Result<String, RecordError> {
        let mut slot = self.token.lock().await;
        if let Some(token) = slot.as_ref() {
            let fresh =
                token.issued.elapsed().as_secs_f64() < token.lifetime.as_secs_f64() * RENEW_AT;
            if fresh && !force {
                return Ok(token.value.clone());
            }
            bump(&self.stats.renewals);
        }
        let gateway = self
            .gateway
            .as_deref()
            .ok_or_else(|| RecordError::Usage("a CAR call needs --gateway-url".to_owned()))?;
        let url = format!("{}/auth", gateway.trim_end_matches('/'));
        let form = serde_urlencoded::to_string([
            ("username", self.credentials.username.as_str()),
            ("password", self.credentials.password.as_str()),
            ("token", "true"),
        ])
        .map_err(|e| RecordError::Usage(format!("cannot encode the login form: {e}")))?;
        let answer = self
            .call(&url, || {
                self.http
                    .post(&url)
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body(form.clone())
            })
            .await?;
        match answer.status.as_u16() {
            200 | 201 => {}
            400 | 401 | 403 => {
                return Err(RecordError::Credentials(format!(
                    "the gateway refused the login of {:?} (HTTP {}): check --username and the password",
                    self.credentials.username,
                    answer.status.as_u16()
                )));
            }
            other => {
                return Err(RecordError::Platform(format!(
                    "POST {url} answered HTTP {other}: is --gateway-url a Qualys API gateway?"
                )));
            }
        }
        let value = String::from_utf8_lossy(&answer.body).trim().to_owned();
        let (claims, lifetime) = read_claims(&value).ok_or_else(|| {
            RecordError::Platform(format!(
                "POST {url} did not answer a JWT: is --gateway-url a Qualys API gateway?"
            ))
        })?;
        *self
            .claims
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = claims;
        *slot = Some(Token {
            value: value.clone(),
            issued: Instant::now(),
            lifetime,
        });
        Ok(value)
    }

    /// One call with waits and retries. `build` makes the request afresh for each try.
    async fn call(
        &self,
        url: &str,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Answer, RecordError> {
        let mut retries = 0u32;
        let mut waits = 0u32;
        loop {
            let outcome = {
                let _permit = self
                    .permits
                    .acquire()
                    .await
                    .map_err(|_| RecordError::Platform("the client was closed".to_owned()))?;
                bump(&self.stats.calls);
                match build().send().await {
                    Ok(response) => {
                        let status = response.status();
                        let wait = wait_asked(response.headers());
                        match response.bytes().await {
                            Ok(body) => Ok((status, wait, body.to_vec())),
                            Err(e) => Err(e),
                        }
                    }
                    Err(e) => Err(e),
                }
            };
            match outcome {
                Ok((status, wait, _))
                    if status == StatusCode::TOO_MANY_REQUESTS
                        || status == StatusCode::CONFLICT =>
                {
                    waits += 1;
                    if waits > MAX_WAITS {
                        return Err(RecordError::Platform(format!(
                            "{} kept answering HTTP {} after {MAX_WAITS} waits",
                            path_of(url),
                            status.as_u16()
                        )));
                    }
                    bump(&self.stats.waits);
                    tokio::time::sleep(wait.unwrap_or(Duration::from_secs(1))).await;
                }
                Ok((status, _, _)) if status.is_server_error() => {
                    retries += 1;
                    if retries > self.max_retries {
                        return Err(RecordError::Platform(format!(
                            "{} answered HTTP {} {} times; giving up (--max-retries)",
                            path_of(url),
                            status.as_u16(),
                            retries
                        )));
                    }
                    bump(&self.stats.retries);
                    tokio::time::sleep(backoff(retries)).await;
                }
                Ok((status, _, body)) => return Ok(Answer { status, body }),
                Err(e) => {
                    let reason = describe(&e);
                    if e.is_builder() || is_tls(&e) {
                        return Err(RecordError::Transport(format!(
                            "{}: {reason}",
                            path_of(url)
                        )));
                    }
                    retries += 1;
                    if retries > self.max_retries {
                        return Err(RecordError::Transport(format!(
                            "{}: {reason}; giving up after {} retries (--max-retries)",
                            path_of(url),
                            retries - 1
                        )));
                    }
                    bump(&self.stats.retries);
                    tokio::time::sleep(backoff(retries)).await;
                }
            }
        }
    }
}

/// 0.5 s, 1 s, 2 s, … capped at 30 s.
fn backoff(attempt: u32) -> Duration {
    let ms = 500u64.saturating_mul(1u64 << attempt.saturating_sub(1).min(16));
    Duration::from_millis(ms.min(30_000))
}

/// The wait a 429/409 asks for: `Retry-After` seconds, else `X-RateLimit-ToWait-Sec`;
/// at most an hour.
fn wait_asked(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    ["retry-after", "x-ratelimit-towait-sec"]
        .iter()
        .find_map(|name| {
            headers
                .get(*name)?
                .to_str()
                .ok()?
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map(|s| Duration::from_secs(s.clamp(1, 3600)))
}

fn is_tls(e: &reqwest::Error) -> bool {
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = source {
        let text = err.to_string().to_ascii_lowercase();
        if text.contains("certificate") || text.contains("invalidcertificate") {
            return true;
        }
        source = err.source();
    }
    false
}

/// An error's chain of causes, without the URL's query (which might hold ids only, but is
/// left out anyway) — and never headers.
fn describe(e: &reqwest::Error) -> String {
    let mut text = String::new();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "the answer broke off"
    } else {
        "request failed"
    };
    text.push_str(kind);
    while let Some(err) = source {
        text.push_str(": ");
        text.push_str(&err.to_string());
        source = err.source();
    }
    if is_tls(e) {
        text.push_str(" (a private CA? give its PEM with --ca-bundle)");
    }
    text
}

/// The path of a URL (for messages).
pub(crate) fn path_of(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => format!("{} {}", u.host_str().unwrap_or(""), u.path()),
        Err(_) => url.to_owned(),
    }
}

/// The claims a gateway token carries, and its lifetime (`exp - iat`, else 4 hours).
fn read_claims(token: &str) -> Option<(TokenClaims, Duration)> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let number = |key: &str| {
        claims.get(key).and_then(|v| {
            v.as_i64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        })
    };
    let text = |key: &str| claims.get(key).and_then(|v| v.as_str()).map(str::to_owned);
    let lifetime = match (number("iat"), number("exp")) {
        (Some(iat), Some(exp)) if exp > iat => Duration::from_secs((exp - iat) as u64),
        _ => DEFAULT_TOKEN_LIFETIME,
    };
    let modules = claims
        .get("modulesAllowed")
        .and_then(|v| v.as_array())
        .map(|list| {
            list.iter()
                .filter_map(|m| m.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    Some((
        TokenClaims {
            customer_id: number("customerId"),
            customer_uuid: text("customerUuid"),
            user_id: number("portalUserId").or_else(|| number("qwebUserId")),
            user_uuid: text("userUuid"),
            modules,
        },
        lifetime,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_thirty_seconds() {
        let waits: Vec<u64> = (1..=9).map(|n| backoff(n).as_millis() as u64).collect();
        assert_eq!(
            waits,
            [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]
        );
    }

    #[test]
    fn the_wait_comes_from_retry_after_then_the_rate_limit_header() {
        let mut headers = reqwest::header::HeaderMap::new();
        assert_eq!(wait_asked(&headers), None);
        headers.insert("x-ratelimit-towait-sec", "7".parse().unwrap());
        assert_eq!(wait_asked(&headers), Some(Duration::from_secs(7)));
        headers.insert("retry-after", "3".parse().unwrap());
        assert_eq!(wait_asked(&headers), Some(Duration::from_secs(3)));
        headers.insert("retry-after", "0".parse().unwrap());
        assert_eq!(wait_asked(&headers), Some(Duration::from_secs(1)));
    }

    #[test]
    fn claims_are_read_from_the_payload() {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
            br#"{"sub":"u","customerId":1001,"customerUuid":"c-1","portalUserId":101,"userUuid":"u-1","modulesAllowed":["CAR","CM"],"iat":100,"exp":14500}"#,
        );
        let (claims, lifetime) = read_claims(&format!("h.{payload}.s")).unwrap();
        assert_eq!(claims.customer_id, Some(1001));
        assert_eq!(claims.customer_uuid.as_deref(), Some("c-1"));
        assert_eq!(claims.user_id, Some(101));
        assert_eq!(claims.user_uuid.as_deref(), Some("u-1"));
        assert_eq!(claims.modules, ["CAR", "CM"]);
        assert_eq!(lifetime, Duration::from_secs(14400));
        assert!(read_claims("not a token").is_none());
    }

    #[test]
    fn credentials_never_show_the_password() {
        let c = Credentials {
            username: "u".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
