//! Where a store lives: in memory, in a private file of the process's own (the default), or
//! in a `--db` file — opening, creating and refusing each, and the readers a file gets.

use std::path::Path;
use std::sync::Arc;

use rusqlite::{Connection, OpenFlags};

use super::prepared::{ImageCache, StoreCache};
use super::private::PrivateFile;
use super::{
    Loader, Provenance, SCHEMA_VERSION, Seed, Store, StoreError, StoreResult, configure, pool,
};

/// How many readers a file store opens beside its writer: twice the cores, 4 to 8.
pub(super) fn reader_count() -> usize {
    std::thread::available_parallelism()
        .map_or(2, |n| n.get() * 2)
        .clamp(4, pool::Connections::MAX - 1)
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
                // Opening a file runs no statement of ours: the error is safe to show whole.
                tracing::warn!(
                    "no private store file in {} ({e}); the store is in memory, and its reads \
                     take turns with its writes",
                    std::env::temp_dir().display(),
                );
                Store::open_memory()
            }
        }
    }

    /// A new private store ([`Store::open_private`]) whose baseline is `seed`. Where its
    /// file cannot take the data — a temporary folder that is full, or that fails to write
    /// — the file is removed and the store is in memory, with a warning, as when no file
    /// can be made at all.
    pub async fn private_seeded(seed: Seed, provenance: Provenance) -> StoreResult<Store> {
        Store::seed_or_fall_back(Store::open_private()?, seed, provenance, None).await
    }

    /// A new private store whose baseline is the embedded default seed, made `provenance`.
    /// Copied from this binary's prepared image where there is one ([`prepared`]); else
    /// loaded as [`Store::private_seeded`] does, and the image kept for the next start.
    pub async fn private_default(cache: &StoreCache, provenance: Provenance) -> StoreResult<Store> {
        Store::private_default_with(ImageCache::for_this_binary(cache), provenance).await
    }

    /// [`Store::private_default`] with the image in `cache`, if any.
    async fn private_default_with(
        cache: Option<ImageCache>,
        provenance: Provenance,
    ) -> StoreResult<Store> {
        if let Some(cache) = cache.clone() {
            let made = provenance.clone();
            let copied = tokio::task::spawn_blocking(move || Store::from_image(&cache, &made))
                .await
                .map_err(|e| StoreError::Worker(e.to_string()))?;
            match copied {
                Ok(Some(store)) => {
                    store.start_private_readers().await?;
                    return Ok(store);
                }
                Ok(None) => {}
                Err(e) => tracing::debug!("the prepared default store cannot be used: {e}"),
            }
        }
        let store = Store::open_private()?;
        Store::seed_or_fall_back(store, Seed::embedded()?, provenance, cache).await
    }

    /// A private store copied from the image in `cache`, its baseline made `provenance`:
    /// `None` when there is no image, or it is not a complete store of this schema.
    fn from_image(cache: &ImageCache, provenance: &Provenance) -> StoreResult<Option<Store>> {
        let file = PrivateFile::new().map_err(|e| StoreError::Schema(e.to_string()))?;
        if !cache.copy_to(file.path()) {
            return Ok(None);
        }
        let mut writer = open_private_connection(file.path())?;
        writer.pragma_update(None, "journal_mode", "OFF")?;
        writer.pragma_update(None, "cache_size", -65_536)?;
        if !matches!(probe(&writer)?, (SCHEMA_VERSION, _, true)) {
            return Ok(None);
        }
        let tx = writer.transaction()?;
        super::record_provenance(&tx, provenance)?;
        tx.commit()?;
        Ok(Some(Store::from_connections(pool::Connections::private(
            writer, file,
        ))))
    }

    /// [`Store::private_seeded`] on a private store already open; where the data goes into
    /// its file and `keep` is given, a copy of the file is kept there as the image of the
    /// next start.
    async fn seed_or_fall_back(
        store: Store,
        seed: Seed,
        provenance: Provenance,
        keep: Option<ImageCache>,
    ) -> StoreResult<Store> {
        let seed = Arc::new(seed);
        let first = Arc::clone(&seed);
        let made = store
            .write_baseline(provenance.clone(), move |l| l.load(&first))
            .await;
        let made = match (made, keep, store.conns.private_path()) {
            (Ok(()), Some(cache), Some(path)) => {
                // Complete, without a journal, and no one writes it until the readers start.
                let path = path.to_owned();
                tokio::task::spawn_blocking(move || cache.keep(&path))
                    .await
                    .map_err(|e| StoreError::Worker(e.to_string()))
            }
            (made, _, _) => made,
        };
        let made = match made {
            Ok(()) => store.start_private_readers().await,
            Err(e) => Err(e),
        };
        match made {
            Ok(()) => Ok(store),
            Err(e) if store.conns.private_path().is_some() && e.is_file_trouble() => {
                // Dropped first: its file goes now, not at exit.
                drop(store);
                tracing::warn!(
                    "the private store file in {} cannot take the data ({e}); the store is \
                     in memory, and its reads take turns with its writes",
                    std::env::temp_dir().display(),
                );
                let memory = Store::open_memory()?;
                memory
                    .initialize(provenance, move |l| l.load(&seed))
                    .await?;
                Ok(memory)
            }
            Err(e) => Err(e),
        }
    }

    fn open_private_file() -> StoreResult<Store> {
        let file = PrivateFile::new().map_err(|e| StoreError::Schema(e.to_string()))?;
        let writer = open_private_connection(file.path())?;
        // The start-up data goes straight into the file, in one transaction and without a
        // journal (nothing outlives the process); [`Store::initialize`] then switches to WAL
        // and opens the readers. Large seeds are held here too: a bounded cache, the rest
        // in the operating system's.
        writer.pragma_update(None, "journal_mode", "OFF")?;
        writer.pragma_update(None, "cache_size", -65_536)?;
        Ok(Store::from_connections(pool::Connections::private(
            writer, file,
        )))
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
        let conn = open_file_connection(path).map_err(|e| match e {
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
                let conns = pool::Connections::single(conn);
                conns
                    .open_readers(path, reader_count(), open_file_connection)
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

    /// Once a private store holds its start-up data (written without a journal), switch it
    /// to WAL and open its readers ([`Store::initialize`] calls this).
    pub(super) async fn start_private_readers(&self) -> StoreResult<()> {
        let Some(path) = self.conns.private_path().map(Path::to_owned) else {
            return Ok(());
        };
        let conns = Arc::clone(&self.conns);
        let started = std::time::Instant::now();
        tokio::task::spawn_blocking(move || {
            conns.open_readers(&path, reader_count(), open_private_connection)
        })
        .await
        .map_err(|e| StoreError::Worker(e.to_string()))??;
        // `bench/run` reads it for the phases of a start.
        tracing::debug!(
            readers_ms = started.elapsed().as_secs_f64() * 1000.0,
            "store readers open"
        );
        Ok(())
    }

    /// Close the connection (the last handle only), with the file in WAL mode.
    fn close(self) -> StoreResult<()> {
        let conn = Arc::try_unwrap(self.conns)
            .map_err(|_| StoreError::Worker("the store is still in use".into()))?
            .into_writer();
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.close().map_err(|(_, e)| StoreError::Sqlite(e))
    }
}

/// A connection to an existing store file (writer or reader); never creates one, so a file
/// that vanished fails loudly instead of reading as an empty database.
fn open_file_connection(path: &Path) -> StoreResult<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    configure(&conn, true)?;
    Ok(conn)
}

/// A connection to a private store's file (writer or reader): no syncing, since nothing
/// outlives the process.
fn open_private_connection(path: &Path) -> StoreResult<Connection> {
    let conn = open_file_connection(path)?;
    conn.pragma_update(None, "synchronous", "OFF")?;
    Ok(conn)
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
    use super::super::Seed;
    use super::super::tests::{dump, provenance};
    use super::*;

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

    /// The writer's file may hold no more than `pages` pages: SQLite answers "database or
    /// disk is full" past that, as on a full disk.
    async fn limit_pages(store: &Store, pages: i64) {
        store
            .call_unbounded(move |conn| {
                conn.pragma_update(None, "max_page_count", pages)?;
                Ok(())
            })
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_private_store_whose_folder_is_full_at_start_is_made_in_memory() {
        let store = Store::open_private().unwrap();
        let path = store.conns.private_path().unwrap().to_owned();
        limit_pages(&store, 4).await;
        let store = Store::seed_or_fall_back(store, Seed::embedded().unwrap(), provenance(), None)
            .await
            .unwrap();
        assert_eq!(store.kind().kind, "memory");
        assert!(!path.exists(), "the full file was left behind");
        assert_eq!(store.record_counts().await.unwrap()["customers"], 2);
        assert_eq!(store.provenance().await.unwrap(), provenance());
    }

    #[tokio::test]
    async fn a_default_store_from_its_prepared_image_holds_what_a_loaded_one_holds() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ImageCache::in_dir(dir.path(), "test").unwrap();
        let loaded = Store::private_default_with(Some(cache.clone()), provenance())
            .await
            .unwrap();
        let image = std::fs::read(cache.path()).unwrap();
        assert!(image.starts_with(b"SQLite format 3\0"));
        let later = Provenance {
            created: "2030-05-06T07:08:09Z".into(),
            ..provenance()
        };
        let copied = Store::private_default_with(Some(cache.clone()), later.clone())
            .await
            .unwrap();
        assert_eq!(copied.provenance().await.unwrap(), later);
        assert_eq!(copied.kind(), loaded.kind());
        let rows = dump(&loaded, None).await;
        assert!(rows.len() > 2000, "{}", rows.len());
        assert_eq!(dump(&copied, None).await, rows);
        // It is a baseline like any: changes are noted, and a reset takes them back.
        copied
            .transaction(|tx| {
                tx.execute("DELETE FROM cm_alerts WHERE id = 246213", [])?;
                Ok(())
            })
            .await
            .unwrap();
        assert_eq!(copied.changed_rows().await.unwrap(), 1);
        copied.reset(None).await.unwrap();
        assert_eq!(
            dump(&copied, None).await.len(),
            dump(&loaded, None).await.len()
        );
        assert_eq!(copied.changed_rows().await.unwrap(), 0);
    }

    #[tokio::test]
    async fn an_image_that_is_not_a_whole_store_is_not_used_and_is_made_again() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ImageCache::in_dir(dir.path(), "test").unwrap();
        for junk in [&b"not a database"[..], b"SQLite format 3\0"] {
            std::fs::write(cache.path(), junk).unwrap();
            let store = Store::private_default_with(Some(cache.clone()), provenance())
                .await
                .unwrap();
            assert_eq!(store.record_counts().await.unwrap()["customers"], 2);
            assert_eq!(store.kind().kind, "private");
            let image = std::fs::read(cache.path()).unwrap();
            assert!(image.len() > 100_000, "the image was not made again");
        }
    }

    #[tokio::test]
    async fn a_conflict_in_the_data_is_not_taken_for_trouble_with_the_file() {
        let seed = Seed::embedded().unwrap();
        let store = Store::open_private().unwrap();
        // The same seed twice conflicts with itself: an error of the data, which a store in
        // memory would meet too.
        let err = store
            .initialize(provenance(), move |l| {
                l.load(&seed)?;
                l.load(&seed)
            })
            .await
            .unwrap_err();
        assert!(!err.is_file_trouble(), "{err}");
    }

    #[tokio::test]
    async fn a_write_on_a_full_disk_is_refused_as_full_and_taken_once_there_is_room() {
        let store = Store::private_with(Seed::embedded().unwrap())
            .await
            .unwrap();
        let pages: i64 = store
            .read(|conn| Ok(conn.query_row("PRAGMA page_count", [], |r| r.get(0))?))
            .await
            .unwrap();
        limit_pages(&store, pages).await;
        let write = || {
            store.transaction(|tx| {
                tx.execute_batch(
                    "CREATE TABLE filler (x BLOB); \
                     INSERT INTO filler VALUES (zeroblob(100000));",
                )?;
                Ok(())
            })
        };
        let full = write().await;
        assert!(matches!(full, Err(StoreError::Full)), "{full:?}");
        // Nothing of it was kept, and reads go on.
        assert_eq!(store.record_counts().await.unwrap()["customers"], 2);
        limit_pages(&store, 1 << 30).await;
        write().await.unwrap();
        let rows: i64 = store
            .read(|conn| Ok(conn.query_row("SELECT count(*) FROM filler", [], |r| r.get(0))?))
            .await
            .unwrap();
        assert_eq!(rows, 1);
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
