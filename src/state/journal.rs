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
    pub status: u16,
    pub latency_ms: f64,
    /// The caller's user, as its credentials name it (not verified here).
    pub user: Option<String>,
    /// The request body, cut at the journal's body limit.
    pub body: Option<String>,
    pub body_truncated: bool,
}

/// What `GET /_mock/requests` filters on.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    pub method: Option<String>,
    /// A path prefix.
    pub path: Option<String>,
    pub status: Option<u16>,
    /// Only entries at or after this time (epoch ms).
    pub since: Option<i64>,
    /// Only entries recorded after the one with this `seq` (the journal's own order, which a
    /// moved clock does not change).
    pub after: Option<u64>,
}

/// The ring of entries.
#[derive(Debug)]
pub struct Journal {
    entries: Mutex<VecDeque<Entry>>,
    next_seq: Mutex<u64>,
    capacity: usize,
    pub(crate) body_limit: usize,
}

impl Journal {
    pub fn new(capacity: usize, body_limit: usize) -> Journal {
        Journal {
            entries: Mutex::new(VecDeque::with_capacity(capacity.min(4096))),
            next_seq: Mutex::new(1),
            capacity,
            body_limit,
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub(crate) fn push(&self, mut entry: Entry) {
        if self.capacity == 0 {
            return;
        }
        let mut seq = self.next_seq.lock().unwrap_or_else(|e| e.into_inner());
        entry.seq = *seq;
        *seq += 1;
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        while entries.len() >= self.capacity {
            entries.pop_front();
        }
        entries.push_back(entry);
    }

    pub fn list(&self, f: &Filter) -> Vec<Entry> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .iter()
            .filter(|e| {
                f.method
                    .as_ref()
                    .is_none_or(|m| e.method.eq_ignore_ascii_case(m))
            })
            .filter(|e| {
                f.path
                    .as_ref()
                    .is_none_or(|p| e.path.starts_with(p.as_str()))
            })
            .filter(|e| f.status.is_none_or(|s| e.status == s))
            .filter(|e| f.since.is_none_or(|s| e.at_ms >= s))
            .filter(|e| f.after.is_none_or(|a| e.seq > a))
            .cloned()
            .collect()
    }

    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
