//! The store's connections: one writer, and beside it a few readers.
//!
//! SQLite in WAL mode lets readers run beside the writer and beside each other, each on the
//! snapshot it began with, so one long search never holds up another request (a store read
//! is still bounded by its time budget). WAL needs a file: a `--db` store has one, and the
//! default store is a *private* file in the temporary folder, made for this process alone,
//! written without syncing and removed when the store closes. Where no such file can be
//! made (a read-only file system), the store is in memory with its one connection, and
//! reads take turns with everything else as they did before.
//!
//! Writes always go through the one writer, so they never meet a busy database.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tokio::sync::Semaphore;

use super::{StoreError, StoreResult};

/// SQLite virtual-machine steps between checks of the time budget.
const PROGRESS_STEPS: std::os::raw::c_int = 10_000;

/// Page cache of each reader (KiB): pages a reader does not hold come from the OS cache.
const READER_CACHE_KIB: i64 = 8_192;

/// The connections of one store.
pub(super) struct Connections {
    writer: Mutex<Connection>,
    readers: Option<Readers>,
    /// Declared last, so it is dropped after every connection is closed.
    private: Option<PrivateFile>,
}

/// Where a store's data lives and how many readers it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct StoreKind {
    /// `private` (a file of this process's own, the default), `file` (`--db`), or `memory`
    /// (one connection; when no private file could be made).
    pub kind: &'static str,
    /// Reader connections beside the writer (0: reads take turns with writes).
    pub readers: usize,
}

/// Idle reader connections, and one permit per connection.
struct Readers {
    idle: Mutex<Vec<Connection>>,
    permits: Semaphore,
    count: usize,
}

impl Connections {
    /// One connection and no readers (in memory, or a file being built).
    pub(super) fn single(writer: Connection) -> Connections {
        Connections {
            writer: Mutex::new(writer),
            readers: None,
            private: None,
        }
    }

    /// `writer` on the WAL file at `path`, and `count` readers opened beside it by `open`.
    pub(super) fn with_readers(
        writer: Connection,
        path: &Path,
        count: usize,
        open: impl Fn(&Path) -> StoreResult<Connection>,
    ) -> StoreResult<Connections> {
        let idle = (0..count)
            .map(|_| {
                let conn = open(path)?;
                conn.pragma_update(None, "query_only", "ON")?;
                conn.pragma_update(None, "cache_size", -READER_CACHE_KIB)?;
                Ok(conn)
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Connections {
            writer: Mutex::new(writer),
            readers: Some(Readers {
                permits: Semaphore::new(idle.len()),
                count: idle.len(),
                idle: Mutex::new(idle),
            }),
            private: None,
        })
    }

    /// Tie the private file to these connections: it is removed when they are dropped.
    pub(super) fn owning(mut self, file: PrivateFile) -> Connections {
        self.private = Some(file);
        self
    }

    /// What these connections are, as `/_mock/health` shows it.
    pub(super) fn kind(&self) -> StoreKind {
        let kind = match (&self.private, &self.readers) {
            (Some(_), _) => "private",
            (None, Some(_)) => "file",
            (None, None) => "memory",
        };
        StoreKind {
            kind,
            readers: self.readers.as_ref().map_or(0, |r| r.count),
        }
    }

    /// The writer connection, once no one else holds these connections.
    pub(super) fn into_writer(self) -> Connection {
        self.writer.into_inner().unwrap_or_else(|e| e.into_inner())
    }

    /// Wait (without blocking a thread) until a reader is free, if there are readers.
    pub(super) async fn reserve_reader(&self) -> StoreResult<()> {
        if let Some(readers) = &self.readers {
            readers
                .permits
                .acquire()
                .await
                .map_err(|e| StoreError::Worker(e.to_string()))?
                .forget();
        }
        Ok(())
    }

    /// Run `f` on the writer (blocking), within `budget` if one is given.
    pub(super) fn on_writer<R>(
        &self,
        budget: Option<Duration>,
        f: impl FnOnce(&mut Connection) -> StoreResult<R>,
    ) -> StoreResult<R> {
        let mut guard = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        bounded(&mut guard, budget, f)
    }

    /// Run `f` on the reader that [`Connections::reserve_reader`] kept, in one read
    /// transaction (one snapshot for all its statements), within `budget` — or on the writer
    /// when there are no readers.
    pub(super) fn on_reader<R>(
        &self,
        budget: Duration,
        f: impl FnOnce(&Connection) -> StoreResult<R>,
    ) -> StoreResult<R> {
        let Some(readers) = &self.readers else {
            return self.on_writer(Some(budget), |conn| f(conn));
        };
        let mut lease = Lease {
            conn: readers.idle.lock().unwrap_or_else(|e| e.into_inner()).pop(),
            readers,
        };
        let conn = lease
            .conn
            .as_mut()
            .ok_or_else(|| StoreError::Worker("no reader was free".into()))?;
        bounded(conn, Some(budget), |conn| {
            let snapshot = conn.unchecked_transaction()?;
            f(&snapshot)
        })
    }
}

/// A reader taken from the idle list; put back (and its permit returned) when dropped,
/// even when the work panicked.
struct Lease<'a> {
    conn: Option<Connection>,
    readers: &'a Readers,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.readers
                .idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(conn);
        }
        self.readers.permits.add_permits(1);
    }
}

/// Run `f` with SQLite's progress handler stopping it past `budget` (measured from now,
/// when the connection is ours, not from when the call queued).
fn bounded<R>(
    conn: &mut Connection,
    budget: Option<Duration>,
    f: impl FnOnce(&mut Connection) -> StoreResult<R>,
) -> StoreResult<R> {
    let started = Instant::now();
    let limit = budget.unwrap_or(Duration::MAX);
    conn.progress_handler(
        PROGRESS_STEPS,
        budget.map(|_| move || started.elapsed() > limit),
    )?;
    let result = f(conn);
    let _ = conn.progress_handler(PROGRESS_STEPS, None::<fn() -> bool>);
    match result {
        Err(StoreError::Sqlite(e))
            if e.sqlite_error_code() == Some(rusqlite::ErrorCode::OperationInterrupted) =>
        {
            Err(StoreError::TooSlow(limit))
        }
        other => other,
    }
}

/// The private file behind a default store: `qualys-mock-<pid>-<random>.db` in the
/// temporary folder, removed (with its `-wal` and `-shm`) when dropped. Files left by a
/// process that no longer runs (killed with SIGKILL) are removed when the next one starts.
pub(super) struct PrivateFile {
    path: PathBuf,
}

const PRIVATE_PREFIX: &str = "qualys-mock-";

impl PrivateFile {
    pub(super) fn new() -> std::io::Result<PrivateFile> {
        let dir = std::env::temp_dir();
        sweep(&dir);
        let path = dir.join(format!(
            "{PRIVATE_PREFIX}{}-{}.db",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        // Made here, with no one else's content: SQLite opens it as an empty database.
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        Ok(PrivateFile { path })
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PrivateFile {
    fn drop(&mut self) {
        remove_with_sidecars(&self.path);
    }
}

fn remove_with_sidecars(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
}

/// Remove private files whose process is gone (Linux, where `/proc` tells).
fn sweep(dir: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(PRIVATE_PREFIX))
            .and_then(|rest| rest.strip_suffix(".db"))
            .and_then(|rest| rest.split_once('-'))
            .filter(|(_, nonce)| nonce.len() == 32 && nonce.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            remove_with_sidecars(&entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_private_file_is_removed_with_its_sidecars_and_a_dead_process_files_are_swept() {
        let file = PrivateFile::new().unwrap();
        let path = file.path().to_owned();
        let wal = PathBuf::from(format!("{}-wal", path.display()));
        std::fs::write(&wal, b"x").unwrap();
        drop(file);
        assert!(!path.exists() && !wal.exists());

        // A pid that cannot be running (above Linux's pid_max).
        let dir = std::env::temp_dir();
        let stale = dir.join(format!(
            "{PRIVATE_PREFIX}4294967295-0123456789abcdef0123456789abcdef.db"
        ));
        let unrelated = dir.join(format!("{PRIVATE_PREFIX}notes.db"));
        std::fs::write(&stale, b"").unwrap();
        std::fs::write(&unrelated, b"").unwrap();
        let mine = PrivateFile::new().unwrap();
        assert_eq!(stale.exists(), !Path::new("/proc/self").exists());
        assert!(unrelated.exists() && mine.path().exists());
        let _ = std::fs::remove_file(&unrelated);
        let _ = std::fs::remove_file(&stale);
    }
}
