//! 404 and 405 answer in the format of the surface the path belongs to.

use axum::http::{Method, StatusCode};

use crate::helpers::TestApp;

#[tokio::test]
async fn a_wrong_method_on_a_qps_path_answers_a_service_response() {
    let app = TestApp::new().await;
    let acme = ("acme_ss2", "passwd");
    let r = app
        .cm(
            Method::PUT,
            "/qps/rest/1.0/search/cm/alert",
            acme,
            "",
            false,
        )
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.header("allow"), Some("GET, POST"));
    let body = r.text();
    assert!(body.starts_with("<?xml"), "{body}");
    assert!(
        body.contains("<responseCode>INVALID_REQUEST</responseCode>"),
        "{body}"
    );
    assert!(
        body.contains("PUT is not supported on /qps/rest/1.0/search/cm/alert"),
        "{body}"
    );

    // The client's format is kept: JSON when asked.
    let r = app
        .cm(
            Method::DELETE,
            "/qps/rest/1.0/get/cm/alert/246213",
            acme,
            "",
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        r.json()["ServiceResponse"]["responseCode"],
        "INVALID_REQUEST",
        "{}",
        r.text()
    );
}

#[tokio::test]
async fn an_unknown_qps_path_answers_a_service_response() {
    let app = TestApp::new().await;
    let r = app.get("/qps/nothing/here").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(
        r.text()
            .contains("<responseCode>INVALID_REQUEST</responseCode>"),
        "{}",
        r.text()
    );
}

#[tokio::test]
async fn control_and_car_paths_keep_their_own_formats() {
    let app = TestApp::new().await;
    let r = app
        .request(Method::PUT, "/_mock/reset", &[], String::new())
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.json()["error"], "PUT is not supported on /_mock/reset");
    let r = app.get("/_mock/nothing").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["error"], "No resource at /_mock/nothing");

    let r = app.get("/nothing").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["status"], 404, "{}", r.text());
    let r = app
        .request(Method::DELETE, "/auth", &[], String::new())
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.json()["status"], 405, "{}", r.text());
}

/// XML answers stay well-formed whatever a request holds: control characters echoed from a
/// request are replaced, and events carrying them are refused.
#[tokio::test]
async fn control_characters_never_reach_an_xml_answer() {
    let app = TestApp::new().await;
    let acme = ("acme_ss2", "passwd");
    let r = app
        .cm(
            Method::POST,
            "/qps/rest/1.0/download/cm/alert/?format=%01",
            acme,
            "",
            false,
        )
        .await;
    let body = r.text();
    assert!(!body.contains('\u{1}'), "{body}");
    assert!(
        body.contains("<responseCode>INVALID_REQUEST</responseCode>"),
        "{body}"
    );

    let r = app
        .control(
            Method::POST,
            "/_mock/cm/events",
            serde_json::json!({"customer": "Acme", "events": [
                {"eventType": "HOST_FOUND", "ipAddress": "10.10.12.5", "hostname": "bad\u{1}host"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert!(r.text().contains("control characters"), "{}", r.text());
}

/// A control body must be a JSON object: an array is not read as a struct's fields.
#[tokio::test]
async fn a_control_body_that_is_not_an_object_is_refused() {
    let app = TestApp::new().await;
    for path in ["/_mock/clock", "/_mock/customers", "/_mock/faults"] {
        let r = app
            .control(Method::POST, path, serde_json::json!([null, null]))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.text());
        assert_eq!(r.json()["error"], "the body must be a JSON object");
    }
}
