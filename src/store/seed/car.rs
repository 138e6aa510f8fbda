//! CAR seed records: asset tags, assets, scripts, jobs, asset jobs, activities.

use std::collections::{HashMap, HashSet};

use base64::Engine as _;
use rusqlite::params;
use serde::{Deserialize, Serialize};

use super::check::{Check, Owners};
use super::{Known, Seed, SeedError};
use crate::store::StoreResult;
use crate::store::objects::{
    ACTIVITIES, ASSET_JOBS, ASSET_TAGS, ASSETS, SCRIPT_JOBS, SCRIPTS, Table,
};

pub use crate::query::catalog::{ASSET_JOB_STATUSES, EXECUTION_TYPES, PLATFORMS, SCRIPT_STATUSES};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AssetTagSeed {
    pub id: i64,
    pub customer: String,
    pub uuid: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub background_color: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InterfaceSeed {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface_name: Option<String>,
}

fn host() -> String {
    "HOST".to_owned()
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AssetSeed {
    pub id: i64,
    pub customer: String,
    pub agent_id: String,
    pub agent_uuid: String,
    pub name: String,
    pub address: String,
    pub operating_system: String,
    #[serde(default = "host")]
    pub asset_type: String,
    #[serde(default)]
    pub agent_version: String,
    #[serde(default)]
    pub activated_for_modules: Vec<String>,
    #[serde(default)]
    pub interfaces: Vec<InterfaceSeed>,
    #[serde(default)]
    pub tags: Vec<i64>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IdName {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScriptSeed {
    pub id: i64,
    pub customer: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub category: IdName,
    #[serde(rename = "type")]
    pub script_type: IdName,
    pub platform: String,
    pub status: String,
    pub severity: i64,
    pub threshold: i64,
    /// The script's text; `contentBase64` gives bytes instead.
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_base64: Option<String>,
    #[serde(default)]
    pub imported_from_id: i64,
    #[serde(default)]
    pub recurring_day: i64,
    #[serde(default)]
    pub blacklisted_commands: String,
    #[serde(default)]
    pub subscribed_modules: Vec<String>,
    pub created: String,
    pub created_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_executed: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JobSeed {
    pub id: i64,
    pub customer: String,
    pub script: i64,
    pub correlation_uuid: String,
    pub execution_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default)]
    pub is_test: bool,
    pub created: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AssetJobSeed {
    pub id: i64,
    pub customer: String,
    pub job: i64,
    pub asset: i64,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_code: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    pub manifest_id: String,
    pub created: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ActivitySeed {
    pub id: String,
    pub customer: String,
    pub user: String,
    pub created: String,
    pub target_type: String,
    pub target_name: String,
    pub target_id: String,
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_comment: Option<String>,
}

/// A script's own fields: its status, platform, content and dates.
fn check_script_fields(c: &Check<'_>, s: &ScriptSeed) -> Result<(), SeedError> {
    c.one_of("status", &s.status, SCRIPT_STATUSES)?;
    c.one_of("platform", &s.platform, PLATFORMS)?;
    match (&s.content, &s.content_base64) {
        (Some(_), None) => {}
        (None, Some(b64)) => {
            if base64::engine::general_purpose::STANDARD
                .decode(b64)
                .is_err()
            {
                return Err(c.fail("contentBase64", "is not base64"));
            }
        }
        _ => return Err(c.fail("content", "give exactly one of content and contentBase64")),
    }
    c.date("created", &s.created)?;
    if let Some(u) = &s.updated {
        c.date("updated", u)?;
    }
    if let Some(u) = &s.last_executed {
        c.date("lastExecuted", u)?;
    }
    Ok(())
}

impl Seed {
    pub(super) fn validate_car(
        &self,
        customers: &HashSet<&str>,
        known: &dyn Known,
    ) -> Result<(), SeedError> {
        let users: HashMap<&str, &str> = self
            .users
            .iter()
            .map(|u| (u.username.as_str(), u.customer.as_str()))
            .collect();
        let user_of = |check: &Check<'_>, field: &str, user: &str, customer: &str| match users
            .get(user)
            .map(|c| c.to_string())
            .or_else(|| known.user_customer(user))
        {
            Some(c) if c == customer => Ok(()),
            Some(_) => Err(check.fail(field, format!("user {user:?} belongs to another customer"))),
            None => Err(check.fail(field, format!("unknown user {user:?}"))),
        };

        let check = |table: &'static Table, index: usize, name: String| Check {
            table,
            index,
            name,
            customers,
            known,
        };
        let mut tags = Owners::new();
        for (index, t) in self.asset_tags.iter().enumerate() {
            let c = check(&ASSET_TAGS, index, t.name.clone());
            c.customer(&t.customer)?;
            c.unique(t.id, &mut tags, &t.customer)?;
        }
        let mut assets = Owners::new();
        for (index, a) in self.assets.iter().enumerate() {
            let c = check(&ASSETS, index, a.name.clone());
            c.customer(&a.customer)?;
            c.unique(a.id, &mut assets, &a.customer)?;
            let mut listed = HashSet::new();
            for t in &a.tags {
                if !listed.insert(*t) {
                    return Err(c.fail("tags", format!("duplicate tag id {t}")));
                }
                c.owned("tags", &ASSET_TAGS, *t, &tags, &a.customer)?;
            }
        }
        let mut scripts = Owners::new();
        let mut titles = HashSet::new();
        for (index, s) in self.scripts.iter().enumerate() {
            let c = check(&SCRIPTS, index, s.title.clone());
            c.customer(&s.customer)?;
            c.unique(s.id, &mut scripts, &s.customer)?;
            if s.title.trim().is_empty()
                || !titles.insert((s.customer.as_str(), s.title.as_str()))
                || known.script_title_taken(&s.customer, &s.title)
            {
                return Err(c.fail("title", "empty, or the customer has this title already"));
            }
            check_script_fields(&c, s)?;
            user_of(&c, "createdBy", &s.created_by, &s.customer)?;
            for (field, user) in [("updatedBy", &s.updated_by), ("approvedBy", &s.approved_by)] {
                if let Some(user) = user {
                    user_of(&c, field, user, &s.customer)?;
                }
            }
        }
        let mut jobs = Owners::new();
        for (index, j) in self.jobs.iter().enumerate() {
            let c = check(&SCRIPT_JOBS, index, j.id.to_string());
            c.customer(&j.customer)?;
            c.unique(j.id, &mut jobs, &j.customer)?;
            c.owned("script", &SCRIPTS, j.script, &scripts, &j.customer)?;
            c.one_of("executionType", &j.execution_type, EXECUTION_TYPES)?;
            c.date("created", &j.created)?;
        }
        let mut asset_jobs = Owners::new();
        for (index, a) in self.asset_jobs.iter().enumerate() {
            let c = check(&ASSET_JOBS, index, a.id.to_string());
            c.customer(&a.customer)?;
            c.unique(a.id, &mut asset_jobs, &a.customer)?;
            c.owned("job", &SCRIPT_JOBS, a.job, &jobs, &a.customer)?;
            c.owned("asset", &ASSETS, a.asset, &assets, &a.customer)?;
            c.one_of("status", &a.status, ASSET_JOB_STATUSES)?;
            c.date("created", &a.created)?;
            if let Some(e) = &a.ended {
                c.date("ended", e)?;
            }
        }
        let mut ids = HashSet::new();
        for (index, a) in self.activities.iter().enumerate() {
            let c = check(&ACTIVITIES, index, a.id.clone());
            c.customer(&a.customer)?;
            if !ids.insert(a.id.as_str()) || known.activity_taken(&a.id) {
                return Err(c.fail("id", "duplicate id"));
            }
            user_of(&c, "user", &a.user, &a.customer)?;
            c.date("created", &a.created)?;
        }
        Ok(())
    }

    pub(super) fn insert_car(
        &self,
        tx: &rusqlite::Transaction<'_>,
        ids: &super::Ids,
    ) -> StoreResult<()> {
        self.insert_assets(tx, ids)?;
        self.insert_scripts(tx, ids)?;
        self.insert_jobs(tx, ids)?;
        self.insert_activities(tx, ids)
    }

    /// Asset tags, then assets with their interfaces and tag links.
    fn insert_assets(&self, tx: &rusqlite::Transaction<'_>, ids: &super::Ids) -> StoreResult<()> {
        let cust = |name: &str| ids.customer(name);

        let mut stmt = tx.prepare_cached(
            "INSERT INTO asset_tags (id, customer_id, uuid, name, background_color) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for t in &self.asset_tags {
            stmt.execute(params![
                t.id,
                cust(&t.customer),
                t.uuid,
                t.name,
                t.background_color
            ])?;
        }
        let mut stmt = tx.prepare_cached(
            "INSERT INTO assets (id, customer_id, agent_id, agent_uuid, name, address, operating_system, \
             asset_type, agent_version, activated_for_modules_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?;
        let mut iface = tx.prepare_cached(
            "INSERT INTO asset_interfaces (asset_id, customer_id, position, hostname, mac_address, address, \
             interface_name) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        let mut link = tx.prepare_cached(
            "INSERT INTO asset_tag_links (asset_id, tag_id, customer_id) VALUES (?1, ?2, ?3)",
        )?;
        for a in &self.assets {
            let modules =
                serde_json::to_string(&a.activated_for_modules).unwrap_or_else(|_| "[]".into());
            stmt.execute(params![
                a.id,
                cust(&a.customer),
                a.agent_id,
                a.agent_uuid,
                a.name,
                a.address,
                a.operating_system,
                a.asset_type,
                a.agent_version,
                modules
            ])?;
            for (pos, i) in a.interfaces.iter().enumerate() {
                iface.execute(params![
                    a.id,
                    cust(&a.customer),
                    pos as i64,
                    i.hostname,
                    i.mac_address,
                    i.address,
                    i.interface_name
                ])?;
            }
            for t in &a.tags {
                link.execute(params![a.id, t, cust(&a.customer)])?;
            }
        }
        Ok(())
    }

    /// Scripts, their authors resolved to stored users.
    fn insert_scripts(&self, tx: &rusqlite::Transaction<'_>, ids: &super::Ids) -> StoreResult<()> {
        let cust = |name: &str| ids.customer(name);
        let ms = |v: &str| crate::dates::parse_ms(v).unwrap_or(0);
        let user = |name: &str| ids.user(name);
        let mut stmt = tx.prepare_cached(
            "INSERT INTO scripts (id, customer_id, title, description, category_id, category_name, type_id, \
             type_name, platform, status, severity, threshold, content, imported_from_id, recurring_day, \
             approver_id, approver_name, created_ms, created_by_id, created_by_name, updated_ms, updated_by_id, \
             updated_by_name, last_executed_ms, blacklisted_commands, subscribed_modules_json) VALUES \
             (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, \
             ?23, ?24, ?25, ?26)",
        )?;
        for s in &self.scripts {
            let content: Vec<u8> = match (&s.content, &s.content_base64) {
                (Some(text), _) => text.as_bytes().to_vec(),
                (None, Some(b64)) => base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .unwrap_or_default(),
                (None, None) => Vec::new(),
            };
            let created = user(&s.created_by);
            let updated = user(s.updated_by.as_deref().unwrap_or(&s.created_by));
            let approver = s.approved_by.as_deref().map(user);
            let modules =
                serde_json::to_string(&s.subscribed_modules).unwrap_or_else(|_| "[]".into());
            stmt.execute(params![
                s.id,
                cust(&s.customer),
                s.title,
                s.description,
                s.category.id,
                s.category.name,
                s.script_type.id,
                s.script_type.name,
                s.platform,
                s.status,
                s.severity,
                s.threshold,
                content,
                s.imported_from_id,
                s.recurring_day,
                approver.map(|a| a.0),
                approver.map(|a| a.1),
                ms(&s.created),
                created.0,
                created.1,
                ms(s.updated.as_deref().unwrap_or(&s.created)),
                updated.0,
                updated.1,
                s.last_executed.as_deref().map(ms).unwrap_or(0),
                s.blacklisted_commands,
                modules
            ])?;
        }
        Ok(())
    }

    /// Jobs (each copying its script) and their asset jobs.
    fn insert_jobs(&self, tx: &rusqlite::Transaction<'_>, ids: &super::Ids) -> StoreResult<()> {
        let cust = |name: &str| ids.customer(name);
        let ms = |v: &str| crate::dates::parse_ms(v).unwrap_or(0);
        // A job copies its script as it is stored: one seeded now or one stored before.
        let mut stmt = tx.prepare_cached(
            "INSERT INTO script_jobs (id, customer_id, script_id, correlation_uuid, execution_type, title, is_test, \
             script_title, script_type, platform, severity, threshold, category_id, category_name, created_ms, \
             updated_ms) SELECT ?1, ?2, ?3, ?4, ?5, coalesce(?6, s.title || '-' || (?8 / 1000)), ?7, s.title, \
             s.type_name, s.platform, s.severity, s.threshold, s.category_id, s.category_name, ?8, ?8 \
             FROM scripts s WHERE s.id = ?3",
        )?;
        for j in &self.jobs {
            let inserted = stmt.execute(params![
                j.id,
                cust(&j.customer),
                j.script,
                j.correlation_uuid,
                j.execution_type,
                j.title,
                j.is_test,
                ms(&j.created),
            ])?;
            if inserted != 1 {
                return Err(SeedError::file(
                    "jobs.json",
                    format!("job {}: no such script {}", j.id, j.script),
                )
                .into());
            }
        }
        let mut stmt = tx.prepare_cached(
            "INSERT INTO asset_jobs (id, customer_id, job_id, asset_id, status, output_code, output_text, \
             script_result, manifest_id, is_test, created_ms, started_ms, end_ms) VALUES \
             (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, \
             coalesce((SELECT is_test FROM script_jobs WHERE id = ?3), 0), ?10, ?11, ?12)",
        )?;
        for a in &self.asset_jobs {
            let created = ms(&a.created);
            let started = (a.status != "QUEUED").then_some(created);
            stmt.execute(params![
                a.id,
                cust(&a.customer),
                a.job,
                a.asset,
                a.status,
                a.output_code,
                a.output_text,
                a.result.as_deref().map(str::as_bytes),
                a.manifest_id,
                created,
                started,
                a.ended.as_deref().map(ms)
            ])?;
        }
        Ok(())
    }

    /// The activity log.
    fn insert_activities(
        &self,
        tx: &rusqlite::Transaction<'_>,
        ids: &super::Ids,
    ) -> StoreResult<()> {
        let cust = |name: &str| ids.customer(name);
        let ms = |v: &str| crate::dates::parse_ms(v).unwrap_or(0);
        let user = |name: &str| ids.user(name);
        let mut stmt = tx.prepare_cached(
            "INSERT INTO activities (uuid, customer_id, user_name, user_uuid, created_ms, target_type, \
             target_name, target_id, action, audit_comment, custom_fields_json) VALUES \
             (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;
        for a in &self.activities {
            let fields = serde_json::json!([{"key": "targetId", "value": a.target_id}]).to_string();
            stmt.execute(params![
                a.id,
                cust(&a.customer),
                a.user,
                user(&a.user).0,
                ms(&a.created),
                a.target_type,
                a.target_name,
                a.target_id,
                a.action,
                a.audit_comment,
                fields
            ])?;
        }
        Ok(())
    }
}
