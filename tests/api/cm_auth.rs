//! QPS credentials (Basic, `user`/`password` headers) and their errors, on
//! `/qps/rest/portal/version`.

use axum::http::{Method, StatusCode};

use crate::helpers::{TestApp, basic};

const VERSION: &str = "/qps/rest/portal/version";

#[tokio::test]
async fn basic_auth_gets_the_version_in_xml() {
    let app = TestApp::new().await;
    let auth = basic("acme_ss2", "passwd");
    let r = app
        .request(Method::GET, VERSION, &[("authorization", &auth)], "")
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), Some("application/xml"));
    let xml = r.text();
    assert!(
        xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
        "{xml}"
    );
    assert!(
        xml.contains("xsi:noNamespaceSchemaLocation=\"http://localhost:8080/qps/xsd/version.xsd\"")
    );
    assert!(xml.contains("<responseCode>SUCCESS</responseCode>"));
    assert!(xml.contains("<count>1</count>"));
    assert!(!xml.contains("hasMoreRecords"));
    assert!(xml.contains("<CM-VERSION>1.30.0.0</CM-VERSION>"));
    assert!(xml.contains("<QUESTIONNAIRE__V2-VERSION>1.10.1.0</QUESTIONNAIRE__V2-VERSION>"));
    assert!(xml.contains("<WEB-VERSION>10.3.0.2-2</WEB-VERSION>"));
}

#[tokio::test]
async fn user_and_password_headers_work_and_json_is_served() {
    let app = TestApp::new().await;
    for path in [VERSION, "/qps/rest/portal/version/"] {
        for method in [Method::GET, Method::POST] {
            let r = app
                .request(
                    method.clone(),
                    path,
                    &[
                        ("user", "globex_ss1"),
                        ("password", "passwd2"),
                        ("accept", "application/json"),
                        ("content-type", "text/xml"),
                    ],
                    "",
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{method} {path}");
            let body = r.json();
            let sr = &body["ServiceResponse"];
            assert_eq!(sr["responseCode"], "SUCCESS");
            assert_eq!(sr["count"], 1);
            assert_eq!(
                sr["data"][0]["Portal-Version"]["QUESTIONNAIRE_V2-VERSION"],
                "1.10.1.0"
            );
            assert_eq!(
                sr["data"][0]["QWeb-Version"]["SCANNER-VERSION"],
                "12.1.67-1"
            );
        }
    }
}

fn xml_error(code: &str, message: &str, resolution: &str) -> String {
    format!(
        "  <responseCode>{code}</responseCode>\n  <responseErrorDetails>\n    \
         <errorMessage>{message}</errorMessage>\n    <errorResolution>{resolution}</errorResolution>\n  \
         </responseErrorDetails>\n</ServiceResponse>\n"
    )
}

#[tokio::test]
async fn no_credentials_is_auth_credentials_needed() {
    let app = TestApp::new().await;
    let r = app.get(VERSION).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(
        r.text().ends_with(&xml_error(
            "AUTH_CREDENTIALS_NEEDED",
            "Login and password are required",
            "Provide the user and password credentials with HTTP Basic authentication \
             (or the user and password request headers)."
        )),
        "{}",
        r.text()
    );
    let r = app
        .request(Method::GET, VERSION, &[("accept", "application/json")], "")
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let body = r.json();
    assert_eq!(
        body["ServiceResponse"]["responseCode"],
        "AUTH_CREDENTIALS_NEEDED"
    );
    assert_eq!(
        body["ServiceResponse"]["responseErrorDetails"]["errorMessage"],
        "Login and password are required"
    );
}

#[tokio::test]
async fn wrong_credentials_are_invalid_credentials() {
    let app = TestApp::new().await;
    let wrong_basic = basic("acme_ss2", "nope");
    let other_users_password = basic("acme_ss2", "passwd2");
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![("authorization", &wrong_basic)],
        vec![("authorization", &other_users_password)],
        vec![("authorization", "Basic !!!not-base64")],
        vec![("authorization", "Basic Og==")],
        vec![("authorization", "Bearer abc")],
        vec![("user", "acme_ss2"), ("password", "wrong")],
        vec![("user", "acme_ss2")],
    ];
    for headers in cases {
        let r = app.request(Method::GET, VERSION, &headers, "").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{headers:?}");
        assert!(
            r.text().ends_with(&xml_error(
                "INVALID_CREDENTIALS",
                "Authentication failed",
                "Verify both, user and password credentials."
            )),
            "{headers:?}: {}",
            r.text()
        );
    }
}

#[tokio::test]
async fn auth_errors_name_the_called_object_schema() {
    let app = TestApp::new().await;
    let r = app.get("/qps/rest/1.0/search/cm/alert/").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(
        r.text()
            .contains("http://localhost:8080/qps/xsd/1.0/cm/alert.xsd")
    );
}
