//! Black-box tests over the real HTTP surface. One binary; a module per area.

mod car;
mod car_auth;
mod car_layers;
mod car_ops;
mod car_samples;
mod cm;
mod cm_auth;
mod cm_filters;
mod cm_samples;
mod contracts;
mod control;
mod fallbacks;
mod fidelity;
mod filters;
mod hardening;
mod health;
mod helpers;
mod listener;
mod mock_server;
mod query_plans;
mod reach;
mod record;
mod state;
mod store_files;
mod xsd;
