//! CAR cross-cutting structure: the job engine catches up before every CAR route (and the
//! control routes that read CAR state), and every JSON body is read by one extractor whose
//! rejection is the CAR error envelope.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, ms};

/// A ONE_TIME schedule of 72648 on one asset, due at 2022-05-11T07:25:00Z.
async fn one_time_schedule(app: &TestApp, token: &str) {
    app.state.clock().set(ms("2022-05-10T00:00:00Z"));
    let body = json!({
        "activate": true, "assets": [{"UUId": "u", "id": 20452610}],
        "scripts": [{"id": 72648, "title": "Disk Usage Report"}],
        "title": "Once", "startDate": "2022-05-11", "endDate": "2022-05-11",
        "startTime": "07:25:00", "scheduleType": "ONE_TIME"
    });
    app.create_schedule(token, body).await;
}

async fn execute(app: &TestApp, token: &str) -> crate::helpers::TestResponse {
    app.car(
        Method::POST,
        "/sm/v1/scripts/72648/execute",
        token,
        r#"{"testMode": false, "assetIds": ["20452610"]}"#,
    )
    .await
}

#[tokio::test]
async fn execute_after_a_clock_jump_counts_the_scheduled_job() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    one_time_schedule(&app, &t).await;
    let r = app
        .request(
            Method::POST,
            "/_mock/clock",
            &[("content-type", "application/json")],
            json!({"set": "2022-05-11T07:25:30Z"}).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = execute(&app, &t).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text());
    assert_eq!(r.header("retry-after"), Some("30"));
}

#[tokio::test]
async fn execute_after_the_clock_moved_underneath_counts_the_scheduled_job() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    one_time_schedule(&app, &t).await;
    // Moved without the control API: nothing has caught up yet.
    app.state.clock().set(ms("2022-05-11T07:25:30Z"));
    let r = execute(&app, &t).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text());
    assert_eq!(r.header("retry-after"), Some("30"));
}

/// Every route that reads CAR state, with a request it takes (any answer will do: the
/// engine catches up before the request is even read).
const ROUTES: &[(&str, &str, &str)] = &[
    ("POST", "/sm/v1/scripts/search", "{}"),
    ("GET", "/sm/v1/scripts/export?ids=72652", ""),
    ("POST", "/sm/v1/scripts/import", ""),
    ("POST", "/sm/v1/scripts/activities", "{}"),
    ("POST", "/sm/v1/scripts/scheduler", "{}"),
    ("GET", "/sm/v1/scripts/16012", ""),
    ("POST", "/sm/v1/scripts/16012/clone", "{}"),
    ("POST", "/sm/v1/scripts/16012/execute", "{}"),
    ("POST", "/sm/v1/assets/search", "{}"),
    ("POST", "/sm/v1/assettags/search", "{}"),
    ("POST", "/sm/v1/jobs/search", "{}"),
    ("POST", "/sm/v1/assetjobs/search", "{}"),
    ("GET", "/sm/v1/no/such/thing", ""),
    ("GET", "/sm/v1", ""),
    ("GET", "/_mock/health", ""),
    (
        "POST",
        "/_mock/car/assetjobs/1/outcome",
        r#"{"status": "FAILED"}"#,
    ),
];

/// The statuses of the asset jobs of one execution.
async fn statuses(app: &TestApp, token: &str, correlation: &str) -> Vec<String> {
    app.asset_job_statuses(token, &format!("job.correlationUuid:`{correlation}`"))
        .await
}

#[tokio::test]
async fn every_route_that_reads_car_state_catches_the_engine_up_first() {
    for (method, path, body) in ROUTES {
        let app = TestApp::new().await;
        let t = app.acme().await;
        let t0 = app.state.clock().now_ms();
        let r = execute(&app, &t).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let correlation = r.json()["body"]["correlationUuid"]
            .as_str()
            .unwrap()
            .to_owned();
        // A minute later the asset job is done, but only a catch-up can know it.
        app.state.clock().set(t0 + 60_000);
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        app.car(method, path, &t, body).await;
        // Back to when the job was queued: only what the route did shows.
        app.state.clock().set(t0);
        assert_eq!(
            statuses(&app, &t, &correlation).await,
            vec!["SUCCESS".to_owned()],
            "{path}"
        );
    }
}

#[tokio::test]
async fn jobs_progress_after_a_read_left_the_engine_idle() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    // A read first: the engine finds nothing due and rests until there is work.
    let r = app.car(Method::GET, "/sm/v1/scripts/72648", &t, "").await;
    assert_eq!(r.status, StatusCode::OK);
    let r = execute(&app, &t).await;
    let correlation = r.json()["body"]["correlationUuid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(statuses(&app, &t, &correlation).await, vec!["QUEUED"]);
    app.state.clock().advance(5_000);
    assert_eq!(statuses(&app, &t, &correlation).await, vec!["IN_PROGRESS"]);
    app.state.clock().advance(30_000);
    assert_eq!(statuses(&app, &t, &correlation).await, vec!["SUCCESS"]);
}

/// Every CAR endpoint that takes JSON, with the body read by one extractor.
const JSON_ROUTES: &[&str] = &[
    "/sm/v1/scripts/search",
    "/sm/v1/scripts/activities",
    "/sm/v1/scripts/scheduler",
    "/sm/v1/scripts/16012/clone",
    "/sm/v1/scripts/72648/execute",
    "/sm/v1/assets/search",
    "/sm/v1/assettags/search",
    "/sm/v1/jobs/search",
    "/sm/v1/assetjobs/search",
];

#[tokio::test]
async fn every_json_body_is_rejected_in_the_car_envelope() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    for path in JSON_ROUTES {
        for (body, message) in [
            (
                "{",
                "Malformed JSON request body: EOF while parsing an object at line 1 column 1",
            ),
            (
                "{\"a\": 1,}",
                "Malformed JSON request body: trailing comma at line 1 column 9",
            ),
            ("[]", "The request body must be a JSON object"),
            (
                "\"status:APPROVED\"",
                "The request body must be a JSON object",
            ),
            ("null", "The request body must be a JSON object"),
        ] {
            let r = app.car(Method::POST, path, &t, body).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path} {body}");
            assert_eq!(
                r.json(),
                json!({"errorCode": "400", "message": message, "body": null}),
                "{path} {body}"
            );
        }
    }
}

#[tokio::test]
async fn the_body_is_read_whatever_the_content_type() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    let auth = format!("Bearer {t}");
    for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
        let r = app
            .request(
                Method::POST,
                "/sm/v1/scripts/search",
                &[("authorization", &auth), ("content-type", content_type)],
                r#"{"filter": "id:16012"}"#,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(r.json()["body"]["totalCount"], 1);
    }
    // No body at all: every field is optional in a search.
    let r = app
        .request(
            Method::POST,
            "/sm/v1/jobs/search",
            &[("authorization", &auth)],
            "",
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}
