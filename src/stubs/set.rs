//! The set of stub mappings a server holds: those `--stubs` loaded (which a reset brings
//! back) and those added at run time, in the order they are tried. Data only: what answers
//! a request from it sits above the state that holds it.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use serde::Serialize;

use super::emulated;
use super::mapping::{self, Mapping};

/// Most mappings a server holds (loaded and added together).
pub const MAX_MAPPINGS: usize = 10_000;

/// The mappings in force, in the order they are tried, and those the server loaded (which
/// a reset brings back).
#[derive(Debug, Default)]
pub struct Stubs {
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// The stubs folder, whose `__files/` runtime mappings may name.
    dir: Option<PathBuf>,
    loaded: Vec<Entry>,
    current: Arc<Vec<Entry>>,
    next_seq: u64,
}

/// A mapping and when it was added (newer wins among equal priorities).
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    seq: u64,
    pub(crate) mapping: Arc<Mapping>,
}

/// How `GET /_mock/stubs` shows a mapping.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StubView {
    pub id: String,
    pub name: Option<String>,
    /// The file it was loaded from (under the stubs folder), or `runtime`.
    #[schema(example = "mappings/vm-detection.json")]
    pub source: String,
    pub priority: i64,
    /// The mapping as given (with its `id`).
    #[schema(value_type = Object)]
    pub mapping: serde_json::Value,
}

impl From<&Mapping> for StubView {
    fn from(m: &Mapping) -> StubView {
        StubView {
            id: m.id.clone(),
            name: m.name.clone(),
            source: m.source.clone(),
            priority: m.priority,
            mapping: m.json.clone(),
        }
    }
}

/// Why a runtime change was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Refused(String),
    NotFound(String),
    Taken(String),
}

fn sort(entries: &mut [Entry]) {
    entries.sort_by(|a, b| {
        a.mapping
            .priority
            .cmp(&b.mapping.priority)
            .then(b.seq.cmp(&a.seq))
    });
}

/// Refuse what no stub may be: a mapping aimed at an emulated path.
pub(crate) fn check_target(mapping: &Mapping) -> Result<(), String> {
    match emulated::refusal(&mapping.request.url) {
        Some(reason) => Err(reason),
        None => Ok(()),
    }
}

impl Stubs {
    /// Start with `mappings` (read by [`load_dir`] from `dir`) as the loaded set.
    pub fn install(&self, dir: Option<PathBuf>, mappings: Vec<Mapping>) {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        let loaded: Vec<Entry> = mappings
            .into_iter()
            .enumerate()
            .map(|(i, m)| Entry {
                seq: i as u64,
                mapping: Arc::new(m),
            })
            .collect();
        inner.next_seq = loaded.len() as u64;
        let mut current = loaded.clone();
        sort(&mut current);
        inner.loaded = loaded;
        inner.current = Arc::new(current);
        inner.dir = dir;
    }

    pub(crate) fn snapshot(&self) -> Arc<Vec<Entry>> {
        self.inner
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .current
            .clone()
    }

    /// Every mapping in force, in the order they are tried.
    pub fn list(&self) -> Vec<StubView> {
        self.snapshot()
            .iter()
            .map(|e| StubView::from(&*e.mapping))
            .collect()
    }

    pub fn get(&self, id: &str) -> Option<StubView> {
        self.snapshot()
            .iter()
            .find(|e| e.mapping.id == id)
            .map(|e| StubView::from(&*e.mapping))
    }

    /// Read a mapping sent to the control API.
    pub fn read(&self, json: &serde_json::Value) -> Result<Mapping, Change> {
        let dir = self
            .inner
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .dir
            .clone();
        let files = dir.map(|d| d.join("__files"));
        let mapping = Mapping::read(
            json,
            &mapping::Context {
                source: "runtime",
                files: files.as_deref(),
            },
        )
        .map_err(|r| Change::Refused(r.to_string()))?;
        check_target(&mapping).map_err(|reason| Change::Refused(format!("runtime: {reason}")))?;
        Ok(mapping)
    }

    /// `POST /_mock/stubs`.
    pub fn add(&self, mapping: Mapping) -> Result<StubView, Change> {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if inner.current.iter().any(|e| e.mapping.id == mapping.id) {
            return Err(Change::Taken(format!(
                "a stub with id {} exists (PUT /_mock/stubs/{} replaces it)",
                mapping.id, mapping.id
            )));
        }
        if inner.current.len() >= MAX_MAPPINGS {
            return Err(Change::Refused(format!(
                "the server holds {MAX_MAPPINGS} stubs, the most it takes"
            )));
        }
        let view = StubView::from(&mapping);
        let seq = inner.next_seq;
        inner.next_seq += 1;
        let mut current = (*inner.current).clone();
        current.push(Entry {
            seq,
            mapping: Arc::new(mapping),
        });
        sort(&mut current);
        inner.current = Arc::new(current);
        Ok(view)
    }

    /// `PUT /_mock/stubs/{id}`: the mapping with `id` replaced, keeping its place among
    /// equal priorities.
    pub fn replace(&self, id: &str, json: &serde_json::Value) -> Result<StubView, Change> {
        for key in ["id", "uuid"] {
            if let Some(given) = json.get(key)
                && given.as_str() != Some(id)
            {
                return Err(Change::Refused(format!(
                    "runtime: {key}: {given} is not the path's id {id}"
                )));
            }
        }
        let mut mapping = self.read(json)?;
        mapping.id = id.to_owned();
        if let Some(map) = mapping.json.as_object_mut() {
            map.remove("uuid");
            map.insert("id".into(), serde_json::Value::String(id.to_owned()));
        }
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        let mut current = (*inner.current).clone();
        let Some(entry) = current.iter_mut().find(|e| e.mapping.id == id) else {
            return Err(Change::NotFound(format!("no stub {id}")));
        };
        let view = StubView::from(&mapping);
        entry.mapping = Arc::new(mapping);
        sort(&mut current);
        inner.current = Arc::new(current);
        Ok(view)
    }

    /// `DELETE /_mock/stubs/{id}`.
    pub fn remove(&self, id: &str) -> Result<(), Change> {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if !inner.current.iter().any(|e| e.mapping.id == id) {
            return Err(Change::NotFound(format!("no stub {id}")));
        }
        let current: Vec<Entry> = inner
            .current
            .iter()
            .filter(|e| e.mapping.id != id)
            .cloned()
            .collect();
        inner.current = Arc::new(current);
        Ok(())
    }

    /// Every runtime change undone: the loaded set, as the server started
    /// (`DELETE /_mock/stubs`, and a full reset).
    pub fn restore(&self) {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        let mut current = inner.loaded.clone();
        sort(&mut current);
        inner.current = Arc::new(current);
    }
}
