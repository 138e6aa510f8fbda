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
