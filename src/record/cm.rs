//! CM objects, paged the documented way: `id GREATER lastId`, `limitResults` 1000, until
//! `hasMoreRecords` is false; in XML (what every tenant supports). One page at a time is
//! held in memory, then written and checkpointed.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::client::Client;
use super::sink::Sink;
use super::{Harvest, RecordError};
use crate::cm::objects::Kind;
use crate::store::seed::{AlertSeed, ProfileSeed, RuleCriterionSeed, RuleSeed, RulesetSeed};
use crate::xml::Element;

/// The page size (the QPS maximum).
const PAGE: u64 = 1000;
/// Deepest nesting in a CM answer (alert → profile → ruleset … is about 8).
const MAX_DEPTH: usize = 32;

/// The ids recorded so far, for references (an alert's profile, a profile's ruleset).
#[derive(Default)]
struct Known {
    rulesets: HashSet<i64>,
    rules: HashSet<i64>,
    profiles: HashSet<i64>,
}

/// Record every ruleset, rule, profile and alert into `h`'s folder.
pub(crate) async fn record(h: &Harvest, client: &Client, api: &str) -> Result<(), RecordError> {
    let base = api.trim_end_matches('/');
    probe(h, client, base).await?;
    let mut known = Known::default();
    for kind in Kind::parents_first() {
        page_through(h, client, base, &kind, &mut known).await?;
    }
    Ok(())
}

/// `GET /qps/rest/portal/version`: the portal version for the manifest, and a clear error
/// when the host is no QPS API or the user may not use CM.
async fn probe(h: &Harvest, client: &Client, base: &str) -> Result<(), RecordError> {
    let url = format!("{base}/qps/rest/portal/version");
    let answer = client.cm(&url, None).await?;
    let root = response(&url, answer.status.as_u16(), &answer.body)?;
    let version = root
        .child("data")
        .and_then(|d| d.children.first())
        .map(|portal| {
            portal
                .children
                .iter()
                .map(|c| format!("{} {}", c.name, c.text.trim()))
                .collect::<Vec<_>>()
                .join(", ")
        });
    h.update(|state| state.portal_version = version)?;
    Ok(())
}

/// Read a `ServiceResponse`, turning QPS errors into the recorder's.
fn response(url: &str, status: u16, body: &[u8]) -> Result<Element, RecordError> {
    let text = String::from_utf8_lossy(body);
    let root = crate::xml::read_tree(&text, MAX_DEPTH).ok();
    let code = root
        .as_ref()
        .and_then(|r| r.text_of("responseCode"))
        .map(str::to_owned);
    let where_ = super::client::path_of(url);
    match (root, code.as_deref()) {
        (Some(root), Some("SUCCESS")) if root.name == "ServiceResponse" => Ok(root),
        (_, Some("INVALID_CREDENTIALS" | "AUTH_CREDENTIALS_NEEDED")) => {
            Err(RecordError::Credentials(format!(
                "{where_}: the CM API refused the credentials ({}): check --username and the password",
                code.unwrap_or_default()
            )))
        }
        (_, Some("UNAUTHORIZED")) => Err(RecordError::Credentials(format!(
            "{where_}: the user may not use the CM API (UNAUTHORIZED): record with a user that has the CM module, or leave out --api-url"
        ))),
        (_, Some(other)) => Err(RecordError::Platform(format!(
            "{where_}: the CM API answered {other} (HTTP {status})"
        ))),
        _ => Err(RecordError::Platform(format!(
            "{where_} answered HTTP {status} without a ServiceResponse: is --api-url a Qualys API server (qualysapi.…)?"
        ))),
    }
}

fn search_body(last_id: i64, since: Option<&str>) -> String {
    let since = since
        .map(|d| format!(r#"<Criteria field="alertDate" operator="GREATER">{d}</Criteria>"#))
        .unwrap_or_default();
    format!(
        "<ServiceRequest><preferences><limitResults>{PAGE}</limitResults></preferences>\
         <filters><Criteria field=\"id\" operator=\"GREATER\">{last_id}</Criteria>{since}</filters>\
         </ServiceRequest>"
    )
}

async fn page_through(
    h: &Harvest,
    client: &Client,
    base: &str,
    kind: &Kind,
    known: &mut Known,
) -> Result<(), RecordError> {
    let at = h.state(|s| s.file(kind.seed_file()));
    if at.done {
        h.progress.skip(kind.seed_file(), at.records);
        remember_done(h, kind, known)?;
        return Ok(());
    }
    if at.bytes > 0 {
        remember_done(h, kind, known)?;
    }
    let mut sink = Sink::open(&h.dir, kind.seed_file(), &at)?;
    h.progress.start(kind.seed_file(), sink.records());
    let mut last_id = at.cursor;
    let url = format!("{base}/qps/rest/1.0/search/cm/{}/", kind.name());
    let is_alerts = *kind == Kind::Alert;
    let limit = if is_alerts { h.opts.max_alerts } else { None };
    loop {
        let body = search_body(
            last_id,
            if is_alerts {
                h.opts.since.as_deref()
            } else {
                None
            },
        );
        let answer = client.cm(&url, Some(&body)).await?;
        let root = response(&url, answer.status.as_u16(), &answer.body)?;
        let more = root.text_of("hasMoreRecords").map(str::trim) == Some("true");
        let mut page_last = last_id;
        let mut full = false;
        if let Some(data) = root.child("data") {
            for el in data.children.iter().filter(|c| c.name == kind.wrapper()) {
                let id = number(el, "id").ok_or_else(|| {
                    RecordError::Platform(format!("{url}: a {} without an id", kind.wrapper()))
                })?;
                page_last = page_last.max(id);
                if limit.is_some_and(|max| sink.records() >= max) {
                    full = true;
                    break;
                }
                write(h, kind, el, id, known, &mut sink)?;
                h.progress.add(kind.seed_file(), 1);
            }
        }
        if !more || full || page_last == last_id {
            let state = sink.finish()?;
            h.update(|s| {
                s.files.insert(kind.seed_file().to_owned(), state);
            })?;
            h.progress.finish(kind.seed_file());
            return Ok(());
        }
        last_id = page_last;
        let state = sink.checkpoint(last_id)?;
        h.update(|s| {
            s.files.insert(kind.seed_file().to_owned(), state);
        })?;
    }
}

/// The ids of a type written before a resume (the state holds rule → ruleset already).
fn remember_done(h: &Harvest, kind: &Kind, known: &mut Known) -> Result<(), RecordError> {
    let set = match kind {
        Kind::Ruleset => &mut known.rulesets,
        Kind::Rule => &mut known.rules,
        Kind::Profile => &mut known.profiles,
        Kind::Alert => return Ok(()),
    };
    super::sink::read_records(&h.dir, kind.seed_file(), |v| {
        if let Some(id) = v.get("id").and_then(Value::as_i64) {
            set.insert(id);
        }
    })
}

fn write(
    h: &Harvest,
    kind: &Kind,
    el: &Element,
    id: i64,
    known: &mut Known,
    sink: &mut Sink,
) -> Result<(), RecordError> {
    let customer = h.opts.customer.clone();
    match kind {
        Kind::Ruleset => {
            let rules: Vec<i64> = el
                .child("rule")
                .and_then(|r| r.child("list"))
                .map(|list| {
                    list.children
                        .iter()
                        .filter_map(|r| number(r, "id"))
                        .collect()
                })
                .unwrap_or_default();
            h.note(|s| {
                for rule in rules {
                    s.rule_rulesets.insert(rule, id);
                }
            });
            known.rulesets.insert(id);
            sink.push(&RulesetSeed {
                id,
                customer,
                title: text(el, "title"),
                description: text(el, "description"),
                date_created: text(el, "dateCreated"),
                date_updated: text(el, "dateUpdated"),
                is_template: text(el, "isTemplate") == "true",
            })
        }
        Kind::Rule => {
            let ruleset = h
                .state(|s| s.rule_rulesets.get(&id).copied())
                .filter(|r| known.rulesets.contains(r));
            let criteria = el
                .child("criteria")
                .and_then(|c| c.child("list"))
                .map(|list| {
                    list.children
                        .iter()
                        .filter(|c| c.name == "RuleCriteria")
                        .map(|c| RuleCriterionSeed {
                            id: number(c, "id").unwrap_or(0),
                            property_name: text(c, "propertyName"),
                            property_value: text(c, "propertyValue"),
                            expression_type: text(c, "expressionType"),
                        })
                        .collect()
                })
                .unwrap_or_default();
            known.rules.insert(id);
            sink.push(&RuleSeed {
                id,
                customer,
                ruleset,
                rule_type: text(el, "ruleType"),
                event_types: text(el, "eventTypes")
                    .split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect(),
                json_data: el.text_of("jsonData").map(str::to_owned),
                date_created: text(el, "dateCreated"),
                criteria,
            })
        }
        Kind::Profile => {
            let ruleset = el
                .child("ruleset")
                .and_then(|r| number(r, "id"))
                .filter(|r| known.rulesets.contains(r));
            known.profiles.insert(id);
            let p = &h.pseudo;
            sink.push(&ProfileSeed {
                id,
                customer,
                uuid: p.uuid(&text(el, "uuid")),
                title: text(el, "title"),
                date_created: text(el, "dateCreated"),
                date_updated: text(el, "dateUpdated"),
                frequency: text(el, "frequency"),
                is_active: text(el, "isActive") == "true",
                included_ips: p.address_list(&text(el, "includedIps")),
                target_list: el.text_of("targetList").map(|t| p.address_list(t)),
                ruleset,
            })
        }
        Kind::Alert => {
            let profile = el
                .child("profile")
                .and_then(|r| number(r, "id"))
                .filter(|r| known.profiles.contains(r));
            let p = &h.pseudo;
            let info = el
                .child("alertInfo")
                .map(|info| alert_info(info, p))
                .unwrap_or_default();
            sink.push(&AlertSeed {
                id,
                customer,
                source: el
                    .text_of("source")
                    .unwrap_or("REMEDIATION")
                    .trim()
                    .to_owned(),
                event_type: text(el, "eventType"),
                trigger_uuid: p.uuid(&text(el, "triggerUuid")),
                ip_address: p.address(&text(el, "ipAddress")),
                hostname: p.hostname(&text(el, "hostname")),
                event_date: text(el, "eventDate"),
                alert_date: text(el, "alertDate"),
                is_hidden: text(el, "isHidden") == "true",
                profile,
                rule: None,
                alert_info: info,
            })
        }
    }
}

/// An alert's details, typed as the seed keeps them (numbers as numbers), identifying
/// values pseudonymised.
fn alert_info(info: &Element, p: &super::pseudo::Pseudo) -> Map<String, Value> {
    let mut map = Map::new();
    for c in &info.children {
        let raw = c.text.as_str();
        let value = match c.name.as_str() {
            "netbiosName" => Value::String(p.netbios(raw)),
            "hostname" | "sslName" | "dnsName" | "fqdn" => Value::String(p.hostname(raw)),
            "ipAddress" | "ip" => Value::String(p.address(raw)),
            "macAddress" => Value::String(p.mac(raw)),
            "port" | "qid" | "severity" => raw
                .trim()
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or_else(|_| Value::String(raw.to_owned())),
            _ if !c.children.is_empty() => Value::Object(alert_info(c, p)),
            _ => Value::String(raw.to_owned()),
        };
        map.insert(c.name.clone(), value);
    }
    map
}

fn text(el: &Element, name: &str) -> String {
    el.text_of(name).unwrap_or_default().trim().to_owned()
}

fn number(el: &Element, name: &str) -> Option<i64> {
    el.text_of(name)?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_search_asks_for_the_next_page_by_id() {
        let body = search_body(237172, None);
        assert!(body.contains(r#"<Criteria field="id" operator="GREATER">237172</Criteria>"#));
        assert!(body.contains("<limitResults>1000</limitResults>"));
        let since = search_body(0, Some("2024-01-01T00:00:00Z"));
        assert!(since.contains(r#"field="alertDate" operator="GREATER">2024-01-01T00:00:00Z<"#));
    }

    #[test]
    fn qps_errors_name_the_fix() {
        let refused = br#"<ServiceResponse><responseCode>INVALID_CREDENTIALS</responseCode></ServiceResponse>"#;
        let e = response("https://h/qps/x", 401, refused).unwrap_err();
        assert!(matches!(e, RecordError::Credentials(_)), "{e}");
        let e = response("https://h/qps/x", 200, b"<html>hello</html>").unwrap_err();
        assert!(e.to_string().contains("--api-url"), "{e}");
    }
}
