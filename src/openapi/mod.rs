//! The OpenAPI 3.1 description of the CAR API (`/auth`, `/sm/v1/*`) and the control API
//! (`/_mock/*`), served at `GET /_mock/openapi.json` and checked in as
//! `openapi/qualys-mock.json`.
//!
//! Response and control request schemas come from the wire types themselves (their
//! `utoipa::ToSchema` derives: `car::views`, `car::error`, `control::ops`, `state`,
//! `clock`); the operations are declared here, one per route the routers serve, with every
//! status the handlers answer and its error body. CAR request bodies are read as loose JSON
//! objects by the handlers (numbers may come as strings, a list as a comma-separated string),
//! so their schemas here are written to accept exactly what the handlers accept.
//! `tests/api/contracts.rs` checks this list against the routers (both ways) and the
//! checked-in copy against the served document.
//!
//! The Continuous Monitoring API is not described here: it is XML-first (README, "Contracts").

#![allow(dead_code)] // the request types below exist only for their schemas

use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::car::error::{ErrorEnvelope, GatewayBody};
use crate::car::views::{
    ActivityPage, AssetItem, AssetJobItem, Envelope, Execution, Imported, JobItem, List, Lookup,
    NewId, ScheduleItem, ScriptDetail, ScriptItem, TagItem,
};
use crate::clock::ClockState;
use crate::config::Limits;
use crate::control::ops::{
    ClockChange, ConfigChange, CreatedCustomer, Events, ForcedOutcome, Loaded, NewCustomer,
    ResetReport, ResetRequest, ResetScope,
};
use crate::schemas::*;
use crate::state::faults::{Fault, FaultSpec};
use crate::state::journal::Entry;

mod paths;
use paths::*;

/// The document as JSON, pretty-printed with a final newline (the checked-in file's bytes).
pub fn json() -> String {
    let mut text = ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}

/// The document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// Where the document says the server is when no request says it (the checked-in copy).
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

/// `GET /_mock/openapi.json`: the document, naming as its server the one the request came to
/// (its scheme, and its `Host` when that is a valid `host[:port]`; else [`DEFAULT_SERVER`]).
pub async fn serve(request: axum::extract::Request) -> Response {
    let (parts, _) = request.into_parts();
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.parse::<axum::http::uri::Authority>().ok())
        .filter(|a| !a.as_str().contains('@'));
    let text = match host {
        Some(authority) => {
            let scheme = crate::cm::reply::scheme(&parts.uri, &parts.headers, &parts.extensions);
            let mut doc = ApiDoc::openapi();
            doc.servers = Some(vec![utoipa::openapi::Server::new(format!(
                "{scheme}://{authority}"
            ))]);
            let mut text = doc
                .to_pretty_json()
                .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
            text.push('\n');
            text
        }
        None => json(),
    };
    ([(header::CONTENT_TYPE, "application/json")], text).into_response()
}

// ---------------------------------------------------------------------------------------
// Request bodies the handlers read as loose JSON objects.

/// `POST /auth`: the gateway's form (also accepted as JSON, or in the query string).
#[derive(ToSchema)]
struct AuthForm {
    #[schema(min_length = 1, example = "acme_ss2")]
    username: String,
    #[schema(min_length = 1, example = "passwd")]
    password: String,
    /// Must be `true`.
    #[schema(pattern = "^[Tt][Rr][Uu][Ee]$", example = "true")]
    token: String,
    /// Accepted and ignored.
    #[schema(schema_with = any_value)]
    permissions: Option<String>,
}

/// A search body: a QQL `filter` (or `qql`), `pageNumber` (from 0), `pageSize`, `sort`.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase", example = json!({"filter": "status:REJECTED", "pageNumber": 0, "pageSize": 10}))]
struct SearchRequest {
    /// QQL, e.g. `status:APPROVED AND platform:WINDOWS`.
    #[schema(schema_with = text_or_number)]
    filter: Option<String>,
    /// The same as `filter` (clients mix them up); read only when `filter` is absent.
    #[schema(schema_with = any_value)]
    qql: Option<String>,
    #[schema(schema_with = whole_number)]
    page_number: Option<u64>,
    #[schema(schema_with = page_size)]
    page_size: Option<u64>,
    #[schema(schema_with = sort)]
    sort: Option<String>,
}

/// A job search: a search body with `startAt`/`endAt` bounds on the creation time.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase", example = json!({"filter": "script.name:Script test for subscribed modules", "pageSize": 5}))]
struct JobSearchRequest {
    #[schema(schema_with = text_or_number)]
    filter: Option<String>,
    /// The same as `filter`; read only when `filter` is absent.
    #[schema(schema_with = any_value)]
    qql: Option<String>,
    #[schema(schema_with = whole_number)]
    page_number: Option<u64>,
    #[schema(schema_with = page_size)]
    page_size: Option<u64>,
    #[schema(schema_with = sort)]
    sort: Option<String>,
    /// Epoch ms or a date.
    #[schema(schema_with = text_or_number)]
    start_at: Option<String>,
    #[schema(schema_with = text_or_number)]
    end_at: Option<String>,
}

/// An asset-job search: a job search with `includeScriptResult`.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase", example = json!({"filter": "job.id:80507", "includeScriptResult": true, "sort": "[{\"created.dateTime\": \"desc\"}]"}))]
struct AssetJobSearchRequest {
    #[schema(schema_with = text_or_number)]
    filter: Option<String>,
    /// The same as `filter`; read only when `filter` is absent.
    #[schema(schema_with = any_value)]
    qql: Option<String>,
    #[schema(schema_with = whole_number)]
    page_number: Option<u64>,
    #[schema(schema_with = page_size)]
    page_size: Option<u64>,
    #[schema(schema_with = sort)]
    sort: Option<String>,
    #[schema(schema_with = text_or_number)]
    start_at: Option<String>,
    #[schema(schema_with = text_or_number)]
    end_at: Option<String>,
    #[schema(schema_with = flag)]
    include_script_result: Option<bool>,
}

/// An activity search: `qql` (or `filter`) with `startDate`/`endDate` bounds.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase", example = json!({"qql": "activity: CREATE ", "pageNumber": 0, "pageSize": 10}))]
struct ActivitySearchRequest {
    #[schema(schema_with = text_or_number)]
    qql: Option<String>,
    /// The same as `qql`; read only when `qql` is absent.
    #[schema(schema_with = any_value)]
    filter: Option<String>,
    #[schema(schema_with = whole_number)]
    page_number: Option<u64>,
    #[schema(schema_with = page_size)]
    page_size: Option<u64>,
    #[schema(schema_with = sort)]
    sort: Option<String>,
    #[schema(schema_with = text_or_number)]
    start_date: Option<String>,
    #[schema(schema_with = text_or_number)]
    end_date: Option<String>,
}

/// `POST /sm/v1/scripts/{key}/execute`: at least one asset or tag id, 25 at most per list.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase", example = json!({"testMode": false, "assetIds": ["20452610"], "assetTagIds": [], "excludedAssetIds": []}))]
struct ExecuteRequest {
    /// Must be false: the API runs scripts in production mode only.
    #[schema(schema_with = test_mode)]
    test_mode: Option<bool>,
    #[schema(schema_with = id_list)]
    asset_ids: Option<Vec<String>>,
    #[schema(schema_with = id_list)]
    asset_tag_ids: Option<Vec<String>>,
    #[schema(schema_with = id_list)]
    excluded_asset_ids: Option<Vec<String>>,
}

/// `POST /sm/v1/scripts/{key}/clone`: the new title (`scriptTitle`, or `scriptId` as the
/// guide's curl sample names it) and an optional description.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase", example = json!({"scriptTitle": "Restart Print Spooler (copy)"}))]
struct CloneRequest {
    script_title: Option<String>,
    script_id: Option<String>,
    description: Option<String>,
}

/// `POST /sm/v1/scripts/scheduler`: a schedule for one script.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase", example = json!({
    "activate": true, "assetTags": [], "assets": [{"UUId": "b1d8c7d2-0000-4000-8000-000000000001", "id": 20452610}],
    "description": "", "excludedAssets": [], "scripts": [{"id": 72648, "title": "Disk Usage Report"}],
    "title": "Daily disk usage", "user": {"id": "51fbdb4b-5fb5-fdf6-8141-5a7887ec557b", "name": "FIM Automation"},
    "scheduleType": "DAILY", "endDate": "2099-05-15", "startDate": "2099-05-11", "startTime": "09:42:00"
}))]
struct ScheduleRequest {
    #[schema(schema_with = text_or_number_given)]
    title: String,
    /// `ONE_TIME`, `HOURLY`, `DAILY`, `WEEKLY` or `MONTHLY`.
    #[schema(schema_with = text_or_number_given)]
    schedule_type: String,
    #[schema(schema_with = any_value)]
    scripts: Option<String>,
    #[schema(schema_with = any_value)]
    assets: Option<String>,
    #[schema(schema_with = any_value)]
    asset_tags: Option<String>,
    #[schema(schema_with = any_value)]
    excluded_assets: Option<String>,
    /// `YYYY-MM-DD`.
    #[schema(schema_with = text_or_number_given)]
    start_date: String,
    #[schema(schema_with = text_or_number_given)]
    end_date: String,
    /// `HH:MM:SS`.
    #[schema(schema_with = text_or_number_given)]
    start_time: String,
    /// HOURLY: hours between runs.
    #[schema(schema_with = any_value)]
    hourly_interval: Option<String>,
    /// WEEKLY: day numbers, e.g. `["1", "2"]`.
    #[schema(schema_with = any_value)]
    days_of_week: Option<String>,
    /// MONTHLY: the day of the month.
    #[schema(schema_with = any_value)]
    recurrence_date: Option<String>,
    /// MONTHLY: every how many months.
    #[schema(schema_with = any_value)]
    recurrence_month: Option<String>,
    #[schema(schema_with = any_value)]
    monthly_schedule_type: Option<String>,
    #[schema(schema_with = any_value)]
    activate: Option<bool>,
    #[schema(schema_with = any_value)]
    description: Option<String>,
    #[schema(schema_with = any_value)]
    user: Option<String>,
}

/// `POST /sm/v5/script`: `title`, `typeId` and `languageId` are mandatory; `content` (the
/// script in base64, at most 500 KB decoded) or the GitHub parameters that name where it
/// lives (`githubInputUrl`, or `gitHubUser`, `gitHubRepo`, `gitHubFilePath` and
/// `gitHubBranch`; GitLab: `importedScriptFromGitLab` with `gitLabDetails`) must be given.
/// The emulator does not reach GitHub or GitLab: a script created from them alone has no
/// content. Keys it does not know are ignored; key case is ignored for the GitHub keys.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase", example = json!({
    "title": "Rotate web logs", "typeId": 1, "languageId": 2, "categoryId": 5,
    "description": "Rotates the web server's logs", "content": "ZWNobyByb3RhdGU=",
    "scriptApprovalUserConsent": true
}))]
struct ScriptCreateRequest {
    #[schema(schema_with = text_or_number_given)]
    title: String,
    /// `GET /sm/v1/script-types` lists the ids.
    #[schema(schema_with = whole_number_given)]
    type_id: String,
    /// `GET /sm/v1/script-language` lists the ids.
    #[schema(schema_with = whole_number_given)]
    language_id: String,
    /// 1 to 7; 6 (General Automation) when absent.
    #[schema(schema_with = whole_number)]
    category_id: Option<String>,
    #[schema(schema_with = text_or_number)]
    description: Option<String>,
    /// The script, base64-encoded.
    #[schema(schema_with = text_or_number)]
    content: Option<String>,
    /// WINDOWS, LINUX, MAC, AIX, SOLARIS or UNIX; the language's platform when absent.
    #[schema(schema_with = text_or_number)]
    platform: Option<String>,
    /// 1 to 5; 3 when absent.
    #[schema(schema_with = whole_number)]
    severity: Option<String>,
    /// Seconds, 1 or more; 60 when absent.
    #[schema(schema_with = whole_number)]
    threshold: Option<String>,
    #[schema(schema_with = text_or_number)]
    github_input_url: Option<String>,
    #[schema(schema_with = text_or_number)]
    git_hub_user: Option<String>,
    #[schema(schema_with = text_or_number)]
    git_hub_repo: Option<String>,
    #[schema(schema_with = text_or_number)]
    git_hub_file_path: Option<String>,
    #[schema(schema_with = text_or_number)]
    git_hub_branch: Option<String>,
    #[schema(schema_with = text_or_number)]
    git_hub_token: Option<String>,
    #[schema(schema_with = flag)]
    git_hub_sync_enabled: Option<bool>,
    #[schema(schema_with = flag)]
    imported_script_from_git_lab: Option<bool>,
    #[schema(schema_with = any_value)]
    git_lab_details: Option<String>,
    /// true: the script is stored `APPROVED` (by the caller) rather than `PENDING_REVIEW`.
    #[schema(schema_with = flag)]
    script_approval_user_consent: Option<bool>,
}

/// `POST /sm/v4/script` (deprecated by the vendor): as v5, but `platform` and `severity`
/// are mandatory and `typeId` optional.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase", example = json!({
    "title": "Check print spooler", "description": "", "categoryId": 5, "platform": "WINDOWS",
    "severity": "3", "threshold": 120, "languageId": 4, "content": "R2V0LVNlcnZpY2UgU3Bvb2xlcg==",
    "gitHubAutoSync": false, "scriptApprovalUserConsent": false
}))]
struct ScriptCreateV4Request {
    #[schema(schema_with = text_or_number_given)]
    title: String,
    #[schema(schema_with = whole_number_given)]
    language_id: String,
    #[schema(schema_with = text_or_number_given)]
    platform: String,
    #[schema(schema_with = whole_number_given)]
    severity: String,
    #[schema(schema_with = whole_number)]
    type_id: Option<String>,
    #[schema(schema_with = whole_number)]
    category_id: Option<String>,
    #[schema(schema_with = text_or_number)]
    description: Option<String>,
    #[schema(schema_with = text_or_number)]
    content: Option<String>,
    #[schema(schema_with = whole_number)]
    threshold: Option<String>,
    #[schema(schema_with = flag)]
    script_approval_user_consent: Option<bool>,
}

/// `PATCH /sm/v4/script/{id}`: every field optional; new `content` needs `comment` (the
/// consent comment) and sends the script back to review unless
/// `scriptApprovalUserConsent` is true.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase", example = json!({
    "categoryId": 5, "description": "Collects the event logs, weekly", "content": "R2V0LUV2ZW50TG9nIC1MaXN0",
    "comment": "List the logs first", "scriptApprovalUserConsent": true
}))]
struct ScriptUpdateRequest {
    #[schema(schema_with = text_or_number)]
    title: Option<String>,
    #[schema(schema_with = text_or_number)]
    description: Option<String>,
    #[schema(schema_with = whole_number)]
    category_id: Option<String>,
    #[schema(schema_with = whole_number)]
    language_id: Option<String>,
    #[schema(schema_with = text_or_number)]
    platform: Option<String>,
    #[schema(schema_with = whole_number)]
    severity: Option<String>,
    #[schema(schema_with = whole_number)]
    threshold: Option<String>,
    #[schema(schema_with = text_or_number)]
    content: Option<String>,
    #[schema(schema_with = text_or_number)]
    comment: Option<String>,
    #[schema(schema_with = flag)]
    script_approval_user_consent: Option<bool>,
}

/// A scheduler search: a search body with `startAt`/`endAt` bounds on the creation time.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase", example = json!({
    "startAt": "2000-01-01T00:00:00.000Z", "endAt": "2100-01-01T00:00:00.000Z", "pageSize": 50,
    "pageNumber": 0, "filter": "", "sort": "[{\"created.dateTime\":\"desc\"}]"
}))]
struct SchedulerSearchRequest {
    /// QQL over id, title, scheduleType, activate, script.id, script.name, created.dateTime…
    #[schema(schema_with = text_or_number)]
    filter: Option<String>,
    /// The same as `filter`; read only when `filter` is absent.
    #[schema(schema_with = any_value)]
    qql: Option<String>,
    #[schema(schema_with = whole_number)]
    page_number: Option<u64>,
    #[schema(schema_with = page_size)]
    page_size: Option<u64>,
    #[schema(schema_with = sort)]
    sort: Option<String>,
    /// Epoch ms or a date.
    #[schema(schema_with = text_or_number)]
    start_at: Option<String>,
    #[schema(schema_with = text_or_number)]
    end_at: Option<String>,
}

/// `POST /sm/v1/scripts/import`: the export file (a JSON array of scripts) as `file`.
#[derive(ToSchema)]
struct ImportForm {
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

// ---------------------------------------------------------------------------------------
// Control answers built with `json!` in the handlers.

/// The control API's error body.
#[derive(ToSchema)]
struct ControlErrorBody {
    error: String,
}

/// `GET /_mock/health`.
#[derive(ToSchema)]
struct Health {
    /// `ok`, or `unavailable` (503) with `error`.
    status: String,
    version: Option<String>,
    seed: Option<String>,
    #[schema(schema_with = any_value)]
    baseline: Option<String>,
    store: Option<StoreKindView>,
    #[schema(schema_with = any_value)]
    counts: Option<String>,
    clock: Option<ClockState>,
    bodies: Option<BodiesView>,
    error: Option<String>,
}

/// Request bodies being received: the memory they hold now, and `--body-budget-bytes`.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
struct BodiesView {
    held_bytes: u64,
    budget_bytes: u64,
}

/// Where the store's data lives: `private` (a file of the process's own, the default),
/// `file` (`--db`) or `memory`, and its reader connections.
#[derive(ToSchema)]
#[schema(as = StoreKind)]
struct StoreKindView {
    kind: String,
    readers: u64,
}

/// `POST /_mock/seed`: records by object type (`scripts`, or `scripts.json`), each a list
/// of records in the seed-data format.
struct SeedBody;

impl utoipa::PartialSchema for SeedBody {
    fn schema() -> RefOr<Schema> {
        let names: Vec<String> = crate::store::Seed::object_types()
            .flat_map(|t| [t.to_owned(), format!("{t}.json")])
            .collect();
        let records = Schema::Array(
            ArrayBuilder::new()
                .items(RefOr::T(schema(
                    ObjectBuilder::new().schema_type(Type::Object),
                )))
                .description(Some("records in the seed-data format"))
                .build(),
        );
        RefOr::T(schema(
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .description(Some(
                    "records by object type; all or nothing, each checked against what is \
                     stored",
                ))
                .property_names(Some(schema(string().enum_values(Some(names)))))
                .additional_properties(Some(records))
                .examples([serde_json::json!({"scripts": []})]),
        ))
    }
}

impl ToSchema for SeedBody {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("SeedBody")
    }
}

/// `GET /_mock/requests`.
#[derive(ToSchema)]
struct Requests {
    count: u64,
    capacity: u64,
    requests: Vec<Entry>,
}

/// `POST /_mock/cm/events`: the alerts made, in the CM JSON shape.
#[derive(ToSchema)]
struct EventsAnswer {
    count: u64,
    #[schema(schema_with = cm_alerts)]
    alerts: Vec<String>,
}

fn cm_alerts() -> Schema {
    Schema::Array(
        ArrayBuilder::new()
            .items(RefOr::T(schema(
                ObjectBuilder::new().schema_type(Type::Object),
            )))
            .build(),
    )
}

/// `GET /_mock/`: the control endpoints.
#[derive(ToSchema)]
struct Index {
    name: String,
    version: String,
    endpoints: Vec<IndexEntry>,
}

/// One control endpoint.
#[derive(ToSchema)]
struct IndexEntry {
    method: String,
    path: String,
    purpose: String,
}

// ---------------------------------------------------------------------------------------
// The document.

struct Security;

/// A response whose body is the component schema `schema` (JSON).
fn json_response(description: &str, schema: &str) -> RefOr<utoipa::openapi::Response> {
    RefOr::T(
        utoipa::openapi::ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                utoipa::openapi::ContentBuilder::new()
                    .schema(Some(utoipa::openapi::Ref::from_schema_name(schema)))
                    .build(),
            )
            .build(),
    )
}

/// Answers every operation of a kind can give, added here rather than repeated on each:
/// - with `--control-token`, every control operation but health answers 401 without the
///   token (`X-Mock-Token`, or `Authorization: Bearer`); optional, so not a security
///   requirement but a 401 response on each;
/// - every operation with a request body answers 413 past `--max-body-bytes`, 408 when
///   the body stalls or misses `--body-deadline-secs`, and 503 when the bodies in flight
///   hold `--body-budget-bytes` — in the gateway's body on CAR, `{"error"}` on control;
/// - a CAR operation answers 500 in its error envelope if the store fails (a defect; the
///   log names the cause).
fn common_responses(openapi: &mut utoipa::openapi::OpenApi) {
    for (path, item) in openapi.paths.paths.iter_mut() {
        let control = path.starts_with("/_mock/");
        let car = path == "/auth" || path.starts_with("/sm/");
        let ops = [
            item.get.as_mut(),
            item.post.as_mut(),
            item.put.as_mut(),
            item.patch.as_mut(),
            item.delete.as_mut(),
        ];
        for op in ops.into_iter().flatten() {
            let mut add = |status: &str, response: RefOr<utoipa::openapi::Response>| {
                op.responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert(response);
            };
            if control {
                add(
                    "400",
                    json_response(
                        "a query string or a body this operation does not read, or one it \
                         cannot (the message names the key, type or shape)",
                        "ControlErrorBody",
                    ),
                );
            }
            if control && path != "/_mock/health" {
                add(
                    "401",
                    json_response(
                        "the server runs with --control-token and the request lacks it \
                         (X-Mock-Token or Authorization: Bearer)",
                        "ControlErrorBody",
                    ),
                );
            }
            if op.request_body.is_some() {
                let body = if control {
                    "ControlErrorBody"
                } else {
                    "GatewayBody"
                };
                for (status, why) in [
                    (
                        "413",
                        "the body is larger than --max-body-bytes (`/auth`: 64 KiB)",
                    ),
                    (
                        "408",
                        "the body stalled for --body-timeout-secs, or was not whole \
                         --body-deadline-secs after the request's head",
                    ),
                    (
                        "503",
                        "the bodies in flight hold --body-budget-bytes and none gave way \
                         within --body-timeout-secs (with Retry-After)",
                    ),
                ] {
                    add(status, json_response(why, body));
                }
            }
            if car {
                add(
                    "500",
                    json_response(
                        "the store failed (a defect: the server's log names the cause)",
                        "ErrorEnvelope",
                    ),
                );
            }
        }
    }
}

/// `Fault` flattens `FaultSpec` (serde `flatten`), which utoipa writes as `allOf` — but
/// `FaultSpec` refuses unknown fields (`additionalProperties: false`), so no listed rule
/// could match both. Write `Fault` as `FaultSpec`'s fields plus its own instead.
fn flatten_fault(components: &mut utoipa::openapi::Components) {
    let Some(RefOr::T(Schema::Object(spec))) = components.schemas.get("FaultSpec") else {
        return;
    };
    let Some(RefOr::T(Schema::AllOf(fault))) = components.schemas.get("Fault") else {
        return;
    };
    let mut merged = spec.clone();
    merged.additional_properties = None;
    merged.description = fault.description.clone();
    for item in &fault.items {
        if let RefOr::T(Schema::Object(own)) = item {
            for (name, property) in &own.properties {
                merged.properties.insert(name.clone(), property.clone());
            }
            merged.required.extend(own.required.iter().cloned());
        }
    }
    components
        .schemas
        .insert("Fault".to_owned(), RefOr::T(Schema::Object(merged)));
}

/// What the server requires of a reset's body and a fault rule that field attributes
/// cannot say: a reset names a customer (scope `data` only) or none; a fault does
/// something (a status, a latency, `drop: true` or a rate limit).
fn control_requirements(components: &mut utoipa::openapi::Components) {
    use utoipa::openapi::schema::{AdditionalProperties, AllOfBuilder, AnyOfBuilder, OneOfBuilder};
    let object = || {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)))
    };
    let customer = schema(
        string()
            .pattern(Some("\\S"))
            .description(Some("reset this customer's data only")),
    );
    let reset = OneOfBuilder::new()
        .description(Some(
            "`customer` (with `scope` `data`, its default), or no customer and `scope` `all` \
             (the default) or `data`",
        ))
        .item(schema(
            object()
                .property("customer", customer)
                .required("customer")
                .property("scope", schema(string().enum_values(Some(["data"])))),
        ))
        .item(schema(object().property(
            "scope",
            RefOr::Ref(utoipa::openapi::Ref::from_schema_name("ResetScope")),
        )))
        .build();
    components
        .schemas
        .insert("ResetRequest".to_owned(), RefOr::T(Schema::OneOf(reset)));
    // `freeze` and `resume` given together must agree (freeze true, resume false or the
    // reverse): one of them absent or null, or the two opposite.
    if let Some(RefOr::T(clock)) = components.schemas.get("ClockChange").cloned() {
        // An object whose listed properties, when present, are null (None) or that boolean.
        let shape = |fields: &[(&str, Option<bool>)]| {
            let mut o = ObjectBuilder::new();
            for (name, value) in fields {
                let value = match value {
                    None => ObjectBuilder::new().schema_type(Type::Null),
                    Some(b) => ObjectBuilder::new()
                        .schema_type(Type::Boolean)
                        .enum_values(Some([*b])),
                };
                o = o.property(*name, schema(value));
            }
            schema(o)
        };
        let agree = AnyOfBuilder::new()
            .description(Some(
                "freeze and resume, when both given, say the same thing (freeze: true with \
                 resume: false, or the reverse)",
            ))
            .item(shape(&[("freeze", None)]))
            .item(shape(&[("resume", None)]))
            .item(shape(&[("freeze", Some(true)), ("resume", Some(false))]))
            .item(shape(&[("freeze", Some(false)), ("resume", Some(true))]))
            .build();
        let description = match &clock {
            Schema::Object(o) => o.description.clone(),
            _ => None,
        };
        let checked = AllOfBuilder::new()
            .description(description)
            .item(clock)
            .item(Schema::AnyOf(agree))
            .build();
        components
            .schemas
            .insert("ClockChange".to_owned(), RefOr::T(Schema::AllOf(checked)));
    }
    let Some(RefOr::T(Schema::Object(spec))) = components.schemas.get("FaultSpec").cloned() else {
        return;
    };
    let does = |field: &str, value: Schema| {
        schema(ObjectBuilder::new().property(field, value).required(field))
    };
    let integer = || schema(ObjectBuilder::new().schema_type(Type::Integer));
    let something = AnyOfBuilder::new()
        .description(Some(
            "a fault needs status, latencyMs, drop: true or rateLimit",
        ))
        .item(does("status", integer()))
        .item(does("latencyMs", integer()))
        .item(does(
            "drop",
            schema(
                ObjectBuilder::new()
                    .schema_type(Type::Boolean)
                    .enum_values(Some([true])),
            ),
        ))
        .item(does("rateLimit", integer()))
        .build();
    let rule = AllOfBuilder::new()
        .description(spec.description.clone())
        .item(Schema::Object(spec))
        .item(Schema::AnyOf(something))
        .build();
    components
        .schemas
        .insert("FaultSpec".to_owned(), RefOr::T(Schema::AllOf(rule)));
}

/// Paths whose body may be left out (the handlers read no body as `{}`).
const OPTIONAL_BODIES: [&str; 12] = [
    "/sm/v1/scripts/search",
    "/sm/v1/scheduler/search",
    "/sm/v4/script/{id}",
    "/sm/v1/scripts/activities",
    "/sm/v1/assets/search",
    "/sm/v1/assettags/search",
    "/sm/v1/jobs/search",
    "/sm/v1/assetjobs/search",
    "/_mock/seed",
    "/_mock/clock",
    "/_mock/config",
    "/_mock/reset",
];

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("the JWT `POST /auth` answers"))
                    .build(),
            ),
        );
        openapi.info.title = "qualys-mock: CAR and control API".to_owned();
        openapi.info.description = Some(
            "The Qualys CAR API (`POST /auth`, `/sm/*`) as qualys-mock serves it, and the \
             emulator's control API (`/_mock/*`). Generated from the server's Rust types; the \
             Continuous Monitoring API (`/qps/rest/*`) is XML-first and described by its XSDs \
             instead. A method a path does not take answers 405 with `Allow`, and a path \
             outside this document 404: under `/_mock/` with `{\"error\"}`; under `/sm/v1/` with \
             the CAR envelope (after the gateway's 401 when the bearer token is missing or \
             invalid); the retired script create and update routes (`/sm/v1/script`, \
             `/sm/v2/script`, `/sm/v3/script`, each also with `/{id}`) answer 410 with the \
             CAR envelope naming the route to use instead, whatever the method; elsewhere with the gateway's `{\"status\", \"error\", \"message\"}` (also \
             the body of a CAR 405)."
                .to_owned(),
        );
        openapi.servers = Some(vec![utoipa::openapi::Server::new(DEFAULT_SERVER)]);
        flatten_fault(components);
        control_requirements(components);
        common_responses(openapi);
        // Bodies the handlers take as `{}` when absent.
        for (path, item) in openapi.paths.paths.iter_mut() {
            let ops = [
                item.get.as_mut(),
                item.post.as_mut(),
                item.put.as_mut(),
                item.patch.as_mut(),
                item.delete.as_mut(),
            ];
            for op in ops.into_iter().flatten() {
                if OPTIONAL_BODIES.contains(&path.as_str())
                    && let Some(RefOr::T(body)) = op.request_body.as_mut()
                {
                    body.required = Some(utoipa::openapi::Required::False);
                }
            }
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    paths(
        auth, scripts_search, scripts_export, scripts_import, scripts_activities,
        scripts_scheduler, scripts_get, scripts_clone, scripts_execute, assets_search,
        assettags_search, jobs_search, assetjobs_search, script_types, script_languages,
        scripts_create_v5, scripts_create_v4, scripts_update, scheduler_search,
        scheduler_deactivate, scheduler_activate, scheduler_get, scheduler_update,
        scheduler_delete,
        mock_index, mock_openapi, mock_health, mock_reset, mock_customers, mock_seed,
        mock_clock_get, mock_clock_set, mock_requests, mock_requests_clear, mock_faults,
        mock_faults_add, mock_faults_clear, mock_fault_remove, mock_cm_events, mock_outcome,
        mock_config, mock_config_set, mock_stubs, mock_stubs_add, mock_stubs_restore,
        mock_stub_get, mock_stub_replace, mock_stub_remove,
    ),
    components(schemas(GatewayBody, ErrorEnvelope, ControlErrorBody)),
    modifiers(&Security),
    tags(
        (name = "auth", description = "the gateway's token endpoint"),
        (name = "scripts", description = "CAR scripts"),
        (name = "assets", description = "CAR assets and tags"),
        (name = "jobs", description = "CAR jobs and asset jobs"),
        (name = "schedules", description = "CAR script schedules (the 2025 scheduler APIs)"),
        (name = "control", description = "the emulator's own endpoints"),
    )
)]
struct ApiDoc;
