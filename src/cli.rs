//! The command line: the `qualys-mock` binary is [`main`]. Every `serve` flag can also be
//! set by a `QUALYS_MOCK_*` variable; the flags convert into one [`ServerConfig`]
//! (`TryFrom<ServeArgs>`), which is what the server runs from.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};

use crate::config::{Certificate, ConfigError, HttpsConfig, ServerConfig, Timeouts};
use crate::logging::LogFormat;
use crate::server::{Running, StartError};

/// A local, stateful emulator of the Qualys CAR and Continuous Monitoring APIs.
#[derive(Debug, Parser)]
#[command(name = "qualys-mock", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
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
pub(crate) struct ServeArgs {
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
        value_parser = crate::config::certificate_name,
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
          value_parser = |v: &str| crate::config::jwt_secret(v).map(|()| v.to_owned()))]
    pub jwt_secret: Option<String>,

    /// When every listener is up and the store is ready, write this JSON file (atomically:
    /// a temporary file renamed into place) with the URLs, the CA path when the certificate
    /// is generated, the pid and the version; removed at a graceful shutdown.
    #[arg(long, env = "QUALYS_MOCK_READY_FILE")]
    pub ready_file: Option<PathBuf>,

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
    #[arg(long, env = "QUALYS_MOCK_FROZEN_AT", value_parser = ServerConfig::frozen_at_iso)]
    pub frozen_at: Option<i64>,

    /// Require this token (header `X-Mock-Token` or `Authorization: Bearer`) on the
    /// /_mock/ control endpoints (health stays open). Open when absent: anyone who reaches
    /// the port can reset data, inject faults and read the journal, so set it whenever the
    /// server listens on more than the loopback address.
    #[arg(long, env = "QUALYS_MOCK_CONTROL_TOKEN", hide_env_values = true,
          value_parser = |v: &str| crate::config::control_token(v).map(|()| v.to_owned()))]
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

    /// Where the default store's prepared image is kept, so later starts copy it instead of
    /// loading the embedded seed: a folder, or `off` (every start loads the seed; nothing is
    /// written outside the temporary folder). Default: $XDG_CACHE_HOME/qualys-mock, else
    /// ~/.cache/qualys-mock. A folder that cannot be used never fails a start.
    #[arg(long, env = "QUALYS_MOCK_STORE_CACHE", value_name = "DIR|off",
          value_parser = parse_store_cache)]
    pub store_cache: Option<crate::config::StoreCache>,
}

/// `--store-cache`: `off`, or a folder (`./off` for a folder of that name).
fn parse_store_cache(value: &str) -> Result<crate::config::StoreCache, String> {
    use crate::config::StoreCache;
    match value.trim() {
        "" => Err("give a folder, or off".to_owned()),
        v if v.eq_ignore_ascii_case("off") => Ok(StoreCache::Off),
        _ => Ok(StoreCache::Dir(PathBuf::from(value))),
    }
}

#[derive(Debug, Clone, Args)]
pub(crate) struct HealthcheckArgs {
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
pub(crate) fn parse_log_filter(value: &str) -> Result<String, String> {
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

impl TryFrom<&ServeArgs> for ServerConfig {
    type Error = ConfigError;

    /// The configuration the flags describe, checked ([`ServerConfig::check`]).
    fn try_from(args: &ServeArgs) -> Result<ServerConfig, ConfigError> {
        let ms = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let https = args.https_port.map(|port| HttpsConfig {
            port,
            certificate: match (&args.tls_cert, &args.tls_key) {
                (Some(cert), Some(key)) => Certificate::Files {
                    cert: cert.clone(),
                    key: key.clone(),
                },
                // clap requires --tls-key with --tls-cert and the reverse.
                _ => Certificate::Generated {
                    names: args.tls_san.clone(),
                    trust_pem_out: args.tls_cert_out.clone(),
                },
            },
        });
        let config = ServerConfig {
            host: args.host,
            port: args.port,
            https,
            db: args.db.clone(),
            seed: args.seed.clone(),
            stubs: args.stubs.clone(),
            clock_from_seed: args.clock_from_seed,
            frozen_at: args.frozen_at,
            jwt_secret: args.jwt_secret.clone(),
            limits: crate::config::Limits {
                execute_interval_ms: ms(args.execute_interval_secs.saturating_mul(1000)),
                daily_executions: args.daily_executions,
                script_limit: args.script_limit,
                job_queue_ms: ms(args.job_queue_ms),
                job_run_ms: ms(args.job_run_ms),
                ..crate::config::Limits::default()
            },
            control_token: args.control_token.clone(),
            journal_size: args.journal_size,
            journal_body_bytes: args.journal_body_bytes,
            strict: args.strict,
            max_body_bytes: args.max_body_bytes,
            body_budget_bytes: args.body_budget_bytes,
            timeouts: Timeouts {
                header: Duration::from_secs(args.header_timeout_secs),
                body: Duration::from_secs(args.body_timeout_secs),
                body_deadline: Duration::from_secs(args.body_deadline_secs),
                idle: Duration::from_secs(args.idle_timeout_secs),
            },
            ready_file: args.ready_file.clone(),
            proxy: args
                .proxy_unmatched
                .as_ref()
                .map(|url| crate::config::ProxyConfig {
                    url: url.clone(),
                    record_stubs: args.record_stubs.clone(),
                    ca_bundle: args.proxy_ca_bundle.clone(),
                    timeout: Duration::from_secs(args.proxy_timeout_secs),
                    record_max_body_bytes: args.record_max_body_bytes,
                }),
            store_cache: args.store_cache.clone().unwrap_or_default(),
        };
        config.check()?;
        Ok(config)
    }
}

/// The `qualys-mock` binary: parse the command line, run the subcommand. Exit 0 on
/// success, 2 for a configuration that cannot work, 1 for anything else.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match crate::store::serving_runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("qualys-mock: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = match cli.command {
        Command::Serve(args) => serve(&args, &runtime),
        Command::Generate(args) => match runtime.block_on(crate::generate::run(&args)) {
            Ok(summary) => {
                println!("{summary}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("qualys-mock generate: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Record(args) => match runtime.block_on(crate::record::run(*args)) {
            Ok(summary) => {
                println!("{summary}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("qualys-mock record: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Healthcheck(args) => healthcheck(&args, &runtime),
    };
    // Handlers still parked on a stalled client must not hold up the exit.
    runtime.shutdown_timeout(Duration::from_secs(1));
    code
}

fn healthcheck(args: &HealthcheckArgs, runtime: &tokio::runtime::Runtime) -> ExitCode {
    let timeout = Duration::from_secs(args.timeout);
    let url = match args.probe_url() {
        Ok(url) => url,
        Err(e) => {
            eprintln!("qualys-mock healthcheck: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(crate::healthcheck::probe(&url, timeout)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("qualys-mock healthcheck: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `qualys-mock serve`: the flags into a [`ServerConfig`], logging started, then serve.
fn serve(args: &ServeArgs, runtime: &tokio::runtime::Runtime) -> ExitCode {
    let config = match ServerConfig::try_from(args) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("qualys-mock: {e}");
            return ExitCode::from(2);
        }
    };
    // Held until the end of serving: dropping it flushes the queued log lines.
    let _log =
        match crate::logging::init(&args.log, args.log_format, args.log_buffer_lines as usize) {
            Ok(guard) => guard,
            Err(e) => {
                eprintln!("qualys-mock: cannot start logging: {e}");
                return ExitCode::from(2);
            }
        };
    match runtime.block_on(run(config, args.log_format)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("qualys-mock: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Start, print where to reach the server, run until SIGTERM or Ctrl-C.
async fn run(config: ServerConfig, format: LogFormat) -> Result<(), StartError> {
    let started = Instant::now();
    let stop = crate::server::shutdown_signal();
    let running = crate::server::start(&config, None, None).await?;
    print_banner(&Banner::of(&running).render(format));
    if let Some(warning) = config.exposure_warning() {
        // In the log, or on stderr when the log filter hides warnings.
        if tracing::enabled!(tracing::Level::WARN) {
            tracing::warn!("{warning}");
        } else {
            eprintln!("qualys-mock: {warning}");
        }
    }
    tracing::info!(
        startup_ms = started.elapsed().as_secs_f64() * 1000.0,
        "ready"
    );
    stop.await;
    tracing::info!("shutting down");
    running.shutdown().await;
    Ok(())
}

/// Where to reach the server, printed once at start on stdout for a person (a program
/// reads `--ready-file`). Text lines, or with `--log-format json` one JSON object on one
/// line (the fields of a JSON log line, `"message": "listening"`, with the addresses), so a
/// log collector reading both streams gets JSON from each.
#[derive(Debug, serde::Serialize)]
struct Banner {
    level: &'static str,
    message: &'static str,
    version: &'static str,
    http: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    https: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trust: Option<String>,
    seed: String,
    target: &'static str,
}

impl Banner {
    fn of(running: &Running) -> Banner {
        Banner {
            level: "INFO",
            message: "listening",
            version: env!("CARGO_PKG_VERSION"),
            http: format!("http://{}", running.http_addr),
            https: running.https_addr.map(|addr| format!("https://{addr}")),
            trust: running
                .trust_pem_path
                .as_ref()
                .map(|p| p.display().to_string()),
            seed: running.state.info.seed_name.clone(),
            target: "qualys_mock::server",
        }
    }

    fn render(&self, format: LogFormat) -> String {
        if format == LogFormat::Json {
            let mut line = serde_json::to_string(self).unwrap_or_default();
            line.push('\n');
            return line;
        }
        let mut text = format!(
            "qualys-mock {} listening\n  http:   {}\n",
            self.version, self.http
        );
        if let Some(https) = &self.https {
            text.push_str(&format!("  https:  {https}\n"));
        }
        if let Some(trust) = &self.trust {
            text.push_str(&format!(
                "  trust:  {trust} (REQUESTS_CA_BUNDLE / NODE_EXTRA_CA_CERTS / curl --cacert)\n"
            ));
        }
        text.push_str(&format!("  seed:   {}\n", self.seed));
        text
    }
}

/// A closed or full stdout must neither panic nor stop the server: the banner is a few
/// hundred bytes, well under any pipe's buffer, and a write error is ignored.
fn print_banner(banner: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(banner.as_bytes());
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `serve` flags `argv` gives, or clap's refusal.
    fn parses(argv: &[&str]) -> Result<ServeArgs, String> {
        let mut all = vec!["qualys-mock", "serve"];
        all.extend_from_slice(argv);
        match Cli::try_parse_from(all) {
            Ok(cli) => match cli.command {
                Command::Serve(args) => Ok(*args),
                other => panic!("expected serve, got {other:?}"),
            },
            Err(e) => Err(e.to_string()),
        }
    }

    fn config(argv: &[&str]) -> ServerConfig {
        ServerConfig::try_from(&parses(argv).unwrap()).unwrap()
    }

    #[test]
    fn no_flag_is_the_default_configuration() {
        assert_eq!(config(&[]), ServerConfig::default());
    }

    #[test]
    fn the_flags_become_the_configuration() {
        let c = config(&[
            "--port",
            "0",
            "--https-port",
            "0",
            "--tls-san",
            "qualys-mock",
            "--tls-cert-out",
            "/tmp/ca.pem",
            "--strict",
            "--frozen-at",
            "2022-05-10T00:00:00Z",
            "--execute-interval-secs",
            "5",
            "--ready-file",
            "/tmp/ready.json",
        ]);
        assert_eq!(c.port, 0);
        assert_eq!(
            c.https,
            Some(HttpsConfig {
                port: 0,
                certificate: Certificate::Generated {
                    names: vec!["qualys-mock".into()],
                    trust_pem_out: Some("/tmp/ca.pem".into()),
                },
            })
        );
        assert!(c.strict);
        assert_eq!(c.frozen_at, Some(1_652_140_800_000));
        assert_eq!(c.limits.execute_interval_ms, 5_000);
        assert_eq!(c.ready_file, Some("/tmp/ready.json".into()));
        let files = config(&[
            "--https-port",
            "0",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
        ]);
        assert_eq!(
            files.https.unwrap().certificate,
            Certificate::Files {
                cert: "c.pem".into(),
                key: "k.pem".into()
            }
        );
    }

    #[test]
    fn the_store_cache_is_a_folder_or_off() {
        use crate::config::StoreCache;
        assert_eq!(config(&[]).store_cache, StoreCache::User);
        for off in ["off", "OFF"] {
            assert_eq!(config(&["--store-cache", off]).store_cache, StoreCache::Off);
        }
        assert_eq!(
            config(&["--store-cache", "/var/cache/qm"]).store_cache,
            StoreCache::Dir("/var/cache/qm".into())
        );
        assert_eq!(
            config(&["--store-cache", "./off"]).store_cache,
            StoreCache::Dir("./off".into())
        );
        let refused = parses(&["--store-cache", ""]).unwrap_err().to_string();
        assert!(refused.contains("give a folder, or off"), "{refused}");
    }

    #[test]
    fn one_port_for_both_listeners_is_a_config_error() {
        let args = parses(&["--port", "18443", "--https-port", "18443"]).unwrap();
        assert_eq!(
            ServerConfig::try_from(&args),
            Err(ConfigError::SamePort(18443))
        );
    }

    #[test]
    fn a_frozen_time_that_is_no_date_is_refused() {
        let e = parses(&["--frozen-at", "garbage"]).unwrap_err();
        assert!(e.contains("is not an ISO date-time"), "{e}");
    }

    #[test]
    fn an_empty_or_short_jwt_secret_is_refused() {
        for secret in ["", "short", &"x".repeat(31)] {
            let e = parses(&["--jwt-secret", secret]).unwrap_err();
            assert!(e.contains("at least 32"), "{e}");
        }
        assert!(parses(&["--jwt-secret", &"x".repeat(32)]).is_ok());
        let e = parses(&["--control-token", ""]).unwrap_err();
        assert!(e.contains("empty"), "{e}");
    }

    #[test]
    fn a_bind_beyond_loopback_without_a_control_token_is_warned_about() {
        let warning = config(&["--host", "0.0.0.0"])
            .exposure_warning()
            .expect("no warning");
        assert!(warning.contains("--control-token"), "{warning}");
        for quiet in [
            &["--host", "0.0.0.0", "--control-token", "t"][..],
            &["--host", "127.0.0.1"],
            &["--host", "::1"],
        ] {
            assert!(config(quiet).exposure_warning().is_none(), "{quiet:?}");
        }
    }

    #[test]
    fn tls_san_refuses_what_is_not_a_name_and_conflicts_with_a_given_certificate() {
        for bad in ["bad name", "-lead.example", "under_score", "a..b", "a/b"] {
            let err = parses(&["--https-port", "0", &format!("--tls-san={bad}")]).unwrap_err();
            assert!(
                err.contains("neither an IP address nor a DNS name"),
                "{bad:?}: {err}"
            );
        }
        let ok = parses(&[
            "--https-port",
            "0",
            "--tls-san",
            "*.svc.local",
            "--tls-san",
            "::2",
            "--tls-san",
            "Qualys",
        ])
        .unwrap();
        assert_eq!(ok.tls_san, ["*.svc.local", "::2", "qualys"]);
        let err = parses(&[
            "--https-port",
            "0",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
            "--tls-san",
            "qualys",
        ])
        .unwrap_err();
        assert!(err.contains("cannot be used with"), "{err}");
    }

    #[test]
    fn a_log_filter_that_is_not_a_level_is_refused() {
        for ok in [
            "info",
            "WARN",
            "off",
            "info,qualys_mock=debug",
            "tower_http=trace, warn",
        ] {
            assert!(parse_log_filter(ok).is_ok(), "{ok}");
        }
        for bad in ["", "qualys_mock", "info,text", "qualys_mock=loud", "=info"] {
            assert!(parse_log_filter(bad).is_err(), "{bad:?}");
        }
    }
}
