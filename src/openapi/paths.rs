//! The operations: one declaration per route the routers serve, with every status its
//! handler answers and the body of each.

#![allow(dead_code)] // the functions exist only for their `utoipa::path` declarations

use super::*;

// CAR -----------------------------------------------------------------------------------

/// Get a JWT.
///
/// Form fields `username`, `password`, `token=true` (also as JSON, as multipart/form-data
/// fields, or in the query string). 201 with the raw JWT as the body.
#[utoipa::path(post, path = "/auth", tag = "auth",
    request_body(content(
        (AuthForm = "application/x-www-form-urlencoded", example = json!({"username": "acme_ss2", "password": "passwd", "token": "true"})),
        (AuthForm = "application/json"),
        (AuthForm = "multipart/form-data"),
    )),
    responses(
        (status = 201, description = "the JWT", body = String, content_type = "text/plain",
            example = "eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiJhY21lX3NzMiJ9.c2lnbmF0dXJl"),
        (status = 400, description = "a missing field, `token` not true, or a body that is not a form", body = GatewayBody,
            example = json!({"status": 400, "error": "Bad Request", "message": "Missing required parameter(s): token"})),
        (status = 401, description = "wrong username or password", body = GatewayBody,
            example = json!({"status": 401, "error": "Unauthorized", "message": "Authentication failed: invalid username or password"})),
    ))]
pub(super) fn auth() {}

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
pub(super) fn scripts_search() {}

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
pub(super) fn scripts_export() {}

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
pub(super) fn scripts_import() {}

/// Search the activity log.
#[utoipa::path(post, path = "/sm/v1/scripts/activities", tag = "scripts",
    request_body(content = ActivitySearchRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "a page of audit records (the audit service's shape, no envelope)", body = ActivityPage),
        (status = 400, description = "a malformed body, an invalid QQL filter, sort or page", body = ErrorEnvelope),
        (status = 401, description = "no valid token", body = GatewayBody),
    ),
    security(("bearer" = [])))]
pub(super) fn scripts_activities() {}

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
pub(super) fn scripts_scheduler() {}

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
pub(super) fn scripts_get() {}

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
pub(super) fn scripts_clone() {}

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
pub(super) fn scripts_execute() {}

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
pub(super) fn assets_search() {}

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
pub(super) fn assettags_search() {}

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
pub(super) fn jobs_search() {}

/// Search asset jobs.
#[utoipa::path(post, path = "/sm/v1/assetjobs/search", tag = "jobs",
    request_body(content = AssetJobSearchRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "a page of asset jobs", body = Envelope<List<AssetJobItem>>),
        (status = 400, description = "a malformed body, an invalid QQL filter, sort or page", body = ErrorEnvelope),
        (status = 401, description = "no valid token", body = GatewayBody),
    ),
    security(("bearer" = [])))]
pub(super) fn assetjobs_search() {}

/// The script types create takes (`typeId`).
#[utoipa::path(get, path = "/sm/v1/script-types", tag = "scripts",
    responses(
        (status = 200, description = "the script types", body = Envelope<Vec<Lookup>>,
            example = json!({"errorCode": null, "message": null, "body": [{"id": 1, "name": "Custom Script"}]})),
        (status = 401, description = "no valid token", body = GatewayBody),
    ),
    security(("bearer" = [])))]
pub(super) fn script_types() {}

/// The script languages create takes (`languageId`); a script shows its language as `type`.
#[utoipa::path(get, path = "/sm/v1/script-language", tag = "scripts",
    responses(
        (status = 200, description = "the script languages", body = Envelope<Vec<Lookup>>,
            example = json!({"errorCode": null, "message": null, "body": [{"id": 1, "name": "Python"}]})),
        (status = 401, description = "no valid token", body = GatewayBody),
    ),
    security(("bearer" = [])))]
pub(super) fn script_languages() {}

/// Create a script.
///
/// Also accepted as `application/vnd.qualys.car.api.v5.0+json` (any content type is read as
/// JSON). The script is `PENDING_REVIEW`, or `APPROVED` by the caller with
/// `scriptApprovalUserConsent`.
#[utoipa::path(post, path = "/sm/v5/script", tag = "scripts",
    request_body(content(
        (ScriptCreateRequest = "application/json"),
        (ScriptCreateRequest = "application/vnd.qualys.car.api.v5.0+json"),
    )),
    responses(
        (status = 201, description = "the new script's id", body = Envelope<NewId<i64>>,
            example = json!({"errorCode": "0", "message": "Script created successfully", "body": {"id": 80001}})),
        (status = 400, description = "a mandatory field missing; an unknown typeId, languageId or \
            categoryId; content that is not base64 or larger than 500 KB; neither content nor \
            GitHub parameters", body = ErrorEnvelope,
            example = json!({"errorCode": "400", "message": "Invalid typeId 9; GET /sm/v1/script-types lists the script types", "body": null})),
        (status = 401, description = "no valid token", body = GatewayBody),
        (status = 409, description = "a script with the same title exists", body = ErrorEnvelope),
        (status = 429, description = "the customer's script limit (5,000)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
pub(super) fn scripts_create_v5() {}

/// Create a script (v4; deprecated by the vendor in June 2025, still served).
///
/// Also accepted as `application/vnd.qualys.car.api.v4.0+json`.
#[utoipa::path(post, path = "/sm/v4/script", tag = "scripts",
    request_body(content(
        (ScriptCreateV4Request = "application/json"),
        (ScriptCreateV4Request = "application/vnd.qualys.car.api.v4.0+json"),
    )),
    responses(
        (status = 201, description = "the new script's id", body = Envelope<NewId<i64>>,
            example = json!({"errorCode": "0", "message": "Script created successfully", "body": {"id": 80002}})),
        (status = 400, description = "a mandatory field missing (title, languageId, platform, \
            severity); an unknown id or platform; content that is not base64 or larger than \
            500 KB; neither content nor GitHub parameters", body = ErrorEnvelope),
        (status = 401, description = "no valid token", body = GatewayBody),
        (status = 409, description = "a script with the same title exists", body = ErrorEnvelope),
        (status = 429, description = "the customer's script limit (5,000)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
pub(super) fn scripts_create_v4() {}

/// Update a script.
///
/// Also accepted as `application/vnd.qualys.car.api.v4.0+json`. New content needs the
/// consent `comment`, and sends the script back to `PENDING_REVIEW` unless
/// `scriptApprovalUserConsent` is true.
#[utoipa::path(patch, path = "/sm/v4/script/{id}", tag = "scripts",
    params(("id" = String, Path, description = "script id", example = "75508")),
    request_body(content(
        (ScriptUpdateRequest = "application/json"),
        (ScriptUpdateRequest = "application/vnd.qualys.car.api.v4.0+json"),
    )),
    responses(
        (status = 200, description = "the script's id", body = Envelope<NewId<i64>>,
            example = json!({"errorCode": "0", "message": "Script updated successfully", "body": {"id": 75508}})),
        (status = 400, description = "new content without `comment`; an unknown id or platform; \
            content that is not base64 or larger than 500 KB", body = ErrorEnvelope,
            example = json!({"errorCode": "400", "message": "comment is required when the script content changes (the consent comment)", "body": null})),
        (status = 401, description = "no valid token", body = GatewayBody),
        (status = 404, description = "no such script of the caller's", body = ErrorEnvelope,
            example = json!({"errorCode": "404", "message": "Script with id 1 not found", "body": null})),
        (status = 409, description = "another script has the new title", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
pub(super) fn scripts_update() {}

/// Search schedules.
#[utoipa::path(post, path = "/sm/v1/scheduler/search", tag = "schedules",
    request_body(content = SchedulerSearchRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "a page of schedules", body = Envelope<List<ScheduleItem>>),
        (status = 400, description = "a malformed body, an invalid QQL filter, sort or page", body = ErrorEnvelope),
        (status = 401, description = "no valid token", body = GatewayBody),
    ),
    security(("bearer" = [])))]
pub(super) fn scheduler_search() {}

/// Deactivate a schedule: it fires no more until activated.
#[utoipa::path(post, path = "/sm/v1/scheduler/{id}/deactivate", tag = "schedules",
    params(("id" = String, Path, description = "schedule id", example = "1")),
    responses(
        (status = 200, description = "the schedule's id", body = Envelope<NewId<String>>,
            example = json!({"errorCode": "0", "message": "Script scheduler deactivated successfully", "body": {"id": "1"}})),
        (status = 401, description = "no valid token", body = GatewayBody),
        (status = 404, description = "no such schedule of the caller's", body = ErrorEnvelope,
            example = json!({"errorCode": "404", "message": "Scheduler with id 1 not found", "body": null})),
    ),
    security(("bearer" = [])))]
pub(super) fn scheduler_deactivate() {}

/// Activate a schedule: it fires from its next time after now.
#[utoipa::path(post, path = "/sm/v1/scheduler/{id}/activate", tag = "schedules",
    params(("id" = String, Path, description = "schedule id", example = "1")),
    responses(
        (status = 200, description = "the schedule's id", body = Envelope<NewId<String>>,
            example = json!({"errorCode": "0", "message": "Script scheduler activated successfully", "body": {"id": "1"}})),
        (status = 400, description = "the schedule has no firing left", body = ErrorEnvelope,
            example = json!({"errorCode": "400", "message": "Based on configured schedule, the given trigger will never fire.", "body": null})),
        (status = 401, description = "no valid token", body = GatewayBody),
        (status = 404, description = "no such schedule of the caller's", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
pub(super) fn scheduler_activate() {}

/// Get a schedule.
#[utoipa::path(get, path = "/sm/v1/scheduler/{id}", tag = "schedules",
    params(("id" = String, Path, description = "schedule id", example = "1")),
    responses(
        (status = 200, description = "the schedule", body = Envelope<ScheduleItem>),
        (status = 401, description = "no valid token", body = GatewayBody),
        (status = 404, description = "no such schedule of the caller's", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
pub(super) fn scheduler_get() {}

/// Update a schedule: the whole definition, as create takes it (`activate` left out keeps
/// the schedule on or off).
#[utoipa::path(post, path = "/sm/v1/scheduler/{id}", tag = "schedules",
    params(("id" = String, Path, description = "schedule id", example = "1")),
    request_body(content = ScheduleRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "the schedule's id", body = Envelope<NewId<String>>,
            example = json!({"errorCode": "0", "message": "Script scheduler updated successfully", "body": {"id": "1"}})),
        (status = 400, description = "a missing or invalid field, or a schedule that would never fire", body = ErrorEnvelope),
        (status = 401, description = "no valid token", body = GatewayBody),
        (status = 404, description = "no such schedule, or a script that is not the caller's", body = ErrorEnvelope),
        (status = 409, description = "another schedule has the title", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
pub(super) fn scheduler_update() {}

/// Delete a schedule; the jobs it made stay.
#[utoipa::path(delete, path = "/sm/v1/scheduler/{id}", tag = "schedules",
    params(("id" = String, Path, description = "schedule id", example = "1")),
    responses(
        (status = 200, description = "the deleted schedule's id", body = Envelope<NewId<String>>,
            example = json!({"errorCode": "0", "message": "Script scheduler deleted successfully", "body": {"id": "1"}})),
        (status = 401, description = "no valid token", body = GatewayBody),
        (status = 404, description = "no such schedule of the caller's", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
pub(super) fn scheduler_delete() {}

// Control -------------------------------------------------------------------------------

/// The control endpoints.
#[utoipa::path(get, path = "/_mock/", tag = "control",
    responses((status = 200, description = "method, path and purpose of each", body = Index)))]
pub(super) fn mock_index() {}

/// This document.
#[utoipa::path(get, path = "/_mock/openapi.json", tag = "control",
    responses((status = 200, description = "the OpenAPI description", body = Object)))]
pub(super) fn mock_openapi() {}

/// Health, seed, baseline, record counts and clock.
#[utoipa::path(get, path = "/_mock/health", tag = "control",
    responses(
        (status = 200, description = "loaded", body = Health),
        (status = 503, description = "the store is unavailable", body = Health),
    ))]
pub(super) fn mock_health() {}

/// Back to how the server started.
///
/// Without `customer`: by default (`scope` `all`) the data of every customer, the clock,
/// the fault rules and the run-time config; with `scope` `data` the data only. With
/// `customer`: that customer's data only (the clock, rules and config are the whole
/// server's). The request journal is kept (`DELETE /_mock/requests` empties it). `customer`
/// and `scope` come in the query string or a JSON body, or both when they agree; anything
/// else is a 400 and resets nothing. The answer lists what was restored.
#[utoipa::path(post, path = "/_mock/reset", tag = "control",
    params(
        ("customer" = Option<String>, Query, description = "one customer's name", pattern = "\\S"),
        ("scope" = Option<ResetScope>, Query, description = "`all` (the default without a customer) or `data`"),
    ),
    request_body(content = ResetRequest, content_type = "application/json",
        example = json!({"customer": "Globex"})),
    responses(
        (status = 200, description = "reset; `restored` says what", body = ResetReport,
            example = json!({"customer": null, "scope": "all", "restored": ["data", "clock", "faults", "config", "stubs"], "elapsedMs": 12.5})),
        (status = 400, description = "an unknown or repeated key, a wrong type, a body that is not a JSON object, \
            query and body disagreeing, or `scope` `all` with a customer", body = ControlErrorBody,
            example = json!({"error": "invalid query string: unknown field `Customer`, expected `customer` or `scope`"})),
        (status = 404, description = "no such customer", body = ControlErrorBody),
    ))]
pub(super) fn mock_reset() {}

/// A new customer with its own user.
#[utoipa::path(post, path = "/_mock/customers", tag = "control",
    request_body(content = NewCustomer, example = json!({"name": "Initech", "copyOf": "Acme"})),
    responses(
        (status = 201, description = "created", body = CreatedCustomer),
        (status = 400, description = "invalid", body = ControlErrorBody),
        (status = 404, description = "`copyOf` names no customer", body = ControlErrorBody),
        (status = 409, description = "the name or the username is taken", body = ControlErrorBody,
            example = json!({"error": "a customer named \"Initech\" exists"})),
    ))]
pub(super) fn mock_customers() {}

/// Load records in the seed-data format, validated, all or nothing.
#[utoipa::path(post, path = "/_mock/seed", tag = "control",
    request_body(content = SeedBody, content_type = "application/json", description = "seed-data records by object type"),
    responses(
        (status = 200, description = "loaded", body = Loaded),
        (status = 400, description = "invalid records, or records that clash with stored ones (an id, uuid, name or title taken): the message names the file, record and field", body = ControlErrorBody),
    ))]
pub(super) fn mock_seed() {}

/// Read the clock.
#[utoipa::path(get, path = "/_mock/clock", tag = "control",
    responses((status = 200, description = "the clock", body = ClockState)))]
pub(super) fn mock_clock_get() {}

/// Set, advance, freeze or resume the clock.
#[utoipa::path(post, path = "/_mock/clock", tag = "control",
    request_body(content = ClockChange, example = json!({"advance": "4h"})),
    responses(
        (status = 200, description = "the clock after the change", body = ClockState),
        (status = 400, description = "invalid, or a time outside 1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z \
            (nothing changes)", body = ControlErrorBody),
    ))]
pub(super) fn mock_clock_set() {}

/// The request journal.
#[utoipa::path(get, path = "/_mock/requests", tag = "control",
    params(
        ("method" = Option<String>, Query), ("path" = Option<String>, Query, description = "a path prefix"),
        ("status" = Option<u16>, Query, minimum = 0, maximum = 65535),
        ("since" = Option<i64>, Query, description = "epoch ms"),
        ("after" = Option<u64>, Query, minimum = 0, description = "only entries with a greater `seq` (the order calls were recorded in)"),
    ),
    responses(
        (status = 200, description = "the matching entries", body = Requests),
        (status = 400, description = "an invalid filter", body = ControlErrorBody),
    ))]
pub(super) fn mock_requests() {}

/// Delete journal entries: those the filters match, or all without one.
#[utoipa::path(delete, path = "/_mock/requests", tag = "control",
    params(
        ("method" = Option<String>, Query), ("path" = Option<String>, Query, description = "a path prefix"),
        ("status" = Option<u16>, Query, minimum = 0, maximum = 65535),
        ("since" = Option<i64>, Query, description = "epoch ms"),
    ),
    responses(
        (status = 204, description = "deleted"),
        (status = 400, description = "an unknown or invalid filter (nothing is deleted)", body = ControlErrorBody),
    ))]
pub(super) fn mock_requests_clear() {}

/// The fault rules.
#[utoipa::path(get, path = "/_mock/faults", tag = "control",
    responses((status = 200, description = "the rules", body = Vec<Fault>)))]
pub(super) fn mock_faults() {}

/// Add a fault rule (API calls only: `/_mock/` is never faulted).
#[utoipa::path(post, path = "/_mock/faults", tag = "control",
    request_body(content = FaultSpec, example = json!({"method": "POST", "path": "/sm/v1/scripts/search", "status": 503, "times": 1})),
    responses(
        (status = 201, description = "the rule", body = Fault),
        (status = 400, description = "invalid: the message says why (e.g. a path under /_mock/, which faults never \
            apply to)", body = ControlErrorBody),
    ))]
pub(super) fn mock_faults_add() {}

/// Remove every fault rule.
#[utoipa::path(delete, path = "/_mock/faults", tag = "control",
    responses((status = 204, description = "removed")))]
pub(super) fn mock_faults_clear() {}

/// Remove one fault rule.
#[utoipa::path(delete, path = "/_mock/faults/{id}", tag = "control",
    params(("id" = u64, Path, example = 1)),
    responses(
        (status = 204, description = "removed"),
        (status = 400, description = "not a rule id", body = ControlErrorBody),
        (status = 404, description = "no such rule", body = ControlErrorBody),
    ))]
pub(super) fn mock_fault_remove() {}

/// Inject CM events as new alerts.
#[utoipa::path(post, path = "/_mock/cm/events", tag = "control",
    request_body(content = Events, example = json!({"customer": "Acme", "events": [{"eventType": "HOST_FOUND", "ipAddress": "10.10.12.5"}]})),
    responses(
        (status = 201, description = "the alerts made", body = EventsAnswer),
        (status = 400, description = "invalid", body = ControlErrorBody),
        (status = 404, description = "no such customer", body = ControlErrorBody),
    ))]
pub(super) fn mock_cm_events() {}

/// Force an asset job's outcome.
#[utoipa::path(post, path = "/_mock/car/assetjobs/{id}/outcome", tag = "control",
    params(("id" = i64, Path, example = 80541)),
    request_body(content = ForcedOutcome, example = json!({"status": "FAILED", "code": 1, "text": "disk full"})),
    responses(
        (status = 204, description = "forced"),
        (status = 400, description = "invalid", body = ControlErrorBody),
        (status = 404, description = "no such asset job", body = ControlErrorBody),
    ))]
pub(super) fn mock_outcome() {}

/// The run-time limits.
#[utoipa::path(get, path = "/_mock/config", tag = "control",
    responses((status = 200, description = "the limits", body = Limits)))]
pub(super) fn mock_config() {}

/// Change run-time limits (any subset).
#[utoipa::path(put, path = "/_mock/config", tag = "control",
    request_body(content = ConfigChange, content_type = "application/json", example = json!({"executeIntervalMs": 0})),
    responses(
        (status = 200, description = "the limits after the change", body = Limits),
        (status = 400, description = "an unknown setting, or a value of the wrong type or out of its bounds \
            (nothing changes)", body = ControlErrorBody),
    ))]
pub(super) fn mock_config_set() {}

// Stubs ---------------------------------------------------------------------------------

/// The stub mappings in force.
#[derive(utoipa::ToSchema)]
struct StubList {
    count: usize,
    /// In the order they are tried: priority (1 first), then the newest first.
    stubs: Vec<crate::stubs::StubView>,
}

/// A WireMock stub mapping, in the supported subset (docs/stubs.md): `id`, `name`,
/// `priority`, `request`, `response`, `metadata` (`metadata.qualysMock`: `auth`,
/// `customer`).
#[derive(utoipa::ToSchema)]
#[schema(value_type = Object)]
struct StubMapping(serde_json::Value);

/// The stub mappings in force (WireMock format), in the order they are tried.
#[utoipa::path(get, path = "/_mock/stubs", tag = "control",
    responses((status = 200, description = "the mappings", body = StubList)))]
pub(super) fn mock_stubs() {}

/// Add a stub mapping: one WireMock mapping object, as WireMock's admin API takes it.
#[utoipa::path(post, path = "/_mock/stubs", tag = "control",
    request_body(content = StubMapping, example = json!({"id": "0b3c1f7e-5d0a-4c51-9d8e-1f2a3b4c5d6e", "request": {"method": "GET", "urlPath": "/api/2.0/fo/asset/host/vm/detection/", "queryParameters": {"action": {"equalTo": "list"}}}, "response": {"status": 200, "headers": {"Content-Type": "text/xml;charset=UTF-8"}, "body": "<HOST_LIST_VM_DETECTION_OUTPUT/>"}})),
    responses(
        (status = 201, description = "added", body = crate::stubs::StubView),
        (status = 400, description = "refused: a key outside the supported subset, an invalid value, or a path \
            the emulator answers itself; the message names the key", body = ControlErrorBody,
            example = json!({"error": "runtime: request.bodyPatterns[0].matchesJsonPath: not supported (supported here: equalTo, caseInsensitive, contains, matches, equalToJson, ignoreArrayOrder, ignoreExtraElements, equalToXml)"})),
        (status = 409, description = "a stub with this id exists", body = ControlErrorBody),
    ))]
pub(super) fn mock_stubs_add() {}

/// Undo every runtime stub change: the mappings `--stubs` loaded, as at start.
#[utoipa::path(delete, path = "/_mock/stubs", tag = "control",
    responses((status = 204, description = "restored")))]
pub(super) fn mock_stubs_restore() {}

/// One stub mapping.
#[utoipa::path(get, path = "/_mock/stubs/{id}", tag = "control",
    params(("id" = String, Path, example = "0b3c1f7e-5d0a-4c51-9d8e-1f2a3b4c5d6e")),
    responses(
        (status = 200, description = "the mapping", body = crate::stubs::StubView),
        (status = 404, description = "no such stub", body = ControlErrorBody),
    ))]
pub(super) fn mock_stub_get() {}

/// Replace a stub mapping (its place among equal priorities is kept).
#[utoipa::path(put, path = "/_mock/stubs/{id}", tag = "control",
    params(("id" = String, Path, example = "0b3c1f7e-5d0a-4c51-9d8e-1f2a3b4c5d6e")),
    request_body(content = StubMapping, example = json!({"request": {"method": "GET", "urlPath": "/api/2.0/fo/asset/host/"}, "response": {"status": 200, "body": "<HOST_LIST_OUTPUT/>"}})),
    responses(
        (status = 200, description = "replaced", body = crate::stubs::StubView),
        (status = 400, description = "refused, as for POST, or an id in the body that is not the path's", body = ControlErrorBody),
        (status = 404, description = "no such stub", body = ControlErrorBody),
    ))]
pub(super) fn mock_stub_replace() {}

/// Remove a stub mapping (a full reset or `DELETE /_mock/stubs` brings a loaded one back).
#[utoipa::path(delete, path = "/_mock/stubs/{id}", tag = "control",
    params(("id" = String, Path, example = "0b3c1f7e-5d0a-4c51-9d8e-1f2a3b4c5d6e")),
    responses(
        (status = 204, description = "removed"),
        (status = 404, description = "no such stub", body = ControlErrorBody),
    ))]
pub(super) fn mock_stub_remove() {}
