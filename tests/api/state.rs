//! State you can trust: reset goes back to the baseline the server started with (embedded,
//! a seed folder or an existing `--db` file), runtime customers survive a restart, runtime
//! seeds are checked against the store, and reset undoes what the API changed row by row.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::helpers::launch;
use qualys_mock::MockServer;

/// A client of one running server.
struct Client {
    base: String,
    http: reqwest::Client,
}

impl Client {
    fn of(running: &MockServer) -> Client {
        Client {
            base: format!("http://{}", running.http_addr()),
            http: crate::helpers::http_client(),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn health(&self) -> Value {
        self.call(reqwest::Method::GET, "/_mock/health", json!({}))
            .await
            .1
    }

    async fn token(&self, user: &str, password: &str) -> String {
        self.http
            .post(format!("{}/auth", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("username={user}&password={password}&token=true"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// `scripts/search` with no filter, as the caller of `token`.
    async fn script_search(&self, token: &str) -> Value {
        let text = self
            .http
            .post(format!("{}/sm/v1/scripts/search", self.base))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        serde_json::from_str(&text).unwrap()
    }

    async fn scripts(&self, token: &str) -> u64 {
        self.script_search(token).await["body"]["totalCount"]
            .as_u64()
            .unwrap()
    }

    async fn first_script(&self, token: &str) -> i64 {
        let r = self.script_search(token).await;
        let id = &r["body"]["list"][0]["id"];
        id.as_str()
            .and_then(|s| s.parse().ok())
            .or_else(|| id.as_i64())
            .unwrap_or_else(|| panic!("{r}"))
    }

    async fn clone_script(&self, token: &str, id: i64, title: &str) -> u16 {
        self.http
            .post(format!("{}/sm/v1/scripts/{id}/clone", self.base))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(json!({ "scriptTitle": title }).to_string())
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

#[tokio::test]
async fn reset_after_serving_a_generated_db_brings_back_the_generated_data() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("big.sqlite");
    let generated = std::process::Command::new(env!("CARGO_BIN_EXE_qualys-mock"))
        .args(["generate", "--db", db.to_str().unwrap()])
        .args([
            "--alerts",
            "700",
            "--scripts",
            "30",
            "--assets",
            "40",
            "--jobs",
            "20",
        ])
        .args(["--seed", "5"])
        .output()
        .unwrap();
    assert!(
        generated.status.success(),
        "{}",
        String::from_utf8_lossy(&generated.stderr)
    );
    let running = launch(qualys_mock::ServerConfig {
        db: Some(db.to_str().unwrap().into()),
        ..crate::helpers::serve_config()
    })
    .await;
    let client = Client::of(&running);
    let before = client.health().await;
    assert_eq!(before["counts"]["alerts"], 700, "{before}");
    assert_eq!(
        before["baseline"]["source"],
        "qualys-mock generate --alerts 700 --scripts 30 --assets 40 --jobs 20 --seed 5"
    );
    assert_eq!(before["seed"], before["baseline"]["source"]);

    // Change everything a test would: a customer, runtime records, events, CAR writes.
    let (s, _) = client
        .call(
            reqwest::Method::POST,
            "/_mock/customers",
            json!({"name": "Initech", "copyOf": "Acme"}),
        )
        .await;
    assert_eq!(s, 201);
    let token = client.token("acme_ss2", "passwd").await;
    let first = client.first_script(&token).await;
    assert_eq!(
        client.clone_script(&token, first, "a changed world").await,
        201
    );
    let after = client.health().await;
    assert_ne!(after["counts"], before["counts"]);

    let (s, r) = client
        .call(reqwest::Method::POST, "/_mock/reset", json!({}))
        .await;
    assert_eq!(s, 200, "{r}");
    let reset = client.health().await;
    assert_eq!(
        reset["counts"], before["counts"],
        "the generated data is back"
    );
    running.shutdown().await;

    // And it stays the baseline after a restart.
    let running = launch(qualys_mock::ServerConfig {
        db: Some(db.to_str().unwrap().into()),
        ..crate::helpers::serve_config()
    })
    .await;
    let client = Client::of(&running);
    assert_eq!(client.health().await["counts"], before["counts"]);
    running.shutdown().await;
}

#[tokio::test]
async fn per_customer_reset_after_a_restart_keeps_runtime_customers_as_created() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.sqlite");
    let args = qualys_mock::ServerConfig {
        db: Some(db.to_str().unwrap().into()),
        ..crate::helpers::serve_config()
    };
    let running = launch(args.clone()).await;
    let client = Client::of(&running);
    let (s, made) = client
        .call(
            reqwest::Method::POST,
            "/_mock/customers",
            json!({"name": "Initech", "copyOf": "Acme", "username": "peter", "password": "tps"}),
        )
        .await;
    assert_eq!(s, 201, "{made}");
    let token = client.token("peter", "tps").await;
    assert_eq!(client.scripts(&token).await, 48);
    running.shutdown().await;

    let running = launch(args.clone()).await;
    let client = Client::of(&running);
    let token = client.token("peter", "tps").await;
    let offset = made["idOffset"].as_i64().unwrap();
    assert_eq!(
        client
            .clone_script(&token, 16012 + offset, "Initech's own")
            .await,
        201
    );
    assert_eq!(client.scripts(&token).await, 49);
    let (s, r) = client
        .call(
            reqwest::Method::POST,
            "/_mock/reset?customer=Initech",
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let token = client.token("peter", "tps").await;
    assert_eq!(
        client.scripts(&token).await,
        48,
        "Initech is as it was created, still there after the restart"
    );
    // A reset of everything goes back to what the server started with: no Initech.
    client
        .call(reqwest::Method::POST, "/_mock/reset", json!({}))
        .await;
    let (s, _) = client
        .call(
            reqwest::Method::POST,
            "/_mock/reset?customer=Initech",
            json!({}),
        )
        .await;
    assert_eq!(s, 404);
    running.shutdown().await;
}

#[tokio::test]
async fn a_runtime_seed_may_reference_records_stored_before() {
    let app = TestApp::new().await;
    // A job of a script that was seeded at start (not in this request): this used to
    // kill the store worker (500).
    let job = json!({"id": 990001, "customer": "Acme", "script": 16515,
        "correlationUuid": "0e0d2c61-8d8f-4a39-9d53-4f5d0b9b8a11", "executionType": "Manual",
        "created": "2022-05-11T06:38:54.000Z"});
    let r = app
        .control(Method::POST, "/_mock/seed", json!({"jobs": [job]}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let t = app.acme().await;
    let found = app
        .car(
            Method::POST,
            "/sm/v1/jobs/search",
            &t,
            r#"{"filter": "id:990001"}"#,
        )
        .await
        .json();
    assert_eq!(found["body"]["totalCount"], 1, "{found}");

    // A reference to another customer's script is refused, naming the record.
    let bad = json!({"id": 990002, "customer": "Globex", "script": 16515,
        "correlationUuid": "x", "executionType": "Manual", "created": "2022-05-11T06:38:54.000Z"});
    let r = app
        .control(Method::POST, "/_mock/seed", json!({"jobs": [bad]}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let message = r.json()["error"].as_str().unwrap().to_owned();
    assert!(
        message.contains("jobs.json")
            && message.contains("script")
            && message.contains("another customer"),
        "{message}"
    );
    // An id the store has already is refused too.
    let taken = json!({"id": 80507, "customer": "Acme", "script": 16515,
        "correlationUuid": "y", "executionType": "Manual", "created": "2022-05-11T06:38:54.000Z"});
    let r = app
        .control(Method::POST, "/_mock/seed", json!({"jobs": [taken]}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.json()["error"].as_str().unwrap().contains("taken"),
        "{}",
        r.text()
    );

    // Runtime records are part of their customer's baseline until everything is reset.
    app.control(Method::POST, "/_mock/reset?customer=Acme", json!({}))
        .await;
    let count = |app: &TestApp, t: String| {
        let app = app.clone();
        async move {
            app.car(
                Method::POST,
                "/sm/v1/jobs/search",
                &t,
                r#"{"filter": "id:990001"}"#,
            )
            .await
            .json()["body"]["totalCount"]
                .clone()
        }
    };
    assert_eq!(count(&app, t.clone()).await, 1);
    app.control(Method::POST, "/_mock/reset", json!({})).await;
    assert_eq!(count(&app, t).await, 0);
}

#[tokio::test]
async fn reset_puts_back_rows_the_api_changed_exactly() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    let original = app
        .car(Method::GET, "/sm/v1/scripts/72648", &t, "")
        .await
        .json();
    let jobs_before = app
        .car(Method::POST, "/sm/v1/jobs/search", &t, "{}")
        .await
        .json()["body"]["totalCount"]
        .clone();
    // Executing changes the script (last executed) and adds jobs that then progress.
    let r = app
        .car(
            Method::POST,
            "/sm/v1/scripts/72648/execute",
            &t,
            r#"{"testMode": false, "assetIds": ["20452610"], "assetTagIds": [], "excludedAssetIds": []}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    app.control(Method::POST, "/_mock/clock", json!({"advance": "2m"}))
        .await;
    let changed = app
        .car(Method::GET, "/sm/v1/scripts/72648", &t, "")
        .await
        .json();
    assert_ne!(changed, original);

    app.control(Method::POST, "/_mock/reset", json!({})).await;
    let t = app.acme().await;
    assert_eq!(
        app.car(Method::GET, "/sm/v1/scripts/72648", &t, "")
            .await
            .json(),
        original
    );
    assert_eq!(
        app.car(Method::POST, "/sm/v1/jobs/search", &t, "{}")
            .await
            .json()["body"]["totalCount"],
        jobs_before
    );
}

#[tokio::test]
async fn health_says_where_the_baseline_came_from() {
    let app = TestApp::new().await;
    let health = app.get("/_mock/health").await.json();
    assert_eq!(health["baseline"]["source"], "seed default", "{health}");
    assert!(
        health["baseline"]["created"]
            .as_str()
            .unwrap()
            .starts_with("2024-01-01T"),
        "from the server's clock: {health}"
    );
}

#[tokio::test]
async fn copies_are_of_the_template_baseline_not_of_what_tests_did_to_it() {
    let app = TestApp::new().await;
    let t = app.acme().await;
    let r = app
        .car(
            Method::POST,
            "/sm/v1/scripts/16012/clone",
            &t,
            r#"{"scriptTitle": "made by a test in Acme"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = app
        .control(
            Method::POST,
            "/_mock/customers",
            json!({"name": "Hooli", "copyOf": "Acme", "username": "gavin", "password": "b"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let h = app.token("gavin", "b").await;
    let copied = app
        .car(Method::POST, "/sm/v1/scripts/search", &h, "{}")
        .await
        .json();
    assert_eq!(copied["body"]["totalCount"], 48, "{copied}");
    // Names must be free: a name taken is a conflict.
    for (body, want) in [
        (json!({"name": "Hooli"}), StatusCode::CONFLICT),
        (
            json!({"name": "Other", "username": "gavin"}),
            StatusCode::CONFLICT,
        ),
        (
            json!({"name": "Other2", "copyOf": "Nobody"}),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let r = app
            .control(Method::POST, "/_mock/customers", body.clone())
            .await;
        assert_eq!(r.status, want, "{body}: {}", r.text());
    }
}
