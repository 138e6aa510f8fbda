//! `POST /auth` and the `/sm/v1` bearer extractor.

use axum::http::{Method, StatusCode};
use jsonwebtoken::{Algorithm, EncodingKey, Header};

use crate::helpers::{SECRET, T0_MS, TestApp, jwt_payload};

#[tokio::test]
async fn auth_answers_201_with_a_raw_jwt() {
    let app = TestApp::new().await;
    let r = app
        .login("username=acme_ss2&password=passwd&token=true")
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let token = r.text();
    assert!(
        !token.starts_with('"') && !token.starts_with('{'),
        "{token}"
    );
    assert_eq!(token.split('.').count(), 3);

    let header = jwt_payload(&format!("x.{}", token.split('.').next().unwrap()));
    assert_eq!(header["alg"], "HS512");
    let claims = jwt_payload(&token);
    assert_eq!(claims["sub"], "acme_ss2");
    assert_eq!(claims["iss"], "qas");
    assert_eq!(claims["aud"], "qas");
    assert_eq!(claims["iat"], T0_MS / 1000);
    assert_eq!(claims["exp"], T0_MS / 1000 + 4 * 3600);
    assert_eq!(claims["customerId"], 1001);
    assert_eq!(
        claims["customerUuid"],
        "317df02c-4ad1-55e2-83a3-5646a34fceec"
    );
    assert_eq!(claims["usertype"], "fo");
    assert_eq!(claims["portalUserId"], 101);
    assert!(
        claims["modulesAllowed"]
            .as_array()
            .unwrap()
            .contains(&"CAR".into())
    );
}

#[tokio::test]
async fn auth_accepts_permissions_and_ignores_authorization() {
    let app = TestApp::new().await;
    let r = app
        .request(
            Method::POST,
            "/auth",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("authorization", "Basic Og=="),
            ],
            "username=globex_ss1&password=passwd2&token=true&permissions=true",
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(jwt_payload(&r.text())["customerId"], 2002);
}

#[tokio::test]
async fn auth_400_for_missing_fields_or_token_not_true() {
    let app = TestApp::new().await;
    let cases = [
        (
            "password=passwd&token=true",
            "Missing required parameter(s): username",
        ),
        (
            "username=acme_ss2&token=true",
            "Missing required parameter(s): password",
        ),
        (
            "username=acme_ss2&password=passwd",
            "Missing required parameter(s): token",
        ),
        (
            "",
            "Missing required parameter(s): username, password, token",
        ),
        (
            "username=acme_ss2&password=passwd&token=false",
            "Parameter token must be true",
        ),
    ];
    for (form, message) in cases {
        let r = app.login(form).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{form}");
        let body = r.json();
        assert_eq!(body["status"], 400);
        assert_eq!(body["error"], "Bad Request");
        assert_eq!(body["message"], message, "{form}");
    }
}

#[tokio::test]
async fn auth_401_for_bad_credentials() {
    let app = TestApp::new().await;
    for form in [
        "username=acme_ss2&password=wrong&token=true",
        "username=nobody&password=passwd&token=true",
        "username=acme_ss2&password=passwd2&token=true",
    ] {
        let r = app.login(form).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{form}");
        assert_eq!(r.json()["error"], "Unauthorized");
    }
}

async fn sm_status(app: &TestApp, authorization: Option<&str>) -> (StatusCode, serde_json::Value) {
    let headers: Vec<(&str, &str)> = authorization
        .map(|a| ("authorization", a))
        .into_iter()
        .collect();
    let r = app
        .request(Method::POST, "/sm/v1/no-such-resource", &headers, "")
        .await;
    (r.status, r.json())
}

fn not_authenticated() -> serde_json::Value {
    serde_json::json!({"status": 401, "error": "Unauthorized", "message": "Not authenticated"})
}

fn forge(claims: serde_json::Value, alg: Algorithm, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &Header::new(alg),
        &claims,
        &EncodingKey::from_secret(secret),
    )
    .unwrap()
}

fn claims_for_acme(exp_offset_s: i64) -> serde_json::Value {
    serde_json::json!({
        "sub": "acme_ss2", "iss": "qas", "aud": "qas",
        "iat": T0_MS / 1000, "exp": T0_MS / 1000 + exp_offset_s, "jti": "j",
        "portalUserId": 101, "qwebUserId": 101, "usertype": "fo", "modulesAllowed": [],
        "userUuid": "51fbdb4b-5fb5-fdf6-8141-5a7887ec557b",
        "customerId": 1001, "customerUuid": "317df02c-4ad1-55e2-83a3-5646a34fceec",
        "userSerial": 1
    })
}

#[tokio::test]
async fn a_valid_token_passes_the_gateway() {
    let app = TestApp::new().await;
    let token = app.token("acme_ss2", "passwd").await;
    let r = app
        .car(Method::GET, "/sm/v1/no-such-resource", &token, "")
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    let body = r.json();
    assert_eq!(body["errorCode"], "404");
    assert!(body["body"].is_null());
    // A token forged with the server's secret and the right claims is as good.
    let forged = forge(claims_for_acme(60), Algorithm::HS512, SECRET);
    let (status, _) = sm_status(&app, Some(&format!("bearer {forged}"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_bearer_extractor_rejects_every_bad_token() {
    let app = TestApp::new().await;
    let token = app.token("acme_ss2", "passwd").await;
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[2] = parts[2].chars().rev().collect();
    let bad_signature = parts.join(".");
    let none_alg = {
        use base64::Engine as _;
        let enc = |v: &serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        format!(
            "{}.{}.",
            enc(&serde_json::json!({"alg": "none", "typ": "JWT"})),
            enc(&claims_for_acme(60))
        )
    };
    let mut wrong_aud = claims_for_acme(60);
    wrong_aud["aud"] = "someone-else".into();
    let mut wrong_iss = claims_for_acme(60);
    wrong_iss["iss"] = "someone-else".into();
    let mut unknown_user = claims_for_acme(60);
    unknown_user["portalUserId"] = 999.into();
    let mut other_customer = claims_for_acme(60);
    other_customer["customerId"] = 2002.into();

    let cases: Vec<(&str, Option<String>)> = vec![
        ("missing header", None),
        ("empty bearer", Some("Bearer ".into())),
        ("basic scheme", Some("Basic YWNtZV9zczI6cGFzc3dk".into())),
        ("no scheme", Some(token.clone())),
        ("malformed", Some("Bearer not.a.jwt".into())),
        ("wrong signature", Some(format!("Bearer {bad_signature}"))),
        ("alg none", Some(format!("Bearer {none_alg}"))),
        (
            "HS256",
            Some(format!(
                "Bearer {}",
                forge(claims_for_acme(60), Algorithm::HS256, SECRET)
            )),
        ),
        (
            "other secret",
            Some(format!(
                "Bearer {}",
                forge(claims_for_acme(60), Algorithm::HS512, b"other")
            )),
        ),
        (
            "wrong audience",
            Some(format!(
                "Bearer {}",
                forge(wrong_aud, Algorithm::HS512, SECRET)
            )),
        ),
        (
            "wrong issuer",
            Some(format!(
                "Bearer {}",
                forge(wrong_iss, Algorithm::HS512, SECRET)
            )),
        ),
        (
            "unknown user",
            Some(format!(
                "Bearer {}",
                forge(unknown_user, Algorithm::HS512, SECRET)
            )),
        ),
        (
            "customer mismatch",
            Some(format!(
                "Bearer {}",
                forge(other_customer, Algorithm::HS512, SECRET)
            )),
        ),
    ];
    for (name, header) in cases {
        let (status, body) = sm_status(&app, header.as_deref()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}");
        assert_eq!(body, not_authenticated(), "{name}");
    }
}

#[tokio::test]
async fn tokens_expire_after_four_hours_of_store_time() {
    let app = TestApp::new().await;
    let token = app.token("acme_ss2", "passwd").await;
    let bearer = format!("Bearer {token}");
    app.state.clock().advance(4 * 3600 * 1000 - 1000);
    assert_eq!(
        sm_status(&app, Some(&bearer)).await.0,
        StatusCode::NOT_FOUND
    );
    app.state.clock().advance(1000);
    let (status, body) = sm_status(&app, Some(&bearer)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        serde_json::json!({"status": 401, "error": "Unauthorized", "message": "JWT expired"})
    );
    // An expired token with a bad signature is simply not authenticated.
    let forged = forge(claims_for_acme(-10), Algorithm::HS512, b"other");
    let (_, body) = sm_status(&app, Some(&format!("Bearer {forged}"))).await;
    assert_eq!(body, not_authenticated());
}
