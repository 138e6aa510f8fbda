//! The request journal's data: what each API call was and how it was answered, in a ring
//! of fixed size, so a soak run does not grow memory. The middleware that fills it is
//! `control::journal`.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// One recorded call.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub seq: u64,
    /// When, by the store clock (epoch ms).
    pub at_ms: i64,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// The answer's status; null when no answer was sent (a fault dropped the connection).
    pub status: Option<u16>,
    pub latency_ms: f64,
    /// The user the caller's credentials were verified as; none when they were not (no
    /// credentials, wrong ones, a forged token).
    pub user: Option<String>,
    /// The request body, cut at the journal's body limit.
    pub body: Option<String>,
    pub body_truncated: bool,
    /// The fault rule that shaped the answer, when one did.
    pub fault: Option<AppliedFault>,
    /// Keys of the JSON body the endpoint does not take and ignored (absent when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored_keys: Vec<String>,
    /// An error answer's message (CAR `message`, control `error`, QPS `responseCode:
    /// errorMessage`, the classic `TEXT`); absent for a success.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What answered a call outside the emulated APIs: `stub:<id>` for a stub mapping,
    /// `proxy` for the platform behind `--proxy-unmatched` (absent for the emulated APIs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answered_by: Option<String>,
}

/// Put in a response's extensions by a surface whose errors can carry a success status
/// (QPS answers most errors with 200): this answer is a success, so the journal need not
/// read its body for an error message.
#[derive(Debug, Clone, Copy)]
pub struct NoErrorInBody;

/// Put in a response's extensions by whatever answered a call outside the emulated APIs
/// (a stub, the proxy); the journal copies it into the entry's `answeredBy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnsweredBy(pub String);

/// Where a handler's body reader notes the keys it ignored, for the journal entry of its
/// request: the journal layer puts one in each request's extensions and reads it back.
#[derive(Debug, Clone, Default)]
pub struct IgnoredKeys(std::sync::Arc<Mutex<Vec<String>>>);

impl IgnoredKeys {
    pub fn note(&self, key: &str) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(key.to_owned());
    }

    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// A fault rule that shaped an answer: which, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppliedFault {
    /// The rule's id (`GET /_mock/faults`).
    pub id: u64,
    /// What it did: `drop` (no answer), `rateLimit`, `status` (its status and body), or
    /// `latency` (a delay, then the real answer).
    #[schema(inline)]
    pub action: FaultAction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum FaultAction {
    Drop,
    RateLimit,
    Status,
    Latency,
}

/// A `seq` given as a filter: a whole number from 0 to 2^63 − 1 (the document's `int64`
/// with minimum 0), so a client's 64-bit signed integer always fits and nothing else is taken.
fn int64_seq<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let value = Option::<u64>::deserialize(d)?;
    match value {
        Some(n) if n > i64::MAX as u64 => Err(serde::de::Error::custom(format!(
            "after must be between 0 and {} (got {n})",
            i64::MAX
        ))),
        other => Ok(other),
    }
}

/// What `GET /_mock/requests` filters on, and `DELETE /_mock/requests` deletes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Filter {
    pub method: Option<String>,
    /// A path prefix.
    pub path: Option<String>,
    pub status: Option<u16>,
    /// Only entries at or after this time (epoch ms).
    pub since: Option<i64>,
    /// Only entries recorded after the one with this `seq` (the journal's own order, which a
    /// moved clock does not change).
    #[serde(default, deserialize_with = "int64_seq")]
    pub after: Option<u64>,
}

impl Filter {
    /// Whether `e` passes every filter given.
    pub fn matches(&self, e: &Entry) -> bool {
        self.method
            .as_ref()
            .is_none_or(|m| e.method.eq_ignore_ascii_case(m))
            && self
                .path
                .as_ref()
                .is_none_or(|p| e.path.starts_with(p.as_str()))
            && self.status.is_none_or(|s| e.status == Some(s))
            && self.since.is_none_or(|s| e.at_ms >= s)
            && self.after.is_none_or(|a| e.seq > a)
    }
}

/// An entry's request body as the journal keeps it until the entry is read.
#[derive(Debug, Clone)]
pub(crate) enum KeptBody {
    /// Already as shown (a handler that read credentials in it said how).
    Shown(String),
    /// As read, its first bytes: shown — its secrets redacted — only when the entry is
    /// read, since most entries never are.
    Read {
        content_type: Option<String>,
        bytes: Vec<u8>,
    },
}

impl KeptBody {
    fn shown(self) -> String {
        match self {
            KeptBody::Shown(text) => text,
            KeptBody::Read {
                content_type,
                bytes,
            } => {
                crate::http::redact_body(content_type.as_deref(), &String::from_utf8_lossy(&bytes))
            }
        }
    }
}

/// An entry in the ring, its body apart.
type Kept = (Entry, Option<KeptBody>);

/// The ring of entries.
#[derive(Debug)]
pub struct Journal {
    /// The entries (their bodies apart, as kept), and the `seq` the next one gets.
    entries: Mutex<(VecDeque<Kept>, u64)>,
    capacity: usize,
    pub(crate) body_limit: usize,
}

impl Journal {
    pub fn new(capacity: usize, body_limit: usize) -> Journal {
        Journal {
            entries: Mutex::new((VecDeque::with_capacity(capacity.min(4096)), 1)),
            capacity,
            body_limit,
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Add `entry` (its `body` none) with its request body as kept.
    pub(crate) fn push(&self, mut entry: Entry, body: Option<KeptBody>) {
        if self.capacity == 0 {
            return;
        }
        let mut guard = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let (entries, next_seq) = &mut *guard;
        entry.seq = *next_seq;
        *next_seq += 1;
        while entries.len() >= self.capacity {
            entries.pop_front();
        }
        entries.push_back((entry, body));
    }

    /// The entries `f` matches, oldest first, their bodies as shown.
    pub fn list(&self, f: &Filter) -> Vec<Entry> {
        let matching: Vec<Kept> = {
            let guard = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            guard
                .0
                .iter()
                .filter(|(e, _)| f.matches(e))
                .cloned()
                .collect()
        };
        // Shown outside the lock: the requests being recorded meanwhile do not wait.
        matching
            .into_iter()
            .map(|(mut entry, body)| {
                entry.body = body.map(KeptBody::shown);
                entry
            })
            .collect()
    }

    /// Delete the entries `f` matches (every entry with an empty filter); how many went.
    pub fn remove(&self, f: &Filter) -> usize {
        let mut guard = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let entries = &mut guard.0;
        let before = entries.len();
        entries.retain(|(e, _)| !f.matches(e));
        before - entries.len()
    }

    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .clear();
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .len()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
