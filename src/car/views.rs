//! CAR wire shapes: typed views of store rows, as the guide's samples show them.
//!
//! Each struct borrows from the row it shows and serializes straight to the response bytes
//! (no `serde_json::Value` tree in between); field order is wire order. The guide is not
//! consistent across endpoints and clients follow it, so neither are these: `GET
//! scripts/{id}` and export say `customerUUID` and `scriptStatus`, search says
//! `customerUuid` and `status`; ids are strings in lists and numbers in exports and jobs;
//! `{id, name}` pairs come in either order. Times are epoch milliseconds, except an asset
//! job's `enddate` (ISO with offset).

use std::fmt::Display;
use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::display::Base64Display;
use serde::{Serialize, Serializer};

use crate::auth::Caller;
use crate::store::car::{
    ActivityRow, AssetJobRow, AssetRow, InterfaceRow, JobRow, ScheduleDetailRow, ScriptRow, TagRef,
    TagRow,
};

/// `value` as a JSON response with `status`.
pub(crate) fn respond<T: Serialize>(status: StatusCode, value: &T) -> Response {
    (status, Json(value)).into_response()
}

/// `value` as JSON bytes, as [`respond`] writes them (for an answer kept whole,
/// [`crate::store::Store::answer`]).
pub(crate) fn to_json<T: Serialize>(value: &T) -> Result<Arc<[u8]>, serde_json::Error> {
    serde_json::to_vec(value).map(Arc::from)
}

/// JSON bytes made by [`to_json`] as a response with `status`: the bytes and headers
/// [`respond`] gives.
pub(crate) fn respond_json(status: StatusCode, json: Arc<[u8]>) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        Body::from(Bytes::from_owner(json)),
    )
        .into_response()
}

/// [`list_page`]'s answer as JSON bytes.
pub(crate) fn list_page_json<'a, R, V: Serialize>(
    page: &'a crate::page::Page<R>,
    view: impl FnMut(&'a R) -> V,
) -> Result<Arc<[u8]>, serde_json::Error> {
    let items = page.items.iter().map(view).collect();
    to_json(&Envelope::ok(List::new(page.total, items)))
}

/// A search's page as CAR answers it: 200, the envelope around `{"totalCount", "list"}`,
/// each row rendered by `view`.
pub(crate) fn list_page<'a, R, V: Serialize>(
    page: &'a crate::page::Page<R>,
    view: impl FnMut(&'a R) -> V,
) -> Response {
    let items = page.items.iter().map(view).collect();
    respond(StatusCode::OK, &Envelope::ok(List::new(page.total, items)))
}

/// The CAR envelope: `{"errorCode": .., "message": .., "body": ..}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Envelope<T> {
    error_code: Option<&'static str>,
    message: Option<&'static str>,
    body: T,
}

impl<T> Envelope<T> {
    /// A read's answer: code and message null.
    pub(crate) fn ok(body: T) -> Envelope<T> {
        Envelope {
            error_code: None,
            message: None,
            body,
        }
    }

    /// A creation's answer: code `"0"` and a message.
    pub(crate) fn created(message: &'static str, body: T) -> Envelope<T> {
        Envelope {
            error_code: Some("0"),
            message: Some(message),
            body,
        }
    }
}

/// A list body: `{"totalCount": N, "list": [...]}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct List<T> {
    total_count: u64,
    list: Vec<T>,
}

impl<T> List<T> {
    /// `total` when the store counted, else the items on the page.
    pub(crate) fn new(total: Option<u64>, list: Vec<T>) -> List<T> {
        List {
            total_count: total.unwrap_or(list.len() as u64),
            list,
        }
    }
}

/// Written as a JSON string through `Display`, with no `String` in between: ids as
/// strings, content as base64.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AsText<T>(T);

impl<T: Display> Serialize for AsText<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

/// Bytes written as a base64 JSON string, encoded straight into the response.
#[derive(Debug, Clone, Copy)]
struct Base64<'a>(&'a [u8]);

impl Serialize for Base64<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&Base64Display::new(
            self.0,
            &base64::engine::general_purpose::STANDARD,
        ))
    }
}

fn b64(bytes: &[u8]) -> Base64<'_> {
    Base64(bytes)
}

/// A script id: a string in `GET scripts/{id}`, a number in exports.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(untagged)]
pub(crate) enum ScriptId {
    Text(AsText<i64>),
    Number(i64),
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct IdName<'a> {
    id: i64,
    name: &'a str,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct NameId<'a> {
    name: &'a str,
    id: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct User<'a> {
    id: &'a str,
    name: &'a str,
}

/// `{"dateTime": ms, "user": {"id", "name"}}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct Stamp<'a> {
    date_time: i64,
    user: User<'a>,
}

fn stamp<'a>(ms: i64, id: &'a str, name: &'a str) -> Stamp<'a> {
    Stamp {
        date_time: ms,
        user: User { id, name },
    }
}

/// `{"dateTime": ms}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct Created {
    date_time: i64,
}

/// `GET /sm/v1/scripts/{id}` and export items.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ScriptDetail<'a> {
    #[schema(schema_with = crate::schemas::id_text_or_number)]
    id: ScriptId,
    #[serde(rename = "customerUUID")]
    customer_uuid: &'a str,
    title: &'a str,
    description: &'a str,
    category: IdName<'a>,
    script_status: &'a str,
    imported_from_id: i64,
    platform: &'a str,
    severity: i64,
    threshold: i64,
    #[serde(rename = "type")]
    script_type: IdName<'a>,
    #[schema(value_type = String, format = Byte)]
    content: Base64<'a>,
    recurring_day: i64,
    approver_id: Option<&'a str>,
    approver_name: Option<&'a str>,
    created: Stamp<'a>,
    updated: Stamp<'a>,
    last_executed_date_time: i64,
    has_blacklisted_commands: bool,
    blacklisted_commands: &'a str,
}

impl<'a> ScriptDetail<'a> {
    /// `numeric_id`: the id as a number (exports) rather than a string.
    pub(crate) fn new(s: &'a ScriptRow, caller: &'a Caller, numeric_id: bool) -> Self {
        ScriptDetail {
            id: if numeric_id {
                ScriptId::Number(s.id)
            } else {
                ScriptId::Text(AsText(s.id))
            },
            customer_uuid: &caller.customer_uuid,
            title: &s.title,
            description: &s.description,
            category: IdName {
                id: s.category_id,
                name: &s.category_name,
            },
            script_status: &s.status,
            imported_from_id: s.imported_from_id,
            platform: &s.platform,
            severity: s.severity,
            threshold: s.threshold,
            script_type: IdName {
                id: s.type_id,
                name: &s.type_name,
            },
            content: b64(&s.content),
            recurring_day: s.recurring_day,
            approver_id: s.approver_id.as_deref(),
            approver_name: s.approver_name.as_deref(),
            created: stamp(s.created_ms, &s.created_by_id, &s.created_by_name),
            updated: stamp(s.updated_ms, &s.updated_by_id, &s.updated_by_name),
            last_executed_date_time: s.last_executed_ms,
            has_blacklisted_commands: !s.blacklisted_commands.is_empty(),
            blacklisted_commands: &s.blacklisted_commands,
        }
    }
}

/// A search item's `schedule`: only the recurring day is known.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct ScriptSchedule {
    recurring_day: i64,
    #[schema(schema_with = crate::schemas::null)]
    recurring_time: Option<()>,
    #[schema(schema_with = crate::schemas::null)]
    frequency: Option<()>,
}

/// A `scripts/search` list item (no content).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ScriptItem<'a> {
    severity: i64,
    #[schema(schema_with = crate::schemas::null)]
    test_assets: Option<()>,
    imported_from_id: i64,
    approver_id: Option<&'a str>,
    created: Stamp<'a>,
    blacklisted_commands: &'a str,
    description: &'a str,
    last_executed_date_time: i64,
    threshold: i64,
    title: &'a str,
    #[serde(rename = "type")]
    script_type: NameId<'a>,
    #[schema(schema_with = crate::schemas::null)]
    excluded_assets: Option<()>,
    #[schema(schema_with = crate::schemas::null)]
    asset_tags: Option<()>,
    platform: &'a str,
    approver_name: Option<&'a str>,
    subscribed_modules: &'a [String],
    schedule: ScriptSchedule,
    customer_uuid: &'a str,
    #[schema(schema_with = crate::schemas::null)]
    assets: Option<()>,
    has_blacklisted_commands: bool,
    #[schema(value_type = String)]
    id: AsText<i64>,
    category: NameId<'a>,
    updated: Stamp<'a>,
    status: &'a str,
}

impl<'a> ScriptItem<'a> {
    pub(crate) fn new(s: &'a ScriptRow, caller: &'a Caller) -> Self {
        ScriptItem {
            severity: s.severity,
            test_assets: None,
            imported_from_id: s.imported_from_id,
            approver_id: s.approver_id.as_deref(),
            created: stamp(s.created_ms, &s.created_by_id, &s.created_by_name),
            blacklisted_commands: &s.blacklisted_commands,
            description: &s.description,
            last_executed_date_time: s.last_executed_ms,
            threshold: s.threshold,
            title: &s.title,
            script_type: NameId {
                name: &s.type_name,
                id: s.type_id,
            },
            excluded_assets: None,
            asset_tags: None,
            platform: &s.platform,
            approver_name: s.approver_name.as_deref(),
            subscribed_modules: &s.subscribed_modules,
            schedule: ScriptSchedule {
                recurring_day: s.recurring_day,
                recurring_time: None,
                frequency: None,
            },
            customer_uuid: &caller.customer_uuid,
            assets: None,
            has_blacklisted_commands: !s.blacklisted_commands.is_empty(),
            id: AsText(s.id),
            category: NameId {
                name: &s.category_name,
                id: s.category_id,
            },
            updated: stamp(s.updated_ms, &s.updated_by_id, &s.updated_by_name),
            status: &s.status,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct Interface<'a> {
    hostname: Option<&'a str>,
    mac_address: Option<&'a str>,
    address: Option<&'a str>,
    interface_name: Option<&'a str>,
}

impl<'a> From<&'a InterfaceRow> for Interface<'a> {
    fn from(i: &'a InterfaceRow) -> Self {
        Interface {
            hostname: i.hostname.as_deref(),
            mac_address: i.mac_address.as_deref(),
            address: i.address.as_deref(),
            interface_name: i.interface_name.as_deref(),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct AssetData<'a> {
    interfaces: Vec<Interface<'a>>,
    address: &'a str,
    activated_for_modules: &'a [String],
    operating_system: &'a str,
    asset_type: &'a str,
    tags: Vec<i64>,
    customer_uuid: &'a str,
    asset_id: i64,
    customer_id: i64,
    name: &'a str,
    agent_version: &'a str,
    id: &'a str,
    agent_uuid: &'a str,
}

/// An `assets/search` list item: the search engine's hit (`sortValues`, `data`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AssetItem<'a> {
    #[schema(value_type = Vec<Object>)]
    sort_values: [(); 0],
    data: AssetData<'a>,
}

impl<'a> AssetItem<'a> {
    pub(crate) fn new(a: &'a AssetRow, caller: &'a Caller) -> Self {
        AssetItem {
            sort_values: [],
            data: AssetData {
                interfaces: a.interfaces.iter().map(Interface::from).collect(),
                address: &a.address,
                activated_for_modules: &a.activated_for_modules,
                operating_system: &a.operating_system,
                asset_type: &a.asset_type,
                tags: a.tags.iter().map(|t| t.id).collect(),
                customer_uuid: &caller.customer_uuid,
                asset_id: a.id,
                customer_id: a.customer_id,
                name: &a.name,
                agent_version: &a.agent_version,
                id: &a.agent_id,
                agent_uuid: &a.agent_uuid,
            },
        }
    }
}

/// An `assettags/search` list item; `backgroundColor` only when the tag has one.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TagItem<'a> {
    customer_uuid: &'a str,
    tag_id: i64,
    customer_id: i64,
    name: &'a str,
    tag_uuid: &'a str,
    #[schema(value_type = String)]
    id: AsText<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    background_color: Option<&'a str>,
}

impl<'a> TagItem<'a> {
    pub(crate) fn new(t: &'a TagRow, caller: &'a Caller) -> Self {
        TagItem {
            customer_uuid: &caller.customer_uuid,
            tag_id: t.id,
            customer_id: t.customer_id,
            name: &t.name,
            tag_uuid: &t.uuid,
            id: AsText(t.id),
            background_color: t.background_color.as_deref(),
        }
    }
}

/// A `jobs/search` list item.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JobItem<'a> {
    severity: i64,
    test: bool,
    created: Created,
    execution_type: &'a str,
    correlation_uuid: &'a str,
    threshold: i64,
    title: &'a str,
    platform: &'a str,
    updated_date_time: i64,
    script_id: i64,
    customer_uuid: &'a str,
    is_test: bool,
    script_type: &'a str,
    #[schema(value_type = String)]
    id: AsText<i64>,
    category: NameId<'a>,
}

impl<'a> JobItem<'a> {
    pub(crate) fn new(j: &'a JobRow, caller: &'a Caller) -> Self {
        JobItem {
            severity: j.severity,
            test: j.is_test,
            created: Created {
                date_time: j.created_ms,
            },
            execution_type: &j.execution_type,
            correlation_uuid: &j.correlation_uuid,
            threshold: j.threshold,
            title: &j.title,
            platform: &j.platform,
            updated_date_time: j.updated_ms,
            script_id: j.script_id,
            customer_uuid: &caller.customer_uuid,
            is_test: j.is_test,
            script_type: &j.script_type,
            id: AsText(j.id),
            category: NameId {
                name: &j.category_name,
                id: j.category_id,
            },
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Output<'a> {
    code: Option<i64>,
    text: Option<&'a str>,
}

/// The job an asset job belongs to, as the asset job shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct AssetJobJob<'a> {
    script_id: i64,
    script_type: &'a str,
    script_severity: i64,
    script_name: &'a str,
    correlation_uuid: &'a str,
    id: i64,
    platform: &'a str,
    script_category: &'a str,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct TagName<'a> {
    name: &'a str,
    tag_uuid: &'a str,
    id: i64,
}

impl<'a> From<&'a TagRef> for TagName<'a> {
    fn from(t: &'a TagRef) -> Self {
        TagName {
            name: &t.name,
            tag_uuid: &t.uuid,
            id: t.id,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct AssetJobAsset<'a> {
    address: &'a str,
    name: &'a str,
    id: i64,
    agent_uuid: &'a str,
    operating_system: &'a str,
    tags: Vec<TagName<'a>>,
}

/// An `assetjobs/search` list item; `scriptResult` (after `isTest`, as in the guide's
/// sample) only when `includeScriptResult` was asked for.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AssetJobItem<'a> {
    output: Output<'a>,
    customer_uuid: &'a str,
    enddate: Option<String>,
    test: bool,
    is_test: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Byte)]
    script_result: Option<Option<Base64<'a>>>,
    created: Created,
    #[schema(value_type = String)]
    id: AsText<i64>,
    job: AssetJobJob<'a>,
    asset: Option<AssetJobAsset<'a>>,
    manifest_id: &'a str,
    status: &'a str,
}

impl<'a> AssetJobItem<'a> {
    pub(crate) fn new(a: &'a AssetJobRow, caller: &'a Caller, with_result: bool) -> Self {
        AssetJobItem {
            output: Output {
                code: a.output_code,
                text: a.output_text.as_deref(),
            },
            customer_uuid: &caller.customer_uuid,
            enddate: a.end_ms.map(crate::dates::iso_ms_offset),
            test: a.is_test,
            is_test: a.is_test,
            script_result: with_result.then(|| a.script_result.as_deref().map(b64)),
            created: Created {
                date_time: a.created_ms,
            },
            id: AsText(a.id),
            job: AssetJobJob {
                script_id: a.job.script_id,
                script_type: &a.job.script_type,
                script_severity: a.job.severity,
                script_name: &a.job.script_title,
                correlation_uuid: &a.job.correlation_uuid,
                id: a.job.id,
                platform: &a.job.platform,
                script_category: &a.job.category_name,
            },
            asset: a.asset.as_ref().map(|x| AssetJobAsset {
                address: &x.address,
                name: &x.name,
                id: x.id,
                agent_uuid: &x.agent_uuid,
                operating_system: &x.operating_system,
                tags: x.tags.iter().map(TagName::from).collect(),
            }),
            manifest_id: &a.manifest_id,
            status: &a.status,
        }
    }
}

/// A `scripts/activities` audit record.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ActivityItem<'a> {
    id: &'a str,
    audit_enabled_app_id: u32,
    application_name: &'static str,
    user_name: &'a str,
    user_uuid: &'a str,
    customer_uuid: &'a str,
    client: Option<&'a str>,
    source_ip: Option<&'a str>,
    created_date: i64,
    target_type: &'a str,
    target_name: &'a str,
    action: &'a str,
    audit_comment: Option<&'a str>,
    #[schema(schema_with = crate::schemas::null)]
    external_change_link: Option<()>,
    #[schema(schema_with = crate::schemas::any_value)]
    custom_fields: &'a serde_json::Value,
}

impl<'a> ActivityItem<'a> {
    pub(crate) fn new(a: &'a ActivityRow, caller: &'a Caller) -> Self {
        ActivityItem {
            id: &a.uuid,
            audit_enabled_app_id: 1,
            application_name: "SM",
            user_name: &a.user_name,
            user_uuid: &a.user_uuid,
            customer_uuid: &caller.customer_uuid,
            client: a.client.as_deref(),
            source_ip: a.source_ip.as_deref(),
            created_date: a.created_ms,
            target_type: &a.target_type,
            target_name: &a.target_name,
            action: &a.action,
            audit_comment: a.audit_comment.as_deref(),
            external_change_link: None,
            custom_fields: &a.custom_fields,
        }
    }
}

/// The `scripts/activities` answer: the audit-log service's own shape, not the envelope.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ActivityPage<'a> {
    audit_records: Vec<ActivityItem<'a>>,
    total_count: u64,
    page_number: u64,
    page_size: u64,
    application_name: &'static str,
    client_app: &'static str,
    audit_enabled_app_id: u32,
}

impl<'a> ActivityPage<'a> {
    pub(crate) fn new(
        audit_records: Vec<ActivityItem<'a>>,
        total_count: u64,
        page_number: u64,
        page_size: u64,
    ) -> Self {
        ActivityPage {
            audit_records,
            total_count,
            page_number,
            page_size,
            application_name: "SM",
            client_app: "SM",
            audit_enabled_app_id: 1,
        }
    }
}

/// `execute`'s body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Execution<'a> {
    pub(crate) correlation_uuid: &'a str,
}

/// The body of a creation's envelope: the new id (a number for clones, a string for
/// schedules).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct NewId<T> {
    pub(crate) id: T,
}

/// `import`'s answer (no envelope).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Imported {
    #[serde(rename = "ImportedIds")]
    #[schema(value_type = Vec<String>)]
    pub(crate) imported_ids: Vec<AsText<i64>>,
}

impl Imported {
    pub(crate) fn new(ids: &[i64]) -> Imported {
        Imported {
            imported_ids: ids.iter().copied().map(AsText).collect(),
        }
    }
}

/// A schedule id as a string.
pub(crate) fn id_text(id: i64) -> AsText<i64> {
    AsText(id)
}

/// `{"id": n}`: an asset or tag a schedule targets.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Target {
    id: i64,
}

fn targets(ids: &[i64]) -> Vec<Target> {
    ids.iter().map(|&id| Target { id }).collect()
}

/// `{"id": n, "title": ".."}`: the script a schedule runs (`title` null once it is gone).
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ScheduledScript<'a> {
    id: i64,
    title: Option<&'a str>,
}

/// A schedule, as the scheduler search lists it and get answers it: the create request's
/// fields, with its state (`activate`, `status`) and times.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ScheduleItem<'a> {
    #[schema(value_type = String)]
    id: AsText<i64>,
    customer_uuid: &'a str,
    title: &'a str,
    description: &'a str,
    scripts: Vec<ScheduledScript<'a>>,
    assets: Vec<Target>,
    asset_tags: Vec<Target>,
    excluded_assets: Vec<Target>,
    schedule_type: &'a str,
    start_date: &'a str,
    end_date: &'a str,
    start_time: &'a str,
    hourly_interval: Option<i64>,
    days_of_week: &'a [String],
    recurrence_date: Option<i64>,
    recurrence_month: Option<i64>,
    monthly_schedule_type: Option<&'a str>,
    activate: bool,
    /// `ACTIVE` (fires next at `nextExecutionDateTime`), `INACTIVE` (deactivated), or
    /// `COMPLETED` (active, and will never fire again).
    status: &'static str,
    user: User<'a>,
    created: Stamp<'a>,
    last_executed_date_time: i64,
    next_execution_date_time: Option<i64>,
}

impl<'a> ScheduleItem<'a> {
    pub(crate) fn new(s: &'a ScheduleDetailRow, caller: &'a Caller) -> Self {
        ScheduleItem {
            id: AsText(s.id),
            customer_uuid: &caller.customer_uuid,
            title: &s.title,
            description: &s.description,
            scripts: vec![ScheduledScript {
                id: s.script_id,
                title: s.script_title.as_deref(),
            }],
            assets: targets(&s.targets.asset_ids),
            asset_tags: targets(&s.targets.tag_ids),
            excluded_assets: targets(&s.targets.excluded_ids),
            schedule_type: &s.schedule_type,
            start_date: &s.start_date,
            end_date: &s.end_date,
            start_time: &s.start_time,
            hourly_interval: s.hourly_interval,
            days_of_week: &s.days_of_week,
            recurrence_date: s.recurrence_date,
            recurrence_month: s.recurrence_month,
            monthly_schedule_type: s.monthly_schedule_type.as_deref(),
            activate: s.activate,
            status: match (s.activate, s.next_fire_ms) {
                (false, _) => "INACTIVE",
                (true, Some(_)) => "ACTIVE",
                (true, None) => "COMPLETED",
            },
            user: User {
                id: &s.user_id,
                name: &s.user_name,
            },
            created: stamp(s.created_ms, &s.user_id, &s.user_name),
            last_executed_date_time: s.last_executed_ms,
            next_execution_date_time: s.next_fire_ms,
        }
    }
}

/// `{"id": n, "name": ".."}`: a lookup entry (script types, languages).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Lookup {
    pub(crate) id: i64,
    pub(crate) name: &'static str,
}
