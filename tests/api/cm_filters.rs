//! Every CM operator on every field type, in XML and in JSON, checked against the full alert
//! list filtered in the test; every request error in both formats; downloads parsed back.

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{TestApp, basic};

struct Alert {
    id: i64,
    event_type: String,
    ip: String,
    hostname: String,
    event_date: String,
    is_hidden: bool,
    profile: Option<(i64, String)>,
    os: Option<String>,
    alert_date: String,
}

fn body(criteria: &[(&str, &str, &str)], json: bool, extra_prefs: &str) -> String {
    if json {
        let crit: Vec<Value> = criteria
            .iter()
            .map(|(f, o, v)| serde_json::json!({"field": f, "operator": o, "value": v}))
            .collect();
        format!(
            r#"{{"ServiceRequest":{{"preferences":{{"limitResults":1000{extra_prefs}}},"filters":{{"Criteria":{}}}}}}}"#,
            Value::Array(crit)
        )
    } else {
        let crit: String = criteria
            .iter()
            .map(|(f, o, v)| format!(r#"<Criteria field="{f}" operator="{o}">{v}</Criteria>"#))
            .collect();
        format!(
            "<ServiceRequest><preferences><limitResults>1000</limitResults></preferences><filters>{crit}</filters></ServiceRequest>"
        )
    }
}

async fn post(app: &TestApp, path: &str, body: String, json: bool) -> crate::helpers::TestResponse {
    let auth = basic("acme_ss2", "passwd");
    let ct = if json { "application/json" } else { "text/xml" };
    let mut headers = vec![("authorization", auth.as_str()), ("content-type", ct)];
    if json {
        headers.push(("accept", "application/json"));
    }
    app.request(Method::POST, path, &headers, body).await
}

/// Ids of alerts matching `criteria`, paging with `id GREATER lastId`.
async fn ids(app: &TestApp, criteria: &[(&str, &str, &str)], json: bool) -> Vec<i64> {
    let mut out = Vec::new();
    let mut last: Option<String> = None;
    loop {
        let mut crit = criteria.to_vec();
        if let Some(l) = &last {
            crit.push(("id", "GREATER", l.as_str()));
        }
        let r = post(
            app,
            "/qps/rest/1.0/search/cm/alert",
            body(&crit, json, ""),
            json,
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        let (page, more, last_id) = if json {
            let sr = r.json()["ServiceResponse"].clone();
            assert_eq!(sr["responseCode"], "SUCCESS", "{sr}");
            let page: Vec<i64> = sr["data"]
                .as_array()
                .map(|d| {
                    d.iter()
                        .map(|a| a["Alert"]["id"].as_i64().unwrap())
                        .collect()
                })
                .unwrap_or_default();
            (page, sr["hasMoreRecords"] == "true", sr["lastId"].as_i64())
        } else {
            let xml = r.text();
            assert!(
                xml.contains("<responseCode>SUCCESS</responseCode>"),
                "{xml}"
            );
            let page: Vec<i64> = xml
                .split("<Alert>")
                .skip(1)
                .map(|chunk| {
                    let start = chunk.find("<id>").unwrap() + 4;
                    let end = chunk.find("</id>").unwrap();
                    chunk[start..end].parse().unwrap()
                })
                .collect();
            let last_id = xml
                .split("<lastId>")
                .nth(1)
                .map(|s| s[..s.find('<').unwrap()].parse().unwrap());
            (
                page,
                xml.contains("<hasMoreRecords>true</hasMoreRecords>"),
                last_id,
            )
        };
        out.extend(&page);
        if !more {
            break;
        }
        last = last_id.map(|l| l.to_string());
    }
    out
}

async fn all_alerts(app: &TestApp) -> Vec<Alert> {
    let mut out = Vec::new();
    let mut last = 0i64;
    loop {
        let crit = [("id", "GREATER", last.to_string())];
        let crit: Vec<(&str, &str, &str)> =
            crit.iter().map(|(a, b, c)| (*a, *b, c.as_str())).collect();
        let r = post(
            app,
            "/qps/rest/1.0/search/cm/alert",
            body(&crit, true, ""),
            true,
        )
        .await;
        let sr = r.json()["ServiceResponse"].clone();
        for a in sr["data"].as_array().cloned().unwrap_or_default() {
            let a = &a["Alert"];
            out.push(Alert {
                id: a["id"].as_i64().unwrap(),
                event_type: a["eventType"].as_str().unwrap().to_owned(),
                ip: a["ipAddress"].as_str().unwrap().to_owned(),
                hostname: a["hostname"].as_str().unwrap().to_owned(),
                event_date: a["eventDate"].as_str().unwrap().to_owned(),
                alert_date: a["alertDate"].as_str().unwrap().to_owned(),
                is_hidden: a["isHidden"] == "true",
                profile: a.get("profile").map(|p| {
                    (
                        p["id"].as_i64().unwrap(),
                        p["title"].as_str().unwrap().to_owned(),
                    )
                }),
                os: a["alertInfo"]["operatingSystem"]
                    .as_str()
                    .map(str::to_owned),
            });
        }
        if sr["hasMoreRecords"] != "true" {
            return out;
        }
        last = sr["lastId"].as_i64().unwrap();
    }
}

#[tokio::test]
async fn every_operator_of_every_type_in_xml_and_json() {
    let app = TestApp::new().await;
    let all = all_alerts(&app).await;
    assert_eq!(all.len(), 2011);
    let pick = &all[1000];
    let (id, host, date, et) = (
        pick.id.to_string(),
        pick.hostname.clone(),
        pick.event_date.clone(),
        pick.event_type.clone(),
    );
    let id_b = all[10].id.to_string();
    let id_list = format!("{id},{id_b}");
    let fragment = host[2..7].to_uppercase();
    type Pred = Box<dyn Fn(&Alert) -> bool>;
    let cases: Vec<(&str, &str, String, Pred)> = vec![
        // Integer
        (
            "id",
            "EQUALS",
            id.clone(),
            Box::new({
                let id = pick.id;
                move |a| a.id == id
            }),
        ),
        (
            "id",
            "NOT EQUALS",
            id.clone(),
            Box::new({
                let id = pick.id;
                move |a| a.id != id
            }),
        ),
        (
            "id",
            "GREATER",
            id.clone(),
            Box::new({
                let id = pick.id;
                move |a| a.id > id
            }),
        ),
        (
            "id",
            "LESSER",
            id.clone(),
            Box::new({
                let id = pick.id;
                move |a| a.id < id
            }),
        ),
        (
            "id",
            "IN",
            id_list.clone(),
            Box::new({
                let (x, y) = (pick.id, all[10].id);
                move |a| a.id == x || a.id == y
            }),
        ),
        // Text
        (
            "hostname",
            "EQUALS",
            host.to_uppercase(),
            Box::new({
                let h = host.clone();
                move |a| a.hostname == h
            }),
        ),
        (
            "hostname",
            "NOT EQUALS",
            host.clone(),
            Box::new({
                let h = host.clone();
                move |a| a.hostname != h
            }),
        ),
        (
            "hostname",
            "CONTAINS",
            fragment.clone(),
            Box::new({
                let f = fragment.to_lowercase();
                move |a| a.hostname.to_lowercase().contains(&f)
            }),
        ),
        (
            "ipAddress",
            "CONTAINS",
            "10.10.30.".to_owned(),
            Box::new(|a| a.ip.contains("10.10.30.")),
        ),
        (
            "profileTitle",
            "CONTAINS",
            "profile".to_owned(),
            Box::new(|a| {
                a.profile
                    .as_ref()
                    .is_some_and(|p| p.1.to_lowercase().contains("profile"))
            }),
        ),
        // Date
        (
            "eventDate",
            "EQUALS",
            date.clone(),
            Box::new({
                let d = date.clone();
                move |a| a.event_date == d
            }),
        ),
        (
            "eventDate",
            "NOT EQUALS",
            date.clone(),
            Box::new({
                let d = date.clone();
                move |a| a.event_date != d
            }),
        ),
        (
            "eventDate",
            "GREATER",
            date.clone(),
            Box::new({
                let d = date.clone();
                move |a| a.event_date > d
            }),
        ),
        (
            "eventDate",
            "LESSER",
            date.clone(),
            Box::new({
                let d = date.clone();
                move |a| a.event_date < d
            }),
        ),
        (
            "alertDate",
            "GREATER",
            "2022-03-01T00:00:00Z".to_owned(),
            Box::new(|a| a.alert_date.as_str() > "2022-03-01T00:00:00Z"),
        ),
        // Keyword
        (
            "eventType",
            "EQUALS",
            et.to_lowercase(),
            Box::new({
                let e = et.clone();
                move |a| a.event_type == e
            }),
        ),
        (
            "eventType",
            "NOT EQUALS",
            et.clone(),
            Box::new({
                let e = et.clone();
                move |a| a.event_type != e
            }),
        ),
        (
            "eventType",
            "IN",
            "SSL_NEW,TICKET_OPEN".to_owned(),
            Box::new(|a| a.event_type == "SSL_NEW" || a.event_type == "TICKET_OPEN"),
        ),
        // Boolean
        (
            "isHidden",
            "EQUALS",
            "true".to_owned(),
            Box::new(|a| a.is_hidden),
        ),
        (
            "isHidden",
            "NOT EQUALS",
            "TRUE".to_owned(),
            Box::new(|a| !a.is_hidden),
        ),
    ];
    for (field, op, value, pred) in &cases {
        let expected: Vec<i64> = all.iter().filter(|a| pred(a)).map(|a| a.id).collect();
        assert!(
            !expected.is_empty(),
            "{field} {op} {value} selects nothing: a weak test"
        );
        for json in [false, true] {
            let got = ids(&app, &[(field, op, value.as_str())], json).await;
            assert_eq!(got, expected, "{field} {op} {value} (json: {json})");
        }
    }
}

fn xml_error(xml: &str) -> (String, String, String) {
    let grab = |tag: &str| {
        let start = xml
            .find(&format!("<{tag}>"))
            .unwrap_or_else(|| panic!("no {tag} in {xml}"))
            + tag.len()
            + 2;
        let end = xml.find(&format!("</{tag}>")).unwrap();
        quick_xml::escape::unescape(&xml[start..end])
            .unwrap()
            .into_owned()
    };
    (
        grab("responseCode"),
        grab("errorMessage"),
        grab("errorResolution"),
    )
}

#[tokio::test]
async fn every_request_error_reads_the_same_in_xml_and_json() {
    let app = TestApp::new().await;
    let criteria_cases: Vec<Vec<(&str, &str, &str)>> = vec![
        vec![("", "EQUALS", "1")],
        vec![("color", "EQUALS", "1")],
        vec![("hostname", "GREATER", "a")],
        vec![("id", "LIKE", "1")],
        vec![("hostname", "EQUALS", "")],
        vec![("id", "EQUALS", "abc123")],
        vec![("isHidden", "EQUALS", "maybe")],
        vec![("eventType", "EQUALS", "PORT_OPENED")],
        vec![("alertDate", "GREATER", "yesterday")],
        vec![("eventDate", "IN", "2022-01-01T00:00:00Z")],
        vec![("isHidden", "GREATER", "true")],
    ];
    for crit in criteria_cases {
        let r = post(
            &app,
            "/qps/rest/1.0/search/cm/alert",
            body(&crit, false, ""),
            false,
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        let from_xml = xml_error(&r.text());
        let r = post(
            &app,
            "/qps/rest/1.0/search/cm/alert",
            body(&crit, true, ""),
            true,
        )
        .await;
        let sr = r.json()["ServiceResponse"].clone();
        let d = &sr["responseErrorDetails"];
        let from_json = (
            sr["responseCode"].as_str().unwrap().to_owned(),
            d["errorMessage"].as_str().unwrap().to_owned(),
            d["errorResolution"].as_str().unwrap().to_owned(),
        );
        assert_eq!(from_xml, from_json, "{crit:?}");
        assert_eq!(from_xml.0, "INVALID_REQUEST");
    }
    // Preferences, in both forms.
    for (xml, json, message) in [
        (
            "<ServiceRequest><preferences><limitResults>0</limitResults></preferences></ServiceRequest>",
            r#"{"ServiceRequest":{"preferences":{"limitResults":0}}}"#,
            "limitResults: Value must be between 1 and 1000 (0).",
        ),
        (
            "<ServiceRequest><preferences><limitResults>5000</limitResults></preferences></ServiceRequest>",
            r#"{"ServiceRequest":{"preferences":{"limitResults":5000}}}"#,
            "limitResults: Value must be between 1 and 1000 (5000).",
        ),
        (
            "<ServiceRequest><preferences><startFromOffset>-1</startFromOffset></preferences></ServiceRequest>",
            r#"{"ServiceRequest":{"preferences":{"startFromOffset":-1}}}"#,
            "startFromOffset: Value must be 1 or greater (-1).",
        ),
        (
            "<ServiceRequest><preferences><pageSize>5</pageSize></preferences></ServiceRequest>",
            r#"{"ServiceRequest":{"preferences":{"pageSize":5}}}"#,
            "pageSize: Element must not be set.",
        ),
    ] {
        let r = post(&app, "/qps/rest/1.0/search/cm/alert", xml.to_owned(), false).await;
        assert_eq!(xml_error(&r.text()).1, message);
        let r = post(&app, "/qps/rest/1.0/search/cm/alert", json.to_owned(), true).await;
        assert_eq!(
            r.json()["ServiceResponse"]["responseErrorDetails"]["errorMessage"],
            message
        );
    }
}

#[tokio::test]
async fn csv_and_cef_downloads_parse_back_to_the_search() {
    let app = TestApp::new().await;
    let all = all_alerts(&app).await;
    let filters: Vec<Vec<(&str, &str, &str)>> = vec![
        vec![
            ("eventType", "IN", "PORT_OPEN,VULN_OPEN,SSL_NEW"),
            ("alertDate", "GREATER", "2022-02-01T00:00:00Z"),
        ],
        vec![("ipAddress", "CONTAINS", "10.10.30.")],
        vec![],
    ];
    for crit in filters {
        let expected: Vec<&Alert> = {
            let wanted: BTreeSet<i64> = ids(&app, &crit, true).await.into_iter().collect();
            all.iter().filter(|a| wanted.contains(&a.id)).collect()
        };
        assert!(!expected.is_empty());
        let r = post(
            &app,
            "/qps/rest/1.0/download/cm/alert/?format=csv",
            body(&crit, false, ""),
            false,
        )
        .await;
        let mut reader = csv::Reader::from_reader(r.body.as_slice());
        let headers = reader.headers().unwrap().clone();
        assert_eq!(headers.len(), 9);
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), expected.len(), "{crit:?}");
        for (row, a) in rows.iter().zip(&expected) {
            assert_eq!(row[0].parse::<i64>().unwrap(), a.id);
            assert_eq!(&row[1], a.event_type);
            assert_eq!(
                row[2],
                a.profile
                    .as_ref()
                    .map_or("-".to_owned(), |p| p.0.to_string())
            );
            assert_eq!(
                row[3],
                a.profile.as_ref().map_or("-".to_owned(), |p| p.1.clone())
            );
            assert_eq!(&row[4], a.ip);
            assert_eq!(&row[5], a.hostname);
            assert_eq!(&row[6], a.os.as_deref().unwrap_or("-"));
            assert_eq!(row[7], a.event_date.replace('T', " ").replace('Z', ""));
            assert_eq!(row[8], a.alert_date.replace('T', " ").replace('Z', ""));
        }

        let r = post(
            &app,
            "/qps/rest/1.0/download/cm/alert/?format=cef",
            body(&crit, false, ""),
            false,
        )
        .await;
        let text = r.text();
        let records: Vec<&str> = text.lines().skip(1).collect();
        assert_eq!(records.len(), expected.len());
        for (line, a) in records.iter().zip(&expected) {
            let header: Vec<&str> = line.splitn(8, '|').collect();
            assert_eq!(
                header[..4],
                ["CEF:0", "QUALYS", "QualysGuard", "CM-1.30.0.0"]
            );
            assert_eq!(header[5], a.event_type);
            let ext = parse_extension(header[7]);
            assert_eq!(ext["dst"], a.ip);
            assert_eq!(ext["dhost"], a.hostname);
            assert_eq!(ext["cat"], header[4]);
        }
    }
}

/// CEF extension `k=v k2=v with spaces`: a key is a word followed by `=`.
fn parse_extension(ext: &str) -> std::collections::HashMap<String, String> {
    let mut out = std::collections::HashMap::new();
    let tokens: Vec<&str> = ext.split(' ').collect();
    let mut key: Option<String> = None;
    let mut value = String::new();
    for t in tokens {
        match t.split_once('=') {
            Some((k, v))
                if !k.is_empty()
                    && k.chars().all(|c| c.is_ascii_alphanumeric())
                    && !k.ends_with('\\') =>
            {
                if let Some(k) = key.take() {
                    out.insert(k, value.clone());
                }
                key = Some(k.to_owned());
                value = v.to_owned();
            }
            _ => {
                value.push(' ');
                value.push_str(t);
            }
        }
    }
    if let Some(k) = key {
        out.insert(k, value);
    }
    out
}
