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
//! - `main.rs` — the allocator, then [`cli::main`].
//! - `cli` — the command line (clap); every flag also a `QUALYS_MOCK_*` variable; the flags
//!   become a [`ServerConfig`]; the subcommands; the start banner.
//! - `app` — the router: every surface merged, the fallbacks, and one front layer that
//!   decides each request's surface (a request extension), checks the control token,
//!   records the journal, applies fault rules, logs, and guards the body.
//! - `config` — [`ServerConfig`]: everything a server runs with, as plain values.
//! - `server` — the state a `ServerConfig` describes, the listeners (HTTP, HTTPS), the ready
//!   file, graceful shutdown.
//! - `conn` — one listener's connections: header, body and idle timeouts.
//! - `logging` — text or JSON lines through a lossy writer that never blocks a request.
//! - `tls` — certificates (given or generated) and the TLS listener.
//! - `state/` — `AppState`: store, clock, JWT keys, limits; cheap to clone. The
//!   control state's data (journal ring, fault rules) lives here, below `control`.
//! - `clock` — the only source of "now"; tests and the control API move it.
//! - `dates` — epoch seconds and milliseconds to ISO 8601 text and back, for every surface.
//! - `auth` — gateway JWT issue and verify, framework-free.
//! - `store/` — the only code that touches SQLite: where the data lives (a private file by
//!   default, a `--db` file, or memory) and its connections (one writer, readers beside it
//!   in WAL; the one write path bumps the data generation that the store's caches are
//!   tagged with), schema, the registry of object types
//!   (`objects.rs`), the baseline and reset (`baseline.rs`), runtime customers and seeds,
//!   seed loading, one search, queries per object.
//! - `car/` — the CAR surface: `/auth`, `/sm/v1/*`; the engine's catch-up as a route layer,
//!   body and bearer extractors whose rejections are CAR errors, typed wire views.
//! - `cm/` — the CM surface: `/qps/rest/*`, Basic auth, `ServiceResponse` in XML and JSON,
//!   the served XSDs.
//! - `classic/` — the classic platform surface (`/msp/`): `about.php`, the Basic login
//!   probe clients such as qualysdk call, with the API-limit headers; VM-style XML errors.
//! - `control/` — `/_mock/*`: health, reset, customers, seed, clock, request journal,
//!   faults, CM events, asset-job outcomes, config, and the index at `/_mock/`.
//! - `mock` — [`MockServer`]: the emulator in-process, for Rust tests.
//! - `query/` — the one filter engine: QQL and QPS criteria → one tree with spans →
//!   validated once → SQL.
//! - `page` — the one pagination model (window in, page with has-more out).
//! - `proxy/` — `--proxy-unmatched`: what no emulated API answers, forwarded to the platform;
//!   `--record-stubs` writes each new pair as a WireMock mapping.
//! - `iprange` — CM profile target lists (`10.10.10.1-10.10.31.255`).
//! - `http` — the request's `Surface` (decided once, by the front layer), request logging,
//!   the body guard.
//! - `stubs/` — WireMock mappings (`--stubs`, `/_mock/stubs`) answering the paths no
//!   emulated API has, with the platform's auth.
//! - `healthcheck` — the `healthcheck` subcommand's tiny HTTP probe.
//! - `generate/` — the `generate` subcommand: deterministic data sets of any size.
//! - `record/` — the `record` subcommand: a real tenant harvested into a seed folder.
//! - `xml` — the small element tree both the CM request parser and the recorder read.
//! - `rng` — a small seedable generator (data sets, fault probabilities).
//!
//! `seed-data/` (embedded at build time) is the default data set; `tests/api/` drives the
//! real HTTP surface through the public API; white-box tests sit beside their code
//! (`test_app` is their in-crate app). `docs/ARCHITECTURE.md` walks a request through.

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
pub use config::{Certificate, ConfigError, HttpsConfig, ProxyConfig, ServerConfig, Timeouts};
pub use control::ops::{
    ClockChange, ConfigChange, ControlError, ControlResult, CreatedCustomer, ForcedOutcome,
    NewCustomer, ResetReport, ResetRequest, ResetScope,
};
pub use mock::{MockServer, MockServerBuilder};
pub use server::StartError;
pub use state::faults::{Fault, FaultSpec};
pub use state::journal::{Entry as JournalEntry, Filter as JournalFilter};
pub use state::{AppState, Limits};
pub use store::{Seed, SeedError};
