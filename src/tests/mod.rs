//! The crate's white-box tests that need the whole app (or more than one module), kept
//! apart from the code they test; a test that needs only its own module sits beside it.
//!
//! - [`app`] — the whole app over `oneshot`, on a private store of the embedded seed.
//! - [`random_filters`] — random well-formed filters of every object type, through the app.
//! - [`query_plans`] — every search's SQLite plan uses its index.
//! - [`engine`] — the CAR engine learns of new work from the store's writes.
//! - [`full_disk`] — a full disk answers 503 in each surface's format.
//! - [`layers`] — no module imports one above it.
//! - [`emulated_paths`] — the paths stubs may not target are the emulated routes' own.

mod app;
mod emulated_paths;
mod engine;
mod full_disk;
mod layers;
mod query_plans;
mod random_filters;
