//! Tenancy: a token works only for the user and customer it was issued to, as the store
//! holds them now (not for whoever later gets the same ids); the journal names only users
//! whose credentials were verified; `/auth` credentials are never shown, in any body shape
//! the login accepts, in the journal or the debug log.

use axum::http::{Method, StatusCode};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::helpers::{SECRET, TestApp, basic, jwt_payload};
use crate::reach::{Spawned, plain_client};

fn not_authenticated() -> Value {
    json!({"status": 401, "error": "Unauthorized", "message": "Not authenticated"})
}

fn forge(claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS512),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .unwrap()
}

/// Make a customer with one user; its answer.
async fn customer(app: &TestApp, body: Value) -> Value {
    let r = app.control(Method::POST, "/_mock/customers", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    r.json()
}

async fn reset(app: &TestApp, query: &str) {
    let r = app
        .control(Method::POST, &format!("/_mock/reset{query}"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

/// `(status, body)` of a script search with `token`.
async fn search(app: &TestApp, token: &str) -> (StatusCode, Value) {
    let r = app
        .car(Method::POST, "/sm/v1/scripts/search", token, "")
        .await;
    (r.status, r.json())
}

#[tokio::test]
async fn a_token_outliving_its_customer_is_refused_by_the_next_customer_made() {
    let app = TestApp::new().await;
    let acme = app.acme().await;
    let a = customer(
        &app,
        json!({"name": "TenantA", "username": "ta", "password": "pa", "copyOf": "Acme"}),
    )
    .await;
    let token_a = app.token("ta", "pa").await;
    assert_eq!(search(&app, &token_a).await.0, StatusCode::OK);
    // A reset of its own customer leaves the tenant, and its token, as they were.
    reset(&app, "?customer=TenantA").await;
    assert_eq!(search(&app, &token_a).await.0, StatusCode::OK);

    // A full reset removes TenantA; the next customer is another, under other ids.
    reset(&app, "").await;
    let b = customer(
        &app,
        json!({"name": "TenantB", "username": "tb", "password": "pb", "copyOf": "Acme"}),
    )
    .await;
    assert_ne!(a["id"], b["id"]);
    let token_b = app.token("tb", "pb").await;
    assert_ne!(
        jwt_payload(&token_a)["portalUserId"],
        jwt_payload(&token_b)["portalUserId"]
    );
    let script_b = 16012 + b["idOffset"].as_i64().unwrap();
    assert_eq!(search(&app, &token_b).await.0, StatusCode::OK);

    // TenantA's token reads and writes nothing of TenantB: the gateway's 401.
    let calls = [
        (Method::POST, "/sm/v1/scripts/search".to_owned(), ""),
        (Method::GET, format!("/sm/v1/scripts/{script_b}"), ""),
        (
            Method::POST,
            format!("/sm/v1/scripts/{script_b}/clone"),
            r#"{"scriptTitle": "stolen"}"#,
        ),
    ];
    for (method, path, body) in calls {
        let r = app.car(method.clone(), &path, &token_a, body).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        assert_eq!(r.json(), not_authenticated(), "{method} {path}");
    }
    let titles = app
        .car(
            Method::POST,
            "/sm/v1/scripts/search",
            &token_b,
            r#"{"filter": "title: stolen"}"#,
        )
        .await
        .json();
    assert_eq!(titles["body"]["totalCount"], 0, "{titles}");
    // A seeded customer's token outlives resets: the customer is still there.
    assert_eq!(search(&app, &acme).await.0, StatusCode::OK);
    // CM is by the credentials of now: TenantA's login is gone, TenantB's works.
    let version = "/qps/rest/portal/version";
    let cm = |user: &'static str, password: &'static str| {
        let app = app.clone();
        async move {
            app.request(
                Method::GET,
                version,
                &[("authorization", basic(user, password).as_str())],
                "",
            )
            .await
            .status
        }
    };
    assert_eq!(cm("ta", "pa").await, StatusCode::UNAUTHORIZED);
    assert_eq!(cm("tb", "pb").await, StatusCode::OK);
}

#[tokio::test]
async fn a_token_outliving_a_seeded_user_is_refused_when_the_seed_is_loaded_again() {
    let app = TestApp::new().await;
    // The same records, ids and uuids each time, as a test suite reseeds after each reset.
    let seed = json!({
        "customers": [{"id": 5001, "uuid": "5eed0000-0000-4000-8000-000000005001", "name": "Seeded"}],
        "users": [
            {"id": 501, "uuid": "5eed0000-0000-4000-8000-000000000501", "customer": "Seeded",
             "username": "seeded_user", "password": "pw1", "name": "Seeded User", "modules": ["CAR"]},
            {"id": 502, "uuid": "5eed0000-0000-4000-8000-000000000502", "customer": "Acme",
             "username": "acme_extra", "password": "pw2", "name": "Acme Extra", "modules": ["CAR"]}
        ]
    });
    let load = || async {
        let r = app.control(Method::POST, "/_mock/seed", seed.clone()).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    };
    load().await;
    let old = [
        app.token("seeded_user", "pw1").await,
        app.token("acme_extra", "pw2").await,
    ];
    for t in &old {
        assert_eq!(search(&app, t).await.0, StatusCode::OK);
    }
    reset(&app, "").await;
    load().await;
    for t in &old {
        let (status, body) = search(&app, t).await;
        assert_eq!(
            (status, body),
            (StatusCode::UNAUTHORIZED, not_authenticated())
        );
    }
    // The users made again log in afresh.
    for (user, password) in [("seeded_user", "pw1"), ("acme_extra", "pw2")] {
        let t = app.token(user, password).await;
        assert_eq!(search(&app, &t).await.0, StatusCode::OK);
    }
}

#[tokio::test]
async fn a_token_naming_another_user_row_or_customer_uuid_is_refused() {
    let app = TestApp::new().await;
    let real = jwt_payload(&app.acme().await);
    // The real claims, signed with the server's secret, pass.
    let r = app
        .car(
            Method::POST,
            "/sm/v1/scripts/search",
            &forge(&real, SECRET),
            "",
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let changes: [(&str, Value); 4] = [
        (
            "userSerial",
            json!(real["userSerial"].as_i64().unwrap() + 100),
        ),
        ("userUuid", json!("00000000-0000-4000-8000-000000000000")),
        (
            "customerUuid",
            json!("00000000-0000-4000-8000-000000000000"),
        ),
        ("userSerial", Value::Null),
    ];
    for (claim, value) in changes {
        let mut claims = real.clone();
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(claim);
        } else {
            claims[claim] = value.clone();
        }
        let r = app
            .car(
                Method::POST,
                "/sm/v1/scripts/search",
                &forge(&claims, SECRET),
                "",
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{claim} = {value}");
        assert_eq!(r.json(), not_authenticated(), "{claim} = {value}");
    }
}

// ---------------------------------------------------------------------------------------
// The real binary: a `--db` file store restarted, and the debug log.

struct Client {
    base: String,
    http: reqwest::Client,
    rt: tokio::runtime::Runtime,
}

impl Client {
    fn new(server: &Spawned) -> Client {
        Client {
            base: format!("http://{}", server.http),
            http: plain_client(),
            rt: tokio::runtime::Runtime::new().unwrap(),
        }
    }

    fn send(&self, request: reqwest::RequestBuilder) -> (u16, String) {
        self.rt.block_on(async {
            let r = request.send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        })
    }

    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.post(format!("{}{path}", self.base))
    }

    fn control(&self, path: &str, body: Value) -> Value {
        let (status, text) = self.send(
            self.post(path)
                .header("content-type", "application/json")
                .body(body.to_string()),
        );
        assert!(status < 300, "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap()
    }

    fn token(&self, user: &str, password: &str) -> String {
        let (status, text) = self.send(
            self.post("/auth")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("username={user}&password={password}&token=true")),
        );
        assert_eq!(status, 201, "{text}");
        text
    }

    fn search(&self, token: &str) -> (u16, String) {
        self.send(
            self.post("/sm/v1/scripts/search")
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/json")
                .body("{}"),
        )
    }

    fn journal(&self) -> Vec<Value> {
        let (status, text) = self.send(self.http.get(format!("{}/_mock/requests", self.base)));
        assert_eq!(status, 200, "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        v["requests"].as_array().unwrap().clone()
    }
}

const JWT_SECRET: &str = "a-jwt-secret-shared-by-restarts-of-one-store-file";

#[test]
fn a_token_outliving_its_customer_is_refused_across_a_restart_of_a_db_file() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("store.db");
    let args = ["--db", db.to_str().unwrap(), "--jwt-secret", JWT_SECRET];
    let mut first = Spawned::start(&args, &[]);
    let c = Client::new(&first);
    c.control(
        "/_mock/customers",
        json!({"name": "TenantA", "username": "ta", "password": "pa"}),
    );
    let token_a = c.token("ta", "pa");
    let acme = c.token("acme_ss2", "passwd");
    assert_eq!(c.search(&token_a).0, 200);
    c.control("/_mock/reset", json!({}));
    drop(c);
    first.stop();

    let mut second = Spawned::start(&args, &[]);
    let c = Client::new(&second);
    c.control(
        "/_mock/customers",
        json!({"name": "TenantB", "username": "tb", "password": "pb"}),
    );
    let (status, body) = c.search(&token_a);
    assert_eq!(
        (status, serde_json::from_str::<Value>(&body).unwrap()),
        (401, not_authenticated())
    );
    assert_eq!(c.search(&c.token("tb", "pb")).0, 200);
    // The secret and the store outlive the restart, so a seeded user's token does too.
    assert_eq!(c.search(&acme).0, 200);
    drop(c);
    second.stop();
}

/// A call, the status it gets, and the user its journal entry names.
type JournalledCall = (
    Method,
    &'static str,
    Vec<(&'static str, String)>,
    StatusCode,
    Option<&'static str>,
);

#[tokio::test]
async fn the_journal_names_only_the_user_the_credentials_were_verified_as() {
    let app = TestApp::new().await;
    let acme = app.acme().await;
    let mut forged_sub = jwt_payload(&acme);
    forged_sub["sub"] = json!("admin");
    let search = "/sm/v1/scripts/search";
    let version = "/qps/rest/portal/version";
    let calls: Vec<JournalledCall> = vec![
        // A forged `sub` with a secret the server does not hold: nobody.
        (
            Method::POST,
            search,
            vec![(
                "authorization",
                format!("Bearer {}", forge(&forged_sub, b"not-the-server-secret")),
            )],
            StatusCode::UNAUTHORIZED,
            None,
        ),
        // Signed right but with another `sub`: the user row it names, not the `sub`.
        (
            Method::POST,
            search,
            vec![(
                "authorization",
                format!("Bearer {}", forge(&forged_sub, SECRET)),
            )],
            StatusCode::OK,
            Some("acme_ss2"),
        ),
        (
            Method::POST,
            search,
            vec![("authorization", format!("Bearer {acme}"))],
            StatusCode::OK,
            Some("acme_ss2"),
        ),
        (
            Method::GET,
            version,
            vec![("authorization", basic("admin", "wrong"))],
            StatusCode::UNAUTHORIZED,
            None,
        ),
        (
            Method::GET,
            version,
            vec![("user", "admin".into()), ("password", "wrong".into())],
            StatusCode::UNAUTHORIZED,
            None,
        ),
        (
            Method::GET,
            version,
            vec![("authorization", basic("globex_ss1", "passwd2"))],
            StatusCode::OK,
            Some("globex_ss1"),
        ),
    ];
    for (i, (method, path, headers, status, user)) in calls.into_iter().enumerate() {
        app.control(Method::DELETE, "/_mock/requests", json!({}))
            .await;
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = app.request(method, path, &headers, "").await;
        assert_eq!(r.status, status, "call {i}: {}", r.text());
        let journal = app
            .control(Method::GET, "/_mock/requests", json!({}))
            .await
            .json();
        assert_eq!(journal["count"], 1, "call {i}: {journal}");
        assert_eq!(
            journal["requests"][0]["user"],
            json!(user),
            "call {i}: {journal}"
        );
    }
    // `/auth`: the user who logged in, or nobody when the login failed.
    for (form, user) in [
        ("username=admin&password=nope&token=true", None),
        (
            "username=acme_ss2&password=passwd&token=true",
            Some("acme_ss2"),
        ),
    ] {
        app.control(Method::DELETE, "/_mock/requests", json!({}))
            .await;
        app.login(form).await;
        let journal = app
            .control(Method::GET, "/_mock/requests", json!({}))
            .await
            .json();
        assert_eq!(journal["requests"][0]["user"], json!(user), "{journal}");
    }
}

/// One way of sending credentials to `POST /auth`: what the user's password is, and how
/// the request carries it.
struct Shape {
    name: &'static str,
    /// The user's password as the login reads it.
    password: &'static str,
    /// Text that must appear nowhere: the password as sent and as read.
    secrets: &'static [&'static str],
    query: &'static str,
    content_type: Option<&'static str>,
    body: Vec<u8>,
}

fn multipart(fields: &[(&str, &str)]) -> (String, Vec<u8>) {
    let boundary = "tenancy-test-boundary-5150";
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    (
        format!("multipart/form-data; boundary={boundary}"),
        body.into_bytes(),
    )
}

fn shapes() -> Vec<Shape> {
    let (mp_type, mp_body) = multipart(&[
        ("username", "u_multipart"),
        ("password", "Pw-multipart-1"),
        ("token", "true"),
    ]);
    let form = Some("application/x-www-form-urlencoded");
    let json = Some("application/json");
    vec![
        Shape {
            name: "form",
            password: "Pw-form-2",
            secrets: &["Pw-form-2"],
            query: "",
            content_type: form,
            body: b"username=u_form&password=Pw-form-2&token=true".to_vec(),
        },
        Shape {
            name: "form, key and value percent-encoded",
            password: "Pw-form-3",
            secrets: &["Pw-form-3", "Pw%2Dform%2D3"],
            query: "",
            content_type: form,
            body: b"username=u_form_enc&pass%77ord=Pw%2Dform%2D3&token=true".to_vec(),
        },
        Shape {
            name: "form without a content type",
            password: "Pw-bare-4",
            secrets: &["Pw-bare-4"],
            query: "",
            content_type: None,
            body: b"username=u_bare&password=Pw-bare-4&token=true".to_vec(),
        },
        Shape {
            name: "query string",
            password: "Pw-query-5",
            secrets: &["Pw-query-5"],
            query: "?username=u_query&password=Pw-query-5&token=true",
            content_type: None,
            body: Vec::new(),
        },
        Shape {
            name: "query string, password true",
            password: "true",
            secrets: &[],
            query: "?username=u_query_true&password=true&token=true",
            content_type: None,
            body: Vec::new(),
        },
        Shape {
            name: "multipart",
            password: "Pw-multipart-1",
            secrets: &["Pw-multipart-1"],
            query: "",
            content_type: None,
            body: mp_body.clone(),
        },
        Shape {
            name: "json",
            password: "Pw-json-6",
            secrets: &["Pw-json-6"],
            query: "",
            content_type: json,
            body: br#"{"username":"u_json","password":"Pw-json-6","token":"true"}"#.to_vec(),
        },
        Shape {
            name: "json, escaped key",
            password: "Pw-json-7",
            secrets: &["Pw-json-7"],
            query: "",
            content_type: json,
            body: br#"{"username":"u_json_key","pass\u0077ord":"Pw-json-7","token":true}"#.to_vec(),
        },
        Shape {
            name: "json, escaped value",
            password: "Pw-json-8",
            secrets: &["Pw-json-8", r"Pw\u002djson\u002d8"],
            query: "",
            content_type: Some("application/json; charset=utf-8"),
            body: br#"{"username":"u_json_val","password":"Pw\u002djson\u002d8","token":true}"#
                .to_vec(),
        },
        Shape {
            name: "json, numeric password",
            password: "86753099",
            secrets: &["86753099"],
            query: "",
            content_type: json,
            body: br#"{"username":"u_json_num","password":86753099,"token":true}"#.to_vec(),
        },
        Shape {
            name: "json, boolean password",
            password: "true",
            secrets: &[],
            query: "",
            content_type: json,
            body: br#"{"username":"u_json_bool","password":true,"token":true}"#.to_vec(),
        },
        Shape {
            name: "json, object password",
            password: r#"{"k":"Pw-json-9"}"#,
            secrets: &["Pw-json-9"],
            query: "",
            content_type: json,
            body: br#"{"username":"u_json_obj","password":{"k":"Pw-json-9"},"token":true}"#
                .to_vec(),
        },
    ]
    .into_iter()
    .map(|mut s| {
        if s.name == "multipart" {
            s.content_type = Some(Box::leak(mp_type.clone().into_boxed_str()));
        }
        s
    })
    .collect()
}

/// The username a shape logs in as.
fn username_of(shape: &Shape) -> String {
    let text = format!("{}{}", shape.query, String::from_utf8_lossy(&shape.body));
    let at = text.find("u_").unwrap();
    text[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// The value of `password` in a shown body or query (form or JSON), as shown.
fn shown_password(text: &str) -> Option<String> {
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        return v.get("password").map(|p| match p {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
    }
    serde_urlencoded::from_str::<Vec<(String, String)>>(text.trim_start_matches('?'))
        .ok()?
        .into_iter()
        .find(|(k, _)| k == "password")
        .map(|(_, v)| v)
}

#[test]
fn auth_credentials_are_hidden_in_every_shape_the_login_accepts_in_journal_and_debug_log() {
    let mut server = Spawned::start(&["--log", "debug"], &[]);
    let c = Client::new(&server);
    let shapes = shapes();
    for (i, shape) in shapes.iter().enumerate() {
        c.control(
            "/_mock/customers",
            json!({"name": format!("Shape{i}"), "username": username_of(shape),
                   "password": shape.password}),
        );
    }
    let mut journal_checked = 0;
    for shape in &shapes {
        let mut request = c
            .post(&format!("/auth{}", shape.query))
            .body(shape.body.clone());
        if let Some(ct) = shape.content_type {
            request = request.header("content-type", ct);
        }
        let (status, text) = c.send(request);
        // The login accepts the shape: these are real logins.
        assert_eq!(status, 201, "{}: {text}", shape.name);
        let entry = c.journal().pop().unwrap();
        assert_eq!(entry["path"], "/auth", "{}", shape.name);
        assert_eq!(
            entry["user"],
            json!(username_of(shape)),
            "{}: {entry}",
            shape.name
        );
        let shown = [&entry["body"], &entry["query"]]
            .into_iter()
            .filter_map(|v| v.as_str())
            .collect::<Vec<_>>();
        assert!(!shown.is_empty(), "{}: {entry}", shape.name);
        let passwords: Vec<String> = shown.iter().filter_map(|t| shown_password(t)).collect();
        assert_eq!(passwords, ["***"], "{}: {entry}", shape.name);
        for secret in shape.secrets {
            assert!(
                !entry.to_string().contains(secret),
                "{}: {secret} in {entry}",
                shape.name
            );
        }
        journal_checked += 1;
    }
    assert_eq!(journal_checked, shapes.len());
    drop(c);
    let log = server.stop();
    // The debug log wrote each body, and no password.
    let bodies: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("request body") && l.contains("/auth"))
        .collect();
    let with_body = shapes.iter().filter(|s| !s.body.is_empty()).count();
    assert_eq!(bodies.len(), with_body, "{log}");
    for line in &bodies {
        assert!(line.contains("***"), "{line}");
    }
    for shape in &shapes {
        for secret in shape.secrets {
            assert!(!log.contains(secret), "{}: {secret} in the log", shape.name);
        }
    }
    // A password of `true` is shown as `***` wherever the body is logged.
    for line in bodies.iter().filter(|l| l.contains("u_json_bool")) {
        assert!(!line.contains("\"password\":true"), "{line}");
    }
}

#[tokio::test]
async fn an_auth_body_the_login_cannot_read_is_not_shown() {
    let app = TestApp::new().await;
    for (content_type, body) in [
        (
            "application/json",
            r#"{"username":"acme_ss2","password":"Pw-broken-1""#,
        ),
        (
            "multipart/form-data; boundary=x",
            "--x\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\nPw-broken-2",
        ),
    ] {
        app.control(Method::DELETE, "/_mock/requests", json!({}))
            .await;
        let r = app
            .request(
                Method::POST,
                "/auth",
                &[("content-type", content_type)],
                body.to_owned(),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
        let journal = app
            .control(Method::GET, "/_mock/requests", json!({}))
            .await
            .json();
        assert_eq!(journal["requests"][0]["body"], "***", "{journal}");
    }
}
