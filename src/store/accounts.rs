//! Customers and users: login and the caller's identity.

use std::sync::Arc;

use crate::auth::Caller;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::objects::TABLES;
use super::{Store, StoreResult};

/// Counts of the main records, for `/_mock/health`: one per counted table of the object
/// table, in its order (`counts["alerts"]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordCounts(Vec<(&'static str, i64)>);

impl std::ops::Index<&str> for RecordCounts {
    type Output = i64;
    fn index(&self, name: &str) -> &i64 {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, c)| c)
            .unwrap_or(&0)
    }
}

impl Serialize for RecordCounts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, count) in &self.0 {
            map.serialize_entry(name, count)?;
        }
        map.end()
    }
}

const CALLER_COLUMNS: &str =
    "u.id, u.uuid, u.username, u.display_name, c.id, c.uuid, u.modules_json, u.serial, c.name";

fn caller_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Caller> {
    let modules: String = row.get(6)?;
    Ok(Caller {
        user_id: row.get(0)?,
        user_uuid: row.get(1)?,
        username: row.get(2)?,
        display_name: row.get(3)?,
        customer_id: row.get(4)?,
        customer_uuid: row.get(5)?,
        modules: serde_json::from_str(&modules).unwrap_or_default(),
        serial: row.get(7)?,
        customer_name: row.get(8)?,
    })
}

/// The next user serial: one more than any given out before in this store, resets
/// included (the count lives in `store_meta`, which no reset touches).
pub(super) fn next_user_serial(tx: &rusqlite::Transaction<'_>) -> StoreResult<i64> {
    Ok(tx
        .prepare_cached(
            "INSERT INTO store_meta (key, value) VALUES ('user_serials', '1') \
             ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1 \
             RETURNING CAST(value AS INTEGER)",
        )?
        .query_row([], |r| r.get(0))?)
}

impl Store {
    /// The user with this login and password, or `None`; from the cache while no write
    /// happened since it was read ([`super::cache`]).
    pub async fn authenticate(
        &self,
        username: &str,
        password: &str,
    ) -> StoreResult<Option<Arc<Caller>>> {
        let key = (username.to_owned(), password.to_owned());
        if let Some(c) = self.caches.by_login.get(&key, self.generation()) {
            return Ok(Some(c));
        }
        let seen = self.generation();
        let found = self
            .read_login(key.0.clone(), key.1.clone())
            .await?
            .map(Arc::new);
        if let Some(c) = &found {
            self.caches
                .by_login
                .keep(key, c.clone(), seen, self.generation());
        }
        Ok(found)
    }

    async fn read_login(&self, username: String, password: String) -> StoreResult<Option<Caller>> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {CALLER_COLUMNS}, u.password FROM users u \
                 JOIN customers c ON c.id = u.customer_id WHERE u.username = ?1"
            ))?;
            let found = stmt
                .query_row(params![username], |row| {
                    let stored: String = row.get(9)?;
                    Ok((caller_from_row(row)?, stored))
                })
                .optional()?;
            Ok(found.and_then(|(caller, stored)| {
                constant_time_eq(stored.as_bytes(), password.as_bytes()).then_some(caller)
            }))
        })
        .await
    }

    /// The user a token was issued to, if the user and its customer still exist; from the
    /// cache while no write happened since it was read ([`super::cache`]).
    pub async fn caller_by_user_id(&self, user_id: i64) -> StoreResult<Option<Arc<Caller>>> {
        if let Some(c) = self.caches.by_user_id.get(&user_id, self.generation()) {
            return Ok(Some(c));
        }
        let seen = self.generation();
        let found = self.read_caller(user_id).await?.map(Arc::new);
        if let Some(c) = &found {
            self.caches
                .by_user_id
                .keep(user_id, c.clone(), seen, self.generation());
        }
        Ok(found)
    }

    async fn read_caller(&self, user_id: i64) -> StoreResult<Option<Caller>> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {CALLER_COLUMNS} FROM users u \
                 JOIN customers c ON c.id = u.customer_id WHERE u.id = ?1"
            ))?;
            Ok(stmt
                .query_row(params![user_id], caller_from_row)
                .optional()?)
        })
        .await
    }

    /// Counts of the main records, all customers together.
    #[cfg(test)]
    pub async fn record_counts(&self) -> StoreResult<RecordCounts> {
        self.read(count_records).await
    }

    /// What `/_mock/health` shows of the store: the record counts and where the baseline
    /// came from. Both change only with a write, so they are kept while no write happened
    /// since they were read ([`super::cache`]) — and for at most [`FACTS_MAX_AGE`], so
    /// health reads the store itself at least that often under any load, and answers 503
    /// within that time of the store becoming unreadable.
    pub async fn health_facts(&self) -> StoreResult<Arc<HealthFacts>> {
        let now = self.generation();
        if let Some(facts) = self.caches.facts.get(&(), now)
            && facts.read_at.elapsed() < FACTS_MAX_AGE
        {
            return Ok(facts);
        }
        let read_at = tokio::time::Instant::now();
        let (counts, baseline) = self
            .read(|conn| Ok((count_records(conn)?, super::read_provenance(conn)?)))
            .await?;
        let facts = Arc::new(HealthFacts {
            counts,
            baseline,
            read_at,
            shown: std::sync::OnceLock::new(),
        });
        self.caches
            .facts
            .keep((), facts.clone(), now, self.generation());
        Ok(facts)
    }
}

/// The longest `/_mock/health` answers from what it read before, with no write since: it
/// reads the store again after this. A real duration (tokio's monotonic time), not the
/// store clock, which a test may freeze or move.
pub(super) const FACTS_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(1);

/// What `/_mock/health` read of the store, and when ([`Store::health_facts`]).
#[derive(Debug)]
pub struct HealthFacts {
    pub counts: RecordCounts,
    pub baseline: super::Provenance,
    read_at: tokio::time::Instant,
    /// The facts as the caller shows them, rendered once per read of them (the store
    /// neither reads nor writes it).
    pub shown: std::sync::OnceLock<Box<str>>,
}

/// Count the main records of every customer, in one statement.
fn count_records(conn: &rusqlite::Connection) -> StoreResult<RecordCounts> {
    let counted: Vec<(&'static str, &'static str)> = TABLES
        .iter()
        .filter_map(|t| t.counted_as.map(|name| (name, t.name)))
        .collect();
    // Table names are the object table's constants, never a request's.
    let sql = format!(
        "SELECT {}",
        counted
            .iter()
            .map(|(_, table)| format!("(SELECT count(*) FROM {table})"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let counts = conn.prepare_cached(&sql)?.query_row([], |r| {
        counted
            .iter()
            .enumerate()
            .map(|(i, (name, _))| Ok((*name, r.get(i)?)))
            .collect::<rusqlite::Result<Vec<_>>>()
    })?;
    Ok(RecordCounts(counts))
}

/// Compare without an early exit, so a timing probe learns nothing of the password.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Seed;

    async fn seeded() -> Store {
        let store = Store::open_memory().unwrap();
        let seed = Seed::embedded().unwrap();
        let provenance = seed.provenance(&crate::clock::Clock::real());
        store.initialize_with_seed(seed, provenance).await.unwrap();
        store
    }

    #[tokio::test]
    async fn login_checks_the_password_and_names_the_customer() {
        let store = seeded().await;
        let acme = store
            .authenticate("acme_ss2", "passwd")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(acme.customer_id, 1001);
        let globex = store
            .authenticate("globex_ss1", "passwd2")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(globex.customer_id, 2002);
        assert!(
            store
                .authenticate("acme_ss2", "passwd2")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .authenticate("nobody", "passwd")
                .await
                .unwrap()
                .is_none()
        );
        assert!(store.authenticate("acme_ss2", "").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_failed_seed_stores_nothing() {
        let store = Store::open_memory().unwrap();
        let mut seed = Seed::embedded().unwrap();
        // Valid for the parser, but the second customer's insert fails on the unique uuid.
        seed.customers[1].uuid = seed.customers[0].uuid.clone();
        let provenance = seed.provenance(&crate::clock::Clock::real());
        assert!(store.initialize_with_seed(seed, provenance).await.is_err());
        // Not even the schema was kept.
        assert!(store.record_counts().await.is_err());
    }

    /// Health's facts are kept while no write happened and for at most their age; a write
    /// shows at once.
    #[tokio::test]
    async fn health_facts_are_kept_till_a_write_or_their_age() {
        let store = seeded().await;
        let kept = |store: &Store| {
            store
                .caches
                .facts
                .get(&(), store.generation())
                .map(|f| f.read_at)
        };
        let facts = store.health_facts().await.unwrap();
        let read_at = kept(&store).expect("the facts were not kept");
        assert!(Arc::ptr_eq(&store.health_facts().await.unwrap(), &facts));
        assert_eq!(
            kept(&store),
            Some(read_at),
            "read again with nothing written"
        );
        store
            .create_customer(crate::store::NewTenant {
                name: "Initech".into(),
                uuid: "00000000-0000-4000-8000-000000000777".into(),
                username: "initech_user".into(),
                password: "pw".into(),
                user_uuid: "00000000-0000-4000-8000-000000000778".into(),
                modules: vec!["CAR".into()],
                copy_of: None,
            })
            .await
            .unwrap()
            .unwrap();
        let after = store.health_facts().await.unwrap();
        assert_eq!(after.counts["customers"], facts.counts["customers"] + 1);
        let read_at = kept(&store).unwrap();
        tokio::time::sleep(FACTS_MAX_AGE).await;
        store.health_facts().await.unwrap();
        assert!(
            kept(&store).unwrap() > read_at,
            "not read again past its age"
        );
    }

    #[test]
    fn constant_time_eq_matches_eq() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
