//! The CAR API as clients call it today, beyond the v1.0.0 guide: script create (`POST
//! /sm/v5/script`, `POST /sm/v4/script`) and update (`PATCH /sm/v4/script/{id}`), their
//! lookups, the retired create and update routes, and the 2025 scheduler APIs.

use axum::http::{Method, StatusCode};
use base64::Engine as _;
use serde_json::{Value, json};

use crate::helpers::{ACME_APPROVED_SCRIPT, ACME_ASSET, TestApp, TestResponse, ms};

const V5: &str = "application/vnd.qualys.car.api.v5.0+json";
const V4: &str = "application/vnd.qualys.car.api.v4.0+json";

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// A CAR call sending and asking for the vendor's versioned media type.
async fn versioned(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    media: &str,
    body: &Value,
) -> TestResponse {
    let auth = format!("Bearer {token}");
    app.request(
        method,
        path,
        &[
            ("authorization", &auth),
            ("content-type", media),
            ("accept", media),
        ],
        body.to_string(),
    )
    .await
}

/// Create a script through v5 (approved on creation when `approve`); its id.
async fn create_v5(app: &TestApp, t: &str, title: &str, content: &str, approve: bool) -> i64 {
    let body = json!({
        "title": title, "typeId": 1, "languageId": 2, "categoryId": 5,
        "description": "made by the create API", "content": b64(content),
        "scriptApprovalUserConsent": approve
    });
    let r = versioned(app, Method::POST, "/sm/v5/script", t, V5, &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let v = r.json();
    assert_eq!(
        (v["errorCode"].as_str(), v["message"].as_str()),
        (Some("0"), Some("Script created successfully"))
    );
    v["body"]["id"].as_i64().expect("a numeric id")
}

async fn post(app: &TestApp, path: &str, t: &str, body: Value) -> TestResponse {
    app.car(Method::POST, path, t, &body.to_string()).await
}

async fn get(app: &TestApp, path: &str, t: &str) -> TestResponse {
    app.car(Method::GET, path, t, "").await
}

/// A script as `GET /sm/v1/scripts/{id}` shows it (the answer's `body`).
async fn script_body(app: &TestApp, t: &str, id: i64) -> Value {
    get(app, &format!("/sm/v1/scripts/{id}"), t).await.json()["body"].clone()
}

/// `PATCH /sm/v4/script/{id}` with `changes` as the JSON body.
async fn update_script(
    app: &TestApp,
    t: &str,
    id: impl std::fmt::Display,
    changes: Value,
) -> TestResponse {
    app.car(
        Method::PATCH,
        &format!("/sm/v4/script/{id}"),
        t,
        &changes.to_string(),
    )
    .await
}

/// Run a script for real (not in test mode) on [`ACME_ASSET`].
async fn execute_on_asset(app: &TestApp, t: &str, id: i64) -> TestResponse {
    post(
        app,
        &format!("/sm/v1/scripts/{id}/execute"),
        t,
        json!({"testMode": false, "assetIds": [ACME_ASSET.to_string()]}),
    )
    .await
}

/// `POST /sm/v1/scripts/search`; the answer's JSON.
async fn search_scripts(app: &TestApp, t: &str, body: Value) -> Value {
    post(app, "/sm/v1/scripts/search", t, body).await.json()
}

/// The audit actions logged for a target id, oldest first.
async fn actions(app: &TestApp, t: &str, target_id: i64) -> Vec<(String, Option<String>)> {
    let v = post(
        app,
        "/sm/v1/scripts/activities",
        t,
        json!({"qql": format!("targetId:{target_id}"), "pageSize": 100, "sort": [{"createdDate": "asc"}]}),
    )
    .await
    .json();
    v["auditRecords"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["action"].as_str().unwrap().to_owned(),
                a["auditComment"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

fn assert_error(r: &TestResponse, status: StatusCode, message: &str, what: &str) {
    assert_eq!(r.status, status, "{what}: {}", r.text());
    let v = r.json();
    assert_eq!(v["message"], message, "{what}");
    assert_eq!(v["errorCode"], status.as_u16().to_string(), "{what}");
    assert!(v["body"].is_null(), "{what}");
}

#[tokio::test]
async fn a_v5_script_is_seen_by_search_get_export_clone_execute_schedule_and_the_log() {
    let app = &TestApp::new().await;
    let t = app.acme().await;
    let id = create_v5(app, &t, "Rotate web logs", "echo rotate", true).await;

    let got = get(app, &format!("/sm/v1/scripts/{id}"), &t).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text());
    let s = &got.json()["body"];
    assert_eq!(s["id"], id.to_string());
    assert_eq!(s["title"], "Rotate web logs");
    assert_eq!(s["description"], "made by the create API");
    assert_eq!(s["scriptStatus"], "APPROVED");
    assert_eq!(s["approverName"], s["created"]["user"]["name"]);
    assert_eq!(s["type"], json!({"id": 2, "name": "Shell"}));
    assert_eq!(s["platform"], "LINUX");
    assert_eq!(
        s["category"],
        json!({"id": 5, "name": "System Administration"})
    );
    assert_eq!(s["content"], b64("echo rotate"));
    assert_eq!(s["created"]["dateTime"], crate::helpers::T0_MS);
    // By title too, as every script.
    let by_title = get(app, "/sm/v1/scripts/Rotate%20web%20logs", &t).await;
    assert_eq!(by_title.json()["body"]["id"], id.to_string());

    let found = search_scripts(
        app,
        &t,
        json!({"filter": "title:\"Rotate web logs\" AND status:APPROVED AND type.name:Shell"}),
    )
    .await;
    assert_eq!(found["body"]["totalCount"], 1, "{found}");
    assert_eq!(found["body"]["list"][0]["id"], id.to_string());

    let export = get(app, &format!("/sm/v1/scripts/export?ids={id}"), &t).await;
    assert_eq!(export.status, StatusCode::OK, "{}", export.text());
    assert_eq!(export.json()[0]["id"], id);
    assert_eq!(export.json()[0]["content"], b64("echo rotate"));

    let clone = post(
        app,
        &format!("/sm/v1/scripts/{id}/clone"),
        &t,
        json!({"scriptTitle": "Rotate web logs (copy)"}),
    )
    .await;
    assert_eq!(clone.status, StatusCode::CREATED, "{}", clone.text());

    let run = execute_on_asset(app, &t, id).await;
    assert_eq!(run.status, StatusCode::OK, "{}", run.text());
    let correlation = run.json()["body"]["correlationUuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let jobs = post(
        app,
        "/sm/v1/jobs/search",
        &t,
        json!({"filter": format!("correlationUuid:{correlation}")}),
    )
    .await
    .json();
    assert_eq!(jobs["body"]["list"][0]["scriptId"], id, "{jobs}");

    app.create_schedule(
        &t,
        json!({
            "activate": true, "assets": [{"UUId": "u", "id": ACME_ASSET}], "scripts": [{"id": id, "title": "Rotate web logs"}],
            "title": "Nightly log rotation", "startDate": "2024-01-02", "endDate": "2024-01-09",
            "startTime": "02:00:00", "scheduleType": "DAILY"
        }),
    )
    .await;

    let logged = actions(app, &t, id).await;
    let names: Vec<&str> = logged.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(names, ["CREATE", "APPROVE", "EXECUTE"], "{logged:?}");
}

#[tokio::test]
async fn a_v4_script_awaits_review_until_approved_and_takes_the_v4_fields() {
    let app = &TestApp::new().await;
    let t = app.acme().await;
    // The vendor's own v4 sample sends severity as a string.
    let body = json!({
        "title": "Check spooler", "description": "v4", "categoryId": 1, "platform": "WINDOWS",
        "severity": "4", "threshold": 120, "languageId": 4, "content": b64("Get-Service Spooler"),
        "gitHubAutoSync": false
    });
    let r = versioned(app, Method::POST, "/sm/v4/script", &t, V4, &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["body"]["id"].as_i64().unwrap();
    let s = script_body(app, &t, id).await;
    assert_eq!(
        (
            &s["scriptStatus"],
            &s["severity"],
            &s["threshold"],
            &s["platform"]
        ),
        (
            &json!("PENDING_REVIEW"),
            &json!(4),
            &json!(120),
            &json!("WINDOWS")
        )
    );
    assert_eq!(s["type"], json!({"id": 4, "name": "Powershell"}));
    assert_eq!(s["category"], json!({"id": 1, "name": "Data Backup"}));
    assert!(s["approverName"].is_null());
    let run = execute_on_asset(app, &t, id).await;
    assert_error(
        &run,
        StatusCode::BAD_REQUEST,
        "Script is not approved (status PENDING_REVIEW); only approved scripts can be executed",
        "execute before approval",
    );
    // Approval by consent on update.
    let r = update_script(app, &t, id, json!({"scriptApprovalUserConsent": true})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let run = execute_on_asset(app, &t, id).await;
    assert_eq!(run.status, StatusCode::OK, "{}", run.text());
    // A search sent with the versioned media type sees it.
    let found = versioned(
        app,
        Method::POST,
        "/sm/v1/scripts/search",
        &t,
        V4,
        &json!({"filter": format!("id:{id}")}),
    )
    .await;
    assert_eq!(found.json()["body"]["list"][0]["status"], "APPROVED");
}

#[tokio::test]
async fn an_update_shows_in_get_and_export_and_is_logged() {
    let app = &TestApp::new().await;
    let t = app.acme().await;
    let id = create_v5(app, &t, "Disk report", "df -h", true).await;
    app.state.clock().set(crate::helpers::T0_MS + 60_000);
    let t = app.acme().await;
    // Metadata alone keeps the approval.
    let r = versioned(
        app,
        Method::PATCH,
        &format!("/sm/v4/script/{id}"),
        &t,
        V4,
        &json!({"categoryId": 2, "description": "weekly", "severity": 5}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    assert_eq!(
        (&v["errorCode"], &v["message"], &v["body"]["id"]),
        (
            &json!("0"),
            &json!("Script updated successfully"),
            &json!(id)
        )
    );
    let s = script_body(app, &t, id).await;
    assert_eq!(
        (&s["scriptStatus"], &s["description"], &s["severity"]),
        (&json!("APPROVED"), &json!("weekly"), &json!(5))
    );
    assert_eq!(s["category"], json!({"id": 2, "name": "Compliance"}));
    assert_eq!(s["updated"]["dateTime"], crate::helpers::T0_MS + 60_000);
    // New content, with the consent comment: review again.
    let r = update_script(
        app,
        &t,
        id,
        json!({"content": b64("df -h /var"), "comment": "narrow to /var"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let s = script_body(app, &t, id).await;
    assert_eq!(s["content"], b64("df -h /var"));
    assert_eq!(s["scriptStatus"], "PENDING_REVIEW");
    let export = get(app, &format!("/sm/v1/scripts/export?ids={id}"), &t).await;
    assert_eq!(export.status, StatusCode::OK, "{}", export.text());
    assert_eq!(export.json()[0]["content"], b64("df -h /var"));
    assert_eq!(export.json()[0]["category"]["id"], 2);
    // The same content again is no change of content: no comment needed.
    let r = update_script(app, &t, id, json!({"content": b64("df -h /var")})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let logged = actions(app, &t, id).await;
    assert_eq!(
        logged,
        vec![
            ("CREATE".to_owned(), None),
            (
                "APPROVE".to_owned(),
                Some("scriptApprovalUserConsent".to_owned())
            ),
            ("MODIFY".to_owned(), None),
            ("MODIFY".to_owned(), Some("narrow to /var".to_owned())),
            ("MODIFY".to_owned(), None),
        ]
    );
}

#[tokio::test]
async fn every_documented_refusal_of_create_and_update() {
    let app = &TestApp::new().await;
    let t = app.acme().await;
    let ok = json!({"title": "Fine", "typeId": 1, "languageId": 1, "content": b64("print(1)")});
    let with = |changes: Value| {
        let mut b = ok.clone();
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                b.as_object_mut().unwrap().remove(k);
            } else {
                b[k] = v.clone();
            }
        }
        b
    };
    let big = b64(&"x".repeat(500 * 1024 + 1));
    let v5 = [
        (json!({"title": null}), "Script title is required"),
        (json!({"title": "  "}), "Script title is required"),
        (
            json!({"typeId": null}),
            "typeId is required; GET /sm/v1/script-types lists the script types",
        ),
        (
            json!({"typeId": 99}),
            "Invalid typeId 99; GET /sm/v1/script-types lists the script types",
        ),
        (json!({"typeId": "one"}), "typeId must be a whole number"),
        (
            json!({"languageId": null}),
            "languageId is required; GET /sm/v1/script-language lists the script languages",
        ),
        (
            json!({"languageId": 42}),
            "Invalid languageId 42; GET /sm/v1/script-language lists the script languages",
        ),
        (
            json!({"categoryId": 99}),
            "Invalid categoryId 99; categories: 1 (Data Backup), 2 (Compliance), 3 (Software Management), 4 (Security Hardening), 5 (System Administration), 6 (General Automation), 7 (Incident Response)",
        ),
        (
            json!({"content": "not base64!"}),
            "content must be the script encoded in base64",
        ),
        (
            json!({"content": null}),
            "content (the script in base64) is required, or the GitHub parameters to pull it from: githubInputUrl, or gitHubUser, gitHubRepo, gitHubFilePath and gitHubBranch",
        ),
        (
            json!({"content": null, "gitHubUser": "octo", "gitHubRepo": "scripts"}),
            "GitHub parameters incomplete: gitHubFilePath, gitHubBranch required (or githubInputUrl)",
        ),
        (
            json!({"content": big}),
            "Script content is 512001 bytes; a script is at most 500 KB (512000 bytes)",
        ),
        (json!({"severity": 6}), "severity must be 1 to 5"),
        (
            json!({"scriptApprovalUserConsent": "maybe"}),
            "scriptApprovalUserConsent must be true or false",
        ),
    ];
    for (change, message) in v5 {
        let r = post(app, "/sm/v5/script", &t, with(change.clone())).await;
        assert_error(&r, StatusCode::BAD_REQUEST, message, &change.to_string());
    }
    let v4 = [
        (
            json!({"typeId": null, "severity": 3}),
            "platform is required; platforms: WINDOWS, LINUX, MAC, AIX, SOLARIS, UNIX",
        ),
        (
            json!({"typeId": null, "platform": "LINUX"}),
            "severity is required (1 to 5)",
        ),
        (
            json!({"typeId": null, "platform": "BEOS", "severity": 3}),
            "Invalid platform \"BEOS\"; platforms: WINDOWS, LINUX, MAC, AIX, SOLARIS, UNIX",
        ),
    ];
    for (change, message) in v4 {
        let r = post(app, "/sm/v4/script", &t, with(change.clone())).await;
        assert_error(&r, StatusCode::BAD_REQUEST, message, &change.to_string());
    }
    // A script from GitHub alone is created (the emulator does not reach GitHub: no content).
    let r = post(
        app,
        "/sm/v5/script",
        &t,
        with(json!({"title": "From GitHub", "content": null,
            "githubInputUrl": "https://github.com/octo/scripts/blob/main/check.py"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    // A taken title.
    assert_eq!(
        post(app, "/sm/v5/script", &t, ok.clone()).await.status,
        StatusCode::CREATED
    );
    assert_error(
        &post(app, "/sm/v5/script", &t, ok.clone()).await,
        StatusCode::CONFLICT,
        "Script with the same title already exists: Fine",
        "duplicate",
    );
    // The script limit (5,000 by default).
    let count = search_scripts(app, &t, json!({})).await["body"]["totalCount"]
        .as_u64()
        .unwrap();
    let mut limits = app.state.limits();
    assert_eq!(limits.script_limit, 5_000);
    limits.script_limit = count;
    app.state.set_limits(limits);
    let r = post(
        app,
        "/sm/v5/script",
        &t,
        with(json!({"title": "One too many"})),
    )
    .await;
    assert_error(
        &r,
        StatusCode::TOO_MANY_REQUESTS,
        &format!("Maximum script creation limit ({count}) is reached"),
        "limit",
    );
    limits.script_limit = 5_000;
    app.state.set_limits(limits);
    // A body that is not a JSON object.
    assert_error(
        &app.car(Method::POST, "/sm/v5/script", &t, "[1]").await,
        StatusCode::BAD_REQUEST,
        "The request body must be a JSON object",
        "array body",
    );
    // No token: the gateway's 401.
    let r = app
        .request(
            Method::POST,
            "/sm/v5/script",
            &[("content-type", V5)],
            ok.to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["error"], "Unauthorized");

    // Update.
    let id = create_v5(app, &t, "To change", "echo 1", true).await;
    assert_error(
        &update_script(app, &t, id, json!({"content": b64("echo 2")})).await,
        StatusCode::BAD_REQUEST,
        "comment is required when the script content changes (the consent comment)",
        "no comment",
    );
    assert_error(
        &update_script(
            app,
            &t,
            id,
            json!({"content": b64("echo 2"), "comment": "  "}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "comment is required when the script content changes (the consent comment)",
        "blank comment",
    );
    assert_error(
        &update_script(app, &t, id, json!({"categoryId": 0})).await,
        StatusCode::BAD_REQUEST,
        "Invalid categoryId 0; categories: 1 (Data Backup), 2 (Compliance), 3 (Software Management), 4 (Security Hardening), 5 (System Administration), 6 (General Automation), 7 (Incident Response)",
        "bad category",
    );
    assert_error(
        &update_script(app, &t, id, json!({"content": "%%"})).await,
        StatusCode::BAD_REQUEST,
        "content must be the script encoded in base64",
        "update content",
    );
    assert_error(
        &update_script(app, &t, id, json!({"title": "Fine"})).await,
        StatusCode::CONFLICT,
        "Script with the same title already exists: Fine",
        "update to a taken title",
    );
    for missing in ["999999", "not-a-number", "Fine"] {
        assert_error(
            &update_script(app, &t, missing, json!({"description": "x"})).await,
            StatusCode::NOT_FOUND,
            &format!("Script with id {missing} not found"),
            missing,
        );
    }
    // Nothing refused changed anything.
    let s = script_body(app, &t, id).await;
    assert_eq!(
        (&s["content"], &s["scriptStatus"]),
        (&json!(b64("echo 1")), &json!("APPROVED"))
    );
}

#[tokio::test]
async fn the_retired_create_and_update_routes_answer_410_naming_their_replacement() {
    let app = &TestApp::new().await;
    let t = app.acme().await;
    let body = json!({"title": "Old client", "content": b64("x")}).to_string();
    for version in ["v1", "v2", "v3"] {
        let r = app
            .car(Method::POST, &format!("/sm/{version}/script"), &t, &body)
            .await;
        assert_error(
            &r,
            StatusCode::GONE,
            &format!(
                "POST /sm/{version}/script is retired; create scripts with POST /sm/v5/script"
            ),
            version,
        );
        let r = app
            .car(
                Method::PATCH,
                &format!("/sm/{version}/script/16012"),
                &t,
                &body,
            )
            .await;
        assert_error(
            &r,
            StatusCode::GONE,
            &format!(
                "PATCH /sm/{version}/script/16012 is retired; update scripts with PATCH /sm/v4/script/{{id}}"
            ),
            version,
        );
    }
    // As every gateway route: authentication first.
    let r = app
        .request(Method::POST, "/sm/v1/script", &[], body.clone())
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Nothing was created.
    let found = search_scripts(app, &t, json!({"filter": "title:\"Old client\""})).await;
    assert_eq!(found["body"]["totalCount"], 0);
}

#[tokio::test]
async fn the_lookups_list_exactly_the_ids_create_takes() {
    let app = &TestApp::new().await;
    let t = app.acme().await;
    let types = get(app, "/sm/v1/script-types", &t).await;
    assert_eq!(types.status, StatusCode::OK, "{}", types.text());
    assert_eq!(
        types.json()["body"],
        json!([
            {"id": 1, "name": "Custom Script"}, {"id": 2, "name": "Custom QID Script"},
            {"id": 3, "name": "Custom Parameterized Script"}, {"id": 4, "name": "Custom Parameterized QID Script"}
        ])
    );
    let languages = get(app, "/sm/v1/script-language", &t).await;
    assert_eq!(languages.status, StatusCode::OK);
    let languages = languages.json()["body"].as_array().unwrap().clone();
    let names: Vec<&str> = languages
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["Python", "Shell", "Lua", "Powershell", "VBScript", "Perl"]
    );
    for ty in types.json()["body"].as_array().unwrap() {
        for language in &languages {
            let title = format!("{} in {}", ty["name"], language["name"]);
            let r = post(
                app,
                "/sm/v5/script",
                &t,
                json!({"title": title, "typeId": ty["id"], "languageId": language["id"], "content": b64("x")}),
            )
            .await;
            assert_eq!(r.status, StatusCode::CREATED, "{title}: {}", r.text());
            let id = r.json()["body"]["id"].as_i64().unwrap();
            let s = script_body(app, &t, id).await;
            assert_eq!(s["type"]["name"], language["name"]);
        }
    }
    assert_eq!(
        app.request(Method::GET, "/sm/v1/script-types", &[], "")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_customer_never_sees_another_customers_new_script() {
    let app = &TestApp::new().await;
    let acme = app.acme().await;
    let globex = app.globex().await;
    let id = create_v5(app, &acme, "Acme only", "echo acme", true).await;
    let r = get(app, &format!("/sm/v1/scripts/{id}"), &globex).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = get(app, "/sm/v1/scripts/Acme%20only", &globex).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let found = search_scripts(
        app,
        &globex,
        json!({"filter": format!("id:{id} OR title:\"Acme only\"")}),
    )
    .await;
    assert_eq!(found["body"]["totalCount"], 0);
    let r = get(app, &format!("/sm/v1/scripts/export?ids={id}"), &globex).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = update_script(app, &globex, id, json!({"description": "mine now"})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = post(
        app,
        &format!("/sm/v1/scripts/{id}/clone"),
        &globex,
        json!({"scriptTitle": "Stolen"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = execute_on_asset(app, &globex, id).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(actions(app, &globex, id).await.is_empty());
    // The same title is free for the other customer.
    create_v5(app, &globex, "Acme only", "echo globex", false).await;
    let s = script_body(app, &acme, id).await;
    assert_eq!(s["content"], b64("echo acme"));
    assert_eq!(s["description"], "made by the create API");
}

// --- the scheduler APIs ------------------------------------------------------------------

/// A schedule as `GET /sm/v1/scheduler/{id}` shows it (the answer's `body`).
async fn schedule_body(app: &TestApp, t: &str, id: &str) -> Value {
    get(app, &format!("/sm/v1/scheduler/{id}"), t).await.json()["body"].clone()
}

/// Turn a schedule on or off: `switch` is `activate` or `deactivate`.
async fn switch_schedule(app: &TestApp, t: &str, id: &str, switch: &str) -> TestResponse {
    post(
        app,
        &format!("/sm/v1/scheduler/{id}/{switch}"),
        t,
        json!({}),
    )
    .await
}

async fn search_schedules(app: &TestApp, t: &str, body: Value) -> TestResponse {
    post(app, "/sm/v1/scheduler/search", t, body).await
}

/// Move the clock; a fresh token (the old one may have expired).
async fn at(app: &TestApp, iso: &str) -> String {
    app.state.clock().set(ms(iso));
    app.acme().await
}

#[tokio::test]
async fn a_schedule_lives_through_search_get_deactivate_activate_update_and_delete() {
    let app = &TestApp::new().await;
    let t = at(app, "2022-05-10T00:00:00Z").await;
    let id = app
        .create_hourly_schedule(&t, "Every six hours", "2022-05-30", 6)
        .await;
    let other = app
        .create_hourly_schedule(&t, "Every hour", "2022-05-30", 1)
        .await;

    // Search: filter, sort, paging, the creation-time bounds.
    let found = search_schedules(
        app,
        &t,
        json!({"filter": "title:\"Every six hours\"", "pageSize": 50, "pageNumber": 0,
            "startAt": "2022-05-09T00:00:00.000Z", "endAt": "2022-05-10T23:59:59.999Z",
            "sort": "[{\"created.dateTime\":\"desc\"}]"}),
    )
    .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.text());
    let found = found.json();
    assert_eq!(found["body"]["totalCount"], 1, "{found}");
    let item = &found["body"]["list"][0];
    assert_eq!(item["id"], id);
    assert_eq!(
        (&item["status"], &item["activate"]),
        (&json!("ACTIVE"), &json!(true))
    );
    assert_eq!(
        item["scripts"],
        json!([{"id": ACME_APPROVED_SCRIPT, "title": "Disk Usage Report"}])
    );
    assert_eq!(item["nextExecutionDateTime"], ms("2022-05-11T01:00:00Z"));
    let page = search_schedules(
        app,
        &t,
        json!({"filter": "scheduleType:HOURLY AND script.id:72648", "pageSize": 1, "pageNumber": 1,
            "sort": [{"title": "asc"}]}),
    )
    .await
    .json();
    assert_eq!(page["body"]["totalCount"], 2, "{page}");
    assert_eq!(page["body"]["list"][0]["id"], id, "the second by title");
    let none = search_schedules(app, &t, json!({"startAt": "2022-05-11T00:00:00Z"}))
        .await
        .json();
    assert_eq!(none["body"]["totalCount"], 0, "created before startAt");

    // Get.
    let got = get(app, &format!("/sm/v1/scheduler/{id}"), &t).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text());
    let s = got.json()["body"].clone();
    assert_eq!(
        (
            &s["title"],
            &s["scheduleType"],
            &s["hourlyInterval"],
            &s["startDate"],
            &s["endDate"],
            &s["startTime"]
        ),
        (
            &json!("Every six hours"),
            &json!("HOURLY"),
            &json!(6),
            &json!("2022-05-11"),
            &json!("2022-05-30"),
            &json!("01:00:00")
        )
    );
    assert_eq!(s["assets"], json!([{"id": ACME_ASSET}]));

    // It fires as the clock moves.
    let t = at(app, "2022-05-11T07:00:00Z").await;
    assert_eq!(
        app.schedule_firing_times(&t, &id).await,
        [ms("2022-05-11T01:00:00Z"), ms("2022-05-11T07:00:00Z")]
    );

    // Deactivated, it stops firing.
    let r = switch_schedule(app, &t, &id, "deactivate").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"errorCode": "0", "message": "Script scheduler deactivated successfully", "body": {"id": id}})
    );
    let s = schedule_body(app, &t, &id).await;
    assert_eq!(
        (&s["status"], &s["activate"]),
        (&json!("INACTIVE"), &json!(false))
    );
    assert!(s["nextExecutionDateTime"].is_null());
    let t = at(app, "2022-05-12T00:00:00Z").await;
    assert_eq!(app.schedule_firing_times(&t, &id).await.len(), 2);
    assert!(
        app.schedule_firing_times(&t, &other).await.len() > 2,
        "the other one went on"
    );

    // Activated, it fires again from its next time.
    let r = switch_schedule(app, &t, &id, "activate").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.json()["message"],
        "Script scheduler activated successfully"
    );
    let s = schedule_body(app, &t, &id).await;
    assert_eq!(s["nextExecutionDateTime"], ms("2022-05-12T01:00:00Z"));
    let t = at(app, "2022-05-12T07:00:00Z").await;
    assert_eq!(
        app.schedule_firing_times(&t, &id).await[2..],
        [ms("2022-05-12T01:00:00Z"), ms("2022-05-12T07:00:00Z")]
    );

    // Updated: a new title and every twelve hours.
    let r = post(
        app,
        &format!("/sm/v1/scheduler/{id}"),
        &t,
        json!({
            "activate": true, "assets": [{"UUId": "u", "id": ACME_ASSET}], "assetTags": [], "excludedAssets": [],
            "scripts": [{"id": ACME_APPROVED_SCRIPT, "title": "Disk Usage Report", "params": []}],
            "title": "Twice a day", "startDate": "2022-05-11", "endDate": "2022-05-30",
            "startTime": "01:00:00", "scheduleType": "HOURLY", "hourlyInterval": 12
        }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"errorCode": "0", "message": "Script scheduler updated successfully", "body": {"id": id}})
    );
    let s = schedule_body(app, &t, &id).await;
    assert_eq!(
        (&s["title"], &s["hourlyInterval"]),
        (&json!("Twice a day"), &json!(12))
    );
    assert_eq!(s["status"], "ACTIVE");
    assert_eq!(s["nextExecutionDateTime"], ms("2022-05-12T13:00:00Z"));
    let t = at(app, "2022-05-12T13:00:00Z").await;
    assert_eq!(app.schedule_firing_times(&t, &id).await.len(), 5);

    // Deleted: gone, and it never fires again.
    let r = app
        .car(Method::DELETE, &format!("/sm/v1/scheduler/{id}"), &t, "")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["message"], "Script scheduler deleted successfully");
    for (method, path) in [
        (Method::GET, format!("/sm/v1/scheduler/{id}")),
        (Method::DELETE, format!("/sm/v1/scheduler/{id}")),
        (Method::POST, format!("/sm/v1/scheduler/{id}/activate")),
        (Method::POST, format!("/sm/v1/scheduler/{id}/deactivate")),
    ] {
        let r = app.car(method.clone(), &path, &t, "").await;
        assert_error(
            &r,
            StatusCode::NOT_FOUND,
            &format!("Scheduler with id {id} not found"),
            &format!("{method} {path}"),
        );
    }
    let t = at(app, "2022-05-20T00:00:00Z").await;
    assert_eq!(
        app.schedule_firing_times(&t, &id).await.len(),
        5,
        "no firing after delete"
    );
    let left = search_schedules(app, &t, json!({})).await.json();
    assert_eq!(left["body"]["totalCount"], 1);
    assert_eq!(left["body"]["list"][0]["id"], other);

    // The activity log has the whole life.
    let own: i64 = id.parse().unwrap();
    let logged: Vec<String> = actions(app, &t, own)
        .await
        .into_iter()
        .filter(|(a, c)| !(a == "EXECUTE" || a == "CREATE" && c.is_some()))
        .map(|(a, c)| format!("{a} {}", c.unwrap_or_default()).trim().to_owned())
        .collect();
    assert!(
        logged.ends_with(&[
            "MODIFY Deactivated".to_owned(),
            "MODIFY Activated".to_owned(),
            "MODIFY".to_owned(),
            "DELETE".to_owned(),
        ]),
        "{logged:?}"
    );
}

#[tokio::test]
async fn scheduler_refusals_and_tenancy() {
    let app = &TestApp::new().await;
    let t = at(app, "2022-05-10T00:00:00Z").await;
    let id = app
        .create_hourly_schedule(&t, "Six-hourly", "2022-05-30", 6)
        .await;
    app.create_hourly_schedule(&t, "Hourly", "2022-05-30", 1)
        .await;
    let body = |title: &str, start: &str| {
        json!({
            "activate": true, "assets": [{"UUId": "u", "id": ACME_ASSET}],
            "scripts": [{"id": ACME_APPROVED_SCRIPT, "title": "Disk Usage Report"}],
            "title": title, "startDate": start, "endDate": start, "startTime": "01:00:00",
            "scheduleType": "ONE_TIME"
        })
    };
    let update = format!("/sm/v1/scheduler/{id}");
    assert_error(
        &post(app, &update, &t, body("Hourly", "2022-05-11")).await,
        StatusCode::CONFLICT,
        "Scheduler with the same title already exists: Hourly",
        "taken title",
    );
    // Its own title is its own; `activate` left out keeps it as on or off as it was.
    let mut keep = body("Six-hourly", "2022-05-11");
    keep.as_object_mut().unwrap().remove("activate");
    assert_eq!(
        post(app, &update, &t, keep.clone()).await.status,
        StatusCode::OK
    );
    let s = schedule_body(app, &t, &id).await;
    assert_eq!(
        (&s["activate"], &s["status"]),
        (&json!(true), &json!("ACTIVE"))
    );
    assert_eq!(s["scheduleType"], "ONE_TIME");
    switch_schedule(app, &t, &id, "deactivate").await;
    assert_eq!(post(app, &update, &t, keep).await.status, StatusCode::OK);
    let s = schedule_body(app, &t, &id).await;
    assert_eq!(
        (&s["activate"], &s["status"]),
        (&json!(false), &json!("INACTIVE"))
    );
    let mut no_title = body("", "2022-05-11");
    no_title.as_object_mut().unwrap().remove("title");
    assert_error(
        &post(app, &update, &t, no_title).await,
        StatusCode::BAD_REQUEST,
        "title is required",
        "no title",
    );
    assert_error(
        &post(app, &update, &t, body("Past", "2022-05-01")).await,
        StatusCode::BAD_REQUEST,
        "Based on configured schedule, the given trigger will never fire.",
        "past",
    );
    let mut unknown_script = body("Nope", "2022-05-11");
    unknown_script["scripts"][0]["id"] = json!(999_999);
    assert_error(
        &post(app, &update, &t, unknown_script).await,
        StatusCode::NOT_FOUND,
        "Script not found: 999999",
        "unknown script",
    );
    assert_error(
        &post(app, "/sm/v1/scheduler/424242", &t, body("X", "2022-05-11")).await,
        StatusCode::NOT_FOUND,
        "Scheduler with id 424242 not found",
        "unknown schedule",
    );
    assert_error(
        &get(app, "/sm/v1/scheduler/not-an-id", &t).await,
        StatusCode::NOT_FOUND,
        "Scheduler with id not-an-id not found",
        "not an id",
    );
    // A one-time schedule whose time has passed cannot be activated again.
    let t = at(app, "2022-05-12T00:00:00Z").await;
    switch_schedule(app, &t, &id, "deactivate").await;
    assert_error(
        &switch_schedule(app, &t, &id, "activate").await,
        StatusCode::BAD_REQUEST,
        "Based on configured schedule, the given trigger will never fire.",
        "activate a spent schedule",
    );
    // Search refusals are the filter engine's.
    assert_error(
        &search_schedules(app, &t, json!({"filter": "colour:red"})).await,
        StatusCode::BAD_REQUEST,
        "Invalid filter: unknown field 'colour' (at position 0); fields: id, title, name, description, scheduleType, activate, active, script.id, scriptId, script.name, startDate, endDate, user.name, created.dateTime, lastExecutedDateTime, nextExecutionDateTime",
        "unknown field",
    );
    assert_error(
        &search_schedules(app, &t, json!({"filter": "scheduleType:YEARLY"})).await,
        StatusCode::BAD_REQUEST,
        "Invalid filter: 'YEARLY' is not a valid value (one of ONE_TIME, HOURLY, DAILY, WEEKLY, MONTHLY) for field 'scheduleType' (at position 13)",
        "bad keyword",
    );
    assert_error(
        &search_schedules(app, &t, json!({"pageSize": 0})).await,
        StatusCode::BAD_REQUEST,
        "pageSize must be between 1 and 1000",
        "page size",
    );
    // Another customer sees none of it.
    let globex = app.globex().await;
    let theirs = search_schedules(app, &globex, json!({})).await.json();
    assert_eq!(theirs["body"]["totalCount"], 0);
    for (method, path) in [
        (Method::GET, format!("/sm/v1/scheduler/{id}")),
        (Method::DELETE, format!("/sm/v1/scheduler/{id}")),
        (Method::POST, format!("/sm/v1/scheduler/{id}/deactivate")),
    ] {
        let r = app.car(method.clone(), &path, &globex, "").await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{method} {path}");
    }
    assert_eq!(
        get(app, &format!("/sm/v1/scheduler/{id}"), &t).await.status,
        StatusCode::OK,
        "still acme's"
    );
    // Without a token, the gateway's 401.
    let r = app
        .request(Method::POST, "/sm/v1/scheduler/search", &[], "{}")
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}
