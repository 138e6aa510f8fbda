//! What the store keeps in memory to spare SQLite, and the data generation that keeps it
//! true.
//!
//! Every write goes through the writer ([`super::pool::Connections::write`]), which bumps the
//! store's data generation once its work is committed (or rolled back). Each cached entry
//! is tagged with the generation seen *before* the read it came from, and is served only
//! while the generation is still that one: a write through any path — a reset, a seed, a
//! new customer, a CAR or CM write, the engine — makes every entry read before it stale at
//! once, and no caller has anything to remember. A read that straddles a write is tagged
//! with the generation before the write, so what it found (a user a reset removed, say) is
//! never served after the write.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::Mutex;

use crate::auth::Caller;

/// Entries tagged with the data generation they were read at; at most `max` of them (the
/// cache starts over when full).
#[derive(Debug)]
pub(super) struct Tagged<K, V> {
    entries: Mutex<HashMap<K, (u64, V)>>,
    max: usize,
}

impl<K: Eq + Hash, V: Clone> Tagged<K, V> {
    pub(super) fn new(max: usize) -> Tagged<K, V> {
        Tagged {
            entries: Mutex::new(HashMap::new()),
            max,
        }
    }

    /// The entry for `key`, if it was read at generation `now`.
    pub(super) fn get(&self, key: &K, now: u64) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(tag, _)| *tag == now)
            .map(|(_, v)| v.clone())
    }

    /// Keep `value`, read at generation `seen`, unless the data changed since (`now`).
    pub(super) fn keep(&self, key: K, value: V, seen: u64, now: u64) {
        if seen != now {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.max {
            entries.clear();
        }
        entries.insert(key, (seen, value));
    }
}

/// Answers rendered from store reads, by a key their maker builds from everything the
/// answer depends on besides the stored data (the customer, the compiled filter with its
/// values — relative dates resolved against the clock —, the window, the format…). Kept
/// only for the data generation they were read at: the first answer kept at a newer
/// generation drops every older one, and the set starts over when it would pass
/// [`MAX_ANSWER_BYTES`]. An answer larger than [`MAX_ANSWER_ENTRY_BYTES`] is not kept.
#[derive(Debug, Default)]
pub(super) struct Answers {
    set: Mutex<AnswerSet>,
}

#[derive(Debug, Default)]
struct AnswerSet {
    /// The generation every entry was read at.
    generation: u64,
    /// The bytes of every entry's key and answer.
    bytes: usize,
    entries: HashMap<String, Arc<[u8]>>,
}

/// Bytes of all kept answers at most.
pub(super) const MAX_ANSWER_BYTES: usize = 8 << 20;

/// Bytes of one kept answer at most.
pub(super) const MAX_ANSWER_ENTRY_BYTES: usize = 1 << 20;

impl Answers {
    /// The answer kept for `key`, if it was read at generation `now`.
    pub(super) fn get(&self, key: &str, now: u64) -> Option<Arc<[u8]>> {
        let set = self.set.lock().unwrap_or_else(|e| e.into_inner());
        if set.generation != now {
            return None;
        }
        set.entries.get(key).cloned()
    }

    /// Keep `answer`, read at generation `seen`, unless the data changed since (`now`).
    pub(super) fn keep(&self, key: String, answer: Arc<[u8]>, seen: u64, now: u64) {
        let key_len = key.len();
        let size = key_len + answer.len();
        if seen != now || size > MAX_ANSWER_ENTRY_BYTES {
            return;
        }
        let mut set = self.set.lock().unwrap_or_else(|e| e.into_inner());
        if set.generation != now || set.bytes + size > MAX_ANSWER_BYTES {
            set.entries.clear();
            set.bytes = 0;
            set.generation = now;
        }
        if let Some(old) = set.entries.insert(key, answer) {
            set.bytes -= key_len + old.len();
        }
        set.bytes += size;
    }

    /// Bytes held now.
    #[cfg(test)]
    pub(super) fn bytes(&self) -> usize {
        self.set.lock().unwrap_or_else(|e| e.into_inner()).bytes
    }
}

/// Rendered records kept at most (about 1.5 KB each).
const MAX_RENDERED: usize = 20_000;

/// Callers kept at most (one per user that logged in).
const MAX_CALLERS: usize = 10_000;

/// The store's caches, shared by the clones of one store.
#[derive(Debug)]
pub(super) struct Caches {
    /// CAR: user id → caller.
    pub(super) by_user_id: Tagged<i64, std::sync::Arc<Caller>>,
    /// CM and `/auth`: (username, password) → caller, for credentials that were right.
    pub(super) by_login: Tagged<(String, String), std::sync::Arc<Caller>>,
    /// A CM alert's rendering, by (alert id, rendering: JSON or XML).
    pub(super) rendered: Tagged<(i64, bool), Arc<str>>,
    /// When the job engine next has work, by (queue ms, run ms): `None`, nothing pending.
    pub(super) next_due: Tagged<(i64, i64), Option<i64>>,
    /// What `/_mock/health` shows of the store, and when it was read.
    pub(super) facts: Tagged<(), std::sync::Arc<super::accounts::HealthFacts>>,
    /// Whole answers, by their maker's key ([`Answers`]).
    pub(super) answers: Answers,
}

impl Default for Caches {
    fn default() -> Self {
        Caches {
            by_user_id: Tagged::new(MAX_CALLERS),
            by_login: Tagged::new(MAX_CALLERS),
            rendered: Tagged::new(MAX_RENDERED),
            next_due: Tagged::new(16),
            facts: Tagged::new(1),
            answers: Answers::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::clock::Clock;
    use crate::page::Window;
    use crate::query::SqlWhere;
    use crate::store::car::{ExecuteLimits, Outcome, Targets};
    use crate::store::cm::NewAlert;
    use crate::store::{NewTenant, Search, Seed, Store};

    #[test]
    fn an_entry_is_served_only_at_the_generation_it_was_read_at() {
        let cache = Tagged::new(10);
        cache.keep("a", 1, 5, 5);
        assert_eq!(cache.get(&"a", 5), Some(1));
        assert_eq!(cache.get(&"a", 6), None);
        // Read before a write that finished before it was kept: never kept.
        cache.keep("b", 2, 5, 6);
        assert_eq!(cache.get(&"b", 5), None);
        assert_eq!(cache.get(&"b", 6), None);
    }

    #[test]
    fn a_full_cache_starts_over() {
        let cache = Tagged::new(2);
        cache.keep(1, (), 0, 0);
        cache.keep(2, (), 0, 0);
        cache.keep(3, (), 0, 0);
        assert_eq!(cache.get(&1, 0), None);
        assert_eq!(cache.get(&3, 0), Some(()));
    }

    #[test]
    fn an_answer_is_served_only_at_its_generation_and_older_ones_are_dropped() {
        let answers = Answers::default();
        let answer: Arc<[u8]> = Arc::from(&b"answer"[..]);
        answers.keep("a".into(), Arc::clone(&answer), 3, 3);
        assert_eq!(answers.get("a", 3), Some(Arc::clone(&answer)));
        assert_eq!(answers.get("a", 4), None);
        // Read before a write that finished before it was kept: never kept.
        answers.keep("b".into(), Arc::clone(&answer), 3, 4);
        assert_eq!(answers.get("b", 4), None);
        // The first answer of a newer generation drops the older ones and their bytes.
        answers.keep("c".into(), Arc::clone(&answer), 4, 4);
        assert_eq!(answers.get("a", 3), None);
        assert_eq!(answers.bytes(), "c".len() + answer.len());
    }

    #[test]
    fn answers_stay_within_their_bytes() {
        let answers = Answers::default();
        let big: Arc<[u8]> = Arc::from(vec![0u8; MAX_ANSWER_ENTRY_BYTES]);
        answers.keep("too big".into(), big, 0, 0);
        assert_eq!(
            answers.bytes(),
            0,
            "an answer over the entry bound was kept"
        );
        let part: Arc<[u8]> = Arc::from(vec![0u8; MAX_ANSWER_ENTRY_BYTES / 2]);
        for i in 0..3 * MAX_ANSWER_BYTES / part.len() {
            answers.keep(i.to_string(), Arc::clone(&part), 0, 0);
            assert!(answers.bytes() <= MAX_ANSWER_BYTES, "{}", answers.bytes());
        }
        // Keeping an answer again under its key counts it once.
        let before = answers.bytes();
        answers.keep("0".into(), Arc::clone(&part), 0, 0);
        answers.keep("0".into(), Arc::clone(&part), 0, 0);
        assert!(answers.bytes() <= before + "0".len() + part.len());
    }

    const ACME: i64 = 1001;
    const ACME_LOGIN: (&str, &str) = ("acme_ss2", "passwd");
    const NOW_MS: i64 = 1_767_225_600_000;

    async fn seeded() -> Store {
        Store::private_with(Seed::embedded().unwrap())
            .await
            .unwrap()
    }

    fn first_alerts() -> Search {
        Search::in_id_order(
            SqlWhere::default(),
            Window {
                offset: 0,
                limit: 5,
            },
        )
    }

    /// How many of Acme's first five alerts the store rendered (0: all came from its cache).
    async fn renderings(store: &Store) -> usize {
        let count = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&count);
        let page = store
            .cm_alerts_rendered(ACME, first_alerts(), false, move |a| {
                counted.fetch_add(1, Ordering::SeqCst);
                Arc::from(a.id.to_string())
            })
            .await
            .unwrap();
        assert_eq!(page.items.len(), 5);
        count.load(Ordering::SeqCst)
    }

    fn new_tenant(name: &str) -> NewTenant {
        NewTenant {
            name: name.into(),
            uuid: format!("{name}-uuid"),
            username: format!("{name}_user"),
            password: "pw".into(),
            user_uuid: format!("{name}-user-uuid"),
            modules: vec!["CAR".into(), "CM".into()],
            copy_of: None,
        }
    }

    /// Fills every cache: a rendering, a login, a caller by id, the engine's next due time.
    async fn fill(store: &Store) -> std::sync::Arc<Caller> {
        renderings(store).await;
        assert_eq!(renderings(store).await, 0, "the renderings were not cached");
        let caller = store
            .authenticate(ACME_LOGIN.0, ACME_LOGIN.1)
            .await
            .unwrap()
            .unwrap();
        store.caller_by_user_id(caller.user_id).await.unwrap();
        store.car_next_due(5_000, 30_000).await.unwrap();
        let now = store.generation();
        let login = (ACME_LOGIN.0.to_owned(), ACME_LOGIN.1.to_owned());
        assert!(store.caches.by_login.get(&login, now).is_some());
        assert!(store.caches.by_user_id.get(&caller.user_id, now).is_some());
        assert!(store.caches.next_due.get(&(5_000, 30_000), now).is_some());
        caller
    }

    /// After a write through `path`: the generation moved on, and no cached entry read
    /// before it is served.
    async fn nothing_cached_is_served_after(store: &Store, path: &str, before: u64) {
        let now = store.generation();
        assert!(now > before, "{path} left the data generation at {before}");
        let caller = store
            .authenticate(ACME_LOGIN.0, ACME_LOGIN.1)
            .await
            .unwrap()
            .unwrap();
        let login = (ACME_LOGIN.0.to_owned(), ACME_LOGIN.1.to_owned());
        // Read again after the write (which kept them for the new generation), not served
        // from before it: the lookups above were misses.
        let stale = |what: &str| format!("{path}: the {what} read before the write was served");
        assert!(
            store.caches.by_user_id.get(&caller.user_id, now).is_none(),
            "{}",
            stale("caller by id")
        );
        assert!(
            store.caches.next_due.get(&(5_000, 30_000), now).is_none(),
            "{}",
            stale("next due time")
        );
        assert!(
            store.caches.by_login.get(&login, now).is_some(),
            "{path}: the login read after the write was not kept"
        );
        assert_eq!(renderings(store).await, 5, "{}", stale("rendering"));
    }

    /// Every path that writes — a reset, a customer's reset, a new customer, a runtime seed,
    /// a CAR execution, a forced outcome, the engine moving jobs, a CM event, even a
    /// refused write — makes what was cached before it stale, with nothing called by hand.
    #[tokio::test]
    async fn every_write_path_moves_the_generation_on_and_stales_every_cache() {
        let store = seeded().await;
        let clock = Clock::frozen_at(NOW_MS);

        let caller = fill(&store).await;
        let before = store.generation();
        let correlation = store
            .car_execute(
                caller.clone(),
                72648,
                Targets {
                    asset_ids: vec![20452610],
                    tag_ids: Vec::new(),
                    excluded_ids: Vec::new(),
                },
                ExecuteLimits {
                    interval_ms: 0,
                    daily: 1_000,
                },
                clock.clone(),
            )
            .await
            .unwrap()
            .unwrap();
        nothing_cached_is_served_after(&store, "a CAR execution", before).await;
        // The engine's next due time was read again: the new job is queued.
        assert_eq!(
            store.car_next_due(5_000, 30_000).await.unwrap(),
            Some(NOW_MS + 5_000)
        );

        fill(&store).await;
        let before = store.generation();
        store
            .car_advance_jobs(NOW_MS + 5_000, 5_000, 30_000, |_, _, _, _| Outcome {
                status: "SUCCESS",
                code: 0,
                text: "SUCCESS".into(),
                result: Vec::new(),
            })
            .await
            .unwrap();
        nothing_cached_is_served_after(&store, "the engine", before).await;

        fill(&store).await;
        let job = store
            .car_asset_jobs(ACME, Search::default(), false)
            .await
            .unwrap()
            .items
            .into_iter()
            .find(|j| j.job.correlation_uuid == correlation)
            .unwrap();
        let before = store.generation();
        let forced = Outcome {
            status: "FAILED",
            code: 1,
            text: "forced".into(),
            result: Vec::new(),
        };
        assert!(
            store
                .car_force_outcome(job.id, forced, NOW_MS)
                .await
                .unwrap()
        );
        nothing_cached_is_served_after(&store, "a forced outcome", before).await;

        fill(&store).await;
        let before = store.generation();
        let event = NewAlert {
            event_type: "PORT_OPEN".into(),
            ip_address: "10.10.30.99".into(),
            hostname: "new-host.acme.corp".into(),
            event_s: NOW_MS / 1000,
            alert_s: NOW_MS / 1000,
            profile_id: 7401,
            rule_id: 6001,
            alert_info: serde_json::Map::new(),
        };
        store.cm_insert_alerts(ACME, vec![event]).await.unwrap();
        nothing_cached_is_served_after(&store, "a CM event", before).await;

        fill(&store).await;
        let before = store.generation();
        store
            .create_customer(new_tenant("Initech"))
            .await
            .unwrap()
            .unwrap();
        nothing_cached_is_served_after(&store, "a new customer", before).await;

        fill(&store).await;
        let before = store.generation();
        let refused = store.create_customer(new_tenant("Initech")).await.unwrap();
        assert!(refused.is_err());
        nothing_cached_is_served_after(&store, "a refused write", before).await;

        fill(&store).await;
        let before = store.generation();
        let seed = Seed::from_json_object(&serde_json::json!({"alerts": [{
            "id": 777002, "customer": "Acme", "eventType": "VULN_OPEN", "triggerUuid": "t",
            "ipAddress": "10.10.11.11", "eventDate": "2022-05-01T00:00:00Z",
            "alertDate": "2022-05-01T00:00:05Z", "profile": 7401}]}))
        .unwrap();
        assert_eq!(store.seed_runtime(seed).await.unwrap(), 1);
        nothing_cached_is_served_after(&store, "a runtime seed", before).await;

        fill(&store).await;
        let before = store.generation();
        store.reset_customer("Acme".into()).await.unwrap().unwrap();
        nothing_cached_is_served_after(&store, "a customer's reset", before).await;

        fill(&store).await;
        let before = store.generation();
        store.reset(None).await.unwrap();
        nothing_cached_is_served_after(&store, "a reset", before).await;
    }

    /// A login kept before a reset that removed its user is not served after the reset,
    /// whoever wrote (here the store itself, with no one to remember anything).
    #[tokio::test]
    async fn a_login_cached_before_a_reset_is_not_served_after_it() {
        let store = seeded().await;
        store
            .create_customer(new_tenant("Initech"))
            .await
            .unwrap()
            .unwrap();
        let caller = store.authenticate("Initech_user", "pw").await.unwrap();
        let caller = caller.expect("the new customer's user logs in");
        assert!(
            store
                .caller_by_user_id(caller.user_id)
                .await
                .unwrap()
                .is_some()
        );
        // A reset of everything removes the customers made at run time.
        store.reset(None).await.unwrap();
        assert_eq!(
            store.authenticate("Initech_user", "pw").await.unwrap(),
            None
        );
        assert_eq!(store.caller_by_user_id(caller.user_id).await.unwrap(), None);
    }

    /// A search whose rendering straddles a write returns what its snapshot held, but keeps
    /// none of it: the next search renders afresh.
    #[tokio::test]
    async fn a_rendering_made_while_a_write_commits_is_not_kept() {
        let store = seeded().await;
        assert!(store.kind().readers > 0, "{:?}", store.kind());
        let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let search = tokio::spawn({
            let store = store.clone();
            async move {
                let mut first = true;
                store
                    .cm_alerts_rendered(ACME, first_alerts(), false, move |a| {
                        if std::mem::take(&mut first) {
                            started_tx.send(()).unwrap();
                            go_rx.recv().unwrap();
                        }
                        Arc::from(a.id.to_string())
                    })
                    .await
            }
        });
        tokio::task::spawn_blocking(move || started_rx.recv().unwrap())
            .await
            .unwrap();
        // The write commits on the writer while the search renders on its reader.
        store.reset(None).await.unwrap();
        go_tx.send(()).unwrap();
        assert_eq!(search.await.unwrap().unwrap().items.len(), 5);
        assert_eq!(renderings(&store).await, 5);
        assert_eq!(renderings(&store).await, 0);
    }
}
