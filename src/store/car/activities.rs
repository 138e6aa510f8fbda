//! Activities: the audit trail every CAR write adds to, and its search.

use rusqlite::{Row, Transaction, params};

use crate::auth::Caller;
use crate::page::Page;
use crate::store::columns::{by_name, columns};
use crate::store::search::{self, Search, Source};
use crate::store::{Store, StoreResult};

#[derive(Debug, Clone, PartialEq)]
pub struct ActivityRow {
    pub uuid: String,
    pub user_name: String,
    pub user_uuid: String,
    pub client: Option<String>,
    pub source_ip: Option<String>,
    pub created_ms: i64,
    pub target_type: String,
    pub target_name: String,
    pub action: String,
    pub audit_comment: Option<String>,
    pub custom_fields: serde_json::Value,
}

pub(in crate::store) const SOURCE: Source<'static> = Source {
    cols: "ac.uuid, ac.user_name, ac.user_uuid, ac.client, ac.source_ip, ac.created_ms, \
           ac.target_type, ac.target_name, ac.action, ac.audit_comment, ac.custom_fields_json",
    from: "activities ac",
    alias: "ac",
    key: "ac.seq",
};

columns! {
    struct ActivityCols {
        uuid, user_name, user_uuid, client, source_ip, created_ms, target_type, target_name,
        action, audit_comment, custom_fields_json,
    }
}

fn activity_row(r: &Row<'_>, c: &ActivityCols) -> rusqlite::Result<ActivityRow> {
    let fields: String = r.get(c.custom_fields_json)?;
    Ok(ActivityRow {
        uuid: r.get(c.uuid)?,
        user_name: r.get(c.user_name)?,
        user_uuid: r.get(c.user_uuid)?,
        client: r.get(c.client)?,
        source_ip: r.get(c.source_ip)?,
        created_ms: r.get(c.created_ms)?,
        target_type: r.get(c.target_type)?,
        target_name: r.get(c.target_name)?,
        action: r.get(c.action)?,
        audit_comment: r.get(c.audit_comment)?,
        custom_fields: serde_json::from_str(&fields).unwrap_or_default(),
    })
}

/// What a write did, for the audit trail.
pub(super) struct Activity<'a> {
    pub target_type: &'a str,
    pub target_name: &'a str,
    pub target_id: i64,
    pub action: &'a str,
    pub comment: Option<&'a str>,
}

/// Record an audit activity inside a write.
pub(super) fn log_activity(
    tx: &Transaction<'_>,
    caller: &Caller,
    now_ms: i64,
    a: &Activity<'_>,
) -> StoreResult<()> {
    let fields =
        serde_json::json!([{"key": "targetId", "value": a.target_id.to_string()}]).to_string();
    tx.prepare_cached(
        "INSERT INTO activities (uuid, customer_id, user_name, user_uuid, created_ms, target_type, \
         target_name, target_id, action, audit_comment, custom_fields_json) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        uuid::Uuid::new_v4().to_string(),
        caller.customer_id,
        caller.username,
        caller.user_uuid,
        now_ms,
        a.target_type,
        a.target_name,
        a.target_id.to_string(),
        a.action,
        a.comment,
        fields
    ])?;
    Ok(())
}

impl Store {
    pub async fn car_activities(
        &self,
        customer_id: i64,
        q: Search,
    ) -> StoreResult<Page<ActivityRow>> {
        self.search(q.filter.lookup, move |conn| {
            search::run(conn, &SOURCE, customer_id, &q, by_name(activity_row))
        })
        .await
    }
}
