//! Start the emulator: open and seed the store, bind HTTP (and HTTPS), serve until told to
//! stop, then shut down gracefully (in-flight requests finish; a file store is checkpointed).

use std::net::SocketAddr;
use std::path::PathBuf;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::auth::JwtKeys;
use crate::clock::Clock;
use crate::config::{Certificate, ConfigError, ServerConfig};
use crate::state::{AppState, ServerInfo};
use crate::store::{Seed, SeedError, Store, StoreError};
use crate::tls::{Identity, TlsError, TlsListener};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("invalid seed: {0}")]
    Seed(#[from] SeedError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("https: {0}")]
    Tls(#[from] TlsError),
    /// A configuration that cannot work ([`ServerConfig::check`]).
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("cannot write the ready file {path}: {source}")]
    ReadyFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("--clock-from-seed: {0}")]
    ClockFromSeed(String),
    /// A stubs folder (`--stubs`) that does not load.
    #[error("--stubs: {0}")]
    Stubs(String),
    /// A proxy (`--proxy-unmatched`) that cannot be set up.
    #[error("{0}")]
    Proxy(String),
}

/// A running server: its addresses and the means to stop it.
pub(crate) struct Running {
    pub(crate) state: AppState,
    pub(crate) http_addr: SocketAddr,
    pub(crate) https_addr: Option<SocketAddr>,
    /// Where the PEM to trust was written, when the certificate was generated.
    pub(crate) trust_pem_path: Option<PathBuf>,
    /// The trust PEM written to the default path, removed at shutdown.
    temporary_pem: Option<PathBuf>,
    /// The ready file written at start, removed at shutdown.
    ready_file: Option<PathBuf>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// `--clock-from-seed`: the clock set to the capture time of a recorded seed (and running
/// on from there; a full reset comes back to it); refused when the data was not recorded.
fn start_clock_at_capture(
    config: &ServerConfig,
    clock: &mut Clock,
    captured_ms: Option<i64>,
) -> Result<(), StartError> {
    if !config.clock_from_seed {
        return Ok(());
    }
    let at = captured_ms.ok_or_else(|| {
        StartError::ClockFromSeed(
            "the seed has no manifest.json with recordedAt (only folders written by `qualys-mock record` have one)"
                .to_owned(),
        )
    })?;
    clock.start_at(at);
    Ok(())
}

/// Build the state `config` describes: seed (or `seed`, when given), store (private or a
/// file), keys, clock (`clock`, when given, else frozen at `config.frozen_at` or real).
pub(crate) async fn build_state(
    config: &ServerConfig,
    seed: Option<Seed>,
    clock: Option<Clock>,
) -> Result<AppState, StartError> {
    config.check()?;
    let mut clock =
        clock.unwrap_or_else(|| config.frozen_at.map_or_else(Clock::real, Clock::frozen_at));
    // The embedded default with no seed given: prepared once per binary, not read each start.
    let embedded_default = seed.is_none() && config.seed.is_none();
    let mut given = seed;
    let mut read_seed = || match (given.take(), &config.seed) {
        (Some(seed), _) => Ok(seed),
        (None, Some(dir)) => Seed::from_dir(dir),
        (None, None) => Seed::embedded(),
    };
    let (store, seed_name) = match &config.db {
        None if embedded_default => {
            start_clock_at_capture(config, &mut clock, None)?;
            let provenance = Seed::embedded_provenance(&clock);
            let store = Store::private_default(&config.store_cache, provenance).await?;
            (store, crate::store::seed::EMBEDDED_NAME.to_owned())
        }
        None => {
            let seed = read_seed()?;
            let name = seed.name.clone();
            start_clock_at_capture(config, &mut clock, seed.recorded_at_ms())?;
            let provenance = seed.provenance(&clock);
            let store = Store::private_seeded(seed, provenance).await?;
            (store, name)
        }
        Some(path) => match Store::open_file(path)? {
            None => {
                let seed = read_seed()?;
                let name = seed.name.clone();
                start_clock_at_capture(config, &mut clock, seed.recorded_at_ms())?;
                let provenance = seed.provenance(&clock);
                let store = Store::create_file(path, provenance, move |l| l.load(&seed)).await?;
                (store, name)
            }
            Some(store) => {
                let baseline = store.provenance().await?;
                let captured = baseline.recorded.as_ref().and_then(|m| {
                    m.get("recordedAt")?
                        .as_str()
                        .and_then(crate::dates::parse_ms)
                });
                start_clock_at_capture(config, &mut clock, captured)?;
                tracing::info!(
                    db = %path.display(),
                    baseline = %baseline.source,
                    "using the existing store in the file (its data and baseline); no seed is loaded"
                );
                (store, baseline.source)
            }
        },
    };
    let keys = match &config.jwt_secret {
        Some(secret) => JwtKeys::from_secret(secret.as_bytes()),
        None => JwtKeys::random(),
    };
    let info = ServerInfo {
        seed_name,
        max_body_bytes: config.max_body_bytes,
        body_budget: crate::http::BodyBudget::new(
            usize::try_from(config.body_budget_bytes).unwrap_or(usize::MAX),
            config.timeouts.body,
        ),
        strict: config.strict,
        proxy: match &config.proxy {
            Some(proxy) => Some(crate::proxy::Proxy::new(proxy).map_err(StartError::Proxy)?),
            None => None,
        },
    };
    let control = crate::control::ControlState::new(
        config.control_token.clone(),
        config.journal_size,
        config.journal_body_bytes,
    );
    let state = AppState::new(store, clock, keys, info, control);
    state.set_limits(config.limits);
    if let Some(dir) = &config.stubs {
        let mappings = crate::stubs::load_dir(dir).map_err(|e| StartError::Stubs(e.to_string()))?;
        tracing::info!(dir = %dir.display(), stubs = mappings.len(), "stubs loaded");
        state.control.stubs.install(Some(dir.clone()), mappings);
    }
    Ok(state)
}

impl AppState {
    /// The state a server running from `config` serves: its store opened and seeded, its
    /// keys, clock, limits and control state. Serve it with [`crate::app`].
    pub async fn from_config(config: &ServerConfig) -> Result<AppState, StartError> {
        build_state(config, None, None).await
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })
}

/// Start the server `config` describes (with `seed` and `clock` in place of its own, when
/// given). Returns once the store is ready and every listener is bound; then, with
/// `config.ready_file`, the ready file is written.
pub(crate) async fn start(
    config: &ServerConfig,
    seed: Option<Seed>,
    clock: Option<Clock>,
) -> Result<Running, StartError> {
    let state = build_state(config, seed, clock).await?;
    let app = crate::app(state.clone());
    let (shutdown, rx) = watch::channel(false);
    let mut tasks = Vec::new();

    let http = bind(SocketAddr::new(config.host, config.port)).await?;
    let http_addr = http.local_addr().map_err(|source| StartError::Bind {
        addr: SocketAddr::new(config.host, config.port),
        source,
    })?;
    let t = config.timeouts;
    let timeouts = crate::conn::Timeouts {
        header: t.header,
        body: t.body,
        body_deadline: t.body_deadline,
        idle: t.idle,
    };
    tasks.push(tokio::spawn(crate::conn::serve(
        http,
        app.clone(),
        timeouts,
        rx.clone(),
    )));

    let (mut https_addr, mut trust_pem_path, mut temporary_pem) = (None, None, None);
    if let Some(https) = &config.https {
        let (identity, trust_pem_out) = match &https.certificate {
            Certificate::Files { cert, key } => (Identity::load(cert, key)?, None),
            Certificate::Generated {
                names,
                trust_pem_out,
            } => (Identity::generate_for(names)?, trust_pem_out.as_ref()),
        };
        let addr = SocketAddr::new(config.host, https.port);
        let tcp = bind(addr).await?;
        let bound = tcp
            .local_addr()
            .map_err(|source| StartError::Bind { addr, source })?;
        // The listener first: a start that fails here has written no PEM to leave behind.
        let trust_pem = identity.trust_pem.clone();
        let listener = TlsListener::new(tcp, identity.server_config()?)
            .map_err(|source| StartError::Bind { addr, source })?;
        if let Some(pem) = &trust_pem {
            let path = match trust_pem_out {
                Some(path) => path.clone(),
                None => {
                    // One file per HTTPS port: two servers on one machine never overwrite
                    // each other's CA. Removed at shutdown.
                    let path = crate::tls::default_trust_pem_path(bound.port());
                    temporary_pem = Some(path.clone());
                    path
                }
            };
            crate::tls::write_trust_pem(&path, pem)?;
            trust_pem_path = Some(path);
        }
        https_addr = Some(bound);
        // Requests over TLS are marked, so answers name `https://` schema locations.
        let app = app.layer(axum::Extension(crate::cm::reply::Https));
        tasks.push(tokio::spawn(crate::conn::serve(
            listener, app, timeouts, rx,
        )));
    }

    let mut running = Running {
        state,
        http_addr,
        https_addr,
        trust_pem_path,
        temporary_pem,
        ready_file: None,
        shutdown,
        tasks,
    };
    if let Some(path) = &config.ready_file {
        if let Err(source) = write_ready_file(path, &ReadySignal::of(&running)) {
            running.shutdown().await;
            return Err(StartError::ReadyFile {
                path: path.clone(),
                source,
            });
        }
        running.ready_file = Some(path.clone());
    }
    Ok(running)
}

/// What `--ready-file` holds: where to reach the server, once it answers.
#[derive(Debug, serde::Serialize)]
struct ReadySignal {
    /// `http://<host>:<port>` as bound (the port picked, when 0 was asked for).
    http: String,
    /// `https://<host>:<port>`, when HTTPS is on.
    https: Option<String>,
    /// The PEM a client must trust, when the certificate was generated.
    ca: Option<String>,
    pid: u32,
    version: &'static str,
}

impl ReadySignal {
    fn of(running: &Running) -> ReadySignal {
        ReadySignal {
            http: format!("http://{}", running.http_addr),
            https: running.https_addr.map(|addr| format!("https://{addr}")),
            ca: running
                .trust_pem_path
                .as_ref()
                .map(|p| p.display().to_string()),
            pid: std::process::id(),
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// Write `signal` so that a reader never sees half of it: a temporary file beside `path`,
/// then renamed over it.
fn write_ready_file(path: &std::path::Path, signal: &ReadySignal) -> std::io::Result<()> {
    let mut text = serde_json::to_string_pretty(signal).map_err(std::io::Error::other)?;
    text.push('\n');
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "ready".to_owned());
    let temporary = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&temporary, text)?;
    std::fs::rename(&temporary, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temporary);
    })
}

impl Running {
    /// Stop accepting, let in-flight requests finish, checkpoint a file store.
    pub(crate) async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
        if let Err(e) = self.state.store.checkpoint().await {
            tracing::debug!(error = %e, "checkpoint at shutdown");
        }
        // The files go when `self` is dropped, here.
    }
}

/// Dropped without [`Running::shutdown`] (a library server going out of scope) too, the
/// server's own files go: the trust PEM written to the default path, the ready file.
impl Drop for Running {
    fn drop(&mut self) {
        for path in [self.temporary_pem.take(), self.ready_file.take()]
            .into_iter()
            .flatten()
        {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// SIGTERM or Ctrl-C, listened for from the call on (not from the first poll): called before
/// the server starts, a signal sent as soon as the ready file appears is not missed.
pub(crate) fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let terminate = signal(SignalKind::terminate()).ok();
        let interrupt = signal(SignalKind::interrupt()).ok();
        async move {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = wait(terminate) => {},
                () = wait(interrupt) => {},
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::HttpsConfig;

    fn loopback() -> ServerConfig {
        ServerConfig {
            port: 0,
            ..ServerConfig::default()
        }
    }

    fn client_trusting(pem_path: &std::path::Path) -> reqwest::Client {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(pem_path).unwrap() {
            roots.add(cert.unwrap()).unwrap();
        }
        let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        reqwest::Client::builder()
            .use_preconfigured_tls(config)
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap()
    }

    fn pem_block(label: &str, der: &[u8]) -> String {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            lines.join("\n")
        )
    }

    #[tokio::test]
    async fn https_with_a_given_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let generated = Identity::generate().unwrap();
        let cert_pem: String = generated
            .chain
            .iter()
            .map(|der| pem_block("CERTIFICATE", der.as_ref()))
            .collect();
        let key_pem = pem_block("PRIVATE KEY", generated.key.secret_der());
        let (cert, key, ca) = (
            dir.path().join("cert.pem"),
            dir.path().join("key.pem"),
            dir.path().join("ca.pem"),
        );
        std::fs::write(&cert, cert_pem).unwrap();
        std::fs::write(&key, key_pem).unwrap();
        std::fs::write(&ca, generated.trust_pem.unwrap()).unwrap();
        let config = ServerConfig {
            https: Some(HttpsConfig {
                port: 0,
                certificate: Certificate::Files { cert, key },
            }),
            ..loopback()
        };
        let running = start(&config, None, None).await.unwrap();
        assert!(running.trust_pem_path.is_none());
        let port = running.https_addr.unwrap().port();
        let r = client_trusting(&ca)
            .get(format!("https://localhost:{port}/_mock/health"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        running.shutdown().await;
    }

    #[tokio::test]
    async fn healthcheck_probe_follows_the_server() {
        let running = start(&loopback(), None, None).await.unwrap();
        let url = format!("http://{}/_mock/health", running.http_addr);
        crate::healthcheck::probe(&url, Duration::from_secs(5))
            .await
            .unwrap();
        let wrong = format!("http://{}/nope", running.http_addr);
        assert!(
            crate::healthcheck::probe(&wrong, Duration::from_secs(5))
                .await
                .is_err()
        );
        running.shutdown().await;
        assert!(
            crate::healthcheck::probe(&url, Duration::from_secs(2))
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn advancing_the_clock_runs_due_jobs_in_the_store() {
        let config = ServerConfig {
            frozen_at: Some(1_704_067_200_000),
            ..loopback()
        };
        let running = start(&config, None, None).await.unwrap();
        let base = format!("http://{}", running.http_addr);
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::new();
        let token = http
            .post(format!("{base}/auth"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("username=acme_ss2&password=passwd&token=true")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let r = http
            .post(format!("{base}/sm/v1/scripts/72648/execute"))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(r#"{"assetIds": ["20452610"]}"#)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let r: serde_json::Value = serde_json::from_str(&r).unwrap();
        let correlation = r["body"]["correlationUuid"].as_str().unwrap().to_owned();
        let change = crate::control::ops::ClockChange {
            advance: Some(serde_json::json!(60_000)),
            ..Default::default()
        };
        crate::control::ops::change_clock(&running.state, change)
            .await
            .unwrap();
        // The store moved on when the clock did: the job is final before anyone reads it.
        let ids = running
            .state
            .store
            .car_asset_jobs(1001, crate::store::Search::default(), false)
            .await
            .unwrap();
        let job = ids
            .items
            .iter()
            .find(|a| a.job.correlation_uuid == correlation)
            .unwrap();
        assert_eq!(job.status, "SUCCESS");
        running.shutdown().await;
    }

    #[tokio::test]
    async fn the_ready_file_names_where_to_reach_the_server_and_goes_at_shutdown() {
        let dir = tempfile::tempdir().unwrap();
        let ready = dir.path().join("ready.json");
        let pem = dir.path().join("ca.pem");
        let config = ServerConfig {
            https: Some(HttpsConfig {
                port: 0,
                certificate: Certificate::Generated {
                    names: Vec::new(),
                    trust_pem_out: Some(pem.clone()),
                },
            }),
            ready_file: Some(ready.clone()),
            ..loopback()
        };
        let running = start(&config, None, None).await.unwrap();
        let signal: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&ready).unwrap()).unwrap();
        assert_eq!(signal["http"], format!("http://{}", running.http_addr));
        assert_eq!(
            signal["https"],
            format!("https://{}", running.https_addr.unwrap())
        );
        assert_eq!(signal["ca"], pem.display().to_string());
        assert_eq!(signal["pid"], std::process::id());
        assert_eq!(signal["version"], env!("CARGO_PKG_VERSION"));
        // Nothing but the file itself is left beside it.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
        running.shutdown().await;
        assert!(!ready.exists());
    }

    #[tokio::test]
    async fn a_ready_file_that_cannot_be_written_stops_the_start() {
        let config = ServerConfig {
            ready_file: Some("/nonexistent-dir/ready.json".into()),
            ..loopback()
        };
        let err = start(&config, None, None).await.err().unwrap();
        assert!(matches!(err, StartError::ReadyFile { .. }), "{err}");
    }
}
