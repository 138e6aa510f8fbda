//! Reaching the emulator from outside: the control API's index, extra certificate names, CA
//! files that do not collide, the healthcheck's port, and logs that never block (the real
//! binary on pipes).

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::helpers::launch;
use axum::body::Body;
use axum::http::Method;

use crate::helpers::TestApp;

const BIN: &str = env!("CARGO_BIN_EXE_qualys-mock");

/// A client trusting only the PEM at `pem`, resolving each `(name, addr)` to `addr`.
fn client_trusting(pem: &std::path::Path, resolve: &[(&str, SocketAddr)]) -> reqwest::Client {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(pem).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let mut builder = reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .timeout(Duration::from_secs(10));
    for (name, addr) in resolve {
        builder = builder.resolve(name, *addr);
    }
    builder.build().unwrap()
}

pub(crate) fn plain_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

// ---------------------------------------------------------------------------------------
// GET /_mock/

#[tokio::test]
async fn the_control_index_lists_every_endpoint_and_each_is_routed() {
    let app = TestApp::new().await;
    let r = app.get("/_mock/").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let index = r.json();
    let endpoints = index["endpoints"].as_array().unwrap();
    // That these are exactly the documented control operations: `contracts`.
    let listed: Vec<(String, String)> = endpoints
        .iter()
        .map(|e| {
            assert!(
                !e["purpose"].as_str().unwrap().is_empty(),
                "no purpose: {e}"
            );
            (
                e["method"].as_str().unwrap().to_owned(),
                e["path"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for expected in [
        ("GET", "/_mock/health"),
        ("POST", "/_mock/reset"),
        ("POST", "/_mock/customers"),
        ("POST", "/_mock/seed"),
        ("POST", "/_mock/clock"),
        ("GET", "/_mock/requests"),
        ("POST", "/_mock/faults"),
        ("DELETE", "/_mock/faults/{id}"),
        ("POST", "/_mock/cm/events"),
        ("POST", "/_mock/car/assetjobs/{id}/outcome"),
        ("PUT", "/_mock/config"),
    ] {
        assert!(
            listed.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} missing from the index"
        );
    }
    // Every listed endpoint exists with that method: neither the 404 fallback ("No
    // resource at") nor 405.
    for (method, path) in &listed {
        let path = path.replace("{id}", "999999999");
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let r = app
            .request(
                method.clone(),
                &path,
                &[("content-type", "application/json")],
                Body::from("{}"),
            )
            .await;
        assert_ne!(r.status, 405, "{method} {path}: {}", r.text());
        assert!(
            !r.text().contains("No resource at"),
            "{method} {path} is not routed: {}",
            r.text()
        );
    }
}

#[tokio::test]
async fn the_control_index_needs_the_control_token_when_one_is_set() {
    let running = launch(qualys_mock::ServerConfig {
        control_token: Some("sesame".into()),
        ..crate::helpers::serve_config()
    })
    .await;
    let url = format!("http://{}/_mock/", running.http_addr());
    let client = plain_client();
    assert_eq!(client.get(&url).send().await.unwrap().status(), 401);
    let r = client
        .get(&url)
        .header("x-mock-token", "sesame")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert!(body["endpoints"].as_array().unwrap().len() > 10);
    running.shutdown().await;
}

// ---------------------------------------------------------------------------------------
// --tls-san, --tls-cert-out

#[tokio::test]
async fn a_tls_san_name_verifies_with_the_exported_ca() {
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("ca.pem");
    let args = qualys_mock::ServerConfig {
        https: crate::helpers::generated_https(
            &["qualys", "10.20.30.40"],
            Some(std::path::Path::new(pem.to_str().unwrap())),
        ),
        ..crate::helpers::serve_config()
    };
    let running = launch(args.clone()).await;
    let addr = SocketAddr::from(([127, 0, 0, 1], running.https_addr().unwrap().port()));
    let port = addr.port();

    let client = client_trusting(&pem, &[("qualys", addr), ("not-named", addr)]);
    let r = client
        .get(format!("https://qualys:{port}/_mock/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The default names are still there.
    let r = client
        .get(format!("https://localhost:{port}/_mock/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // A name the certificate does not carry fails verification.
    let err = client
        .get(format!("https://not-named:{port}/_mock/health"))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_connect() || err.is_request(), "{err:?}");
    running.shutdown().await;

    // Without --tls-san the name is refused: the flag is what makes it work.
    let pem2 = dir.path().join("ca2.pem");
    let running = launch(qualys_mock::ServerConfig {
        https: crate::helpers::generated_https(
            &[],
            Some(std::path::Path::new(pem2.to_str().unwrap())),
        ),
        ..crate::helpers::serve_config()
    })
    .await;
    let addr = SocketAddr::from(([127, 0, 0, 1], running.https_addr().unwrap().port()));
    let refused = client_trusting(&pem2, &[("qualys", addr)])
        .get(format!("https://qualys:{}/_mock/health", addr.port()))
        .send()
        .await;
    assert!(refused.is_err());
    running.shutdown().await;
}

#[test]
fn the_ready_file_names_the_running_binary_and_goes_at_exit() {
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready.json");
    let pem = dir.path().join("ca.pem");
    let mut server = Spawned::start(
        &["--https-port", "0", "--tls-cert-out", pem.to_str().unwrap()],
        &[("QUALYS_MOCK_READY_FILE", ready.to_str().unwrap())],
    );
    // Written before the banner: the server answers by then.
    let signal: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&ready).unwrap()).unwrap();
    assert_eq!(signal["http"], format!("http://{}", server.http));
    assert_eq!(
        signal["https"],
        format!("https://{}", server.https.unwrap())
    );
    assert_eq!(signal["ca"], pem.to_str().unwrap());
    assert_eq!(signal["pid"], server.child.id());
    assert_eq!(signal["version"], env!("CARGO_PKG_VERSION"));
    server.stop();
    assert!(!ready.exists(), "the ready file outlived the server");
}

#[test]
fn a_sigterm_sent_as_soon_as_the_ready_file_appears_is_a_graceful_stop() {
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let ready = dir.path().join("ready.json");
        let mut server = KillOnDrop(
            Command::new(BIN)
                .args([
                    "serve",
                    "--port",
                    "0",
                    "--ready-file",
                    ready.to_str().unwrap(),
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        while !ready.exists() {
            assert!(Instant::now() < deadline, "no ready file");
            std::thread::sleep(Duration::from_millis(1));
        }
        sigterm(server.0.id());
        let status = wait_bounded(&mut server.0, Duration::from_secs(30));
        assert!(status.success(), "exit status {status:?}");
        assert!(!ready.exists());
    }
}

#[test]
fn tls_san_from_the_environment_is_a_comma_separated_list() {
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("ca.pem");
    let mut server = Spawned::start(
        &["--https-port", "0", "--tls-cert-out", pem.to_str().unwrap()],
        &[("QUALYS_MOCK_TLS_SAN", "qualys, mock.test,")],
    );
    let https = server.https.unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = client_trusting(&pem, &[("qualys", https), ("mock.test", https)]);
        for name in ["qualys", "mock.test"] {
            let r = client
                .get(format!("https://{name}:{}/_mock/health", https.port()))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{name}");
        }
    });
    server.stop();
}

#[tokio::test]
async fn two_servers_write_their_generated_ca_to_different_default_files() {
    let a = launch(qualys_mock::ServerConfig {
        https: crate::helpers::generated_https(&[], None),
        ..crate::helpers::serve_config()
    })
    .await;
    let b = launch(qualys_mock::ServerConfig {
        https: crate::helpers::generated_https(&[], None),
        ..crate::helpers::serve_config()
    })
    .await;
    let (pa, pb) = (
        a.trust_pem_path().unwrap().to_path_buf(),
        b.trust_pem_path().unwrap().to_path_buf(),
    );
    assert_ne!(pa, pb);
    assert_eq!(
        pa,
        std::env::temp_dir().join(format!(
            "qualys-mock-ca-{}.pem",
            a.https_addr().unwrap().port()
        ))
    );
    // Each file verifies its own server, and only that one.
    for (pem, own, other) in [
        (&pa, a.https_addr().unwrap(), b.https_addr().unwrap()),
        (&pb, b.https_addr().unwrap(), a.https_addr().unwrap()),
    ] {
        let client = client_trusting(pem, &[]);
        let ok = client
            .get(format!("https://localhost:{}/_mock/health", own.port()))
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
        assert!(
            client
                .get(format!("https://localhost:{}/_mock/health", other.port()))
                .send()
                .await
                .is_err()
        );
    }
    a.shutdown().await;
    b.shutdown().await;
    // Files at the default path are the server's own: removed at shutdown.
    assert!(!pa.exists() && !pb.exists());
}

// ---------------------------------------------------------------------------------------
// The real binary on pipes

/// The binary serving on loopback, its stdout read until the banner's end.
pub(crate) struct Spawned {
    pub(crate) child: Child,
    pub(crate) http: SocketAddr,
    https: Option<SocketAddr>,
    stderr: Option<std::thread::JoinHandle<Vec<u8>>>,
}

impl Spawned {
    /// Start `serve --port 0` with `args`; stderr is collected by a thread.
    pub(crate) fn start(args: &[&str], env: &[(&str, &str)]) -> Spawned {
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--port", "0"])
            .args(args)
            .env_remove("NO_COLOR")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut all = Vec::new();
            let _ = stderr.read_to_end(&mut all);
            all
        });
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let (mut http, mut https) = (None, None);
        let mut line = String::new();
        loop {
            line.clear();
            if out.read_line(&mut line).unwrap() == 0 {
                panic!("the server exited before its banner");
            }
            let addr = |l: &str| l.rsplit("//").next().unwrap().trim().parse().unwrap();
            // With --log-format json, the banner is one JSON object.
            if let Ok(banner) = serde_json::from_str::<serde_json::Value>(&line) {
                http = banner["http"].as_str().map(addr);
                https = banner["https"].as_str().map(addr);
                break;
            }
            if let Some(rest) = line.trim().strip_prefix("http:") {
                http = Some(addr(rest));
            } else if let Some(rest) = line.trim().strip_prefix("https:") {
                https = Some(addr(rest));
            } else if line.trim().starts_with("seed:") {
                break;
            }
        }
        Spawned {
            child,
            http: http.unwrap(),
            https,
            stderr: Some(stderr),
        }
    }

    /// SIGTERM, wait (bounded), and the stderr it wrote.
    pub(crate) fn stop(&mut self) -> String {
        sigterm(self.child.id());
        let status = wait_bounded(&mut self.child, Duration::from_secs(30));
        assert!(status.success(), "exit status {status:?}");
        let bytes = self.stderr.take().unwrap().join().unwrap();
        String::from_utf8(bytes).unwrap()
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sigterm(pid: u32) {
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn wait_bounded(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("the server did not stop within {limit:?} of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A child that is killed if the test fails before it is stopped.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The binary with stdout and stderr on one pipe whose read end is returned, unread, and at
/// most `buffer_lines` log lines queued for it.
fn serve_on_an_unread_pipe(buffer_lines: u32) -> (KillOnDrop, std::io::PipeReader, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    let port = free_port();
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--port", &port.to_string()])
        .args(["--log-buffer-lines", &buffer_lines.to_string()])
        .env_remove("QUALYS_MOCK_LOG")
        .stdin(Stdio::null())
        .stdout(writer.try_clone().unwrap())
        .stderr(writer);
    let child = KillOnDrop(cmd.spawn().unwrap());
    drop(cmd); // our copies of the pipe's write end: only the server holds it now
    (child, reader, format!("http://127.0.0.1:{port}"))
}

/// `total` requests from 4 concurrent clients, half to the control API and half to CM; each
/// must answer 200 within 10 s. Returns the time they took.
fn hammer(base: &str, total: usize) -> Duration {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = plain_client();
        let mut up = false;
        for _ in 0..300 {
            if client
                .get(format!("{base}/_mock/health"))
                .send()
                .await
                .is_ok()
            {
                up = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(up, "the server did not come up");
        let started = Instant::now();
        let auth = crate::helpers::basic("acme_ss2", "passwd");
        let workers: Vec<_> = (0..4)
            .map(|w| {
                let (client, base, auth) = (client.clone(), base.to_owned(), auth.clone());
                tokio::spawn(async move {
                    for i in 0..total / 4 {
                        let r = if (w + i) % 2 == 0 {
                            client.get(format!("{base}/_mock/health")).send().await
                        } else {
                            client
                                .get(format!("{base}/qps/rest/portal/version"))
                                .header("authorization", &auth)
                                .send()
                                .await
                        };
                        let r = r.unwrap_or_else(|e| panic!("request {i} of worker {w}: {e}"));
                        assert_eq!(r.status(), 200);
                        r.bytes().await.unwrap();
                    }
                })
            })
            .collect();
        for w in workers {
            w.await.unwrap();
        }
        started.elapsed()
    })
}

/// The freeze: stdout and stderr on one pipe that nobody reads. Every request logs a
/// line, so the pipe's buffer and then the log queue fill after a few hundred; a blocking
/// logger would hang every handler from then on (and did: with a blocking writer this test
/// fails at about request 190 of each client). The server must answer all 5,000, and stop on
/// SIGTERM with the pipe still unread.
#[test]
fn a_server_whose_log_pipe_nobody_reads_answers_5000_requests_and_stops() {
    let (mut child, reader, base) = serve_on_an_unread_pipe(256);
    let elapsed = hammer(&base, 5000);
    eprintln!(
        "5,000 requests with the log pipe unread: {:.2} s ({:.0} req/s)",
        elapsed.as_secs_f64(),
        5000.0 / elapsed.as_secs_f64()
    );
    sigterm(child.0.id());
    let status = wait_bounded(&mut child.0, Duration::from_secs(30));
    assert!(status.success(), "{status:?}");
    drop(reader);
}

/// Lines dropped while the reader stalled are counted and reported once it reads again.
#[test]
fn dropped_log_lines_are_reported_when_the_reader_is_back() {
    let (mut child, mut reader, base) = serve_on_an_unread_pipe(64);
    hammer(&base, 2000);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let drain = {
        let seen = Arc::clone(&seen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen.lock().unwrap().extend_from_slice(&buf[..n]),
                }
            }
        })
    };
    // The report comes within a few seconds (the counter is checked every 2 s); bounded.
    let report_seen =
        || String::from_utf8_lossy(&seen.lock().unwrap()).contains("log lines dropped");
    let started = Instant::now();
    while !report_seen() && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(50));
    }
    sigterm(child.0.id());
    let status = wait_bounded(&mut child.0, Duration::from_secs(30));
    assert!(status.success(), "{status:?}");
    drain.join().unwrap();
    let out = String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
    let report = out
        .lines()
        .find(|l| l.contains("log lines dropped"))
        .unwrap_or_else(|| panic!("no drop report in:\n{out}"));
    let dropped: u64 = report
        .split("dropped=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {report}"));
    assert!(dropped > 0, "{report}");
    assert!(out.contains("shutting down"), "{out}");
}

#[test]
fn json_logs_are_one_object_per_line() {
    let mut server = Spawned::start(&["--log-format", "json"], &[]);
    let base = format!("http://{}", server.http);
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let client = plain_client();
        assert_eq!(
            client
                .get(format!("{base}/_mock/health"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
        assert_eq!(
            client
                .get(format!("{base}/no/such/path"))
                .send()
                .await
                .unwrap()
                .status(),
            404
        );
    });
    let err = server.stop();
    let lines: Vec<serde_json::Value> = err
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines.len() >= 4, "{err}");
    let request = lines
        .iter()
        .find(|l| l["message"] == "request" && l["path"] == "/no/such/path")
        .unwrap_or_else(|| panic!("no request line in {err}"));
    assert_eq!(request["status"], 404);
    assert_eq!(request["method"], "GET");
    assert_eq!(request["level"], "INFO");
    assert!(request["timestamp"].is_string() && request["latency_ms"].is_number());
    assert!(lines.iter().any(|l| l["message"] == "ready"));
    assert!(!err.contains('\u{1b}'));
}

#[test]
fn text_logs_on_a_pipe_carry_no_colour_codes() {
    let mut server = Spawned::start(&[], &[("QUALYS_MOCK_LOG_FORMAT", "text")]);
    let base = format!("http://{}", server.http);
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        plain_client()
            .get(format!("{base}/_mock/health"))
            .send()
            .await
            .unwrap();
    });
    let err = server.stop();
    assert!(
        err.contains("request") && err.contains("/_mock/health"),
        "{err}"
    );
    assert!(
        !err.contains('\u{1b}'),
        "escape codes in piped logs: {err:?}"
    );
}

#[test]
fn a_log_filter_that_is_not_a_level_is_refused_with_a_hint() {
    let out = Command::new(BIN)
        .args(["serve", "--port", "0", "--log", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("\"json\" is not a level"), "{err}");
    assert!(err.contains("--log-format json"), "{err}");
    assert!(err.contains("target=level"), "{err}");
    // The variable is checked the same way.
    let out = Command::new(BIN)
        .args(["serve", "--port", "0"])
        .env("QUALYS_MOCK_LOG", "inf")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("\"inf\" is not a level"));
}

#[test]
fn an_unknown_log_format_is_refused() {
    let out = Command::new(BIN)
        .args(["serve", "--port", "0", "--log-format", "yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("text") && err.contains("json"), "{err}");
}

// ---------------------------------------------------------------------------------------
// healthcheck

#[test]
fn healthcheck_probes_the_port_in_qualys_mock_port() {
    let mut server = Spawned::start(&[], &[]);
    let port = server.http.port().to_string();
    let probe = |env: &[(&str, &str)], args: &[&str]| {
        let mut cmd = Command::new(BIN);
        cmd.arg("healthcheck")
            .args(args)
            .env_remove("QUALYS_MOCK_HEALTH_URL")
            .env_remove("QUALYS_MOCK_HOST")
            .env_remove("QUALYS_MOCK_PORT");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    assert!(probe(&[("QUALYS_MOCK_PORT", &port)], &[]).status.success());
    // A container listens on 0.0.0.0; the probe goes to loopback.
    assert!(
        probe(
            &[("QUALYS_MOCK_PORT", &port), ("QUALYS_MOCK_HOST", "0.0.0.0")],
            &[]
        )
        .status
        .success()
    );
    assert!(probe(&[], &["--port", &port]).status.success());

    // QUALYS_MOCK_PORT=9000 probes 9000 (whatever is or is not there, it is not us).
    let out = probe(&[("QUALYS_MOCK_PORT", "9000")], &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("127.0.0.1:9000"), "{err}");

    let out = probe(&[("QUALYS_MOCK_PORT", "0")], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--url"));
    server.stop();
    assert!(!probe(&[("QUALYS_MOCK_PORT", &port)], &[]).status.success());
}
