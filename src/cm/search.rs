//! `search`, `get` and `download` for the CM object types.
//!
//! Paging is QPS's: records in ascending id; `count` is this page's size; `hasMoreRecords`
//! on searches; `lastId` only while more remain, so "repeat with `id GREATER lastId`"
//! visits every record once. `startFromOffset` (1-based) and `startFromId` agree with it.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri, header};
use axum::response::{IntoResponse, Response};

use super::download;
use super::error::CmError;
use super::fields::Fields;
use super::objects::{self, Kind};
use super::reply::{CmCaller, Ctx, Reply};
use super::request::{self, ServiceRequest};
use super::wire::{Format, Name, Record, ServiceResponse, render_record};
use crate::auth::Caller;
use crate::page::{Page, Window};
use crate::query::SqlWhere;
use crate::query::criteria::{self, Criterion};
use crate::state::AppState;
use crate::store::{AnswerTicket, Search, Store, StoreResult, Total};

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
            format!("The CM API serves {}.", Kind::names_in_words()),
        )
    })
}

/// Parse the body and compile its criteria (plus `startFromId`) for `kind`.
fn compile(
    state: &AppState,
    kind: Kind,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(ServiceRequest, SqlWhere), CmError> {
    let req = request::parse(body, is_json(headers))?;
    let (_, mut sql) = criteria::compile(&req.criteria, kind.catalog(), state.clock.now_ms())?;
    if let Some(from) = req.start_from_id {
        sql = sql.starting_at_id(kind.catalog(), from);
    }
    Ok((req, sql))
}

/// One page of `kind` records of a customer, for an answer in `format`: `(id, record)` in
/// ascending id. Alerts without a `fields` limit come rendered from the store's record
/// cache, which the store fills with the rendering given here.
async fn records(
    store: &Store,
    kind: Kind,
    customer_id: i64,
    search: Search,
    format: Format,
    fields: Option<&Fields>,
) -> StoreResult<Page<(i64, Record)>> {
    let wrapper = Name::Borrowed(kind.wrapper());
    if kind == Kind::Alert && fields.is_none() {
        let json = format == Format::Json;
        let mut profiles = HashMap::new();
        let render = move |a| -> Arc<str> {
            let tree = [(wrapper.clone(), objects::alert_sharing(a, &mut profiles))];
            render_record(format, &tree).into()
        };
        let page = store
            .cm_alerts_rendered(customer_id, search, json, render)
            .await?;
        return Ok(page.map(|(id, text)| (id, Record::Rendered(text))));
    }
    let page = match kind {
        Kind::Alert => {
            let mut profiles = HashMap::new();
            store
                .cm_alerts(customer_id, search)
                .await?
                .map(|a| (a.id, objects::alert_sharing(a, &mut profiles)))
        }
        Kind::Profile => store
            .cm_profiles(customer_id, search)
            .await?
            .map(|p| (p.id, objects::profile(&p, true))),
        Kind::Rule => store
            .cm_rules(customer_id, search)
            .await?
            .map(|r| (r.id, objects::rule(&r, true))),
        Kind::Ruleset => store
            .cm_rulesets(customer_id, search)
            .await?
            .map(|s| (s.ruleset.id, objects::ruleset(&s))),
    };
    Ok(page.map(|(id, node)| {
        let node = match fields {
            Some(f) => f.apply(node),
            None => node,
        };
        (id, Record::Tree(vec![(wrapper.clone(), node)]))
    }))
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
        let params = query_params(&uri);
        let fields_asked = params.get("fields").map(String::as_str);
        let fields = Fields::parse(fields_asked, kind.shape())?;
        let search =
            Search::in_id_order(sql, Window::qps(req.start_from_offset, req.limit_results));
        let kept = answer_key("search", &caller, kind, &ctx, fields_asked, &search);
        let ticket = match state.store.answer(kept) {
            Ok(rendered) => return Ok(rendered),
            Err(ticket) => ticket,
        };
        let page = records(
            &state.store,
            kind,
            caller.customer_id,
            search,
            ctx.format,
            fields.as_ref(),
        )
        .await?;
        let last_id = page.items.last().map(|(id, _)| *id);
        let data = page.items.into_iter().map(|(_, record)| record).collect();
        let mut response = ServiceResponse::success(data);
        response.has_more = Some(page.has_more);
        response.last_id = if page.has_more { last_id } else { None };
        Ok(keep(ticket, &response, &ctx))
    }
    .await;
    ctx.rendered(result)
}

/// What a search or get answer is kept under ([`Store::answer`]): everything it depends on
/// besides the stored data — the operation, the caller's customer, the object type, the
/// format and schema location, the `fields` asked, and the compiled search (its values,
/// relative dates resolved against the clock, and its window).
fn answer_key(
    operation: &str,
    caller: &Caller,
    kind: Kind,
    ctx: &Ctx,
    fields: Option<&str>,
    search: &Search,
) -> String {
    format!(
        "QPS {operation}\n{}\n{}\n{:?}\n{}\n{fields:?}\n{search:?}",
        caller.customer_id,
        kind.wrapper(),
        ctx.format,
        ctx.schema_url
    )
}

/// `response` rendered for `ctx`, kept with `ticket`.
fn keep(ticket: AnswerTicket, response: &ServiceResponse, ctx: &Ctx) -> Arc<[u8]> {
    let rendered: Arc<[u8]> = Arc::from(response.render(ctx.format, &ctx.schema_url).as_bytes());
    ticket.keep(Arc::clone(&rendered));
    rendered
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
            Ok(wanted) => SqlWhere::ids(kind.catalog(), &[wanted]),
            Err(_) => {
                let by_id = [Criterion {
                    field: Some("id".into()),
                    operator: Some("EQUALS".into()),
                    value: Some(id.clone()),
                }];
                criteria::compile(&by_id, kind.catalog(), state.clock.now_ms())?.1
            }
        };
        let search = Search::in_id_order(
            sql,
            Window {
                offset: 0,
                limit: 1,
            },
        );
        let params = query_params(&uri);
        let fields_asked = params.get("fields").map(String::as_str);
        let fields = Fields::parse(fields_asked, kind.shape())?;
        let kept = answer_key("get", &caller, kind, &ctx, fields_asked, &search);
        let ticket = match state.store.answer(kept) {
            Ok(rendered) => return Ok(rendered),
            Err(ticket) => ticket,
        };
        let page = records(
            &state.store,
            kind,
            caller.customer_id,
            search,
            ctx.format,
            fields.as_ref(),
        )
        .await?;
        let Some((_, record)) = page.items.into_iter().next() else {
            return Err(CmError::not_found(kind.wrapper(), &id));
        };
        Ok(keep(ticket, &ServiceResponse::success(vec![record]), &ctx))
    }
    .await;
    ctx.rendered(result)
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
        // Every match, in ascending id.
        let every = Search {
            filter: sql,
            order: Vec::new(),
            window: None,
            total: Total::Overfetch,
        };
        let alerts = state.store.cm_alerts(caller.customer_id, every).await?;
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
