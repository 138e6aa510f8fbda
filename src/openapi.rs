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
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{KnownFormat, RefOr, SchemaFormat};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::car::error::{ErrorEnvelope, GatewayBody};
use crate::car::views::{
    ActivityPage, AssetItem, AssetJobItem, Envelope, Execution, Imported, JobItem, List, NewId,
    ScriptDetail, ScriptItem, TagItem,
};
use crate::clock::ClockState;
use crate::control::ops::{
    ClockChange, CreatedCustomer, Events, ForcedOutcome, Loaded, NewCustomer, ResetReport,
};
use crate::state::Limits;
use crate::state::faults::{Fault, FaultSpec};
use crate::state::journal::Entry;

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

/// `GET /_mock/openapi.json`.
pub async fn serve() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], json()).into_response()
}

// ---------------------------------------------------------------------------------------
// Schemas for values the Rust types hold loosely (`serde_json::Value`, `Option<()>`).

fn schema(o: ObjectBuilder) -> Schema {
    Schema::Object(o.build())
}

/// Always `null` (fields the guide shows as null).
pub(crate) fn null() -> Schema {
    schema(ObjectBuilder::new().schema_type(Type::Null))
}

/// Any JSON value.
pub(crate) fn any_value() -> Schema {
    schema(ObjectBuilder::new().schema_type(utoipa::openapi::schema::SchemaType::AnyValue))
}

fn one_of(items: impl IntoIterator<Item = Schema>) -> Schema {
    let mut b = OneOfBuilder::new();
    for s in items {
        b = b.item(s);
    }
    Schema::OneOf(b.build())
}

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn integer() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
}

/// A `u64` that may be absent: JSON integers up to `u64::MAX` (no int64 format).
pub(crate) fn optional_u64() -> Schema {
    schema(
        ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
                Type::Integer,
                Type::Null,
            ]))
            .minimum(Some(0))
            .maximum(Some(u64::MAX)),
    )
}

/// A script id: a string in `GET scripts/{id}`, a number in exports.
pub(crate) fn id_text_or_number() -> Schema {
    one_of([
        schema(string().pattern(Some("^-?[0-9]+$"))),
        schema(integer()),
    ])
}

/// `POST /_mock/clock` `set`: epoch ms or an ISO date-time.
pub(crate) fn clock_set() -> Schema {
    one_of([
        schema(integer().description(Some("epoch milliseconds"))),
        schema(
            string()
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
                .examples([serde_json::json!("2022-05-11T07:25:00Z")]),
        ),
        null(),
    ])
}

/// `POST /_mock/clock` `advance`: ms, or a duration like `4h`.
pub(crate) fn clock_advance() -> Schema {
    one_of([
        schema(integer().description(Some("milliseconds"))),
        schema(
            string()
                .pattern(Some("^\\s*-?[0-9]+(ms|s|m|h|d|w)\\s*$"))
                .examples([serde_json::json!("4h")]),
        ),
        null(),
    ])
}

/// `POST /_mock/cm/events` `events`: CM events as `cm::events` reads them.
pub(crate) fn cm_events() -> Schema {
    Schema::Array(
        ArrayBuilder::new()
            .items(RefOr::T(schema(
                ObjectBuilder::new()
                    .schema_type(Type::Object)
                    .description(Some(
                        "a CM event: eventType, hostname or ip, and the alert's fields \
                         (README, control API)",
                    )),
            )))
            .build(),
    )
}

/// A CAR text field: a string, or a number taken as its text.
fn text_or_number() -> Schema {
    schema(
        ObjectBuilder::new().schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            Type::String,
            Type::Number,
            Type::Null,
        ])),
    )
}

/// A CAR text that must be there: a string, or a number taken as its text.
fn text_or_number_given() -> Schema {
    schema(
        ObjectBuilder::new().schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            Type::String,
            Type::Number,
        ])),
    )
}

/// A CAR whole number: a number of 0 or more, or a string holding one (blank: the default).
fn whole_number() -> Schema {
    one_of([
        schema(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0))
                .maximum(Some(u64::MAX)),
        ),
        // 19 digits always fit a u64 (some 20-digit numbers do too; the schema leaves
        // those out).
        schema(string().pattern(Some("^\\s*0*[0-9]{0,19}\\s*$"))),
        null(),
    ])
}

/// A CAR page size: 1 to the server's `maxPageSize` (1000 unless changed), or as a string.
fn page_size() -> Schema {
    one_of([
        schema(integer().minimum(Some(1)).maximum(Some(1000))),
        schema(string().pattern(Some("^\\s*([1-9][0-9]{0,2}|1000)?\\s*$"))),
        null(),
    ])
}

/// A CAR sort: `[{"field": "asc|desc"}]`, as a JSON array or a string holding one.
fn sort() -> Schema {
    let entry = || {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .additional_properties(Some(schema(
                string().pattern(Some("^\\s*\\\\?([Aa][Ss][Cc]|[Dd][Ee][Ss][Cc])\\s*$")),
            )))
    };
    one_of([
        Schema::Array(ArrayBuilder::new().items(RefOr::T(schema(entry()))).build()),
        schema(entry()),
        schema(string().description(Some(
            "the array as JSON text, e.g. [{\"created.dateTime\":\"desc\"}]",
        ))),
        null(),
    ])
}

/// A CAR boolean, also as the strings `true`/`false`.
fn flag() -> Schema {
    one_of([
        schema(ObjectBuilder::new().schema_type(Type::Boolean)),
        schema(string().pattern(Some("^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|)$"))),
        null(),
    ])
}

/// A list of ids: numbers or numeric strings, or one comma-separated string.
fn id_list() -> Schema {
    let id = || {
        one_of([
            schema(integer()),
            schema(string().pattern(Some("^\\s*-?[0-9]{1,18}\\s*$"))),
        ])
    };
    one_of([
        Schema::Array(
            ArrayBuilder::new()
                .items(RefOr::T(id()))
                .max_items(Some(25))
                .build(),
        ),
        schema(string().pattern(Some(
            "^(\\s*-?[0-9]{1,18}\\s*)?(,\\s*-?[0-9]{1,18}\\s*){0,24},?\\s*$",
        ))),
        schema(integer()),
        null(),
    ])
}

fn test_mode() -> Schema {
    one_of([
        schema(
            ObjectBuilder::new()
                .schema_type(Type::Boolean)
                .enum_values(Some([false])),
        ),
        schema(string().pattern(Some("^[Ff][Aa][Ll][Ss][Ee]$"))),
        null(),
    ])
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
    #[schema(schema_with = any_value)]
    counts: Option<String>,
    clock: Option<ClockState>,
    error: Option<String>,
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

/// With `--control-token`, every control operation but health answers 401 without the
/// token (`X-Mock-Token`, or `Authorization: Bearer`). Optional, so not a security
/// requirement: a 401 response on each.
fn control_token(openapi: &mut utoipa::openapi::OpenApi) {
    for (path, item) in openapi.paths.paths.iter_mut() {
        if !path.starts_with("/_mock/") || path == "/_mock/health" {
            continue;
        }
        let ops = [
            item.get.as_mut(),
            item.post.as_mut(),
            item.put.as_mut(),
            item.delete.as_mut(),
        ];
        for op in ops.into_iter().flatten() {
            op.responses.responses.insert(
                "401".to_owned(),
                RefOr::T(
                    utoipa::openapi::ResponseBuilder::new()
                        .description(
                            "the server runs with --control-token and the request lacks it \
                             (X-Mock-Token or Authorization: Bearer)",
                        )
                        .content(
                            "application/json",
                            utoipa::openapi::ContentBuilder::new()
                                .schema(Some(utoipa::openapi::Ref::from_schema_name(
                                    "ControlErrorBody",
                                )))
                                .build(),
                        )
                        .build(),
                ),
            );
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

/// Paths whose body may be left out (the handlers read no body as `{}`).
const OPTIONAL_BODIES: [&str; 9] = [
    "/sm/v1/scripts/search",
    "/sm/v1/scripts/activities",
    "/sm/v1/assets/search",
    "/sm/v1/assettags/search",
    "/sm/v1/jobs/search",
    "/sm/v1/assetjobs/search",
    "/_mock/seed",
    "/_mock/clock",
    "/_mock/config",
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
            "The Qualys CAR API (`POST /auth`, `/sm/v1/*`) as qualys-mock serves it, and the \
             emulator's control API (`/_mock/*`). Generated from the server's Rust types; the \
             Continuous Monitoring API (`/qps/rest/*`) is XML-first and described by its XSDs \
             instead. A method a path does not take answers 405 with `Allow`, and a path \
             outside this document 404: under `/_mock/` with `{\"error\"}`; under `/sm/v1/` with \
             the CAR envelope (after the gateway's 401 when the bearer token is missing or \
             invalid); elsewhere with the gateway's `{\"status\", \"error\", \"message\"}` (also \
             the body of a CAR 405)."
                .to_owned(),
        );
        openapi.servers = Some(vec![utoipa::openapi::Server::new("http://127.0.0.1:8080")]);
        flatten_fault(components);
        control_token(openapi);
        // Bodies the handlers take as `{}` when absent.
        for (path, item) in openapi.paths.paths.iter_mut() {
            let ops = [
                item.get.as_mut(),
                item.post.as_mut(),
                item.put.as_mut(),
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
        assettags_search, jobs_search, assetjobs_search,
        mock_index, mock_openapi, mock_health, mock_reset, mock_customers, mock_seed,
        mock_clock_get, mock_clock_set, mock_requests, mock_requests_clear, mock_faults,
        mock_faults_add, mock_faults_clear, mock_fault_remove, mock_cm_events, mock_outcome,
        mock_config, mock_config_set,
    ),
    components(schemas(GatewayBody, ErrorEnvelope, ControlErrorBody)),
    modifiers(&Security),
    tags(
        (name = "auth", description = "the gateway's token endpoint"),
        (name = "scripts", description = "CAR scripts"),
        (name = "assets", description = "CAR assets and tags"),
        (name = "jobs", description = "CAR jobs and asset jobs"),
        (name = "control", description = "the emulator's own endpoints"),
    )
)]
struct ApiDoc;

// CAR -----------------------------------------------------------------------------------

/// Get a JWT.
///
/// Form fields `username`, `password`, `token=true` (also as JSON or in the query string).
/// 201 with the raw JWT as the body.
#[utoipa::path(post, path = "/auth", tag = "auth",
    request_body(content(
        (AuthForm = "application/x-www-form-urlencoded", example = json!({"username": "acme_ss2", "password": "passwd", "token": "true"})),
        (AuthForm = "application/json"),
    )),
    responses(
        (status = 201, description = "the JWT", body = String, content_type = "text/plain",
            example = "eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiJhY21lX3NzMiJ9.c2lnbmF0dXJl"),
        (status = 400, description = "a missing field, `token` not true, or a body that is not a form", body = GatewayBody,
            example = json!({"status": 400, "error": "Bad Request", "message": "Missing required parameter(s): token"})),
        (status = 401, description = "wrong username or password", body = GatewayBody,
            example = json!({"status": 401, "error": "Unauthorized", "message": "Authentication failed: invalid username or password"})),
    ))]
fn auth() {}

/// Search scripts.
#[utoipa::path(post, path = "/sm/v1/scripts/search", tag = "scripts",
    request_body(content = SearchRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "a page of scripts", body = Envelope<List<ScriptItem>>),
        (status = 400, description = "a malformed body, an invalid QQL filter, sort or page", body = ErrorEnvelope,
            example = json!({"errorCode": "400", "message": "Invalid filter: unknown field 'nope' (at position 0); fields: ...", "body": null})),
        (status = 401, description = "no valid token", body = GatewayBody,
            example = json!({"status": 401, "error": "Unauthorized", "message": "Not authenticated"})),
    ),
    security(("bearer" = [])))]
fn scripts_search() {}

/// Export scripts as an import file.
#[utoipa::path(get, path = "/sm/v1/scripts/export", tag = "scripts",
    params(("ids" = String, Query, description = "comma-separated script ids", example = "72652,75508",
        pattern = "^\\s*-?[0-9]{1,18}\\s*(,\\s*-?[0-9]{1,18}\\s*)*$")),
    responses(
        (status = 200, description = "the scripts, with content (the import file)", body = Vec<ScriptDetail>),
        (status = 400, description = "`ids` missing or not ids", body = ErrorEnvelope),
        (status = 401, description = "no valid token", body = GatewayBody),
        (status = 404, description = "an id that is not the caller's script", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
fn scripts_export() {}

/// Import scripts from an export file.
#[utoipa::path(post, path = "/sm/v1/scripts/import", tag = "scripts",
    request_body(content = ImportForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "the new scripts' ids", body = Imported,
            example = json!({"ImportedIds": ["80001"]})),
        (status = 400, description = "no `file` part, or a file that is not an export", body = ErrorEnvelope),
        (status = 401, description = "no valid token", body = GatewayBody),
        (status = 409, description = "a script with the same title exists", body = ErrorEnvelope),
        (status = 429, description = "the customer's script limit", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
fn scripts_import() {}

/// Search the activity log.
#[utoipa::path(post, path = "/sm/v1/scripts/activities", tag = "scripts",
    request_body(content = ActivitySearchRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "a page of audit records (the audit service's shape, no envelope)", body = ActivityPage),
        (status = 400, description = "a malformed body, an invalid QQL filter, sort or page", body = ErrorEnvelope),
        (status = 401, description = "no valid token", body = GatewayBody),
    ),
    security(("bearer" = [])))]
fn scripts_activities() {}

/// Schedule a script.
#[utoipa::path(post, path = "/sm/v1/scripts/scheduler", tag = "scripts",
    request_body(content = ScheduleRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "the schedule's id", body = Envelope<NewId<String>>,
            example = json!({"errorCode": "0", "message": "Scheduler created successfully", "body": {"id": "1040"}})),
        (status = 400, description = "a missing or invalid field", body = ErrorEnvelope),
        (status = 401, description = "no valid token", body = GatewayBody),
        (status = 404, description = "a script, asset or tag that is not the caller's", body = ErrorEnvelope),
        (status = 409, description = "a schedule with the same title exists", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
fn scripts_scheduler() {}

/// Get a script by id or title.
#[utoipa::path(get, path = "/sm/v1/scripts/{key}", tag = "scripts",
    params(("key" = String, Path, description = "script id or title", example = "16012")),
    responses(
        (status = 200, description = "the script, with content", body = Envelope<ScriptDetail>),
        (status = 401, description = "no valid token", body = GatewayBody),
        (status = 404, description = "no such script", body = ErrorEnvelope,
            example = json!({"errorCode": "404", "message": "Script with id/name 1 not found", "body": null})),
    ),
    security(("bearer" = [])))]
fn scripts_get() {}

/// Clone a script.
#[utoipa::path(post, path = "/sm/v1/scripts/{key}/clone", tag = "scripts",
    params(("key" = String, Path, description = "script id or title", example = "72652")),
    request_body(content = CloneRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "the clone's id", body = Envelope<NewId<i64>>,
            example = json!({"errorCode": "0", "message": "Script cloned successfully", "body": {"id": 80001}})),
        (status = 400, description = "no title, a malformed body, or a script with that title exists \
            (the guide's code list has no 409)", body = ErrorEnvelope),
        (status = 401, description = "no valid token", body = GatewayBody),
        (status = 404, description = "no such script", body = ErrorEnvelope),
        (status = 429, description = "the customer's script limit", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
fn scripts_clone() {}

/// Execute a script now.
#[utoipa::path(post, path = "/sm/v1/scripts/{key}/execute", tag = "scripts",
    params(("key" = String, Path, description = "script id", example = "72648")),
    request_body(content = ExecuteRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "the job's correlation id", body = Envelope<Execution>),
        (status = 400, description = "no targets, too many ids, testMode true, or a malformed body", body = ErrorEnvelope),
        (status = 401, description = "no valid token", body = GatewayBody),
        (status = 404, description = "no such script, asset or tag", body = ErrorEnvelope),
        (status = 429, description = "executed again within the interval, or the daily limit", body = ErrorEnvelope,
            headers(
                ("Retry-After" = u64, description = "seconds to wait"),
                ("X-RateLimit-Limit" = u64), ("X-RateLimit-Window-Sec" = u64),
                ("X-RateLimit-Remaining" = u64), ("X-RateLimit-ToWait-Sec" = u64),
            )),
    ),
    security(("bearer" = [])))]
fn scripts_execute() {}

/// Search assets.
#[utoipa::path(post, path = "/sm/v1/assets/search", tag = "assets",
    request_body(content = SearchRequest, content_type = "application/json",
        example = json!({"filter": "operatingSystem:Windows", "pageSize": 10})),
    responses(
        (status = 200, description = "a page of assets", body = Envelope<List<AssetItem>>),
        (status = 400, description = "a malformed body, an invalid QQL filter, sort or page", body = ErrorEnvelope),
        (status = 401, description = "no valid token", body = GatewayBody),
    ),
    security(("bearer" = [])))]
fn assets_search() {}

/// Search asset tags.
#[utoipa::path(post, path = "/sm/v1/assettags/search", tag = "assets",
    request_body(content = SearchRequest, content_type = "application/json",
        example = json!({"filter": "name:Internet Facing Assets"})),
    responses(
        (status = 200, description = "a page of tags", body = Envelope<List<TagItem>>),
        (status = 400, description = "a malformed body, an invalid QQL filter, sort or page", body = ErrorEnvelope),
        (status = 401, description = "no valid token", body = GatewayBody),
    ),
    security(("bearer" = [])))]
fn assettags_search() {}

/// Search jobs.
#[utoipa::path(post, path = "/sm/v1/jobs/search", tag = "jobs",
    request_body(content = JobSearchRequest, content_type = "application/json",
        example = json!({"filter": "script.name:Script test for subscribed modules"})),
    responses(
        (status = 200, description = "a page of jobs", body = Envelope<List<JobItem>>),
        (status = 400, description = "a malformed body, an invalid QQL filter, sort or page", body = ErrorEnvelope),
        (status = 401, description = "no valid token", body = GatewayBody),
    ),
    security(("bearer" = [])))]
fn jobs_search() {}

/// Search asset jobs.
#[utoipa::path(post, path = "/sm/v1/assetjobs/search", tag = "jobs",
    request_body(content = AssetJobSearchRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "a page of asset jobs", body = Envelope<List<AssetJobItem>>),
        (status = 400, description = "a malformed body, an invalid QQL filter, sort or page", body = ErrorEnvelope),
        (status = 401, description = "no valid token", body = GatewayBody),
    ),
    security(("bearer" = [])))]
fn assetjobs_search() {}

// Control -------------------------------------------------------------------------------

/// The control endpoints.
#[utoipa::path(get, path = "/_mock/", tag = "control",
    responses((status = 200, description = "method, path and purpose of each", body = Index)))]
fn mock_index() {}

/// This document.
#[utoipa::path(get, path = "/_mock/openapi.json", tag = "control",
    responses((status = 200, description = "the OpenAPI description", body = Object)))]
fn mock_openapi() {}

/// Health, seed, baseline, record counts and clock.
#[utoipa::path(get, path = "/_mock/health", tag = "control",
    responses(
        (status = 200, description = "loaded", body = Health),
        (status = 503, description = "the store is unavailable", body = Health),
    ))]
fn mock_health() {}

/// Back to the baseline: everything, or one customer.
#[utoipa::path(post, path = "/_mock/reset", tag = "control",
    params(("customer" = Option<String>, Query, description = "one customer's name")),
    responses(
        (status = 200, description = "reset", body = ResetReport),
        (status = 404, description = "no such customer", body = ControlErrorBody),
    ))]
fn mock_reset() {}

/// A new customer with its own user.
#[utoipa::path(post, path = "/_mock/customers", tag = "control",
    request_body(content = NewCustomer, example = json!({"name": "Initech", "copyOf": "Acme"})),
    responses(
        (status = 201, description = "created", body = CreatedCustomer),
        (status = 400, description = "invalid", body = ControlErrorBody),
        (status = 404, description = "`copyOf` names no customer", body = ControlErrorBody),
    ))]
fn mock_customers() {}

/// Load records in the seed-data format, validated, all or nothing.
#[utoipa::path(post, path = "/_mock/seed", tag = "control",
    request_body(content = Object, content_type = "application/json", description = "seed-data records by object type"),
    responses(
        (status = 200, description = "loaded", body = Loaded),
        (status = 400, description = "invalid records", body = ControlErrorBody),
    ))]
fn mock_seed() {}

/// Read the clock.
#[utoipa::path(get, path = "/_mock/clock", tag = "control",
    responses((status = 200, description = "the clock", body = ClockState)))]
fn mock_clock_get() {}

/// Set, advance, freeze or resume the clock.
#[utoipa::path(post, path = "/_mock/clock", tag = "control",
    request_body(content = ClockChange, example = json!({"advance": "4h"})),
    responses(
        (status = 200, description = "the clock after the change", body = ClockState),
        (status = 400, description = "invalid", body = ControlErrorBody),
    ))]
fn mock_clock_set() {}

/// The request journal.
#[utoipa::path(get, path = "/_mock/requests", tag = "control",
    params(
        ("method" = Option<String>, Query), ("path" = Option<String>, Query, description = "a path prefix"),
        ("status" = Option<u16>, Query, minimum = 0, maximum = 65535),
        ("since" = Option<i64>, Query, description = "epoch ms"),
    ),
    responses(
        (status = 200, description = "the matching entries", body = Requests),
        (status = 400, description = "an invalid filter", body = ControlErrorBody),
    ))]
fn mock_requests() {}

/// Empty the request journal.
#[utoipa::path(delete, path = "/_mock/requests", tag = "control",
    responses((status = 204, description = "emptied")))]
fn mock_requests_clear() {}

/// The fault rules.
#[utoipa::path(get, path = "/_mock/faults", tag = "control",
    responses((status = 200, description = "the rules", body = Vec<Fault>)))]
fn mock_faults() {}

/// Add a fault rule (API calls only: `/_mock/` is never faulted).
#[utoipa::path(post, path = "/_mock/faults", tag = "control",
    request_body(content = FaultSpec, example = json!({"method": "POST", "path": "/sm/v1/scripts/search", "status": 503, "times": 1})),
    responses(
        (status = 201, description = "the rule", body = Fault),
        (status = 400, description = "invalid", body = ControlErrorBody),
    ))]
fn mock_faults_add() {}

/// Remove every fault rule.
#[utoipa::path(delete, path = "/_mock/faults", tag = "control",
    responses((status = 204, description = "removed")))]
fn mock_faults_clear() {}

/// Remove one fault rule.
#[utoipa::path(delete, path = "/_mock/faults/{id}", tag = "control",
    params(("id" = u64, Path, example = 1)),
    responses(
        (status = 204, description = "removed"),
        (status = 400, description = "not a rule id", body = ControlErrorBody),
        (status = 404, description = "no such rule", body = ControlErrorBody),
    ))]
fn mock_fault_remove() {}

/// Inject CM events as new alerts.
#[utoipa::path(post, path = "/_mock/cm/events", tag = "control",
    request_body(content = Events, example = json!({"customer": "Acme", "events": [{"eventType": "HOST_FOUND", "ipAddress": "10.10.12.5"}]})),
    responses(
        (status = 201, description = "the alerts made", body = EventsAnswer),
        (status = 400, description = "invalid", body = ControlErrorBody),
        (status = 404, description = "no such customer", body = ControlErrorBody),
    ))]
fn mock_cm_events() {}

/// Force an asset job's outcome.
#[utoipa::path(post, path = "/_mock/car/assetjobs/{id}/outcome", tag = "control",
    params(("id" = i64, Path, example = 80541)),
    request_body(content = ForcedOutcome, example = json!({"status": "FAILED", "code": 1, "text": "disk full"})),
    responses(
        (status = 204, description = "forced"),
        (status = 400, description = "invalid", body = ControlErrorBody),
        (status = 404, description = "no such asset job", body = ControlErrorBody),
    ))]
fn mock_outcome() {}

/// The run-time limits.
#[utoipa::path(get, path = "/_mock/config", tag = "control",
    responses((status = 200, description = "the limits", body = Limits)))]
fn mock_config() {}

/// Change run-time limits (any subset).
#[utoipa::path(put, path = "/_mock/config", tag = "control",
    request_body(content = Object, content_type = "application/json", example = json!({"executeIntervalMs": 0})),
    responses(
        (status = 200, description = "the limits after the change", body = Limits),
        (status = 400, description = "an unknown setting or a bad value", body = ControlErrorBody),
    ))]
fn mock_config_set() {}
