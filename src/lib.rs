//! qualys-mock: a local, stateful emulator of two Qualys APIs — CAR (`/auth`, `/sm/v1`) and
//! Continuous Monitoring (`/qps/rest`) — for offline tests, CI fixtures and docker-compose
//! test environments.
//!
//! Two wire surfaces stand over one core: one SQLite store, one clock, one filter engine and
//! one pagination model. Each surface renders its own wire format and its own errors.
//!
//! # Using it from Rust
//!
//! [`MockServer`] starts the emulator in-process on a free port (see its example); [`app`]
//! gives the axum `Router` over an [`AppState`] ([`AppState::from_config`]) for embedding.
//! Both run from a [`ServerConfig`], plain values that [`ServerConfig::check`] refuses with a
//! [`ConfigError`] when they cannot work. The control operations' types ([`NewCustomer`],
//! [`FaultSpec`], [`JournalFilter`], [`Limits`], ...) are re-exported here. [`cli::main`] is
//! the `qualys-mock` binary. Nothing else is public.
//!
//! # Layout
//!
//! From the top layer down; no module imports one in a layer above its own
//! (`cargo test --lib tests::layers` checks it against the layers in `src/tests/layers.rs`).
//!
//! - `main.rs` — the allocator, then [`cli::main`].
//! - `cli` — the command line (clap); every flag also a `QUALYS_MOCK_*` variable; the flags
//!   become a [`ServerConfig`]; the subcommands; the start banner.
//! - `mock` — [`MockServer`]: the emulator in-process, for Rust tests.
//! - `server` — the state a `ServerConfig` describes, the listeners (HTTP, HTTPS), the ready
//!   file, graceful shutdown.
//! - `app` — the router: every surface merged, the fallbacks, and one front layer that
//!   decides each request's surface (a request extension), checks the control token,
//!   records the journal, applies fault rules, logs, and guards the body.
//! - `openapi/` — the OpenAPI description of CAR and control (`/_mock/openapi.json`).
//! - `unrouted/` — the requests no emulated route takes: the stubs' answer (with the
//!   platform's auth), else the platform behind `--proxy-unmatched` (recording with
//!   `--record-stubs`), else the surface's 404.
//! - `control/` — `/_mock/*`: health, reset, customers, seed, clock, request journal,
//!   faults, CM events, asset-job outcomes, config, stubs, and the index at `/_mock/`.
//! - `record/` — the `record` subcommand: a real tenant harvested into a seed folder.
//! - `classic/` — the classic platform surface (`/msp/`): `about.php`, the Basic login
//!   probe clients such as qualysdk call, with the API-limit headers; VM-style XML errors.
//! - `cm/` — the CM surface: `/qps/rest/*`, Basic auth, `ServiceResponse` in XML and JSON,
//!   the served XSDs.
//! - `car/` — the CAR surface: `/auth`, `/sm/v1/*`; the engine's catch-up as a route layer,
//!   body and bearer extractors whose rejections are CAR errors, typed wire views.
//! - `state/` — `AppState`: store, clock, JWT keys, limits, the stub set, the proxy client;
//!   cheap to clone. The control state's data (journal ring, fault rules) lives here.
//! - `generate/` — the `generate` subcommand: deterministic data sets of any size.
//! - `proxy/` — the platform behind `--proxy-unmatched`, as data: its HTTP client and the
//!   recorder that writes each new pair as a WireMock mapping (`--record-stubs`).
//! - `store/` — the only code that touches SQLite: where the data lives (a private file by
//!   default, a `--db` file, or memory) and its connections (one writer, readers beside it
//!   in WAL; the one write path bumps the data generation that the store's caches are
//!   tagged with), schema, the registry of object types
//!   (`objects.rs`), the baseline and reset (`baseline.rs`), runtime customers and seeds,
//!   seed loading, one search, queries per object; the runtime the server runs on.
//! - `config` — [`ServerConfig`]: everything a server runs with, as plain values; the
//!   [`Limits`] and the [`ProxyConfig`].
//! - `stubs/` — WireMock mappings (`--stubs`, `/_mock/stubs`) as data: read, checked,
//!   matched, held in the set a server tries in order.
//! - `conn` — one listener's connections: header, body and idle timeouts.
//! - `clock` — the only source of "now"; tests and the control API move it.
//! - `http` — the request's `Surface` (decided once, by the front layer), request logging,
//!   the body guard.
//! - `query/` — the one filter engine: QQL and QPS criteria → one tree with spans →
//!   validated once → SQL.
//! - `auth` — who is calling (`Caller`); gateway JWT issue and verify, framework-free.
//! - `page` — the one pagination model (window in, page with has-more out).
//! - `dates` — epoch seconds and milliseconds to ISO 8601 text and back, for every surface.
//! - `iprange` — CM profile target lists (`10.10.10.1-10.10.31.255`).
//! - `xml` — the one XML element tree (namespace URIs resolved) the CM request parser, the
//!   recorder and the stubs' `equalToXml` read.
//! - `schemas` — the JSON Schema pieces the wire types' derives use.
//! - `rng` — a small seedable generator (data sets, fault probabilities).
//! - `logging` — text or JSON lines through a lossy writer that never blocks a request.
//! - `tls` — certificates (given or generated) and the TLS listener.
//! - `healthcheck` — the `healthcheck` subcommand's tiny HTTP probe.
//! - `guard` — route layers that pass a request on or answer it, boxing nothing unless
//!   they have to wait (the control API's refusal of unread input, the job engine's
//!   catch-up).
//!
//! `seed-data/` (embedded at build time) is the default data set; `tests/api/` drives the
//! real HTTP surface through the public API; white-box tests sit beside their code, and
//! those that need the whole app or several surfaces in `src/tests/` (with `tests::app`,
//! their in-crate app). `docs/ARCHITECTURE.md` walks a request through.

// The library's API is what the crate root re-exports below, and `cli::main` (the binary).
// Everything else is the crate's own; its white-box tests live beside it (`#[cfg(test)]`).
mod app;
mod auth;
mod car;
mod classic;
pub mod cli;
mod clock;
mod cm;
mod config;
mod conn;
mod control;
mod dates;
mod generate;
mod guard;
mod healthcheck;
mod http;
mod iprange;
mod logging;
mod mock;
mod openapi;
mod page;
mod proxy;
mod query;
mod record;
mod rng;
mod schemas;
mod server;
mod state;
mod store;
mod stubs;
#[cfg(test)]
mod tests;
mod tls;
mod unrouted;
mod xml;

pub use app::app;
pub use clock::{Clock, ClockState};
pub use config::{
    Certificate, ConfigError, HttpsConfig, Limits, ProxyConfig, ServerConfig, StoreCache, Timeouts,
};
pub use control::ops::{
    ClockChange, ConfigChange, ControlError, ControlResult, CreatedCustomer, ForcedOutcome,
    NewCustomer, ResetReport, ResetRequest, ResetScope,
};
pub use mock::{MockServer, MockServerBuilder};
pub use server::StartError;
pub use state::AppState;
pub use state::faults::{Fault, FaultSpec};
pub use state::journal::{Entry as JournalEntry, Filter as JournalFilter};
pub use store::{Seed, SeedError};
