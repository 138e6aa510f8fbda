//! CAR objects, paged with `pageNumber`/`pageSize` until a page comes back short: the
//! activity log first (it names users by their login), then asset tags, assets, scripts
//! (content through export, only with `--keep-script-content`), jobs and asset jobs with
//! their results. One page at a time is held in memory, then written and checkpointed.

use std::collections::HashSet;

use base64::Engine;
use reqwest::Method;
use serde_json::{Value, json};

use super::client::Client;
use super::sink::Sink;
use super::{Harvest, RecordError};
use crate::store::seed::car::{IdName, InterfaceSeed};
use crate::store::seed::{
    ActivitySeed, AssetJobSeed, AssetSeed, AssetTagSeed, JobSeed, ScriptSeed,
};

/// Records a page.
const PAGE: i64 = 100;
/// Script ids an export takes at once.
const EXPORT_BATCH: usize = 50;
/// What stands for a script's content or result that was not kept.
pub(crate) const CONTENT_PLACEHOLDER: &str =
    "# script content not recorded (qualys-mock record --keep-script-content keeps it)\n";
pub(crate) const RESULT_PLACEHOLDER: &str =
    "script output not recorded (qualys-mock record --keep-script-content keeps it)\n";

/// One CAR object type: its search path, where its list is, and its seed file.
#[derive(Clone, Copy)]
enum Kind {
    Activities,
    Tags,
    Assets,
    Scripts,
    Jobs,
    AssetJobs,
}

impl Kind {
    const ALL: [Kind; 6] = [
        Kind::Activities,
        Kind::Tags,
        Kind::Assets,
        Kind::Scripts,
        Kind::Jobs,
        Kind::AssetJobs,
    ];

    fn path(self) -> &'static str {
        match self {
            Kind::Activities => "/sm/v1/scripts/activities",
            Kind::Tags => "/sm/v1/assettags/search",
            Kind::Assets => "/sm/v1/assets/search",
            Kind::Scripts => "/sm/v1/scripts/search",
            Kind::Jobs => "/sm/v1/jobs/search",
            Kind::AssetJobs => "/sm/v1/assetjobs/search",
        }
    }

    /// Its seed file, as the registry of object types names it.
    fn file(self) -> &'static str {
        use crate::store::objects::{self, seed_file_of};
        match self {
            Kind::Activities => const { seed_file_of(&objects::ACTIVITIES).name },
            Kind::Tags => const { seed_file_of(&objects::ASSET_TAGS).name },
            Kind::Assets => const { seed_file_of(&objects::ASSETS).name },
            Kind::Scripts => const { seed_file_of(&objects::SCRIPTS).name },
            Kind::Jobs => const { seed_file_of(&objects::SCRIPT_JOBS).name },
            Kind::AssetJobs => const { seed_file_of(&objects::ASSET_JOBS).name },
        }
    }
}

/// Ids recorded so far, for references.
#[derive(Default)]
struct Known {
    tags: HashSet<i64>,
    assets: HashSet<i64>,
    scripts: HashSet<i64>,
    jobs: HashSet<i64>,
}

impl Known {
    fn set(&mut self, kind: Kind) -> Option<&mut HashSet<i64>> {
        match kind {
            Kind::Tags => Some(&mut self.tags),
            Kind::Assets => Some(&mut self.assets),
            Kind::Scripts => Some(&mut self.scripts),
            Kind::Jobs => Some(&mut self.jobs),
            Kind::Activities | Kind::AssetJobs => None,
        }
    }
}

/// Record every CAR object type into `h`'s folder.
pub(crate) async fn record(h: &Harvest, client: &Client, gateway: &str) -> Result<(), RecordError> {
    let base = gateway.trim_end_matches('/');
    // A first call: the token's claims name the recording user's UUID, and a user without
    // the CAR module is told so before anything is written.
    let probe = format!("{base}/sm/v1/assettags/search");
    let body = json!({"pageNumber": 0, "pageSize": 1});
    let answer = client.car(Method::POST, &probe, Some(&body)).await?;
    json_answer(&probe, answer.status.as_u16(), &answer.body)?;
    if let Some(uuid) = client.claims().user_uuid {
        h.user(&uuid, Some(&h.opts.username), None);
    }
    let mut known = Known::default();
    for kind in Kind::ALL {
        page_through(h, client, base, kind, &mut known).await?;
    }
    Ok(())
}

async fn page_through(
    h: &Harvest,
    client: &Client,
    base: &str,
    kind: Kind,
    known: &mut Known,
) -> Result<(), RecordError> {
    let at = h.state(|s| s.file(kind.file()));
    if let Some(set) = known.set(kind).filter(|_| at.bytes > 0) {
        super::sink::read_records(&h.dir, kind.file(), |v| {
            if let Some(id) = v.get("id").and_then(Value::as_i64) {
                set.insert(id);
            }
        })?;
    }
    if at.done {
        h.progress.skip(kind.file(), at.records);
        return Ok(());
    }
    let mut sink = Sink::open(&h.dir, kind.file(), &at)?;
    h.progress.start(kind.file(), sink.records());
    let url = format!("{base}{}", kind.path());
    let mut page = at.cursor;
    loop {
        let mut body = json!({"pageNumber": page, "pageSize": PAGE});
        if matches!(kind, Kind::AssetJobs) {
            body["includeScriptResult"] = Value::Bool(h.opts.keep_script_content);
        }
        let answer = client.car(Method::POST, &url, Some(&body)).await?;
        let value = json_answer(&url, answer.status.as_u16(), &answer.body)?;
        let items = list_of(&value, kind);
        let count = items.len() as i64;
        let mut scripts = Vec::new();
        for item in items {
            match kind {
                Kind::Scripts => scripts.push(item.clone()),
                _ => {
                    if let (Some(id), Some(set)) =
                        (write(h, kind, item, known, &mut sink)?, known.set(kind))
                    {
                        set.insert(id);
                    }
                }
            }
            h.progress.add(kind.file(), 1);
        }
        if !scripts.is_empty() {
            write_scripts(h, client, base, &scripts, known, &mut sink).await?;
        }
        if count < PAGE {
            let state = sink.finish()?;
            h.update(|s| {
                s.files.insert(kind.file().to_owned(), state);
            })?;
            h.progress.finish(kind.file());
            return Ok(());
        }
        page += 1;
        let state = sink.checkpoint(page)?;
        h.update(|s| {
            s.files.insert(kind.file().to_owned(), state);
        })?;
    }
}

/// A CAR answer as JSON, or the recorder's error for it.
fn json_answer(url: &str, status: u16, body: &[u8]) -> Result<Value, RecordError> {
    let where_ = super::client::path_of(url);
    let value: Option<Value> = serde_json::from_slice(body).ok();
    match status {
        200..=299 => value.ok_or_else(|| {
            RecordError::Platform(format!(
                "{where_} answered HTTP {status} without JSON: is --gateway-url a Qualys API gateway?"
            ))
        }),
        401 | 403 => Err(RecordError::Credentials(format!(
            "{where_}: HTTP {status} with a fresh token: the user may not use CAR (record with a user that has the CAR module, or leave out --gateway-url)"
        ))),
        _ => {
            let message = value
                .as_ref()
                .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_default();
            Err(RecordError::Platform(format!(
                "{where_} answered HTTP {status} {message}"
            )))
        }
    }
}

fn list_of(value: &Value, kind: Kind) -> Vec<&Value> {
    let list = match kind {
        Kind::Activities => value.get("auditRecords"),
        _ => value.get("body").and_then(|b| b.get("list")),
    };
    let items = list
        .and_then(Value::as_array)
        .map(|l| l.iter().collect::<Vec<_>>());
    let items = items.unwrap_or_default();
    match kind {
        // An asset search wraps each asset in `{"sortValues", "data"}`.
        Kind::Assets => items
            .into_iter()
            .map(|i| i.get("data").unwrap_or(i))
            .collect(),
        _ => items,
    }
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn int(v: &Value, key: &str) -> Option<i64> {
    let field = v.get(key)?;
    field
        .as_i64()
        .or_else(|| field.as_str().and_then(|t| t.trim().parse().ok()))
}

fn ms_iso(ms: Option<i64>) -> Option<String> {
    ms.filter(|m| *m > 0).map(crate::dates::iso_ms)
}

/// A `{"dateTime": ms, "user": {"id", "name"}}` stamp: the time, and the user (noted).
fn stamp(h: &Harvest, v: &Value) -> (Option<String>, Option<String>) {
    let time = ms_iso(v.get("dateTime").and_then(Value::as_i64));
    let user = v
        .get("user")
        .filter(|u| !s(u, "id").is_empty())
        .map(|u| h.user(s(u, "id"), None, Some(s(u, "name"))));
    (time, user)
}

/// Write one record of `kind` (scripts go through [`write_scripts`]); its id, when it was
/// written (a record whose reference was not recorded is left out and counted).
fn write(
    h: &Harvest,
    kind: Kind,
    v: &Value,
    known: &Known,
    sink: &mut Sink,
) -> Result<Option<i64>, RecordError> {
    let customer = h.opts.customer.clone();
    let p = &h.pseudo;
    match kind {
        Kind::Activities => {
            let user = h.user(s(v, "userUuid"), Some(s(v, "userName")), None);
            let target_id = v
                .get("customFields")
                .and_then(Value::as_array)
                .and_then(|fields| {
                    fields
                        .iter()
                        .find(|f| s(f, "key") == "targetId")
                        .map(|f| s(f, "value").to_owned())
                })
                .unwrap_or_default();
            sink.push(&ActivitySeed {
                id: p.uuid(s(v, "id")),
                customer,
                user,
                created: ms_iso(int(v, "createdDate")).unwrap_or_default(),
                target_type: s(v, "targetType").to_owned(),
                target_name: s(v, "targetName").to_owned(),
                target_id,
                action: s(v, "action").to_owned(),
                audit_comment: v
                    .get("auditComment")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            })?;
            Ok(None)
        }
        Kind::Tags => {
            let id = int(v, "tagId").or_else(|| int(v, "id")).unwrap_or(0);
            sink.push(&AssetTagSeed {
                id,
                customer,
                uuid: p.uuid(s(v, "tagUuid")),
                name: s(v, "name").to_owned(),
                background_color: v
                    .get("backgroundColor")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            })?;
            Ok(Some(id))
        }
        Kind::Assets => {
            let id = int(v, "assetId").unwrap_or(0);
            let interfaces = v
                .get("interfaces")
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .map(|i| InterfaceSeed {
                            hostname: opt(i, "hostname").map(|x| p.hostname(&x)),
                            mac_address: opt(i, "macAddress").map(|x| p.mac(&x)),
                            address: opt(i, "address").map(|x| p.address(&x)),
                            interface_name: opt(i, "interfaceName"),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let tags = ids(v, "tags")
                .into_iter()
                .filter(|t| known.tags.contains(t))
                .collect();
            sink.push(&AssetSeed {
                id,
                customer,
                agent_id: p.uuid(s(v, "id")),
                agent_uuid: p.uuid(s(v, "agentUuid")),
                name: p.hostname(s(v, "name")),
                address: p.address(s(v, "address")),
                operating_system: s(v, "operatingSystem").to_owned(),
                asset_type: opt(v, "assetType").unwrap_or_else(|| "HOST".to_owned()),
                agent_version: s(v, "agentVersion").to_owned(),
                activated_for_modules: strings(v, "activatedForModules"),
                interfaces,
                tags,
            })?;
            Ok(Some(id))
        }
        Kind::Jobs => {
            let id = int(v, "id").unwrap_or(0);
            let script = int(v, "scriptId").unwrap_or(0);
            if !known.scripts.contains(&script) {
                h.progress.left_out(kind.file());
                return Ok(None);
            }
            sink.push(&JobSeed {
                id,
                customer,
                script,
                correlation_uuid: p.uuid(s(v, "correlationUuid")),
                execution_type: s(v, "executionType").to_owned(),
                title: opt(v, "title"),
                is_test: v.get("isTest").and_then(Value::as_bool).unwrap_or(false),
                created: ms_iso(v.get("created").and_then(|c| int(c, "dateTime")))
                    .unwrap_or_default(),
            })?;
            Ok(Some(id))
        }
        Kind::AssetJobs => {
            let id = int(v, "id").unwrap_or(0);
            let job = v.get("job").and_then(|j| int(j, "id")).unwrap_or(0);
            let asset = v.get("asset").and_then(|a| int(a, "id"));
            let Some(asset) = asset.filter(|a| known.assets.contains(a)) else {
                h.progress.left_out(kind.file());
                return Ok(None);
            };
            if !known.jobs.contains(&job) {
                h.progress.left_out(kind.file());
                return Ok(None);
            }
            let output = v.get("output");
            let result = match v.get("scriptResult").and_then(Value::as_str) {
                Some(_) if !h.opts.keep_script_content => Some(RESULT_PLACEHOLDER.to_owned()),
                Some(b64) => base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .ok()
                    .map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
                None if !h.opts.keep_script_content
                    && output.and_then(|o| int(o, "code")).is_some() =>
                {
                    Some(RESULT_PLACEHOLDER.to_owned())
                }
                None => None,
            };
            sink.push(&AssetJobSeed {
                id,
                customer,
                job,
                asset,
                status: s(v, "status").to_owned(),
                output_code: output.and_then(|o| int(o, "code")),
                output_text: output.and_then(|o| opt(o, "text")),
                result,
                manifest_id: p.uuid(s(v, "manifestId")),
                created: ms_iso(v.get("created").and_then(|c| int(c, "dateTime")))
                    .unwrap_or_default(),
                ended: v
                    .get("enddate")
                    .and_then(Value::as_str)
                    .and_then(crate::dates::parse_ms)
                    .map(crate::dates::iso_ms),
            })?;
            Ok(Some(id))
        }
        Kind::Scripts => Ok(None),
    }
}

/// A page of scripts: the search items, with their content from export when kept.
async fn write_scripts(
    h: &Harvest,
    client: &Client,
    base: &str,
    items: &[Value],
    known: &mut Known,
    sink: &mut Sink,
) -> Result<(), RecordError> {
    let mut contents = std::collections::HashMap::new();
    if h.opts.keep_script_content {
        // Export takes scripts in batches but refuses rejected and deprecated ones; those
        // are read one by one (`GET scripts/{id}` shows content too).
        let (exportable, single): (Vec<&Value>, Vec<&Value>) = items
            .iter()
            .partition(|v| !matches!(s(v, "status"), "REJECTED" | "DEPRECATED"));
        let ids: Vec<i64> = exportable.iter().filter_map(|v| int(v, "id")).collect();
        for batch in ids.chunks(EXPORT_BATCH) {
            let list = batch
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",");
            let url = format!("{base}/sm/v1/scripts/export?ids={list}");
            let answer = client.car(Method::GET, &url, None).await?;
            let value = json_answer(&url, answer.status.as_u16(), &answer.body)?;
            // The guide shows a bare array; an envelope is read too.
            let exported = value
                .as_array()
                .or_else(|| value.get("body").and_then(Value::as_array))
                .cloned()
                .unwrap_or_default();
            for script in &exported {
                note_content(script, &mut contents);
            }
        }
        for v in single {
            let Some(id) = int(v, "id") else { continue };
            let url = format!("{base}/sm/v1/scripts/{id}");
            let answer = client.car(Method::GET, &url, None).await?;
            let value = json_answer(&url, answer.status.as_u16(), &answer.body)?;
            note_content(value.get("body").unwrap_or(&value), &mut contents);
        }
    }
    for v in items {
        let id = int(v, "id").unwrap_or(0);
        let (created, created_by) = stamp(h, v.get("created").unwrap_or(&Value::Null));
        let (updated, updated_by) = stamp(h, v.get("updated").unwrap_or(&Value::Null));
        let approved_by = v
            .get("approverId")
            .and_then(Value::as_str)
            .filter(|uuid| !uuid.is_empty())
            .map(|uuid| h.user(uuid, None, v.get("approverName").and_then(Value::as_str)));
        let id_name = |key: &str| {
            let pair = v.get(key);
            IdName {
                id: pair.and_then(|p| int(p, "id")).unwrap_or(0),
                name: pair.map(|p| s(p, "name").to_owned()).unwrap_or_default(),
            }
        };
        let (content, content_base64) = match contents.get(&id) {
            Some(b64) => (None, Some(b64.clone())),
            None => (Some(CONTENT_PLACEHOLDER.to_owned()), None),
        };
        sink.push(&ScriptSeed {
            id,
            customer: h.opts.customer.clone(),
            title: s(v, "title").to_owned(),
            description: s(v, "description").to_owned(),
            category: id_name("category"),
            script_type: id_name("type"),
            platform: s(v, "platform").to_owned(),
            status: s(v, "status").to_owned(),
            severity: int(v, "severity").unwrap_or(0),
            threshold: int(v, "threshold").unwrap_or(0),
            content,
            content_base64,
            imported_from_id: int(v, "importedFromId").unwrap_or(0),
            recurring_day: v
                .get("schedule")
                .and_then(|sc| int(sc, "recurringDay"))
                .unwrap_or(0),
            blacklisted_commands: s(v, "blacklistedCommands").to_owned(),
            subscribed_modules: strings(v, "subscribedModules"),
            created: created.unwrap_or_default(),
            created_by: created_by.unwrap_or_else(|| h.recording_user()),
            updated,
            updated_by,
            approved_by,
            last_executed: ms_iso(int(v, "lastExecutedDateTime")),
        })?;
        known.scripts.insert(id);
    }
    Ok(())
}

/// A script's base64 content, by id.
fn note_content(script: &Value, contents: &mut std::collections::HashMap<i64, String>) {
    if let (Some(id), Some(content)) = (
        int(script, "id"),
        script.get("content").and_then(Value::as_str),
    ) {
        contents.insert(id, content.to_owned());
    }
}

fn opt(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn ids(v: &Value, key: &str) -> Vec<i64> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(|x| {
                    x.as_i64()
                        .or_else(|| x.as_str().and_then(|t| t.parse().ok()))
                })
                .collect()
        })
        .unwrap_or_default()
}
