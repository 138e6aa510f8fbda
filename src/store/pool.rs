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
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::{StoreError, StoreResult};

/// SQLite virtual-machine steps between checks of the time budget.
const PROGRESS_STEPS: std::os::raw::c_int = 10_000;

/// Page cache of each reader (KiB): pages a reader does not hold come from the OS cache.
const READER_CACHE_KIB: i64 = 8_192;

/// The connections of one store.
pub(super) struct Connections {
    writer: Mutex<Connection>,
    /// Opened once the store holds its start-up data ([`Connections::open_readers`]); until
    /// then (and for ever in memory) reads use the writer.
    readers: OnceLock<Readers>,
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

/// Idle reader connections; a read waits on `freed` while none is idle.
struct Readers {
    idle: Mutex<Vec<Connection>>,
    freed: Condvar,
    count: usize,
}

impl Connections {
    /// One connection and no readers yet (in memory, or a file being built or opened).
    pub(super) fn single(writer: Connection) -> Connections {
        Connections {
            writer: Mutex::new(writer),
            readers: OnceLock::new(),
            private: None,
        }
    }

    /// The writer of a private file, which is removed when these connections are dropped.
    pub(super) fn private(writer: Connection, file: PrivateFile) -> Connections {
        Connections {
            private: Some(file),
            ..Connections::single(writer)
        }
    }

    /// The private file's path, if the store has one.
    pub(super) fn private_path(&self) -> Option<&Path> {
        self.private.as_ref().map(PrivateFile::path)
    }

    /// Put the file at `path` in WAL mode and open `count` readers beside the writer with
    /// `open` (once; later calls do nothing). The writer is held meanwhile, so nothing is
    /// written while the journal mode changes.
    pub(super) fn open_readers(
        &self,
        path: &Path,
        count: usize,
        open: impl Fn(&Path) -> StoreResult<Connection>,
    ) -> StoreResult<()> {
        let writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        if self.readers.get().is_some() {
            return Ok(());
        }
        writer.pragma_update(None, "journal_mode", "WAL")?;
        let idle = (0..count)
            .map(|_| {
                let conn = open(path)?;
                conn.pragma_update(None, "query_only", "ON")?;
                conn.pragma_update(None, "cache_size", -READER_CACHE_KIB)?;
                Ok(conn)
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let _ = self.readers.set(Readers {
            count: idle.len(),
            idle: Mutex::new(idle),
            freed: Condvar::new(),
        });
        Ok(())
    }

    /// What these connections are, as `/_mock/health` shows it.
    pub(super) fn kind(&self) -> StoreKind {
        let readers = self.readers.get();
        let kind = match (&self.private, readers) {
            (Some(_), _) => "private",
            (None, Some(_)) => "file",
            (None, None) => "memory",
        };
        StoreKind {
            kind,
            readers: readers.map_or(0, |r| r.count),
        }
    }

    /// The writer connection, once no one else holds these connections.
    pub(super) fn into_writer(self) -> Connection {
        self.writer.into_inner().unwrap_or_else(|e| e.into_inner())
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

    /// Run `f` on a reader (blocking; waiting for one to be free), in one read transaction
    /// (one snapshot for all its statements), within `budget` — or on the writer when there
    /// are no readers.
    pub(super) fn on_reader<R>(
        &self,
        budget: Duration,
        f: impl FnOnce(&Connection) -> StoreResult<R>,
    ) -> StoreResult<R> {
        let Some(readers) = self.readers.get() else {
            return self.on_writer(Some(budget), |conn| f(conn));
        };
        let mut lease = Lease {
            conn: readers.take(),
            readers,
        };
        // No reader is left only if every one failed to end a transaction and was closed.
        let Some(conn) = lease.conn.as_mut() else {
            return self.on_writer(Some(budget), |conn| f(conn));
        };
        bounded(conn, Some(budget), |conn| {
            conn.prepare_cached("BEGIN")?.execute([])?;
            let out = f(conn);
            end_snapshot(conn)?;
            out
        })
    }
}

impl Readers {
    /// An idle reader, waiting while all are busy; `None` when none is left at all.
    fn take(&self) -> Option<Connection> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(conn) = idle.pop() {
                return Some(conn);
            }
            if self.count == 0 {
                return None;
            }
            idle = self.freed.wait(idle).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// End a reader's read transaction, if one is open.
fn end_snapshot(conn: &Connection) -> StoreResult<()> {
    if !conn.is_autocommit() {
        conn.prepare_cached("COMMIT")?.execute([])?;
    }
    Ok(())
}

/// A reader taken from the idle list; put back when dropped, even when the work panicked
/// (its transaction ended first).
struct Lease<'a> {
    conn: Option<Connection>,
    readers: &'a Readers,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        // A reader that cannot end its transaction is closed rather than reused.
        if let Some(conn) = self.conn.take()
            && (end_snapshot(&conn).is_ok() || conn.execute_batch("ROLLBACK").is_ok())
        {
            self.readers
                .idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(conn);
            self.readers.freed.notify_one();
        }
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

    /// A private file with a table `t` of one row, WAL and `count` readers.
    fn private_with_readers(count: usize) -> Connections {
        let file = PrivateFile::new().unwrap();
        let open = |path: &Path| -> StoreResult<Connection> { Ok(Connection::open(path)?) };
        let writer = open(file.path()).unwrap();
        writer
            .execute_batch("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);")
            .unwrap();
        let conns = Connections::private(writer, file);
        let path = conns.private_path().unwrap().to_owned();
        conns.open_readers(&path, count, open).unwrap();
        conns
    }

    fn rows(conn: &Connection) -> StoreResult<i64> {
        Ok(conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?)
    }

    #[test]
    fn a_read_sees_one_snapshot_while_a_write_commits_beside_it() {
        let conns = std::sync::Arc::new(private_with_readers(2));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let reader = std::thread::spawn({
            let conns = std::sync::Arc::clone(&conns);
            move || {
                conns.on_reader(Duration::from_secs(5), |conn| {
                    let before = rows(conn)?;
                    ready_tx.send(()).unwrap();
                    done_rx.recv().unwrap();
                    Ok((before, rows(conn)?))
                })
            }
        });
        ready_rx.recv().unwrap();
        // The writer commits while the read is open, without waiting for it.
        conns
            .on_writer(None, |conn| {
                Ok(conn.execute("INSERT INTO t VALUES (2)", [])?)
            })
            .unwrap();
        done_tx.send(()).unwrap();
        assert_eq!(reader.join().unwrap().unwrap(), (1, 1));
        // The next read sees the write.
        assert_eq!(conns.on_reader(Duration::from_secs(5), rows).unwrap(), 2);
    }

    #[test]
    fn readers_are_read_only_and_come_back_after_a_panic() {
        let conns = std::sync::Arc::new(private_with_readers(2));
        let write = conns.on_reader(Duration::from_secs(5), |conn| {
            Ok(conn.execute("INSERT INTO t VALUES (3)", [])?)
        });
        assert!(write.is_err(), "{write:?}");
        for _ in 0..3 {
            let conns = std::sync::Arc::clone(&conns);
            let panicked = std::thread::spawn(move || {
                conns.on_reader(Duration::from_secs(5), |conn| -> StoreResult<()> {
                    rows(conn)?;
                    panic!("a read that panics mid-transaction")
                })
            })
            .join();
            assert!(panicked.is_err());
        }
        // Both readers are back, idle and out of their transactions.
        let idle = conns.readers.get().unwrap().idle.lock().unwrap();
        assert_eq!(idle.len(), 2);
        assert!(idle.iter().all(Connection::is_autocommit));
        drop(idle);
        let on_reader = conns.on_reader(Duration::from_secs(5), |conn| {
            Ok(conn.query_row("PRAGMA query_only", [], |r| r.get::<_, i64>(0))?)
        });
        assert_eq!(on_reader.unwrap(), 1);
        assert_eq!(
            conns.kind(),
            StoreKind {
                kind: "private",
                readers: 2
            }
        );
    }

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
