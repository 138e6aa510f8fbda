//! The platform behind `serve --proxy-unmatched URL`, as data: its HTTP client ([`client`])
//! and, with `--record-stubs DIR`, the recorder that writes each new request/answer pair as
//! a WireMock mapping ([`record`]). The state holds them; forwarding a request with them is
//! done above the state, with the requests no emulated route takes.

pub(crate) mod client;
pub mod record;

pub use client::{Proxy, parse_base_url};
