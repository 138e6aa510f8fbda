//! qualys-mock as a library: start the emulator inside a Rust test, on a free port, and
//! control it directly — no binary, no Docker.

use std::path::Path;

use serde_json::Value;

use crate::clock::{Clock, ClockState};
use crate::config::Limits;
use crate::config::{Certificate, HttpsConfig, ServerConfig};
use crate::control::faults::{Fault, FaultSpec};
use crate::control::journal::{Entry as JournalEntry, Filter as JournalFilter};
use crate::control::ops::{
    self, ControlError, ControlResult, CreatedCustomer, NewCustomer, ResetReport, ResetRequest,
    ResetScope,
};
use crate::server::{Running, StartError};
use crate::state::AppState;
use crate::store::Seed;

/// Sets up a [`MockServer`]: a [`ServerConfig`] (HTTP on a free loopback port unless
/// [`Self::config`] says otherwise) and, optionally, a seed or clock object in place of the
/// configuration's.
#[derive(Debug)]
pub struct MockServerBuilder {
    config: ServerConfig,
    seed: Option<Seed>,
    clock: Option<Clock>,
    /// The first builder call that could not be honoured; [`Self::start`] returns it.
    error: Option<StartError>,
}

impl Default for MockServerBuilder {
    fn default() -> Self {
        MockServerBuilder {
            config: ServerConfig {
                port: 0,
                ..ServerConfig::default()
            },
            seed: None,
            clock: None,
            error: None,
        }
    }
}

impl MockServerBuilder {
    /// Run from this configuration (its port as given: 0 picks a free one). The builder's
    /// other calls change it further.
    pub fn config(mut self, config: ServerConfig) -> Self {
        self.config = config;
        self
    }

    /// Load this seed folder instead of the embedded default.
    pub fn seed_dir(mut self, dir: impl AsRef<Path>) -> Self {
        match Seed::from_dir(dir.as_ref()) {
            Ok(seed) => self.seed = Some(seed),
            Err(e) => self.fail(StartError::Seed(e)),
        }
        self
    }

    /// Use this seed.
    pub fn seed(mut self, seed: Seed) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Use this clock (e.g. one shared with the test).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Start with the clock frozen at an ISO date-time (or epoch ms); a value that is
    /// neither makes [`Self::start`] fail with [`StartError::Config`].
    pub fn frozen_at(mut self, iso: &str) -> Self {
        match ServerConfig::frozen_at_iso(iso) {
            Ok(ms) => {
                self.config.frozen_at = Some(ms);
                self.clock = None;
            }
            Err(e) => self.fail(StartError::Config(e)),
        }
        self
    }

    pub fn limits(mut self, limits: Limits) -> Self {
        self.config.limits = limits;
        self
    }

    /// Also serve HTTPS on a free port (generated certificate; see
    /// [`MockServer::trust_pem_path`]: `qualys-mock-ca-<https port>.pem` in the temporary
    /// folder, removed when the server is shut down or dropped).
    pub fn https(mut self) -> Self {
        self.config.https = Some(HttpsConfig {
            port: 0,
            certificate: Certificate::Generated {
                names: Vec::new(),
                trust_pem_out: None,
            },
        });
        self
    }

    /// Refuse CAR JSON bodies with keys their endpoint does not take, as `--strict` does.
    pub fn strict(mut self) -> Self {
        self.config.strict = true;
        self
    }

    fn fail(&mut self, error: StartError) {
        self.error.get_or_insert(error);
    }

    /// Start serving; returns once the server answers.
    pub async fn start(self) -> Result<MockServer, StartError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let running = crate::server::start(&self.config, self.seed, self.clock).await?;
        Ok(MockServer { running })
    }
}

/// A running emulator inside this process: both Qualys APIs and the control API on a free
/// loopback port, with a method per control operation (reset, customers, seeds, clock,
/// faults, journal, CM events, asset-job outcomes, limits).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use qualys_mock::MockServer;
///
/// let server = MockServer::builder().frozen_at("2022-05-10T00:00:00Z").start().await.unwrap();
/// let (user, password) = server.credentials();
///
/// // Any HTTP client works; here a raw request keeps the example dependency-free.
/// let url = format!("{}/qps/rest/portal/version", server.base_url());
/// assert!(url.starts_with("http://127.0.0.1:"));
/// assert_eq!((user, password), ("acme_ss2", "passwd"));
///
/// // Control it directly: move time, inject faults, reset.
/// server.advance("4h").await.unwrap();
/// server.fail_next("POST", "/sm/v1/scripts/search", 500, 2).unwrap();
/// server.reset().await.unwrap();
/// server.shutdown().await;
/// # }
/// ```
pub struct MockServer {
    running: Running,
}

impl MockServer {
    pub fn builder() -> MockServerBuilder {
        MockServerBuilder::default()
    }

    /// Start on the embedded default seed.
    pub async fn start() -> Result<MockServer, StartError> {
        MockServer::builder().start().await
    }

    /// `http://127.0.0.1:<port>`: the base of both APIs (`/auth`, `/sm/v1`, `/qps/rest`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.running.http_addr)
    }

    /// The address the HTTP listener is bound to.
    pub fn http_addr(&self) -> std::net::SocketAddr {
        self.running.http_addr
    }

    /// The address the HTTPS listener is bound to, when started with HTTPS.
    pub fn https_addr(&self) -> Option<std::net::SocketAddr> {
        self.running.https_addr
    }

    /// `https://localhost:<port>`, when started with [`MockServerBuilder::https`].
    pub fn https_url(&self) -> Option<String> {
        self.running
            .https_addr
            .map(|a| format!("https://localhost:{}", a.port()))
    }

    /// The PEM a client must trust for [`Self::https_url`].
    pub fn trust_pem_path(&self) -> Option<&Path> {
        self.running.trust_pem_path.as_deref()
    }

    /// The default user of the default seed (customer Acme).
    pub fn credentials(&self) -> (&'static str, &'static str) {
        ("acme_ss2", "passwd")
    }

    /// The server's state, for what the methods here do not cover.
    pub fn state(&self) -> &AppState {
        &self.running.state
    }

    /// Back to how the server started: the data (every customer's), the clock, the fault
    /// rules and the limits (`POST /_mock/reset`).
    pub async fn reset(&self) -> ControlResult<ResetReport> {
        ops::reset(self.state(), ResetRequest::all()).await
    }

    /// Back to the start seed's data, every customer's; the clock, fault rules and limits
    /// stay (`POST /_mock/reset {"scope": "data"}`).
    pub async fn reset_data(&self) -> ControlResult<ResetReport> {
        let request = ResetRequest {
            scope: Some(ResetScope::Data),
            ..ResetRequest::default()
        };
        ops::reset(self.state(), request).await
    }

    /// Back to the start seed, one customer's data.
    pub async fn reset_customer(&self, name: &str) -> ControlResult<ResetReport> {
        let request = ResetRequest {
            customer: Some(name.to_owned()),
            ..ResetRequest::default()
        };
        ops::reset(self.state(), request).await
    }

    /// A fresh customer with its own user (`copy_of: Some("Acme")` copies Acme's objects).
    pub async fn create_customer(&self, req: NewCustomer) -> ControlResult<CreatedCustomer> {
        ops::create_customer(self.state(), req).await
    }

    /// Load records in the seed format (`{"scripts": [...]}`), all or nothing.
    pub async fn seed(&self, records: &Value) -> ControlResult<usize> {
        Ok(ops::load_seed(self.state(), records).await?.records)
    }

    pub fn clock(&self) -> ClockState {
        self.state().clock.state()
    }

    /// Move time (`"4h"`, `"30m"`, `"-1d"`) and run what became due.
    pub async fn advance(&self, by: &str) -> ControlResult<ClockState> {
        let change = ops::ClockChange {
            advance: Some(Value::String(by.to_owned())),
            ..Default::default()
        };
        ops::change_clock(self.state(), change).await
    }

    /// Jump to an ISO date-time and run what became due.
    pub async fn set_time(&self, iso: &str) -> ControlResult<ClockState> {
        let change = ops::ClockChange {
            set: Some(Value::String(iso.to_owned())),
            ..Default::default()
        };
        ops::change_clock(self.state(), change).await
    }

    pub fn freeze(&self) {
        self.state().clock.freeze();
    }

    /// The request journal, filtered.
    pub fn requests(&self, filter: &JournalFilter) -> Vec<JournalEntry> {
        ops::requests(self.state(), filter)
    }

    pub fn clear_requests(&self) {
        self.state().control.journal.clear();
    }

    pub fn add_fault(&self, spec: FaultSpec) -> ControlResult<Fault> {
        ops::add_fault(self.state(), spec)
    }

    /// The next `times` calls of `method path` answer `status` (the API's own error body).
    pub fn fail_next(
        &self,
        method: &str,
        path: &str,
        status: u16,
        times: u64,
    ) -> ControlResult<Fault> {
        self.add_fault(FaultSpec {
            method: Some(method.to_owned()),
            path: path.to_owned(),
            status: Some(status),
            body: None,
            headers: Default::default(),
            latency_ms: None,
            drop: false,
            rate_limit: None,
            times: Some(times),
            probability: None,
            seed: None,
        })
    }

    pub fn clear_faults(&self) {
        self.state().control.faults.clear();
    }

    /// Inject CM host events for a customer; returns the alerts raised (CM JSON records).
    pub async fn inject_events(&self, customer: &str, events: Value) -> ControlResult<Vec<Value>> {
        let events =
            serde_json::from_value(events).map_err(|e| ControlError::BadRequest(e.to_string()))?;
        ops::inject_events(
            self.state(),
            ops::Events {
                customer: customer.to_owned(),
                events,
            },
        )
        .await
    }

    /// Force an asset job's status and output.
    pub async fn force_outcome(
        &self,
        asset_job: i64,
        outcome: ops::ForcedOutcome,
    ) -> ControlResult<()> {
        ops::force_outcome(self.state(), asset_job, outcome).await
    }

    /// Change limits at run time (execute interval, script limit, job timings, ...), until
    /// a full [`Self::reset`] restores those the server started with.
    pub fn set_limits(&self, limits: Limits) {
        self.state().change_limits(limits);
    }

    /// Stop gracefully. Dropped instead, the server stops at once, and what it wrote (a
    /// generated trust PEM at its default path, the ready file, the private store) goes too.
    pub async fn shutdown(self) {
        self.running.shutdown().await;
    }
}
