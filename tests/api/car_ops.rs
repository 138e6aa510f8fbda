//! CAR: every documented status code, the job engine and schedules on the clock,
//! concurrency, tenant isolation, QQL through HTTP.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, ms};

fn status_and_message(r: &crate::helpers::TestResponse) -> (StatusCode, String) {
    (
        r.status,
        r.json()["message"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn export_400_404() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    let cases = [
        (
            "/sm/v1/scripts/export?ids=16515,72524",
            StatusCode::BAD_REQUEST,
            "Deprecated or rejected scripts cannot be exported: 72524 (REJECTED)",
        ),
        (
            "/sm/v1/scripts/export?ids=80001",
            StatusCode::BAD_REQUEST,
            "Deprecated or rejected scripts cannot be exported: 80001 (DEPRECATED)",
        ),
        (
            "/sm/v1/scripts/export?ids=16515,4242",
            StatusCode::NOT_FOUND,
            "Script(s) not found: 4242",
        ),
        (
            "/sm/v1/scripts/export",
            StatusCode::BAD_REQUEST,
            "Query parameter ids is required, e.g. ids=16515,72652",
        ),
        (
            "/sm/v1/scripts/export?ids=a,b",
            StatusCode::BAD_REQUEST,
            "ids must be script ids separated by commas (got \"a,b\")",
        ),
    ];
    for (path, status, message) in cases {
        let r = app.car(Method::GET, path, &t, "").await;
        assert_eq!(
            status_and_message(&r),
            (status, message.to_owned()),
            "{path}"
        );
        assert_eq!(r.json()["errorCode"], status.as_u16().to_string());
    }
}

#[tokio::test]
async fn import_200_400_409_429_and_all_or_nothing() {
    let app = &TestApp::new().await;
    let t = app.acme().await;
    let export = app
        .car(Method::GET, "/sm/v1/scripts/export?ids=72652,75508", &t, "")
        .await
        .json();
    let acme_scripts = |app: TestApp, t: String| async move {
        app.car(Method::POST, "/sm/v1/scripts/search", &t, "")
            .await
            .json()["body"]["totalCount"]
            .as_u64()
            .unwrap()
    };
    let before = acme_scripts(app.clone(), t.clone()).await;

    // 409: the same titles exist in this customer; nothing is stored.
    let r = app
        .upload(
            "/sm/v1/scripts/import",
            &t,
            "file",
            export.to_string().as_bytes(),
        )
        .await;
    assert_eq!(
        status_and_message(&r),
        (
            StatusCode::CONFLICT,
            "Script with the same title already exists: Restart Print Spooler".into()
        )
    );
    // A batch whose second title is taken stores not even the first.
    let mut mixed = export.clone();
    mixed[0]["title"] = json!("A brand new title");
    let r = app
        .upload(
            "/sm/v1/scripts/import",
            &t,
            "file",
            mixed.to_string().as_bytes(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(acme_scripts(app.clone(), t.clone()).await, before);

    // 200 with new titles.
    let mut fresh = export.clone();
    fresh[0]["title"] = json!("Imported one");
    fresh[1]["title"] = json!("Imported two");
    let r = app
        .upload(
            "/sm/v1/scripts/import",
            &t,
            "file",
            fresh.to_string().as_bytes(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(acme_scripts(app.clone(), t.clone()).await, before + 2);

    // 400: not an export.
    for (content, message) in [
        (
            "not json",
            "Invalid import file: not valid JSON: expected ident at line 1 column 2",
        ),
        (
            "{}",
            "Invalid import file: invalid type: map, expected a sequence",
        ),
        ("[]", "Invalid import file: it holds no scripts"),
        (
            r#"[{"title": "x"}]"#,
            "Invalid import file: [0]: missing field `category`",
        ),
        (
            r#"[{"title": "x", "category": {"id": 1, "name": "c"}, "type": {"id": 1, "name": "Python"}, "platform": "WINDOWS", "severity": "high", "threshold": 1, "content": ""}]"#,
            "Invalid import file: [0].severity: invalid type: string \"high\", expected i64",
        ),
        (
            r#"[{"title": "y", "category": {"id": 1, "name": "c"}, "type": {"id": 1, "name": "Python"}, "platform": "BEOS", "severity": 1, "threshold": 1, "content": ""}]"#,
            "Invalid import file: script 0: unknown platform \"BEOS\"",
        ),
    ] {
        let r = app
            .upload("/sm/v1/scripts/import", &t, "file", content.as_bytes())
            .await;
        assert_eq!(
            status_and_message(&r),
            (StatusCode::BAD_REQUEST, message.into()),
            "{content}"
        );
    }
    let mut bad_content = fresh.clone();
    bad_content[0]["title"] = json!("Yet another");
    bad_content[0]["content"] = json!("!!! not base64");
    let r = app
        .upload(
            "/sm/v1/scripts/import",
            &t,
            "file",
            bad_content.to_string().as_bytes(),
        )
        .await;
    assert_eq!(
        status_and_message(&r),
        (
            StatusCode::BAD_REQUEST,
            "Invalid import file: script 0: content is not base64".into()
        )
    );
    let r = app
        .car(Method::POST, "/sm/v1/scripts/import", &t, "{}")
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // A plain form field is no file; a file under another field name is taken (lenient).
    let boundary = "b0undary";
    let form = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n--{boundary}--\r\n"
    );
    let auth = format!("Bearer {t}");
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let r = app
        .request(
            Method::POST,
            "/sm/v1/scripts/import",
            &[("authorization", &auth), ("content-type", &content_type)],
            form,
        )
        .await;
    assert_eq!(
        status_and_message(&r),
        (
            StatusCode::BAD_REQUEST,
            "The multipart field 'file' is required".into()
        )
    );
    let r = app
        .upload("/sm/v1/scripts/import", &t, "upload", b"[]")
        .await;
    assert_eq!(
        status_and_message(&r),
        (
            StatusCode::BAD_REQUEST,
            "Invalid import file: it holds no scripts".into()
        )
    );

    // 429 at the script limit.
    let mut limits = app.state.limits();
    limits.script_limit = before + 3;
    app.state.set_limits(limits);
    let mut two_more = fresh.clone();
    two_more[0]["title"] = json!("Over one");
    two_more[1]["title"] = json!("Over two");
    let r = app
        .upload(
            "/sm/v1/scripts/import",
            &t,
            "file",
            two_more.to_string().as_bytes(),
        )
        .await;
    assert_eq!(
        status_and_message(&r),
        (
            StatusCode::TOO_MANY_REQUESTS,
            format!("Maximum script creation limit ({}) is reached", before + 3)
        )
    );
}

#[tokio::test]
async fn clone_201_400_404_429() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    let clone = |src: &str, body: &str| {
        let path = format!("/sm/v1/scripts/{src}/clone");
        let body = body.to_owned();
        let app = &app;
        let t = t.clone();
        async move { app.car(Method::POST, &path, &t, &body).await }
    };
    let cases: Vec<(&str, &str, StatusCode, &str)> = vec![
        (
            "72524",
            r#"{"scriptTitle": "x1"}"#,
            StatusCode::BAD_REQUEST,
            "Cannot clone a rejected script",
        ),
        (
            "80001",
            r#"{"scriptTitle": "x2"}"#,
            StatusCode::BAD_REQUEST,
            "Cannot clone a deprecated script",
        ),
        (
            "16012",
            r#"{}"#,
            StatusCode::BAD_REQUEST,
            "scriptTitle is required",
        ),
        (
            "16012",
            r#"{"scriptTitle": "   "}"#,
            StatusCode::BAD_REQUEST,
            "Script title is required",
        ),
        (
            "16012",
            r#"{"scriptTitle": "tab\there"}"#,
            StatusCode::BAD_REQUEST,
            "Script title must not contain control characters",
        ),
        (
            "16012",
            r#"{"scriptTitle": "Disk Usage Report"}"#,
            StatusCode::BAD_REQUEST,
            "Script with the same title already exists: Disk Usage Report",
        ),
        (
            "16012",
            "{",
            StatusCode::BAD_REQUEST,
            "Malformed JSON request body: EOF while parsing an object at line 1 column 1",
        ),
        (
            "4242",
            r#"{"scriptTitle": "x3"}"#,
            StatusCode::NOT_FOUND,
            "Script not found: 4242",
        ),
    ];
    for (src, body, status, message) in cases {
        let r = clone(src, body).await;
        assert_eq!(
            status_and_message(&r),
            (status, message.to_owned()),
            "{src} {body}"
        );
    }
    let long = format!(r#"{{"scriptTitle": "{}"}}"#, "x".repeat(256));
    assert_eq!(clone("16012", &long).await.status, StatusCode::BAD_REQUEST);
    let count = app
        .car(Method::POST, "/sm/v1/scripts/search", &t, "")
        .await
        .json()["body"]["totalCount"]
        .as_u64()
        .unwrap();
    let mut limits = app.state.limits();
    limits.script_limit = count;
    app.state.set_limits(limits);
    let r = clone("16012", r#"{"scriptTitle": "One too many"}"#).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    limits.script_limit = count + 1;
    app.state.set_limits(limits);
    assert_eq!(
        clone("16012", r#"{"scriptTitle": "Just fits"}"#)
            .await
            .status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn execute_200_400_404_429() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    let exec = |id: &str, body: String| {
        let path = format!("/sm/v1/scripts/{id}/execute");
        let app = &app;
        let t = t.clone();
        async move { app.car(Method::POST, &path, &t, &body).await }
    };
    let many: Vec<String> = (0..26).map(|i| (30000001 + i).to_string()).collect();
    let many = serde_json::to_string(&many).unwrap();
    let cases: Vec<(&str, String, StatusCode, String)> = vec![
        ("80001", r#"{"testMode": false, "assetIds": ["20452610"]}"#.into(), StatusCode::BAD_REQUEST, "Script is deprecated".into()),
        ("16016", r#"{"testMode": false, "assetIds": ["20452610"]}"#.into(), StatusCode::BAD_REQUEST, "Script is not approved (status PENDING_REVIEW); only approved scripts can be executed".into()),
        ("72648", r#"{"testMode": false, "assetIds": [], "assetTagIds": []}"#.into(), StatusCode::BAD_REQUEST, "Provide assetIds or assetTagIds".into()),
        ("72648", format!(r#"{{"testMode": false, "assetIds": {many}}}"#), StatusCode::BAD_REQUEST, "At most 25 asset ids may be given (got 26)".into()),
        ("72648", format!(r#"{{"testMode": false, "assetTagIds": {many}}}"#), StatusCode::BAD_REQUEST, "At most 25 asset tag ids may be given (got 26)".into()),
        ("72648", format!(r#"{{"testMode": false, "assetIds": ["20452610"], "excludedAssetIds": {many}}}"#), StatusCode::BAD_REQUEST, "At most 25 excluded asset ids may be given (got 26)".into()),
        ("72648", r#"{"testMode": true, "assetIds": ["20452610"]}"#.into(), StatusCode::BAD_REQUEST, "testMode must be false: the API runs scripts in production mode only".into()),
        ("72648", r#"{"assetIds": ["99"]}"#.into(), StatusCode::BAD_REQUEST, "Asset(s) not found: 99".into()),
        ("72648", r#"{"assetTagIds": ["55500001"]}"#.into(), StatusCode::BAD_REQUEST, "Asset tag(s) not found: 55500001".into()),
        ("72648", r#"{"assetIds": [20452610], "excludedAssetIds": "20452610"}"#.into(), StatusCode::BAD_REQUEST, "No assets to execute the script on: the given assets and tags reach none, or all are excluded".into()),
        ("72648", r#"{"assetIds": ["abc"]}"#.into(), StatusCode::BAD_REQUEST, "assetIds must be a list of ids".into()),
        ("4242", r#"{"assetIds": ["20452610"]}"#.into(), StatusCode::NOT_FOUND, "Script not found: 4242".into()),
        ("not-a-number", r#"{"assetIds": ["20452610"]}"#.into(), StatusCode::NOT_FOUND, "Script with id not-a-number not found".into()),
    ];
    for (id, body, status, message) in cases {
        let r = exec(id, body.clone()).await;
        assert_eq!(status_and_message(&r), (status, message), "{id} {body}");
    }
    // 200, then 429 within the interval, with Retry-After and the gateway headers.
    let ok = exec(
        "72648",
        r#"{"testMode": false, "assetTagIds": "119082623", "excludedAssetIds": ["20452610"]}"#
            .into(),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());
    app.state.clock().advance(10_000);
    let r = exec("72648", r#"{"assetIds": ["20452610"]}"#.into()).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.header("retry-after"), Some("50"));
    assert_eq!(r.header("x-ratelimit-limit"), Some("1"));
    assert_eq!(r.header("x-ratelimit-remaining"), Some("0"));
    assert_eq!(r.header("x-ratelimit-towait-sec"), Some("50"));
    app.state.clock().advance(50_000);
    assert_eq!(
        exec("72648", r#"{"assetIds": ["20452610"]}"#.into())
            .await
            .status,
        StatusCode::OK
    );

    // The tag reached its members, less the excluded one.
    let jobs = app
        .car(
            Method::POST,
            "/sm/v1/assetjobs/search",
            &t,
            r#"{"filter": "job.scriptId:72648", "pageSize": 1000}"#,
        )
        .await
        .json();
    let assets: Vec<i64> = jobs["body"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["asset"]["id"].as_i64().unwrap())
        .collect();
    assert!(assets.len() > 10);
    assert_eq!(
        assets.iter().filter(|a| **a == 20452610).count(),
        1,
        "excluded the first time, targeted the second"
    );
}

#[tokio::test]
async fn the_daily_execution_limit_answers_429() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    let mut limits = app.state.limits();
    limits.daily_executions = 2;
    app.state.set_limits(limits);
    for id in ["72648", "16012"] {
        let r = app
            .car(
                Method::POST,
                &format!("/sm/v1/scripts/{id}/execute"),
                &t,
                r#"{"assetIds": ["20452610"]}"#,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let r = app
        .car(
            Method::POST,
            "/sm/v1/scripts/16515/execute",
            &t,
            r#"{"assetIds": ["20452610"]}"#,
        )
        .await;
    assert_eq!(
        status_and_message(&r),
        (
            StatusCode::TOO_MANY_REQUESTS,
            "Maximum of 2 executions per day is reached".into()
        )
    );
    assert_eq!(r.header("x-ratelimit-window-sec"), Some("86400"));
    app.state.clock().advance(86_400_000);
    let t = app.acme().await; // the old token expired meanwhile
    let r = app
        .car(
            Method::POST,
            "/sm/v1/scripts/16515/execute",
            &t,
            r#"{"assetIds": ["20452610"]}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn scheduler_400_404_409() {
    let app = TestApp::new().await;
    app.state.clock().set(ms("2022-05-10T00:00:00Z"));
    let t = app.acme().await;
    let base = json!({
        "activate": true, "assets": [{"UUId": "u", "id": 20452610}], "assetTags": [], "excludedAssets": [],
        "scripts": [{"id": 72648, "title": "Disk Usage Report"}], "title": "Nightly",
        "startDate": "2022-05-11", "endDate": "2022-05-20", "startTime": "02:00:00", "scheduleType": "DAILY"
    });
    let with = |changes: Value| {
        let mut b = base.clone();
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                b.as_object_mut().unwrap().remove(k);
            } else {
                b[k] = v.clone();
            }
        }
        b.to_string()
    };
    let cases: Vec<(String, StatusCode, &str)> = vec![
        (
            with(json!({"assets": []})),
            StatusCode::BAD_REQUEST,
            "Assets or asset tags are required",
        ),
        (
            with(json!({"startDate": "2022-05-01", "endDate": "2022-05-02"})),
            StatusCode::BAD_REQUEST,
            "Based on configured schedule, the given trigger will never fire.",
        ),
        (
            with(
                json!({"scheduleType": "ONE_TIME", "startDate": "2022-05-09", "endDate": "2022-05-09"}),
            ),
            StatusCode::BAD_REQUEST,
            "Based on configured schedule, the given trigger will never fire.",
        ),
        (
            with(
                json!({"scheduleType": "WEEKLY", "daysOfWeek": ["5"], "startDate": "2022-05-11", "endDate": "2022-05-11"}),
            ),
            StatusCode::BAD_REQUEST,
            "Based on configured schedule, the given trigger will never fire.",
        ),
        (
            with(json!({"startDate": null})),
            StatusCode::BAD_REQUEST,
            "StartDate is mandatory (startDate)",
        ),
        (
            with(json!({"endDate": ""})),
            StatusCode::BAD_REQUEST,
            "EndDate is mandatory (endDate)",
        ),
        (
            with(json!({"startTime": null})),
            StatusCode::BAD_REQUEST,
            "StartTime is mandatory (startTime)",
        ),
        (
            with(json!({"startTime": "25:00"})),
            StatusCode::BAD_REQUEST,
            "startTime must be a time like 07:25:00 (got \"25:00\")",
        ),
        (
            with(json!({"scheduleType": "HOURLY"})),
            StatusCode::BAD_REQUEST,
            "hourlyInterval (1 to 23) is required for an HOURLY schedule",
        ),
        (
            with(json!({"scheduleType": "WEEKLY"})),
            StatusCode::BAD_REQUEST,
            "daysOfWeek is required for a WEEKLY schedule",
        ),
        (
            with(json!({"scheduleType": "MONTHLY", "recurrenceMonth": 1})),
            StatusCode::BAD_REQUEST,
            "recurrenceDate (1 to 31) is required for a MONTHLY schedule",
        ),
        (
            with(json!({"scheduleType": "YEARLY"})),
            StatusCode::BAD_REQUEST,
            "scheduleType must be one of ONE_TIME, HOURLY, DAILY, WEEKLY, MONTHLY (got \"YEARLY\")",
        ),
        (
            with(json!({"endDate": "2022-05-01"})),
            StatusCode::BAD_REQUEST,
            "endDate must not be before startDate",
        ),
        (
            with(json!({"title": null})),
            StatusCode::BAD_REQUEST,
            "title is required",
        ),
        (
            with(json!({"scripts": []})),
            StatusCode::BAD_REQUEST,
            "scripts is required: [{\"id\": <SCRIPT ID>, \"title\": \"<SCRIPT TITLE>\"}]",
        ),
        (
            with(json!({"scripts": [{"id": 4242, "title": "?"}]})),
            StatusCode::NOT_FOUND,
            "Script not found: 4242",
        ),
        (with(json!({})), StatusCode::CREATED, ""),
        (
            with(json!({"startDate": "2022-05-12"})),
            StatusCode::CONFLICT,
            "Scheduler with the same title already exists: Nightly",
        ),
    ];
    for (body, status, message) in cases {
        let r = app
            .car(Method::POST, "/sm/v1/scripts/scheduler", &t, &body)
            .await;
        assert_eq!(r.status, status, "{body}: {}", r.text());
        if status != StatusCode::CREATED {
            assert_eq!(r.json()["message"], message, "{body}");
        }
    }
}

#[tokio::test]
async fn asset_jobs_progress_with_the_clock() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    let r = app
        .car(
            Method::POST,
            "/sm/v1/scripts/72648/execute",
            &t,
            r#"{"assetTagIds": [119082623], "assetIds": ["20452610"]}"#,
        )
        .await;
    let correlation = r.json()["body"]["correlationUuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let filter = format!("job.correlationUuid:`{correlation}`");
    let statuses = app.asset_job_statuses(&t, &filter).await;
    assert!(
        statuses.len() > 5 && statuses.iter().all(|s| s == "QUEUED"),
        "{statuses:?}"
    );
    app.state.clock().advance(5_000);
    assert!(
        app.asset_job_statuses(&t, &filter)
            .await
            .iter()
            .all(|s| s == "IN_PROGRESS")
    );
    app.state.clock().advance(30_000);
    assert!(
        app.asset_job_statuses(&t, &filter)
            .await
            .iter()
            .all(|s| s == "SUCCESS")
    );
    let body = json!({"filter": filter, "includeScriptResult": true}).to_string();
    let v = app
        .car(Method::POST, "/sm/v1/assetjobs/search", &t, &body)
        .await
        .json();
    let aj = &v["body"]["list"][0];
    assert_eq!(aj["output"], json!({"code": 0, "text": "SUCCESS"}));
    use base64::Engine as _;
    let result = base64::engine::general_purpose::STANDARD
        .decode(aj["scriptResult"].as_str().unwrap())
        .unwrap();
    let result = String::from_utf8(result).unwrap();
    assert!(
        result.starts_with("Disk Usage Report on ") && result.ends_with("exit code 0\n"),
        "{result}"
    );
    assert!(aj["enddate"].is_string());
    // The script's last execution and the activity log follow.
    let script = app
        .car(Method::GET, "/sm/v1/scripts/72648", &t, "")
        .await
        .json();
    assert_eq!(
        script["body"]["lastExecutedDateTime"],
        crate::helpers::T0_MS
    );
    let acts = app
        .car(
            Method::POST,
            "/sm/v1/scripts/activities",
            &t,
            r#"{"qql": "action:EXECUTE AND targetId:72648", "sort": [{"createdDate": "desc"}]}"#,
        )
        .await
        .json();
    let latest = &acts["auditRecords"][0];
    assert_eq!(
        (latest["createdDate"].as_i64(), latest["userName"].as_str()),
        (Some(crate::helpers::T0_MS), Some("acme_ss2"))
    );
}

#[tokio::test]
async fn schedules_fire_on_the_clock() {
    let app = &TestApp::new().await;
    app.state.clock().set(ms("2022-05-10T00:00:00Z"));
    let t = app.acme().await;
    let schedule_id = app
        .create_hourly_schedule(&t, "Every six hours", "2022-05-11", 6)
        .await;
    assert!(app.schedule_firing_times(&t, &schedule_id).await.is_empty());
    app.state.clock().set(ms("2022-05-11T07:00:00Z"));
    let t = app.acme().await;
    let fired = app.schedule_firing_times(&t, &schedule_id).await;
    assert_eq!(
        fired,
        vec![ms("2022-05-11T01:00:00Z"), ms("2022-05-11T07:00:00Z")]
    );
    app.state.clock().set(ms("2022-05-30T00:00:00Z"));
    let t = app.acme().await;
    assert_eq!(
        app.schedule_firing_times(&t, &schedule_id).await.len(),
        4,
        "01, 07, 13, 19 o'clock, then the end date"
    );
    let script = app
        .car(Method::GET, "/sm/v1/scripts/72648", &t, "")
        .await
        .json();
    assert_eq!(
        script["body"]["lastExecutedDateTime"],
        ms("2022-05-11T19:00:00Z")
    );
    let statuses = app.asset_job_statuses(&t, "job.scriptId:72648").await;
    assert!(statuses.iter().all(|s| s == "SUCCESS"));
    // An inactive schedule never fires.
    let inactive = json!({
        "activate": false, "assets": [{"UUId": "u", "id": 20452610}], "scripts": [{"id": 72648, "title": "Disk Usage Report"}],
        "title": "Off", "startDate": "2022-06-01", "endDate": "2022-06-01", "startTime": "01:00:00",
        "scheduleType": "HOURLY", "hourlyInterval": 6
    });
    let r = app
        .car(
            Method::POST,
            "/sm/v1/scripts/scheduler",
            &t,
            &inactive.to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    app.state.clock().set(ms("2022-06-02T00:00:00Z"));
    let t = app.acme().await;
    let acts = app
        .car(
            Method::POST,
            "/sm/v1/jobs/search",
            &t,
            r#"{"filter": "executionType:Scheduled AND created.dateTime > 2022-05-31"}"#,
        )
        .await
        .json();
    assert_eq!(acts["body"]["totalCount"], 0);
}

#[tokio::test]
async fn failing_scripts_fail_deterministically() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    let export = app
        .car(Method::GET, "/sm/v1/scripts/export?ids=72648", &t, "")
        .await
        .json();
    let mut script = export[0].clone();
    use base64::Engine as _;
    script["title"] = json!("Always fails");
    script["content"] = json!(
        base64::engine::general_purpose::STANDARD.encode("#!/bin/sh\n# qualys-mock:fail\nexit 1\n")
    );
    let r = app
        .upload(
            "/sm/v1/scripts/import",
            &t,
            "file",
            json!([script]).to_string().as_bytes(),
        )
        .await;
    let id = r.json()["ImportedIds"][0].as_str().unwrap().to_owned();
    // Imported scripts need approval before they run.
    let r = app
        .car(
            Method::POST,
            &format!("/sm/v1/scripts/{id}/execute"),
            &t,
            r#"{"assetIds": ["20452610"]}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_simultaneous_executes_make_one_job() {
    let app = Arc::new(TestApp::new().await);
    let t = app.acme().await;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (app, t) = (Arc::clone(&app), t.clone());
        set.spawn(async move {
            app.car(
                Method::POST,
                "/sm/v1/scripts/72648/execute",
                &t,
                r#"{"assetIds": ["20452610"]}"#,
            )
            .await
            .status
        });
    }
    let statuses: Vec<StatusCode> = set.join_all().await;
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count(),
        19
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_simultaneous_imports_of_one_title_store_one() {
    let app = Arc::new(TestApp::new().await);
    let t = app.acme().await;
    let mut export = app
        .car(Method::GET, "/sm/v1/scripts/export?ids=72648", &t, "")
        .await
        .json();
    export[0]["title"] = json!("Raced title");
    let file = export.to_string();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (app, t, file) = (Arc::clone(&app), t.clone(), file.clone());
        set.spawn(async move {
            app.upload("/sm/v1/scripts/import", &t, "file", file.as_bytes())
                .await
                .status
        });
    }
    let statuses: Vec<StatusCode> = set.join_all().await;
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count(),
        19
    );
    let found = app
        .car(
            Method::POST,
            "/sm/v1/scripts/search",
            &t,
            r#"{"filter": "title:`Raced title`"}"#,
        )
        .await
        .json();
    assert_eq!(found["body"]["totalCount"], 1);
}

#[tokio::test]
async fn globex_never_sees_or_touches_acme() {
    let app = TestApp::new().await;
    let g = app.globex().await;
    let not_found = [
        (Method::GET, "/sm/v1/scripts/16012", ""),
        (Method::GET, "/sm/v1/scripts/Collect%20OS%20Inventory", ""),
        (Method::GET, "/sm/v1/scripts/export?ids=16515", ""),
        (
            Method::POST,
            "/sm/v1/scripts/72652/clone",
            r#"{"scriptTitle": "Stolen"}"#,
        ),
        (
            Method::POST,
            "/sm/v1/scripts/72648/execute",
            r#"{"assetIds": ["20452610"]}"#,
        ),
    ];
    for (method, path, body) in not_found {
        let r = app.car(method.clone(), path, &g, body).await;
        assert_eq!(
            r.status,
            StatusCode::NOT_FOUND,
            "{method} {path}: {}",
            r.text()
        );
    }
    let sched = json!({"activate": true, "assets": [{"id": 40000001}], "scripts": [{"id": 72648}], "title": "x",
        "startDate": "2030-01-01", "endDate": "2030-01-02", "startTime": "01:00:00", "scheduleType": "DAILY"});
    let r = app
        .car(
            Method::POST,
            "/sm/v1/scripts/scheduler",
            &g,
            &sched.to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Globex's own script on Acme's asset: refused, nothing created.
    let r = app
        .car(
            Method::POST,
            "/sm/v1/scripts/95001/execute",
            &g,
            r#"{"assetIds": ["20452610"]}"#,
        )
        .await;
    assert_eq!(
        status_and_message(&r),
        (
            StatusCode::BAD_REQUEST,
            "Asset(s) not found: 20452610".into()
        )
    );

    for (path, expected) in [
        ("/sm/v1/scripts/search", 2),
        ("/sm/v1/assets/search", 6),
        ("/sm/v1/assettags/search", 2),
        ("/sm/v1/jobs/search", 1),
        ("/sm/v1/assetjobs/search", 1),
    ] {
        let v = app
            .car(Method::POST, path, &g, r#"{"pageSize": 1000}"#)
            .await
            .json();
        assert_eq!(v["body"]["totalCount"], expected, "{path}");
        let customer = v["body"]["list"][0]["customerUuid"]
            .as_str()
            .or(v["body"]["list"][0]["data"]["customerUuid"].as_str());
        assert_eq!(
            customer,
            Some("8c5e1f0a-2b7d-4c3e-9a41-6f0d2e7b9c10"),
            "{path}"
        );
    }
    let v = app
        .car(
            Method::POST,
            "/sm/v1/scripts/activities",
            &g,
            r#"{"pageSize": 1000}"#,
        )
        .await
        .json();
    assert!(
        v["auditRecords"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["customerUuid"] == "8c5e1f0a-2b7d-4c3e-9a41-6f0d2e7b9c10")
    );
    assert!(v["totalCount"].as_u64().unwrap() >= 2);
}

#[tokio::test]
async fn qql_through_http() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    let count = |filter: &'static str| script_count(&app, &t, filter);
    let all = count("").await;
    let approved = count("status:APPROVED").await;
    assert_eq!(
        count("status:approved").await,
        approved,
        "keywords are case-insensitive"
    );
    assert_eq!(count("NOT status:APPROVED").await, all - approved);
    assert_eq!(
        count("status:[APPROVED, REJECTED]").await,
        approved + count("status:REJECTED").await
    );
    assert_eq!(
        count("status:\"Pending Review\"").await,
        count("status:PENDING_REVIEW").await
    );
    assert_eq!(
        count("title:\"restart print\"").await,
        1,
        "prefix-of-token, case-insensitive"
    );
    assert_eq!(count("title:print spool").await, 1);
    assert_eq!(
        count("title:restart spool").await,
        0,
        "a phrase: its words stand together"
    );
    assert_eq!(count("title:`Restart Print Spooler`").await, 1);
    assert_eq!(
        count("title:`restart print spooler`").await,
        0,
        "backticks are exact"
    );
    assert_eq!(
        count("severity:[1 .. 2]").await,
        count("severity:1 OR severity:2").await
    );
    assert_eq!(
        count("severity:(1 .. 3)").await,
        count("severity = 2").await
    );
    assert_eq!(count("severity > 3").await, count("severity >= 4").await);
    assert_eq!(
        count("platform:LINUX AND (category.name:backup OR type.name:Shell)").await,
        count("platform:LINUX AND (category.id:1 OR type.id:2)").await
    );
    assert!(count("created.dateTime:[2022-05-01 ... 2022-05-31]").await > 0);
    assert_eq!(count("created.dateTime > now").await, 0);
    let r = app
        .car(
            Method::POST,
            "/sm/v1/scripts/search",
            &t,
            r#"{"filter": "severity:[1, 2"}"#,
        )
        .await;
    assert_eq!(
        status_and_message(&r),
        (
            StatusCode::BAD_REQUEST,
            "Invalid filter: expected ',' or ']' in a list (at position 14)".into()
        )
    );
    let r = app
        .car(
            Method::POST,
            "/sm/v1/jobs/search",
            &t,
            r#"{"filter": "status:SUCCESS"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.json()["message"].as_str().unwrap().starts_with(
        "Invalid filter: unknown field 'status' (at position 0); fields: id, scriptId"
    ));
    // Sorting, descending.
    let v = app
        .car(
            Method::POST,
            "/sm/v1/jobs/search",
            &t,
            r#"{"sort": "[{\"created.dateTime\":\"desc\"}]", "pageSize": 50}"#,
        )
        .await
        .json();
    let times: Vec<i64> = v["body"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["created"]["dateTime"].as_i64().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted);
}

async fn script_count(app: &TestApp, t: &str, filter: &str) -> u64 {
    let body = json!({"filter": filter, "pageSize": 1}).to_string();
    let r = app
        .car(Method::POST, "/sm/v1/scripts/search", t, &body)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{filter}: {}", r.text());
    r.json()["body"]["totalCount"].as_u64().unwrap()
}

/// The misfire policy: a clock jump over many firings fires the first ten of them and skips
/// the rest, so one control call cannot create millions of jobs (3 years of an hourly
/// schedule made 26,336 jobs and 1.5 million asset jobs before).
#[tokio::test]
async fn a_long_clock_jump_fires_at_most_ten_missed_firings_per_schedule() {
    let app = &TestApp::new().await;
    app.state.clock().set(ms("2022-05-10T00:00:00Z"));
    let t = app.acme().await;
    let schedule_id = app
        .create_hourly_schedule(&t, "Every hour for years", "2030-12-31", 1)
        .await;
    let r = app
        .control(Method::POST, "/_mock/clock", json!({"advance": "1095d"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let t = app.acme().await;
    let fired = app.schedule_firing_times(&t, &schedule_id).await;
    let first: Vec<i64> = (0..10)
        .map(|h| ms("2022-05-11T01:00:00Z") + h * 3_600_000)
        .collect();
    assert_eq!(
        fired, first,
        "the first ten missed firings, each at its time"
    );
    // It goes on from the new time: an hour later it fires once more.
    app.control(Method::POST, "/_mock/clock", json!({"advance": "1h"}))
        .await;
    let t = app.acme().await;
    assert_eq!(app.schedule_firing_times(&t, &schedule_id).await.len(), 11);
}

/// With no execute interval, concurrent executions of one script all run: the time is read
/// once a request holds the store, so waiting for it never looks like "too soon" (1 or 2 of
/// 50 got 429 before).
#[tokio::test]
async fn concurrent_executions_with_no_interval_are_never_too_soon() {
    let app = TestApp::new().await;
    let r = app
        .control(
            Method::PUT,
            "/_mock/config",
            json!({"executeIntervalMs": 0}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    app.state.clock().resume();
    let t = app.acme().await;
    let body = r#"{"testMode": false, "assetIds": ["20452610"], "assetTagIds": [], "excludedAssetIds": []}"#;
    let calls: Vec<_> = (0..50)
        .map(|_| {
            let (app, t) = (app.clone(), t.clone());
            tokio::spawn(async move {
                app.car(Method::POST, "/sm/v1/scripts/72648/execute", &t, body)
                    .await
                    .status
            })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap(), StatusCode::OK);
    }
}
