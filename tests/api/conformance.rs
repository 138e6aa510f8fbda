//! Conformance to the guides and to real clients: challenges, limits, spellings,
//! paths, negotiation — each as a client meets it.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, basic};

const VERSION: &str = "/qps/rest/portal/version";

fn assert_basic_challenge(r: &crate::helpers::TestResponse) {
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text());
    let challenge = r
        .header("www-authenticate")
        .unwrap_or_else(|| panic!("a CM 401 without a challenge: {:?}", r.headers));
    assert!(
        challenge.starts_with("Basic realm=\""),
        "not a Basic challenge with a realm: {challenge}"
    );
}

#[tokio::test]
async fn cm_401s_challenge_for_basic_credentials() {
    let app = TestApp::new().await;
    // No credentials (what urllib's HTTPBasicAuthHandler, curl --anyauth, Java's
    // Authenticator send first): a challenge, in XML and in JSON.
    assert_basic_challenge(&app.get(VERSION).await);
    let r = app
        .request(
            Method::POST,
            "/qps/rest/1.0/search/cm/alert/",
            &[("accept", "application/json")],
            "",
        )
        .await;
    assert_basic_challenge(&r);
    assert_eq!(
        r.json()["ServiceResponse"]["responseCode"],
        "AUTH_CREDENTIALS_NEEDED"
    );
    // Wrong or malformed credentials: challenged again.
    let wrong = basic("acme_ss2", "nope");
    assert_basic_challenge(
        &app.request(Method::GET, VERSION, &[("authorization", &wrong)], "")
            .await,
    );
    assert_basic_challenge(
        &app.request(Method::GET, VERSION, &[("authorization", "Basic !!!")], "")
            .await,
    );
    // The answer to the credentials the challenge asked for.
    let right = basic("acme_ss2", "passwd");
    let r = app
        .request(Method::GET, VERSION, &[("authorization", &right)], "")
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("www-authenticate").is_none());
    // A 401 injected by a fault rule on CM challenges too.
    app.control(
        Method::POST,
        "/_mock/faults",
        json!({"path": VERSION, "status": 401, "times": 1}),
    )
    .await;
    assert_basic_challenge(
        &app.request(Method::GET, VERSION, &[("authorization", &right)], "")
            .await,
    );
}

#[tokio::test]
async fn car_bearer_401s_challenge_for_a_bearer_token() {
    let app = TestApp::new().await;
    for auth in [None, Some("Bearer not.a.jwt")] {
        let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", *a)).collect();
        let r = app
            .request(Method::GET, "/sm/v1/scripts/16012", &headers, "")
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        let challenge = r.header("www-authenticate").unwrap_or_default();
        assert!(challenge.starts_with("Bearer"), "{challenge:?}");
        assert_eq!(r.json()["message"], "Not authenticated");
    }
    // `/auth` is a form login, not HTTP authentication: no challenge there.
    let r = app
        .login("username=acme_ss2&password=wrong&token=true")
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.header("www-authenticate").is_none());
}

#[tokio::test]
async fn ordinary_http_headers_do_not_break_cm() {
    let app = TestApp::new().await;
    let auth = basic("acme_ss2", "passwd");
    let cookie = format!("session={}", "c".repeat(2048));
    let agent = format!("qualys-client/1.0 ({})", "a".repeat(600));
    let request_id = "r".repeat(1500);
    let r = app
        .request(
            Method::POST,
            "/qps/rest/1.0/search/cm/alert/",
            &[
                ("authorization", &auth),
                ("content-type", "text/xml"),
                ("cookie", &cookie),
                ("user-agent", &agent),
                ("x-request-id", &request_id),
            ],
            "<ServiceRequest><filters><Criteria field=\"ipAddress\" operator=\"EQUALS\">10.10.30.70</Criteria></filters></ServiceRequest>",
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.text().contains("<responseCode>SUCCESS</responseCode>"),
        "{}",
        r.text()
    );
    assert!(r.text().contains("<id>244402</id>"));
}

fn wait_seconds(r: &crate::helpers::TestResponse) -> (u64, u64) {
    let read = |name| {
        r.header(name)
            .unwrap_or_else(|| panic!("no {name} on a 429"))
            .parse::<u64>()
            .unwrap()
    };
    (read("retry-after"), read("x-ratelimit-towait-sec"))
}

#[tokio::test]
async fn every_429_says_to_wait_more_than_zero_seconds() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    // The script limit on clone.
    let count = app
        .car(Method::POST, "/sm/v1/scripts/search", &t, "")
        .await
        .json()["body"]["totalCount"]
        .as_u64()
        .unwrap();
    let mut limits = app.state.limits();
    limits.script_limit = count;
    app.state.set_limits(limits);
    let r = app
        .car(
            Method::POST,
            "/sm/v1/scripts/16012/clone",
            &t,
            r#"{"scriptTitle": "One too many"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let (retry, to_wait) = wait_seconds(&r);
    assert!(retry > 0 && to_wait > 0, "{retry} {to_wait}");
    // A fault's rateLimit of 0 still says to wait, on CAR and on CM.
    app.control(
        Method::POST,
        "/_mock/faults",
        json!({"path": "/sm/v1/*", "rateLimit": 0, "times": 1}),
    )
    .await;
    let r = app.car(Method::GET, "/sm/v1/scripts/16012", &t, "").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let (retry, to_wait) = wait_seconds(&r);
    assert!(retry > 0 && to_wait > 0, "{retry} {to_wait}");
    app.control(
        Method::POST,
        "/_mock/faults",
        json!({"path": "/qps/*", "rateLimit": 0, "times": 1}),
    )
    .await;
    let r = app.get(VERSION).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() > 0);
}

#[tokio::test]
async fn the_guides_filter_spelling_is_taken_and_unknown_keys_are_ignored_or_refused_when_strict() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    let total = |r: crate::helpers::TestResponse| {
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        r.json()["body"]["totalCount"].as_u64().unwrap()
    };
    let lower = total(
        app.car(
            Method::POST,
            "/sm/v1/scripts/search",
            &t,
            r#"{"filter": "status:REJECTED"}"#,
        )
        .await,
    );
    let all = total(
        app.car(Method::POST, "/sm/v1/scripts/search", &t, "{}")
            .await,
    );
    assert!(lower < all);
    // "Filter" as the guide's input tables spell it; other documented keys in any case.
    for body in [
        r#"{"Filter": "status:REJECTED"}"#,
        r#"{"FILTER": "status:REJECTED", "PageSize": "50", "PAGENUMBER": 0}"#,
        r#"{"QQL": "status:REJECTED"}"#,
    ] {
        assert_eq!(
            total(
                app.car(Method::POST, "/sm/v1/scripts/search", &t, body)
                    .await
            ),
            lower,
            "{body}"
        );
    }
    let r = app
        .car(
            Method::POST,
            "/sm/v1/jobs/search",
            &t,
            r#"{"Filter": "id:80507", "StartAt": "2020-01-01"}"#,
        )
        .await;
    assert_eq!(total(r), 1);
    // A key the endpoint does not take is ignored and journaled; under --strict it is a 400
    // that names it, never a search of everything.
    let strict = TestApp::with_config(qualys_mock::ServerConfig {
        strict: true,
        ..TestApp::config()
    })
    .await;
    let strict_token = strict.acme().await;
    for (path, body, key) in [
        (
            "/sm/v1/scripts/search",
            r#"{"filtre": "status:REJECTED"}"#,
            "filtre",
        ),
        ("/sm/v1/assets/search", r#"{"query": "x"}"#, "query"),
        // activities take qql and startDate/endDate, not startAt.
        (
            "/sm/v1/scripts/activities",
            r#"{"startAt": "2022-01-01"}"#,
            "startAt",
        ),
    ] {
        let r = app.car(Method::POST, path, &t, body).await;
        assert_eq!(r.status, StatusCode::OK, "{path} {body}: {}", r.text());
        let entry = app
            .journal_for(path)
            .await
            .pop()
            .unwrap_or_else(|| panic!("{path}: not journaled"));
        assert_eq!(entry["ignoredKeys"], json!([key]), "{entry}");
        let r = strict.car(Method::POST, path, &strict_token, body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path} {body}");
        let message = r.json()["message"].as_str().unwrap().to_owned();
        assert!(message.contains(&format!("'{key}'")), "{message}");
        assert_eq!(r.json()["errorCode"], "400");
    }
    let r = app
        .car(
            Method::POST,
            "/sm/v1/scripts/search",
            &t,
            r#"{"filter": "status:REJECTED", "Filter": "status:APPROVED"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn car_paths_take_a_trailing_slash() {
    let app = TestApp::new().await;
    let r = app
        .request(
            Method::POST,
            "/auth/",
            &[("content-type", "application/x-www-form-urlencoded")],
            "username=acme_ss2&password=passwd&token=true",
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let t = r.text();
    for (method, path, body) in [
        (Method::GET, "/sm/v1/scripts/16012/", ""),
        (Method::POST, "/sm/v1/scripts/search/", "{}"),
        (Method::GET, "/sm/v1/scripts/export/?ids=16515", ""),
        (Method::POST, "/sm/v1/scripts/activities/", "{}"),
        (Method::POST, "/sm/v1/assets/search/", "{}"),
        (Method::POST, "/sm/v1/assettags/search/", "{}"),
        (Method::POST, "/sm/v1/jobs/search/", "{}"),
        (Method::POST, "/sm/v1/assetjobs/search/", "{}"),
    ] {
        let with = app.car(method.clone(), path, &t, body).await;
        let without = app
            .car(
                method,
                path.replace("/?", "?").trim_end_matches('/'),
                &t,
                body,
            )
            .await;
        assert_eq!(with.status, StatusCode::OK, "{path}: {}", with.text());
        assert_eq!(with.body, without.body, "{path}");
    }
    let r = app
        .car(
            Method::POST,
            "/sm/v1/scripts/16012/clone/",
            &t,
            r#"{"scriptTitle": "Cloned through a slash"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
}

#[tokio::test]
async fn fields_limit_downloads_too() {
    let app = TestApp::new().await;
    let auth = basic("acme_ss2", "passwd");
    let body = "<ServiceRequest><filters><Criteria field=\"id\" operator=\"IN\">237124,238503</Criteria></filters></ServiceRequest>";
    let download = async |query: &str| {
        let r = app
            .request(
                Method::POST,
                &format!("/qps/rest/1.0/download/cm/alert/?{query}"),
                &[("authorization", &auth), ("content-type", "text/xml")],
                body,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        r.text()
    };
    assert_eq!(
        download("format=csv&fields=id,profile.title,eventDate").await,
        "\"AlertId\",\"Profile Name\",\"Event Date\"\n\
         \"237124\",\"All Critical\",\"2017-12-31 15:57:21\"\n\
         \"238503\",\"All Critical\",\"2017-01-16 19:42:56\"\n"
    );
    // A parent keeps all its columns.
    assert_eq!(
        download("format=csv&fields=profile").await,
        "\"ProfileId\",\"Profile Name\"\n\"7401\",\"All Critical\"\n\"7401\",\"All Critical\"\n"
    );
    let cef = download("format=cef&fields=hostname,alertInfo.port").await;
    assert!(
        cef.lines().any(|l| l
            == "CEF:0|QUALYS|QualysGuard|CM-1.30.0.0|PORT|PORT_OPEN|0|dhost=xp-30-32.qualys.com dpt=445"),
        "{cef}"
    );
    // Without fields, everything.
    assert!(
        download("format=cef")
            .await
            .contains("cs2protocol=tcp cs3defaultService=microsoft-ds")
    );
}

#[tokio::test]
async fn cm_content_negotiation_honours_q_values() {
    let app = TestApp::new().await;
    let auth = basic("acme_ss2", "passwd");
    for (accept, content_type) in [
        ("application/xml, application/json;q=0.1", "application/xml"),
        ("application/json;q=0.2, text/xml", "application/xml"),
        (
            "application/xml;q=0.5, application/json",
            "application/json",
        ),
        ("application/json", "application/json"),
        ("*/*", "application/xml"),
    ] {
        let r = app
            .request(
                Method::GET,
                "/qps/rest/1.0/get/cm/alert/246213",
                &[("authorization", &auth), ("accept", accept)],
                "",
            )
            .await;
        assert_eq!(r.header("content-type"), Some(content_type), "{accept}");
    }
}

#[tokio::test]
async fn the_scheduler_refuses_what_execute_refuses() {
    let app = TestApp::new().await;
    app.state
        .clock()
        .set(crate::helpers::ms("2022-05-10T00:00:00Z"));
    let t = app.acme().await;
    let schedule = |title: &str, script: i64, assets: Value, tags: Value| {
        json!({
            "activate": true, "assets": assets, "assetTags": tags, "excludedAssets": [],
            "scripts": [{"id": script, "title": "x"}], "title": title,
            "startDate": "2022-05-11", "endDate": "2022-05-20", "startTime": "02:00:00",
            "scheduleType": "DAILY"
        })
        .to_string()
    };
    let one_asset = json!([{"id": 20452610}]);
    for (title, script, assets, tags, message) in [
        (
            "Unknown asset",
            72648,
            json!([{"id": 20452610}, {"id": 999}]),
            json!([]),
            "Asset(s) not found: 999",
        ),
        (
            "Unknown tag",
            72648,
            json!([]),
            json!([{"id": 424242}]),
            "Asset tag(s) not found: 424242",
        ),
        (
            "Rejected script",
            72524,
            one_asset.clone(),
            json!([]),
            "Script is not approved (status REJECTED); only approved scripts can be scheduled",
        ),
        (
            "Pending script",
            16016,
            one_asset.clone(),
            json!([]),
            "Script is not approved (status PENDING_REVIEW); only approved scripts can be scheduled",
        ),
        (
            "Deprecated script",
            80001,
            one_asset.clone(),
            json!([]),
            "Script is deprecated",
        ),
    ] {
        let r = app
            .car(
                Method::POST,
                "/sm/v1/scripts/scheduler",
                &t,
                &schedule(title, script, assets, tags),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{title}: {}", r.text());
        assert_eq!(r.json()["message"], message, "{title}");
    }
    // An id of no asset of this customer.
    let r = app
        .car(
            Method::POST,
            "/sm/v1/scripts/scheduler",
            &t,
            &schedule("Globex asset", 72648, json!([{"id": 1}]), json!([])),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // What execute accepts, the scheduler accepts.
    let r = app
        .car(
            Method::POST,
            "/sm/v1/scripts/scheduler",
            &t,
            &schedule("Fine", 72648, one_asset, json!([])),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
}

/// The digits after the point of every `key` number in a JSON text.
fn decimals(text: &str, key: &str) -> Vec<usize> {
    let needle = format!("\"{key}\":");
    text.match_indices(&needle)
        .map(|(i, _)| {
            let rest = &text[i + needle.len()..];
            let number: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == '-' || *c == 'e')
                .collect();
            assert!(!number.contains('e'), "{number}");
            number.split_once('.').map_or(0, |(_, d)| d.len())
        })
        .collect()
}

#[tokio::test]
async fn timings_are_whole_microseconds_without_float_noise() {
    let app = TestApp::new().await;
    for _ in 0..5 {
        let r = app.request(Method::POST, "/_mock/reset", &[], "").await;
        assert_eq!(r.status, StatusCode::OK);
        let d = decimals(&r.text(), "elapsedMs");
        assert_eq!(d.len(), 1, "{}", r.text());
        assert!(d[0] <= 3, "{}", r.text());
    }
    for _ in 0..5 {
        app.get("/qps/rest/portal/version").await;
    }
    let r = app.get("/_mock/requests").await;
    let d = decimals(&r.text(), "latencyMs");
    assert!(d.len() >= 5, "{}", r.text());
    assert!(d.iter().all(|d| *d <= 3), "{}", r.text());
}

#[tokio::test]
async fn clock_answers_carry_iso_8601() {
    let app = TestApp::new().await;
    let r = app.get("/_mock/clock").await;
    assert_eq!(r.json()["now"], "2024-01-01T00:00:00.000Z");
    assert_eq!(r.json()["nowMs"], crate::helpers::T0_MS);
    let r = app
        .request(
            Method::POST,
            "/_mock/clock",
            &[("content-type", "application/json")],
            r#"{"set": "2022-05-10T00:00:00Z", "advance": "1500ms"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["now"], "2022-05-10T00:00:01.500Z");
    let r = app.get("/_mock/health").await;
    assert_eq!(r.json()["clock"]["now"], "2022-05-10T00:00:01.500Z");
}

#[tokio::test]
async fn a_dropped_connection_answers_nothing_at_all() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = qualys_mock::MockServer::start().await.unwrap();
    server
        .add_fault(
            serde_json::from_value(json!({"path": VERSION, "drop": true, "times": 1})).unwrap(),
        )
        .unwrap();
    let addr = server.base_url().trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stream
        .write_all(
            format!("GET {VERSION} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic YWNtZV9zczI6cGFzc3dk\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
    let mut received = Vec::new();
    // The server closes (or resets) the connection without a byte of answer.
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.read_to_end(&mut received),
    )
    .await
    .expect("the connection is closed, not left hanging");
    assert!(
        received.is_empty(),
        "{}",
        String::from_utf8_lossy(&received)
    );
    server.shutdown().await;
}

/// The guide's own sort examples are taken as written.
#[tokio::test]
async fn the_guides_sort_examples_are_taken() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    for (path, body) in [
        (
            "/sm/v1/scripts/activities",
            r#"{"qql":"activity: CREATE","sort":"[{\"Created.dateTime\":\"asc\"}]"}"#,
        ),
        (
            "/sm/v1/scripts/activities",
            r#"{"sort":"[{\"Category\":\"asc\"}]"}"#,
        ),
        (
            "/sm/v1/jobs/search",
            r#"{"sort":"[{\"Category\":\"asc\"}]"}"#,
        ),
        (
            "/sm/v1/jobs/search",
            r#"{"sort":"[{\"Created.dateTime\":\"asc\"}]"}"#,
        ),
        (
            "/sm/v1/assetjobs/search",
            r#"{"sort":"[{\"Category\":\"asc\"}]"}"#,
        ),
        (
            "/sm/v1/assetjobs/search",
            r#"{"sort":"[{\"Created.dateTime\": \"asc\"}]"}"#,
        ),
        ("/sm/v1/scripts/search", r#"{"sort":"[{\"ID\":\"desc\"}]"}"#),
    ] {
        let r = app.car(Method::POST, path, &t, body).await;
        assert_eq!(r.status, StatusCode::OK, "{path} {body}: {}", r.text());
    }
    // Activities oldest first by Created.dateTime.
    let r = app
        .car(
            Method::POST,
            "/sm/v1/scripts/activities",
            &t,
            r#"{"qql":"activity: CREATE","sort":"[{\"Created.dateTime\":\"asc\"}]","pageSize":100}"#,
        )
        .await;
    let dates: Vec<i64> = r.json()["auditRecords"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["createdDate"].as_i64().unwrap())
        .collect();
    assert!(dates.windows(2).all(|w| w[0] <= w[1]), "{dates:?}");
}

#[tokio::test]
async fn injected_event_details_stay_valid_xml() {
    let app = TestApp::new().await;
    let inject = async |info: serde_json::Value| {
        app.request(
            Method::POST,
            "/_mock/cm/events",
            &[("content-type", "application/json")],
            json!({"customer": "Acme", "events": [{"eventType": "PORT_OPEN",
                "ipAddress": "10.10.30.99", "hostname": "new.acme.corp", "info": info}]})
            .to_string(),
        )
        .await
    };
    for (info, problem) in [
        (json!({"a b": 1}), "is not a name"),
        (json!({"<x>": 1}), "is not a name"),
        (json!({"1port": 1}), "is not a name"),
        (json!({"port": "high"}), "info.port must be a whole number"),
        (json!({"qid": 1.5}), "info.qid must be a whole number"),
        (
            json!({"protocol": {"nested": true}}),
            "must be a string, number or boolean",
        ),
    ] {
        let r = inject(info.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{info}: {}", r.text());
        assert!(r.text().contains(problem), "{info}: {}", r.text());
    }
    let r = inject(json!({"port": 8443, "protocol": "tcp", "customDetail": "kept"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["alerts"][0]["Alert"]["id"].as_i64().unwrap();
    // The alert's XML validates (the helper checks every XML answer against its schema).
    let auth = basic("acme_ss2", "passwd");
    let r = app
        .request(
            Method::GET,
            &format!("/qps/rest/1.0/get/cm/alert/{id}"),
            &[("authorization", &auth)],
            "",
        )
        .await;
    assert!(
        r.text().contains("<customDetail>kept</customDetail>"),
        "{}",
        r.text()
    );
}

/// XML answers on the HTTPS port name their schemas at `https://`.
#[tokio::test]
async fn https_answers_name_https_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("ca.pem");
    let args = qualys_mock::ServerConfig {
        https: crate::helpers::generated_https(
            &[],
            Some(std::path::Path::new(pem.to_str().unwrap())),
        ),
        ..crate::helpers::serve_config()
    };
    let running = crate::helpers::launch(args.clone()).await;
    let port = running.https_addr().unwrap().port();
    let r = crate::listener::client_trusting(&pem)
        .get(format!(
            "https://localhost:{port}/qps/rest/1.0/get/cm/alert/246213"
        ))
        .basic_auth("acme_ss2", Some("passwd"))
        .send()
        .await
        .unwrap();
    let xml = r.text().await.unwrap();
    crate::xsd::validate(&xml, &format!("https://localhost:{port}"));
    running.shutdown().await;
}

/// An alert injected for a seeded customer gets an id in its own range, not in a copied
/// customer's (`idOffset` blocks).
#[tokio::test]
async fn injected_alerts_keep_to_their_customers_id_range() {
    let app = TestApp::new().await;
    let post = async |path: &str, body: serde_json::Value| {
        let r = app
            .request(
                Method::POST,
                path,
                &[("content-type", "application/json")],
                body.to_string(),
            )
            .await;
        assert!(r.status.is_success(), "{path}: {}", r.text());
        r.json()
    };
    let copy = post(
        "/_mock/customers",
        json!({"name": "Hooli", "username": "hooli", "password": "pw", "copyOf": "Acme"}),
    )
    .await;
    let offset = copy["idOffset"].as_i64().unwrap();
    assert!(offset > 0);
    let event = |customer: &str| {
        json!({"customer": customer, "events": [{"eventType": "PORT_OPEN",
            "ipAddress": "10.10.30.99", "info": {"port": 8443}}]})
    };
    let acme = post("/_mock/cm/events", event("Acme")).await["alerts"][0]["Alert"]["id"]
        .as_i64()
        .unwrap();
    assert!(acme < offset, "Acme's new alert {acme} is in Hooli's range");
    let hooli = post("/_mock/cm/events", event("Hooli")).await["alerts"][0]["Alert"]["id"]
        .as_i64()
        .unwrap();
    assert!(
        (offset..offset + 1_000_000_000).contains(&hooli),
        "Hooli's new alert {hooli} is outside its range"
    );
    assert_ne!(acme, hooli);
}

/// A real challenge-driven client: Python's `urllib` with `HTTPBasicAuthHandler` sends no
/// credentials until a 401 carries a `Basic` challenge. Skipped (loudly) without python3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_urllib_logs_in_after_the_challenge() {
    let found = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        crate::helpers::skip("python3 is not installed: the urllib challenge test did not run");
        return;
    }
    let server = qualys_mock::MockServer::start().await.unwrap();
    let url = format!("{}{VERSION}", server.base_url());
    let script = r#"
import sys, urllib.request
url = sys.argv[1]
mgr = urllib.request.HTTPPasswordMgrWithDefaultRealm()
mgr.add_password(None, url, "acme_ss2", "passwd")
opener = urllib.request.build_opener(urllib.request.HTTPBasicAuthHandler(mgr))
body = opener.open(url, timeout=10).read().decode()
print("SUCCESS" if "<responseCode>SUCCESS</responseCode>" in body else body)
"#;
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .args(["-c", script, &url])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "SUCCESS",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // It asked without credentials first, then with them.
    let journal = server.requests(&Default::default());
    let statuses: Vec<Option<u16>> = journal.iter().map(|e| e.status).collect();
    assert_eq!(statuses, vec![Some(401), Some(200)]);
    server.shutdown().await;
}

/// `processedTime` (the guide: jobs and asset jobs filter "on the time when the jobs are
/// generated (dateTime) or ... processed at Qualys (processedTime)"), in filters and sorts.
#[tokio::test]
async fn processed_time_filters_and_sorts_jobs() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    for path in ["/sm/v1/jobs/search", "/sm/v1/assetjobs/search"] {
        for body in [
            r#"{"filter": "processedTime:[2000-01-01 .. 2100-01-01]", "pageSize": 1000}"#,
            r#"{"sort": "[{\"processedTime\": \"desc\"}]"}"#,
        ] {
            let r = app.car(Method::POST, path, &t, body).await;
            assert_eq!(r.status, StatusCode::OK, "{path} {body}: {}", r.text());
        }
        let all = app
            .car(Method::POST, path, &t, r#"{"pageSize": 1000}"#)
            .await
            .json()["body"]["totalCount"]
            .as_u64()
            .unwrap();
        let none = app
            .car(
                Method::POST,
                path,
                &t,
                r#"{"filter": "processedTime < 2000-01-01"}"#,
            )
            .await
            .json()["body"]["totalCount"]
            .as_u64()
            .unwrap();
        assert!(all > 0 && none == 0, "{path}: {all} {none}");
    }
}
