//! CAR wire shapes: store rows rendered as the guide's samples show them.
//!
//! The guide is not consistent across endpoints and clients follow it, so neither are
//! these: `GET scripts/{id}` and export say `customerUUID` and `scriptStatus`, search says
//! `customerUuid` and `status`; ids are strings in lists and numbers in exports and jobs.
//! Times are epoch milliseconds, except an asset job's `enddate` (ISO with offset).

use base64::Engine as _;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::store::Caller;
use crate::store::car::{ActivityRow, AssetJobRow, AssetRow, JobRow, ScriptRow, TagRow};

/// The success envelope.
pub fn envelope(body: Value) -> Value {
    json!({"errorCode": null, "message": null, "body": body})
}

/// A list body: `{"totalCount": N, "list": [...]}`.
pub fn list(total: Option<u64>, items: Vec<Value>) -> Value {
    json!({"totalCount": total.unwrap_or(items.len() as u64), "list": items})
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn stamp(ms: i64, id: &str, name: &str) -> Value {
    json!({"dateTime": ms, "user": {"id": id, "name": name}})
}

/// `GET /sm/v1/scripts/{id}` and export items (`id` a string there, a number in exports).
pub fn script_detail(s: &ScriptRow, caller: &Caller, numeric_id: bool) -> Value {
    json!({
        "id": if numeric_id { json!(s.id) } else { json!(s.id.to_string()) },
        "customerUUID": caller.customer_uuid,
        "title": s.title,
        "description": s.description,
        "category": {"id": s.category_id, "name": s.category_name},
        "scriptStatus": s.status,
        "importedFromId": s.imported_from_id,
        "platform": s.platform,
        "severity": s.severity,
        "threshold": s.threshold,
        "type": {"id": s.type_id, "name": s.type_name},
        "content": b64(&s.content),
        "recurringDay": s.recurring_day,
        "approverId": s.approver_id,
        "approverName": s.approver_name,
        "created": stamp(s.created_ms, &s.created_by_id, &s.created_by_name),
        "updated": stamp(s.updated_ms, &s.updated_by_id, &s.updated_by_name),
        "lastExecutedDateTime": s.last_executed_ms,
        "hasBlacklistedCommands": !s.blacklisted_commands.is_empty(),
        "blacklistedCommands": s.blacklisted_commands,
    })
}

/// A `scripts/search` list item (no content).
pub fn script_item(s: &ScriptRow, caller: &Caller) -> Value {
    json!({
        "severity": s.severity,
        "testAssets": null,
        "importedFromId": s.imported_from_id,
        "approverId": s.approver_id,
        "created": stamp(s.created_ms, &s.created_by_id, &s.created_by_name),
        "blacklistedCommands": s.blacklisted_commands,
        "description": s.description,
        "lastExecutedDateTime": s.last_executed_ms,
        "threshold": s.threshold,
        "title": s.title,
        "type": {"name": s.type_name, "id": s.type_id},
        "excludedAssets": null,
        "assetTags": null,
        "platform": s.platform,
        "approverName": s.approver_name,
        "subscribedModules": s.subscribed_modules,
        "schedule": {"recurringDay": s.recurring_day, "recurringTime": null, "frequency": null},
        "customerUuid": caller.customer_uuid,
        "assets": null,
        "hasBlacklistedCommands": !s.blacklisted_commands.is_empty(),
        "id": s.id.to_string(),
        "category": {"name": s.category_name, "id": s.category_id},
        "updated": stamp(s.updated_ms, &s.updated_by_id, &s.updated_by_name),
        "status": s.status,
    })
}

pub fn asset_item(a: &AssetRow, caller: &Caller) -> Value {
    let interfaces: Vec<Value> = a
        .interfaces
        .iter()
        .map(|i| {
            json!({
                "hostname": i.hostname,
                "macAddress": i.mac_address,
                "address": i.address,
                "interfaceName": i.interface_name,
            })
        })
        .collect();
    json!({
        "sortValues": [],
        "data": {
            "interfaces": interfaces,
            "address": a.address,
            "activatedForModules": a.activated_for_modules,
            "operatingSystem": a.operating_system,
            "assetType": a.asset_type,
            "tags": a.tags.iter().map(|t| t.id).collect::<Vec<_>>(),
            "customerUuid": caller.customer_uuid,
            "assetId": a.id,
            "customerId": a.customer_id,
            "name": a.name,
            "agentVersion": a.agent_version,
            "id": a.agent_id,
            "agentUuid": a.agent_uuid,
        }
    })
}

pub fn tag_item(t: &TagRow, caller: &Caller) -> Value {
    let mut v = json!({
        "customerUuid": caller.customer_uuid,
        "tagId": t.id,
        "customerId": t.customer_id,
        "name": t.name,
        "tagUuid": t.uuid,
        "id": t.id.to_string(),
    });
    if let (Some(color), Some(map)) = (&t.background_color, v.as_object_mut()) {
        map.insert("backgroundColor".into(), json!(color));
    }
    v
}

pub fn job_item(j: &JobRow, caller: &Caller) -> Value {
    json!({
        "severity": j.severity,
        "test": j.is_test,
        "created": {"dateTime": j.created_ms},
        "executionType": j.execution_type,
        "correlationUuid": j.correlation_uuid,
        "threshold": j.threshold,
        "title": j.title,
        "platform": j.platform,
        "updatedDateTime": j.updated_ms,
        "scriptId": j.script_id,
        "customerUuid": caller.customer_uuid,
        "isTest": j.is_test,
        "scriptType": j.script_type,
        "id": j.id.to_string(),
        "category": {"name": j.category_name, "id": j.category_id},
    })
}

/// `2022-05-11T06:42:13.692+00:00`
fn iso_offset(ms: i64) -> String {
    let fmt = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]+00:00"
    );
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&fmt).ok())
        .unwrap_or_default()
}

pub fn asset_job_item(a: &AssetJobRow, caller: &Caller, with_result: bool) -> Value {
    let asset = a.asset.as_ref().map(|x| {
        json!({
            "address": x.address,
            "name": x.name,
            "id": x.id,
            "agentUuid": x.agent_uuid,
            "operatingSystem": x.operating_system,
            "tags": x.tags.iter().map(|t| json!({"name": t.name, "tagUuid": t.uuid, "id": t.id})).collect::<Vec<_>>(),
        })
    });
    let mut v = json!({
        "output": {"code": a.output_code, "text": a.output_text},
        "customerUuid": caller.customer_uuid,
        "enddate": a.end_ms.map(iso_offset),
        "test": a.is_test,
        "isTest": a.is_test,
        "created": {"dateTime": a.created_ms},
        "id": a.id.to_string(),
        "job": {
            "scriptId": a.job.script_id,
            "scriptType": a.job.script_type,
            "scriptSeverity": a.job.severity,
            "scriptName": a.job.script_title,
            "correlationUuid": a.job.correlation_uuid,
            "id": a.job.id,
            "platform": a.job.platform,
            "scriptCategory": a.job.category_name,
        },
        "asset": asset,
        "manifestId": a.manifest_id,
        "status": a.status,
    });
    if with_result && let Some(map) = v.as_object_mut() {
        // After `isTest`, as in the guide's sample.
        let result = a.script_result.as_deref().map(b64);
        let mut ordered = serde_json::Map::new();
        for (k, val) in std::mem::take(map) {
            let after = k == "isTest";
            ordered.insert(k, val);
            if after {
                ordered.insert("scriptResult".into(), json!(result));
            }
        }
        *map = ordered;
    }
    v
}

pub fn activity_item(a: &ActivityRow, caller: &Caller) -> Value {
    json!({
        "id": a.uuid,
        "auditEnabledAppId": 1,
        "applicationName": "SM",
        "userName": a.user_name,
        "userUuid": a.user_uuid,
        "customerUuid": caller.customer_uuid,
        "client": a.client,
        "sourceIp": a.source_ip,
        "createdDate": a.created_ms,
        "targetType": a.target_type,
        "targetName": a.target_name,
        "action": a.action,
        "auditComment": a.audit_comment,
        "externalChangeLink": null,
        "customFields": a.custom_fields,
    })
}
