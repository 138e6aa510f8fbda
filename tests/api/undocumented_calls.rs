//! What clients written today call beyond the guides: the classic `about.php` login probe,
//! QPS `fields` paths through lists in either spelling, and CAR bodies with keys the
//! endpoint does not take (ignored and journaled; refused under `--strict`).

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{ACME, TestApp, TestResponse, basic};

// --- /msp/about.php ------------------------------------------------------------------------

#[tokio::test]
async fn about_php_answers_a_basic_login_with_the_version_page_and_api_limits() {
    let app = TestApp::new().await;
    for method in [Method::GET, Method::POST] {
        let r = app
            .call_with_basic_auth(method.clone(), "/msp/about.php", ACME)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{method}: {}", r.text());
        assert_eq!(r.header("content-type"), Some("text/xml;charset=UTF-8"));
        for (name, value) in [
            ("x-ratelimit-limit", "300"),
            ("x-ratelimit-window-sec", "3600"),
            ("x-ratelimit-remaining", "300"),
            ("x-ratelimit-towait-sec", "0"),
            ("x-concurrency-limit-limit", "2"),
            ("x-concurrency-limit-running", "1"),
        ] {
            assert_eq!(r.header(name), Some(value), "{method} {name}");
        }
        let text = r.text();
        let mut reader = quick_xml::Reader::from_str(&text);
        let mut elements = Vec::new();
        loop {
            match reader.read_event().expect("well-formed XML") {
                quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                    elements.push(e.name().as_ref().to_owned());
                }
                quick_xml::events::Event::Eof => break,
                _ => {}
            }
        }
        assert_eq!(
            elements,
            [
                "ABOUT",
                "API-VERSION",
                "WEB-VERSION",
                "SCANNER-VERSION",
                "VULNSIGS-VERSION"
            ]
        );
        assert!(
            text.contains(r#"<API-VERSION MAJOR="1" MINOR="4" />"#),
            "{text}"
        );
        assert!(
            text.ends_with(
                "</ABOUT>\n<!-- Generated for username=\"acme_ss2\" date=\"2024-01-01T00:00:00Z\" -->\n"
            ),
            "{text}"
        );
    }
    // The journal names the user the login was verified as.
    let journal = app.journal_for("/msp/about.php").await;
    let users: Vec<&Value> = journal.iter().map(|e| &e["user"]).collect();
    assert!(!users.is_empty(), "{journal:?}");
    assert!(users.iter().all(|u| *u == "acme_ss2"), "{journal:?}");
}

#[tokio::test]
async fn about_php_refuses_a_bad_or_missing_login_as_the_vm_api_does() {
    let app = TestApp::new().await;
    let wrong = basic(ACME.0, "wrong");
    for headers in [
        vec![("authorization", wrong.as_str())],
        vec![("authorization", "Basic !!!")],
        vec![],
    ] {
        let r = app
            .request(Method::GET, "/msp/about.php", &headers, "")
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{headers:?}");
        assert_eq!(
            r.header("www-authenticate"),
            Some(r#"Basic realm="Qualys API", charset="UTF-8""#)
        );
        assert_eq!(r.header("x-ratelimit-limit"), None);
        assert_eq!(
            r.text(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<SIMPLE_RETURN>\n  <RESPONSE>\n    \
             <DATETIME>2024-01-01T00:00:00Z</DATETIME>\n    <TEXT>Bad Login/Password</TEXT>\n  \
             </RESPONSE>\n</SIMPLE_RETURN>\n"
        );
    }
}

/// Assert an answer in the classic XML: `status`, the classic content type and `text` as
/// its `<TEXT>`.
#[track_caller]
fn assert_classic_error(r: &TestResponse, status: StatusCode, text: &str) {
    assert_eq!(r.status, status, "{text}: {}", r.text());
    assert_eq!(
        r.header("content-type"),
        Some("text/xml;charset=UTF-8"),
        "{text}"
    );
    assert!(
        r.text().contains(&format!("<TEXT>{text}</TEXT>")),
        "{}",
        r.text()
    );
}

#[tokio::test]
async fn other_msp_paths_and_methods_answer_in_the_classic_xml() {
    let app = TestApp::new().await;
    let r = app
        .call_with_basic_auth(Method::GET, "/msp/scan_report_list.php", ACME)
        .await;
    assert_classic_error(
        &r,
        StatusCode::NOT_FOUND,
        "No resource at /msp/scan_report_list.php",
    );
    let r = app
        .call_with_basic_auth(Method::DELETE, "/msp/about.php", ACME)
        .await;
    assert_classic_error(
        &r,
        StatusCode::METHOD_NOT_ALLOWED,
        "DELETE is not supported on /msp/about.php",
    );
    assert_eq!(r.header("allow"), Some("GET,HEAD,POST"));
    let r = app.get("/msp/%FF.php").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().starts_with("<?xml"), "{}", r.text());
}

// --- QPS fields ----------------------------------------------------------------------------

async fn records(app: &TestApp, path: &str, json: bool) -> (Value, String) {
    let r = app.cm(Method::GET, path, ACME, "", json).await;
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text());
    let text = r.text();
    let value = if json {
        r.json()
    } else {
        Value::String(text.clone())
    };
    (value, text)
}

#[tokio::test]
async fn fields_through_a_list_answer_alike_with_or_without_the_item_element() {
    let app = TestApp::new().await;
    // (object, id, paths that must answer the same, one field the answer must hold)
    let cases = [
        (
            "rule",
            "1413",
            vec![
                "id,criteria.list.RuleCriteria.propertyName",
                "id,criteria.list.propertyName",
                "id,criteria.propertyName",
            ],
            "propertyName",
        ),
        (
            "ruleset",
            "4001",
            vec![
                "title,rule.list.Rule.id",
                "title,rule.list.id",
                "title,rule.id",
            ],
            "<Rule>",
        ),
        (
            "alert",
            "246213",
            vec!["id,profile.title", "profile.title,id"],
            "<title>",
        ),
        (
            "profile",
            "7401",
            vec!["ruleset.title,id", "id,ruleset.title"],
            "<title>",
        ),
    ];
    for (object, id, paths, must_hold) in cases {
        for json in [false, true] {
            let mut answers = Vec::new();
            for op in ["get", "search"] {
                for fields in &paths {
                    let path = if op == "get" {
                        format!("/qps/rest/1.0/get/cm/{object}/{id}?fields={fields}")
                    } else {
                        format!("/qps/rest/1.0/search/cm/{object}/?fields={fields}")
                    };
                    let (value, text) = records(&app, &path, json).await;
                    if !json {
                        assert!(text.contains(must_hold), "{path}: {text}");
                        assert!(
                            !text.contains(&format!("<{}/>", object_element(object)))
                                && !text.contains("<Rule/>")
                                && !text.contains("<RuleCriteria/>"),
                            "hollow records: {path}: {text}"
                        );
                    }
                    answers.push((op, path, value));
                }
            }
            for (op, path, value) in &answers {
                let first = answers.iter().find(|(o, _, _)| o == op).unwrap();
                assert_eq!(value, &first.2, "{path} differs from {}", first.1);
            }
        }
    }
}

fn object_element(object: &str) -> &'static str {
    match object {
        "alert" => "Alert",
        "profile" => "Profile",
        "rule" => "Rule",
        _ => "RuleSet",
    }
}

#[tokio::test]
async fn a_fields_path_the_object_lacks_is_an_invalid_request() {
    let app = TestApp::new().await;
    for (object, id, fields) in [
        ("alert", "246213", "id,colour"),
        ("profile", "7401", "ruleset.list.Rule.id"),
        ("rule", "6002", "criteria.list.Rule.propertyName"),
        ("ruleset", "4001", "rule.list.Rule.criteria"),
    ] {
        for path in [
            format!("/qps/rest/1.0/get/cm/{object}/{id}?fields={fields}"),
            format!("/qps/rest/1.0/search/cm/{object}/?fields={fields}"),
        ] {
            for json in [false, true] {
                let r = app.cm(Method::POST, &path, ACME, "", json).await;
                assert_eq!(r.status, StatusCode::OK, "{path}");
                let text = r.text();
                if json {
                    let sr = &r.json()["ServiceResponse"];
                    assert_eq!(sr["responseCode"], "INVALID_REQUEST", "{path}: {text}");
                    let message = sr["responseErrorDetails"]["errorMessage"]
                        .as_str()
                        .unwrap_or_default();
                    let bad = fields.split(',').next_back().unwrap();
                    assert!(
                        message.starts_with(&format!("Fields: Invalid field ({bad}).")),
                        "{message}"
                    );
                    assert!(sr.get("data").is_none(), "{text}");
                } else {
                    assert!(
                        text.contains("<responseCode>INVALID_REQUEST</responseCode>"),
                        "{path}: {text}"
                    );
                }
            }
        }
    }
    let r = app
        .cm(
            Method::POST,
            "/qps/rest/1.0/download/cm/alert/?format=csv&fields=id,colour",
            ACME,
            "",
            false,
        )
        .await;
    assert!(
        r.text().contains("Fields: Invalid field (colour)."),
        "{}",
        r.text()
    );
}

// --- CAR bodies: lenient by default, strict on request -------------------------------------

/// The journal's entry for the last request to `path` (`null` when there is none).
async fn last_journaled(app: &TestApp, path: &str) -> Value {
    app.journal_for(path)
        .await
        .last()
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn a_car_body_key_the_endpoint_does_not_take_is_ignored_and_journaled() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    let r = app
        .car(
            Method::POST,
            "/sm/v1/scripts/search",
            &t,
            r#"{"filter": "status:APPROVED", "pageSize": 1, "colour": "red", "PageNumber": 0}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["body"]["list"].as_array().map(Vec::len), Some(1));
    let entry = last_journaled(&app, "/sm/v1/scripts/search").await;
    assert_eq!(entry["ignoredKeys"], json!(["colour"]), "{entry}");
    let r = app
        .car(
            Method::POST,
            "/sm/v1/scripts/72648/execute",
            &t,
            r#"{"assetIds": [20452610], "assetIdz": [1], "rebootAfterScriptExecution": false}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let entry = last_journaled(&app, "/sm/v1/scripts/72648/execute").await;
    assert_eq!(entry["ignoredKeys"], json!(["assetIdz"]), "{entry}");
    // A body with only known keys lists none.
    app.car(
        Method::POST,
        "/sm/v1/assets/search",
        &t,
        r#"{"pageSize": 1}"#,
    )
    .await;
    let entry = last_journaled(&app, "/sm/v1/assets/search").await;
    assert!(entry.get("ignoredKeys").is_none(), "{entry}");
}

#[tokio::test]
async fn under_strict_a_car_body_key_the_endpoint_does_not_take_is_refused() {
    let app = TestApp::with_config(qualys_mock::ServerConfig {
        strict: true,
        ..TestApp::config()
    })
    .await;
    let t = app.acme().await;
    let cases = [
        (
            "/sm/v1/scripts/search",
            r#"{"filter": "status:APPROVED", "colour": "red"}"#,
            "Unknown field 'colour' in the request body; accepted: filter, qql, pageNumber, \
             pageSize, sort, includeScriptResult",
        ),
        (
            "/sm/v1/scripts/72648/execute",
            r#"{"assetIds": [20452610], "assetIdz": [1]}"#,
            "Unknown field 'assetIdz' in the request body; accepted: assetIds, assetTagIds, \
             excludedAssetIds, testMode, testTags, testAssets, user, \
             executionPolicyBypassEnabled, description, rebootAfterScriptExecution, \
             rebootDelayInSeconds, rebootDelayTimeUnit",
        ),
    ];
    for (path, body, message) in cases {
        let r = app.car(Method::POST, path, &t, body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.text());
        assert_eq!(
            r.json(),
            json!({"errorCode": "400", "message": message, "body": null})
        );
    }
    // Script create and update and the schedule search follow the same rule.
    for (method, path, body) in [
        (
            Method::POST,
            "/sm/v5/script",
            r#"{"title": "S", "typeId": 1, "languageId": 2, "content": "ZWNobwo=", "colour": 1}"#,
        ),
        (
            Method::PATCH,
            "/sm/v4/script/16012",
            r#"{"title": "T", "colour": 1}"#,
        ),
        (Method::POST, "/sm/v1/scheduler/search", r#"{"colour": 1}"#),
    ] {
        let r = app.car(method, path, &t, body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.text());
        assert!(
            r.text().contains("Unknown field 'colour'"),
            "{path}: {}",
            r.text()
        );
    }
    // Known keys in any case the guide writes them still pass.
    let r = app
        .car(
            Method::POST,
            "/sm/v1/scripts/search",
            &t,
            r#"{"Filter": "status:APPROVED", "PageSize": 1}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

#[tokio::test]
async fn a_fault_on_about_php_answers_in_the_classic_xml() {
    let app = TestApp::new().await;
    let add = |spec: Value| {
        let app = &app;
        async move {
            let r = app.control(Method::POST, "/_mock/faults", spec).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        }
    };
    add(json!({"path": "/msp/about.php", "status": 503, "times": 1})).await;
    let r = app
        .call_with_basic_auth(Method::GET, "/msp/about.php", ACME)
        .await;
    assert_classic_error(
        &r,
        StatusCode::SERVICE_UNAVAILABLE,
        "Simulated failure (503 Service Unavailable)",
    );
    add(json!({"path": "/msp/about.php", "rateLimit": 30, "times": 1})).await;
    let r = app
        .call_with_basic_auth(Method::GET, "/msp/about.php", ACME)
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(r.text().contains("<CODE>1965</CODE>"), "{}", r.text());
    assert_eq!(r.header("x-ratelimit-towait-sec"), Some("30"));
    assert_eq!(r.header("x-ratelimit-remaining"), Some("0"));
    assert_eq!(r.header("retry-after"), Some("30"));
    let r = app
        .call_with_basic_auth(Method::GET, "/msp/about.php", ACME)
        .await;
    assert_eq!(r.status, StatusCode::OK, "the rules fired their one time");
}

#[tokio::test]
async fn an_in_process_server_can_be_strict() {
    for strict in [false, true] {
        let builder = qualys_mock::MockServer::builder();
        let server = if strict { builder.strict() } else { builder }
            .start()
            .await
            .unwrap();
        let http = crate::helpers::http_client();
        let (user, password) = server.credentials();
        let token =
            crate::helpers::token_over_http(&http, &server.base_url(), user, password).await;
        let status = http
            .post(format!("{}/sm/v1/scripts/search", server.base_url()))
            .bearer_auth(token)
            .body(r#"{"colour": "red"}"#)
            .send()
            .await
            .unwrap()
            .status();
        let expected = if strict { 400 } else { 200 };
        assert_eq!(status.as_u16(), expected, "strict {strict}");
        server.shutdown().await;
    }
}
