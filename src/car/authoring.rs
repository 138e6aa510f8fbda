//! Script create and update as the vendor documents them today: `POST /sm/v5/script`,
//! `POST /sm/v4/script` (deprecated, still called), `PATCH /sm/v4/script/{id}`; the
//! lookups create takes its ids from (`GET /sm/v1/script-types`, `GET
//! /sm/v1/script-language`); and the retired create and update routes (v1 to v3), which
//! answer 410 naming their replacement.
//!
//! A created script is a script like any other: search, get, export, clone, execute,
//! schedule and the activity log see it.

use axum::extract::{Path, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::Response;
use base64::Engine as _;
use serde_json::Value;

use super::auth::CarCaller;
use super::error::CarError;
use super::extract::{CarJson, JsonObject};
use super::scripts::{MAX_SCRIPT_BYTES, check_title};
use super::views::{self, Envelope, Lookup, NewId};
use crate::query::catalog::{
    Language, PLATFORMS, SCRIPT_CATEGORIES, SCRIPT_LANGUAGES, SCRIPT_TYPES,
};
use crate::state::AppState;
use crate::store::car::{NewScript, ScriptChange};

/// The category of a script created without `categoryId`: "General Automation".
const DEFAULT_CATEGORY: i64 = 6;
/// The severity of a script created without one (v5 takes none; 1 to 5).
const DEFAULT_SEVERITY: i64 = 3;
/// The threshold (seconds) of a script created without one.
const DEFAULT_THRESHOLD: i64 = 60;

/// Which create API a request came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    V5,
    V4,
}

fn bad(m: impl Into<String>) -> CarError {
    CarError::BadRequest(m.into())
}

/// The value of `key`, its spelling's case aside (the vendor writes `githubInputUrl` and
/// `githubInputURL`); JSON null counts as absent.
fn field<'a>(body: &'a JsonObject, key: &str) -> Option<&'a Value> {
    body.get(key)
        .or_else(|| {
            body.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
        })
        .filter(|v| !v.is_null())
}

/// A string field; a number is taken as its text.
fn text(body: &JsonObject, key: &str) -> Result<Option<String>, CarError> {
    match field(body, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(bad(format!("{key} must be a string"))),
    }
}

/// A whole-number field, as a number or a string (the vendor's own v4 sample sends
/// `"severity":"3"`).
fn whole(body: &JsonObject, key: &str) -> Result<Option<i64>, CarError> {
    let wrong = || bad(format!("{key} must be a whole number"));
    match field(body, key) {
        None => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(wrong),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        // Digits only: no sign (`str::parse` would take `+5`).
        Some(Value::String(s)) if s.trim().bytes().all(|b| b.is_ascii_digit()) => {
            s.trim().parse().map(Some).map_err(|_| wrong())
        }
        Some(_) => Err(wrong()),
    }
}

/// A boolean field, as a boolean or `"true"`/`"false"`.
fn flag(body: &JsonObject, key: &str) -> Result<bool, CarError> {
    match field(body, key) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") || s.is_empty() => Ok(false),
        Some(_) => Err(bad(format!("{key} must be true or false"))),
    }
}

fn category(id: i64) -> Result<(i64, String), CarError> {
    SCRIPT_CATEGORIES
        .iter()
        .find(|(c, _)| *c == id)
        .map(|(c, name)| (*c, (*name).to_owned()))
        .ok_or_else(|| {
            let known: Vec<String> = SCRIPT_CATEGORIES
                .iter()
                .map(|(c, n)| format!("{c} ({n})"))
                .collect();
            bad(format!(
                "Invalid categoryId {id}; categories: {}",
                known.join(", ")
            ))
        })
}

fn language(id: i64) -> Result<&'static Language, CarError> {
    SCRIPT_LANGUAGES.iter().find(|l| l.id == id).ok_or_else(|| {
        bad(format!(
            "Invalid languageId {id}; GET /sm/v1/script-language lists the script languages"
        ))
    })
}

fn script_type(id: i64) -> Result<(), CarError> {
    SCRIPT_TYPES
        .iter()
        .any(|(t, _)| *t == id)
        .then_some(())
        .ok_or_else(|| {
            bad(format!(
                "Invalid typeId {id}; GET /sm/v1/script-types lists the script types"
            ))
        })
}

fn platform(value: &str) -> Result<String, CarError> {
    let upper = value.trim().to_ascii_uppercase();
    PLATFORMS
        .contains(&upper.as_str())
        .then_some(upper)
        .ok_or_else(|| {
            bad(format!(
                "Invalid platform {value:?}; platforms: {}",
                PLATFORMS.join(", ")
            ))
        })
}

fn severity(value: i64) -> Result<i64, CarError> {
    (1..=5)
        .contains(&value)
        .then_some(value)
        .ok_or_else(|| bad("severity must be 1 to 5"))
}

fn threshold(value: i64) -> Result<i64, CarError> {
    (value >= 1)
        .then_some(value)
        .ok_or_else(|| bad("threshold must be a number of seconds of 1 or more"))
}

/// `content`: base64, at most 500 KB decoded; an empty string counts as none.
fn content(body: &JsonObject) -> Result<Option<Vec<u8>>, CarError> {
    let Some(encoded) = text(body, "content")? else {
        return Ok(None);
    };
    let encoded: String = encoded.split_ascii_whitespace().collect();
    if encoded.is_empty() {
        return Ok(None);
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&encoded)
        .map_err(|_| bad("content must be the script encoded in base64"))?;
    if bytes.len() > MAX_SCRIPT_BYTES {
        return Err(bad(format!(
            "Script content is {} bytes; a script is at most 500 KB ({MAX_SCRIPT_BYTES} bytes)",
            bytes.len()
        )));
    }
    Ok(Some(bytes))
}

/// Whether the body names a repository to pull content from: GitHub (`githubInputUrl`, or
/// `gitHubUser`, `gitHubRepo`, `gitHubFilePath` and `gitHubBranch`) or GitLab
/// (`importedScriptFromGitLab` with `gitLabDetails`: `inputUrl`, or `repoUser`, `repoName`
/// and `filePath`). A set begun and not finished is refused, naming what it lacks.
fn repository_source(body: &JsonObject) -> Result<bool, CarError> {
    let given = |o: &JsonObject, k: &str| -> Result<bool, CarError> {
        Ok(text(o, k)?.is_some_and(|v| !v.trim().is_empty()))
    };
    if given(body, "githubInputUrl")? {
        return Ok(true);
    }
    let github = ["gitHubUser", "gitHubRepo", "gitHubFilePath", "gitHubBranch"];
    let mut missing = Vec::new();
    for key in github {
        if !given(body, key)? {
            missing.push(key);
        }
    }
    if missing.len() < github.len() {
        if !missing.is_empty() {
            return Err(bad(format!(
                "GitHub parameters incomplete: {} required (or githubInputUrl)",
                missing.join(", ")
            )));
        }
        return Ok(true);
    }
    if flag(body, "importedScriptFromGitLab")? {
        let Some(Value::Object(gitlab)) = field(body, "gitLabDetails") else {
            return Err(bad(
                "gitLabDetails is required when importedScriptFromGitLab is true",
            ));
        };
        if given(gitlab, "inputUrl")? {
            return Ok(true);
        }
        let lacking: Vec<&str> = ["repoUser", "repoName", "filePath"]
            .into_iter()
            .filter(|k| !matches!(given(gitlab, k), Ok(true)))
            .collect();
        if !lacking.is_empty() {
            return Err(bad(format!(
                "gitLabDetails incomplete: {} required (or inputUrl)",
                lacking.join(", ")
            )));
        }
        return Ok(true);
    }
    Ok(false)
}

/// The script a create body defines, and whether it is approved as stored.
fn new_script(body: &JsonObject, api: Api) -> Result<(NewScript, bool), CarError> {
    let title = check_title(&text(body, "title")?.unwrap_or_default())?;
    let type_id = whole(body, "typeId")?;
    match (type_id, api) {
        (Some(id), _) => script_type(id)?,
        (None, Api::V5) => {
            return Err(bad(
                "typeId is required; GET /sm/v1/script-types lists the script types",
            ));
        }
        (None, Api::V4) => {}
    }
    let language = language(whole(body, "languageId")?.ok_or_else(|| {
        bad("languageId is required; GET /sm/v1/script-language lists the script languages")
    })?)?;
    let (category_id, category_name) =
        category(whole(body, "categoryId")?.unwrap_or(DEFAULT_CATEGORY))?;
    let platform = match (text(body, "platform")?, api) {
        (Some(p), _) => platform(&p)?,
        (None, Api::V4) => {
            return Err(bad(format!(
                "platform is required; platforms: {}",
                PLATFORMS.join(", ")
            )));
        }
        (None, Api::V5) => language.platform.to_owned(),
    };
    let severity = match (whole(body, "severity")?, api) {
        (Some(s), _) => severity(s)?,
        (None, Api::V4) => return Err(bad("severity is required (1 to 5)")),
        (None, Api::V5) => DEFAULT_SEVERITY,
    };
    let threshold = threshold(whole(body, "threshold")?.unwrap_or(DEFAULT_THRESHOLD))?;
    let content = match content(body)? {
        Some(c) => c,
        // The emulator is offline: a script pulled from a repository is stored empty.
        None if repository_source(body)? => Vec::new(),
        None => {
            return Err(bad(
                "content (the script in base64) is required, or the GitHub parameters to pull \
                 it from: githubInputUrl, or gitHubUser, gitHubRepo, gitHubFilePath and \
                 gitHubBranch",
            ));
        }
    };
    let description = text(body, "description")?.unwrap_or_default();
    let approved = flag(body, "scriptApprovalUserConsent")?;
    Ok((
        NewScript {
            title,
            description,
            category_id,
            category_name,
            type_id: language.id,
            type_name: language.name.to_owned(),
            platform,
            severity,
            threshold,
            content,
            imported_from_id: 0,
            recurring_day: 0,
            blacklisted_commands: String::new(),
            subscribed_modules: Vec::new(),
        },
        approved,
    ))
}

async fn create(
    state: AppState,
    caller: std::sync::Arc<crate::auth::Caller>,
    body: JsonObject,
    api: Api,
) -> Result<Response, CarError> {
    let (script, approved) = new_script(&body, api)?;
    let limit = state.limits().script_limit;
    let id = state
        .store
        .car_create_script(caller, script, approved, limit, state.clock.now_ms())
        .await?
        .map_err(CarError::from)?;
    Ok(views::respond(
        StatusCode::CREATED,
        &Envelope::created("Script created successfully", NewId { id }),
    ))
}

/// `POST /sm/v5/script`
pub(crate) async fn create_v5(
    State(state): State<AppState>,
    CarCaller(caller): CarCaller,
    CarJson(body): CarJson<JsonObject>,
) -> Result<Response, CarError> {
    create(state, caller, body, Api::V5).await
}

/// `POST /sm/v4/script` (deprecated by the vendor in June 2025; still served)
pub(crate) async fn create_v4(
    State(state): State<AppState>,
    CarCaller(caller): CarCaller,
    CarJson(body): CarJson<JsonObject>,
) -> Result<Response, CarError> {
    create(state, caller, body, Api::V4).await
}

/// The change an update body asks for.
fn change_of(body: &JsonObject) -> Result<ScriptChange, CarError> {
    let content = match content(body)? {
        Some(c) => Some(c),
        None => {
            // Repository parameters alone change nothing here: the emulator is offline.
            repository_source(body)?;
            None
        }
    };
    Ok(ScriptChange {
        title: text(body, "title")?.map(|t| check_title(&t)).transpose()?,
        description: text(body, "description")?,
        category: whole(body, "categoryId")?.map(category).transpose()?,
        language: whole(body, "languageId")?
            .map(|id| language(id).map(|l| (l.id, l.name.to_owned())))
            .transpose()?,
        platform: text(body, "platform")?.map(|p| platform(&p)).transpose()?,
        severity: whole(body, "severity")?.map(severity).transpose()?,
        threshold: whole(body, "threshold")?.map(threshold).transpose()?,
        content,
        comment: text(body, "comment")?,
        approve: flag(body, "scriptApprovalUserConsent")?,
    })
}

/// `PATCH /sm/v4/script/{id}`
pub(crate) async fn update(
    State(state): State<AppState>,
    CarCaller(caller): CarCaller,
    Path(key): Path<String>,
    CarJson(body): CarJson<JsonObject>,
) -> Result<Response, CarError> {
    let not_found = || CarError::NotFound(format!("Script with id {key} not found"));
    let id: i64 = key.trim().parse().map_err(|_| not_found())?;
    if state
        .store
        .car_script(caller.customer_id, id.to_string())
        .await?
        .is_none_or(|s| s.id != id)
    {
        return Err(not_found());
    }
    let change = change_of(&body)?;
    state
        .store
        .car_update_script(caller, id, change, state.clock.now_ms())
        .await?
        .map_err(CarError::from)?;
    Ok(views::respond(
        StatusCode::OK,
        &Envelope::created("Script updated successfully", NewId { id }),
    ))
}

/// The retired create and update routes (`/sm/v1/script` reached end of life in June
/// 2026; v2 and v3 were deprecated in February 2025), whatever the method: 410 naming the
/// route to use instead (a path with a script id was an update, one without a create).
pub(crate) async fn retired(_caller: CarCaller, method: Method, uri: Uri) -> CarError {
    let path = uri.path().trim_end_matches('/');
    let is_update = path.split('/').filter(|s| !s.is_empty()).count() > 3;
    let instead = if is_update {
        "update scripts with PATCH /sm/v4/script/{id}"
    } else {
        "create scripts with POST /sm/v5/script"
    };
    CarError::Gone(format!("{method} {path} is retired; {instead}"))
}

/// `GET /sm/v1/script-types`: the `typeId`s create takes.
pub(crate) async fn script_types(_caller: CarCaller) -> Response {
    let list: Vec<Lookup> = SCRIPT_TYPES
        .iter()
        .map(|&(id, name)| Lookup { id, name })
        .collect();
    views::respond(StatusCode::OK, &Envelope::ok(list))
}

/// `GET /sm/v1/script-language`: the `languageId`s create takes.
pub(crate) async fn script_languages(_caller: CarCaller) -> Response {
    let list: Vec<Lookup> = SCRIPT_LANGUAGES
        .iter()
        .map(|l| Lookup {
            id: l.id,
            name: l.name,
        })
        .collect();
    views::respond(StatusCode::OK, &Envelope::ok(list))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: Value, api: Api) -> Result<(NewScript, bool), String> {
        let Value::Object(o) = body else {
            unreachable!("an object")
        };
        new_script(&o, api).map_err(|e| e.to_string())
    }

    #[test]
    fn v5_defaults_come_from_the_language_and_v4_needs_platform_and_severity() {
        let (s, approved) = parse(
            serde_json::json!({"title": "t", "typeId": 1, "languageId": 2, "content": "ZWNobyBoaQ=="}),
            Api::V5,
        )
        .unwrap();
        assert_eq!(
            (
                s.platform.as_str(),
                s.type_name.as_str(),
                s.severity,
                s.category_id,
                approved
            ),
            ("LINUX", "Shell", 3, 6, false)
        );
        assert_eq!(s.content, b"echo hi");
        assert_eq!(
            parse(
                serde_json::json!({"title": "t", "languageId": 2, "content": "eA=="}),
                Api::V4
            )
            .unwrap_err(),
            "platform is required; platforms: WINDOWS, LINUX, MAC, AIX, SOLARIS, UNIX"
        );
        let (s, _) = parse(
            serde_json::json!({"title": "t", "languageId": "4", "platform": "windows", "severity": "3", "content": "eA=="}),
            Api::V4,
        )
        .unwrap();
        assert_eq!((s.platform.as_str(), s.severity), ("WINDOWS", 3));
    }

    #[test]
    fn repository_parameters_stand_in_for_content_only_when_complete() {
        let base = |extra: Value| {
            let mut b = serde_json::json!({"title": "t", "typeId": 1, "languageId": 1});
            b.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            parse(b, Api::V5).map(|(s, _)| s.content.len())
        };
        assert_eq!(
            base(serde_json::json!({"githubInputURL": "https://github.com/o/r/blob/main/x.py"})),
            Ok(0)
        );
        assert_eq!(
            base(serde_json::json!({"gitHubUser": "o", "gitHubRepo": "r"})).unwrap_err(),
            "GitHub parameters incomplete: gitHubFilePath, gitHubBranch required (or githubInputUrl)"
        );
        assert_eq!(
            base(serde_json::json!({"importedScriptFromGitLab": true, "gitLabDetails": {"repoUser": "o"}}))
                .unwrap_err(),
            "gitLabDetails incomplete: repoName, filePath required (or inputUrl)"
        );
        assert!(
            base(serde_json::json!({}))
                .unwrap_err()
                .starts_with("content (the script in base64) is required")
        );
    }
}
