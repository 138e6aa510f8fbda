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
//! gives the axum `Router` over an [`AppState`] for embedding; [`config`] is the command
//! line. The control operations' types ([`NewCustomer`], [`FaultSpec`], [`Limits`], ...)
//! are re-exported here.
//!
//! # Layout
//!
//! - `main.rs` — thin: parse the command line, start logging, run a subcommand.
//! - `app` — the router: every surface merged, the fallbacks, the per-request layers.
//! - `config` — the command line (clap); every flag also a `QUALYS_MOCK_*` variable.
//! - `server` — start listeners (HTTP, HTTPS), serve, shut down gracefully.
//! - `conn` — one listener's connections: header, body and idle timeouts.
//! - `logging` — text or JSON lines through a lossy writer that never blocks a request.
//! - `tls` — certificates (given or generated) and the TLS listener.
//! - `state/` — `AppState`: store, clock, JWT keys, limits, caches; cheap to clone. The
//!   control state's data (journal ring, fault rules) lives here, below `control`.
//! - `clock` — the only source of "now"; tests and the control API move it.
//! - `dates` — epoch seconds and milliseconds to ISO 8601 text and back, for every surface.
//! - `auth` — gateway JWT issue and verify, framework-free.
//! - `store/` — the only code that touches SQLite: where the data lives (a private file by
//!   default, a `--db` file, or memory) and its connections (one writer, readers beside it
//!   in WAL), schema, the one table of object types
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
//! - `iprange` — CM profile target lists (`10.10.10.1-10.10.31.255`).
//! - `http` — cross-cutting layers: request logging, body size limit.
//! - `healthcheck` — the `healthcheck` subcommand's tiny HTTP probe.
//! - `generate/` — the `generate` subcommand: deterministic data sets of any size.
//! - `record/` — the `record` subcommand: a real tenant harvested into a seed folder.
//! - `xml` — the small element tree both the CM request parser and the recorder read.
//! - `rng` — a small seedable generator (data sets, fault probabilities).
//!
//! `seed-data/` (embedded at build time) is the default data set; `tests/api/` drives the
//! real HTTP surface.

mod app;
#[doc(hidden)]
pub mod auth;
// The library's API is what the crate root re-exports below (and `config`, the flags).
// The modules marked `doc(hidden)` are public only so that the black-box test binary
// (`tests/api`) can build states, stores and queries directly; they are not a stable API.
mod car;
mod classic;
#[doc(hidden)]
pub mod clock;
#[doc(hidden)]
pub mod cm;
pub mod config;
#[doc(hidden)]
pub mod conn;
#[doc(hidden)]
pub mod control;
mod dates;
#[doc(hidden)]
pub mod generate;
#[doc(hidden)]
pub mod healthcheck;
mod http;
mod iprange;
#[doc(hidden)]
pub mod logging;
mod mock;
#[doc(hidden)]
pub mod openapi;
#[doc(hidden)]
pub mod page;
#[doc(hidden)]
pub mod query;
pub mod record;
mod rng;
mod schemas;
#[doc(hidden)]
pub mod server;
#[doc(hidden)]
pub mod state;
#[doc(hidden)]
pub mod store;
#[doc(hidden)]
pub mod tls;
mod xml;

pub use app::app;
pub use clock::{Clock, ClockState};
pub use control::ops::{
    ClockChange, ConfigChange, ControlError, ControlResult, CreatedCustomer, ForcedOutcome,
    NewCustomer, ResetReport, ResetRequest, ResetScope,
};
pub use mock::{MockServer, MockServerBuilder};
pub use server::StartError;
pub use state::faults::{Fault, FaultSpec};
pub use state::journal::{Entry, Filter};
pub use state::{AppState, Limits};
pub use store::{Seed, SeedError};
