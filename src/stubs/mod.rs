//! Stubs for the rest of Qualys, as data: WireMock-format mappings (`serve --stubs DIR`,
//! runtime `/_mock/stubs`) for the calls no emulated route takes — the VM API's
//! `/api/2.0/fo/...`, other QPS modules, gateway APIs. The state holds the set; answering a
//! request from it (with the platform's auth checked against the emulator's users) is done
//! above the state, with the requests no emulated route takes.
//!
//! - [`mapping`] — one mapping read from its JSON, every key checked.
//! - [`matchers`] — WireMock's URL, value and body matchers.
//! - [`emulated`] — the paths stubs may not target.
//! - [`load`] — a stubs folder read whole, or refused whole.
//! - [`set`] — the mappings a server holds, in the order they are tried.

pub(crate) mod emulated;
mod load;
pub mod mapping;
mod matchers;
pub(crate) mod set;

pub use load::load_dir;
pub use mapping::{Auth, Mapping};
pub(crate) use set::check_target;
pub use set::{Change, MAX_MAPPINGS, StubView};
