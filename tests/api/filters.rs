//! Filters end to end: QQL on the CAR surface and QPS criteria on the CM surface, their
//! error positions and texts, and the limits that keep client input below SQLite's own.

use axum::http::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{TestApp, basic};

/// A CAR search with `filter`; the status and the JSON body.
async fn car_search(app: &TestApp, path: &str, filter: &str) -> (StatusCode, Value) {
    let token = app.acme().await;
    let body = serde_json::json!({ "filter": filter }).to_string();
    let r = app.car(Method::POST, path, &token, &body).await;
    (r.status, r.json())
}

/// The CAR 400 message of a filter, asserting the envelope.
async fn car_error(app: &TestApp, path: &str, filter: &str) -> String {
    let (status, v) = car_search(app, path, filter).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{filter}: {v}");
    assert_eq!(v["errorCode"], "400", "{v}");
    assert_eq!(v["body"], Value::Null, "{v}");
    v["message"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn qql_unknown_field_reports_its_own_position() {
    let app = TestApp::new().await;
    let message = car_error(&app, "/sm/v1/scripts/search", "title:colour AND colour:red").await;
    assert!(
        message.starts_with("Invalid filter: unknown field 'colour' (at position 17);"),
        "{message}"
    );
}

/// A CM alert search; the response code and error message (XML or JSON).
async fn cm_search(app: &TestApp, body: String, json: bool) -> (String, String) {
    let auth = basic("acme_ss2", "passwd");
    let mut headers = vec![("authorization", auth.as_str())];
    if json {
        headers.push(("content-type", "application/json"));
        headers.push(("accept", "application/json"));
    } else {
        headers.push(("content-type", "text/xml"));
    }
    let r = app
        .request(
            Method::POST,
            "/qps/rest/1.0/search/cm/alert",
            &headers,
            body,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    if json {
        let sr = r.json()["ServiceResponse"].clone();
        let message = sr["responseErrorDetails"]["errorMessage"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        (sr["responseCode"].as_str().unwrap().to_owned(), message)
    } else {
        let text = r.text();
        let grab = |tag: &str| {
            let open = format!("<{tag}>");
            text.split_once(&open)
                .and_then(|(_, rest)| rest.split_once(&format!("</{tag}>")))
                .map(|(v, _)| v.to_owned())
                .unwrap_or_default()
        };
        (
            grab("responseCode"),
            grab("errorMessage").replace("&apos;", "'"),
        )
    }
}

fn xml_criteria(criteria: &[(&str, &str, String)]) -> String {
    let list: String = criteria
        .iter()
        .map(|(f, o, v)| format!(r#"<Criteria field="{f}" operator="{o}">{v}</Criteria>"#))
        .collect();
    format!("<ServiceRequest><filters>{list}</filters></ServiceRequest>")
}

fn json_criteria(criteria: &[(&str, &str, String)]) -> String {
    let list: Vec<Value> = criteria
        .iter()
        .map(|(f, o, v)| serde_json::json!({"field": f, "operator": o, "value": v}))
        .collect();
    serde_json::json!({"ServiceRequest": {"filters": {"Criteria": list}}}).to_string()
}

#[tokio::test]
async fn qql_errors_point_at_the_token_at_fault() {
    let app = TestApp::new().await;
    for (path, filter, message) in [
        (
            "/sm/v1/scripts/search",
            "status:APPROVED AND title:\"x\" AND severity:high",
            "Invalid filter: 'high' is not a valid number for field 'severity' (at position 43)",
        ),
        (
            "/sm/v1/scripts/search",
            "title:high AND severity > high",
            "Invalid filter: 'high' is not a valid number for field 'severity' (at position 26)",
        ),
        (
            "/sm/v1/jobs/search",
            "title:\"title\" AND title > 3",
            "Invalid filter: operator GREATER cannot be used with field 'title' (at position 18)",
        ),
        (
            "/sm/v1/assets/search",
            "name:café AND name:[a .. b]",
            "Invalid filter: a range cannot be used with field 'name' (at position 14)",
        ),
        (
            "/sm/v1/assetjobs/search",
            "status:SUCCESS OR status:DONE",
            "Invalid filter: 'DONE' is not a valid value (one of QUEUED, IN_PROGRESS, SUCCESS, \
             FAILED, TIMED_OUT) for field 'status' (at position 25)",
        ),
    ] {
        assert_eq!(car_error(&app, path, filter).await, message, "{filter}");
    }
}

#[tokio::test]
async fn a_bad_date_bound_has_no_position_in_the_filter() {
    let app = TestApp::new().await;
    let token = app.acme().await;
    // The bound is added by the server: its error names no position in the filter text.
    let r = app
        .car(
            Method::POST,
            "/sm/v1/jobs/search",
            &token,
            r#"{"filter": "title:colour", "startAt": "yesterday"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json()["message"],
        "Invalid filter: 'yesterday' is not a valid date for field 'created.dateTime'"
    );
}

#[tokio::test]
async fn qql_limits_answer_400_naming_the_limit() {
    let app = TestApp::new().await;
    let chain = |n: usize| vec!["title:a"; n].join(" AND ");
    // The fuzz's 998+ AND terms reached SQLite's expression depth: now a 400.
    for n in [501, 1_000] {
        let message = car_error(&app, "/sm/v1/scripts/search", &chain(n)).await;
        assert_eq!(
            message,
            "Invalid filter: it has more than 500 conditions (at position 6000)"
        );
    }
    let or_chain = vec!["id:1"; 1_000].join(" OR ");
    let message = car_error(&app, "/sm/v1/jobs/search", &or_chain).await;
    assert!(
        message.starts_with("Invalid filter: it has more than 500 conditions"),
        "{message}"
    );
    // A list past SQLite's bound parameters.
    let list = format!("id:[{}]", vec!["1"; 32_764].join(","));
    let message = car_error(&app, "/sm/v1/scripts/search", &list).await;
    assert!(
        message.starts_with("Invalid filter: it has more than 30000 values (at position"),
        "{message}"
    );
    // A value past SQLite's LIKE pattern length, and one merely long.
    let long = format!("title:\"{}\"", "a ".repeat(25_000));
    let message = car_error(&app, "/sm/v1/scripts/search", &long).await;
    assert_eq!(
        message,
        "Invalid filter: the value for field 'title' is longer than 10000 bytes (at position 6)"
    );
    // Text past what is parsed at all.
    let huge = format!("name:\"{}\"", "a a ".repeat(600_000));
    let message = car_error(&app, "/sm/v1/assets/search", &huge).await;
    assert_eq!(
        message,
        "Invalid filter: the filter is longer than 1048576 bytes (at position 0)"
    );
}

#[tokio::test]
async fn qql_at_the_limits_still_runs() {
    let app = TestApp::new().await;
    // 500 terms, each a negated date range, nested as deep as QQL allows, plus the date
    // bounds the server adds: within every SQLite limit.
    let terms = vec!["NOT created.dateTime:[2001-01-01 .. 2001-12-31]"; 500].join(" AND ");
    let filter = format!("{}{terms}{}", "(".repeat(63), ")".repeat(63));
    let token = app.acme().await;
    let body = serde_json::json!({
        "filter": filter, "startAt": "2000-01-01", "endAt": "2099-01-01", "pageSize": 100
    });
    let r = app
        .car(
            Method::POST,
            "/sm/v1/jobs/search",
            &token,
            &body.to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(!r.json()["body"]["list"].as_array().unwrap().is_empty());
    // Nested groups first in each chain, so that SQLite's expression depth adds up the
    // chains of every level: 64 levels, 500 terms.
    let term = "NOT created.dateTime:[2001-01-01 .. 2001-12-31]";
    let mut nested = vec![term; 500 - 63 * 7].join(" OR ");
    for _ in 0..63 {
        nested = format!("({nested}) AND {}", [term; 7].join(" AND "));
    }
    let body = serde_json::json!({ "filter": nested, "pageSize": 100 });
    let r = app
        .car(
            Method::POST,
            "/sm/v1/jobs/search",
            &token,
            &body.to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(!r.json()["body"]["list"].as_array().unwrap().is_empty());
    // A list of 30,000 values.
    let list = format!("id:[{}]", vec!["16012"; 30_000].join(","));
    let (status, v) = car_search(&app, "/sm/v1/scripts/search", &list).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["body"]["list"].as_array().unwrap().len(), 1);
    // A value of 10,000 bytes, matched as a phrase.
    let phrase = format!("title:\"{}\"", "a".repeat(10_000));
    let (status, v) = car_search(&app, "/sm/v1/scripts/search", &phrase).await;
    assert_eq!(status, StatusCode::OK, "{v}");
}

#[tokio::test]
async fn cm_limits_answer_invalid_request_naming_the_limit() {
    let app = TestApp::new().await;
    let many = vec![("id", "GREATER", "1".to_owned()); 1_000];
    let ids = vec!["1"; 32_764].join(",");
    let long = "h".repeat(49_999);
    for json in [false, true] {
        let body = |c: &[(&str, &str, String)]| {
            if json {
                json_criteria(c)
            } else {
                xml_criteria(c)
            }
        };
        for (criteria, message) in [
            (
                many.clone(),
                "Criteria: Too many criteria; at most 500 are allowed.",
            ),
            (
                vec![("id", "IN", ids.clone())],
                "Criteria: Too many values; at most 30000 are allowed in one request.",
            ),
            (
                vec![("hostname", "CONTAINS", long.clone())],
                "Criteria: Value for criteria 'hostname' is longer than 10000 bytes.",
            ),
        ] {
            let (code, got) = cm_search(&app, body(&criteria), json).await;
            assert_eq!(code, "INVALID_REQUEST", "{got}");
            assert_eq!(got, message);
        }
    }
}

#[tokio::test]
async fn cm_at_the_limits_still_runs() {
    let app = TestApp::new().await;
    // 500 negated date criteria (each a NOT of a range in SQL), plus the id cursor of
    // startFromId, which is not a criterion and does not count toward the 500.
    let criteria = vec![("eventDate", "NOT EQUALS", "2001-01-01".to_owned()); 500];
    let xml = xml_criteria(&criteria).replace(
        "<filters>",
        "<preferences><startFromId>1</startFromId></preferences><filters>",
    );
    let (code, message) = cm_search(&app, xml, false).await;
    assert_eq!(code, "SUCCESS", "{message}");
    let ids = vec!["246213"; 30_000].join(",");
    let (code, message) = cm_search(&app, json_criteria(&[("id", "IN", ids)]), true).await;
    assert_eq!(code, "SUCCESS", "{message}");
    let long = "h".repeat(10_000);
    let (code, message) =
        cm_search(&app, json_criteria(&[("hostname", "CONTAINS", long)]), true).await;
    assert_eq!(code, "SUCCESS", "{message}");
}

#[tokio::test]
async fn repeated_sort_entries_sort_once() {
    let app = TestApp::new().await;
    let token = app.acme().await;
    // The fuzz's 2,000 sort entries reached SQLite's ORDER BY limit: a column sorts once.
    let mut sort = vec![serde_json::json!({"title": "desc"}); 2_000];
    sort.push(serde_json::json!({"title": "asc"}));
    sort.push(serde_json::json!({"NAME": "asc"}));
    let body = serde_json::json!({ "sort": sort, "pageSize": 100 }).to_string();
    let r = app
        .car(Method::POST, "/sm/v1/scripts/search", &token, &body)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let titles: Vec<String> = r.json()["body"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["title"].as_str().unwrap().to_owned())
        .collect();
    assert!(titles.len() > 10);
    let mut sorted = titles.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(titles, sorted);
}
