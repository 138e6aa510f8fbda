//! A stubs folder read whole: `DIR/mappings/**/*.json` (in path order), bodies from
//! `DIR/__files/`. One refused mapping refuses the folder: nothing half-loads.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::mapping::{Context, Mapping, Refusal};
use super::{MAX_MAPPINGS, check_target};

/// Largest mapping file read.
pub const MAX_MAPPING_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// Deepest folder nesting under `mappings/` read.
const MAX_DEPTH: usize = 16;

fn refused(source: &str, message: impl Into<String>) -> Refusal {
    Refusal {
        source: source.to_owned(),
        key: String::new(),
        message: message.into(),
    }
}

/// Every `.json` file under `dir`, sorted by path.
fn json_files(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<(), Refusal> {
    let shown = dir.display().to_string();
    if depth > MAX_DEPTH {
        return Err(refused(
            &shown,
            format!("nests deeper than {MAX_DEPTH} folders"),
        ));
    }
    let entries = std::fs::read_dir(dir).map_err(|e| refused(&shown, e.to_string()))?;
    for entry in entries {
        let entry = entry.map_err(|e| refused(&shown, e.to_string()))?;
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(|e| refused(&shown, e.to_string()))?;
        if kind.is_dir() {
            json_files(&path, depth + 1, out)?;
        } else if path
            .extension()
            .is_some_and(|x| x.eq_ignore_ascii_case("json"))
        {
            out.push(path);
            if out.len() > MAX_MAPPINGS {
                return Err(refused(
                    &shown,
                    format!("holds more than {MAX_MAPPINGS} files"),
                ));
            }
        }
    }
    Ok(())
}

/// The mappings of the folder `dir`, or the first refusal.
pub fn load_dir(dir: &Path) -> Result<Vec<Mapping>, Refusal> {
    let mappings_dir = dir.join("mappings");
    if !mappings_dir.is_dir() {
        return Err(refused(
            &dir.display().to_string(),
            "has no mappings/ folder (a stubs folder holds mappings/*.json and __files/)",
        ));
    }
    let files_dir = dir.join("__files");
    let mut files = Vec::new();
    json_files(&mappings_dir, 0, &mut files)?;
    files.sort();
    let mut mappings: Vec<Mapping> = Vec::new();
    for file in files {
        let source = file
            .strip_prefix(dir)
            .unwrap_or(&file)
            .to_string_lossy()
            .replace('\\', "/");
        let size = std::fs::metadata(&file)
            .map_err(|e| refused(&source, e.to_string()))?
            .len();
        if size > MAX_MAPPING_FILE_BYTES {
            return Err(refused(
                &source,
                format!("is larger than {MAX_MAPPING_FILE_BYTES} bytes"),
            ));
        }
        let text = std::fs::read_to_string(&file).map_err(|e| refused(&source, e.to_string()))?;
        let json: Value = serde_json::from_str(&text)
            .map_err(|e| refused(&source, format!("is not JSON: {e}")))?;
        let cx = Context {
            source: &source,
            files: Some(&files_dir),
        };
        let at = |key: String, message: String| Refusal {
            source: source.clone(),
            key,
            message,
        };
        let many = json.as_object().and_then(|o| o.get("mappings"));
        let read: Vec<Mapping> = match many {
            Some(list) => {
                if json.as_object().is_some_and(|o| o.len() > 1) {
                    let other = json
                        .as_object()
                        .and_then(|o| o.keys().find(|k| *k != "mappings").cloned())
                        .unwrap_or_default();
                    return Err(at(
                        other,
                        "not supported beside mappings (supported here: mappings)".into(),
                    ));
                }
                let list = list
                    .as_array()
                    .ok_or_else(|| at("mappings".into(), "must be an array of mappings".into()))?;
                let mut read = Vec::with_capacity(list.len());
                for (i, one) in list.iter().enumerate() {
                    read.push(
                        Mapping::read_at(one, &format!("mappings[{i}]"), &cx)
                            .map_err(|(k, m)| at(k, m))?,
                    );
                }
                read
            }
            None => vec![Mapping::read(&json, &cx)?],
        };
        for m in read {
            check_target(&m).map_err(|reason| refused(&source, reason))?;
            if let Some(first) = mappings.iter().find(|o| o.id == m.id) {
                return Err(refused(
                    &source,
                    format!(
                        "the id {} is also the id of a mapping in {}",
                        m.id, first.source
                    ),
                ));
            }
            mappings.push(m);
            if mappings.len() > MAX_MAPPINGS {
                return Err(refused(
                    &source,
                    format!("the folder holds more than {MAX_MAPPINGS} mappings"),
                ));
            }
        }
    }
    Ok(mappings)
}
