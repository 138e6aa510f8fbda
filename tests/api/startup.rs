//! Edges of starting and reaching the server: the JSON start line, flags that need another,
//! one port for two listeners, `/_mock` without its slash, the OpenAPI document's server,
//! and what the XSD checks do when `xmllint` is missing.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::TestApp;

const BIN: &str = env!("CARGO_BIN_EXE_qualys-mock");

/// `qualys-mock ARGS` run with no variable of ours set, killed if it has not exited within
/// ten seconds (a server that started): (exit code, stderr).
fn run_to_exit(args: &[&str]) -> (Option<i32>, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("QUALYS_MOCK_") {
            cmd.env_remove(key);
        }
    }
    let mut child = KillOnDrop(cmd.spawn().unwrap());
    let mut stderr = child.0.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut all);
        all
    });
    let started = Instant::now();
    let code = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status.code();
        }
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.0.kill();
            let _ = child.0.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (code, reader.join().unwrap())
}

/// A child killed when the test ends, however it ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

// ---------------------------------------------------------------------------------------
// The start line

#[test]
fn with_json_logs_the_start_banner_is_one_json_object() {
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("ca.pem");
    let mut child = KillOnDrop(
        Command::new(BIN)
            .args([
                "serve",
                "--port",
                "0",
                "--https-port",
                "0",
                "--log-format",
                "json",
            ])
            .arg("--tls-cert-out")
            .arg(&pem)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut out = BufReader::new(child.0.stdout.take().unwrap());
    let mut line = String::new();
    assert!(out.read_line(&mut line).unwrap() > 0, "no start line");
    let banner: Value = serde_json::from_str(line.trim_end())
        .unwrap_or_else(|e| panic!("the start line is not JSON ({e}): {line:?}"));
    assert_eq!(banner["message"], "listening", "{banner}");
    assert_eq!(banner["level"], "INFO", "{banner}");
    assert_eq!(banner["version"], env!("CARGO_PKG_VERSION"), "{banner}");
    assert_eq!(banner["seed"], "default", "{banner}");
    assert_eq!(banner["trust"], pem.to_str().unwrap(), "{banner}");
    let http = banner["http"].as_str().expect("http").to_owned();
    let https = banner["https"].as_str().expect("https");
    assert!(http.starts_with("http://127.0.0.1:"), "{banner}");
    assert!(https.starts_with("https://127.0.0.1:"), "{banner}");

    // The address it names answers.
    let r = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            crate::reach::plain_client()
                .get(format!("{http}/_mock/health"))
                .send()
                .await
                .unwrap()
                .status()
        });
    assert_eq!(r, 200);

    // Nothing else on stdout: the banner was the one line.
    let _ = child.0.kill();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    assert_eq!(rest, "", "more than one line on stdout");
}

#[test]
fn with_text_logs_the_start_banner_stays_text() {
    let mut child = KillOnDrop(
        Command::new(BIN)
            .args(["serve", "--port", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut out = BufReader::new(child.0.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    assert!(
        first.starts_with(&format!(
            "qualys-mock {} listening",
            env!("CARGO_PKG_VERSION")
        )),
        "{first:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Flags

#[test]
fn tls_flags_without_an_https_port_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("ca.pem");
    let pem = pem.to_str().unwrap();
    for flags in [
        &["--tls-san", "qualys-mock"][..],
        &["--tls-cert-out", pem][..],
        &["--tls-cert", pem, "--tls-key", pem][..],
    ] {
        let mut argv = vec!["serve", "--port", "0"];
        argv.extend_from_slice(flags);
        let (code, err) = run_to_exit(&argv);
        assert_eq!(code, Some(2), "{flags:?} was accepted: {err}");
        assert!(err.contains("--https-port"), "{flags:?}: {err}");
    }
}

#[test]
fn one_port_for_http_and_https_is_refused_with_a_clear_message() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let (code, err) = run_to_exit(&["serve", "--port", &port, "--https-port", &port]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "--https-port {port} is also the HTTP port (--port)"
        )),
        "{err}"
    );
    assert!(!err.contains("in use"), "{err}");
}

#[tokio::test]
async fn the_library_refuses_one_port_for_both_listeners_too() {
    let config = qualys_mock::ServerConfig {
        port: 18443,
        https: crate::helpers::generated_https(&[], None)
            .map(|h| qualys_mock::HttpsConfig { port: 18443, ..h }),
        ..qualys_mock::ServerConfig::default()
    };
    let err = qualys_mock::MockServer::builder()
        .config(config)
        .start()
        .await
        .err()
        .unwrap();
    assert!(
        matches!(
            err,
            qualys_mock::StartError::Config(qualys_mock::ConfigError::SamePort(18443))
        ),
        "{err}"
    );
    assert!(err.to_string().contains("also the HTTP port"), "{err}");
}

// ---------------------------------------------------------------------------------------
// GET /_mock

#[tokio::test]
async fn get_mock_without_the_slash_answers_the_index() {
    let app = TestApp::new().await;
    let with_slash = app.get("/_mock/").await;
    let without = app.get("/_mock").await;
    assert_eq!(without.status, StatusCode::OK, "{}", without.text());
    assert_eq!(without.json(), with_slash.json());
    // A control call: never in the journal of API calls.
    let journal = app.get("/_mock/requests").await.json();
    let text = journal.to_string();
    assert!(!text.contains("\"/_mock\""), "{text}");
}

#[tokio::test]
async fn get_mock_without_the_slash_needs_the_control_token() {
    let state = qualys_mock::AppState::from_config(&qualys_mock::ServerConfig {
        control_token: Some("s3cret".into()),
        journal_size: 10,
        journal_body_bytes: 100,
        frozen_at: Some(0),
        ..qualys_mock::ServerConfig::default()
    })
    .await
    .unwrap();
    let router = qualys_mock::app(state);
    use tower::ServiceExt;
    let call = |token: Option<&str>| {
        let mut b = axum::http::Request::builder().uri("/_mock");
        if let Some(t) = token {
            b = b.header("x-mock-token", t);
        }
        router.clone().oneshot(b.body(Body::empty()).unwrap())
    };
    assert_eq!(call(None).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(call(Some("s3cret")).await.unwrap().status(), StatusCode::OK);
}

// ---------------------------------------------------------------------------------------
// The OpenAPI document's server

#[tokio::test]
async fn the_served_openapi_names_the_host_the_request_came_to() {
    let app = TestApp::new().await;
    let r = app
        .request(
            Method::GET,
            "/_mock/openapi.json",
            &[("host", "mock.example:9123")],
            "",
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["servers"][0]["url"], "http://mock.example:9123");

    // A Host that is no authority: the document's own default.
    let r = app
        .request(
            Method::GET,
            "/_mock/openapi.json",
            &[("host", "not a/host")],
            "",
        )
        .await;
    assert_eq!(r.json()["servers"][0]["url"], "http://127.0.0.1:8080");
}

#[tokio::test]
async fn the_openapi_served_over_https_names_https() {
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
    let https = running.https_addr().unwrap().port();
    let http = running.http_addr().port();
    let doc: Value = crate::listener::client_trusting(&pem)
        .get(format!("https://localhost:{https}/_mock/openapi.json"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap();
    assert_eq!(
        doc["servers"][0]["url"],
        format!("https://localhost:{https}")
    );
    let doc: Value = crate::reach::plain_client()
        .get(format!("http://127.0.0.1:{http}/_mock/openapi.json"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap();
    assert_eq!(doc["servers"][0]["url"], format!("http://127.0.0.1:{http}"));
    running.shutdown().await;
}

// ---------------------------------------------------------------------------------------
// xmllint missing

/// This test binary run again on one XML-validating test, with a `PATH` where no `xmllint`
/// is, and `CI` as given: (passed, stderr).
fn xml_test_without_xmllint(ci: Option<&str>) -> (bool, String) {
    crate::helpers::rerun_without_tools(
        "xsd::the_validator_rejects_what_the_schema_does_not_allow",
        &[],
        ci,
    )
}

#[test]
fn without_xmllint_the_xsd_checks_fail_under_ci() {
    let (passed, stderr) = xml_test_without_xmllint(Some("true"));
    assert!(
        !passed,
        "passed without a validator under CI=true:\n{stderr}"
    );
}

#[test]
fn without_xmllint_the_xsd_checks_skip_visibly_outside_ci() {
    for ci in [None, Some("false")] {
        let (passed, stderr) = xml_test_without_xmllint(ci);
        assert!(passed, "CI={ci:?}:\n{stderr}");
        // On the harness's own stderr, not in the captured output it throws away.
        assert!(
            stderr.contains("xmllint is not installed"),
            "CI={ci:?}: no visible warning:\n{stderr}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// The journal after a given entry (what the pytest plugin reads per test)

#[tokio::test]
async fn the_journal_lists_the_calls_after_a_given_seq_whatever_the_clock_did() {
    let app = TestApp::new().await;
    app.get("/qps/rest/portal/version").await;
    let first = app.get("/_mock/requests").await.json();
    let last_seq = first["requests"][0]["seq"].as_u64().expect("seq");
    // The clock goes back: a time filter would lose what follows, `after` does not.
    let r = app
        .request(
            Method::POST,
            "/_mock/clock",
            &[("content-type", "application/json")],
            r#"{"set": "2020-01-01T00:00:00Z"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    app.get("/sm/v1/scripts/1").await;
    let after = app
        .get(&format!("/_mock/requests?after={last_seq}"))
        .await
        .json();
    assert_eq!(after["count"], 1, "{after}");
    assert_eq!(after["requests"][0]["path"], "/sm/v1/scripts/1");
    assert_eq!(after["requests"][0]["seq"], last_seq + 1);
    let r = app.get("/_mock/requests?after=-1").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert!(r.json()["error"].is_string());
}

#[tokio::test]
async fn a_journal_after_beyond_a_signed_64_bit_integer_is_refused() {
    let app = TestApp::new().await;
    let r = app
        .control(
            Method::GET,
            "/_mock/requests?after=9223372036854775808",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert!(
        r.text().contains("after must be between 0 and"),
        "{}",
        r.text()
    );
    let r = app
        .control(
            Method::GET,
            "/_mock/requests?after=9223372036854775807",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

// ---------------------------------------------------------------------------------------
// The prepared default store's cache folder (--store-cache)

/// A server's own cache, home and temporary folders (fresh, empty).
struct OwnFolders {
    cache: tempfile::TempDir,
    home: tempfile::TempDir,
    tmp: tempfile::TempDir,
}

impl OwnFolders {
    fn new() -> OwnFolders {
        OwnFolders {
            cache: tempfile::tempdir().unwrap(),
            home: tempfile::tempdir().unwrap(),
            tmp: tempfile::tempdir().unwrap(),
        }
    }

    /// `serve --port 0 ARGS` in these folders, with `env`; health must answer 200; then a
    /// graceful stop. Its stderr.
    fn serve(&self, args: &[&str], env: &[(&str, &str)]) -> String {
        let mut all = vec![
            ("XDG_CACHE_HOME", self.cache.path().to_str().unwrap()),
            ("HOME", self.home.path().to_str().unwrap()),
            ("TMPDIR", self.tmp.path().to_str().unwrap()),
            ("QUALYS_MOCK_LOG", "warn"),
        ];
        all.extend_from_slice(env);
        let mut server = crate::reach::Spawned::start(args, &all);
        let url = format!("http://{}/_mock/health", server.http);
        let status = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                crate::reach::plain_client()
                    .get(url)
                    .send()
                    .await
                    .unwrap()
                    .status()
            });
        assert_eq!(status, 200);
        server.stop()
    }
}

/// The names in `dir`, and in the folders below it.
fn files_in(dir: &std::path::Path) -> Vec<String> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type().unwrap().is_dir() {
            names.extend(
                files_in(&entry.path())
                    .into_iter()
                    .map(|n| format!("{name}/{n}")),
            );
        } else {
            names.push(name);
        }
    }
    names.sort();
    names
}

fn is_image(name: &str) -> bool {
    name.starts_with("default-") && name.ends_with(".sqlite")
}

#[test]
fn by_default_the_prepared_store_image_goes_to_the_user_cache_folder() {
    let f = OwnFolders::new();
    f.serve(&[], &[]);
    let cached = files_in(f.cache.path());
    assert!(
        cached.len() == 1 && cached[0].starts_with("qualys-mock/") && is_image(&cached[0][12..]),
        "{cached:?}"
    );
    assert_eq!(files_in(f.tmp.path()), Vec::<String>::new());
}

#[test]
fn with_the_store_cache_off_nothing_is_written_outside_the_temporary_folder() {
    for (args, env) in [
        (&["--store-cache", "off"][..], &[][..]),
        (&[][..], &[("QUALYS_MOCK_STORE_CACHE", "off")][..]),
    ] {
        let f = OwnFolders::new();
        // Twice: a second start finds nothing to copy and writes nothing either.
        f.serve(args, env);
        f.serve(args, env);
        assert_eq!(
            files_in(f.cache.path()),
            Vec::<String>::new(),
            "{args:?} {env:?}"
        );
        assert_eq!(
            files_in(f.home.path()),
            Vec::<String>::new(),
            "{args:?} {env:?}"
        );
        // The private store went at exit.
        assert_eq!(
            files_in(f.tmp.path()),
            Vec::<String>::new(),
            "{args:?} {env:?}"
        );
    }
}

#[test]
fn the_store_cache_can_be_another_folder() {
    let f = OwnFolders::new();
    let elsewhere = tempfile::tempdir().unwrap();
    let dir = elsewhere.path().join("images");
    let flag = dir.to_str().unwrap();
    f.serve(&["--store-cache", flag], &[]);
    let kept = files_in(&dir);
    assert!(kept.len() == 1 && is_image(&kept[0]), "{kept:?}");
    let image = std::fs::read(dir.join(&kept[0])).unwrap();
    // The next start copies it (and leaves it as it was); the user's cache stays empty.
    f.serve(&[], &[("QUALYS_MOCK_STORE_CACHE", flag)]);
    assert_eq!(files_in(&dir), kept);
    assert_eq!(std::fs::read(dir.join(&kept[0])).unwrap(), image);
    assert_eq!(files_in(f.cache.path()), Vec::<String>::new());
    assert_eq!(files_in(f.home.path()), Vec::<String>::new());
}

#[test]
fn a_store_cache_folder_that_cannot_be_used_never_fails_a_start() {
    use std::os::unix::fs::PermissionsExt as _;
    let f = OwnFolders::new();
    let spot = tempfile::tempdir().unwrap();

    // A folder that cannot be made: its parent is a file.
    let file = spot.path().join("a-file");
    std::fs::write(&file, "not a folder").unwrap();
    let under_a_file = file.join("cache");
    let log = f.serve(&["--store-cache", under_a_file.to_str().unwrap()], &[]);
    assert!(log.contains("cannot be used"), "{log}");
    // The same as the user's cache folder.
    f.serve(&[], &[("XDG_CACHE_HOME", under_a_file.to_str().unwrap())]);

    // A folder others may write: never read from, never written to.
    let open = spot.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let log = f.serve(&["--store-cache", open.to_str().unwrap()], &[]);
    assert!(log.contains("cannot be used"), "{log}");
    assert_eq!(files_in(&open), Vec::<String>::new());

    // A folder of ours that cannot be written (as root it can: then the image is kept).
    let read_only = spot.path().join("read-only");
    std::fs::create_dir(&read_only).unwrap();
    std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o500)).unwrap();
    f.serve(&["--store-cache", read_only.to_str().unwrap()], &[]);
    std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o700)).unwrap();

    assert_eq!(files_in(f.cache.path()), Vec::<String>::new());
    assert_eq!(files_in(f.tmp.path()), Vec::<String>::new());
}
