//! qualys_mock::MockServer from a Rust test: a real listener, a real HTTP client.

use std::sync::Arc;

use qualys_mock::JournalFilter as Filter;
use qualys_mock::MockServer;
use qualys_mock::NewCustomer;
use serde_json::{Value, json};

async fn token(client: &reqwest::Client, base: &str, user: &str, password: &str) -> String {
    let r = client
        .post(format!("{base}/auth"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("username={user}&password={password}&token=true"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.text().await.unwrap()
}

async fn post_json(client: &reqwest::Client, url: String, token: &str, body: &str) -> (u16, Value) {
    let r = client
        .post(url)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (
        status,
        serde_json::from_str(&r.text().await.unwrap()).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn a_rust_test_drives_and_controls_the_server() {
    let server = MockServer::builder()
        .frozen_at("2024-01-01T00:00:00Z")
        .start()
        .await
        .unwrap();
    let base = server.base_url();
    let client = crate::helpers::http_client();
    let (user, password) = server.credentials();
    let t = token(&client, &base, user, password).await;

    // Faults: two failures, then success.
    server
        .fail_next("POST", "/sm/v1/scripts/search", 503, 2)
        .unwrap();
    let url = format!("{base}/sm/v1/scripts/search");
    let statuses = [
        post_json(&client, url.clone(), &t, "").await.0,
        post_json(&client, url.clone(), &t, "").await.0,
        post_json(&client, url.clone(), &t, "").await.0,
    ];
    assert_eq!(statuses, [503, 503, 200]);

    // The journal saw them.
    let seen = server.requests(&Filter {
        path: Some("/sm/v1/scripts/search".into()),
        ..Filter::default()
    });
    assert_eq!(
        seen.iter().map(|e| e.status).collect::<Vec<_>>(),
        vec![Some(503), Some(503), Some(200)]
    );
    server.clear_requests();
    assert!(server.requests(&Filter::default()).is_empty());

    // Time: four hours later the token has expired.
    server.advance("4h").await.unwrap();
    assert_eq!(
        post_json(&client, url.clone(), &t, "").await,
        (
            401,
            json!({"status": 401, "error": "Unauthorized", "message": "JWT expired"})
        )
    );

    // CM events raise alerts a CM client then finds.
    let raised = server
        .inject_events(
            "Acme",
            json!([{"eventType": "PORT_OPEN", "ipAddress": "10.10.30.21", "info": {"port": 8080}}]),
        )
        .await
        .unwrap();
    assert_eq!(raised.len(), 1);
    let id = raised[0]["Alert"]["id"].as_i64().unwrap();
    let r = client
        .get(format!("{base}/qps/rest/1.0/get/cm/alert/{id}"))
        .basic_auth(user, Some(password))
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    assert!(text.contains("<eventType>PORT_OPEN</eventType>"));
    crate::xsd::validate(&text, &base);

    // Reset brings the seed back.
    server.reset().await.unwrap();
    let r = client
        .get(format!("{base}/qps/rest/1.0/get/cm/alert/{id}"))
        .basic_auth(user, Some(password))
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    assert!(text.contains("OBJECT_NOT_FOUND"));
    crate::xsd::validate(&text, &base);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn parallel_tests_on_separate_customers_do_not_disturb_each_other() {
    let server = Arc::new(MockServer::start().await.unwrap());
    let mut set = tokio::task::JoinSet::new();
    for n in 0..8 {
        let server = Arc::clone(&server);
        set.spawn(async move {
            let created = server
                .create_customer(NewCustomer {
                    name: format!("Tenant {n}"),
                    copy_of: Some("Acme".into()),
                    ..NewCustomer::default()
                })
                .await
                .unwrap();
            let base = server.base_url();
            let client = crate::helpers::http_client();
            let t = token(&client, &base, &created.username, &created.password).await;
            let search = format!("{base}/sm/v1/scripts/search");
            for k in 0..5 {
                let clone = format!("{base}/sm/v1/scripts/{}/clone", 16012 + created.id_offset);
                let (status, _) = post_json(
                    &client,
                    clone,
                    &t,
                    &format!(r#"{{"scriptTitle": "mine {k}"}}"#),
                )
                .await;
                assert_eq!(status, 201);
            }
            let (_, v) = post_json(&client, search.clone(), &t, "").await;
            assert_eq!(
                v["body"]["totalCount"],
                48 + 5,
                "tenant {n} sees only its own scripts"
            );
            server.reset_customer(&created.name).await.unwrap();
            let (_, v) = post_json(&client, search, &t, "").await;
            assert_eq!(
                v["body"]["totalCount"], 48,
                "tenant {n} is back to its copy"
            );
        });
    }
    set.join_all().await;
    // Acme itself was never touched.
    let client = crate::helpers::http_client();
    let t = token(&client, &server.base_url(), "acme_ss2", "passwd").await;
    let (_, v) = post_json(
        &client,
        format!("{}/sm/v1/scripts/search", server.base_url()),
        &t,
        "",
    )
    .await;
    assert_eq!(v["body"]["totalCount"], 48);
}

#[tokio::test]
async fn a_broken_seed_folder_fails_to_start() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("customers.json"), "[{").unwrap();
    let err = MockServer::builder()
        .seed_dir(dir.path())
        .start()
        .await
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .starts_with("invalid seed: seed file customers.json: not valid JSON"),
        "{err}"
    );
}

#[tokio::test]
async fn a_dropped_connection_is_an_error_to_the_client() {
    let server = MockServer::start().await.unwrap();
    server
        .add_fault(
            serde_json::from_value(
                json!({"path": "/qps/rest/portal/version", "drop": true, "times": 1}),
            )
            .unwrap(),
        )
        .unwrap();
    let client = crate::helpers::http_client();
    let url = format!("{}/qps/rest/portal/version", server.base_url());
    let first = match client
        .get(&url)
        .basic_auth("acme_ss2", Some("passwd"))
        .send()
        .await
    {
        Ok(r) => r.text().await.map(|_| ()),
        Err(e) => Err(e),
    };
    assert!(first.is_err(), "the connection was cut");
    let second = client
        .get(&url)
        .basic_auth("acme_ss2", Some("passwd"))
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 200);
    server.shutdown().await;
}

#[tokio::test]
async fn a_frozen_time_that_is_no_date_fails_the_start() {
    let err = MockServer::builder()
        .frozen_at("garbage")
        .start()
        .await
        .err()
        .expect("it started (at 1970)");
    assert!(
        matches!(
            err,
            qualys_mock::StartError::Config(qualys_mock::ConfigError::NotATime(_))
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("\"garbage\" is not an ISO date-time"),
        "{err}"
    );
}

/// Names of what the temporary folder holds.
fn temporary_files() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn an_https_server_removes_its_trust_pem_when_shut_down_or_dropped() {
    // Run in a temporary folder of its own (as the test below reruns it), nothing else may
    // be left there either: the private store and its lock go with the server.
    let alone = std::env::var_os("QM_TEST_OWN_TMPDIR").is_some();

    let server = MockServer::builder().https().start().await.unwrap();
    let pem = server.trust_pem_path().unwrap().to_owned();
    assert!(pem.is_file());
    assert!(pem.starts_with(std::env::temp_dir()), "{}", pem.display());
    server.shutdown().await;
    assert!(!pem.exists(), "{} left after shutdown", pem.display());
    if alone {
        assert_eq!(temporary_files(), Vec::<String>::new());
    }

    let server = MockServer::builder().https().start().await.unwrap();
    let pem = server.trust_pem_path().unwrap().to_owned();
    assert!(pem.is_file());
    drop(server);
    assert!(!pem.exists(), "{} left after drop", pem.display());
    if alone {
        // The listeners stop when the server is dropped; the store goes once they have.
        let give_up = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !temporary_files().is_empty() && std::time::Instant::now() < give_up {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(temporary_files(), Vec::<String>::new());
    }
}

#[test]
fn a_started_and_stopped_server_leaves_its_temporary_folder_empty() {
    let tmp = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "mock_server::an_https_server_removes_its_trust_pem_when_shut_down_or_dropped",
            "--exact",
            "--test-threads=1",
        ])
        .env("TMPDIR", tmp.path())
        .env("QM_TEST_OWN_TMPDIR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test]
async fn a_dropped_server_removes_its_ready_file() {
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready.json");
    let server = MockServer::builder()
        .config(qualys_mock::ServerConfig {
            ready_file: Some(ready.clone()),
            ..crate::helpers::serve_config()
        })
        .start()
        .await
        .unwrap();
    assert!(ready.is_file());
    drop(server);
    assert!(!ready.exists(), "the ready file outlived the server");
}
