//! Every request sample of the CAR guide against a fresh server, its response body kept as
//! an insta snapshot (`snapshots/api__car_samples__*.snap`). The clock is frozen (at
//! 2024-01-01, or just before the guide's May 2022 dates where a sample needs it), so times
//! stay in; what the server makes up afresh — JWT ids, correlation UUIDs, manifest ids,
//! the ids of new scripts and schedules — is redacted after its type is checked.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, jwt_payload, ms};

/// What a redaction checks before it hides a value.
#[derive(Clone, Copy)]
enum Kind {
    /// A numeric id in a string, as lists carry ids.
    IdString,
    /// A numeric id as a number.
    IdNumber,
    Uuid,
}

/// Replace the value at `path` (dot-separated keys; `[]` after a key: every element) with
/// a placeholder, after checking it is of `kind`. insta's own redactions need a feature
/// (and two crates) the project does not carry; this is the same idea on the JSON tree.
fn redact(value: &mut Value, path: &str, kind: Kind) {
    fn walk(value: &mut Value, parts: &[&str], kind: Kind, path: &str) {
        let Some((first, rest)) = parts.split_first() else {
            let fits = match kind {
                Kind::IdString => value.as_str().is_some_and(|s| s.parse::<i64>().is_ok()),
                Kind::IdNumber => value.as_i64().is_some(),
                Kind::Uuid => value
                    .as_str()
                    .is_some_and(|s| uuid::Uuid::parse_str(s).is_ok()),
            };
            assert!(fits, "{path}: {value} is not a {}", label(kind));
            *value = Value::String(format!("[{}]", label(kind)));
            return;
        };
        let (key, every) = match first.strip_suffix("[]") {
            Some(key) => (key, true),
            None => (*first, false),
        };
        let child = value
            .get_mut(key)
            .unwrap_or_else(|| panic!("{path}: no {key}"));
        if every {
            let items = child.as_array_mut().expect("an array");
            assert!(!items.is_empty(), "{path}: nothing to redact");
            for item in items {
                walk(item, rest, kind, path);
            }
        } else {
            walk(child, rest, kind, path);
        }
    }
    fn label(kind: Kind) -> &'static str {
        match kind {
            Kind::IdString | Kind::IdNumber => "new id",
            Kind::Uuid => "uuid",
        }
    }
    let parts: Vec<&str> = path.split('.').collect();
    walk(value, &parts, kind, path);
}

fn redacted(mut value: Value, redactions: &[(&str, Kind)]) -> Value {
    for (path, kind) in redactions {
        redact(&mut value, path, *kind);
    }
    value
}

async fn ok(app: &TestApp, method: Method, path: &str, token: &str, body: &str) -> Value {
    let r = app.car(method, path, token, body).await;
    assert_eq!(r.status, StatusCode::OK, "{path} {body}: {}", r.text());
    r.json()
}

#[tokio::test]
async fn auth() {
    let app = TestApp::new().await;
    let r = app
        .login("username=acme_ss2&password=passwd&token=true")
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let token = r.text();
    use base64::Engine as _;
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    let answer = json!({
        "contentType": r.header("content-type"),
        "jwtHeader": header,
        "jwtPayload": jwt_payload(&token),
    });
    insta::assert_json_snapshot!("auth", redacted(answer, &[("jwtPayload.jti", Kind::Uuid)]));
}

#[tokio::test]
async fn scripts_get() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    let v = ok(&app, Method::GET, "/sm/v1/scripts/16012", &t, "").await;
    insta::assert_json_snapshot!("scripts_get_16012", v);
}

#[tokio::test]
async fn scripts_search() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    let path = "/sm/v1/scripts/search";
    let v = ok(
        &app,
        Method::POST,
        path,
        &t,
        r#"{"filter": "status:REJECTED"}"#,
    )
    .await;
    insta::assert_json_snapshot!("scripts_search_rejected", v);
    let v = ok(
        &app,
        Method::POST,
        path,
        &t,
        r#"{"filter": "status:DEPRECATED"}"#,
    )
    .await;
    insta::assert_json_snapshot!("scripts_search_deprecated", v);
    let body = r#"{"filter": "status:APPROVED", "pageSize": 30, "pageNumber": 0}"#;
    let v = ok(&app, Method::POST, path, &t, body).await;
    insta::assert_json_snapshot!("scripts_search_pagination", v);
}

#[tokio::test]
async fn assets_search() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    let v = ok(&app, Method::POST, "/sm/v1/assets/search", &t, "").await;
    insta::assert_json_snapshot!("assets_search", v);
}

#[tokio::test]
async fn assettags_search() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    let v = ok(&app, Method::POST, "/sm/v1/assettags/search", &t, "").await;
    insta::assert_json_snapshot!("assettags_search", v);
}

#[tokio::test]
async fn jobs_search() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    let body = r#"{"filter": "script.name:Script test for subscribed modules"}"#;
    let v = ok(&app, Method::POST, "/sm/v1/jobs/search", &t, body).await;
    insta::assert_json_snapshot!("jobs_search", v);
}

#[tokio::test]
async fn assetjobs_search() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    let path = "/sm/v1/assetjobs/search";
    let body = r#"{"filter": "job.id:80507", "includeScriptResult": true, "sort": "[{\"created.dateTime\": \"desc\"}]"}"#;
    let v = ok(&app, Method::POST, path, &t, body).await;
    insta::assert_json_snapshot!("assetjobs_search_with_script_result", v);
    // Without the flag there is no scriptResult key at all.
    let v = ok(
        &app,
        Method::POST,
        path,
        &t,
        r#"{"filter": "job.id:80507"}"#,
    )
    .await;
    insta::assert_json_snapshot!("assetjobs_search", v);
}

#[tokio::test]
async fn activities() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    let body = r#"{"qql": "activity: CREATE "}"#;
    let v = ok(&app, Method::POST, "/sm/v1/scripts/activities", &t, body).await;
    insta::assert_json_snapshot!("activities_create", v);
}

#[tokio::test]
async fn export_and_import() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    let v = ok(&app, Method::GET, "/sm/v1/scripts/export?ids=16515", &t, "").await;
    insta::assert_json_snapshot!("scripts_export_16515", v);
    let r = app
        .car(Method::GET, "/sm/v1/scripts/export?ids=72652,75508", &t, "")
        .await;
    assert_eq!(r.status, StatusCode::OK);
    insta::assert_json_snapshot!("scripts_export_72652_75508", r.json());
    // The export imports back (into Globex, where its titles are free).
    let g = app.globex().await;
    let r = app
        .upload("/sm/v1/scripts/import", &g, "file", &r.body)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = redacted(r.json(), &[("ImportedIds[]", Kind::IdString)]);
    insta::assert_json_snapshot!("scripts_import", v);
}

#[tokio::test]
async fn clone() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    for (path, body, name) in [
        (
            "/sm/v1/scripts/72652/clone",
            r#"{"scriptTitle": "Restart Print Spooler (copy)"}"#,
            "scripts_clone",
        ),
        (
            "/sm/v1/scripts/Restart%20Print%20Spooler/clone",
            r#"{"scriptId": "NewClonedScript"}"#,
            "scripts_clone_curl_sample",
        ),
    ] {
        let r = app.car(Method::POST, path, &t, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        insta::assert_json_snapshot!(name, redacted(r.json(), &[("body.id", Kind::IdNumber)]));
    }
}

#[tokio::test]
async fn execute() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    let body = r#"{"testMode": false, "assetIds": ["20452610"], "assetTagIds": [], "excludedAssetIds": []}"#;
    let v = ok(&app, Method::POST, "/sm/v1/scripts/72648/execute", &t, body).await;
    let shown = redacted(v.clone(), &[("body.correlationUuid", Kind::Uuid)]);
    insta::assert_json_snapshot!("scripts_execute", shown);
    // The job it made, as jobs/search and assetjobs/search show it.
    let filter = format!(
        r#"{{"filter": "correlationUuid:`{}`"}}"#,
        v["body"]["correlationUuid"].as_str().unwrap()
    );
    let jobs = ok(&app, Method::POST, "/sm/v1/jobs/search", &t, &filter).await;
    let jobs = redacted(
        jobs,
        &[
            ("body.list[].id", Kind::IdString),
            ("body.list[].correlationUuid", Kind::Uuid),
        ],
    );
    insta::assert_json_snapshot!("scripts_execute_job", jobs);
    let filter = format!(
        r#"{{"filter": "job.correlationUuid:`{}`", "includeScriptResult": true}}"#,
        v["body"]["correlationUuid"].as_str().unwrap()
    );
    let asset_jobs = ok(&app, Method::POST, "/sm/v1/assetjobs/search", &t, &filter).await;
    let asset_jobs = redacted(
        asset_jobs,
        &[
            ("body.list[].id", Kind::IdString),
            ("body.list[].job.id", Kind::IdNumber),
            ("body.list[].job.correlationUuid", Kind::Uuid),
            ("body.list[].manifestId", Kind::Uuid),
        ],
    );
    insta::assert_json_snapshot!("scripts_execute_asset_job", asset_jobs);
}

fn schedule(kind: &str, extra: Value) -> String {
    let mut body = json!({
        "activate": true, "assetTags": [], "assets": [{"UUId": "b1d8c7d2-0000-4000-8000-000000000001", "id": 20452610}],
        "description": "", "excludedAssets": [], "scripts": [{"id": 72648, "title": "Disk Usage Report"}],
        "title": format!("{kind} schedule"), "user": {"id": "51fbdb4b-5fb5-fdf6-8141-5a7887ec557b", "name": "FIM Automation"},
        "scheduleType": kind
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body.to_string()
}

#[tokio::test]
async fn scheduler() {
    let app = TestApp::new().await;
    app.state.clock().set(ms("2022-05-10T00:00:00Z"));
    let t = app.acme().await;
    let samples = [
        (
            "ONE_TIME",
            json!({"endDate": "2022-05-11", "startDate": "2022-05-11", "startTime": "07:25:00"}),
        ),
        (
            "MONTHLY",
            json!({"endDate": "2022-12-31", "startDate": "2022-05-12", "startTime": "09:20:00",
            "recurrenceDate": 7, "recurrenceMonth": 1, "monthlyScheduleType": "MONTHLY_DATE_OF_MONTH_JOB"}),
        ),
        (
            "WEEKLY",
            json!({"endDate": "2022-05-16", "startDate": "2022-05-11", "startTime": "10:49:00", "daysOfWeek": ["1", "2"]}),
        ),
        (
            "HOURLY",
            json!({"endDate": "2022-05-16", "startDate": "2022-05-11", "startTime": "10:49:00", "hourlyInterval": 6}),
        ),
        (
            "DAILY",
            json!({"activate": false, "endDate": "2022-05-15", "startDate": "2022-05-11", "startTime": "09:42:00"}),
        ),
    ];
    for (kind, extra) in samples {
        let body = schedule(kind, extra);
        let r = app
            .car(Method::POST, "/sm/v1/scripts/scheduler", &t, &body)
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{body}: {}", r.text());
        insta::assert_json_snapshot!(
            format!("scripts_scheduler_{}", kind.to_ascii_lowercase()),
            redacted(r.json(), &[("body.id", Kind::IdString)])
        );
    }
}
