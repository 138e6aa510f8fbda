//! `GET /_mock/`: what the control API offers, so a client (or a person with curl) can
//! discover it. `tests/api/control_index.rs` calls every listed endpoint, so the table cannot
//! name one the router lacks.

use axum::Json;
use serde_json::{Value, json};

/// Method, path and one-line purpose of each control endpoint.
pub const ENDPOINTS: &[(&str, &str, &str)] = &[
    ("GET", "/_mock/", "this index of the control endpoints"),
    (
        "GET",
        "/_mock/health",
        "200 with status, version, seed, record counts and clock (open even with a control token)",
    ),
    (
        "POST",
        "/_mock/reset",
        "back to how the server started: data, clock, faults, config (scope=data: data only; \
         customer=NAME: that customer's data), in the query or a JSON body",
    ),
    (
        "POST",
        "/_mock/customers",
        "a new customer with its own user: empty, or a copy of a seeded one (copyOf)",
    ),
    (
        "POST",
        "/_mock/seed",
        "load records in the seed-data format, validated, all or nothing",
    ),
    ("GET", "/_mock/clock", "read the clock"),
    (
        "POST",
        "/_mock/clock",
        "set (epoch ms, ISO, \"now\"), advance, freeze or resume the clock, 1970 to 9999; \
         what became due runs",
    ),
    (
        "GET",
        "/_mock/requests",
        "the request journal, faulted entries marked; filters method, path (prefix), status, \
         since (epoch ms)",
    ),
    (
        "DELETE",
        "/_mock/requests",
        "delete journal entries: those the filters match (as GET), or all",
    ),
    (
        "GET",
        "/_mock/faults",
        "the fault rules, spent ones too, and how often each applied",
    ),
    (
        "POST",
        "/_mock/faults",
        "add a fault rule for API paths: status, latencyMs, drop or rateLimit for matching calls",
    ),
    ("DELETE", "/_mock/faults", "remove every fault rule"),
    ("DELETE", "/_mock/faults/{id}", "remove one fault rule"),
    (
        "POST",
        "/_mock/cm/events",
        "inject CM host events; answers the alerts they raised",
    ),
    (
        "POST",
        "/_mock/car/assetjobs/{id}/outcome",
        "force a CAR asset job's status, code, text and result",
    ),
    (
        "GET",
        "/_mock/config",
        "the run-time limits (execute interval, daily executions, ...)",
    ),
    ("PUT", "/_mock/config", "change run-time limits"),
    (
        "GET",
        "/_mock/openapi.json",
        "the OpenAPI 3.1 description of the CAR and control APIs",
    ),
    (
        "GET",
        "/_mock/stubs",
        "the stub mappings in force (WireMock format), in the order they are tried",
    ),
    (
        "POST",
        "/_mock/stubs",
        "add a stub mapping (one WireMock mapping object)",
    ),
    (
        "DELETE",
        "/_mock/stubs",
        "undo every runtime stub change: the mappings --stubs loaded",
    ),
    ("GET", "/_mock/stubs/{id}", "one stub mapping"),
    ("PUT", "/_mock/stubs/{id}", "replace a stub mapping"),
    ("DELETE", "/_mock/stubs/{id}", "remove a stub mapping"),
];

/// `GET /_mock/`.
pub async fn index() -> Json<Value> {
    let endpoints: Vec<Value> = ENDPOINTS
        .iter()
        .map(|(method, path, purpose)| json!({"method": method, "path": path, "purpose": purpose}))
        .collect();
    Json(json!({
        "name": "qualys-mock control API",
        "version": env!("CARGO_PKG_VERSION"),
        "endpoints": endpoints,
    }))
}
