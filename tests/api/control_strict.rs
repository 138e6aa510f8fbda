//! The control API reads what it is sent strictly and never surprises: an unknown key, a
//! repeated one, a wrong shape or type, or a value out of range is a 400 naming it, and
//! changes nothing; reset says what it restored; the journal and fault list tell what
//! faults did.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{T0_MS, TestApp, http_client};

/// Globex's script count through CAR.
async fn globex_scripts(app: &TestApp) -> u64 {
    let t = app.globex().await;
    app.car(Method::POST, "/sm/v1/scripts/search", &t, "")
        .await
        .json()["body"]["totalCount"]
        .as_u64()
        .unwrap()
}

/// Globex gets one more script (3 instead of the seed's 2).
async fn change_globex(app: &TestApp) {
    let t = app.globex().await;
    let r = app
        .car(
            Method::POST,
            "/sm/v1/scripts/95001/clone",
            &t,
            r#"{"scriptTitle": "Globex clone"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(globex_scripts(app).await, 3);
}

fn error_of(r: &crate::helpers::TestResponse) -> String {
    r.json()["error"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn reset_refuses_what_it_does_not_understand_and_resets_nothing() {
    let app = TestApp::new().await;
    change_globex(&app).await;
    let form = "application/x-www-form-urlencoded";
    let json = "application/json";
    // (query, content type, body, what the error names)
    let cases: [(&str, &str, &str, &str); 12] = [
        ("?Customer=Globex", json, "", "unknown field `Customer`"),
        ("?customers=Globex", json, "", "unknown field `customers`"),
        ("?name=Globex", json, "", "unknown field `name`"),
        ("?customer[]=Globex", json, "", "unknown field `customer[]`"),
        (
            "?customer=Globex&customer=Acme",
            json,
            "",
            "duplicate field `customer`",
        ),
        (
            "?scope=everything",
            json,
            "",
            "unknown variant `everything`",
        ),
        (
            "",
            form,
            "customer=Globex",
            "must be a JSON object (sent as",
        ),
        ("", json, "garbage", "must be a JSON object"),
        ("", json, r#"["Globex"]"#, "must be a JSON object"),
        (
            "",
            json,
            r#"{"customers": "Globex"}"#,
            "unknown field `customers`",
        ),
        ("", json, r#"{"customer": 7}"#, "invalid type: integer `7`"),
        (
            "",
            json,
            r#"{"customer": "Globex", "customer": "Acme"}"#,
            "duplicate field `customer`",
        ),
    ];
    for (query, content_type, body, names) in cases {
        let r = app
            .request(
                Method::POST,
                &format!("/_mock/reset{query}"),
                &[("content-type", content_type)],
                body.to_owned(),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query} {body}");
        assert!(error_of(&r).contains(names), "{query} {body}: {}", r.text());
    }
    assert_eq!(globex_scripts(&app).await, 3, "nothing was reset");
}

#[tokio::test]
async fn reset_takes_its_customer_from_a_json_body_or_the_query() {
    let app = TestApp::new().await;
    let acme = app.acme().await;
    let acme_scripts = || async {
        app.car(Method::POST, "/sm/v1/scripts/search", &acme, "")
            .await
            .json()["body"]["totalCount"]
            .clone()
    };
    app.car(
        Method::POST,
        "/sm/v1/scripts/16012/clone",
        &acme,
        r#"{"scriptTitle": "Acme clone"}"#,
    )
    .await;
    change_globex(&app).await;
    let r = app
        .control(Method::POST, "/_mock/reset", json!({"customer": "Globex"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.json()["customer"],
        "Globex",
        "the answer names the customer"
    );
    assert_eq!(r.json()["restored"], json!(["data"]));
    assert_eq!(globex_scripts(&app).await, 2, "Globex went back");
    assert_eq!(acme_scripts().await, 49, "Acme kept its clone");
    // Both, agreeing: fine; disagreeing: 400, and nothing reset.
    change_globex(&app).await;
    let r = app
        .control(
            Method::POST,
            "/_mock/reset?customer=Acme",
            json!({"customer": "Globex"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        error_of(&r),
        "customer is \"Acme\" in the query string but \"Globex\" in the body"
    );
    assert_eq!(globex_scripts(&app).await, 3);
    let r = app
        .control(
            Method::POST,
            "/_mock/reset?customer=Globex",
            json!({"customer": "Globex"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(globex_scripts(&app).await, 2);
    // A customer reset restores data only: the whole server's clock is no customer's.
    let r = app
        .control(
            Method::POST,
            "/_mock/reset",
            json!({"customer": "Globex", "scope": "all"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(error_of(&r).contains("no customer owns"), "{}", r.text());
    let r = app
        .control(Method::POST, "/_mock/reset", json!({"customer": ""}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_full_reset_restores_clock_faults_and_config_and_says_so() {
    let app = TestApp::new().await;
    let change_everything = || async {
        change_globex(&app).await;
        let r = app
            .control(
                Method::POST,
                "/_mock/clock",
                json!({"advance": "2d", "resume": true}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
        let r = app
            .control(
                Method::POST,
                "/_mock/faults",
                json!({"path": "/sm/v1/assets/search", "status": 503}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
        let r = app
            .control(Method::PUT, "/_mock/config", json!({"jobRunMs": 1}))
            .await;
        assert_eq!(r.status, StatusCode::OK);
    };
    let faults = || async { app.get("/_mock/faults").await.json() };
    let clock = || async { app.get("/_mock/clock").await.json() };
    let job_run_ms = || async { app.get("/_mock/config").await.json()["jobRunMs"].clone() };

    // Data only: the clock, the rules and the config stay.
    change_everything().await;
    let r = app
        .control(Method::POST, "/_mock/reset?scope=data", json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        (r.json()["scope"].clone(), r.json()["restored"].clone()),
        (json!("data"), json!(["data"]))
    );
    assert_eq!(globex_scripts(&app).await, 2);
    assert_eq!(faults().await.as_array().unwrap().len(), 1);
    assert_eq!(clock().await["frozen"], false);
    assert_eq!(job_run_ms().await, 1);

    // The default: everything back to how the server started, and the answer lists it.
    change_everything().await;
    let r = app.request(Method::POST, "/_mock/reset", &[], "").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        (
            r.json()["customer"].clone(),
            r.json()["scope"].clone(),
            r.json()["restored"].clone()
        ),
        (
            Value::Null,
            json!("all"),
            json!(["data", "clock", "faults", "config", "stubs"])
        )
    );
    assert_eq!(globex_scripts(&app).await, 2);
    assert_eq!(faults().await, json!([]));
    assert_eq!(
        (
            clock().await["nowMs"].clone(),
            clock().await["frozen"].clone()
        ),
        (json!(T0_MS), json!(true)),
        "the test clock started frozen at T0"
    );
    assert_eq!(job_run_ms().await, 30_000);
}

#[tokio::test]
async fn the_clock_stays_between_1970_and_9999() {
    let app = TestApp::new().await;
    let refused = [
        (json!({"set": i64::MAX}), "outside the clock's range"),
        (json!({"set": u64::MAX}), "outside the clock's range"),
        (json!({"set": -1}), "outside the clock's range"),
        (
            json!({"set": 253_402_300_800_000_i64}),
            "outside the clock's range",
        ),
        (json!({"set": 1.5}), "set must be epoch ms"),
        (json!({"advance": i64::MAX}), "outside the clock's range"),
        (json!({"advance": i64::MIN}), "outside the clock's range"),
        (json!({"advance": "-60000d"}), "outside the clock's range"),
        (
            json!({"set": 0, "advance": -1}),
            "outside the clock's range",
        ),
        (
            json!({"set": "9999-12-31T23:59:59Z", "advance": "1s"}),
            "outside the clock's range",
        ),
        (json!({"freeze": true, "resume": true}), "contradict"),
        (json!({"freeze": false, "resume": false}), "contradict"),
    ];
    for (body, names) in refused {
        let r = app
            .control(Method::POST, "/_mock/clock", body.clone())
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(error_of(&r).contains(names), "{body}: {}", r.text());
    }
    let clock = app.get("/_mock/clock").await.json();
    assert_eq!(
        (clock["nowMs"].clone(), clock["frozen"].clone()),
        (json!(T0_MS), json!(true)),
        "nothing changed"
    );
    // The edges themselves are fine, and the server keeps answering there.
    for edge in [json!(0), json!(253_402_300_799_999_i64)] {
        let r = app
            .control(Method::POST, "/_mock/clock", json!({"set": edge}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(app.get("/_mock/health").await.status, StatusCode::OK);
        let t = app.acme().await;
        assert_eq!(
            app.car(Method::POST, "/sm/v1/scripts/search", &t, "")
                .await
                .status,
            StatusCode::OK,
            "a token issued at {edge} works"
        );
    }
}

#[tokio::test]
async fn the_clock_returns_to_real_time_and_freeze_false_resumes() {
    let app = TestApp::new().await;
    // The test clock starts frozen: `freeze: false` lets it run.
    let r = app
        .control(Method::POST, "/_mock/clock", json!({"freeze": false}))
        .await
        .json();
    assert_eq!(r["frozen"], false, "{r}");
    let r = app
        .control(Method::POST, "/_mock/clock", json!({"freeze": true}))
        .await
        .json();
    assert_eq!(r["frozen"], true);
    // "now" with freeze false: real time, exactly.
    let r = app
        .control(
            Method::POST,
            "/_mock/clock",
            json!({"set": "now", "freeze": false}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = r.json();
    assert_eq!(
        (r["frozen"].clone(), r["offsetMs"].clone()),
        (json!(false), json!(0))
    );
    // "now" keeps a frozen clock frozen, at the system time.
    app.control(
        Method::POST,
        "/_mock/clock",
        json!({"advance": "-1d", "freeze": true}),
    )
    .await;
    let r = app
        .control(Method::POST, "/_mock/clock", json!({"set": "now"}))
        .await
        .json();
    assert_eq!(r["frozen"], true);
    assert!(r["offsetMs"].as_i64().unwrap().abs() < 5_000, "{r}");
}

#[tokio::test]
async fn config_values_are_bounded_and_a_refusal_changes_nothing() {
    let app = TestApp::new().await;
    let before = app.get("/_mock/config").await.json();
    for (body, names) in [
        (
            json!({"jobRunMs": -5}),
            "jobRunMs must be between 0 and 2592000000 (got -5)",
        ),
        (json!({"jobQueueMs": -1}), "jobQueueMs must be between"),
        (
            json!({"executeIntervalMs": i64::MAX}),
            "executeIntervalMs must be between",
        ),
        (
            json!({"maxPageSize": 0}),
            "maxPageSize must be between 1 and 100000",
        ),
        (
            json!({"dailyExecutions": -1}),
            "dailyExecutions must be between",
        ),
        (json!({"scriptLimit": 1e12}), "invalid type: floating point"),
        (json!({"jobRunMs": "1s"}), "invalid type: string"),
        (json!({"jobRunMS": 1}), "unknown field `jobRunMS`"),
        (json!({"jobRunMs": 1, "maxPageSize": 0}), "maxPageSize"),
    ] {
        let r = app
            .control(Method::PUT, "/_mock/config", body.clone())
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(error_of(&r).contains(names), "{body}: {}", r.text());
    }
    let r = app
        .request(
            Method::PUT,
            "/_mock/config",
            &[("content-type", "application/json")],
            r#"{"jobRunMs": 1, "jobRunMs": 2}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        error_of(&r).contains("duplicate field `jobRunMs`"),
        "{}",
        r.text()
    );
    assert_eq!(app.get("/_mock/config").await.json(), before);
}

#[tokio::test]
async fn faults_apply_to_api_paths_only_and_are_checked() {
    let app = TestApp::new().await;
    for (spec, names) in [
        (
            json!({"path": "/_mock/reset", "status": 500}),
            "is the control API",
        ),
        (
            json!({"path": "/_mock/*", "drop": true}),
            "is the control API",
        ),
        (
            json!({"path": "/sm/v1/*", "status": 101}),
            "status must be between 200 and 599",
        ),
        (
            json!({"path": "/sm/v1/*", "status": 500, "times": 0}),
            "times must be at least 1",
        ),
        (
            json!({"path": "/sm/v1/*", "latencyMs": 86_400_000}),
            "latencyMs must be at most",
        ),
        (
            json!({"path": "/sm/v1/*", "status": 500, "method": "GE T"}),
            "not an HTTP method",
        ),
        (
            json!({"path": "/sm/v1/*", "status": 500, "headers": {"bad header": "x"}}),
            "not a header name",
        ),
    ] {
        let r = app
            .control(Method::POST, "/_mock/faults", spec.clone())
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{spec}");
        assert!(error_of(&r).contains(names), "{spec}: {}", r.text());
    }
    assert_eq!(app.get("/_mock/faults").await.json(), json!([]));
}

#[tokio::test]
async fn a_journal_delete_deletes_only_what_its_filter_matches() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    app.car(Method::POST, "/sm/v1/scripts/search", &t, "").await;
    app.car(Method::POST, "/sm/v1/assets/search", &t, "").await;
    let paths = || async {
        app.get("/_mock/requests").await.json()["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["path"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        paths().await,
        ["/auth", "/sm/v1/scripts/search", "/sm/v1/assets/search"]
    );
    // An unknown filter is refused, and nothing is deleted.
    let r = app
        .request(Method::DELETE, "/_mock/requests?paht=/auth", &[], "")
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        error_of(&r).contains("unknown field `paht`"),
        "{}",
        r.text()
    );
    assert_eq!(paths().await.len(), 3);
    let r = app
        .request(Method::DELETE, "/_mock/requests?path=/auth", &[], "")
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        paths().await,
        ["/sm/v1/scripts/search", "/sm/v1/assets/search"]
    );
    app.request(
        Method::DELETE,
        "/_mock/requests?path=/sm/v1/&method=post&status=200",
        &[],
        "",
    )
    .await;
    assert_eq!(paths().await, Vec::<String>::new());
}

#[tokio::test]
async fn routes_that_read_no_query_or_body_refuse_one() {
    let app = TestApp::new().await;
    let r = app
        .control(
            Method::POST,
            "/_mock/faults",
            json!({"path": "/sm/v1/*", "status": 503}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let refused = [
        (
            Method::DELETE,
            "/_mock/faults",
            r#"{"id": 1}"#,
            "takes no body",
        ),
        (
            Method::DELETE,
            "/_mock/faults?id=1",
            "",
            "takes no query string",
        ),
        (
            Method::GET,
            "/_mock/clock?now=1",
            "",
            "takes no query string",
        ),
        (
            Method::POST,
            "/_mock/clock?advance=4h",
            "{}",
            "takes no query string",
        ),
        (Method::GET, "/_mock/requests", "[]", "takes no body"),
        (
            Method::PUT,
            "/_mock/config?jobRunMs=1",
            "{}",
            "takes no query string",
        ),
    ];
    for (method, path, body, names) in refused {
        let r = app
            .request(
                method.clone(),
                path,
                &[("content-type", "application/json")],
                body.to_owned(),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{method} {path}");
        assert!(
            error_of(&r).contains(names),
            "{method} {path}: {}",
            r.text()
        );
    }
    assert_eq!(
        app.get("/_mock/faults")
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let clock = app.get("/_mock/clock").await.json();
    assert_eq!(clock["nowMs"], T0_MS, "the clock did not move");
    // A repeated key in a body is refused, not last-wins.
    let r = app
        .request(
            Method::POST,
            "/_mock/clock",
            &[("content-type", "application/json")],
            r#"{"advance": "1h", "advance": "2h"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        error_of(&r).contains("duplicate field `advance`"),
        "{}",
        r.text()
    );
}

#[tokio::test]
async fn a_duplicate_customer_is_a_conflict() {
    let app = TestApp::new().await;
    for (body, status) in [
        (json!({"name": "Initech"}), StatusCode::CREATED),
        (json!({"name": "Initech"}), StatusCode::CONFLICT),
        (json!({"name": "Acme"}), StatusCode::CONFLICT),
        (
            json!({"name": "Hooli", "username": "acme_ss2"}),
            StatusCode::CONFLICT,
        ),
    ] {
        let r = app
            .control(Method::POST, "/_mock/customers", body.clone())
            .await;
        assert_eq!(r.status, status, "{body}: {}", r.text());
    }
}

async fn json_of(r: reqwest::Response) -> Value {
    serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
}

/// Over a real connection: a dropped connection is journalled with no status, each faulted
/// entry names its rule, and a spent rule stays listed with its count.
#[tokio::test]
async fn the_journal_marks_what_faults_shaped() {
    let server = qualys_mock::MockServer::start().await.unwrap();
    let base = server.base_url();
    let client = http_client();
    let add = |spec: Value| {
        let client = client.clone();
        let base = base.clone();
        async move {
            let r = client
                .post(format!("{base}/_mock/faults"))
                .header("content-type", "application/json")
                .body(spec.to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201);
            json_of(r).await["id"].as_u64().unwrap()
        }
    };
    let version = format!("{base}/qps/rest/portal/version");
    let dropped = add(json!({"path": "/qps/rest/portal/version", "drop": true, "times": 1})).await;
    let failed = add(json!({"path": "/qps/rest/portal/version", "status": 503, "times": 1})).await;
    for _ in 0..3 {
        let _ = client
            .get(&version)
            .basic_auth("acme_ss2", Some("passwd"))
            .send()
            .await;
    }
    let journal = json_of(
        client
            .get(format!("{base}/_mock/requests"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let entries: Vec<(Value, Value)> = journal["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["status"].clone(), e["fault"].clone()))
        .collect();
    assert_eq!(
        entries,
        vec![
            (Value::Null, json!({"id": dropped, "action": "drop"})),
            (json!(503), json!({"id": failed, "action": "status"})),
            (json!(200), Value::Null),
        ]
    );
    let listed = json_of(
        client
            .get(format!("{base}/_mock/faults"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let counts: Vec<(Value, Value)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["id"].clone(), f["applied"].clone()))
        .collect();
    assert_eq!(
        counts,
        vec![(json!(dropped), json!(1)), (json!(failed), json!(1))]
    );
    server.shutdown().await;
}

/// `serve --frozen-at`: the server starts frozen there, and a full reset brings it back;
/// a time outside 1970..9999 is refused at start.
#[tokio::test]
async fn a_server_started_frozen_returns_there_on_reset() {
    use std::io::{BufRead, BufReader};
    const BIN: &str = env!("CARGO_BIN_EXE_qualys-mock");
    for bad in ["-1", "10000-01-01T00:00:00Z", "yesterday"] {
        let out = std::process::Command::new(BIN)
            .args(["serve", "--port", "0", &format!("--frozen-at={bad}")])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{bad}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--frozen-at"),
            "{bad}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut child = std::process::Command::new(BIN)
        .args(["serve", "--host", "127.0.0.1", "--port", "0"])
        .args(["--frozen-at", "2022-05-10T00:00:00Z", "--log", "warn"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let base = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|line| {
            line.split_whitespace()
                .find(|w| w.starts_with("http://127.0.0.1:"))
                .map(str::to_owned)
        })
        .expect("the banner names the address");
    let client = http_client();
    let clock = || async {
        json_of(
            client
                .get(format!("{base}/_mock/clock"))
                .send()
                .await
                .unwrap(),
        )
        .await
    };
    let start_ms = 1_652_140_800_000_i64;
    let at_start = clock().await;
    assert_eq!(
        (at_start["nowMs"].clone(), at_start["frozen"].clone()),
        (json!(start_ms), json!(true))
    );
    client
        .post(format!("{base}/_mock/clock"))
        .header("content-type", "application/json")
        .body(r#"{"advance": "3d", "freeze": false}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(clock().await["frozen"], false);
    let r = client
        .post(format!("{base}/_mock/reset"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let after = clock().await;
    assert_eq!(
        (after["nowMs"].clone(), after["frozen"].clone()),
        (json!(start_ms), json!(true))
    );
    child.kill().unwrap();
    child.wait().unwrap();
}
