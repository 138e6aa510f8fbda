//! The command line. Every `serve` flag can also be set by a `QUALYS_MOCK_*` variable.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// A local, stateful emulator of the Qualys CAR and Continuous Monitoring APIs.
#[derive(Debug, Parser)]
#[command(name = "qualys-mock", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the emulator (both APIs and the /_mock control endpoints).
    Serve(Box<ServeArgs>),
    /// Exit 0 when a running emulator answers healthy, 1 otherwise (for Docker HEALTHCHECK).
    Healthcheck(HealthcheckArgs),
    /// Write a deterministic data set of any size: a seed folder or a database file.
    Generate(crate::generate::GenerateArgs),
    /// Harvest a real Qualys subscription (or another emulator) into a seed folder.
    Record(Box<crate::record::RecordArgs>),
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on. Use 0.0.0.0 in a container.
    #[arg(long, env = "QUALYS_MOCK_HOST", default_value = "127.0.0.1")]
    pub host: IpAddr,

    /// HTTP port (0 picks a free one and prints it).
    #[arg(long, env = "QUALYS_MOCK_PORT", default_value_t = 8080)]
    pub port: u16,

    /// HTTPS port; HTTPS is off unless given.
    #[arg(long, env = "QUALYS_MOCK_HTTPS_PORT")]
    pub https_port: Option<u16>,

    /// PEM certificate chain for HTTPS. Without it (and --tls-key), a certificate for
    /// localhost, 127.0.0.1, ::1 and every --tls-san name is generated at start.
    #[arg(long, env = "QUALYS_MOCK_TLS_CERT", requires_all = ["tls_key", "https_port"])]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key for --tls-cert.
    #[arg(long, env = "QUALYS_MOCK_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Where to write the PEM a client must trust when the certificate is generated
    /// (default: qualys-mock-ca-<https port>.pem in the system temp folder, removed at
    /// exit). Printed at start.
    #[arg(long, env = "QUALYS_MOCK_TLS_CERT_OUT", requires = "https_port")]
    pub tls_cert_out: Option<PathBuf>,

    /// Another name the generated certificate is valid for: a DNS name (a docker-compose
    /// service name, a host alias) or an IP address. Repeatable; the variable takes a
    /// comma-separated list.
    #[arg(
        long = "tls-san",
        env = "QUALYS_MOCK_TLS_SAN",
        value_delimiter = ',',
        value_parser = parse_san,
        conflicts_with = "tls_cert",
        requires = "https_port"
    )]
    pub tls_san: Vec<String>,

    /// SQLite file for the store; default is a private temporary file, removed at exit. A
    /// new file is seeded; an existing one is used as it is.
    #[arg(long, env = "QUALYS_MOCK_DB")]
    pub db: Option<PathBuf>,

    /// Seed folder to load instead of the embedded default (format: seed-data/README.md).
    #[arg(long, env = "QUALYS_MOCK_SEED")]
    pub seed: Option<PathBuf>,

    /// Stubs folder: WireMock mappings (DIR/mappings/*.json, bodies in DIR/__files/) that
    /// answer the paths the emulator does not (docs/stubs.md). A mapping outside the
    /// supported subset refuses the whole folder at start.
    #[arg(long, env = "QUALYS_MOCK_STUBS")]
    pub stubs: Option<PathBuf>,

    /// Start the clock at the time a recorded seed was captured (its manifest.json's
    /// `recordedAt`; `qualys-mock record` writes it), so relative dates behave as they did
    /// then. The clock runs on from there.
    #[arg(long, env = "QUALYS_MOCK_CLOCK_FROM_SEED")]
    pub clock_from_seed: bool,

    /// Log filter: a level (error, warn, info, debug, trace, off), and/or `target=level`
    /// pairs, comma-separated (`info,qualys_mock=debug`). info logs each request, debug
    /// adds bodies.
    #[arg(long, env = "QUALYS_MOCK_LOG", default_value = "info", value_parser = parse_log_filter)]
    pub log: String,

    /// Log line format: text (coloured only on a terminal, never when NO_COLOR is set) or
    /// json (one object per line). Logs go to stderr; when its reader stalls, lines are
    /// dropped and counted rather than holding up requests.
    #[arg(long, env = "QUALYS_MOCK_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Log lines held for a slow reader of stderr; past this, new lines are dropped (and
    /// counted in a later warning) so logging never holds up a request.
    #[arg(long, env = "QUALYS_MOCK_LOG_BUFFER_LINES", default_value_t = 16_384,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub log_buffer_lines: u32,

    /// Secret for signing JWTs (HS512), at least 32 bytes. Default: random per process.
    #[arg(long, env = "QUALYS_MOCK_JWT_SECRET", hide_env_values = true,
          value_parser = parse_jwt_secret)]
    pub jwt_secret: Option<String>,

    /// CAR: seconds before the same script may be executed again (429 inside).
    #[arg(long, env = "QUALYS_MOCK_EXECUTE_INTERVAL_SECS", default_value_t = 60)]
    pub execute_interval_secs: u64,

    /// CAR: manual executions a customer may start in 24 hours (429 past it).
    #[arg(long, env = "QUALYS_MOCK_DAILY_EXECUTIONS", default_value_t = 1000)]
    pub daily_executions: u64,

    /// CAR: scripts a customer may hold (import and clone answer 429 past it).
    #[arg(long, env = "QUALYS_MOCK_SCRIPT_LIMIT", default_value_t = 5000)]
    pub script_limit: u64,

    /// CAR: milliseconds an asset job stays QUEUED.
    #[arg(long, env = "QUALYS_MOCK_JOB_QUEUE_MS", default_value_t = 5000)]
    pub job_queue_ms: u64,

    /// CAR: milliseconds an asset job runs before it finishes.
    #[arg(long, env = "QUALYS_MOCK_JOB_RUN_MS", default_value_t = 30000)]
    pub job_run_ms: u64,

    /// Start with the clock frozen at this time (an ISO date-time or epoch ms, 1970 to
    /// 9999); a full reset (`POST /_mock/reset`) brings it back here. Real time when absent.
    #[arg(long, env = "QUALYS_MOCK_FROZEN_AT", value_parser = parse_frozen_at)]
    pub frozen_at: Option<i64>,

    /// Require this token (header `X-Mock-Token` or `Authorization: Bearer`) on the
    /// /_mock/ control endpoints (health stays open). Open when absent: anyone who reaches
    /// the port can reset data, inject faults and read the journal, so set it whenever the
    /// server listens on more than the loopback address.
    #[arg(long, env = "QUALYS_MOCK_CONTROL_TOKEN", hide_env_values = true,
          value_parser = parse_control_token)]
    pub control_token: Option<String>,

    /// Requests the journal (GET /_mock/requests) keeps; older ones are dropped.
    #[arg(long, env = "QUALYS_MOCK_JOURNAL_SIZE", default_value_t = 1000)]
    pub journal_size: usize,

    /// Bytes of each request body the journal keeps.
    #[arg(long, env = "QUALYS_MOCK_JOURNAL_BODY_BYTES", default_value_t = 4096)]
    pub journal_body_bytes: usize,

    /// Seconds a client has, from the first byte of a request, to send the whole request
    /// head (request line and headers); past it the connection is closed.
    #[arg(long, env = "QUALYS_MOCK_HEADER_TIMEOUT_SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub header_timeout_secs: u64,

    /// Seconds a request body may stall (no bytes arriving) before the request is dropped
    /// and its connection closed.
    #[arg(long, env = "QUALYS_MOCK_BODY_TIMEOUT_SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub body_timeout_secs: u64,

    /// Seconds a kept-alive connection may sit idle (no request in flight, no bytes) before
    /// it is closed.
    #[arg(long, env = "QUALYS_MOCK_IDLE_TIMEOUT_SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_timeout_secs: u64,

    /// CAR: refuse a JSON body with a key its endpoint does not take (400 naming the
    /// accepted keys). Without it such keys are ignored, as the real service's JSON binding
    /// does, and listed in the request's journal entry (`ignoredKeys`). The variable takes
    /// true/false, 1/0, yes/no, on/off.
    #[arg(long, env = "QUALYS_MOCK_STRICT",
          value_parser = clap::builder::BoolishValueParser::new())]
    pub strict: bool,

    /// Largest request body accepted, in bytes; larger ones get 413.
    #[arg(long, env = "QUALYS_MOCK_MAX_BODY_BYTES", default_value_t = 16 * 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Seconds from a request's head to the end of its body, however steadily it trickles
    /// in; past it the request gets 408 and its connection is closed.
    #[arg(long, env = "QUALYS_MOCK_BODY_DEADLINE_SECS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub body_deadline_secs: u64,

    /// Bytes all request bodies being received may hold together; past it a new body waits
    /// (at most --body-timeout-secs) for room, then gets 503.
    #[arg(long, env = "QUALYS_MOCK_BODY_BUDGET_BYTES", default_value_t = 256 * 1024 * 1024,
          value_parser = clap::value_parser!(u64).range(1024..))]
    pub body_budget_bytes: u64,

    /// Forward every request that no emulated API answers to the Qualys platform at this URL
    /// (e.g. https://qualysapi.qualys.com): same method, path, query, headers and body, the
    /// caller's credentials included; its answer is returned as it came. Off when absent.
    #[arg(long, env = "QUALYS_MOCK_PROXY_UNMATCHED", value_parser = crate::proxy::parse_base_url)]
    pub proxy_unmatched: Option<String>,

    /// Write each new request/answer pair --proxy-unmatched forwards as a WireMock stub
    /// mapping in this folder (DIR/mappings, large bodies in DIR/__files), without
    /// credentials; `serve --stubs DIR` replays them.
    #[arg(long, env = "QUALYS_MOCK_RECORD_STUBS", requires = "proxy_unmatched")]
    pub record_stubs: Option<PathBuf>,

    /// PEM bundle of certificate authorities --proxy-unmatched trusts besides the system's.
    #[arg(
        long,
        env = "QUALYS_MOCK_PROXY_CA_BUNDLE",
        requires = "proxy_unmatched"
    )]
    pub proxy_ca_bundle: Option<PathBuf>,

    /// Seconds the platform behind --proxy-unmatched has for its whole answer; past it, 502.
    #[arg(long, env = "QUALYS_MOCK_PROXY_TIMEOUT_SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub proxy_timeout_secs: u64,

    /// Largest answer body --record-stubs records, in bytes; a larger answer is returned to
    /// the caller and not recorded (with a warning).
    #[arg(long, env = "QUALYS_MOCK_RECORD_MAX_BODY_BYTES", default_value_t = 16 * 1024 * 1024)]
    pub record_max_body_bytes: usize,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (timestamp, level, target, message and the event's fields).
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct HealthcheckArgs {
    /// Health URL to probe (plain HTTP). Default: the server's own address, from --host and
    /// --port (or QUALYS_MOCK_HOST and QUALYS_MOCK_PORT, as `serve` reads them).
    #[arg(long, env = "QUALYS_MOCK_HEALTH_URL")]
    pub url: Option<String>,

    /// Port of the server to probe, when no --url is given.
    #[arg(long, env = "QUALYS_MOCK_PORT", default_value_t = 8080)]
    pub port: u16,

    /// Address of the server to probe, when no --url is given; an unspecified address
    /// (0.0.0.0, ::) means the loopback one.
    #[arg(long, env = "QUALYS_MOCK_HOST", default_value = "127.0.0.1")]
    pub host: IpAddr,

    /// Seconds to wait for an answer.
    #[arg(long, default_value_t = 3)]
    pub timeout: u64,
}

impl HealthcheckArgs {
    /// The URL to probe: --url, or the health endpoint at --host and --port.
    pub fn probe_url(&self) -> Result<String, String> {
        if let Some(url) = &self.url {
            return Ok(url.clone());
        }
        if self.port == 0 {
            return Err(
                "port 0 means \"pick a free one\" to serve; give the server's port (--port, \
                 QUALYS_MOCK_PORT) or --url"
                    .into(),
            );
        }
        let host = match self.host {
            IpAddr::V4(a) if a.is_unspecified() => IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            IpAddr::V6(a) if a.is_unspecified() => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
            other => other,
        };
        Ok(format!(
            "http://{}/_mock/health",
            std::net::SocketAddr::new(host, self.port)
        ))
    }
}

/// The words a log filter may use alone.
const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

/// Accept a level or `target=level` pairs, comma-separated. A bare word that is not a level
/// (`json`, a typo) would otherwise be read as a target name and silence every line.
pub fn parse_log_filter(value: &str) -> Result<String, String> {
    let hint = "a log filter is a level (off, error, warn, info, debug, trace) or \
                comma-separated target=level pairs, e.g. info,qualys_mock=debug";
    if value.trim().is_empty() {
        return Err(format!("empty log filter; {hint}"));
    }
    for directive in value.split(',').map(str::trim) {
        if directive.is_empty() {
            continue;
        }
        match directive.split_once('=') {
            Some((target, level)) => {
                let level = level.trim();
                if target.trim().is_empty()
                    || !LEVELS.contains(&level.to_ascii_lowercase().as_str())
                {
                    return Err(format!("{directive:?} is not target=level; {hint}"));
                }
            }
            None => {
                if !LEVELS.contains(&directive.to_ascii_lowercase().as_str()) {
                    let format_hint =
                        if ["json", "text"].contains(&directive.to_ascii_lowercase().as_str()) {
                            format!(
                                " (for the line format use --log-format {})",
                                directive.to_ascii_lowercase()
                            )
                        } else {
                            String::new()
                        };
                    return Err(format!("{directive:?} is not a level{format_hint}; {hint}"));
                }
            }
        }
    }
    tracing_subscriber::EnvFilter::try_new(value).map_err(|e| format!("{e}; {hint}"))?;
    Ok(value.to_owned())
}

/// The fewest bytes a JWT secret may have (HS512 keys shorter than this are guessable).
pub const MIN_JWT_SECRET_BYTES: usize = 32;

/// A JWT secret of at least [`MIN_JWT_SECRET_BYTES`]: an empty or short one (an unset
/// compose variable) would let anyone forge tokens.
pub fn parse_jwt_secret(value: &str) -> Result<String, String> {
    if value.len() < MIN_JWT_SECRET_BYTES {
        return Err(format!(
            "the JWT secret (--jwt-secret, QUALYS_MOCK_JWT_SECRET) has {} bytes; it needs at \
             least {MIN_JWT_SECRET_BYTES} (or leave it unset for a random secret per process)",
            value.len()
        ));
    }
    Ok(value.to_owned())
}

/// A control token that is not empty: an empty one (an unset compose variable) would match
/// `Authorization: Bearer ` and leave the control API open.
pub fn parse_control_token(value: &str) -> Result<String, String> {
    if value.trim().is_empty() {
        return Err(
            "the control token (--control-token, QUALYS_MOCK_CONTROL_TOKEN) is empty; \
                    give a token or leave it unset"
                .to_owned(),
        );
    }
    Ok(value.to_owned())
}

/// `--frozen-at`: an ISO date-time or epoch ms within the clock's range.
pub fn parse_frozen_at(value: &str) -> Result<i64, String> {
    let ms = match value.trim().parse::<i64>() {
        Ok(ms) => ms,
        Err(_) => crate::store::seed::iso_millis(value.trim()).ok_or_else(|| {
            format!("{value:?} is not an ISO date-time (2022-05-10T00:00:00Z) or epoch ms")
        })?,
    };
    if !crate::clock::in_range(ms) {
        return Err(format!(
            "{value:?} is outside the clock's range, 1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z"
        ));
    }
    Ok(ms)
}

/// What to warn about at start: a bind beyond loopback with an open control API.
pub fn exposure_warning(args: &ServeArgs) -> Option<String> {
    if args.host.is_loopback() || args.control_token.is_some() {
        return None;
    }
    Some(format!(
        "WARNING: listening on {} with no control token: anyone who can reach this port can \
         reset the data, inject faults and read the request journal. Set --control-token \
         (QUALYS_MOCK_CONTROL_TOKEN), or bind 127.0.0.1, or publish the port on 127.0.0.1 only.",
        args.host
    ))
}

/// A subject alternative name: an IP address or a DNS name (letters, digits, `-`, `.`, a
/// leading `*.` wildcard). An empty item (`QUALYS_MOCK_TLS_SAN=""`, a trailing comma) is
/// kept as "" and ignored.
pub fn parse_san(value: &str) -> Result<String, String> {
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
        Err(format!(
            "{value:?} is neither an IP address nor a DNS name (letters, digits, '-' and '.')"
        ))
    }
}

impl ServeArgs {
    /// What the flags cannot say together and clap cannot check: one port for both listeners
    /// (0, "pick a free one", picks two different ones).
    pub fn check(&self) -> Result<(), String> {
        match self.https_port {
            Some(https) if https != 0 && https == self.port => Err(format!(
                "--https-port {https} is also the HTTP port (--port): give each listener its \
                 own port (0 picks a free one)"
            )),
            _ => Ok(()),
        }
    }

    /// The transport timeouts these flags set.
    pub fn timeouts(&self) -> crate::conn::Timeouts {
        use std::time::Duration;
        crate::conn::Timeouts {
            header: Duration::from_secs(self.header_timeout_secs),
            body: Duration::from_secs(self.body_timeout_secs),
            body_deadline: Duration::from_secs(self.body_deadline_secs),
            idle: Duration::from_secs(self.idle_timeout_secs),
        }
    }

    /// The limits these flags set.
    pub fn limits(&self) -> crate::state::Limits {
        let ms = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        crate::state::Limits {
            execute_interval_ms: ms(self.execute_interval_secs.saturating_mul(1000)),
            daily_executions: self.daily_executions,
            script_limit: self.script_limit,
            job_queue_ms: ms(self.job_queue_ms),
            job_run_ms: ms(self.job_run_ms),
            ..crate::state::Limits::default()
        }
    }
}
