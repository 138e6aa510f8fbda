//! Fidelity to the guides and to real clients (issue 13): challenges, limits, spellings,
//! paths, negotiation — each as a client meets it.

use axum::http::{Method, StatusCode};
use serde_json::json;

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
    app.state
        .control
        .faults
        .add(serde_json::from_value(json!({"path": VERSION, "status": 401, "times": 1})).unwrap());
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
    app.state.control.faults.add(
        serde_json::from_value(json!({"path": "/sm/v1/*", "rateLimit": 0, "times": 1})).unwrap(),
    );
    let r = app.car(Method::GET, "/sm/v1/scripts/16012", &t, "").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let (retry, to_wait) = wait_seconds(&r);
    assert!(retry > 0 && to_wait > 0, "{retry} {to_wait}");
    app.state.control.faults.add(
        serde_json::from_value(json!({"path": "/qps/*", "rateLimit": 0, "times": 1})).unwrap(),
    );
    let r = app.get(VERSION).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() > 0);
}
