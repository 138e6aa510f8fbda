//! Host events in, alerts out — as CM would raise them.
//!
//! An event on an IP raises an alert for every active profile whose included IPs cover the
//! IP and whose ruleset holds a rule for the event's type whose criteria all match. Rule
//! criteria compare an event property (`hostname`/`name` is the event's hostname, any other
//! name a key of its `info`) by `expressionType`: EQUALS, NOT_EQUALS, CONTAINS (all
//! case-insensitive), IN (comma list), IN_RANGE (`low-high`, numbers); an unknown
//! expression type compares as EQUALS.

use std::net::IpAddr;

use serde::Deserialize;

use crate::iprange::IpRanges;
use crate::page::Window;
use crate::query::SqlWhere;
use crate::query::catalog::EVENT_TYPES;
use crate::state::AppState;
use crate::store::Search;
use crate::store::cm::{NewAlert, RuleCriterionRow};

/// One host event.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Event {
    pub event_type: String,
    pub ip_address: String,
    #[serde(default)]
    pub hostname: String,
    /// When it happened (ISO); now when absent.
    #[serde(default)]
    pub event_date: Option<String>,
    /// Details: `operatingSystem`, `port`, `protocol`, `sslName`, `qid`, ...
    #[serde(default)]
    pub info: serde_json::Map<String, serde_json::Value>,
}

fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn criterion_matches(c: &RuleCriterionRow, event: &Event) -> bool {
    let value = match c.property_name.as_str() {
        "hostname" | "name" => Some(event.hostname.clone()),
        other => event.info.get(other).map(text),
    };
    let Some(value) = value else { return false };
    let (v, want) = (value.to_lowercase(), c.property_value.to_lowercase());
    match c.expression_type.to_ascii_uppercase().as_str() {
        "NOT_EQUALS" | "NOT EQUALS" => v != want,
        "CONTAINS" => v.contains(&want),
        "IN" => want.split(',').any(|w| w.trim() == v),
        "IN_RANGE" => {
            let n: Option<f64> = v.parse().ok();
            let range = want.split_once('-').and_then(|(a, b)| {
                Some((a.trim().parse::<f64>().ok()?, b.trim().parse::<f64>().ok()?))
            });
            matches!((n, range), (Some(n), Some((a, b))) if a <= n && n <= b)
        }
        _ => v == want,
    }
}

/// Check an event; the message says what is wrong.
pub fn check(e: &Event) -> Result<IpAddr, String> {
    if !EVENT_TYPES.contains(&e.event_type.as_str()) {
        return Err(format!(
            "eventType {:?} is not one of {}",
            e.event_type,
            EVENT_TYPES.join(", ")
        ));
    }
    let control = |text: &str| text.chars().any(char::is_control);
    if control(&e.hostname) || control(&e.ip_address) {
        return Err("hostname and ipAddress must not hold control characters".to_owned());
    }
    if let Some((key, _)) = e.info.iter().find(|(_, v)| v.as_str().is_some_and(control)) {
        return Err(format!("info.{key} must not hold control characters"));
    }
    if let Some(d) = &e.event_date
        && crate::dates::parse_s(d).is_none()
    {
        return Err(format!(
            "eventDate {d:?} is not a date like 2018-06-04T10:57:43Z"
        ));
    }
    for (key, value) in &e.info {
        // `info` becomes the alert's `alertInfo` element: its keys are XML element names,
        // and the details the schema types keep their types.
        let mut chars = key.chars();
        let name_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            && !key.to_ascii_lowercase().starts_with("xml");
        if !name_ok {
            return Err(format!(
                "info key {key:?} is not a name (letters, digits, '_', '-', '.'; a letter first)"
            ));
        }
        if !(value.is_string() || value.is_number() || value.is_boolean()) {
            return Err(format!("info.{key} must be a string, number or boolean"));
        }
        if INTEGER_DETAILS.contains(&key.as_str())
            && value
                .as_i64()
                .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
                .is_none()
        {
            return Err(format!("info.{key} must be a whole number"));
        }
    }
    e.ip_address
        .parse()
        .map_err(|_| format!("ipAddress {:?} is not an IP address", e.ip_address))
}

/// Alert details the CM schema types as integers.
const INTEGER_DETAILS: &[&str] = &["port", "qid", "severity"];

/// Raise the alerts `events` cause for `customer_id`; returns their ids.
pub async fn raise(
    state: &AppState,
    customer_id: i64,
    events: Vec<Event>,
) -> crate::store::StoreResult<Vec<i64>> {
    let all = Window {
        offset: 0,
        limit: u64::MAX >> 2,
    };
    let profiles = state
        .store
        .cm_profiles(customer_id, Search::in_id_order(SqlWhere::default(), all))
        .await?
        .items;
    let rulesets = state
        .store
        .cm_rulesets(customer_id, Search::in_id_order(SqlWhere::default(), all))
        .await?
        .items;
    let now_s = state.clock.now_s();
    let mut alerts = Vec::new();
    for event in &events {
        let Ok(ip) = event.ip_address.parse::<IpAddr>() else {
            continue;
        };
        for profile in profiles.iter().filter(|p| p.is_active) {
            if !IpRanges::parse(&profile.included_ips).is_some_and(|r| r.contains(ip)) {
                continue;
            }
            let Some(ruleset) = profile
                .ruleset
                .as_ref()
                .and_then(|s| rulesets.iter().find(|r| r.ruleset.id == s.id))
            else {
                continue;
            };
            let rule = ruleset.rules.iter().find(|r| {
                r.event_types.split(", ").any(|t| t == event.event_type)
                    && r.criteria.iter().all(|c| criterion_matches(c, event))
            });
            if let Some(rule) = rule {
                alerts.push(NewAlert {
                    event_type: event.event_type.clone(),
                    ip_address: event.ip_address.clone(),
                    hostname: event.hostname.clone(),
                    event_s: event
                        .event_date
                        .as_deref()
                        .and_then(crate::dates::parse_s)
                        .unwrap_or(now_s),
                    alert_s: now_s,
                    profile_id: profile.id,
                    rule_id: rule.id,
                    alert_info: event.info.clone(),
                });
            }
        }
    }
    state.store.cm_insert_alerts(customer_id, alerts).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(info: serde_json::Value) -> Event {
        Event {
            event_type: "PORT_OPEN".into(),
            ip_address: "10.0.0.1".into(),
            hostname: "web-01.acme.corp".into(),
            event_date: None,
            info: info.as_object().cloned().unwrap_or_default(),
        }
    }

    fn crit(name: &str, value: &str, kind: &str) -> RuleCriterionRow {
        RuleCriterionRow {
            id: 1,
            property_name: name.into(),
            property_value: value.into(),
            expression_type: kind.into(),
        }
    }

    #[test]
    fn criteria() {
        let e = event(serde_json::json!({"port": 445, "operatingSystem": "Windows 2019"}));
        assert!(criterion_matches(&crit("port", "1-1024", "IN_RANGE"), &e));
        assert!(!criterion_matches(&crit("port", "1-100", "IN_RANGE"), &e));
        assert!(criterion_matches(&crit("hostname", "WEB", "CONTAINS"), &e));
        assert!(criterion_matches(
            &crit("operatingSystem", "windows 2019", "EQUALS"),
            &e
        ));
        assert!(criterion_matches(&crit("port", "22, 445", "IN"), &e));
        assert!(!criterion_matches(&crit("missing", "x", "EQUALS"), &e));
        assert!(check(&event(serde_json::json!({}))).is_ok());
        let mut bad = event(serde_json::json!({}));
        bad.ip_address = "nope".into();
        assert!(check(&bad).is_err());
    }
}
