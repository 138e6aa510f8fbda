//! Over real sockets: HTTPS with the generated certificate, the healthcheck probe, graceful
//! shutdown, a file-backed store and a broken seed.

use std::sync::Arc;
use std::time::Duration;

use crate::helpers::launch;

pub(crate) fn client_trusting(pem_path: &std::path::Path) -> reqwest::Client {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(pem_path).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

#[tokio::test]
async fn https_with_the_generated_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("ca.pem");
    let args = qualys_mock::ServerConfig {
        https: crate::helpers::generated_https(
            &[],
            Some(std::path::Path::new(pem.to_str().unwrap())),
        ),
        ..crate::helpers::serve_config()
    };
    let running = launch(args.clone()).await;
    assert_eq!(running.trust_pem_path(), Some(pem.as_path()));
    let port = running.https_addr().unwrap().port();

    let client = client_trusting(&pem);
    for host in ["localhost", "127.0.0.1"] {
        let r = client
            .get(format!("https://{host}:{port}/_mock/health"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{host}");
        assert!(r.text().await.unwrap().contains("\"status\":\"ok\""));
    }
    let r = client
        .post(format!("https://localhost:{port}/auth"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("username=acme_ss2&password=passwd&token=true")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    // A client that trusts another CA refuses the connection.
    let other_dir = tempfile::tempdir().unwrap();
    let other_pem = other_dir.path().join("other.pem");
    let other = launch(qualys_mock::ServerConfig {
        https: crate::helpers::generated_https(&[], Some(&other_pem)),
        ..crate::helpers::serve_config()
    })
    .await;
    let refused = client_trusting(&other_pem)
        .get(format!("https://localhost:{port}/_mock/health"))
        .send()
        .await;
    assert!(refused.is_err());
    other.shutdown().await;
    running.shutdown().await;
}

#[tokio::test]
async fn graceful_shutdown_lets_in_flight_requests_finish() {
    let running = launch(crate::helpers::serve_config()).await;
    let addr = running.http_addr();
    // Open a connection and send half a request, then shut down, then finish it.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /_mock/health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let shutdown = tokio::spawn(running.shutdown());
    tokio::time::sleep(Duration::from_millis(100)).await;
    stream
        .write_all(b"Connection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    tokio::time::timeout(Duration::from_secs(5), shutdown)
        .await
        .unwrap()
        .unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn a_file_store_is_seeded_once_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.sqlite");
    let args = qualys_mock::ServerConfig {
        db: Some(db.to_str().unwrap().into()),
        ..crate::helpers::serve_config()
    };
    let running = launch(args.clone()).await;
    assert_eq!(user_count(&running).await, 3);
    running.shutdown().await;
    // The WAL was checkpointed: the main file alone holds the data.
    let wal = dir.path().join("store.sqlite-wal");
    assert!(!wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0);
    let running = launch(args.clone()).await;
    assert_eq!(user_count(&running).await, 3);
    running.shutdown().await;
}

#[tokio::test]
async fn a_broken_seed_stops_start_up_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("customers.json"),
        r#"[{"id": 1, "uuid": "u", "name": "Acme"}]"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("users.json"),
        r#"[{"id": 1, "uuid": "x", "customer": "Acme", "username": "a", "password": "p", "name": 7}]"#,
    )
    .unwrap();
    let args = qualys_mock::ServerConfig {
        seed: Some(dir.path().to_str().unwrap().into()),
        ..crate::helpers::serve_config()
    };
    let err = qualys_mock::AppState::from_config(&args)
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "invalid seed: seed file users.json: record 0, field name: invalid type: integer `7`, expected a string"
    );

    std::fs::write(dir.path().join("usres.json"), "[]").unwrap();
    let err = qualys_mock::AppState::from_config(&args)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("seed file usres.json: unknown seed file"),
        "{err}"
    );
}

#[tokio::test]
async fn a_seed_folder_replaces_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("tiny");
    std::fs::create_dir(&seed).unwrap();
    std::fs::write(
        seed.join("customers.json"),
        r#"[{"id": 1, "uuid": "u", "name": "Solo"}]"#,
    )
    .unwrap();
    let args = qualys_mock::ServerConfig {
        seed: Some(seed.to_str().unwrap().into()),
        ..crate::helpers::serve_config()
    };
    let running = launch(args).await;
    let health = health_of(&running).await;
    assert_eq!(health["seed"], "tiny");
    assert_eq!(health["counts"]["customers"], 1);
    running.shutdown().await;
}

/// A running server's `/_mock/health`.
async fn health_of(running: &qualys_mock::MockServer) -> serde_json::Value {
    let text = crate::helpers::http_client()
        .get(format!("{}/_mock/health", running.base_url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The users a running server holds, as `/_mock/health` counts them.
async fn user_count(running: &qualys_mock::MockServer) -> u64 {
    health_of(running).await["counts"]["users"]
        .as_u64()
        .unwrap()
}
