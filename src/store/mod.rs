//! The store: the only code that touches SQLite.
//!
//! [`Store`] is a cheap, cloneable handle on one writer connection and a few readers beside
//! it ([`pool`]). Every query runs on tokio's blocking pool, so SQLite never blocks an async
//! worker: reads through [`Store::read`] on a reader, writes through [`Store::transaction`]
//! on the writer. Prepared statements are cached per connection. Where the data lives — a
//! private file (the default), a `--db` file, or memory — is [`open`]'s.
//!
//! Each object type has its own submodule with its row types and queries; the rest of the
//! crate sees only typed async methods on [`Store`] and never builds SQL. Every query takes
//! the caller's customer id and filters on it. Both surfaces' searches are one [`Search`]
//! (filter, sort, window, total), run by `store/search.rs`.
//!
//! Every write goes through one path (`Store::call_unbounded`, on the writer), which bumps
//! the store's data generation when its work is done. What the store keeps in memory —
//! logins, callers, CM alert renderings, when the job engine next has work, whole answers
//! ([`Store::answer`]) (`store/cache.rs`) — is
//! tagged with the generation it was read at and served only while that generation stands,
//! so no caller ever has to say that data changed.

mod accounts;
mod baseline;
mod cache;
pub mod car;
pub mod cm;
mod columns;
#[cfg(test)]
mod explain;
pub(crate) mod objects;
mod open;
mod pool;
mod prepared;
mod private;
mod runtime;
mod search;
pub mod seed;

use std::sync::Arc;

use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, OptionalExtension};

pub use accounts::RecordCounts;
pub use pool::StoreKind;
pub use prepared::StoreCache;
pub use search::{Search, Total};

/// The most connections a file store opens on this machine (its writer and readers): the
/// most blocking threads its calls hold at once.
pub fn max_connections() -> usize {
    open::reader_count() + 1
}

/// The tokio runtime the binary serves on. Every store call takes a blocking thread only
/// once its connection is free, so the store needs at most as many blocking threads as it
/// has connections; two more cover the rest. More would only cost memory under load (each
/// thread that ran a call keeps its allocator heap), and tokio's default is 512.
pub(crate) fn serving_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(max_connections() + 2)
        .build()
}

pub use runtime::{NewTenant, Refused};
pub use seed::{Seed, SeedError};

/// Bumped with every change to `schema.sql` (or to the baseline's bookkeeping).
pub const SCHEMA_VERSION: i64 = 4;
const SCHEMA: &str = include_str!("schema.sql");

/// What can go wrong in the store. Its text (`Display`) is fit for a log line or an error
/// message as it is: SQLite's message and code, never the statement it was preparing (which
/// may hold 100 KB of a client's filter), and at most [`CAUSE_CHARS`] characters.
#[derive(Debug)]
pub enum StoreError {
    Sqlite(rusqlite::Error),
    Seed(SeedError),
    Schema(String),
    /// The store's worker thread is gone.
    Worker(String),
    /// The work ran past its time budget and was stopped (nothing of it was kept).
    TooSlow(std::time::Duration),
    /// The disk that holds the store is full: nothing of the work was kept, and the store
    /// takes writes again once there is room.
    Full,
}

/// The most characters of a store error's text.
const CAUSE_CHARS: usize = 300;

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            StoreError::Sqlite(rusqlite::Error::SqlInputError {
                error, msg, offset, ..
            }) => format!("database error: {msg} ({error}, at offset {offset} of the statement)"),
            StoreError::Sqlite(e) => format!("database error: {e}"),
            StoreError::Seed(e) => e.to_string(),
            StoreError::Schema(text) => text.clone(),
            StoreError::Worker(why) => format!("the store worker stopped: {why}"),
            StoreError::TooSlow(limit) => {
                format!("the query ran longer than {limit:?} and was stopped")
            }
            StoreError::Full => {
                "the disk that holds the store is full; nothing of the change was stored".into()
            }
        };
        if text.chars().count() <= CAUSE_CHARS {
            f.write_str(&text)
        } else {
            let cut: String = text.chars().take(CAUSE_CHARS).collect();
            write!(f, "{cut}…")
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Sqlite(e) => Some(e),
            StoreError::Seed(e) => e.source(),
            _ => None,
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Sqlite(e)
    }
}

impl From<SeedError> for StoreError {
    fn from(e: SeedError) -> Self {
        StoreError::Seed(e)
    }
}

impl StoreError {
    /// Whether the error comes from the store's file rather than from the work: the disk
    /// is full, cannot be written, or the file cannot be opened. A private store that
    /// meets one while it is made is made in memory instead ([`Store::private_seeded`]).
    fn is_file_trouble(&self) -> bool {
        use rusqlite::ErrorCode as C;
        match self {
            StoreError::Full => true,
            StoreError::Sqlite(e) => matches!(
                e.sqlite_error_code(),
                Some(
                    C::DiskFull
                        | C::SystemIoFailure
                        | C::CannotOpen
                        | C::ReadOnly
                        | C::PermissionDenied
                )
            ),
            _ => false,
        }
    }
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
    /// What is kept in memory, true while the data generation stands ([`cache`]).
    caches: Arc<cache::Caches>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("kind", &self.conns.kind())
            .finish_non_exhaustive()
    }
}

/// The right to keep an answer made from reads that began at one data generation
/// ([`Store::answer`]): kept only if no write has happened since.
pub struct AnswerTicket {
    key: String,
    seen: u64,
    store: Store,
}

impl AnswerTicket {
    /// Keep `answer` for the ticket's key (unless the data changed since the ticket).
    pub fn keep(self, answer: Arc<[u8]>) {
        let now = self.store.generation();
        self.store
            .caches
            .answers
            .keep(self.key, answer, self.seen, now);
    }
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
    /// A recorded seed's `manifest.json` (`qualys-mock record`): when and from where.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded: Option<serde_json::Value>,
}

/// Where the baseline came from, as `store_meta` holds it.
fn read_provenance(conn: &Connection) -> StoreResult<Provenance> {
    let get = |key: &str| -> rusqlite::Result<String> {
        conn.query_row("SELECT value FROM store_meta WHERE key = ?1", [key], |r| {
            r.get(0)
        })
    };
    let recorded = conn
        .query_row(
            "SELECT value FROM store_meta WHERE key = 'recorded'",
            [],
            |r| r.get::<_, String>(0),
        )
        .optional()?
        .and_then(|text| serde_json::from_str(&text).ok());
    Ok(Provenance {
        source: get("source")?,
        created: get("created")?,
        recorded,
    })
}

impl Store {
    /// Create the schema, load the start-up data with `load`, record where it came from and
    /// make it the baseline — all in one transaction, so a store that was stopped half-way
    /// holds nothing at all (and is created afresh next time), never a part.
    pub async fn initialize<F>(&self, provenance: Provenance, load: F) -> StoreResult<()>
    where
        F: FnOnce(&Loader<'_>) -> StoreResult<()> + Send + 'static,
    {
        let started = std::time::Instant::now();
        self.write_baseline(provenance, load).await?;
        self.start_private_readers().await?;
        tracing::debug!(
            total_ms = started.elapsed().as_secs_f64() * 1000.0,
            "store initialized"
        );
        Ok(())
    }

    /// [`Store::initialize`] but for the readers: the data is written, and a private store
    /// is still one file without a journal.
    async fn write_baseline<F>(&self, provenance: Provenance, load: F) -> StoreResult<()>
    where
        F: FnOnce(&Loader<'_>) -> StoreResult<()> + Send + 'static,
    {
        self.call_unbounded(move |conn| {
            // Real durations of the phases, for the debug log (`bench/run` reads them).
            let mut phases = Phases::new();
            let tx = conn.transaction()?;
            // Tables first, indexes after the data: building an index over loaded rows is
            // several times faster than keeping it up to date row by row.
            let (tables, indexes) = schema_parts();
            tx.execute_batch(&tables)?;
            phases.mark("schema");
            load(&Loader { tx: &tx })?;
            phases.mark("load");
            // The sorter behind each index keeps up to the page cache's size of keys in one
            // list before it writes a sorted run aside; runs of a few megabytes sort in the
            // processor's caches and merge faster than one list of a million keys (and
            // take less memory), so the cache is small while the indexes are built.
            let cache: i64 = tx.query_row("PRAGMA cache_size", [], |r| r.get(0))?;
            tx.pragma_update(None, "cache_size", INDEX_BUILD_CACHE_KIB)?;
            tx.execute_batch(&indexes)?;
            tx.pragma_update(None, "cache_size", cache)?;
            phases.mark("indexes");
            // The baseline's triggers after the data too: loading runs with them off, but
            // each insert would still ask whether they are on.
            baseline::install(&tx)?;
            record_provenance(&tx, &provenance)?;
            tx.execute(
                "INSERT INTO store_meta (key, value) VALUES ('complete', '1')",
                [],
            )?;
            baseline::start_tracking(&tx)?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
            phases.mark("baseline");
            tx.commit()?;
            phases.mark("commit");
            phases.log();
            Ok(())
        })
        .await
    }

    /// [`Store::initialize`] with one seed.
    #[cfg(test)]
    pub async fn initialize_with_seed(
        &self,
        seed: Seed,
        provenance: Provenance,
    ) -> StoreResult<()> {
        self.initialize(provenance, move |loader| loader.load(&seed))
            .await
    }

    /// A new private store whose baseline is `seed` (provenance from the real clock).
    #[cfg(test)]
    pub async fn private_with(seed: Seed) -> StoreResult<Store> {
        let provenance = seed.provenance(&crate::clock::Clock::real());
        Store::private_seeded(seed, provenance).await
    }

    /// Where the baseline came from.
    pub async fn provenance(&self) -> StoreResult<Provenance> {
        self.read(read_provenance).await
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
            caches: Arc::default(),
        }
    }

    /// Read with `f` on a reader connection, on the blocking pool, in one snapshot: writes
    /// committed before the call began are seen, none committed while it runs.
    ///
    /// The work has [`TIME_BUDGET`]: SQLite's progress handler interrupts it past that, and
    /// the call fails with [`StoreError::TooSlow`] (each surface answers its own error), so
    /// no request holds a connection for long.
    ///
    /// This is for lookups by key; a search that may scan a table is [`Store::search`].
    async fn read<F, R>(&self, f: F) -> StoreResult<R>
    where
        F: FnOnce(&Connection) -> StoreResult<R> + Send + 'static,
        R: Send + 'static,
    {
        self.read_as(pool::Width::Point, f).await
    }

    /// [`Store::read`] for a search: unless its filter names its rows by id (`lookup`,
    /// [`crate::query::SqlWhere::lookup`]), it may take every reader but one, which is
    /// kept for lookups, so a full set of long searches never holds up a short read.
    async fn search<F, R>(&self, lookup: bool, f: F) -> StoreResult<R>
    where
        F: FnOnce(&Connection) -> StoreResult<R> + Send + 'static,
        R: Send + 'static,
    {
        let width = if lookup {
            pool::Width::Point
        } else {
            pool::Width::Scan
        };
        self.read_as(width, f).await
    }

    async fn read_as<F, R>(&self, width: pool::Width, f: F) -> StoreResult<R>
    where
        F: FnOnce(&Connection) -> StoreResult<R> + Send + 'static,
        R: Send + 'static,
    {
        let turn = self.conns.read_turn(width).await?;
        let (conns, budget) = (Arc::clone(&self.conns), self.budget);
        tokio::task::spawn_blocking(move || conns.on_reader(turn, budget, f))
            .await
            .map_err(|e| StoreError::Worker(e.to_string()))?
    }

    /// The data generation now: every write moves it on ([`pool::Connections::write`]).
    pub(crate) fn generation(&self) -> u64 {
        self.conns.generation()
    }

    /// A whole answer kept for `key` while no write has happened since it was made
    /// (`Ok`, answered with no store read at all) — or the ticket to keep the answer made
    /// now. `key` names everything the answer depends on besides the stored data
    /// ([`cache::Answers`]).
    pub fn answer(&self, key: String) -> Result<Arc<[u8]>, AnswerTicket> {
        let seen = self.generation();
        match self.caches.answers.get(&key, seen) {
            Some(answer) => Ok(answer),
            None => Err(AnswerTicket {
                key,
                seen,
                store: self.clone(),
            }),
        }
    }

    /// The store's one write path: run `f` on the writer connection, on the blocking pool,
    /// without a time budget — loading and resetting, whose size the operator chose, and
    /// writes, which are bounded by what their requests may hold and are never interrupted.
    /// The data generation moves on when `f` is done, so nothing cached before is served
    /// after ([`cache`]).
    async fn call_unbounded<F, R>(&self, f: F) -> StoreResult<R>
    where
        F: FnOnce(&mut Connection) -> StoreResult<R> + Send + 'static,
        R: Send + 'static,
    {
        let turn = self.conns.write_turn().await?;
        let conns = Arc::clone(&self.conns);
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            conns.write(f)
        })
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
    #[cfg(test)]
    pub async fn changed_rows(&self) -> StoreResult<i64> {
        self.read(baseline::changed_rows).await
    }

    /// Flush a file database's WAL into the main file (used at shutdown; nothing to do for
    /// a private file, which is removed).
    pub async fn checkpoint(&self) -> StoreResult<()> {
        if self.conns.private_path().is_some() {
            return Ok(());
        }
        self.call_unbounded(|conn| {
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
            Ok(())
        })
        .await
    }
}

/// Marks an index of `schema.sql` that is kept up to date while the start-up data is
/// inserted, instead of being built after it: one whose rows come mostly in its own order
/// (each insert then lands where the last one did), so keeping it costs the inserting
/// thread little while a streamed seed is read beside it, and saves sorting its keys later.
const KEPT_WHILE_LOADING: &str = "-- kept while loading";

/// The page cache while [`Store::initialize`] builds the indexes (negative: KiB).
const INDEX_BUILD_CACHE_KIB: i64 = -8192;

/// Where the baseline came from, in `store_meta` (replacing what was there).
fn record_provenance(tx: &rusqlite::Transaction<'_>, provenance: &Provenance) -> StoreResult<()> {
    tx.execute(
        "DELETE FROM store_meta WHERE key IN ('source', 'created', 'recorded')",
        [],
    )?;
    let recorded = provenance.recorded.as_ref().map(|m| m.to_string());
    for (key, value) in [
        ("source", Some(provenance.source.as_str())),
        ("created", Some(provenance.created.as_str())),
        ("recorded", recorded.as_deref()),
    ] {
        let Some(value) = value else { continue };
        tx.execute(
            "INSERT INTO store_meta (key, value) VALUES (?1, ?2)",
            [key, value],
        )?;
    }
    Ok(())
}

/// How long each phase of a piece of work took (real durations), logged at debug level.
struct Phases {
    last: std::time::Instant,
    took: Vec<(&'static str, f64)>,
}

impl Phases {
    fn new() -> Phases {
        Phases {
            last: std::time::Instant::now(),
            took: Vec::new(),
        }
    }

    /// The phase called `name` ends now.
    fn mark(&mut self, name: &'static str) {
        let now = std::time::Instant::now();
        self.took
            .push((name, (now - self.last).as_secs_f64() * 1000.0));
        self.last = now;
    }

    fn log(&self) {
        if tracing::enabled!(tracing::Level::DEBUG) {
            let phases: Vec<String> = self
                .took
                .iter()
                .map(|(name, ms)| format!("{name} {ms:.1} ms"))
                .collect();
            tracing::debug!(phases = %phases.join(", "), "store data written");
        }
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

/// The schema's statements without the indexes built after the start-up data, and those
/// `CREATE INDEX` statements (one line each in `schema.sql`; an index marked
/// [`KEPT_WHILE_LOADING`] is made with the tables instead).
fn schema_parts() -> (String, String) {
    let (mut tables, mut indexes) = (String::new(), String::new());
    for line in SCHEMA.lines() {
        let part = if line.starts_with("CREATE INDEX") && !line.ends_with(KEPT_WHILE_LOADING) {
            &mut indexes
        } else {
            &mut tables
        };
        part.push_str(line);
        part.push('\n');
    }
    (tables, indexes)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Every row of `only` table, or of every table (the baseline's bookkeeping included;
    /// `store_meta`, whose provenance differs, left out), in rowid order, as text.
    pub(in crate::store) async fn dump(store: &Store, only: Option<&'static str>) -> Vec<String> {
        store
            .read(move |conn| {
                let tables: Vec<String> = conn
                    .prepare(
                        "SELECT name FROM sqlite_master WHERE type = 'table' \
                         AND name != 'store_meta' AND ?1 IN (name, '') ORDER BY name",
                    )?
                    .query_map([only.unwrap_or_default()], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                let mut rows = Vec::new();
                for table in tables {
                    let mut stmt = conn.prepare(&format!("SELECT rowid, * FROM \"{table}\""))?;
                    let width = stmt.column_count();
                    let mut query = stmt.query([])?;
                    while let Some(row) = query.next()? {
                        let values: Vec<String> = (0..width)
                            .map(|i| match row.get_ref(i).unwrap() {
                                rusqlite::types::ValueRef::Text(t) => {
                                    String::from_utf8_lossy(t).into_owned()
                                }
                                other => format!("{other:?}"),
                            })
                            .collect();
                        rows.push(format!("{table}: {}", values.join(" | ")));
                    }
                }
                Ok(rows)
            })
            .await
            .unwrap()
    }

    /// A fixed provenance for test stores.
    pub(in crate::store) fn provenance() -> Provenance {
        Provenance {
            source: "test".into(),
            created: "2026-01-01T00:00:00Z".into(),
            recorded: None,
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

    /// On a private store, long reads on all readers but one (each running to its budget)
    /// hold up neither a short read nor a write — on the server's own runtime, whose
    /// blocking threads are bounded; on the one connection of a memory store, one long read
    /// holds up both (so the test can fail).
    #[test]
    fn long_reads_hold_up_neither_reads_nor_writes_beside_them() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let runtime = serving_runtime().unwrap();
        for private in [true, false] {
            runtime.block_on(async {
                let mut store = if private {
                    Store::open_private().unwrap()
                } else {
                    Store::open_memory().unwrap()
                };
                store
                    .initialize_with_seed(Seed::embedded().unwrap(), provenance())
                    .await
                    .unwrap();
                let kind = store.kind();
                assert_eq!(kind.kind, if private { "private" } else { "memory" });
                assert!(!private || kind.readers >= 4, "{kind:?}");
                store.budget = std::time::Duration::from_millis(2500);
                let longs = kind.readers.saturating_sub(1).max(1);
                let (started, ended) =
                    (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
                let spawn_long = || {
                    let (store, started, ended) =
                        (store.clone(), Arc::clone(&started), Arc::clone(&ended));
                    tokio::spawn(async move {
                        store
                            .read(move |conn| {
                                started.fetch_add(1, Ordering::SeqCst);
                                let endless = conn.query_row(
                                    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL \
                                         SELECT x + 1 FROM c) SELECT count(*) FROM c",
                                    [],
                                    |r| r.get::<_, i64>(0),
                                );
                                ended.fetch_add(1, Ordering::SeqCst);
                                Ok(endless?)
                            })
                            .await
                    })
                };
                let mut long: Vec<_> = (0..longs).map(|_| spawn_long()).collect();
                while started.load(Ordering::SeqCst) < longs {
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                }
                let before = tokio::time::Instant::now();
                assert_eq!(store.record_counts().await.unwrap()["customers"], 2);
                store.reset(None).await.unwrap();
                let short = before.elapsed();
                assert_eq!(
                    ended.load(Ordering::SeqCst) == 0,
                    private,
                    "private {private}: the short read and the write took {short:?}"
                );
                if private {
                    // Every reader busy: reads wait for one, but a write still goes through.
                    long.push(spawn_long());
                    while started.load(Ordering::SeqCst) < longs + 1 {
                        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                    }
                    store.reset(None).await.unwrap();
                    assert_eq!(
                        ended.load(Ordering::SeqCst),
                        0,
                        "a write waited for the reads"
                    );
                }
                for long in long {
                    let long = long.await.unwrap();
                    assert!(matches!(long, Err(StoreError::TooSlow(_))), "{long:?}");
                }
            });
        }
    }

    /// Searches queue among themselves for all readers but one: with twice as many long
    /// searches as readers waiting, a lookup (a read by key, or a search by id) still
    /// finds a reader at once, on the server's runtime with its bounded blocking threads.
    #[test]
    fn a_full_set_of_long_searches_leaves_a_reader_for_lookups() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let runtime = serving_runtime().unwrap();
        runtime.block_on(async {
            let mut store = Store::private_with(Seed::embedded().unwrap())
                .await
                .unwrap();
            let readers = store.kind().readers;
            assert!(readers >= 4, "{:?}", store.kind());
            store.budget = std::time::Duration::from_millis(1500);
            let (started, ended) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
            let long: Vec<_> = (0..readers * 2)
                .map(|_| {
                    let (store, started, ended) =
                        (store.clone(), Arc::clone(&started), Arc::clone(&ended));
                    tokio::spawn(async move {
                        store
                            .search(false, move |conn| {
                                started.fetch_add(1, Ordering::SeqCst);
                                let endless = conn.query_row(
                                    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL \
                                     SELECT x + 1 FROM c) SELECT count(*) FROM c",
                                    [],
                                    |r| r.get::<_, i64>(0),
                                );
                                ended.fetch_add(1, Ordering::SeqCst);
                                Ok(endless?)
                            })
                            .await
                    })
                })
                .collect();
            while started.load(Ordering::SeqCst) < readers - 1 {
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
            // Give a search that could take the last reader the time to take it.
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            assert_eq!(started.load(Ordering::SeqCst), readers - 1);
            assert_eq!(store.record_counts().await.unwrap()["customers"], 2);
            let by_id = store
                .search(true, |conn| {
                    Ok(conn
                        .query_row("SELECT count(*) FROM customers", [], |r| r.get::<_, i64>(0))?)
                })
                .await
                .unwrap();
            assert_eq!(by_id, 2);
            assert_eq!(
                ended.load(Ordering::SeqCst),
                0,
                "the lookups waited for a long search"
            );
            for long in long {
                let long = long.await.unwrap();
                assert!(matches!(long, Err(StoreError::TooSlow(_))), "{long:?}");
            }
        });
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
}

#[cfg(test)]
mod error_text_tests {
    use super::StoreError;

    #[test]
    fn a_statement_is_never_part_of_a_store_errors_text() {
        let sql = format!("SELECT * FROM alert WHERE {}", "a = ? AND ".repeat(10_000));
        let e = StoreError::Sqlite(rusqlite::Error::SqlInputError {
            error: rusqlite::ffi::Error::new(1),
            msg: "Expression tree is too large (maximum depth 1000)".into(),
            sql,
            offset: 12,
        });
        let text = e.to_string();
        assert!(text.contains("Expression tree is too large"), "{text}");
        assert!(!text.contains("SELECT"), "{text}");
        let long = StoreError::Schema("x".repeat(100_000));
        assert!(long.to_string().chars().count() <= 301);
    }
}
