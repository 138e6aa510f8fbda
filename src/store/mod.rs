//! The store: the only code that touches SQLite.
//!
//! [`Store`] is a cheap, cloneable handle on one writer connection and a few readers beside
//! it ([`pool`]). Every query runs on tokio's blocking pool, so SQLite never blocks an async
//! worker: reads through [`Store::read`] on a reader, writes through [`Store::transaction`]
//! on the writer. Prepared statements are cached per connection.
//!
//! Each object type has its own submodule with its row types and queries; the rest of the
//! crate sees only typed async methods on [`Store`] and never builds SQL. Every query takes
//! the caller's customer id and filters on it.

mod accounts;
mod baseline;
pub mod car;
pub mod cm;
mod columns;
mod objects;
mod pool;
mod runtime;
mod search;
pub mod seed;

use std::path::Path;
use std::sync::Arc;

use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, OpenFlags};

pub use accounts::{Caller, RecordCounts};
pub use pool::StoreKind;
pub use runtime::{NewTenant, Refused, Tenant};
pub use seed::{Seed, SeedError};

/// Bumped with every change to `schema.sql` (or to the baseline's bookkeeping).
pub const SCHEMA_VERSION: i64 = 3;
const SCHEMA: &str = include_str!("schema.sql");

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Seed(#[from] SeedError),
    #[error("{0}")]
    Schema(String),
    #[error("the store worker stopped: {0}")]
    Worker(String),
    /// The work ran past its time budget and was stopped (nothing of it was kept).
    #[error("the query ran longer than {0:?} and was stopped")]
    TooSlow(std::time::Duration),
}

/// How long one call may hold the store (see [`Store::call`]).
pub const TIME_BUDGET: std::time::Duration = std::time::Duration::from_secs(5);

pub type StoreResult<T> = Result<T, StoreError>;

/// A handle on the store's connections. Clone it freely.
#[derive(Clone)]
pub struct Store {
    conns: Arc<pool::Connections>,
    /// How long one read may hold its connection.
    budget: std::time::Duration,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("kind", &self.conns.kind())
            .finish_non_exhaustive()
    }
}

/// How many readers a file store opens beside its writer.
fn reader_count() -> usize {
    std::thread::available_parallelism()
        .map_or(2, |n| n.get() * 2)
        .clamp(4, 8)
}

/// Loads start-up data inside [`Store::initialize`]'s transaction, in as many parts as
/// the caller likes (a generator streams its alerts in chunks).
pub struct Loader<'a> {
    tx: &'a rusqlite::Transaction<'a>,
}

impl Loader<'_> {
    /// Insert the records of `seed` (checked by the caller).
    pub fn load(&self, seed: &Seed) -> StoreResult<()> {
        seed.insert(self.tx)
    }
}

/// Where a store's baseline came from, as `/_mock/health` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    /// `embedded default`, `seed folder <path>`, or the `generate` command line.
    pub source: String,
    /// When the baseline was made (ISO 8601, from the server's clock).
    pub created: String,
}

impl Store {
    /// A new, empty in-memory store, with one connection for reads and writes alike:
    /// [`Store::initialize`] it before use.
    pub fn open_memory() -> StoreResult<Store> {
        let conn = Connection::open_in_memory()?;
        configure(&conn, false)?;
        Ok(Store::wrap(conn))
    }

    /// A new, empty private store (the default): a file of this process's own in the
    /// temporary folder, in WAL mode with readers beside the writer, written without syncing
    /// and removed when the store closes ([`pool`]). Where no such file can be made, an
    /// in-memory store ([`Store::open_memory`]). [`Store::initialize`] it before use.
    pub fn open_private() -> StoreResult<Store> {
        match Store::open_private_file() {
            Ok(store) => Ok(store),
            Err(e) => {
                tracing::warn!(
                    "no private store file in {} ({}); the store is in memory, and its reads \
                     take turns with its writes",
                    std::env::temp_dir().display(),
                    crate::logging::cause(&e)
                );
                Store::open_memory()
            }
        }
    }

    fn open_private_file() -> StoreResult<Store> {
        let file = pool::PrivateFile::new().map_err(|e| StoreError::Schema(e.to_string()))?;
        let open = |path: &Path| -> StoreResult<Connection> {
            let conn = Connection::open(path)?;
            configure(&conn, true)?;
            // Nothing outlives the process: no syncing.
            conn.pragma_update(None, "synchronous", "OFF")?;
            Ok(conn)
        };
        let writer = open(file.path())?;
        // Large seeds are held here too: a bounded cache, the rest in the OS's.
        writer.pragma_update(None, "cache_size", -65_536)?;
        let conns = pool::Connections::with_readers(writer, file.path(), reader_count(), open)?;
        Ok(Store::from_connections(conns.owning(file)))
    }

    /// Open the store in a file, if there is one: `None` when the file does not exist or
    /// is an empty database (then [`Store::create_file`] makes it). A complete store of this
    /// schema version is opened with its data and baseline; anything else — another
    /// program's database, another schema version, a store whose first seeding never
    /// finished, not a database at all — is refused with a message that names the file and
    /// says what to do.
    pub fn open_file(path: &Path) -> StoreResult<Option<Store>> {
        let shown = path.display();
        let refuse = |why: String| StoreError::Schema(format!("cannot use --db {shown}: {why}"));
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(refuse(format!("cannot read it: {e}"))),
            Ok(m) if m.is_dir() => return Err(refuse("it is a folder".to_owned())),
            Ok(m) if m.len() == 0 => return Ok(None),
            Ok(_) => {}
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| refuse(explain(&e)))?;
        configure(&conn, true).map_err(|e| match e {
            StoreError::Sqlite(e) => refuse(explain(&e)),
            other => other,
        })?;
        let (version, tables, complete) = probe(&conn).map_err(|e| refuse(explain(&e)))?;
        match (version, tables, complete) {
            (0, 0, _) => Ok(None),
            (0, _, _) => Err(refuse(format!(
                "it is a SQLite database of another program ({tables} tables, none of them a \
                 qualys-mock store); name a new file, and qualys-mock creates its store there"
            ))),
            (SCHEMA_VERSION, _, true) => {
                let open = |path: &Path| -> StoreResult<Connection> {
                    let conn = Connection::open_with_flags(path, flags)?;
                    configure(&conn, true)?;
                    Ok(conn)
                };
                let conns = pool::Connections::with_readers(conn, path, reader_count(), open)
                    .map_err(|e| match e {
                        StoreError::Sqlite(e) => refuse(explain(&e)),
                        other => other,
                    })?;
                Ok(Some(Store::from_connections(conns)))
            }
            (SCHEMA_VERSION, _, false) => Err(refuse(
                "its first seeding never finished (the process was stopped while it ran); \
                 delete the file and start again"
                    .to_owned(),
            )),
            (other, _, _) => Err(refuse(format!(
                "it holds a qualys-mock store of schema version {other}; this build uses \
                 version {SCHEMA_VERSION}. Delete the file (or name another) to start afresh."
            ))),
        }
    }

    /// Make a new store in a file: built aside (`<file>.partial`, without a journal, fast)
    /// with [`Store::initialize`], then renamed into place. A process stopped on the way
    /// leaves no file at `path`, so the next start builds it again.
    pub async fn create_file<F>(path: &Path, provenance: Provenance, load: F) -> StoreResult<Store>
    where
        F: FnOnce(&Loader<'_>) -> StoreResult<()> + Send + 'static,
    {
        let shown = path.display().to_string();
        let refuse =
            move |why: String| StoreError::Schema(format!("cannot create --db {shown}: {why}"));
        let mut aside = path.as_os_str().to_owned();
        aside.push(".partial");
        let aside = std::path::PathBuf::from(aside);
        for stale in [aside.clone(), aside.with_extension("partial-journal")] {
            match std::fs::remove_file(&stale) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(refuse(format!("cannot remove {}: {e}", stale.display())));
                }
                _ => {}
            }
        }
        {
            let conn = Connection::open(&aside).map_err(|e| refuse(explain(&e)))?;
            configure(&conn, false)?;
            // Nothing to protect while building: the file is renamed into place only once
            // it is whole.
            conn.pragma_update(None, "journal_mode", "OFF")?;
            conn.pragma_update(None, "synchronous", "OFF")?;
            conn.pragma_update(None, "cache_size", -131_072)?;
            let store = Store::wrap(conn);
            store.initialize(provenance, load).await?;
            store.close()?;
        }
        std::fs::rename(&aside, path).map_err(|e| refuse(format!("cannot rename: {e}")))?;
        Store::open_file(path)?.ok_or_else(|| refuse("the new file vanished".to_owned()))
    }

    /// Close the connection (the last handle only), with the file in WAL mode.
    fn close(self) -> StoreResult<()> {
        let conn = Arc::try_unwrap(self.conns)
            .map_err(|_| StoreError::Worker("the store is still in use".into()))?
            .into_writer();
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.close().map_err(|(_, e)| StoreError::Sqlite(e))
    }

    /// Create the schema, load the start-up data with `load`, record where it came from and
    /// make it the baseline — all in one transaction, so a store that was stopped half-way
    /// holds nothing at all (and is created afresh next time), never a part.
    pub async fn initialize<F>(&self, provenance: Provenance, load: F) -> StoreResult<()>
    where
        F: FnOnce(&Loader<'_>) -> StoreResult<()> + Send + 'static,
    {
        self.call_unbounded(move |conn| {
            let tx = conn.transaction()?;
            // Tables first, indexes after the data: building an index over loaded rows is
            // several times faster than keeping it up to date row by row.
            let (tables, indexes) = schema_parts();
            tx.execute_batch(&tables)?;
            baseline::install(&tx)?;
            load(&Loader { tx: &tx })?;
            tx.execute_batch(&indexes)?;
            for (key, value) in [
                ("source", provenance.source.as_str()),
                ("created", provenance.created.as_str()),
                ("complete", "1"),
            ] {
                tx.execute(
                    "INSERT INTO store_meta (key, value) VALUES (?1, ?2)",
                    [key, value],
                )?;
            }
            baseline::start_tracking(&tx)?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// [`Store::initialize`] with one seed.
    pub async fn initialize_with_seed(
        &self,
        seed: Seed,
        provenance: Provenance,
    ) -> StoreResult<()> {
        self.initialize(provenance, move |loader| loader.load(&seed))
            .await
    }

    /// A new private store whose baseline is `seed` (provenance from the real clock).
    pub async fn private_with(seed: Seed) -> StoreResult<Store> {
        let store = Store::open_private()?;
        let provenance = seed.provenance(&crate::clock::Clock::real());
        store.initialize_with_seed(seed, provenance).await?;
        Ok(store)
    }

    /// Where the baseline came from.
    pub async fn provenance(&self) -> StoreResult<Provenance> {
        self.read(|conn| {
            let get = |key: &str| -> rusqlite::Result<String> {
                conn.query_row("SELECT value FROM store_meta WHERE key = ?1", [key], |r| {
                    r.get(0)
                })
            };
            Ok(Provenance {
                source: get("source")?,
                created: get("created")?,
            })
        })
        .await
    }

    /// Where the data lives and how many readers run beside the writer.
    pub fn kind(&self) -> StoreKind {
        self.conns.kind()
    }

    fn wrap(conn: Connection) -> Store {
        Store::from_connections(pool::Connections::single(conn))
    }

    fn from_connections(conns: pool::Connections) -> Store {
        Store {
            conns: Arc::new(conns),
            budget: TIME_BUDGET,
        }
    }

    /// Read with `f` on a reader connection, on the blocking pool, in one snapshot: writes
    /// committed before the call began are seen, none committed while it runs.
    ///
    /// The work has [`TIME_BUDGET`]: SQLite's progress handler interrupts it past that, and
    /// the call fails with [`StoreError::TooSlow`] (each surface answers its own error), so
    /// no request holds a connection for long. A reader is awaited, not blocked on.
    async fn read<F, R>(&self, f: F) -> StoreResult<R>
    where
        F: FnOnce(&Connection) -> StoreResult<R> + Send + 'static,
        R: Send + 'static,
    {
        self.conns.reserve_reader().await?;
        let (conns, budget) = (Arc::clone(&self.conns), self.budget);
        tokio::task::spawn_blocking(move || conns.on_reader(budget, f))
            .await
            .map_err(|e| StoreError::Worker(e.to_string()))?
    }

    /// Run `f` on the writer connection, on the blocking pool, without a time budget:
    /// loading and resetting, whose size the operator chose, and writes, which are bounded
    /// by what their requests may hold and are never interrupted.
    async fn call_unbounded<F, R>(&self, f: F) -> StoreResult<R>
    where
        F: FnOnce(&mut Connection) -> StoreResult<R> + Send + 'static,
        R: Send + 'static,
    {
        let conns = Arc::clone(&self.conns);
        tokio::task::spawn_blocking(move || conns.on_writer(None, f))
            .await
            .map_err(|e| StoreError::Worker(e.to_string()))?
    }

    /// Run `f` inside one transaction: all of it is stored, or none. Writes are bounded by
    /// what their requests may hold, and are not interrupted.
    async fn transaction<F, R>(&self, f: F) -> StoreResult<R>
    where
        F: FnOnce(&rusqlite::Transaction<'_>) -> StoreResult<R> + Send + 'static,
        R: Send + 'static,
    {
        self.call_unbounded(move |conn| {
            let tx = conn.transaction()?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })
        .await
    }

    /// Back to the baseline: everything, or one customer (see [`baseline`]).
    pub async fn reset(&self, customer: Option<i64>) -> StoreResult<()> {
        self.call_unbounded(move |conn| baseline::reset(conn, customer))
            .await
    }

    /// Rows changed since the baseline (or the last reset).
    pub async fn changed_rows(&self) -> StoreResult<i64> {
        self.read(baseline::changed_rows).await
    }

    /// Flush a file database's WAL into the main file (used at shutdown).
    pub async fn checkpoint(&self) -> StoreResult<()> {
        self.call_unbounded(|conn| {
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
            Ok(())
        })
        .await
    }
}

/// A filter value as SQLite takes it.
fn to_sql(v: &crate::query::SqlValue) -> rusqlite::types::Value {
    match v {
        crate::query::SqlValue::Int(i) => rusqlite::types::Value::Integer(*i),
        crate::query::SqlValue::Text(s) => rusqlite::types::Value::Text(s.clone()),
    }
}

/// A count or offset as SQLite's integer (saturating).
fn sql_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn configure(conn: &Connection, file: bool) -> StoreResult<()> {
    conn.pragma_update(None, "foreign_keys", "ON")?;
    if file {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
    }
    conn.set_prepared_statement_cache_capacity(128);
    // QQL's tokenised phrase match, for `field:value` on text fields.
    conn.create_scalar_function(
        "qql_match",
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let text: Option<String> = ctx.get(0)?;
            let phrase =
                ctx.get_or_create_aux(1, |q| q.as_str().map(crate::query::text::Phrase::new))?;
            Ok(text.is_some_and(|t| phrase.matches(&t)))
        },
    )?;
    Ok(())
}

/// The schema's statements without its indexes, and its `CREATE INDEX` statements (one
/// line each in `schema.sql`).
fn schema_parts() -> (String, String) {
    let (mut tables, mut indexes) = (String::new(), String::new());
    for line in SCHEMA.lines() {
        let part = if line.starts_with("CREATE INDEX") {
            &mut indexes
        } else {
            &mut tables
        };
        part.push_str(line);
        part.push('\n');
    }
    (tables, indexes)
}

/// Schema version, number of tables, and whether the first seeding finished.
fn probe(conn: &Connection) -> rusqlite::Result<(i64, i64, bool)> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let tables: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
        [],
        |r| r.get(0),
    )?;
    let has_meta: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'store_meta'",
        [],
        |r| r.get(0),
    )?;
    let complete = has_meta == 1
        && conn.query_row(
            "SELECT count(*) FROM store_meta WHERE key = 'complete'",
            [],
            |r| r.get::<_, i64>(0),
        )? == 1;
    Ok((version, tables, complete))
}

/// What SQLite's error means for a `--db` path, in words.
fn explain(e: &rusqlite::Error) -> String {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => {
            "the file is not a SQLite database (name a new file, or delete this one)".to_owned()
        }
        Some(rusqlite::ErrorCode::CannotOpen) => {
            "it cannot be opened or created (does its folder exist, and may this user write \
             there?)"
                .to_owned()
        }
        Some(rusqlite::ErrorCode::ReadOnly) | Some(rusqlite::ErrorCode::PermissionDenied) => {
            "it is read-only for this user".to_owned()
        }
        Some(rusqlite::ErrorCode::DatabaseBusy) | Some(rusqlite::ErrorCode::DatabaseLocked) => {
            "another process holds it locked (is another qualys-mock using it?)".to_owned()
        }
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provenance() -> Provenance {
        Provenance {
            source: "test".into(),
            created: "2026-01-01T00:00:00Z".into(),
        }
    }

    #[tokio::test]
    async fn a_call_past_its_time_budget_is_stopped_and_the_store_goes_on() {
        let mut store = Store::private_with(Seed::embedded().unwrap())
            .await
            .unwrap();
        store.budget = std::time::Duration::from_millis(100);
        let endless = store
            .read(|conn| {
                Ok(conn.query_row(
                    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) \
                     SELECT count(*) FROM c",
                    [],
                    |r| r.get::<_, i64>(0),
                )?)
            })
            .await;
        assert!(
            matches!(endless, Err(StoreError::TooSlow(_))),
            "{endless:?}"
        );
        assert_eq!(store.record_counts().await.unwrap()["customers"], 2);
    }

    /// On a private store a read that runs to its budget holds up neither a short read nor a
    /// write; on the one connection of a memory store both wait for it (so the test can fail).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_long_read_holds_up_neither_reads_nor_writes_beside_it() {
        use std::sync::atomic::{AtomicBool, Ordering};
        for private in [true, false] {
            let mut store = if private {
                Store::open_private().unwrap()
            } else {
                Store::open_memory().unwrap()
            };
            store
                .initialize_with_seed(Seed::embedded().unwrap(), provenance())
                .await
                .unwrap();
            assert_eq!(
                store.kind().kind,
                if private { "private" } else { "memory" }
            );
            store.budget = std::time::Duration::from_millis(1500);
            let started = Arc::new(AtomicBool::new(false));
            let long = tokio::spawn({
                let (store, started) = (store.clone(), Arc::clone(&started));
                async move {
                    store
                        .read(move |conn| {
                            started.store(true, Ordering::SeqCst);
                            Ok(conn.query_row(
                                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) \
                                 SELECT count(*) FROM c",
                                [],
                                |r| r.get::<_, i64>(0),
                            )?)
                        })
                        .await
                }
            });
            while !started.load(Ordering::SeqCst) {
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
            let before = tokio::time::Instant::now();
            assert_eq!(store.record_counts().await.unwrap()["customers"], 2);
            store.reset(None).await.unwrap();
            let short = before.elapsed();
            assert_eq!(
                !long.is_finished(),
                private,
                "private {private}: the short read and the write took {short:?}"
            );
            let long = long.await.unwrap();
            assert!(matches!(long, Err(StoreError::TooSlow(_))), "{long:?}");
        }
    }

    #[tokio::test]
    async fn initialize_applies_the_schema_and_versions_it() {
        let store = Store::open_memory().unwrap();
        store
            .initialize_with_seed(Seed::embedded().unwrap(), provenance())
            .await
            .unwrap();
        let (v, fk) = store
            .read(|conn| {
                let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
                let fk: i64 = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
                Ok((v, fk))
            })
            .await
            .unwrap();
        assert_eq!((v, fk), (SCHEMA_VERSION, 1));
        assert_eq!(store.provenance().await.unwrap(), provenance());
        assert_eq!(store.changed_rows().await.unwrap(), 0);
    }

    #[tokio::test]
    async fn file_store_refuses_another_version_a_foreign_file_and_a_half_made_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        assert!(Store::open_file(&path).unwrap().is_none());
        let seed = Seed::embedded().unwrap();
        Store::create_file(&path, provenance(), move |l| l.load(&seed))
            .await
            .unwrap();
        assert!(Store::open_file(&path).unwrap().is_some());
        assert!(!dir.path().join("db.sqlite.partial").exists());

        let conn = Connection::open(&path).unwrap();
        conn.execute("DELETE FROM store_meta WHERE key = 'complete'", [])
            .unwrap();
        drop(conn);
        let err = Store::open_file(&path).unwrap_err().to_string();
        assert!(
            err.contains("never finished") && err.contains("db.sqlite"),
            "{err}"
        );

        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = Store::open_file(&path).unwrap_err().to_string();
        assert!(err.contains("schema version 99"), "{err}");

        let foreign = dir.path().join("other.sqlite");
        let conn = Connection::open(&foreign).unwrap();
        conn.execute("CREATE TABLE notes (body TEXT)", []).unwrap();
        drop(conn);
        let err = Store::open_file(&foreign).unwrap_err().to_string();
        assert!(
            err.contains("another program") && err.contains("other.sqlite"),
            "{err}"
        );

        let text = dir.path().join("notes.txt");
        std::fs::write(&text, "not a database at all, just some text ".repeat(100)).unwrap();
        let err = Store::open_file(&text).unwrap_err().to_string();
        assert!(
            err.contains("not a SQLite database") && err.contains("notes.txt"),
            "{err}"
        );

        let missing = dir.path().join("no/such/folder/db.sqlite");
        assert!(Store::open_file(&missing).unwrap().is_none());
        let seed = Seed::embedded().unwrap();
        let err = Store::create_file(&missing, provenance(), move |l| l.load(&seed))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cannot be opened") && err.contains("folder"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_store_stopped_during_its_first_seeding_leaves_no_file_and_is_made_afresh() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        // The load fails half-way, as a kill would stop it: nothing may be left at `path`.
        let err = Store::create_file(&path, provenance(), |loader| {
            loader.load(&Seed::embedded().unwrap())?;
            Err(StoreError::Schema("stopped".into()))
        })
        .await;
        assert!(err.is_err());
        assert!(Store::open_file(&path).unwrap().is_none());
        // A half-built file from a killed process is replaced on the next start.
        std::fs::write(dir.path().join("db.sqlite.partial"), b"half").unwrap();
        let seed = Seed::embedded().unwrap();
        let store = Store::create_file(&path, provenance(), move |l| l.load(&seed))
            .await
            .unwrap();
        assert_eq!(store.record_counts().await.unwrap()["customers"], 2);
    }
}
