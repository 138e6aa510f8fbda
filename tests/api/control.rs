//! The /_mock control endpoints, each shown through its effect on the Qualys APIs.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, basic};

async fn search_status(app: &TestApp, token: &str) -> StatusCode {
    app.car(Method::POST, "/sm/v1/scripts/search", token, "")
        .await
        .status
}

#[tokio::test]
async fn a_fault_fails_the_next_two_searches_then_stops() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    let r = app
        .control(
            Method::POST,
            "/_mock/faults",
            json!({"method": "POST", "path": "/sm/v1/scripts/search", "status": 500, "times": 2}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let first = app.car(Method::POST, "/sm/v1/scripts/search", &t, "").await;
    assert_eq!(first.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        first.json(),
        json!({"errorCode": "500", "message": "Internal Server Error", "body": null}),
        "the API's own error body"
    );
    assert_eq!(
        search_status(&app, &t).await,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(search_status(&app, &t).await, StatusCode::OK);
    // Spent, the rule stays listed with its count until deleted or reset.
    let listed = app
        .control(Method::GET, "/_mock/faults", json!({}))
        .await
        .json();
    assert_eq!(
        (listed.as_array().unwrap().len(), &listed[0]["applied"]),
        (1, &json!(2))
    );
}

#[tokio::test]
async fn faults_speak_each_apis_language() {
    let app = TestApp::new().await;
    let auth = basic("acme_ss2", "passwd");
    app.control(
        Method::POST,
        "/_mock/faults",
        json!({"path": "/qps/rest/1.0/search/cm/*", "status": 503}),
    )
    .await;
    let r = app
        .request(
            Method::POST,
            "/qps/rest/1.0/search/cm/alert",
            &[("authorization", &auth)],
            "",
        )
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        r.text()
            .contains("<responseCode>INTERNAL_ERROR</responseCode>"),
        "{}",
        r.text()
    );
    // Rate limits as the vendor's: CAR 429 with its headers, CM LIMIT_EXCEEDED.
    app.control(Method::DELETE, "/_mock/faults", json!({}))
        .await;
    app.control(
        Method::POST,
        "/_mock/faults",
        json!({"path": "/sm/v1/*", "rateLimit": 30, "times": 1}),
    )
    .await;
    app.control(
        Method::POST,
        "/_mock/faults",
        json!({"path": "/qps/*", "rateLimit": 15, "times": 1}),
    )
    .await;
    let t = app.acme().await;
    let r = app.car(Method::POST, "/sm/v1/jobs/search", &t, "").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        (
            r.header("retry-after"),
            r.header("x-ratelimit-towait-sec"),
            r.header("x-ratelimit-remaining")
        ),
        (Some("30"), Some("30"), Some("0"))
    );
    let r = app
        .request(
            Method::GET,
            "/qps/rest/portal/version",
            &[("authorization", &auth), ("accept", "application/json")],
            "",
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        r.json()["ServiceResponse"]["responseCode"],
        "LIMIT_EXCEEDED"
    );
    assert_eq!(r.header("retry-after"), Some("15"));
    // A custom body and headers; a fault listed, then deleted by id.
    let f = app.control(Method::POST, "/_mock/faults", json!({"path": "/auth", "status": 418, "body": {"teapot": true}, "headers": {"x-why": "test"}})).await.json();
    let r = app
        .login("username=acme_ss2&password=passwd&token=true")
        .await;
    assert_eq!(
        (r.status.as_u16(), r.json(), r.header("x-why")),
        (418, json!({"teapot": true}), Some("test"))
    );
    assert_eq!(
        app.control(Method::GET, "/_mock/faults", json!({}))
            .await
            .json()[0]["applied"],
        1
    );
    let r = app
        .control(
            Method::DELETE,
            &format!("/_mock/faults/{}", f["id"]),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.login("username=acme_ss2&password=passwd&token=true")
            .await
            .status,
        StatusCode::CREATED
    );
    assert_eq!(
        app.control(Method::DELETE, "/_mock/faults/999", json!({}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // Bad specs are refused.
    for bad in [
        json!({"path": "/x"}),
        json!({"path": "x", "status": 500}),
        json!({"path": "/x", "status": 1000}),
        json!({"path": "/x", "status": 500, "probability": 3}),
        json!({"path": "/x", "colour": 1}),
    ] {
        assert_eq!(
            app.control(Method::POST, "/_mock/faults", bad.clone())
                .await
                .status,
            StatusCode::BAD_REQUEST,
            "{bad}"
        );
    }
}

#[tokio::test]
async fn probabilistic_faults_repeat_with_their_seed() {
    let pattern = |seed: u64| async move {
        let app = TestApp::new().await;
        let t = app.acme().await;
        app.control(Method::POST, "/_mock/faults", json!({"path": "/sm/v1/scripts/search", "status": 500, "probability": 0.5, "seed": seed})).await;
        let mut out = Vec::new();
        for _ in 0..24 {
            out.push(search_status(&app, &t).await == StatusCode::OK);
        }
        out
    };
    let a = pattern(42).await;
    assert_eq!(a, pattern(42).await);
    assert!(a.contains(&true) && a.contains(&false));
}

#[tokio::test]
async fn latency_faults_delay_then_answer() {
    let app = TestApp::new().await;
    app.control(
        Method::POST,
        "/_mock/faults",
        json!({"path": "/_mock/health", "latencyMs": 1}),
    )
    .await;
    app.control(
        Method::POST,
        "/_mock/faults",
        json!({"path": "/qps/rest/portal/version", "latencyMs": 150, "times": 1}),
    )
    .await;
    let auth = basic("acme_ss2", "passwd");
    let started = std::time::Instant::now();
    let r = app
        .request(
            Method::GET,
            "/qps/rest/portal/version",
            &[("authorization", &auth)],
            "",
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(started.elapsed() >= std::time::Duration::from_millis(150));
}

#[tokio::test]
async fn advancing_the_clock_four_hours_expires_tokens() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    assert_eq!(search_status(&app, &t).await, StatusCode::OK);
    let r = app
        .control(Method::POST, "/_mock/clock", json!({"advance": "4h"}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["nowMs"], crate::helpers::T0_MS + 4 * 3600 * 1000);
    let r = app.car(Method::POST, "/sm/v1/scripts/search", &t, "").await;
    assert_eq!(
        (r.status, r.json()["message"].clone()),
        (StatusCode::UNAUTHORIZED, json!("JWT expired"))
    );
    // set, freeze, resume, and GET.
    let r = app
        .control(
            Method::POST,
            "/_mock/clock",
            json!({"set": "2022-05-10T00:00:00Z", "freeze": true}),
        )
        .await
        .json();
    assert_eq!(
        (r["nowMs"].clone(), r["frozen"].clone()),
        (json!(1652140800000i64), json!(true))
    );
    assert_eq!(
        app.control(Method::GET, "/_mock/clock", json!({}))
            .await
            .json()["nowMs"],
        1652140800000i64
    );
    let r = app
        .control(Method::POST, "/_mock/clock", json!({"resume": true}))
        .await
        .json();
    assert_eq!(r["frozen"], false);
    for bad in [
        json!({"advance": "soon"}),
        json!({"set": "yesterday"}),
        json!({"rewind": 1}),
    ] {
        assert_eq!(
            app.control(Method::POST, "/_mock/clock", bad).await.status,
            StatusCode::BAD_REQUEST
        );
    }
}

#[tokio::test]
async fn an_injected_port_open_event_raises_an_alert() {
    let app = TestApp::new().await;
    let events = json!({"customer": "Acme", "events": [
        {"eventType": "PORT_OPEN", "ipAddress": "10.10.30.99", "hostname": "new-host.acme.corp", "info": {"port": 8443, "protocol": "tcp"}},
        {"eventType": "PORT_OPEN", "ipAddress": "192.0.2.1", "hostname": "outside.example"}
    ]});
    let r = app.control(Method::POST, "/_mock/cm/events", events).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let created = r.json();
    // 10.10.30.99 is in profile 7401's range and in 5601's (My Profile, ruleset 4002 with the PORT rule).
    let profiles: Vec<i64> = created["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["Alert"]["profile"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        profiles,
        vec![5601],
        "7401's ruleset has no PORT rule; the other IP is outside every range"
    );
    let body = r#"<ServiceRequest><filters><Criteria field="ipAddress" operator="EQUALS">10.10.30.99</Criteria></filters></ServiceRequest>"#;
    let auth = basic("acme_ss2", "passwd");
    let r = app
        .request(
            Method::POST,
            "/qps/rest/1.0/search/cm/alert",
            &[("authorization", &auth), ("accept", "application/json")],
            body,
        )
        .await;
    let sr = r.json()["ServiceResponse"].clone();
    assert_eq!(sr["count"], 1);
    let alert = &sr["data"][0]["Alert"];
    assert_eq!(
        (
            alert["eventType"].clone(),
            alert["hostname"].clone(),
            alert["alertInfo"]["port"].clone()
        ),
        (json!("PORT_OPEN"), json!("new-host.acme.corp"), json!(8443))
    );
    assert_eq!(
        alert["alertDate"], "2024-01-01T00:00:00Z",
        "raised now, by the store clock"
    );
    // A HOST event in 7401's range matches the HOST rule of 4001.
    let r = app.control(Method::POST, "/_mock/cm/events", json!({"customer": "Acme", "events": [{"eventType": "HOST_FOUND", "ipAddress": "10.10.12.5"}]})).await;
    assert_eq!(r.json()["alerts"][0]["Alert"]["profile"]["id"], 7401);
    // Bad events are refused.
    for bad in [
        json!({"customer": "Acme", "events": [{"eventType": "PORT_OPENED", "ipAddress": "10.0.0.1"}]}),
        json!({"customer": "Acme", "events": [{"eventType": "PORT_OPEN", "ipAddress": "ten"}]}),
        json!({"customer": "Nobody", "events": []}),
    ] {
        assert!(
            app.control(Method::POST, "/_mock/cm/events", bad.clone())
                .await
                .status
                .is_client_error(),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn forced_outcomes_show_in_asset_jobs_and_stay() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    let r = app
        .car(
            Method::POST,
            "/sm/v1/scripts/72648/execute",
            &t,
            r#"{"assetIds": ["20452610"]}"#,
        )
        .await;
    let correlation = r.json()["body"]["correlationUuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let filter = json!({"filter": format!("job.correlationUuid:`{correlation}`"), "includeScriptResult": true}).to_string();
    let aj = app
        .car(Method::POST, "/sm/v1/assetjobs/search", &t, &filter)
        .await
        .json()["body"]["list"][0]
        .clone();
    let id = aj["id"].as_str().unwrap();
    let r = app
        .control(
            Method::POST,
            &format!("/_mock/car/assetjobs/{id}/outcome"),
            json!({"status": "FAILED", "code": 2, "text": "Disk full", "result": "no space left"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    app.state.clock().advance(3_600_000);
    let t = app.acme().await;
    let aj = app
        .car(Method::POST, "/sm/v1/assetjobs/search", &t, &filter)
        .await
        .json()["body"]["list"][0]
        .clone();
    assert_eq!(
        (aj["status"].clone(), aj["output"].clone()),
        (json!("FAILED"), json!({"code": 2, "text": "Disk full"}))
    );
    assert_eq!(aj["scriptResult"], "bm8gc3BhY2UgbGVmdA==");
    // A job forced IN_PROGRESS never finishes by itself (a timeout to test against).
    app.control(
        Method::POST,
        &format!("/_mock/car/assetjobs/{id}/outcome"),
        json!({"status": "in_progress"}),
    )
    .await;
    app.state.clock().advance(3_600_000);
    let aj = app
        .car(Method::POST, "/sm/v1/assetjobs/search", &t, &filter)
        .await
        .json()["body"]["list"][0]
        .clone();
    assert_eq!(
        (aj["status"].clone(), aj["enddate"].clone()),
        (json!("IN_PROGRESS"), Value::Null)
    );
    assert_eq!(
        app.control(
            Method::POST,
            "/_mock/car/assetjobs/999999/outcome",
            json!({"status": "FAILED"})
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.control(
            Method::POST,
            &format!("/_mock/car/assetjobs/{id}/outcome"),
            json!({"status": "EXPLODED"})
        )
        .await
        .status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn config_changes_limits_at_run_time() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    let r = app
        .control(
            Method::PUT,
            "/_mock/config",
            json!({"executeIntervalMs": 0, "jobRunMs": 1000}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["executeIntervalMs"], 0);
    for _ in 0..3 {
        let r = app
            .car(
                Method::POST,
                "/sm/v1/scripts/72648/execute",
                &t,
                r#"{"assetIds": ["20452610"]}"#,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "no interval now");
    }
    assert_eq!(
        app.control(Method::GET, "/_mock/config", json!({}))
            .await
            .json()["jobRunMs"],
        1000
    );
    assert_eq!(
        app.control(Method::PUT, "/_mock/config", json!({"speed": 11}))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        app.control(Method::PUT, "/_mock/config", json!({"scriptLimit": "many"}))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn the_journal_records_filters_clears_and_stays_bounded() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    app.car(
        Method::POST,
        "/sm/v1/scripts/search",
        &t,
        r#"{"filter": "status:APPROVED"}"#,
    )
    .await;
    app.request(
        Method::GET,
        "/qps/rest/portal/version",
        &[("user", "acme_ss2"), ("password", "wrong")],
        "",
    )
    .await;
    let all = app
        .control(Method::GET, "/_mock/requests", json!({}))
        .await
        .json();
    assert_eq!(
        all["count"], 3,
        "auth, search, version; /_mock calls are not recorded"
    );
    let search = &all["requests"][1];
    assert_eq!(
        (
            search["method"].clone(),
            search["path"].clone(),
            search["status"].clone(),
            search["user"].clone()
        ),
        (
            json!("POST"),
            json!("/sm/v1/scripts/search"),
            json!(200),
            json!("acme_ss2")
        )
    );
    assert_eq!(search["body"], r#"{"filter": "status:APPROVED"}"#);
    let failed = app
        .control(Method::GET, "/_mock/requests?status=401", json!({}))
        .await
        .json();
    assert_eq!(failed["requests"][0]["path"], "/qps/rest/portal/version");
    assert_eq!(
        failed["requests"][0]["error"], "INVALID_CREDENTIALS: Authentication failed",
        "an error answer's message is journalled"
    );
    assert!(
        search.get("error").is_none(),
        "a success has no error: {search}"
    );
    let by_prefix = app
        .control(
            Method::GET,
            "/_mock/requests?path=/sm/v1&method=post",
            json!({}),
        )
        .await
        .json();
    assert_eq!(by_prefix["count"], 1);
    let later = app
        .control(
            Method::GET,
            &format!("/_mock/requests?since={}", crate::helpers::T0_MS + 1),
            json!({}),
        )
        .await
        .json();
    assert_eq!(later["count"], 0);
    assert_eq!(
        app.control(Method::DELETE, "/_mock/requests", json!({}))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.control(Method::GET, "/_mock/requests", json!({}))
            .await
            .json()["count"],
        0
    );
    // More requests than the ring holds: the count stays at its size.
    let capacity = all["capacity"].as_u64().unwrap();
    for _ in 0..capacity + 50 {
        app.get("/nope").await;
    }
    let after = app
        .control(Method::GET, "/_mock/requests", json!({}))
        .await
        .json();
    assert_eq!(after["count"].as_u64().unwrap(), capacity);
}

#[tokio::test]
async fn reset_undoes_everything_or_one_customer() {
    let app = TestApp::new().await;
    let (a, g) = (app.acme().await, app.globex().await);
    app.car(
        Method::POST,
        "/sm/v1/scripts/16012/clone",
        &a,
        r#"{"scriptTitle": "Acme clone"}"#,
    )
    .await;
    app.car(
        Method::POST,
        "/sm/v1/scripts/95001/clone",
        &g,
        r#"{"scriptTitle": "Globex clone"}"#,
    )
    .await;
    let count = |t: String| {
        let app = &app;
        async move {
            app.car(Method::POST, "/sm/v1/scripts/search", &t, "")
                .await
                .json()["body"]["totalCount"]
                .as_u64()
                .unwrap()
        }
    };
    assert_eq!((count(a.clone()).await, count(g.clone()).await), (49, 3));
    let r = app
        .control(Method::POST, "/_mock/reset?customer=Globex", json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        (count(a.clone()).await, count(g.clone()).await),
        (49, 2),
        "only Globex went back"
    );
    let r = app.control(Method::POST, "/_mock/reset", json!({})).await;
    assert!(r.json()["elapsedMs"].as_f64().unwrap() >= 0.0);
    assert_eq!((count(a).await, count(g).await), (48, 2));
    assert_eq!(
        app.control(Method::POST, "/_mock/reset?customer=Nobody", json!({}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let health = app.get("/_mock/health").await.json();
    assert_eq!(health["counts"]["alerts"], 2016);
}

#[tokio::test]
async fn customers_are_created_empty_or_as_a_copy() {
    let app = TestApp::new().await;
    let r = app
        .control(
            Method::POST,
            "/_mock/customers",
            json!({"name": "Initech", "username": "peter", "password": "tps"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let t = app.token("peter", "tps").await;
    assert_eq!(
        app.car(Method::POST, "/sm/v1/scripts/search", &t, "")
            .await
            .json()["body"]["totalCount"],
        0
    );
    let r = app
        .control(
            Method::POST,
            "/_mock/customers",
            json!({"name": "Hooli", "copyOf": "Acme"}),
        )
        .await;
    let created = r.json();
    let (user, password) = (
        created["username"].as_str().unwrap(),
        created["password"].as_str().unwrap(),
    );
    assert_eq!(user, "hooli_user");
    let t = app.token(user, password).await;
    let scripts = app
        .car(Method::POST, "/sm/v1/scripts/search", &t, "")
        .await
        .json();
    assert_eq!(scripts["body"]["totalCount"], 48);
    let offset = created["idOffset"].as_i64().unwrap();
    let r = app
        .car(
            Method::GET,
            &format!("/sm/v1/scripts/{}", 16012 + offset),
            &t,
            "",
        )
        .await;
    assert_eq!(r.json()["body"]["title"], "Collect OS Inventory");
    let auth = basic(user, password);
    let r = app
        .request(
            Method::GET,
            &format!("/qps/rest/1.0/get/cm/alert/{}", 246213 + offset),
            &[("authorization", &auth), ("accept", "application/json")],
            "",
        )
        .await;
    assert_eq!(
        r.json()["ServiceResponse"]["data"][0]["Alert"]["hostname"],
        "win12-30-240"
    );
    // Acme is untouched, and a copy resets to itself.
    let a = app.acme().await;
    assert_eq!(
        app.car(Method::POST, "/sm/v1/scripts/search", &a, "")
            .await
            .json()["body"]["totalCount"],
        48
    );
    app.car(
        Method::POST,
        &format!("/sm/v1/scripts/{}/clone", 16012 + offset),
        &t,
        r#"{"scriptTitle": "extra"}"#,
    )
    .await;
    app.control(Method::POST, "/_mock/reset?customer=Hooli", json!({}))
        .await;
    assert_eq!(
        app.car(Method::POST, "/sm/v1/scripts/search", &t, "")
            .await
            .json()["body"]["totalCount"],
        48
    );
    // Refusals: a name taken is a conflict.
    assert_eq!(
        app.control(Method::POST, "/_mock/customers", json!({"name": "Initech"}))
            .await
            .status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        app.control(Method::POST, "/_mock/customers", json!({"name": ""}))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        app.control(
            Method::POST,
            "/_mock/customers",
            json!({"name": "X", "copyOf": "Nobody"})
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn runtime_seeds_are_validated_and_all_or_nothing() {
    let app = TestApp::new().await;
    let script = json!({"id": 777001, "customer": "Acme", "title": "Seeded at run time", "category": {"id": 6, "name": "General Automation"},
        "type": {"id": 2, "name": "Shell"}, "platform": "LINUX", "status": "APPROVED", "severity": 1, "threshold": 10,
        "content": "echo hi", "created": "2022-05-01T00:00:00Z", "createdBy": "acme_ss2", "approvedBy": "acme_ss2"});
    let alert = json!({"id": 777002, "customer": "Acme", "eventType": "VULN_OPEN", "triggerUuid": "t", "ipAddress": "10.10.11.11",
        "eventDate": "2022-05-01T00:00:00Z", "alertDate": "2022-05-01T00:00:05Z", "profile": 7401});
    let r = app
        .control(
            Method::POST,
            "/_mock/seed",
            json!({"scripts": [script.clone()], "alerts": [alert.clone()]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["records"], 2);
    let t = app.acme().await;
    assert_eq!(
        app.car(Method::GET, "/sm/v1/scripts/777001", &t, "")
            .await
            .json()["body"]["title"],
        "Seeded at run time"
    );
    // A bad record: nothing of the batch is stored, and the message names it.
    let mut bad_alert = alert.clone();
    bad_alert["id"] = json!(777004);
    bad_alert["profile"] = json!(9201);
    let mut other_script = script.clone();
    other_script["id"] = json!(777003);
    other_script["title"] = json!("Should not appear");
    let r = app
        .control(
            Method::POST,
            "/_mock/seed",
            json!({"scripts": [other_script], "alerts": [bad_alert]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json()["error"],
        "invalid seed: seed file alerts.json: record 0 (\"777004\"), field profile: 9201 belongs to another customer"
    );
    assert_eq!(
        app.car(Method::GET, "/sm/v1/scripts/777003", &t, "")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    for (body, message) in [
        (
            json!({"widgets": []}),
            "invalid seed: seed file widgets.json: unknown object type; known: customers, users, rulesets, rules, profiles, alerts, assettags, assets, scripts, jobs, assetjobs, activities",
        ),
        (
            json!({"scripts": [{"id": 1}]}),
            "invalid seed: seed file scripts.json: record 0: missing field `customer`",
        ),
        (json!([]), "the body must be a JSON object"),
    ] {
        let r = app.control(Method::POST, "/_mock/seed", body).await;
        assert_eq!(
            (r.status, r.json()["error"].as_str().unwrap().to_owned()),
            (StatusCode::BAD_REQUEST, message.to_owned())
        );
    }
    // A reset removes run-time seeds.
    app.control(Method::POST, "/_mock/reset", json!({})).await;
    assert_eq!(
        app.car(Method::GET, "/sm/v1/scripts/777001", &t, "")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn runtime_seed_records_that_clash_are_refused_naming_the_record() {
    let app = TestApp::new().await;
    let asset = |id: i64, tags: Value| {
        json!({"id": id, "customer": "Acme", "agentId": "a-777101", "agentUuid": "u-777101",
            "name": "seeded-host", "address": "10.0.0.9", "operatingSystem": "Linux", "tags": tags})
    };
    for (body, message) in [
        // A tag listed twice by one asset: refused by the check, not by the store.
        (
            json!({"assets": [asset(777101, json!([102909758, 102909758]))]}),
            "invalid seed: seed file assets.json: record 0 (\"seeded-host\"), field tags: duplicate tag id 102909758",
        ),
        // An id the store holds.
        (
            json!({"assets": [asset(20452610, json!([]))]}),
            "invalid seed: seed file assets.json: record 0 (\"seeded-host\"), field id: 20452610 is taken by a stored record",
        ),
    ] {
        let r = app.control(Method::POST, "/_mock/seed", body).await;
        assert_eq!(
            (r.status, r.json()["error"].as_str().unwrap().to_owned()),
            (StatusCode::BAD_REQUEST, message.to_owned())
        );
    }
    // Nothing of either was stored: the asset loads once, with its tag.
    let r = app
        .control(
            Method::POST,
            "/_mock/seed",
            json!({"assets": [asset(777101, json!([102909758]))]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

#[tokio::test]
async fn a_control_token_guards_everything_but_health() {
    let state = qualys_mock::AppState::from_config(&qualys_mock::ServerConfig {
        control_token: Some("s3cret".into()),
        journal_size: 10,
        journal_body_bytes: 100,
        frozen_at: Some(0),
        ..qualys_mock::ServerConfig::default()
    })
    .await
    .unwrap();
    let router = qualys_mock::app(state);
    use tower::ServiceExt;
    let call = |path: &str, token: Option<(&str, &str)>| {
        let mut b = axum::http::Request::builder().uri(path);
        if let Some((k, v)) = token {
            b = b.header(k, v);
        }
        router
            .clone()
            .oneshot(b.body(axum::body::Body::empty()).unwrap())
    };
    assert_eq!(
        call("/_mock/requests", None).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call("/_mock/requests", Some(("x-mock-token", "wrong")))
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call("/_mock/requests", Some(("x-mock-token", "s3cret")))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        call("/_mock/config", Some(("authorization", "Bearer s3cret")))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        call("/_mock/health", None).await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn rendered_alerts_are_forgotten_when_the_data_is_reset() {
    let app = TestApp::new().await;
    let auth = basic("acme_ss2", "passwd");
    let find = |app: TestApp, ip: &'static str| {
        let auth = auth.clone();
        async move {
            let body = format!(
                r#"<ServiceRequest><filters><Criteria field="ipAddress" operator="EQUALS">{ip}</Criteria></filters></ServiceRequest>"#
            );
            app.request(
                Method::POST,
                "/qps/rest/1.0/search/cm/alert",
                &[("authorization", &auth)],
                body,
            )
            .await
            .text()
        }
    };
    let app = &app;
    let inject = |host: &str| json!({"customer": "Acme", "events": [{"eventType": "HOST_FOUND", "ipAddress": "10.10.12.5", "hostname": host}]});
    let first = app
        .control(Method::POST, "/_mock/cm/events", inject("first.acme.corp"))
        .await
        .json();
    let id = first["alerts"][0]["Alert"]["id"].clone();
    assert!(
        find(app.clone(), "10.10.12.5")
            .await
            .contains("<hostname>first.acme.corp</hostname>")
    );
    app.control(Method::POST, "/_mock/reset", json!({})).await;
    let second = app
        .control(Method::POST, "/_mock/cm/events", inject("second.acme.corp"))
        .await
        .json();
    assert_eq!(
        second["alerts"][0]["Alert"]["id"], id,
        "the id is reused after the reset"
    );
    let xml = find(app.clone(), "10.10.12.5").await;
    assert!(
        xml.contains("<hostname>second.acme.corp</hostname>") && !xml.contains("first.acme.corp"),
        "{xml}"
    );
}

/// QPS answers most errors with 200: the journal still names the error of such an answer,
/// in XML and in JSON, and names none for a success (a kept answer included).
#[tokio::test]
async fn the_journal_names_a_qps_error_answered_with_200_and_no_error_for_a_success() {
    let app = TestApp::new().await;
    let path = "/qps/rest/1.0/search/cm/alert";
    for json in [false, true] {
        let bad = if json {
            r#"{"ServiceRequest": {"filters": {"Criteria": [{"field": "nope", "operator": "EQUALS", "value": "1"}]}}}"#
        } else {
            r#"<ServiceRequest><filters><Criteria field="nope" operator="EQUALS">1</Criteria></filters></ServiceRequest>"#
        };
        let failed = app
            .cm(Method::POST, path, ("acme_ss2", "passwd"), bad, json)
            .await;
        assert_eq!(failed.status, StatusCode::OK);
        for _ in 0..2 {
            // The second success is answered from the kept answer.
            let ok = app
                .cm(Method::POST, path, ("acme_ss2", "passwd"), "", json)
                .await;
            assert_eq!(ok.status, StatusCode::OK);
        }
    }
    let entries = app.journal_for(path).await;
    assert_eq!(entries.len(), 6, "{entries:?}");
    for (i, entry) in entries.iter().enumerate() {
        if i % 3 == 0 {
            let error = entry["error"].as_str().unwrap_or_default();
            assert!(
                error.starts_with("INVALID_REQUEST: ") && error.contains("nope"),
                "entry {i}: {entry}"
            );
        } else {
            assert!(entry.get("error").is_none(), "entry {i}: {entry}");
        }
    }
}
