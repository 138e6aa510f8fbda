//! The CM API against the guide's samples: search, get, download, paging, errors, tenancy.

use axum::http::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{TestApp, TestResponse, basic};

const ACME: (&str, &str) = ("acme_ss2", "passwd");
const GLOBEX: (&str, &str) = ("globex_ss1", "passwd2");

async fn qps(
    app: &TestApp,
    user: (&str, &str),
    method: Method,
    path: &str,
    body: &str,
    json: bool,
) -> TestResponse {
    let auth = basic(user.0, user.1);
    let mut headers = vec![("authorization", auth.as_str())];
    if json {
        headers.push(("accept", "application/json"));
        headers.push(("content-type", "application/json"));
    } else {
        headers.push(("content-type", "text/xml"));
    }
    app.request(method, path, &headers, body.to_owned()).await
}

async fn search_json(app: &TestApp, object: &str, body: &str) -> Value {
    let r = qps(
        app,
        ACME,
        Method::POST,
        &format!("/qps/rest/1.0/search/cm/{object}"),
        body,
        true,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()["ServiceResponse"].clone()
}

fn criteria_xml(criteria: &[(&str, &str, &str)], limit: Option<u32>) -> String {
    let prefs = limit
        .map(|l| format!("<preferences><limitResults>{l}</limitResults></preferences>"))
        .unwrap_or_default();
    let crit: String = criteria
        .iter()
        .map(|(f, o, v)| format!("<Criteria field=\"{f}\" operator=\"{o}\">{v}</Criteria>"))
        .collect();
    format!("<ServiceRequest>{prefs}<filters>{crit}</filters></ServiceRequest>")
}

fn criteria_json(criteria: &[(&str, &str, &str)], limit: Option<u32>) -> String {
    let crit: Vec<Value> = criteria
        .iter()
        .map(|(f, o, v)| serde_json::json!({"field": f, "operator": o, "value": v}))
        .collect();
    let mut req = serde_json::json!({"ServiceRequest": {"filters": {"Criteria": crit}}});
    if let Some(l) = limit {
        req["ServiceRequest"]["preferences"] = serde_json::json!({"limitResults": l});
    }
    req.to_string()
}

#[tokio::test]
async fn get_alert_246213_is_the_guides_sample() {
    let app = TestApp::new().await;
    let r = qps(
        &app,
        ACME,
        Method::GET,
        "/qps/rest/1.0/get/cm/alert/246213",
        "",
        false,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), Some("application/xml"));
    insta::assert_snapshot!(r.text());
}

#[tokio::test]
async fn search_alerts_by_ip_as_the_guide_does() {
    let app = TestApp::new().await;
    let body = criteria_xml(&[("ipAddress", "EQUALS", "10.10.30.70")], None);
    let r = qps(
        &app,
        ACME,
        Method::POST,
        "/qps/rest/1.0/search/cm/alert/",
        &body,
        false,
    )
    .await;
    let xml = r.text();
    assert!(xml.contains(
        "xsi:noNamespaceSchemaLocation=\"http://localhost:8080/qps/xsd/1.0/cm/alert.xsd\""
    ));
    let head = "<responseCode>SUCCESS</responseCode>\n  <count>7</count>\n  <hasMoreRecords>false</hasMoreRecords>\n  <data>\n    <Alert>\n      <id>244402</id>";
    assert!(xml.contains(head), "{xml}");
    assert!(xml.contains("<sslIssuer>2k3-sp2-25-69.qualys.com</sslIssuer>"));
    assert!(!xml.contains("<lastId>"));
}

#[tokio::test]
async fn guide_json_samples() {
    let app = TestApp::new().await;
    // Sample 1: get profile 95001 in JSON.
    let r = qps(
        &app,
        ACME,
        Method::GET,
        "/qps/rest/1.0/get/cm/profile/95001",
        "",
        true,
    )
    .await;
    let sr = &r.json()["ServiceResponse"];
    assert_eq!(sr["responseCode"], "SUCCESS");
    assert_eq!(sr["count"], 1);
    assert!(sr.get("hasMoreRecords").is_none());
    let p = &sr["data"][0]["Profile"];
    assert_eq!(p["title"], "NEW-Profile-12144557");
    assert_eq!(p["isActive"], "true");
    assert_eq!(p["ruleset"]["isTemplate"], "false");
    assert_eq!(p["ruleset"]["id"], 188202);
    assert_eq!(p["includedIps"], "10.10.26.252");
    // Sample 2: search rule by id and type, JSON in and out.
    let sr = search_json(
        &app,
        "rule",
        &criteria_json(
            &[("id", "EQUALS", "179201"), ("ruleType", "EQUALS", "HOST")],
            None,
        ),
    )
    .await;
    assert_eq!(sr["count"], 1);
    assert_eq!(sr["hasMoreRecords"], "false");
    let rule = &sr["data"][0]["Rule"];
    assert_eq!(rule["eventTypes"], "HOST_FOUND");
    assert_eq!(rule["criteria"]["list"], serde_json::json!([]));
    let json_data: Value = serde_json::from_str(rule["jsonData"].as_str().unwrap()).unwrap();
    assert_eq!(json_data["ruleType"], "HOST");
}

#[tokio::test]
async fn profiles_rules_and_rulesets_as_the_guide_shows() {
    let app = TestApp::new().await;
    let sr = search_json(
        &app,
        "profile",
        &criteria_json(&[("ruleSetTitle", "CONTAINS", "critical")], None),
    )
    .await;
    assert_eq!(sr["count"], 1);
    assert_eq!(sr["data"][0]["Profile"]["id"], 7401);
    assert_eq!(sr["data"][0]["Profile"]["ruleset"]["title"], "All Critical");

    let r = qps(
        &app,
        ACME,
        Method::GET,
        "/qps/rest/1.0/get/cm/rule/6002",
        "",
        false,
    )
    .await;
    let xml = r.text();
    assert!(
        xml.contains("<eventTypes>VULN_OPEN, VULN_CLOSED, VULN_ACTIVE, VULN_REOPENED</eventTypes>")
    );
    assert!(
        xml.contains("<jsonData>{&quot;ruleType&quot;:&quot;VULN&quot;"),
        "{xml}"
    );
    assert!(xml.contains("<criteria>\n        <list/>\n      </criteria>"));

    let r = qps(
        &app,
        ACME,
        Method::GET,
        "/qps/rest/1.0/get/cm/rule/1413",
        "",
        true,
    )
    .await;
    let crit = &r.json()["ServiceResponse"]["data"][0]["Rule"]["criteria"]["list"];
    assert_eq!(crit[0]["RuleCriteria"]["id"], 1437);
    assert_eq!(crit[1]["RuleCriteria"]["propertyName"], "operatingSystem");

    let sr = search_json(
        &app,
        "ruleset",
        &criteria_json(&[("title", "CONTAINS", "critical")], None),
    )
    .await;
    assert_eq!(sr["count"], 1);
    let rs = &sr["data"][0]["RuleSet"];
    assert_eq!(rs["id"], 4001);
    let ids: Vec<i64> = rs["rule"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Rule"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![6001, 6002]);

    let sr = search_json(
        &app,
        "rule",
        &criteria_json(&[("ruleType", "EQUALS", "HOST")], None),
    )
    .await;
    assert_eq!(sr["count"], 3);
}

#[tokio::test]
async fn paging_by_last_id_visits_every_record_once() {
    let app = TestApp::new().await;
    let health = app.get("/_mock/health").await.json();
    let total = health["counts"]["alerts"].as_i64().unwrap() - 5; // less Globex's
    assert!(total > 2000);

    let mut seen = Vec::new();
    let mut last: Option<i64> = None;
    loop {
        let mut crit = vec![];
        let last_text = last.map(|l| l.to_string());
        if let Some(l) = &last_text {
            crit.push(("id", "GREATER", l.as_str()));
        }
        let sr = search_json(&app, "alert", &criteria_json(&crit, Some(100))).await;
        let ids: Vec<i64> = sr["data"]
            .as_array()
            .map(|d| {
                d.iter()
                    .map(|a| a["Alert"]["id"].as_i64().unwrap())
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(sr["count"].as_u64().unwrap() as usize, ids.len());
        seen.extend(&ids);
        if sr["hasMoreRecords"] == "true" {
            assert_eq!(sr["lastId"].as_i64(), ids.last().copied());
            last = ids.last().copied();
        } else {
            assert!(sr.get("lastId").is_none());
            break;
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, seen, "ascending, no repeats");

    assert_eq!(seen.len() as i64, total);

    // startFromOffset walks the same records in the same order.
    let mut by_offset = Vec::new();
    let mut offset = 1;
    loop {
        let body = format!(
            r#"{{"ServiceRequest":{{"preferences":{{"startFromOffset":{offset},"limitResults":100}}}}}}"#
        );
        let sr = search_json(&app, "alert", &body).await;
        let ids: Vec<i64> = sr["data"]
            .as_array()
            .map(|d| {
                d.iter()
                    .map(|a| a["Alert"]["id"].as_i64().unwrap())
                    .collect()
            })
            .unwrap_or_default();
        offset += ids.len();
        by_offset.extend(ids);
        if sr["hasMoreRecords"] != "true" {
            break;
        }
    }
    assert_eq!(by_offset, seen);
    // startFromId starts at that id.
    let body = format!(
        r#"{{"ServiceRequest":{{"preferences":{{"startFromId":{},"limitResults":2}}}}}}"#,
        seen[10]
    );
    let sr = search_json(&app, "alert", &body).await;
    assert_eq!(sr["data"][0]["Alert"]["id"].as_i64(), Some(seen[10]));
}

#[tokio::test]
async fn guide_pagination_example_limit_5() {
    let app = TestApp::new().await;
    let body = criteria_xml(&[("ipAddress", "EQUALS", "10.10.30.70")], Some(5));
    let r = qps(
        &app,
        ACME,
        Method::POST,
        "/qps/rest/1.0/search/cm/alert",
        &body,
        false,
    )
    .await;
    let xml = r.text();
    assert!(
        xml.contains("<count>5</count>\n  <hasMoreRecords>true</hasMoreRecords>\n  <lastId>"),
        "{xml}"
    );
}

#[tokio::test]
async fn empty_results_and_bodyless_posts() {
    let app = TestApp::new().await;
    let body = criteria_xml(&[("hostname", "EQUALS", "no-such-host")], None);
    let r = qps(
        &app,
        ACME,
        Method::POST,
        "/qps/rest/1.0/search/cm/alert",
        &body,
        false,
    )
    .await;
    assert!(
        r.text()
            .contains("<count>0</count>\n  <hasMoreRecords>false</hasMoreRecords>\n  <data/>")
    );
    let sr = search_json(
        &app,
        "alert",
        &criteria_json(&[("hostname", "EQUALS", "no-such-host")], None),
    )
    .await;
    assert_eq!(sr["count"], 0);
    assert!(sr.get("data").is_none());
    // A body-less POST (and GET with text/xml) means no filter.
    let sr = search_json(&app, "profile", "").await;
    assert_eq!(sr["count"], 4);
}

#[tokio::test]
async fn typed_filters_work_through_http() {
    let app = TestApp::new().await;
    let n = |sr: &Value| sr["count"].as_u64().unwrap();
    let hidden = search_json(
        &app,
        "alert",
        &criteria_json(&[("isHidden", "EQUALS", "true")], None),
    )
    .await;
    assert!(n(&hidden) >= 1);
    assert!(
        hidden["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["Alert"]["isHidden"] == "true")
    );
    let ports = search_json(
        &app,
        "alert",
        &criteria_json(&[("eventType", "IN", "PORT_OPEN,PORT_CLOSED")], None),
    )
    .await;
    assert!(ports["data"].as_array().unwrap().iter().all(|a| {
        let t = a["Alert"]["eventType"].as_str().unwrap();
        t == "PORT_OPEN" || t == "PORT_CLOSED"
    }));
    let dated = search_json(
        &app,
        "alert",
        &criteria_json(&[("eventDate", "LESSER", "2018-01-01T00:00:00Z")], None),
    )
    .await;
    assert_eq!(n(&dated), 3);
    let by_profile = search_json(
        &app,
        "alert",
        &criteria_json(&[("profileTitle", "EQUALS", "my profile")], None),
    )
    .await;
    assert!(
        by_profile["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["Alert"]["profile"]["id"] == 5601)
    );
    let rs = search_json(
        &app,
        "ruleset",
        &criteria_json(&[("dateCreated", "GREATER", "2018-09-16T19:36:10Z")], None),
    )
    .await;
    assert_eq!(n(&rs), 2);
    let inactive = search_json(
        &app,
        "profile",
        &criteria_json(&[("isActive", "EQUALS", "false")], None),
    )
    .await;
    assert_eq!(inactive["data"][0]["Profile"]["id"], 7402);
    let freq = search_json(
        &app,
        "profile",
        &criteria_json(&[("frequency", "NOT EQUALS", "FREQ_NEVER")], None),
    )
    .await;
    assert_eq!(n(&freq), 2);
}

#[tokio::test]
async fn fields_limits_what_is_returned() {
    let app = TestApp::new().await;
    let r = qps(
        &app,
        ACME,
        Method::GET,
        "/qps/rest/1.0/get/cm/alert/246213?fields=id,eventType,profile.title",
        "",
        true,
    )
    .await;
    assert_eq!(
        r.json()["ServiceResponse"]["data"][0]["Alert"],
        serde_json::json!({"id": 246213, "eventType": "HOST_UPDATED", "profile": {"title": "All Critical"}})
    );
}

async fn error_of(
    app: &TestApp,
    method: Method,
    path: &str,
    body: &str,
) -> (StatusCode, String, String, String) {
    let r = qps(app, ACME, method, path, body, true).await;
    let sr = r.json()["ServiceResponse"].clone();
    assert!(sr.get("count").is_none(), "{sr}");
    let d = &sr["responseErrorDetails"];
    (
        r.status,
        sr["responseCode"].as_str().unwrap().to_owned(),
        d["errorMessage"].as_str().unwrap().to_owned(),
        d["errorResolution"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn every_request_error_is_a_200_service_response() {
    let app = TestApp::new().await;
    let search = "/qps/rest/1.0/search/cm/alert";
    let cases: Vec<(&str, String)> = vec![
        ("no field", criteria_json(&[("", "EQUALS", "1")], None)),
        (
            "unknown field",
            criteria_json(&[("color", "EQUALS", "1")], None),
        ),
        (
            "text GREATER",
            criteria_json(&[("hostname", "GREATER", "a")], None),
        ),
        ("bad operator", criteria_json(&[("id", "LIKE", "1")], None)),
        (
            "no value",
            criteria_json(&[("hostname", "EQUALS", "")], None),
        ),
        (
            "bad long",
            criteria_json(&[("id", "EQUALS", "abc123")], None),
        ),
        (
            "bad boolean",
            criteria_json(&[("isHidden", "EQUALS", "maybe")], None),
        ),
        (
            "bad keyword",
            criteria_json(&[("eventType", "EQUALS", "PORT_OPENED")], None),
        ),
        (
            "bad date",
            criteria_json(&[("alertDate", "GREATER", "yesterday")], None),
        ),
        ("limit 0", criteria_json(&[], Some(0))),
        ("limit 1001", criteria_json(&[], Some(1001))),
        ("malformed json", "{\"ServiceRequest\": [".to_owned()),
        (
            "unknown element",
            r#"{"ServiceRequest": {"sort": {}}}"#.to_owned(),
        ),
    ];
    let mut seen = Vec::new();
    for (name, body) in cases {
        let (status, code, message, resolution) = error_of(&app, Method::POST, search, &body).await;
        assert_eq!(status, StatusCode::OK, "{name}");
        assert_eq!(code, "INVALID_REQUEST", "{name}");
        seen.push(format!("{name}: {message} | {resolution}"));
    }
    insta::assert_snapshot!(seen.join("\n"));
}

#[tokio::test]
async fn malformed_xml_and_other_operation_errors() {
    let app = TestApp::new().await;
    let r = qps(
        &app,
        ACME,
        Method::POST,
        "/qps/rest/1.0/search/cm/alert",
        "<ServiceRequest><filters>",
        false,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.text()
            .contains("<responseCode>INVALID_REQUEST</responseCode>")
    );
    assert!(
        r.text().contains(
            "<errorMessage>Request body is not valid XML: unclosed element</errorMessage>"
        )
    );

    let (_, code, message, _) = error_of(
        &app,
        Method::POST,
        "/qps/rest/1.0/get/cm/alert/246213",
        &criteria_json(&[("id", "EQUALS", "1")], None),
    )
    .await;
    assert_eq!(
        (code.as_str(), message.as_str()),
        (
            "INVALID_REQUEST",
            "Operation get does not support search filters."
        )
    );
    let (_, code, message, _) =
        error_of(&app, Method::GET, "/qps/rest/1.0/get/cm/alert/abc", "").await;
    assert_eq!(
        (code.as_str(), message.as_str()),
        (
            "INVALID_REQUEST",
            "Criteria: Invalid value format for criteria 'id' (abc)."
        )
    );
    let (_, code, message, _) =
        error_of(&app, Method::POST, "/qps/rest/1.0/search/cm/widget", "").await;
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("INVALID_REQUEST", "Unknown object type: cm/widget")
    );
    let (_, code, _, _) =
        error_of(&app, Method::GET, "/qps/rest/1.0/get/cm/profile/999999", "").await;
    assert_eq!(code, "OBJECT_NOT_FOUND");
}

#[tokio::test]
async fn missing_module_is_refused() {
    let app = TestApp::new().await;

    let r = qps(
        &app,
        ("acme_car_only", "passwd3"),
        Method::GET,
        "/qps/rest/1.0/get/cm/alert/246213",
        "",
        false,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let xml = r.text();
    assert!(xml.contains("<responseCode>UNAUTHORIZED</responseCode>"));
    assert!(xml.contains("<errorMessage>You do not have access to the module Continuous Monitoring required by this API.</errorMessage>"));
}

#[tokio::test]
async fn another_customers_objects_do_not_exist() {
    let app = TestApp::new().await;
    for path in ["alert/246213", "profile/7401", "rule/6002", "ruleset/4001"] {
        let r = qps(
            &app,
            GLOBEX,
            Method::GET,
            &format!("/qps/rest/1.0/get/cm/{path}"),
            "",
            true,
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        let sr = &r.json()["ServiceResponse"];
        assert_eq!(sr["responseCode"], "OBJECT_NOT_FOUND", "{path}");
    }
    let r = qps(
        &app,
        GLOBEX,
        Method::POST,
        "/qps/rest/1.0/search/cm/alert",
        "",
        true,
    )
    .await;
    let sr = &r.json()["ServiceResponse"];
    assert_eq!(sr["count"], 5);
    let r = qps(
        &app,
        GLOBEX,
        Method::POST,
        "/qps/rest/1.0/download/cm/alert/?format=csv",
        "",
        false,
    )
    .await;
    assert_eq!(r.text().lines().count(), 6);
    assert!(!r.text().contains("10.10.30."));
}

#[tokio::test]
async fn download_csv_matches_the_guides_sample() {
    let app = TestApp::new().await;
    let body = criteria_xml(&[("id", "IN", "237124,237172,238503")], None);
    let r = qps(
        &app,
        ACME,
        Method::POST,
        "/qps/rest/1.0/download/cm/alert/?format=csv",
        &body,
        false,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), Some("text/csv;charset=UTF-8"));
    assert_eq!(
        r.text(),
        "\"AlertId\",\"Event Type\",\"ProfileId\",\"Profile Name\",\"IP Address\",\"Hostname\",\"Operating System\",\"Event Date\",\"Alert Date\"\n\
         \"237124\",\"PORT_OPEN\",\"7401\",\"All Critical\",\"10.10.30.21\",\"2k8core-30-21.2k864sp0.qualys.com\",\"-\",\"2017-12-31 15:57:21\",\"2017-12-31 15:57:22\"\n\
         \"237172\",\"PORT_OPEN\",\"5601\",\"My Profile\",\"10.10.30.21\",\"2k8core-30-21.2k864sp0.qualys.com\",\"-\",\"2017-12-31 15:57:21\",\"2017-12-31 15:57:23\"\n\
         \"238503\",\"PORT_OPEN\",\"7401\",\"All Critical\",\"10.10.30.32\",\"xp-30-32.qualys.com\",\"-\",\"2017-01-16 19:42:56\",\"2017-01-16 19:42:58\"\n"
    );
}

#[tokio::test]
async fn download_cef_in_the_guides_shape() {
    let app = TestApp::new().await;
    let body = criteria_xml(&[("eventType", "EQUALS", "PORT_OPEN")], None);
    let r = qps(
        &app,
        ACME,
        Method::POST,
        "/qps/rest/1.0/download/cm/alert?format=CEF",
        &body,
        false,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let text = r.text();
    let mut lines = text.lines();
    // T0 is 2024-01-01T00:00:00Z: seconds unpadded, as in the sample.
    assert_eq!(
        lines.next(),
        Some("Jan 01 2024 00:00:0 localhost 127.0.0.1")
    );
    let all: Vec<&str> = lines.collect();
    assert!(
        all.iter()
            .all(|l| l
                .starts_with("CEF:0|QUALYS|QualysGuard|CM-1.30.0.0|PORT|PORT_OPEN|0|cat=PORT "))
    );
    assert!(all.contains(&"CEF:0|QUALYS|QualysGuard|CM-1.30.0.0|PORT|PORT_OPEN|0|cat=PORT dhost=xp-30-32.qualys.com dst=10.10.30.32 dmac=NA dntdom=XP-30-32 rt=Jan 16 2017 19:42:56 cs1operatingSystem=NA dpt=445 cs2protocol=tcp cs3defaultService=microsoft-ds"));
    // An empty body downloads everything.
    let r = qps(
        &app,
        ACME,
        Method::POST,
        "/qps/rest/1.0/download/cm/alert/?format=cef",
        "",
        false,
    )
    .await;
    assert_eq!(r.text().lines().count(), 1 + 2011);
    let vuln = r
        .text()
        .lines()
        .find(|l| l.contains("|VULN|"))
        .unwrap()
        .to_owned();
    assert!(
        vuln.contains(" cs2qid=") && vuln.contains(" cs3title="),
        "{vuln}"
    );
}

#[tokio::test]
async fn download_format_is_required_and_checked() {
    let app = TestApp::new().await;
    let (status, code, message, _) =
        error_of(&app, Method::POST, "/qps/rest/1.0/download/cm/alert/", "").await;
    assert_eq!(
        (status, code.as_str(), message.as_str()),
        (
            StatusCode::OK,
            "INVALID_REQUEST",
            "format: Value is required."
        )
    );
    let (_, _, message, resolution) = error_of(
        &app,
        Method::POST,
        "/qps/rest/1.0/download/cm/alert/?format=xml",
        "",
    )
    .await;
    assert_eq!(
        (message.as_str(), resolution.as_str()),
        ("format: Invalid value (xml).", "Allowed values: csv, cef.")
    );
    let (_, _, message, _) = error_of(
        &app,
        Method::POST,
        "/qps/rest/1.0/download/cm/rule/?format=csv",
        "",
    )
    .await;
    assert_eq!(message, "Operation download is not supported for cm/rule.");
}
