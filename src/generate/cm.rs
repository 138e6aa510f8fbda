//! CM records: rulesets, rules, profiles (fixed), and alerts (any number, streamed).

use serde_json::json;

use super::{ACME, GLOBEX, GenerateArgs, YEAR_START_S};
use crate::dates;
use crate::query::catalog::EVENT_TYPES;
use crate::rng::Rng;
use crate::store::seed::{AlertSeed, ProfileSeed, RuleCriterionSeed, RuleSeed, RulesetSeed};

pub(super) fn rulesets() -> Vec<RulesetSeed> {
    let ruleset = |id, customer: &str, title: &str| RulesetSeed {
        id,
        customer: customer.into(),
        title: title.into(),
        description: format!("{title} (generated)"),
        date_created: dates::iso_s(YEAR_START_S - 86_400 * 30),
        date_updated: dates::iso_s(YEAR_START_S - 86_400 * 30),
        is_template: false,
    };
    vec![
        ruleset(4001, ACME, "All Critical"),
        ruleset(4002, ACME, "Open Ports"),
        ruleset(4003, ACME, "Certificates and Software"),
        ruleset(4004, ACME, "Tickets"),
        ruleset(9001, GLOBEX, "Globex Critical"),
    ]
}

/// Rules of each ruleset, by event-type group.
pub(super) fn rules() -> Vec<RuleSeed> {
    let rule = |id,
                customer: &str,
                rs,
                rule_type: &str,
                events: &[&str],
                criteria: Vec<RuleCriterionSeed>| RuleSeed {
        id,
        customer: customer.into(),
        ruleset: Some(rs),
        rule_type: rule_type.into(),
        event_types: events.iter().map(|e| (*e).to_owned()).collect(),
        json_data: None,
        date_created: dates::iso_s(YEAR_START_S - 86_400 * 29),
        criteria,
    };
    let group = |prefix: &str| -> Vec<&'static str> {
        EVENT_TYPES
            .iter()
            .copied()
            .filter(|e| e.starts_with(prefix))
            .collect()
    };
    vec![
        rule(6001, ACME, 4001, "HOST", &group("HOST"), vec![]),
        rule(6002, ACME, 4001, "VULN", &group("VULN"), vec![]),
        rule(
            6003,
            ACME,
            4002,
            "PORT",
            &group("PORT"),
            vec![RuleCriterionSeed {
                id: 6103,
                property_name: "port".into(),
                property_value: "1-65535".into(),
                expression_type: "IN_RANGE".into(),
            }],
        ),
        rule(6004, ACME, 4003, "SSL", &group("SSL"), vec![]),
        rule(6005, ACME, 4003, "SW", &group("SOFTWARE"), vec![]),
        rule(6006, ACME, 4004, "HOST", &group("TICKET"), vec![]),
        rule(9101, GLOBEX, 9001, "HOST", &group("HOST"), vec![]),
    ]
}

pub(super) fn profiles() -> Vec<ProfileSeed> {
    let profile = |id, customer: &str, title: &str, ips: &str, rs| ProfileSeed {
        id,
        customer: customer.into(),
        uuid: format!("00000000-0000-4000-8000-{id:012}"),
        title: title.into(),
        date_created: dates::iso_s(YEAR_START_S - 86_400 * 28),
        date_updated: dates::iso_s(YEAR_START_S - 86_400 * 28),
        frequency: "FREQ_NEVER".into(),
        is_active: true,
        included_ips: ips.into(),
        target_list: None,
        ruleset: Some(rs),
    };
    vec![
        profile(7401, ACME, "All Critical", "10.10.0.1-10.10.255.255", 4001),
        profile(5601, ACME, "My Profile", "10.10.0.1-10.10.255.255", 4002),
        profile(7402, ACME, "Certificates", "10.10.0.1-10.10.255.255", 4003),
        profile(7403, ACME, "Tickets", "10.10.0.1-10.10.255.255", 4004),
        profile(9201, GLOBEX, "Globex Watch", "10.20.0.1-10.20.0.255", 9001),
    ]
}

/// Alerts `from..to` of the sequence (deterministic per index and seed).
pub(super) fn alerts(args: &GenerateArgs, from: u64, to: u64) -> Vec<AlertSeed> {
    let profile_for = |event: &str| match event.split('_').next().unwrap_or_default() {
        "HOST" | "VULN" => (
            7401,
            if event.starts_with("HOST") {
                6001
            } else {
                6002
            },
        ),
        "PORT" => (5601, 6003),
        "SSL" => (7402, 6004),
        "SOFTWARE" => (7402, 6005),
        _ => (7403, 6006),
    };
    let oses = [
        "Windows Server 2016 Datacenter",
        "Windows Server 2019 Standard",
        "CentOS Linux 7.9.2009",
        "Ubuntu 20.04.4 LTS",
        "Windows 10 Enterprise 21H2",
    ];
    (from..to)
        .map(|i| {
            let mut rng = Rng::new(args.seed ^ (i.wrapping_mul(0x9E37_79B9_7F4A_7C15)));
            let event = *rng.pick(EVENT_TYPES);
            let host = rng.below(2000);
            let (ip, hostname) = (format!("10.10.{}.{}", host / 250, 1 + host % 250), format!("host-{host:04}.acme.corp"));
            let t = YEAR_START_S + (i as i64 * 365 * 86_400) / args.alerts.max(1) as i64;
            let (profile, rule) = profile_for(event);
            let info = match event.split('_').next().unwrap_or_default() {
                "PORT" => json!({"port": *rng.pick(&[22, 80, 443, 445, 3389, 8080]), "protocol": "tcp", "operatingSystem": rng.pick(&oses)}),
                "VULN" => json!({"qid": 38170 + rng.below(5000), "title": "Generated vulnerability", "severity": 1 + rng.below(5), "port": 443}),
                "SSL" => json!({"port": 443, "sslName": hostname, "sslIssuer": "Acme Internal CA"}),
                "SOFTWARE" => json!({"softwareName": "OpenSSL", "softwareVersion": format!("1.1.{}", rng.below(20))}),
                "TICKET" => json!({"ticketNumber": format!("TKT-{i}"), "ticketState": "OPEN"}),
                _ => json!({"operatingSystem": rng.pick(&oses), "port": 0}),
            };
            AlertSeed {
                id: 10_000_001 + i as i64,
                customer: ACME.into(),
                source: "REMEDIATION".into(),
                event_type: event.into(),
                trigger_uuid: rng.uuid(),
                ip_address: ip,
                hostname,
                event_date: dates::iso_s(t),
                alert_date: dates::iso_s(t + 1 + rng.below(10) as i64),
                is_hidden: rng.below(100) < 8,
                profile: Some(profile),
                rule: Some(rule),
                alert_info: info.as_object().cloned().unwrap_or_default(),
            }
        })
        .collect()
}
