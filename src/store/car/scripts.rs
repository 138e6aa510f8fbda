//! Scripts: search, get by id or title, import, clone, create, update.

use std::collections::BTreeSet;

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use super::activities::{Activity, log_activity};
use super::{Refusal, WriteResult};
use crate::auth::Caller;
use crate::page::Page;
use crate::store::columns::{by_name, columns};
use crate::store::search::{self, Search, Source};
use crate::store::{Store, StoreResult};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptRow {
    pub id: i64,
    pub title: String,
    pub description: String,
    pub category_id: i64,
    pub category_name: String,
    pub type_id: i64,
    pub type_name: String,
    pub platform: String,
    pub status: String,
    pub severity: i64,
    pub threshold: i64,
    pub content: Vec<u8>,
    pub imported_from_id: i64,
    pub recurring_day: i64,
    pub approver_id: Option<String>,
    pub approver_name: Option<String>,
    pub created_ms: i64,
    pub created_by_id: String,
    pub created_by_name: String,
    pub updated_ms: i64,
    pub updated_by_id: String,
    pub updated_by_name: String,
    pub last_executed_ms: i64,
    pub blacklisted_commands: String,
    pub subscribed_modules: Vec<String>,
}

/// A script to store (import, clone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewScript {
    pub title: String,
    pub description: String,
    pub category_id: i64,
    pub category_name: String,
    pub type_id: i64,
    pub type_name: String,
    pub platform: String,
    pub severity: i64,
    pub threshold: i64,
    pub content: Vec<u8>,
    pub imported_from_id: i64,
    pub recurring_day: i64,
    pub blacklisted_commands: String,
    pub subscribed_modules: Vec<String>,
}

const COLS: &str = "s.id, s.title, s.description, s.category_id, s.category_name, s.type_id, \
    s.type_name, s.platform, s.status, s.severity, s.threshold, s.content, s.imported_from_id, \
    s.recurring_day, s.approver_id, s.approver_name, s.created_ms, s.created_by_id, s.created_by_name, \
    s.updated_ms, s.updated_by_id, s.updated_by_name, s.last_executed_ms, s.blacklisted_commands, \
    s.subscribed_modules_json";

pub(in crate::store) const SOURCE: Source<'static> = Source {
    cols: COLS,
    from: "scripts s",
    alias: "s",
    key: "s.id",
};

columns! {
    struct ScriptCols {
        id, title, description, category_id, category_name, type_id, type_name, platform,
        status, severity, threshold, content, imported_from_id, recurring_day, approver_id,
        approver_name, created_ms, created_by_id, created_by_name, updated_ms, updated_by_id,
        updated_by_name, last_executed_ms, blacklisted_commands, subscribed_modules_json,
    }
}

fn script_row(r: &Row<'_>, c: &ScriptCols) -> rusqlite::Result<ScriptRow> {
    let modules: String = r.get(c.subscribed_modules_json)?;
    Ok(ScriptRow {
        id: r.get(c.id)?,
        title: r.get(c.title)?,
        description: r.get(c.description)?,
        category_id: r.get(c.category_id)?,
        category_name: r.get(c.category_name)?,
        type_id: r.get(c.type_id)?,
        type_name: r.get(c.type_name)?,
        platform: r.get(c.platform)?,
        status: r.get(c.status)?,
        severity: r.get(c.severity)?,
        threshold: r.get(c.threshold)?,
        content: r.get(c.content)?,
        imported_from_id: r.get(c.imported_from_id)?,
        recurring_day: r.get(c.recurring_day)?,
        approver_id: r.get(c.approver_id)?,
        approver_name: r.get(c.approver_name)?,
        created_ms: r.get(c.created_ms)?,
        created_by_id: r.get(c.created_by_id)?,
        created_by_name: r.get(c.created_by_name)?,
        updated_ms: r.get(c.updated_ms)?,
        updated_by_id: r.get(c.updated_by_id)?,
        updated_by_name: r.get(c.updated_by_name)?,
        last_executed_ms: r.get(c.last_executed_ms)?,
        blacklisted_commands: r.get(c.blacklisted_commands)?,
        subscribed_modules: serde_json::from_str(&modules).unwrap_or_default(),
    })
}

/// A customer's script by id.
pub(super) fn script_by_id(
    conn: &Connection,
    customer_id: i64,
    id: i64,
) -> StoreResult<Option<ScriptRow>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLS} FROM scripts s WHERE s.customer_id = ?1 AND s.id = ?2"
        ))?
        .query_row(params![customer_id, id], by_name(script_row))
        .optional()?)
}

/// A customer's script by id, or else by title.
fn script_by_key(conn: &Connection, customer_id: i64, key: &str) -> StoreResult<Option<ScriptRow>> {
    if let Ok(id) = key.parse::<i64>() {
        let found = script_by_id(conn, customer_id, id)?;
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLS} FROM scripts s WHERE s.customer_id = ?1 AND s.title = ?2"
        ))?
        .query_row(params![customer_id, key], by_name(script_row))
        .optional()?)
}

fn insert_script(
    tx: &Transaction<'_>,
    caller: &Caller,
    s: &NewScript,
    now_ms: i64,
) -> StoreResult<i64> {
    let modules = serde_json::to_string(&s.subscribed_modules).unwrap_or_else(|_| "[]".into());
    tx.prepare_cached(
        "INSERT INTO scripts (customer_id, title, description, category_id, category_name, type_id, \
         type_name, platform, status, severity, threshold, content, imported_from_id, recurring_day, \
         created_ms, created_by_id, created_by_name, updated_ms, updated_by_id, updated_by_name, \
         blacklisted_commands, subscribed_modules_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, \
         'PENDING_REVIEW', ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?14, ?15, ?16, ?17, ?18)",
    )?
    .execute(params![
        caller.customer_id,
        s.title,
        s.description,
        s.category_id,
        s.category_name,
        s.type_id,
        s.type_name,
        s.platform,
        s.severity,
        s.threshold,
        s.content,
        s.imported_from_id,
        s.recurring_day,
        now_ms,
        caller.user_uuid,
        caller.display_name,
        s.blacklisted_commands,
        modules
    ])?;
    Ok(tx.last_insert_rowid())
}

fn title_taken(tx: &Transaction<'_>, customer_id: i64, title: &str) -> StoreResult<bool> {
    Ok(tx
        .prepare_cached("SELECT 1 FROM scripts WHERE customer_id = ?1 AND title = ?2")?
        .query_row(params![customer_id, title], |_| Ok(()))
        .optional()?
        .is_some())
}

fn script_count(tx: &Transaction<'_>, customer_id: i64) -> StoreResult<u64> {
    let n: i64 = tx
        .prepare_cached("SELECT count(*) FROM scripts WHERE customer_id = ?1")?
        .query_row(params![customer_id], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// What a clone of `src` stores under `title`.
fn clone_of(src: ScriptRow, title: String) -> NewScript {
    NewScript {
        title,
        description: src.description,
        category_id: src.category_id,
        category_name: src.category_name,
        type_id: src.type_id,
        type_name: src.type_name,
        platform: src.platform,
        severity: src.severity,
        threshold: src.threshold,
        content: src.content,
        imported_from_id: 0,
        recurring_day: src.recurring_day,
        blacklisted_commands: src.blacklisted_commands,
        subscribed_modules: src.subscribed_modules,
    }
}

impl Store {
    pub async fn car_scripts(&self, customer_id: i64, q: Search) -> StoreResult<Page<ScriptRow>> {
        self.search(q.filter.lookup, move |conn| {
            search::run(conn, &SOURCE, customer_id, &q, by_name(script_row))
        })
        .await
    }

    /// A script by id, or else by title.
    pub async fn car_script(
        &self,
        customer_id: i64,
        key: String,
    ) -> StoreResult<Option<ScriptRow>> {
        self.read(move |conn| script_by_key(conn, customer_id, &key))
            .await
    }

    /// Scripts by id, in the order asked; ids the customer lacks are reported.
    pub async fn car_scripts_by_ids(
        &self,
        customer_id: i64,
        ids: Vec<i64>,
    ) -> StoreResult<Result<Vec<ScriptRow>, Vec<i64>>> {
        self.read(move |conn| {
            let (mut found, mut missing) = (Vec::new(), Vec::new());
            for id in ids {
                match script_by_id(conn, customer_id, id)? {
                    Some(s) => found.push(s),
                    None => missing.push(id),
                }
            }
            Ok(if missing.is_empty() {
                Ok(found)
            } else {
                Err(missing)
            })
        })
        .await
    }

    /// Import scripts: all stored, or none.
    pub async fn car_import(
        &self,
        caller: std::sync::Arc<Caller>,
        scripts: Vec<NewScript>,
        limit: u64,
        now_ms: i64,
    ) -> WriteResult<Vec<i64>> {
        self.transaction(move |tx| {
            let count = script_count(tx, caller.customer_id)?;
            if count + scripts.len() as u64 > limit {
                return Ok(Err(Refusal::ScriptLimit(limit)));
            }
            let mut titles = BTreeSet::new();
            for s in &scripts {
                if !titles.insert(s.title.as_str())
                    || title_taken(tx, caller.customer_id, &s.title)?
                {
                    return Ok(Err(Refusal::Duplicate(s.title.clone())));
                }
            }
            let mut ids = Vec::with_capacity(scripts.len());
            for s in &scripts {
                let id = insert_script(tx, &caller, s, now_ms)?;
                let comment = format!("Imported (exported id {})", s.imported_from_id);
                log_activity(
                    tx,
                    &caller,
                    now_ms,
                    &Activity {
                        target_type: "script",
                        target_name: &s.title,
                        target_id: id,
                        action: "CREATE",
                        comment: Some(&comment),
                    },
                )?;
                ids.push(id);
            }
            Ok(Ok(ids))
        })
        .await
    }

    /// Clone a script under a new title; the clone needs review again.
    pub async fn car_clone(
        &self,
        caller: std::sync::Arc<Caller>,
        source: String,
        title: String,
        limit: u64,
        now_ms: i64,
    ) -> WriteResult<i64> {
        self.transaction(move |tx| {
            let Some(src) = script_by_key(tx, caller.customer_id, &source)? else {
                return Ok(Err(Refusal::ScriptNotFound(source)));
            };
            if matches!(src.status.as_str(), "DEPRECATED" | "REJECTED") {
                return Ok(Err(Refusal::CloneOfStatus(src.status)));
            }
            if title_taken(tx, caller.customer_id, &title)? {
                return Ok(Err(Refusal::Duplicate(title)));
            }
            if script_count(tx, caller.customer_id)? >= limit {
                return Ok(Err(Refusal::ScriptLimit(limit)));
            }
            let comment = format!("Cloned from script {}", src.id);
            let id = insert_script(tx, &caller, &clone_of(src, title.clone()), now_ms)?;
            log_activity(
                tx,
                &caller,
                now_ms,
                &Activity {
                    target_type: "script",
                    target_name: &title,
                    target_id: id,
                    action: "CREATE",
                    comment: Some(&comment),
                },
            )?;
            Ok(Ok(id))
        })
        .await
    }
}

/// A change to a script (update): each field given replaces the stored one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScriptChange {
    pub title: Option<String>,
    pub description: Option<String>,
    /// `(id, name)`
    pub category: Option<(i64, String)>,
    /// The language as the script's `type`: `(id, name)`.
    pub language: Option<(i64, String)>,
    pub platform: Option<String>,
    pub severity: Option<i64>,
    pub threshold: Option<i64>,
    pub content: Option<Vec<u8>>,
    /// The consent comment a change of content needs.
    pub comment: Option<String>,
    /// `scriptApprovalUserConsent`: the script is approved as it is stored.
    pub approve: bool,
}

/// Mark a script approved by `caller`, and log it.
fn approve(
    tx: &Transaction<'_>,
    caller: &Caller,
    id: i64,
    title: &str,
    now_ms: i64,
) -> StoreResult<()> {
    tx.prepare_cached(
        "UPDATE scripts SET status = 'APPROVED', approver_id = ?3, approver_name = ?4 \
         WHERE customer_id = ?1 AND id = ?2",
    )?
    .execute(params![
        caller.customer_id,
        id,
        caller.user_uuid,
        caller.display_name
    ])?;
    log_activity(
        tx,
        caller,
        now_ms,
        &Activity {
            target_type: "script",
            target_name: title,
            target_id: id,
            action: "APPROVE",
            comment: Some("scriptApprovalUserConsent"),
        },
    )
}

impl Store {
    /// Create a script (the create API): `PENDING_REVIEW`, or `APPROVED` by the caller when
    /// `approved` (the client's `scriptApprovalUserConsent`).
    pub async fn car_create_script(
        &self,
        caller: std::sync::Arc<Caller>,
        script: NewScript,
        approved: bool,
        limit: u64,
        now_ms: i64,
    ) -> WriteResult<i64> {
        self.transaction(move |tx| {
            if script_count(tx, caller.customer_id)? >= limit {
                return Ok(Err(Refusal::ScriptLimit(limit)));
            }
            if title_taken(tx, caller.customer_id, &script.title)? {
                return Ok(Err(Refusal::Duplicate(script.title)));
            }
            let id = insert_script(tx, &caller, &script, now_ms)?;
            log_activity(
                tx,
                &caller,
                now_ms,
                &Activity {
                    target_type: "script",
                    target_name: &script.title,
                    target_id: id,
                    action: "CREATE",
                    comment: None,
                },
            )?;
            if approved {
                approve(tx, &caller, id, &script.title, now_ms)?;
            }
            Ok(Ok(id))
        })
        .await
    }

    /// Update a script. New content needs the consent comment, and sends the script back
    /// to `PENDING_REVIEW` (unless `approve`); content equal to the stored content is no
    /// change.
    pub async fn car_update_script(
        &self,
        caller: std::sync::Arc<Caller>,
        id: i64,
        change: ScriptChange,
        now_ms: i64,
    ) -> WriteResult<()> {
        self.transaction(move |tx| {
            let customer = caller.customer_id;
            let Some(old) = script_by_id(tx, customer, id)? else {
                return Ok(Err(Refusal::ScriptNotFound(id.to_string())));
            };
            let content_changed = change.content.as_ref().is_some_and(|c| *c != old.content);
            let comment = change
                .comment
                .as_deref()
                .map(str::trim)
                .filter(|c| !c.is_empty());
            if content_changed && comment.is_none() {
                return Ok(Err(Refusal::CommentRequired));
            }
            let title = change.title.clone().unwrap_or_else(|| old.title.clone());
            if title != old.title && title_taken(tx, customer, &title)? {
                return Ok(Err(Refusal::Duplicate(title)));
            }
            let (category_id, category_name) = change
                .category
                .clone()
                .unwrap_or((old.category_id, old.category_name.clone()));
            let (type_id, type_name) = change
                .language
                .clone()
                .unwrap_or((old.type_id, old.type_name.clone()));
            let (status, approver_id, approver_name) = if content_changed {
                ("PENDING_REVIEW".to_owned(), None, None)
            } else {
                (old.status.clone(), old.approver_id, old.approver_name)
            };
            tx.prepare_cached(
                "UPDATE scripts SET title = ?3, description = ?4, category_id = ?5, \
                 category_name = ?6, type_id = ?7, type_name = ?8, platform = ?9, severity = ?10, \
                 threshold = ?11, content = ?12, status = ?13, approver_id = ?14, \
                 approver_name = ?15, updated_ms = ?16, updated_by_id = ?17, updated_by_name = ?18 \
                 WHERE customer_id = ?1 AND id = ?2",
            )?
            .execute(params![
                customer,
                id,
                title,
                change.description.as_ref().unwrap_or(&old.description),
                category_id,
                category_name,
                type_id,
                type_name,
                change.platform.as_ref().unwrap_or(&old.platform),
                change.severity.unwrap_or(old.severity),
                change.threshold.unwrap_or(old.threshold),
                change.content.as_ref().unwrap_or(&old.content),
                status,
                approver_id,
                approver_name,
                now_ms,
                caller.user_uuid,
                caller.display_name
            ])?;
            log_activity(
                tx,
                &caller,
                now_ms,
                &Activity {
                    target_type: "script",
                    target_name: &title,
                    target_id: id,
                    action: "MODIFY",
                    comment,
                },
            )?;
            if change.approve && status != "APPROVED" {
                approve(tx, &caller, id, &title, now_ms)?;
            }
            Ok(Ok(()))
        })
        .await
    }
}
