//! What the control API changes at run time: customers made, records seeded, resets.
//!
//! Each costs what it writes, never what was written before it: a new customer is copied
//! from its template's baseline rows in SQL, and seeded records are checked against the
//! store with one lookup per reference instead of re-checking everything seeded so far.

use rusqlite::{OptionalExtension, Transaction, params};

use super::accounts::next_user_serial;
use super::baseline::{self, CopyUser};
use super::objects::Table;
use super::seed::{Known, Seed};
use super::{Store, StoreResult};

/// A customer to make at run time.
#[derive(Debug, Clone)]
pub struct NewTenant {
    pub name: String,
    pub uuid: String,
    pub username: String,
    pub password: String,
    pub user_uuid: String,
    pub modules: Vec<String>,
    /// Copy this customer's baseline objects under new ids.
    pub copy_of: Option<String>,
}

/// What [`Store::create_customer`] made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: i64,
    /// What was added to every copied object's id.
    pub id_offset: i64,
}

/// Why a runtime change was refused (worded for the control API by its caller).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("no customer named {0:?}")]
    NoCustomer(String),
    #[error("no customer named {0:?} to copy")]
    NoTemplate(String),
    #[error("a customer named {0:?} exists already")]
    CustomerTaken(String),
    #[error("a user named {0:?} exists already")]
    UserTaken(String),
}

/// Ids of copies stay clear of every seeded id: a billion per customer.
const OFFSET_PER_CUSTOMER: i64 = 1_000_000_000;

impl Store {
    /// The id of the customer named `name`.
    pub async fn customer_id(&self, name: String) -> StoreResult<Option<i64>> {
        self.read(move |conn| {
            Ok(conn
                .prepare_cached("SELECT id FROM customers WHERE name = ?1")?
                .query_row([&name], |r| r.get(0))
                .optional()?)
        })
        .await
    }

    /// Back to the baseline for the customer named `name` (see [`super::baseline`]).
    pub async fn reset_customer(&self, name: String) -> StoreResult<Result<(), Refused>> {
        self.call_unbounded(move |conn| {
            let id: Option<i64> = conn
                .prepare_cached("SELECT id FROM customers WHERE name = ?1")?
                .query_row([&name], |r| r.get(0))
                .optional()?;
            let Some(id) = id else {
                // A runtime customer whose row was removed still has saved images.
                return Ok(Err(Refused::NoCustomer(name)));
            };
            baseline::reset(conn, Some(id))?;
            Ok(Ok(()))
        })
        .await
    }

    /// Make a customer with one user, empty or a copy of another customer's baseline
    /// objects; it becomes part of the baseline as a runtime customer. One transaction.
    pub async fn create_customer(&self, new: NewTenant) -> StoreResult<Result<Tenant, Refused>> {
        self.transaction(move |tx| create_in(tx, &new)).await
    }

    /// Load records at run time, checked against what the store holds; all or nothing.
    /// They become part of their customers' baselines as runtime records.
    pub async fn seed_runtime(&self, seed: Seed) -> StoreResult<usize> {
        self.transaction(move |tx| {
            seed.check_against(&StoreKnown { tx })?;
            let mark = baseline::mark(tx)?;
            seed.insert(tx)?;
            baseline::promote_since(tx, mark)?;
            Ok(seed.len())
        })
        .await
    }
}

fn create_in(tx: &Transaction<'_>, new: &NewTenant) -> StoreResult<Result<Tenant, Refused>> {
    let exists = |sql: &str, value: &str| -> StoreResult<bool> {
        Ok(tx
            .prepare_cached(sql)?
            .query_row([value], |_| Ok(()))
            .optional()?
            .is_some())
    };
    if exists("SELECT 1 FROM customers WHERE name = ?1", &new.name)? {
        return Ok(Err(Refused::CustomerTaken(new.name.clone())));
    }
    if exists("SELECT 1 FROM users WHERE username = ?1", &new.username)? {
        return Ok(Err(Refused::UserTaken(new.username.clone())));
    }
    let template: Option<i64> = match &new.copy_of {
        None => None,
        Some(name) => match tx
            .prepare_cached("SELECT id FROM customers WHERE name = ?1")?
            .query_row([name], |r| r.get(0))
            .optional()?
        {
            Some(id) => Some(id),
            None => return Ok(Err(Refused::NoTemplate(name.clone()))),
        },
    };
    // Written untracked, then adopted as runtime rows in one statement per table: cheaper
    // than the triggers noting each copied row.
    let (id, offset) = baseline::untracked(tx, || {
        // The ids are SQLite's (AUTOINCREMENT): never one a removed customer or user had.
        tx.execute(
            "INSERT INTO customers (uuid, name) VALUES (?1, ?2)",
            params![new.uuid, new.name],
        )?;
        let id = tx.last_insert_rowid();
        let modules = serde_json::to_string(&new.modules).unwrap_or_else(|_| "[]".into());
        tx.execute(
            "INSERT INTO users (customer_id, uuid, username, password, display_name, \
             modules_json, serial) VALUES (?1, ?2, ?3, ?4, ?3, ?5, ?6)",
            params![
                id,
                new.user_uuid,
                new.username,
                new.password,
                modules,
                next_user_serial(tx)?
            ],
        )?;
        let offset = id.saturating_mul(OFFSET_PER_CUSTOMER);
        if let Some(from) = template {
            let user = CopyUser {
                uuid: &new.user_uuid,
                name: &new.username,
            };
            baseline::copy_customer(tx, from, id, offset, &user)?;
        }
        baseline::adopt_customer(tx, id)?;
        Ok((id, offset))
    })?;
    Ok(Ok(Tenant {
        id,
        id_offset: if template.is_some() { offset } else { 0 },
    }))
}

/// What the store already holds, for checking records seeded at run time.
struct StoreKnown<'a> {
    tx: &'a Transaction<'a>,
}

impl StoreKnown<'_> {
    fn one(&self, sql: &str, p: impl rusqlite::Params) -> Option<String> {
        let found = self
            .tx
            .prepare_cached(sql)
            .and_then(|mut s| s.query_row(p, |r| r.get::<_, String>(0)).optional());
        // A lookup that fails says "unknown"; the insert that follows reports the error.
        found.ok().flatten()
    }
}

impl Known for StoreKnown<'_> {
    fn customer(&self, name: &str) -> bool {
        self.one("SELECT name FROM customers WHERE name = ?1", [name])
            .is_some()
    }

    fn customer_key_taken(&self, id: i64, uuid: &str) -> bool {
        self.one(
            "SELECT name FROM customers WHERE id = ?1 OR uuid = ?2",
            params![id, uuid],
        )
        .is_some()
    }

    fn user_customer(&self, username: &str) -> Option<String> {
        self.one(
            "SELECT c.name FROM users u JOIN customers c ON c.id = u.customer_id \
             WHERE u.username = ?1",
            [username],
        )
    }

    fn user_key_taken(&self, id: i64, uuid: &str) -> bool {
        self.one(
            "SELECT username FROM users WHERE id = ?1 OR uuid = ?2",
            params![id, uuid],
        )
        .is_some()
    }

    fn owner(&self, table: &'static Table, id: i64) -> Option<String> {
        // A table of the registry: its name is a constant, never a request's.
        self.one(
            &format!(
                "SELECT c.name FROM {} t JOIN customers c ON c.id = t.customer_id \
                 WHERE t.id = ?1",
                table.name
            ),
            [id],
        )
    }

    fn script_title_taken(&self, customer: &str, title: &str) -> bool {
        self.one(
            "SELECT s.title FROM scripts s JOIN customers c ON c.id = s.customer_id \
             WHERE c.name = ?1 AND s.title = ?2",
            [customer, title],
        )
        .is_some()
    }

    fn activity_taken(&self, uuid: &str) -> bool {
        self.one("SELECT uuid FROM activities WHERE uuid = ?1", [uuid])
            .is_some()
    }

    fn criterion_taken(&self, id: i64) -> bool {
        self.one(
            "SELECT CAST(id AS TEXT) FROM cm_rule_criteria WHERE id = ?1",
            [id],
        )
        .is_some()
    }
}
