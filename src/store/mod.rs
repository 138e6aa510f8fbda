//! The store: the only code that touches SQLite.
//!
//! [`Store`] is a cheap, cloneable handle on one connection behind a mutex. Every query runs
//! on tokio's blocking pool through [`Store::call`], so SQLite never blocks an async worker.
//! A mock's load needs no pool: one connection, prepared statements cached per connection.
//!
//! Each object type has its own submodule with its row types and queries; the rest of the
//! crate sees only typed async methods on [`Store`] and never builds SQL. Every query takes
//! the caller's customer id and filters on it.

mod accounts;
pub mod car;
pub mod cm;
pub mod seed;

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, OpenFlags};

pub use accounts::{Caller, RecordCounts};
pub use seed::{Seed, SeedError};

/// Bumped with every change to `schema.sql`.
pub const SCHEMA_VERSION: i64 = 2;
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
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A handle on the one SQLite connection. Clone it freely.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

/// How [`Store::open_file`] found the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    /// The schema was just created: the caller loads a seed.
    Fresh,
    /// The file already held a store of this schema version: its data is kept.
    Existing,
}

impl Store {
    /// A new, empty in-memory store with the schema applied.
    pub fn open_memory() -> StoreResult<Store> {
        let conn = Connection::open_in_memory()?;
        configure(&conn, false)?;
        apply_schema(&conn)?;
        Ok(Store::wrap(conn))
    }

    /// Open (or create) a file database. WAL and a busy timeout are set; the schema is
    /// applied when the file is new. A file of another schema version is refused.
    pub fn open_file(path: &Path) -> StoreResult<(Store, Opened)> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)?;
        configure(&conn, true)?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let opened = match version {
            0 => {
                apply_schema(&conn)?;
                Opened::Fresh
            }
            SCHEMA_VERSION => Opened::Existing,
            other => {
                return Err(StoreError::Schema(format!(
                    "{} holds a qualys-mock store of schema version {other}; this build uses \
                     version {SCHEMA_VERSION}. Delete the file (or name another) to start afresh.",
                    path.display()
                )));
            }
        };
        Ok((Store::wrap(conn), opened))
    }

    fn wrap(conn: Connection) -> Store {
        Store {
            conn: Arc::new(Mutex::new(conn)),
        }
    }

    /// Run `f` with the connection on the blocking pool.
    async fn call<F, R>(&self, f: F) -> StoreResult<R>
    where
        F: FnOnce(&mut Connection) -> StoreResult<R> + Send + 'static,
        R: Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Worker(e.to_string()))?
    }

    /// Run `f` inside one transaction: all of it is stored, or none.
    async fn transaction<F, R>(&self, f: F) -> StoreResult<R>
    where
        F: FnOnce(&rusqlite::Transaction<'_>) -> StoreResult<R> + Send + 'static,
        R: Send + 'static,
    {
        self.call(move |conn| {
            let tx = conn.transaction()?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })
        .await
    }

    /// Load a seed in one transaction: on any error nothing is stored.
    pub async fn load_seed(&self, seed: Seed) -> StoreResult<()> {
        self.transaction(move |tx| seed.insert(tx)).await
    }

    /// Replace everything with `seed`, in one transaction. Foreign keys are not checked
    /// meanwhile: the seed was validated, and the checks would double the time.
    pub async fn replace_all(&self, seed: std::sync::Arc<Seed>) -> StoreResult<()> {
        self.call(move |conn| {
            conn.pragma_update(None, "foreign_keys", "OFF")?;
            let result = Store::replace_all_in(conn, &seed);
            conn.pragma_update(None, "foreign_keys", "ON")?;
            result
        })
        .await
    }

    fn replace_all_in(conn: &mut Connection, seed: &Seed) -> StoreResult<()> {
        let tx = conn.transaction()?;
        {
            // Children first: cheaper than cascading row by row from customers.
            for table in [
                "asset_jobs",
                "script_jobs",
                "schedules",
                "activities",
                "asset_tag_links",
                "asset_interfaces",
                "assets",
                "asset_tags",
                "scripts",
                "cm_alerts",
                "cm_profiles",
                "cm_rule_criteria",
                "cm_rules",
                "cm_rulesets",
                "users",
                "customers",
            ] {
                tx.execute(&format!("DELETE FROM {table}"), [])?;
            }
            seed.insert(&tx)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Replace one customer (and everything it owns) with `seed`, in one transaction.
    pub async fn replace_customer(&self, name: String, seed: Seed) -> StoreResult<()> {
        self.transaction(move |tx| {
            tx.execute("DELETE FROM customers WHERE name = ?1", [&name])?;
            seed.insert(tx)
        })
        .await
    }

    /// The next free customer id and user id.
    pub async fn next_ids(&self) -> StoreResult<(i64, i64)> {
        self.call(|conn| {
            Ok(conn.query_row(
                "SELECT (SELECT coalesce(max(id), 0) + 1 FROM customers), \
                 (SELECT coalesce(max(id), 0) + 1 FROM users)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        })
        .await
    }

    /// Flush a file database's WAL into the main file (used at shutdown).
    pub async fn checkpoint(&self) -> StoreResult<()> {
        self.call(|conn| {
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

fn apply_schema(conn: &Connection) -> StoreResult<()> {
    conn.execute_batch(&format!(
        "BEGIN;\n{SCHEMA}\nPRAGMA user_version = {SCHEMA_VERSION};\nCOMMIT;"
    ))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_applies_and_is_versioned() {
        let conn = Connection::open_in_memory().unwrap();
        configure(&conn, false).unwrap();
        apply_schema(&conn).unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        let fk: i64 = conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
    }

    #[test]
    fn file_store_refuses_another_schema_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        {
            let (_, opened) = Store::open_file(&path).unwrap();
            assert_eq!(opened, Opened::Fresh);
        }
        {
            let (_, opened) = Store::open_file(&path).unwrap();
            assert_eq!(opened, Opened::Existing);
        }
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = Store::open_file(&path).unwrap_err().to_string();
        assert!(err.contains("schema version 99"), "{err}");
    }
}
