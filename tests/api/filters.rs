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
