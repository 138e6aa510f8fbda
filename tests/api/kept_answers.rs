//! Answers the store keeps whole (GET script, script search, CM search and get) are never
//! served once what they were made from has changed: after a write, a reset, a customer's
//! reset, a clock move (for answers that depend on the clock), and never to another
//! customer. Each request is asked twice before the change, so the second answer is the
//! kept one.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, ms};

const ACME: (&str, &str) = ("acme_ss2", "passwd");

async fn script(app: &TestApp, token: &str) -> Value {
    let r = app
        .car(Method::GET, "/sm/v1/scripts/16012", token, "")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()
}

async fn script_search(app: &TestApp, token: &str, filter: &str) -> u64 {
    let body = json!({"filter": filter, "pageSize": 50}).to_string();
    let r = app
        .car(Method::POST, "/sm/v1/scripts/search", token, &body)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{filter}: {}", r.text());
    r.json()["body"]["totalCount"].as_u64().unwrap()
}

/// A CAR call with a JSON body that must answer `status`; its answer.
async fn car_write(
    app: &TestApp,
    token: &str,
    (method, path): (Method, &str),
    body: Value,
    status: StatusCode,
) -> Value {
    let r = app.car(method, path, token, &body.to_string()).await;
    assert_eq!(r.status, status, "{path}: {}", r.text());
    r.json()
}

/// A control call that must succeed; its answer.
async fn control(app: &TestApp, method: Method, path: &str, body: Value) -> Value {
    let r = app.control(method, path, body).await;
    assert!(r.status.is_success(), "{path}: {}", r.text());
    r.json()
}

/// Acme's PORT_OPEN event on 10.10.30.99 from `new-host.acme.corp`; the control API's answer.
async fn inject_port_open(app: &TestApp) -> Value {
    control(
        app,
        Method::POST,
        "/_mock/cm/events",
        json!({"customer": "Acme", "events": [{"eventType": "PORT_OPEN",
            "ipAddress": "10.10.30.99", "hostname": "new-host.acme.corp",
                "info": {"port": 8443, "protocol": "tcp"}}]}),
    )
    .await
}

#[tokio::test]
async fn a_kept_script_is_not_served_after_an_update_or_a_reset() {
    let app = &TestApp::new().await;
    let t = app.acme().await;
    let before = script(app, &t).await;
    assert_eq!(script(app, &t).await, before);
    car_write(
        app,
        &t,
        (Method::PATCH, "/sm/v4/script/16012"),
        json!({"description": "changed after it was kept"}),
        StatusCode::OK,
    )
    .await;
    let changed = script(app, &t).await;
    assert_eq!(
        changed["body"]["description"], "changed after it was kept",
        "the answer kept before the update was served"
    );
    assert_eq!(script(app, &t).await, changed);
    control(app, Method::POST, "/_mock/reset", json!({})).await;
    assert_eq!(
        script(app, &t).await,
        before,
        "the answer kept before the reset was served"
    );
}

#[tokio::test]
async fn a_kept_script_search_is_not_served_after_a_clone_or_a_customer_reset() {
    let app = &TestApp::new().await;
    let t = app.acme().await;
    let filter = "status:PENDING_REVIEW";
    let before = script_search(app, &t, filter).await;
    assert_eq!(script_search(app, &t, filter).await, before);
    car_write(
        app,
        &t,
        (Method::POST, "/sm/v1/scripts/16012/clone"),
        json!({"scriptTitle": "A clone after the search was kept"}),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        script_search(app, &t, filter).await,
        before + 1,
        "the search kept before the clone was served"
    );
    control(app, Method::POST, "/_mock/reset?customer=Acme", json!({})).await;
    assert_eq!(
        script_search(app, &t, filter).await,
        before,
        "the search kept before the customer's reset was served"
    );
}

#[tokio::test]
async fn a_kept_search_with_a_relative_date_follows_the_clock() {
    let app = &TestApp::new().await;
    let t = app.acme().await;
    app.state.clock().set(ms("2022-05-09T00:00:00Z"));
    let filter = "created.dateTime>=now-7d";
    let week = script_search(app, &t, filter).await;
    assert_eq!(script_search(app, &t, filter).await, week);
    // Five days on, fewer scripts were made in the last seven days; no store write.
    app.state.clock().set(ms("2022-05-14T00:00:00Z"));
    let later = script_search(app, &t, filter).await;
    assert!(
        later < week,
        "the search kept before the clock moved was served ({later} of {week})"
    );
}

/// A search for alerts of one address, in JSON or XML.
fn alert_search(ip: &str, json: bool) -> String {
    if json {
        json!({"ServiceRequest": {"filters": {"Criteria": [
            {"field": "ipAddress", "operator": "EQUALS", "value": ip}]}}})
        .to_string()
    } else {
        format!(
            "<ServiceRequest><filters><Criteria field=\"ipAddress\" operator=\"EQUALS\">{ip}\
             </Criteria></filters></ServiceRequest>"
        )
    }
}

async fn cm(app: &TestApp, path: &str, body: &str, json: bool) -> String {
    let method = if body.is_empty() {
        Method::GET
    } else {
        Method::POST
    };
    let r = app.cm(method, path, ACME, body, json).await;
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text());
    r.text()
}

#[tokio::test]
async fn a_kept_cm_search_is_not_served_after_an_event_or_a_reset() {
    let app = &TestApp::new().await;
    let path = "/qps/rest/1.0/search/cm/alert";
    let search = |json| alert_search("10.10.30.99", json);
    for json in [false, true] {
        let before = cm(app, path, &search(json), json).await;
        assert_eq!(cm(app, path, &search(json), json).await, before);
        assert!(!before.contains("new-host.acme.corp"), "{before}");
    }
    inject_port_open(app).await;
    for json in [false, true] {
        let after = cm(app, path, &search(json), json).await;
        assert!(
            after.contains("new-host.acme.corp"),
            "the search kept before the event was served: {after}"
        );
    }
    control(app, Method::POST, "/_mock/reset", json!({})).await;
    for json in [false, true] {
        let reset = cm(app, path, &search(json), json).await;
        assert!(
            !reset.contains("new-host.acme.corp"),
            "the search kept before the reset was served: {reset}"
        );
    }
}

#[tokio::test]
async fn a_kept_cm_get_is_served_to_its_customer_only_and_not_after_a_reset() {
    let app = &TestApp::new().await;
    let path = "/qps/rest/1.0/get/cm/alert/237124";
    let xml = cm(app, path, "", false).await;
    assert_eq!(cm(app, path, "", false).await, xml);
    let json = cm(app, path, "", true).await;
    assert_ne!(json, xml, "the XML answer was kept for JSON");
    // Another customer asking the same is answered for itself: Acme's alert is not Globex's.
    let globex = app
        .cm(Method::GET, path, ("globex_ss1", "passwd2"), "", false)
        .await;
    assert!(
        globex.text().contains("OBJECT_NOT_FOUND"),
        "Acme's kept answer was served to Globex: {}",
        globex.text()
    );
    // An injected alert, kept, is gone after a reset.
    let id = inject_port_open(app).await["alerts"][0]["Alert"]["id"]
        .as_i64()
        .unwrap();
    let injected = format!("/qps/rest/1.0/get/cm/alert/{id}");
    let kept = cm(app, &injected, "", false).await;
    assert_eq!(cm(app, &injected, "", false).await, kept);
    control(app, Method::POST, "/_mock/reset", json!({})).await;
    let r = app.cm(Method::GET, &injected, ACME, "", false).await;
    assert!(
        r.text().contains("OBJECT_NOT_FOUND"),
        "the get kept before the reset was served: {}",
        r.text()
    );
    assert_eq!(cm(app, path, "", false).await, xml);
}
