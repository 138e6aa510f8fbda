//! The command line. Every `serve` flag can also be set by a `QUALYS_MOCK_*` variable.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    /// localhost/127.0.0.1 is generated at start.
    #[arg(long, env = "QUALYS_MOCK_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key for --tls-cert.
    #[arg(long, env = "QUALYS_MOCK_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Where to write the PEM a client must trust when the certificate is generated
    /// (default: qualys-mock-ca.pem in the system temp folder). Printed at start.
    #[arg(long, env = "QUALYS_MOCK_TLS_CERT_OUT")]
    pub tls_cert_out: Option<PathBuf>,

    /// SQLite file for the store; default is in memory. A new file is seeded; an existing
    /// one is used as it is.
    #[arg(long, env = "QUALYS_MOCK_DB")]
    pub db: Option<PathBuf>,

    /// Seed folder to load instead of the embedded default (format: seed-data/README.md).
    #[arg(long, env = "QUALYS_MOCK_SEED")]
    pub seed: Option<PathBuf>,

    /// Log filter (tracing EnvFilter syntax): info logs each request, debug adds bodies.
    #[arg(long, env = "QUALYS_MOCK_LOG", default_value = "info")]
    pub log: String,

    /// Secret for signing JWTs (HS512). Default: random per process.
    #[arg(long, env = "QUALYS_MOCK_JWT_SECRET", hide_env_values = true)]
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

    /// Require this token (header `X-Mock-Token` or `Authorization: Bearer`) on the
    /// /_mock/ control endpoints (health stays open). Open when absent.
    #[arg(long, env = "QUALYS_MOCK_CONTROL_TOKEN", hide_env_values = true)]
    pub control_token: Option<String>,

    /// Requests the journal (GET /_mock/requests) keeps; older ones are dropped.
    #[arg(long, env = "QUALYS_MOCK_JOURNAL_SIZE", default_value_t = 1000)]
    pub journal_size: usize,

    /// Bytes of each request body the journal keeps.
    #[arg(long, env = "QUALYS_MOCK_JOURNAL_BODY_BYTES", default_value_t = 4096)]
    pub journal_body_bytes: usize,

    /// Largest request body accepted, in bytes; larger ones get 413.
    #[arg(long, env = "QUALYS_MOCK_MAX_BODY_BYTES", default_value_t = 16 * 1024 * 1024)]
    pub max_body_bytes: usize,
}

#[derive(Debug, Clone, Args)]
pub struct HealthcheckArgs {
    /// Health URL to probe (plain HTTP).
    #[arg(
        long,
        env = "QUALYS_MOCK_HEALTH_URL",
        default_value = "http://127.0.0.1:8080/_mock/health"
    )]
    pub url: String,

    /// Seconds to wait for an answer.
    #[arg(long, default_value_t = 3)]
    pub timeout: u64,
}

impl ServeArgs {
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
