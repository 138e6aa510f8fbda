//! Scripts: get by id or title, search, export, import, clone.

use std::sync::Arc;

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;

use super::auth::CarCaller;
use super::body::SearchBody;
use super::error::CarError;
use super::extract::{CarJson, JsonObject};
use super::views::{self, Envelope, Imported, NewId, ScriptDetail, ScriptItem};
use crate::query::catalog::{CAR_SCRIPT, PLATFORMS};
use crate::state::AppState;
use crate::store::car::{NewScript, Refusal};

/// Largest script accepted (the product's documented 500 KB).
pub(crate) const MAX_SCRIPT_BYTES: usize = 500 * 1024;
/// Longest script title accepted.
pub(crate) const MAX_TITLE_CHARS: usize = 255;

/// `GET /sm/v1/scripts/{idOrName}`
pub(crate) async fn get(
    State(state): State<AppState>,
    CarCaller(caller): CarCaller,
    Path(key): Path<String>,
) -> Result<Response, CarError> {
    // The answer depends on the script and the caller's customer, nothing else.
    // Written piece by piece: `format!` pads every string it writes, on every call.
    let mut kept = String::with_capacity(64 + key.len());
    kept.push_str("GET scripts\n");
    let _ = std::fmt::Write::write_fmt(&mut kept, format_args!("{}\n", caller.customer_id));
    kept.push_str(&caller.customer_uuid);
    kept.push('\n');
    kept.push_str(&key);
    let ticket = match state.store.answer(kept) {
        Ok(json) => return Ok(views::respond_json(StatusCode::OK, json)),
        Err(ticket) => ticket,
    };
    let script = state
        .store
        .car_script(caller.customer_id, key.clone())
        .await?
        .ok_or_else(|| CarError::NotFound(format!("Script with id/name {key} not found")))?;
    let answer = Envelope::ok(ScriptDetail::new(&script, &caller, false));
    Ok(match views::to_json(&answer) {
        Ok(json) => {
            ticket.keep(Arc::clone(&json));
            views::respond_json(StatusCode::OK, json)
        }
        Err(_) => views::respond(StatusCode::OK, &answer),
    })
}

/// `POST /sm/v1/scripts/search`
pub(crate) async fn search(
    State(state): State<AppState>,
    CarCaller(caller): CarCaller,
    CarJson(body): CarJson<JsonObject>,
) -> Result<Response, CarError> {
    let body = SearchBody::from_object(&body, "filter", None, state.limits().max_page_size)?;
    let search = body.search(&CAR_SCRIPT, "created.dateTime", state.clock.now_ms())?;
    // The answer depends on the compiled search (its values resolved against the clock)
    // and the caller's customer, nothing else.
    let kept = format!(
        "POST scripts/search\n{}\n{}\n{search:?}",
        caller.customer_id, caller.customer_uuid
    );
    let ticket = match state.store.answer(kept) {
        Ok(json) => return Ok(views::respond_json(StatusCode::OK, json)),
        Err(ticket) => ticket,
    };
    let page = state.store.car_scripts(caller.customer_id, search).await?;
    Ok(
        match views::list_page_json(&page, |s| ScriptItem::new(s, &caller)) {
            Ok(json) => {
                ticket.keep(Arc::clone(&json));
                views::respond_json(StatusCode::OK, json)
            }
            Err(_) => views::list_page(&page, |s| ScriptItem::new(s, &caller)),
        },
    )
}

/// The most distinct script ids one export takes (the CAR guide states no limit).
pub(crate) const MAX_EXPORT_IDS: usize = 100;

/// `GET /sm/v1/scripts/export?ids=1,2`: a JSON array that `import` takes back. Repeated ids
/// are exported once; at most [`MAX_EXPORT_IDS`] ids, and at most `--max-body-bytes` of
/// encoded content.
pub(crate) async fn export(
    State(state): State<AppState>,
    CarCaller(caller): CarCaller,
    uri: Uri,
) -> Result<Response, CarError> {
    let params: std::collections::HashMap<String, String> = uri
        .query()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let raw = params.get("ids").map(|s| s.trim()).unwrap_or_default();
    if raw.is_empty() {
        return Err(CarError::BadRequest(
            "Query parameter ids is required, e.g. ids=16515,72652".into(),
        ));
    }
    let listed = raw
        .split(',')
        .map(|v| v.trim().parse::<i64>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| {
            let shown: String = raw.chars().take(100).collect();
            let more = if shown.len() < raw.len() { "…" } else { "" };
            CarError::BadRequest(format!(
                "ids must be script ids separated by commas (got {shown:?}{more})"
            ))
        })?;
    // A script listed twice is exported once, in the place it was first listed.
    let mut seen = std::collections::HashSet::new();
    let ids: Vec<i64> = listed.into_iter().filter(|id| seen.insert(*id)).collect();
    if ids.len() > MAX_EXPORT_IDS {
        return Err(CarError::BadRequest(format!(
            "At most {MAX_EXPORT_IDS} script ids may be exported at once (got {}); export \
             them in several requests",
            ids.len()
        )));
    }
    let scripts = match state
        .store
        .car_scripts_by_ids(caller.customer_id, ids)
        .await?
    {
        Ok(s) => s,
        Err(missing) => {
            let list: Vec<String> = missing.iter().map(i64::to_string).collect();
            return Err(CarError::NotFound(format!(
                "Script(s) not found: {}",
                list.join(", ")
            )));
        }
    };
    let blocked: Vec<String> = scripts
        .iter()
        .filter(|s| matches!(s.status.as_str(), "DEPRECATED" | "REJECTED"))
        .map(|s| format!("{} ({})", s.id, s.status))
        .collect();
    if !blocked.is_empty() {
        return Err(CarError::BadRequest(format!(
            "Deprecated or rejected scripts cannot be exported: {}",
            blocked.join(", ")
        )));
    }
    // The export must be importable: its content (base64, 4 bytes per 3) stays within the
    // largest body the server accepts.
    let limit = state.info.max_body_bytes;
    let content: usize = scripts
        .iter()
        .map(|s| s.content.len().div_ceil(3) * 4)
        .sum();
    if content > limit {
        return Err(CarError::BadRequest(format!(
            "These scripts' content is {content} bytes encoded; an export carries at most \
             {limit} bytes (what import accepts); export fewer ids at once"
        )));
    }
    let items: Vec<ScriptDetail> = scripts
        .iter()
        .map(|s| ScriptDetail::new(s, &caller, true))
        .collect();
    Ok(views::respond(StatusCode::OK, &items))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImportIdName {
    id: i64,
    name: String,
}

/// One script of an export file; fields the export carries but import ignores are allowed.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImportedScript {
    #[serde(default)]
    id: Option<Value>,
    title: String,
    #[serde(default)]
    description: Option<String>,
    category: ImportIdName,
    #[serde(rename = "type")]
    script_type: ImportIdName,
    platform: String,
    severity: i64,
    threshold: i64,
    content: String,
    #[serde(default)]
    recurring_day: Option<i64>,
    #[serde(default)]
    blacklisted_commands: Option<String>,
}

/// Validate a script title (import, clone): the guide's "proper format".
pub(crate) fn check_title(title: &str) -> Result<String, CarError> {
    let trimmed = title.trim();
    if trimmed.is_empty() {
        return Err(CarError::BadRequest("Script title is required".into()));
    }
    if trimmed.chars().count() > MAX_TITLE_CHARS {
        return Err(CarError::BadRequest(format!(
            "Script title must be at most {MAX_TITLE_CHARS} characters"
        )));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(CarError::BadRequest(
            "Script title must not contain control characters".into(),
        ));
    }
    Ok(trimmed.to_owned())
}

fn parse_export_file(bytes: &[u8]) -> Result<Vec<NewScript>, CarError> {
    let invalid = |m: String| CarError::BadRequest(format!("Invalid import file: {m}"));
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let scripts: Vec<ImportedScript> = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return invalid(format!("not valid JSON: {inner}"));
        }
        // "missing field `x` at line 1 column 15": the path says where, better.
        let text = inner.to_string();
        let text = text
            .rfind(" at line ")
            .map_or(text.as_str(), |i| &text[..i])
            .to_owned();
        match path.as_str() {
            "." => invalid(text),
            _ => invalid(format!("{path}: {text}")),
        }
    })?;
    if scripts.is_empty() {
        return Err(invalid("it holds no scripts".into()));
    }
    scripts
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            let title = check_title(&s.title).map_err(|e| invalid(format!("script {i}: {e}")))?;
            if !PLATFORMS.contains(&s.platform.as_str()) {
                return Err(invalid(format!(
                    "script {i}: unknown platform {:?}",
                    s.platform
                )));
            }
            let content = base64::engine::general_purpose::STANDARD
                .decode(s.content.trim())
                .map_err(|_| invalid(format!("script {i}: content is not base64")))?;
            if content.len() > MAX_SCRIPT_BYTES {
                return Err(invalid(format!(
                    "script {i}: content is larger than 500 KB"
                )));
            }
            let imported_from_id = match &s.id {
                Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
                Some(Value::String(v)) => v.parse().unwrap_or(0),
                _ => 0,
            };
            Ok(NewScript {
                title,
                description: s.description.unwrap_or_default(),
                category_id: s.category.id,
                category_name: s.category.name,
                type_id: s.script_type.id,
                type_name: s.script_type.name,
                platform: s.platform,
                severity: s.severity,
                threshold: s.threshold,
                content,
                imported_from_id,
                recurring_day: s.recurring_day.unwrap_or(0),
                blacklisted_commands: s.blacklisted_commands.unwrap_or_default(),
                subscribed_modules: Vec::new(),
            })
        })
        .collect()
}

/// `POST /sm/v1/scripts/import`: multipart `file` holding an export; all or nothing.
pub(crate) async fn import(
    State(state): State<AppState>,
    CarCaller(caller): CarCaller,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, CarError> {
    let mut multipart = multipart.map_err(|e| {
        CarError::BadRequest(format!(
            "Send the export file as multipart/form-data field 'file': {e}"
        ))
    })?;
    let mut file = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| CarError::BadRequest(format!("Malformed multipart body: {e}")))?
    {
        if field.name() == Some("file") || (file.is_none() && field.file_name().is_some()) {
            let bytes = field
                .bytes()
                .await
                .map_err(|e| CarError::BadRequest(format!("Malformed multipart body: {e}")))?;
            file = Some(bytes);
        }
    }
    let file =
        file.ok_or_else(|| CarError::BadRequest("The multipart field 'file' is required".into()))?;
    let scripts = parse_export_file(&file)?;
    let limit = state.limits().script_limit;
    let ids = state
        .store
        .car_import(caller, scripts, limit, state.clock.now_ms())
        .await?
        .map_err(CarError::from)?;
    Ok(views::respond(StatusCode::OK, &Imported::new(&ids)))
}

/// `POST /sm/v1/scripts/{idOrName}/clone` with `{"scriptTitle": ".."}` (`scriptId` also
/// names the new title, as the guide's curl sample sends it).
pub(crate) async fn clone(
    State(state): State<AppState>,
    CarCaller(caller): CarCaller,
    Path(key): Path<String>,
    CarJson(value): CarJson<JsonObject>,
) -> Result<Response, CarError> {
    let title = value
        .get("scriptTitle")
        .or_else(|| value.get("scriptId"))
        .and_then(Value::as_str)
        .ok_or_else(|| CarError::BadRequest("scriptTitle is required".into()))?;
    let title = check_title(title)?;
    if let Some(d) = value.get("description")
        && !d.is_string()
    {
        return Err(CarError::BadRequest("description must be a string".into()));
    }
    let limit = state.limits().script_limit;
    let id = state
        .store
        .car_clone(caller, key, title, limit, state.clock.now_ms())
        .await?
        .map_err(|r| match r {
            // Clone answers a taken title with 400, as the guide's code list has no 409.
            Refusal::Duplicate(t) => {
                CarError::BadRequest(format!("Script with the same title already exists: {t}"))
            }
            other => CarError::from(other),
        })?;
    Ok(views::respond(
        StatusCode::CREATED,
        &Envelope::created("Cloned script successfully", NewId { id }),
    ))
}
