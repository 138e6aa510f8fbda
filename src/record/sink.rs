//! The unfinished folder: seed files written a page at a time, and the state that lets a
//! stopped run go on where it stopped.
//!
//! A seed file is a JSON array with one record a line. After each page the file is flushed
//! to disk and the state file (`.record-state.json`, written aside and renamed) notes its
//! length in bytes, its record count and the cursor of the next page. A resumed run cuts
//! each file back to the noted length and asks for the noted page: whatever was written
//! after the last checkpoint is written again, once.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::RecordError;

pub(crate) const STATE_FILE: &str = ".record-state.json";

/// Where one seed file stands.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FileState {
    /// The next page: CM's last id, or CAR's page number.
    pub(crate) cursor: i64,
    pub(crate) records: u64,
    pub(crate) bytes: u64,
    pub(crate) done: bool,
}

/// A user seen in the recorded objects (users are written last, from these).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserSeen {
    pub(crate) username: Option<String>,
    pub(crate) name: Option<String>,
}

/// The run's state, saved at every checkpoint.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RunState {
    /// The options that shape the output; a resume with other ones is refused.
    pub(crate) options: String,
    /// The pseudonymisation key (hex), when on. Deleted with this file at the end.
    pub(crate) key: Option<String>,
    /// When the recording began (the manifest's `recordedAt`).
    pub(crate) started: String,
    pub(crate) files: BTreeMap<String, FileState>,
    /// Users by their (recorded) UUID.
    pub(crate) users: BTreeMap<String, UserSeen>,
    /// Which ruleset each rule belongs to (rulesets list their rules; rules do not say).
    pub(crate) rule_rulesets: BTreeMap<i64, i64>,
    pub(crate) portal_version: Option<String>,
}

impl RunState {
    pub(crate) fn load(dir: &Path) -> Result<Option<RunState>, RecordError> {
        let path = dir.join(STATE_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                RecordError::Usage(format!(
                    "{} is not a recorder state file ({e}); remove the folder to start afresh",
                    path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&path, e)),
        }
    }

    /// Write the state aside and rename it into place (never half-written).
    pub(crate) fn save(&self, dir: &Path) -> Result<(), RecordError> {
        let path = dir.join(STATE_FILE);
        let aside = dir.join(format!("{STATE_FILE}.new"));
        let bytes = serde_json::to_vec(self)
            .map_err(|e| RecordError::Usage(format!("cannot write the state: {e}")))?;
        let mut file = File::create(&aside).map_err(|e| io(&aside, e))?;
        file.write_all(&bytes).map_err(|e| io(&aside, e))?;
        file.sync_all().map_err(|e| io(&aside, e))?;
        std::fs::rename(&aside, &path).map_err(|e| io(&path, e))
    }

    pub(crate) fn file(&self, name: &str) -> FileState {
        self.files.get(name).cloned().unwrap_or_default()
    }
}

pub(crate) fn io(path: &Path, e: std::io::Error) -> RecordError {
    RecordError::Io(format!("{}: {e}", path.display()))
}

/// One seed file being written.
pub(crate) struct Sink {
    path: PathBuf,
    file: std::io::BufWriter<File>,
    records: u64,
    bytes: u64,
}

impl Sink {
    /// Open `name` in `dir` at the state's checkpoint: a new array when nothing was
    /// written, else the file cut back to the checkpoint's length.
    pub(crate) fn open(dir: &Path, name: &str, at: &FileState) -> Result<Sink, RecordError> {
        let path = dir.join(name);
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| io(&path, e))?;
        let bytes = if at.bytes == 0 {
            file.set_len(0).map_err(|e| io(&path, e))?;
            file.write_all(b"[").map_err(|e| io(&path, e))?;
            1
        } else {
            file.set_len(at.bytes).map_err(|e| io(&path, e))?;
            at.bytes
        };
        file.seek(SeekFrom::Start(bytes))
            .map_err(|e| io(&path, e))?;
        Ok(Sink {
            path,
            file: std::io::BufWriter::new(file),
            records: if at.bytes == 0 { 0 } else { at.records },
            bytes,
        })
    }

    /// Append one record (one line).
    pub(crate) fn push<T: Serialize>(&mut self, record: &T) -> Result<(), RecordError> {
        let text = serde_json::to_string(record)
            .map_err(|e| RecordError::Usage(format!("cannot write a record: {e}")))?;
        let sep: &[u8] = if self.records == 0 { b"\n" } else { b",\n" };
        self.file
            .write_all(sep)
            .and_then(|()| self.file.write_all(text.as_bytes()))
            .map_err(|e| io(&self.path, e))?;
        self.records += 1;
        self.bytes += (sep.len() + text.len()) as u64;
        Ok(())
    }

    pub(crate) fn records(&self) -> u64 {
        self.records
    }

    /// Everything written so far is on disk; the returned state notes it.
    pub(crate) fn checkpoint(&mut self, cursor: i64) -> Result<FileState, RecordError> {
        self.file.flush().map_err(|e| io(&self.path, e))?;
        self.file
            .get_ref()
            .sync_data()
            .map_err(|e| io(&self.path, e))?;
        Ok(FileState {
            cursor,
            records: self.records,
            bytes: self.bytes,
            done: false,
        })
    }

    /// Close the array.
    pub(crate) fn finish(mut self) -> Result<FileState, RecordError> {
        let tail: &[u8] = if self.records == 0 { b"]\n" } else { b"\n]\n" };
        self.file.write_all(tail).map_err(|e| io(&self.path, e))?;
        let mut state = self.checkpoint(0)?;
        state.done = true;
        Ok(state)
    }
}

/// The records of a finished or checkpointed seed file, one line at a time (what a resumed
/// run needs to know of earlier object types: their ids).
pub(crate) fn read_records(
    dir: &Path,
    name: &str,
    mut each: impl FnMut(serde_json::Value),
) -> Result<(), RecordError> {
    let path = dir.join(name);
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io(&path, e)),
    };
    for line in BufReader::new(file).lines() {
        let line = line.map_err(|e| io(&path, e))?;
        let line = line.trim().trim_end_matches(',');
        if line.starts_with('{') {
            let value = serde_json::from_str(line).map_err(|e| {
                RecordError::Io(format!(
                    "{}: a record cannot be read back: {e}",
                    path.display()
                ))
            })?;
            each(value);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_cut_back_to_a_checkpoint_ends_like_one_written_in_one_go() {
        let dir = tempfile::tempdir().unwrap();
        let mut one = Sink::open(dir.path(), "a.json", &FileState::default()).unwrap();
        for n in 0..5 {
            one.push(&serde_json::json!({"id": n})).unwrap();
        }
        one.finish().unwrap();

        let mut two = Sink::open(dir.path(), "b.json", &FileState::default()).unwrap();
        two.push(&serde_json::json!({"id": 0})).unwrap();
        two.push(&serde_json::json!({"id": 1})).unwrap();
        let at = two.checkpoint(2).unwrap();
        two.push(&serde_json::json!({"id": 2})).unwrap();
        drop(two); // stopped after the checkpoint: record 2 is written again
        let mut again = Sink::open(dir.path(), "b.json", &at).unwrap();
        for n in 2..5 {
            again.push(&serde_json::json!({"id": n})).unwrap();
        }
        again.finish().unwrap();

        let a = std::fs::read(dir.path().join("a.json")).unwrap();
        let b = std::fs::read(dir.path().join("b.json")).unwrap();
        assert_eq!(a, b);
        let parsed: Vec<serde_json::Value> = serde_json::from_slice(&a).unwrap();
        assert_eq!(parsed.len(), 5);
        let mut ids = vec![];
        read_records(dir.path(), "a.json", |v| {
            ids.push(v["id"].as_i64().unwrap())
        })
        .unwrap();
        assert_eq!(ids, [0, 1, 2, 3, 4]);
    }

    #[test]
    fn an_empty_file_is_an_empty_array() {
        let dir = tempfile::tempdir().unwrap();
        Sink::open(dir.path(), "e.json", &FileState::default())
            .unwrap()
            .finish()
            .unwrap();
        let parsed: Vec<serde_json::Value> =
            serde_json::from_slice(&std::fs::read(dir.path().join("e.json")).unwrap()).unwrap();
        assert!(parsed.is_empty());
    }
}
