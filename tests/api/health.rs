use crate::helpers::TestApp;
use axum::http::StatusCode;

#[tokio::test]
async fn health_reports_seed_and_counts() {
    let app = TestApp::new().await;
    let r = app.get("/_mock/health").await;
    assert_eq!(r.status, StatusCode::OK);
    let body = r.json();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["seed"], "default");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(body["counts"]["customers"], 2);
    assert_eq!(body["counts"]["users"], 3);
    assert_eq!(body["clock"]["frozen"], true);
}

#[tokio::test]
async fn unknown_paths_are_404_in_gateway_json() {
    let app = TestApp::new().await;
    let r = app.get("/nope").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["message"], "No resource at /nope");
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413() {
    let app = TestApp::new().await;
    let big = "x".repeat(qualys_mock::ServerConfig::default().max_body_bytes + 1);
    let r = app
        .request(axum::http::Method::POST, "/auth", &[], big)
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.json()["status"], 413);
}

#[tokio::test]
async fn wrong_methods_are_405_in_gateway_json() {
    let app = TestApp::new().await;
    let r = app.get("/auth").await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.json()["message"], "GET is not supported on /auth");
}

/// Health answers from what it read of the store while nothing was written since: every
/// write shows at once, whoever made it.
#[tokio::test]
async fn health_counts_follow_every_write_at_once() {
    use axum::http::Method;
    use serde_json::json;
    let app = TestApp::new().await;
    // What health shows of the store (the clock's offset from the system clock moves).
    let store_part = |mut body: serde_json::Value| {
        body.as_object_mut().unwrap().remove("clock");
        body
    };
    let first = store_part(app.get("/_mock/health").await.json());
    assert_eq!(first["counts"]["customers"], 2);
    assert_eq!(store_part(app.get("/_mock/health").await.json()), first);
    let r = app
        .control(
            Method::POST,
            "/_mock/customers",
            json!({"name": "Initech", "username": "ini", "password": "pw"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let after = app.get("/_mock/health").await.json();
    assert_eq!(after["counts"]["customers"], 3, "{after}");
    assert_eq!(after["counts"]["users"], 4, "{after}");
    let r = app.control(Method::POST, "/_mock/reset", json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(store_part(app.get("/_mock/health").await.json()), first);
}
