//! `search`, `get` and `download` for the CM object types.
//!
//! Paging is QPS's: records in ascending id; `count` is this page's size; `hasMoreRecords`
//! on searches; `lastId` only while more remain, so "repeat with `id GREATER lastId`"
//! visits every record once. `startFromOffset` (1-based) and `startFromId` agree with it.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri, header};
use axum::response::{IntoResponse, Response};

use super::download;
use super::error::CmError;
use super::fields::Fields;
use super::objects::Kind;
use super::reply::{CmCaller, Ctx, Reply};
use super::request::{self, ServiceRequest};
use super::wire::ServiceResponse;
use crate::page::Window;
use crate::query::criteria::{self, Criterion};
use crate::state::AppState;
use crate::store::Caller;

fn query_params(uri: &Uri) -> HashMap<String, String> {
    uri.query()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default()
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("json"))
}

/// Checks every CM call shares: the CM module, the object type. (HTTP headers are not
/// limited here: the guide's 2,048-character `headers` error is an element error, and real
/// gateways take ordinary header sizes — README "Choices".)
fn admit(caller: &Caller, object: &str) -> Result<Kind, CmError> {
    if !caller.modules.iter().any(|m| m.eq_ignore_ascii_case("CM")) {
        return Err(CmError::no_cm_module());
    }
    Kind::from_path(object).ok_or_else(|| {
        CmError::invalid_request(
            format!("Unknown object type: cm/{object}"),
            "The CM API serves alert, profile, rule and ruleset.",
        )
    })
}

/// Parse the body and compile its criteria (plus `startFromId`) for `kind`.
fn compile(
    state: &AppState,
    kind: Kind,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(ServiceRequest, crate::query::SqlWhere), CmError> {
    let req = request::parse(body, is_json(headers))?;
    let (_, mut sql) = criteria::compile(&req.criteria, kind.catalog(), state.clock.now_ms())?;
    if let Some(from) = req.start_from_id {
        sql = sql.starting_at_id(kind.catalog(), from);
    }
    Ok((req, sql))
}

/// `POST /qps/rest/1.0/search/cm/{object}`
pub async fn search(
    State(state): State<AppState>,
    ctx: Ctx,
    CmCaller(caller): CmCaller,
    Path(object): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    let result = async {
        let kind = admit(&caller, &object)?;
        let (req, sql) = compile(&state, kind, &headers, &body)?;
        let fields = Fields::parse(
            query_params(&uri).get("fields").map(String::as_str),
            kind.shape(),
        )?;
        let window = Window::qps(req.start_from_offset, req.limit_results);
        let page = kind
            .fetch_records(
                &state,
                caller.customer_id,
                sql,
                window,
                ctx.format,
                fields.as_ref(),
            )
            .await?;
        let last_id = page.items.last().map(|(id, _)| *id);
        let data = page.items.into_iter().map(|(_, record)| record).collect();
        let mut response = ServiceResponse::success(data);
        response.has_more = Some(page.has_more);
        response.last_id = if page.has_more { last_id } else { None };
        Ok(response)
    }
    .await;
    ctx.reply(result)
}

/// `GET|POST /qps/rest/1.0/get/cm/{object}/{id}`
pub async fn get_one(
    State(state): State<AppState>,
    ctx: Ctx,
    CmCaller(caller): CmCaller,
    Path((object, id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    let result = async {
        let kind = admit(&caller, &object)?;
        let req = request::parse(&body, is_json(&headers))?;
        if !req.criteria.is_empty() {
            return Err(CmError::invalid_request(
                "Operation get does not support search filters.",
                "Do not provide search filters for this operation.",
            ));
        }
        // A typed lookup by id; an id that is not a number gets the guide's criteria error
        // text, from the one validation of criteria.
        let sql = match id.parse::<i64>() {
            Ok(wanted) => crate::query::SqlWhere::ids(kind.catalog(), &[wanted]),
            Err(_) => {
                let by_id = [Criterion {
                    field: Some("id".into()),
                    operator: Some("EQUALS".into()),
                    value: Some(id.clone()),
                }];
                criteria::compile(&by_id, kind.catalog(), state.clock.now_ms())?.1
            }
        };
        let window = Window {
            offset: 0,
            limit: 1,
        };
        let fields = Fields::parse(
            query_params(&uri).get("fields").map(String::as_str),
            kind.shape(),
        )?;
        let page = kind
            .fetch_records(
                &state,
                caller.customer_id,
                sql,
                window,
                ctx.format,
                fields.as_ref(),
            )
            .await?;
        let Some((_, record)) = page.items.into_iter().next() else {
            return Err(CmError::not_found(kind.wrapper(), &id));
        };
        Ok(ServiceResponse::success(vec![record]))
    }
    .await;
    ctx.reply(result)
}

/// `POST /qps/rest/1.0/download/cm/alert/?format=csv|cef`
pub async fn download(
    State(state): State<AppState>,
    ctx: Ctx,
    CmCaller(caller): CmCaller,
    Path(object): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = async {
        let kind = admit(&caller, &object)?;
        if kind != Kind::Alert {
            return Err(CmError::invalid_request(
                format!("Operation download is not supported for cm/{object}."),
                "Only alerts can be downloaded.",
            ));
        }
        let format = download::Format::from_param(query_params(&uri).get("format"))?;
        let (_, sql) = compile(&state, kind, &headers, &body)?;
        let all = Window {
            offset: 0,
            limit: u64::MAX - 1,
        };
        let alerts = state.store.cm_alerts(caller.customer_id, sql, all).await?;
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(|h| h.split(':').next().unwrap_or(h).to_owned())
            .unwrap_or_else(|| "localhost".to_owned());
        let fields = Fields::parse(
            query_params(&uri).get("fields").map(String::as_str),
            kind.shape(),
        )?;
        Ok(download::render(
            format,
            &alerts.items,
            state.clock.now(),
            &host,
            fields.as_ref(),
        ))
    }
    .await;
    match result {
        Ok(response) => response,
        Err(e) => ctx.fail(e).into_response(),
    }
}
