//! Start the emulator: open and seed the store, bind HTTP (and HTTPS), serve until told to
//! stop, then shut down gracefully (in-flight requests finish; a file store is checkpointed).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Instant;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::auth::JwtKeys;
use crate::clock::Clock;
use crate::config::ServeArgs;
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
    /// Flags that cannot go together ([`ServeArgs::check`]).
    #[error("{0}")]
    Args(String),
    #[error("--clock-from-seed: {0}")]
    ClockFromSeed(String),
}

/// A running server: its addresses and the means to stop it.
pub struct Running {
    pub state: AppState,
    pub http_addr: SocketAddr,
    pub https_addr: Option<SocketAddr>,
    /// Where the PEM to trust was written, when the certificate was generated.
    pub trust_pem_path: Option<PathBuf>,
    /// The trust PEM written to the default path, removed at shutdown.
    temporary_pem: Option<PathBuf>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// The tokio runtime the binary serves on. Every store call takes a blocking thread only
/// once its connection is free, so the store needs at most as many blocking threads as it
/// has connections; two more cover the rest. More would only cost memory under load (each
/// thread that ran a call keeps its allocator heap), and tokio's default is 512.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(crate::store::max_connections() + 2)
        .build()
}

/// `--clock-from-seed`: the clock set to the capture time of a recorded seed (and running
/// on from there; a full reset comes back to it); refused when the data was not recorded.
fn start_clock_at_capture(
    args: &ServeArgs,
    clock: &mut Clock,
    captured_ms: Option<i64>,
) -> Result<(), StartError> {
    if !args.clock_from_seed {
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

/// Build the state for `args`: seed, store (memory or file), keys, clock.
pub async fn build_state(args: &ServeArgs, mut clock: Clock) -> Result<AppState, StartError> {
    let read_seed = || match &args.seed {
        Some(dir) => Seed::from_dir(dir),
        None => Seed::embedded(),
    };
    let (store, seed_name) = match &args.db {
        // The default: prepared once per binary, not read on every start.
        None if args.seed.is_none() => {
            start_clock_at_capture(args, &mut clock, None)?;
            let provenance = Seed::embedded_provenance(&clock);
            let store = Store::private_default(provenance).await?;
            (store, crate::store::seed::EMBEDDED_NAME.to_owned())
        }
        None => {
            let seed = read_seed()?;
            let name = seed.name.clone();
            start_clock_at_capture(args, &mut clock, seed.recorded_at_ms())?;
            let provenance = seed.provenance(&clock);
            let store = Store::private_seeded(seed, provenance).await?;
            (store, name)
        }
        Some(path) => match Store::open_file(path)? {
            None => {
                let seed = read_seed()?;
                let name = seed.name.clone();
                start_clock_at_capture(args, &mut clock, seed.recorded_at_ms())?;
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
                start_clock_at_capture(args, &mut clock, captured)?;
                tracing::info!(
                    db = %path.display(),
                    baseline = %baseline.source,
                    "using the existing store in the file (its data and baseline); no seed is loaded"
                );
                (store, baseline.source)
            }
        },
    };
    let keys = match &args.jwt_secret {
        Some(secret) => JwtKeys::from_secret(secret.as_bytes()),
        None => JwtKeys::random(),
    };
    let info = ServerInfo {
        seed_name,
        max_body_bytes: args.max_body_bytes,
        body_budget: crate::http::BodyBudget::new(
            usize::try_from(args.body_budget_bytes).unwrap_or(usize::MAX),
            std::time::Duration::from_secs(args.body_timeout_secs),
        ),
        strict: args.strict,
        proxy: crate::proxy::Proxy::from_args(args).map_err(StartError::Args)?,
    };
    let state =
        AppState::new(store, clock, keys, info).with_control(crate::control::ControlState::new(
            args.control_token.clone(),
            args.journal_size,
            args.journal_body_bytes,
        ));
    state.set_limits(args.limits());
    if let Some(dir) = &args.stubs {
        let mappings =
            crate::stubs::load_dir(dir).map_err(|e| StartError::Args(format!("--stubs: {e}")))?;
        tracing::info!(dir = %dir.display(), stubs = mappings.len(), "stubs loaded");
        state.control.stubs.install(Some(dir.clone()), mappings);
    }
    Ok(state)
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })
}

/// Start serving `state` as `args` says. Returns once the listeners are bound.
pub async fn start(args: &ServeArgs, state: AppState) -> Result<Running, StartError> {
    args.check().map_err(StartError::Args)?;
    let app = crate::app(state.clone());
    let (shutdown, rx) = watch::channel(false);
    let mut tasks = Vec::new();

    let http = bind(SocketAddr::new(args.host, args.port)).await?;
    let http_addr = http.local_addr().map_err(|source| StartError::Bind {
        addr: SocketAddr::new(args.host, args.port),
        source,
    })?;
    let timeouts = args.timeouts();
    tasks.push(tokio::spawn(crate::conn::serve(
        http,
        app.clone(),
        timeouts,
        rx.clone(),
    )));

    let (mut https_addr, mut trust_pem_path, mut temporary_pem) = (None, None, None);
    if let Some(port) = args.https_port {
        let identity = match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => Identity::load(cert, key)?,
            (None, None) => Identity::generate_for(&args.tls_san)?,
            _ => return Err(TlsError::HalfPair.into()),
        };
        let addr = SocketAddr::new(args.host, port);
        let tcp = bind(addr).await?;
        let bound = tcp
            .local_addr()
            .map_err(|source| StartError::Bind { addr, source })?;
        if let Some(pem) = &identity.trust_pem {
            let path = match &args.tls_cert_out {
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
        let listener = TlsListener::new(tcp, identity.server_config()?)
            .map_err(|source| StartError::Bind { addr, source })?;
        https_addr = Some(bound);
        // Requests over TLS are marked, so answers name `https://` schema locations.
        let app = app.layer(axum::Extension(crate::cm::reply::Https));
        tasks.push(tokio::spawn(crate::conn::serve(
            listener, app, timeouts, rx,
        )));
    }

    Ok(Running {
        state,
        http_addr,
        https_addr,
        trust_pem_path,
        temporary_pem,
        shutdown,
        tasks,
    })
}

impl Running {
    /// Stop accepting, let in-flight requests finish, checkpoint a file store.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        if let Err(e) = self.state.store.checkpoint().await {
            tracing::debug!(error = %e, "checkpoint at shutdown");
        }
        if let Some(path) = self.temporary_pem {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// `qualys-mock serve`: start, print where to reach it, run until SIGTERM or Ctrl-C.
pub async fn run(args: ServeArgs) -> Result<(), StartError> {
    let started = Instant::now();
    args.check().map_err(StartError::Args)?;
    let clock = args.frozen_at.map_or_else(Clock::real, Clock::frozen_at);
    let state = build_state(&args, clock).await?;
    let running = start(&args, state).await?;
    print_banner(&Banner::of(&running).render(args.log_format));
    if let Some(warning) = crate::config::exposure_warning(&args) {
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
    shutdown_signal().await;
    tracing::info!("shutting down");
    running.shutdown().await;
    Ok(())
}

/// Where to reach the server, printed once at start on stdout: what a wrapper reads to learn a
/// picked port. Text lines, or with `--log-format json` one JSON object on one line (the
/// fields of a JSON log line, `"message": "listening"`, with the addresses), so a log
/// collector reading both streams gets JSON from each.
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
            target: module_path!(),
        }
    }

    fn render(&self, format: crate::config::LogFormat) -> String {
        if format == crate::config::LogFormat::Json {
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

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
