//! The store's connections: one writer, and beside it a few readers.
//!
//! SQLite in WAL mode lets readers run beside the writer and beside each other, each on the
//! snapshot it began with, so one long search never holds up another request (a store read
//! is still bounded by its time budget). WAL needs a file: a `--db` store has one, and the
//! default store is a *private* file in the temporary folder ([`super::private`]). Where no
//! such file can be made (a read-only file system), the store is in memory with its one
//! connection, and reads take turns with everything else.
//!
//! Writes always go through the one writer, so they never meet a busy database. A call
//! waits for its connection — a reader, or the writer's turn — in async code
//! ([`Connections::read_turn`], [`Connections::write_turn`]) before it takes a blocking
//! thread, so the blocking threads a store needs are bounded by its connections
//! ([`Connections::MAX`]), and no thread ever waits for a connection.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::private::PrivateFile;
use super::{StoreError, StoreResult};

/// SQLite virtual-machine steps between checks of the time budget.
const PROGRESS_STEPS: std::os::raw::c_int = 10_000;

/// Page cache of each reader (KiB): pages a reader does not hold come from the OS cache.
const READER_CACHE_KIB: i64 = 8_192;

/// Opens one more connection to a store's file (a reader, or a reader's replacement).
pub(super) type Open = fn(&Path) -> StoreResult<Connection>;

/// The connections of one store.
pub(super) struct Connections {
    writer: Mutex<Connection>,
    /// The writer's turn: one permit.
    writer_turn: Arc<Semaphore>,
    /// Opened once the store holds its start-up data ([`Connections::open_readers`]); until
    /// then (and for ever in memory) reads take the writer's turn.
    readers: OnceLock<Readers>,
    /// The data generation: bumped by every write ([`Connections::write`]) once its work
    /// is committed, so what was read before it is known to be stale ([`super::cache`]).
    generation: AtomicU64,
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

/// What a read may cost, which decides the readers it may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Width {
    /// A lookup by key, bounded by the rows it names: any reader.
    Point,
    /// A search, which may scan a table until its time budget: all readers but one, so a
    /// full set of searches never holds up a lookup.
    Scan,
}

/// Idle reader connections, one permit per reader, and the permits of searches.
struct Readers {
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
    /// One fewer than the readers (at least one): a search takes one of these before its
    /// reader, so one reader is always left for lookups.
    scans: Arc<Semaphore>,
    /// Readers open (a reader that cannot be reopened after a failure is gone for good).
    live: AtomicUsize,
    path: PathBuf,
    open: Open,
}

/// A call's turn on a connection, held until its work is done (dropping it gives the turn
/// to the next call).
pub(super) enum Turn {
    /// A reader's permit, and a search's permit when the read is one.
    Reader(
        OwnedSemaphorePermit,
        #[allow(dead_code, reason = "held, never read")] Option<OwnedSemaphorePermit>,
    ),
    Writer(#[allow(dead_code, reason = "held, never read")] OwnedSemaphorePermit),
}

impl Connections {
    /// The most connections (so blocking threads) one store uses at once: the writer and
    /// at most this many readers besides.
    pub(crate) const MAX: usize = 9;

    /// One connection and no readers yet (in memory, or a file being built or opened).
    pub(super) fn single(writer: Connection) -> Connections {
        Connections {
            writer: Mutex::new(writer),
            writer_turn: Arc::new(Semaphore::new(1)),
            readers: OnceLock::new(),
            generation: AtomicU64::new(0),
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

    /// Put the file at `path` in WAL mode and open `count` readers (at most
    /// [`Connections::MAX`] − 1) beside the writer with `open` (once; later calls do
    /// nothing). The writer is held meanwhile, so nothing is written while the journal mode
    /// changes. Where the file cannot be in WAL mode, the store stays on its one connection.
    pub(super) fn open_readers(&self, path: &Path, count: usize, open: Open) -> StoreResult<()> {
        let writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        if self.readers.get().is_some() {
            return Ok(());
        }
        let mode: String =
            writer.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(
                "{} cannot be in WAL mode (journal mode {mode}): its reads take turns with \
                 its writes on one connection",
                path.display()
            );
            return Ok(());
        }
        let idle = (0..count.min(Connections::MAX - 1))
            .map(|_| open_reader(path, open))
            .collect::<StoreResult<Vec<_>>>()?;
        let _ = self.readers.set(Readers {
            permits: Arc::new(Semaphore::new(idle.len())),
            scans: Arc::new(Semaphore::new(idle.len().saturating_sub(1).max(1))),
            live: AtomicUsize::new(idle.len()),
            idle: Mutex::new(idle),
            path: path.to_owned(),
            open,
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
            readers: readers.map_or(0, Readers::live),
        }
    }

    /// The writer connection, once no one else holds these connections.
    pub(super) fn into_writer(self) -> Connection {
        self.writer.into_inner().unwrap_or_else(|e| e.into_inner())
    }

    /// Wait for the writer's turn.
    pub(super) async fn write_turn(&self) -> StoreResult<OwnedSemaphorePermit> {
        Arc::clone(&self.writer_turn)
            .acquire_owned()
            .await
            .map_err(|e| StoreError::Worker(e.to_string()))
    }

    /// Wait for a free reader that a read of `width` may take — or, while there are no
    /// readers, for the writer's turn. A search first waits for a search's permit, so
    /// searches queue among themselves and never for the reader kept for lookups; a
    /// lookup waits only for lookups and the searches already running.
    pub(super) async fn read_turn(&self, width: Width) -> StoreResult<Turn> {
        let worker = |e: tokio::sync::AcquireError| StoreError::Worker(e.to_string());
        match self.readers.get().filter(|r| r.live() > 0) {
            Some(readers) => {
                let scan = match width {
                    Width::Scan => Some(
                        Arc::clone(&readers.scans)
                            .acquire_owned()
                            .await
                            .map_err(worker)?,
                    ),
                    Width::Point => None,
                };
                let reader = Arc::clone(&readers.permits)
                    .acquire_owned()
                    .await
                    .map_err(worker)?;
                Ok(Turn::Reader(reader, scan))
            }
            None => self.write_turn().await.map(Turn::Writer),
        }
    }

    /// The data generation now: it moves on with every write.
    pub(super) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// The write path (blocking; the caller holds the writer's turn): run `f` on the
    /// writer without a time budget, then bump the data generation — after the work is
    /// committed, so a read that sees the new generation sees the work; and whether it
    /// succeeded or not, so no write can leave a cached read looking current.
    pub(super) fn write<R>(
        &self,
        f: impl FnOnce(&mut Connection) -> StoreResult<R>,
    ) -> StoreResult<R> {
        let out = self.on_writer(None, f);
        self.generation.fetch_add(1, Ordering::SeqCst);
        out
    }

    /// Run `f` on the writer (blocking; the caller holds the writer's turn), within
    /// `budget` if one is given. Writes go through [`Connections::write`].
    fn on_writer<R>(
        &self,
        budget: Option<Duration>,
        f: impl FnOnce(&mut Connection) -> StoreResult<R>,
    ) -> StoreResult<R> {
        let mut guard = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        bounded(&mut guard, budget, f)
    }

    /// Run `f` with `turn` (blocking): on a reader in one read transaction (one snapshot
    /// for all its statements), or on the writer; within `budget` either way.
    pub(super) fn on_reader<R>(
        &self,
        turn: Turn,
        budget: Duration,
        f: impl FnOnce(&Connection) -> StoreResult<R>,
    ) -> StoreResult<R> {
        let readers = match (&turn, self.readers.get()) {
            (Turn::Reader(..), Some(readers)) => readers,
            _ => return self.on_writer(Some(budget), |conn| f(conn)),
        };
        let mut lease = Lease {
            conn: readers.idle.lock().unwrap_or_else(|e| e.into_inner()).pop(),
            readers,
            turn: Some(turn),
        };
        // A permit always finds its reader; this is only a guard.
        let Some(conn) = lease.conn.as_mut() else {
            return self.on_writer(Some(budget), |conn| f(conn));
        };
        let out = bounded(conn, Some(budget), |conn| {
            conn.prepare_cached("BEGIN")?.execute([])?;
            f(conn)
        });
        // Ended with the time budget's handler gone, so a finished read is never reported
        // as too slow at its COMMIT.
        end_snapshot(conn)?;
        out
    }
}

impl Readers {
    fn live(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }
}

/// A reader connection to `path`: read-only, with its own page cache, and plans that do
/// not depend on the values bound.
///
/// Without the query planner stability guarantee (QPSG), SQLite marks a statement to be
/// planned again for the values bound to it wherever a value might change the plan — a
/// `LIMIT ?`, an `= ?` no index serves, a `LIKE ?` — and a statement taken back from the
/// cache (which clears its bindings) is then parsed and planned anew on every run, so
/// every search paid for its statements' preparation each time. The searches' `LIKE`
/// patterns all begin with `%` (`CONTAINS`), which no index range serves, so no plan is
/// lost to the guarantee.
fn open_reader(path: &Path, open: Open) -> StoreResult<Connection> {
    let conn = open(path)?;
    conn.pragma_update(None, "query_only", "ON")?;
    conn.pragma_update(None, "cache_size", -READER_CACHE_KIB)?;
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(conn)
}

/// End a reader's read transaction, if one is open.
fn end_snapshot(conn: &Connection) -> StoreResult<()> {
    if !conn.is_autocommit() {
        conn.prepare_cached("COMMIT")?.execute([])?;
    }
    Ok(())
}

/// A reader taken from the idle list with its turn; put back when dropped, even when the
/// work panicked (its transaction ended first), and only then is the turn given up.
struct Lease<'a> {
    conn: Option<Connection>,
    readers: &'a Readers,
    turn: Option<Turn>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        // A reader that cannot end its transaction is closed, and a new one opened in its
        // place; if none can be, the store has one reader (and one permit) fewer.
        let usable = if end_snapshot(&conn).is_ok() || conn.execute_batch("ROLLBACK").is_ok() {
            Some(conn)
        } else {
            drop(conn);
            open_reader(&self.readers.path, self.readers.open).ok()
        };
        match usable {
            Some(conn) => self
                .readers
                .idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(conn),
            None => {
                self.readers.live.fetch_sub(1, Ordering::Relaxed);
                if let Some(Turn::Reader(permit, _)) = self.turn.take() {
                    permit.forget();
                }
            }
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
        Err(StoreError::Sqlite(e))
            if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull) =>
        {
            Err(StoreError::Full)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(path: &Path) -> StoreResult<Connection> {
        Ok(Connection::open(path)?)
    }

    /// A private file with a table `t` of one row, WAL and `count` readers.
    fn private_with_readers(count: usize) -> Connections {
        let file = PrivateFile::new().unwrap();
        let writer = open(file.path()).unwrap();
        writer
            .execute_batch("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);")
            .unwrap();
        let conns = Connections::private(writer, file);
        let path = conns.private_path().unwrap().to_owned();
        conns.open_readers(&path, count, open).unwrap();
        conns
    }

    /// A reader's turn, as `Store::read` waits for it.
    fn turn(conns: &Connections) -> Turn {
        let permits = &conns.readers.get().unwrap().permits;
        Turn::Reader(Arc::clone(permits).try_acquire_owned().unwrap(), None)
    }

    fn rows(conn: &Connection) -> StoreResult<i64> {
        Ok(conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?)
    }

    #[test]
    fn a_read_sees_one_snapshot_while_a_write_commits_beside_it() {
        let conns = Arc::new(private_with_readers(2));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let reader = std::thread::spawn({
            let conns = Arc::clone(&conns);
            move || {
                conns.on_reader(turn(&conns), Duration::from_secs(5), |conn| {
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
        assert_eq!(
            conns
                .on_reader(turn(&conns), Duration::from_secs(5), rows)
                .unwrap(),
            2
        );
    }

    /// A cached statement run again with other values — a limit, a value no index serves
    /// — is not parsed and planned again on a reader.
    #[test]
    fn a_reader_runs_a_cached_statement_again_without_preparing_it_again() {
        let conns = private_with_readers(1);
        let sql = "SELECT x FROM t WHERE x = ?1 LIMIT ?2";
        for (x, limit) in [(1, 1), (2, 5), (1, 0), (7, 3)] {
            conns
                .on_reader(turn(&conns), Duration::from_secs(5), |conn| {
                    let mut stmt = conn.prepare_cached(sql)?;
                    let rows = stmt
                        .query_map([x, limit], |r| r.get::<_, i64>(0))?
                        .collect::<rusqlite::Result<Vec<_>>>()?;
                    assert!(rows.len() <= limit as usize);
                    Ok(())
                })
                .unwrap();
        }
        let reprepared = conns
            .on_reader(turn(&conns), Duration::from_secs(5), |conn| {
                Ok(conn
                    .prepare_cached(sql)?
                    .get_status(rusqlite::StatementStatus::RePrepare))
            })
            .unwrap();
        assert_eq!(reprepared, 0);
    }

    #[test]
    fn readers_are_read_only_and_come_back_after_a_panic() {
        let conns = Arc::new(private_with_readers(2));
        let write = conns.on_reader(turn(&conns), Duration::from_secs(5), |conn| {
            Ok(conn.execute("INSERT INTO t VALUES (3)", [])?)
        });
        assert!(write.is_err(), "{write:?}");
        for _ in 0..3 {
            let conns = Arc::clone(&conns);
            let panicked = std::thread::spawn(move || {
                conns.on_reader(
                    turn(&conns),
                    Duration::from_secs(5),
                    |conn| -> StoreResult<()> {
                        rows(conn)?;
                        panic!("a read that panics mid-transaction")
                    },
                )
            })
            .join();
            assert!(panicked.is_err());
        }
        // Both readers are back, idle and out of their transactions.
        let idle = conns.readers.get().unwrap().idle.lock().unwrap();
        assert_eq!(idle.len(), 2);
        assert!(idle.iter().all(Connection::is_autocommit));
        drop(idle);
        let on_reader = conns.on_reader(turn(&conns), Duration::from_secs(5), |conn| {
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
}
