//! [`ServerConfig`]: everything a server runs with, as plain values. The command line
//! converts its flags into one; the in-process server's builder and tests build one
//! directly. [`ServerConfig::check`] refuses what cannot work, with a [`ConfigError`].

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use crate::store::StoreCache;

/// How a server is set up: where it listens, what data it starts with, its clock, its
/// limits and timeouts. [`Default`] is what `qualys-mock serve` runs with when no flag is
/// given (HTTP on 127.0.0.1:8080, the embedded seed in a private store, real time).
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// Address both listeners bind.
    pub host: IpAddr,
    /// HTTP port; 0 picks a free one.
    pub port: u16,
    /// Also serve HTTPS.
    pub https: Option<HttpsConfig>,
    /// SQLite file for the store (a new file is seeded, an existing one used as it is);
    /// `None` is a private temporary store, removed at exit.
    pub db: Option<PathBuf>,
    /// Seed folder to load instead of the embedded default.
    pub seed: Option<PathBuf>,
    /// WireMock mappings (`DIR/mappings/*.json`, bodies in `DIR/__files/`) answering the
    /// paths the emulator does not (`docs/stubs.md`); a mapping outside the supported subset
    /// refuses the whole folder at start.
    pub stubs: Option<PathBuf>,
    /// Start the clock at a recorded seed's capture time (its manifest's `recordedAt`).
    pub clock_from_seed: bool,
    /// Start with the clock frozen at this time, epoch milliseconds
    /// ([`ServerConfig::frozen_at_iso`] reads an ISO date-time); real time when `None`.
    pub frozen_at: Option<i64>,
    /// Secret for signing JWTs (HS512), at least 32 bytes; random per
    /// process when `None`.
    pub jwt_secret: Option<String>,
    /// The CAR limits and job timings.
    pub limits: Limits,
    /// Token the `/_mock/` control endpoints require (health stays open); open when `None`.
    pub control_token: Option<String>,
    /// Requests the journal keeps.
    pub journal_size: usize,
    /// Bytes of each request body the journal keeps.
    pub journal_body_bytes: usize,
    /// Refuse CAR JSON bodies with keys their endpoint does not take.
    pub strict: bool,
    /// Largest request body accepted, in bytes (larger: 413).
    pub max_body_bytes: usize,
    /// Bytes all request bodies being received may hold together (at least 1024).
    pub body_budget_bytes: u64,
    /// The transport timeouts (each at least one second).
    pub timeouts: Timeouts,
    /// Where to write the ready signal (JSON: URLs, CA path, pid, version) once every
    /// listener is up and the store is ready; removed at a graceful shutdown.
    pub ready_file: Option<PathBuf>,
    /// Forward what no emulated API and no stub answers to the platform, recording stubs.
    pub proxy: Option<ProxyConfig>,
    /// Where the default store's prepared image is kept (the user's cache folder, another
    /// folder, or nowhere); used only when neither `db` nor `seed` is given.
    pub store_cache: StoreCache,
}

/// The HTTPS listener.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpsConfig {
    /// HTTPS port; 0 picks a free one.
    pub port: u16,
    /// The certificate it presents.
    pub certificate: Certificate,
}

/// The certificate of the HTTPS listener.
#[derive(Debug, Clone, PartialEq)]
pub enum Certificate {
    /// Generated at start for localhost, 127.0.0.1, ::1 and `names`; the PEM a client must
    /// trust is written to `trust_pem_out` (default: `qualys-mock-ca-<port>.pem` in the
    /// system temp folder, removed at shutdown).
    Generated {
        names: Vec<String>,
        trust_pem_out: Option<PathBuf>,
    },
    /// A PEM chain and its private key.
    Files { cert: PathBuf, key: PathBuf },
}

/// The transport timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// From the first byte of a request to the end of its head.
    pub header: Duration,
    /// Longest stall of a request body.
    pub body: Duration,
    /// From a request's head to the end of its body, however steadily it trickles in.
    pub body_deadline: Duration,
    /// A kept-alive connection with nothing in flight.
    pub idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            header: Duration::from_secs(10),
            body: Duration::from_secs(30),
            body_deadline: Duration::from_secs(300),
            idle: Duration::from_secs(60),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            host: IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            port: 8080,
            https: None,
            db: None,
            seed: None,
            stubs: None,
            clock_from_seed: false,
            frozen_at: None,
            jwt_secret: None,
            limits: Limits::default(),
            control_token: None,
            journal_size: 1000,
            journal_body_bytes: 4096,
            strict: false,
            max_body_bytes: 16 * 1024 * 1024,
            body_budget_bytes: 256 * 1024 * 1024,
            timeouts: Timeouts::default(),
            ready_file: None,
            proxy: None,
            store_cache: StoreCache::User,
        }
    }
}

/// The fewest bytes a JWT secret may have (HS512 keys shorter than this are guessable).
pub(crate) const MIN_JWT_SECRET_BYTES: usize = 32;

/// The least a body budget may be.
pub(crate) const MIN_BODY_BUDGET_BYTES: u64 = 1024;

/// A configuration that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The HTTP and HTTPS listeners were given one (non-zero) port.
    #[error(
        "--https-port {0} is also the HTTP port (--port): give each listener its own port \
         (0 picks a free one)"
    )]
    SamePort(u16),
    /// A frozen time that is no date-time or epoch ms.
    #[error("{0:?} is not an ISO date-time (2022-05-10T00:00:00Z) or epoch ms")]
    NotATime(String),
    /// A time outside what the clock can show.
    #[error("{0:?} is outside the clock's range, 1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z")]
    TimeOutOfRange(String),
    /// A JWT secret too short to be safe.
    #[error(
        "the JWT secret (--jwt-secret, QUALYS_MOCK_JWT_SECRET) has {0} bytes; it needs at \
         least {MIN_JWT_SECRET_BYTES} (or leave it unset for a random secret per process)"
    )]
    ShortJwtSecret(usize),
    /// An empty control token, which would match `Authorization: Bearer `.
    #[error(
        "the control token (--control-token, QUALYS_MOCK_CONTROL_TOKEN) is empty; give a \
         token or leave it unset"
    )]
    EmptyControlToken,
    /// A certificate name that is neither an IP address nor a DNS name.
    #[error("{0:?} is neither an IP address nor a DNS name (letters, digits, '-' and '.')")]
    CertificateName(String),
    /// A timeout under one second.
    #[error("the {0} timeout must be at least one second")]
    Timeout(&'static str),
    /// A body budget under 1024 bytes.
    #[error("the body budget ({0} bytes) must be at least {MIN_BODY_BUDGET_BYTES} bytes")]
    BodyBudget(u64),
}

impl ServerConfig {
    /// The clock start an ISO date-time (or epoch ms) names, for [`Self::frozen_at`].
    pub fn frozen_at_iso(value: &str) -> Result<i64, ConfigError> {
        let trimmed = value.trim();
        let ms = match trimmed.parse::<i64>() {
            Ok(ms) => ms,
            Err(_) => crate::dates::parse_ms(trimmed)
                .ok_or_else(|| ConfigError::NotATime(value.to_owned()))?,
        };
        if !crate::clock::in_range(ms) {
            return Err(ConfigError::TimeOutOfRange(value.to_owned()));
        }
        Ok(ms)
    }

    /// Everything the values cannot say together or alone: the first problem found.
    pub fn check(&self) -> Result<(), ConfigError> {
        if let Some(https) = &self.https {
            if https.port != 0 && https.port == self.port {
                return Err(ConfigError::SamePort(https.port));
            }
            if let Certificate::Generated { names, .. } = &https.certificate {
                for name in names {
                    certificate_name(name)?;
                }
            }
        }
        if let Some(ms) = self.frozen_at
            && !crate::clock::in_range(ms)
        {
            return Err(ConfigError::TimeOutOfRange(ms.to_string()));
        }
        if let Some(secret) = &self.jwt_secret {
            jwt_secret(secret)?;
        }
        if let Some(token) = &self.control_token {
            control_token(token)?;
        }
        let t = &self.timeouts;
        for (name, value) in [
            ("header", t.header),
            ("body", t.body),
            ("body deadline", t.body_deadline),
            ("idle", t.idle),
        ] {
            if value < Duration::from_secs(1) {
                return Err(ConfigError::Timeout(name));
            }
        }
        if self.body_budget_bytes < MIN_BODY_BUDGET_BYTES {
            return Err(ConfigError::BodyBudget(self.body_budget_bytes));
        }
        Ok(())
    }

    /// What to warn about at start: a bind beyond loopback with an open control API.
    pub fn exposure_warning(&self) -> Option<String> {
        if self.host.is_loopback() || self.control_token.is_some() {
            return None;
        }
        Some(format!(
            "WARNING: listening on {} with no control token: anyone who can reach this port \
             can reset the data, inject faults and read the request journal. Set \
             --control-token (QUALYS_MOCK_CONTROL_TOKEN), or bind 127.0.0.1, or publish the \
             port on 127.0.0.1 only.",
            self.host
        ))
    }
}

/// A JWT secret of at least [`MIN_JWT_SECRET_BYTES`]: an empty or short one (an unset
/// compose variable) would let anyone forge tokens.
pub(crate) fn jwt_secret(value: &str) -> Result<(), ConfigError> {
    if value.len() < MIN_JWT_SECRET_BYTES {
        return Err(ConfigError::ShortJwtSecret(value.len()));
    }
    Ok(())
}

/// A control token that is not empty: an empty one (an unset compose variable) would match
/// `Authorization: Bearer ` and leave the control API open.
pub(crate) fn control_token(value: &str) -> Result<(), ConfigError> {
    if value.trim().is_empty() {
        return Err(ConfigError::EmptyControlToken);
    }
    Ok(())
}

/// A subject alternative name, normalised: an IP address or a DNS name (letters, digits,
/// `-`, `.`, a leading `*.` wildcard); "" (an empty list item) is kept and ignored.
pub(crate) fn certificate_name(value: &str) -> Result<String, ConfigError> {
    let name = value.trim();
    if name.is_empty() {
        return Ok(String::new());
    }
    if name.parse::<IpAddr>().is_ok() {
        return Ok(name.to_owned());
    }
    let labels = name.strip_prefix("*.").unwrap_or(name);
    let ok = !labels.is_empty()
        && labels.len() <= 253
        && labels.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if ok {
        Ok(name.to_ascii_lowercase())
    } else {
        Err(ConfigError::CertificateName(value.to_owned()))
    }
}

/// What flags set and the control API may change at run time.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    /// Shortest time between two executions of one script (CAR 429 inside it).
    pub execute_interval_ms: i64,
    /// Manual executions a customer may start in 24 hours.
    pub daily_executions: u64,
    /// Scripts a customer may hold (create, import and clone answer 429 past it).
    pub script_limit: u64,
    /// How long an asset job stays QUEUED.
    pub job_queue_ms: i64,
    /// How long an asset job runs before its final status.
    pub job_run_ms: i64,
    /// Largest CAR `pageSize`.
    pub max_page_size: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            execute_interval_ms: 60_000,
            daily_executions: 1_000,
            script_limit: 5_000,
            job_queue_ms: 5_000,
            job_run_ms: 30_000,
            max_page_size: 1_000,
        }
    }
}

/// `--proxy-unmatched`: the platform behind the emulator, and what is recorded of it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProxyConfig {
    /// The platform's base URL (`https://qualysapi.qualys.com`; no query, a path is a prefix).
    pub url: String,
    /// Write each new request/answer pair as a WireMock mapping in this folder.
    pub record_stubs: Option<PathBuf>,
    /// Certificate authorities to trust besides the system's (a PEM bundle).
    pub ca_bundle: Option<PathBuf>,
    /// Time the platform has for its whole answer; past it, 502.
    pub timeout: Duration,
    /// Largest answer body recorded; a larger one is returned and not recorded.
    pub record_max_body_bytes: usize,
}

impl ProxyConfig {
    /// Forwarding to `url`, recording nothing, with the default timeout and record cap.
    pub fn to(url: impl Into<String>) -> ProxyConfig {
        ProxyConfig {
            url: url.into(),
            record_stubs: None,
            ca_bundle: None,
            timeout: Duration::from_secs(60),
            record_max_body_bytes: 16 * 1024 * 1024,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frozen_time_that_is_no_date_is_an_error_not_1970() {
        assert_eq!(
            ServerConfig::frozen_at_iso("garbage"),
            Err(ConfigError::NotATime("garbage".into()))
        );
        assert_eq!(
            ServerConfig::frozen_at_iso("2022-05-10T00:00:00Z"),
            Ok(1_652_140_800_000)
        );
        assert_eq!(ServerConfig::frozen_at_iso("0"), Ok(0));
        assert!(matches!(
            ServerConfig::frozen_at_iso("-1"),
            Err(ConfigError::TimeOutOfRange(_))
        ));
    }

    #[test]
    fn check_refuses_what_cannot_work() {
        assert_eq!(ServerConfig::default().check(), Ok(()));
        let same_port = ServerConfig {
            port: 9000,
            https: Some(HttpsConfig {
                port: 9000,
                certificate: Certificate::Generated {
                    names: vec![],
                    trust_pem_out: None,
                },
            }),
            ..ServerConfig::default()
        };
        assert_eq!(same_port.check(), Err(ConfigError::SamePort(9000)));
        let short = ServerConfig {
            jwt_secret: Some("short".into()),
            ..ServerConfig::default()
        };
        assert_eq!(short.check(), Err(ConfigError::ShortJwtSecret(5)));
        let empty_token = ServerConfig {
            control_token: Some(" ".into()),
            ..ServerConfig::default()
        };
        assert_eq!(empty_token.check(), Err(ConfigError::EmptyControlToken));
        let zero = ServerConfig {
            timeouts: Timeouts {
                idle: Duration::ZERO,
                ..Timeouts::default()
            },
            ..ServerConfig::default()
        };
        assert_eq!(zero.check(), Err(ConfigError::Timeout("idle")));
        let budget = ServerConfig {
            body_budget_bytes: 10,
            ..ServerConfig::default()
        };
        assert_eq!(budget.check(), Err(ConfigError::BodyBudget(10)));
        let name = ServerConfig {
            https: Some(HttpsConfig {
                port: 0,
                certificate: Certificate::Generated {
                    names: vec!["bad name".into()],
                    trust_pem_out: None,
                },
            }),
            ..ServerConfig::default()
        };
        assert_eq!(
            name.check(),
            Err(ConfigError::CertificateName("bad name".into()))
        );
    }
}
