//! Fault rules' data: which API calls to fail, slow down, drop, or rate-limit — for the
//! next N calls, or with a probability drawn from a seeded generator. The middleware that
//! applies them is `control::faults`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

/// A fault rule as given to `POST /_mock/faults`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultSpec {
    /// Match this method only (any when absent).
    #[serde(default)]
    #[schema(pattern = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", example = "POST")]
    pub method: Option<String>,
    /// Path pattern: exact, or with `*` standing for any run of characters. API paths
    /// only: a pattern starting `/_mock` is refused (faults never apply to the control API).
    #[schema(pattern = "^/(?!_mock)", example = "/sm/v1/scripts/search")]
    pub path: String,
    /// Answer with this status (the API's own error body unless `body` is given).
    #[serde(default)]
    #[schema(minimum = 200, maximum = 599)]
    pub status: Option<u16>,
    /// A body to answer with instead of the API's error (JSON value or text).
    #[serde(default)]
    #[schema(schema_with = crate::schemas::any_value)]
    pub body: Option<serde_json::Value>,
    /// Extra response headers.
    #[serde(default)]
    #[schema(schema_with = fault_headers)]
    pub headers: std::collections::BTreeMap<String, String>,
    /// Wait this long first, at most 10 minutes (then answer normally unless a status or
    /// drop is set).
    #[serde(default)]
    #[schema(schema_with = latency)]
    pub latency_ms: Option<u64>,
    /// Cut the connection instead of answering.
    #[serde(default)]
    pub drop: bool,
    /// Answer as the vendor's rate limit does: CAR 429 with `Retry-After` and
    /// `X-RateLimit-*`, CM 429 with `LIMIT_EXCEEDED`; the value is `Retry-After` in
    /// seconds (at most a day).
    #[serde(default)]
    #[schema(schema_with = retry_after)]
    pub rate_limit: Option<u64>,
    /// Apply to this many matching calls, then stop (always when absent); a spent rule
    /// stays listed with its `applied` count.
    #[serde(default)]
    #[schema(schema_with = times)]
    pub times: Option<u64>,
    /// Apply with this probability (0..=1) per matching call.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1)]
    pub probability: Option<f64>,
    /// Seed for the probability draws (same seed, same sequence).
    #[serde(default)]
    #[schema(schema_with = crate::schemas::optional_u64)]
    pub seed: Option<u64>,
}

fn bounded_u64(min: u64, max: u64) -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    crate::schemas::schema(
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::Integer, Type::Null]))
            .minimum(Some(min))
            .maximum(Some(max)),
    )
}

fn latency() -> utoipa::openapi::schema::Schema {
    bounded_u64(0, MAX_LATENCY_MS)
}

fn retry_after() -> utoipa::openapi::schema::Schema {
    bounded_u64(0, MAX_RETRY_AFTER_S)
}

fn times() -> utoipa::openapi::schema::Schema {
    bounded_u64(1, u64::MAX)
}

/// Header names are tokens; values visible ASCII, spaces and tabs.
fn fault_headers() -> utoipa::openapi::schema::Schema {
    use crate::schemas::{schema, string};
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    schema(
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property_names(Some(schema(
                string().pattern(Some("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")),
            )))
            .additional_properties(Some(schema(string().pattern(Some("^[\\t\\x20-\\x7e]*$")))))
            .examples([serde_json::json!({"X-Fault": "injected"})]),
    )
}

/// A rule as stored and listed.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Fault {
    pub id: u64,
    #[serde(flatten)]
    pub spec: FaultSpec,
    /// Times it was applied. A rule with `times` applies no more once this reaches it, and
    /// stays listed until deleted or reset.
    pub applied: u64,
    #[serde(skip)]
    #[schema(ignore)]
    rng: crate::rng::Rng,
}

/// The fault rules. Every API call asks whether one applies; with none listed the answer
/// is one atomic load, no lock.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<(u64, Vec<Fault>)>,
    /// Whether any rule is listed; written under the lock, read without it.
    any: AtomicBool,
}

/// Longest `latencyMs` (10 minutes).
pub const MAX_LATENCY_MS: u64 = 600_000;
/// Longest `rateLimit` wait (a day, in seconds).
pub const MAX_RETRY_AFTER_S: u64 = 86_400;

/// Why a fault spec was refused.
pub fn check(spec: &FaultSpec) -> Result<(), String> {
    if let Some(s) = spec.status
        && !(200..=599).contains(&s)
    {
        return Err(format!("status must be between 200 and 599 (got {s})"));
    }
    if let Some(p) = spec.probability
        && !(0.0..=1.0).contains(&p)
    {
        return Err("probability must be between 0 and 1".into());
    }
    if spec.status.is_none() && spec.latency_ms.is_none() && !spec.drop && spec.rate_limit.is_none()
    {
        return Err("a fault needs status, latencyMs, drop or rateLimit".into());
    }
    if !spec.path.starts_with('/') {
        return Err("path must start with /".into());
    }
    // The literal start of the pattern, before any `*`.
    let prefix = spec.path.split('*').next().unwrap_or_default();
    if prefix.starts_with("/_mock") {
        return Err(format!(
            "path {:?} is the control API, which faults never apply to: a fault matches API \
             paths (/auth, /sm/v1/..., /qps/rest/...)",
            spec.path
        ));
    }
    if let Some(m) = &spec.method
        && axum::http::Method::from_bytes(m.as_bytes()).is_err()
    {
        return Err(format!("method {m:?} is not an HTTP method"));
    }
    if let Some(ms) = spec.latency_ms
        && ms > MAX_LATENCY_MS
    {
        return Err(format!(
            "latencyMs must be at most {MAX_LATENCY_MS} (10 minutes; got {ms})"
        ));
    }
    if let Some(s) = spec.rate_limit
        && s > MAX_RETRY_AFTER_S
    {
        return Err(format!(
            "rateLimit must be at most {MAX_RETRY_AFTER_S} seconds (got {s})"
        ));
    }
    if spec.times == Some(0) {
        return Err("times must be at least 1 (leave it out for always)".into());
    }
    for (name, value) in &spec.headers {
        if axum::http::HeaderName::try_from(name.as_str()).is_err() {
            return Err(format!("headers: {name:?} is not a header name"));
        }
        if !value.chars().all(|c| c == '\t' || (' '..='~').contains(&c)) {
            return Err(format!(
                "headers: the value of {name:?} is not a header value"
            ));
        }
    }
    Ok(())
}

/// `*` matches any run of characters.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == path;
    }
    let mut rest = path;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            let Some(at) = rest.find(part) else {
                return false;
            };
            rest = &rest[at + part.len()..];
        }
    }
    true
}

impl Faults {
    pub fn add(&self, spec: FaultSpec) -> Fault {
        let mut guard = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        guard.0 += 1;
        let fault = Fault {
            id: guard.0,
            rng: crate::rng::Rng::new(spec.seed.unwrap_or(guard.0)),
            spec,
            applied: 0,
        };
        guard.1.push(fault.clone());
        self.any.store(true, Ordering::Release);
        fault
    }

    pub fn list(&self) -> Vec<Fault> {
        self.rules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .1
            .clone()
    }

    pub fn remove(&self, id: u64) -> bool {
        let mut guard = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        let before = guard.1.len();
        guard.1.retain(|f| f.id != id);
        self.any.store(!guard.1.is_empty(), Ordering::Release);
        guard.1.len() != before
    }

    pub fn clear(&self) {
        let mut guard = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        guard.1.clear();
        self.any.store(false, Ordering::Release);
    }

    /// The first rule that applies to this call, counted, with its id. A rule applied
    /// `times` times is spent: it applies no more but stays listed, with its count, until
    /// deleted or reset.
    pub(crate) fn take(&self, method: &str, path: &str) -> Option<(u64, FaultSpec)> {
        if !self.any.load(Ordering::Acquire) {
            return None;
        }
        let mut guard = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        let rules = &mut guard.1;
        let index = rules.iter_mut().position(|f| {
            let live = f.spec.times.is_none_or(|t| f.applied < t);
            let matches = live
                && f.spec
                    .method
                    .as_ref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(method))
                && path_matches(&f.spec.path, path);
            matches && f.spec.probability.is_none_or(|p| f.rng.unit() < p)
        })?;
        let fault = &mut rules[index];
        fault.applied += 1;
        Some((fault.id, fault.spec.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(path: &str) -> FaultSpec {
        FaultSpec {
            method: None,
            path: path.into(),
            status: Some(500),
            body: None,
            headers: Default::default(),
            latency_ms: None,
            drop: false,
            rate_limit: None,
            times: None,
            probability: None,
            seed: None,
        }
    }

    /// `take` on `faults` from another thread, while this one holds the rules' lock:
    /// whether it answered within a second.
    fn answers_while_locked(faults: &std::sync::Arc<Faults>) -> bool {
        let held = faults.rules.lock().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let asking = std::sync::Arc::clone(faults);
        let asker = std::thread::spawn(move || {
            let taken = asking.take("GET", "/sm/v1/scripts/1");
            let _ = tx.send(taken.is_some());
        });
        let answered = rx.recv_timeout(std::time::Duration::from_secs(1)).is_ok();
        drop(held);
        asker.join().unwrap();
        answered
    }

    #[test]
    fn with_no_rule_listed_a_call_asks_without_taking_the_lock() {
        let faults = std::sync::Arc::new(Faults::default());
        assert!(answers_while_locked(&faults), "no rule ever added");
        let added = faults.add(rule("/qps/*"));
        assert!(
            !answers_while_locked(&faults),
            "a rule listed: the lock is taken"
        );
        assert!(faults.remove(added.id));
        assert!(answers_while_locked(&faults), "the last rule removed");
        faults.add(rule("/qps/*"));
        faults.clear();
        assert!(answers_while_locked(&faults), "the rules cleared");
    }
}
