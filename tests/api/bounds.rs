//! Bounds: connection timeouts over real sockets, the journal's bounds and
//! redaction, export limits, errors in each surface's format, start-up refusals.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn launch(config: qualys_mock::ServerConfig) -> qualys_mock::MockServer {
    crate::helpers::launch(config).await
}

/// A generous bound: a closed connection is seen long before it on any machine; a
/// connection held open forever fails the test instead of hanging it.
const BOUND: Duration = Duration::from_secs(30);

/// A raw connection to `addr` that has sent `bytes`.
pub(crate) async fn sent(addr: std::net::SocketAddr, bytes: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    stream
}

/// Read until the server closes the connection; what it sent, or `None` when it was still
/// open at the bound.
pub(crate) async fn read_until_closed(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + BOUND;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(seen),
            Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
        }
    }
}

/// A server on a free port whose header, body-stall and idle timeouts are these numbers of
/// seconds (the body deadline as by default).
fn with_timeouts(header: u64, body: u64, idle: u64) -> qualys_mock::ServerConfig {
    qualys_mock::ServerConfig {
        timeouts: qualys_mock::Timeouts {
            header: Duration::from_secs(header),
            body: Duration::from_secs(body),
            idle: Duration::from_secs(idle),
            ..Default::default()
        },
        ..crate::helpers::serve_config()
    }
}

/// Short transport timeouts.
fn short() -> qualys_mock::ServerConfig {
    with_timeouts(1, 1, 2)
}

/// Assert that what a raw connection read is an answer starting with `status_line`.
#[track_caller]
fn assert_answer_starts(seen: &[u8], status_line: &str) {
    let text = String::from_utf8_lossy(seen);
    assert!(text.starts_with(status_line), "{text}");
}

/// What a server with [`short`] timeouts sends on a connection that sent `bytes` and then
/// nothing, up to its close; `None` when it was still open at the bound.
async fn short_server_answer_to(bytes: &[u8]) -> Option<Vec<u8>> {
    let running = launch(short()).await;
    let mut stream = sent(running.http_addr(), bytes).await;
    let seen = read_until_closed(&mut stream).await;
    running.shutdown().await;
    seen
}

#[tokio::test]
async fn a_connection_that_sends_half_its_headers_is_closed() {
    let seen =
        short_server_answer_to(b"GET /_mock/health HTTP/1.1\r\nHost: localhost\r\nX-Half: ").await;
    assert!(seen.is_some(), "a half-sent head held the connection open");
}

#[tokio::test]
async fn a_connection_that_drips_its_headers_is_closed() {
    let running = launch(short()).await;
    let mut stream = sent(running.http_addr(), b"GET /_mock/health HTTP/1.1\r\n").await;
    // One header line every 300 ms: never idle, but the head never ends.
    let mut closed = false;
    for i in 0..100 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        if stream
            .write_all(format!("X-Drip-{i}: 1\r\n").as_bytes())
            .await
            .is_err()
        {
            closed = true;
            break;
        }
    }
    if !closed {
        closed = read_until_closed(&mut stream).await.is_some();
    }
    assert!(closed, "a dripped head held the connection open for 30 s");
    running.shutdown().await;
}

#[tokio::test]
async fn a_stalled_upload_is_dropped() {
    let running = launch(short()).await;
    let client = crate::helpers::http_client();
    let token =
        crate::helpers::acme_token(&client, &format!("http://{}", running.http_addr())).await;
    for auth in [format!("Bearer {token}"), String::new()] {
        let mut head = String::from(
            "POST /sm/v1/scripts/import HTTP/1.1\r\nHost: localhost\r\n\
             Content-Type: application/json\r\nContent-Length: 100000\r\n",
        );
        if !auth.is_empty() {
            head.push_str(&format!("Authorization: {auth}\r\n"));
        }
        head.push_str("\r\n{\"name\": \"stalled");
        let mut stream = sent(running.http_addr(), head.as_bytes()).await;
        let seen = read_until_closed(&mut stream).await;
        assert!(seen.is_some(), "a stalled upload ({auth:?}) was held open");
    }
    running.shutdown().await;
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed() {
    let seen =
        short_server_answer_to(b"GET /_mock/health HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
    let seen = seen.expect("an idle kept-alive connection was held open");
    assert_answer_starts(&seen, "HTTP/1.1 200");
}

#[tokio::test]
async fn a_slow_but_steady_client_is_served() {
    // Timeouts measure stalls, not total time: a body that keeps arriving is read.
    let running = launch(short()).await;
    let body = b"username=acme_ss2&password=passwd&token=true";
    let head = format!(
        "POST /auth HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut stream = sent(running.http_addr(), head.as_bytes()).await;
    for chunk in body.chunks(11) {
        tokio::time::sleep(Duration::from_millis(400)).await;
        stream.write_all(chunk).await.unwrap();
    }
    let seen = read_until_closed(&mut stream).await.unwrap();
    assert_answer_starts(&seen, "HTTP/1.1 201");
    running.shutdown().await;
}

/// Send a request head (and the first `body_bytes` bytes of a body that claims `declared`),
/// then read the
/// answer's head without sending more: the server must answer without the rest.
async fn answer_before_the_body(
    addr: std::net::SocketAddr,
    head: &str,
    declared: usize,
    body_bytes: usize,
) -> Option<String> {
    let head = format!("{head}Content-Length: {declared}\r\n\r\n");
    let mut stream = sent(addr, head.as_bytes()).await;
    stream.write_all(&vec![b'a'; body_bytes]).await.unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + BOUND;
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => seen.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    (!seen.is_empty()).then(|| String::from_utf8_lossy(&seen).into_owned())
}

#[tokio::test]
async fn requests_without_credentials_are_refused_before_their_body_is_read() {
    // Body timeouts far away: only an answer that does not wait for the body passes (the
    // idle timeout as by default).
    let running = launch(with_timeouts(600, 600, 60)).await;
    let addr = running.http_addr();
    let cases = [
        "POST /sm/v1/scripts/import HTTP/1.1\r\nHost: localhost\r\n\
         Content-Type: multipart/form-data; boundary=x\r\n",
        "POST /sm/v1/scripts/search HTTP/1.1\r\nHost: localhost\r\n\
         Content-Type: application/json\r\nAuthorization: Bearer not.a.token\r\n",
        "POST /qps/rest/2.0/search/cm/alert HTTP/1.1\r\nHost: localhost\r\n\
         Content-Type: text/xml\r\n",
        "POST /qps/rest/2.0/search/cm/alert HTTP/1.1\r\nHost: localhost\r\n\
         Content-Type: text/xml\r\nAuthorization: Basic YWNtZV9zczI6d3Jvbmc=\r\n",
    ];
    for head in cases {
        let answer = answer_before_the_body(addr, head, 16 << 20, 64 << 10).await;
        let answer = answer.unwrap_or_else(|| panic!("no answer before the body: {head}"));
        assert!(answer.starts_with("HTTP/1.1 401"), "{head}\n→ {answer}");
    }
    // A login reads at most 64 KiB of its body.
    let answer = answer_before_the_body(
        addr,
        "POST /auth HTTP/1.1\r\nHost: localhost\r\n\
         Content-Type: application/x-www-form-urlencoded\r\n",
        16 << 20,
        128 << 10,
    )
    .await
    .expect("no answer to an oversized login");
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    running.shutdown().await;
}

/// `POST /sm/v1/scripts/search` with `body` and a bearer token, over a real connection.
async fn search_scripts_over_http(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    body: String,
) -> reqwest::Response {
    client
        .post(format!("{base}/sm/v1/scripts/search"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

/// The request journal as `GET /_mock/requests{query}` shows it, as text.
async fn journal_text(client: &reqwest::Client, base: &str, query: &str) -> String {
    crate::helpers::text_of(client.get(format!("{base}/_mock/requests{query}"))).await
}

#[tokio::test]
async fn the_journal_keeps_at_most_its_limit_and_shows_what_was_read() {
    let running = launch(qualys_mock::ServerConfig {
        journal_body_bytes: 100,
        ..crate::helpers::serve_config()
    })
    .await;
    let base = format!("http://{}", running.http_addr());
    let client = crate::helpers::http_client();
    let token = crate::helpers::acme_token(&client, &base).await;
    let filter = format!("{{\"filter\": \"name:`{}`\"}}", "a".repeat(5000));
    let r = search_scripts_over_http(&client, &base, &token, filter.clone()).await;
    assert!(r.status().is_success() || r.status().is_client_error());
    let journal: serde_json::Value =
        serde_json::from_str(&journal_text(&client, &base, "?path=/sm/v1/scripts/search").await)
            .unwrap();
    let entry = &journal["requests"][0];
    assert_eq!(entry["bodyTruncated"], true, "{entry}");
    assert_eq!(entry["body"].as_str().unwrap(), &filter[..100]);
    running.shutdown().await;
}

#[tokio::test]
async fn the_journal_redacts_passwords_and_tokens() {
    let running = launch(crate::helpers::serve_config()).await;
    let base = format!("http://{}", running.http_addr());
    let client = crate::helpers::http_client();
    // A login with a form body, one with a JSON body, one with the query string.
    let token = crate::helpers::acme_token(&client, &base).await;
    client
        .post(format!("{base}/auth"))
        .header("content-type", "application/json")
        .body(r#"{"username": "acme_ss2", "password": "passwd", "token": "true"}"#)
        .send()
        .await
        .unwrap();
    client
        .post(format!(
            "{base}/auth?username=acme_ss2&password=passwd&token=true"
        ))
        .send()
        .await
        .unwrap();
    search_scripts_over_http(
        &client,
        &base,
        &token,
        format!(r#"{{"filter": "name:`x`", "note": "Bearer {token}"}}"#),
    )
    .await;
    client
        .get(format!("{base}/qps/rest/portal/version"))
        .basic_auth("acme_ss2", Some("passwd"))
        .send()
        .await
        .unwrap();
    let journal = journal_text(&client, &base, "").await;
    assert!(!journal.contains("passwd"), "{journal}");
    assert!(!journal.contains(&token), "{journal}");
    assert!(
        !journal.contains(token.split('.').nth(1).unwrap()),
        "{journal}"
    );
    assert!(journal.contains("password=***"), "{journal}");
    assert!(journal.contains(r#"\"password\": \"***\""#), "{journal}");
    assert!(journal.contains("acme_ss2"), "users still show: {journal}");
    running.shutdown().await;
}

mod export {
    use axum::http::{Method, StatusCode};
    use base64::Engine as _;
    use serde_json::json;

    use crate::helpers::{TestApp, TestResponse};

    /// `GET /sm/v1/scripts/export?ids={ids}`.
    async fn export(app: &TestApp, t: &str, ids: &str) -> TestResponse {
        app.car(
            Method::GET,
            &format!("/sm/v1/scripts/export?ids={ids}"),
            t,
            "",
        )
        .await
    }

    #[tokio::test]
    async fn repeated_ids_are_exported_once() {
        let app = TestApp::new().await;
        let t = app.acme().await;
        let ids = vec!["16515"; 8000].join(",");
        let r = export(&app, &t, &ids).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(r.json().as_array().unwrap().len(), 1);
        let r = export(&app, &t, "72652,75508,72652").await;
        let ids: Vec<_> = r
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].clone())
            .collect();
        assert_eq!(ids, vec![json!(72652), json!(75508)]);
    }

    #[tokio::test]
    async fn more_than_100_ids_are_refused_naming_the_limit() {
        let app = TestApp::new().await;
        let t = app.acme().await;
        let ids: Vec<String> = (1..=101).map(|i| i.to_string()).collect();
        let r = export(&app, &t, &ids.join(",")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
        let body = r.json();
        assert!(body.to_string().contains("At most 100"), "{body}");
    }

    #[tokio::test]
    async fn an_export_larger_than_an_import_may_be_is_refused() {
        let app = TestApp::new().await;
        let t = app.acme().await;
        let sample = export(&app, &t, "16515").await.json()[0].clone();
        let content = base64::engine::general_purpose::STANDARD.encode(vec![b'#'; 400_000]);
        let mut ids = Vec::new();
        for batch in 0..2 {
            let scripts: Vec<_> = (0..20)
                .map(|i| {
                    let mut s = sample.clone();
                    s["title"] = json!(format!("Big script {batch} {i}"));
                    s["content"] = json!(content);
                    s
                })
                .collect();
            let r = app
                .upload(
                    "/sm/v1/scripts/import",
                    &t,
                    "file",
                    serde_json::to_vec(&scripts).unwrap().as_slice(),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            for id in r.json()["ImportedIds"].as_array().unwrap() {
                ids.push(id.as_str().unwrap().to_owned());
            }
        }
        let r = export(&app, &t, &ids.join(",")).await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "{}",
            &r.text()[..200.min(r.text().len())]
        );
        assert!(r.text().contains("export fewer ids"), "{}", r.text());
        // Half of them fit.
        let r = export(&app, &t, &ids[..20].join(",")).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.json().as_array().unwrap().len(), 20);
    }
}

mod surface_errors {
    use axum::http::{Method, StatusCode};

    use crate::helpers::{ACME, TestApp};

    #[tokio::test]
    async fn a_car_path_that_is_not_utf8_answers_the_car_envelope() {
        let app = TestApp::new().await;
        let t = app.acme().await;
        for path in [
            "/sm/v1/scripts/%FF",
            "/sm/v1/scripts/%C3%28/clone",
            "/sm/v1/scripts/%FF/execute",
            "/sm/v1/%FF",
        ] {
            let method = if path.ends_with("clone") || path.ends_with("execute") {
                Method::POST
            } else {
                Method::GET
            };
            let r = app.car(method, path, &t, "{}").await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.text());
            let body = r.json();
            assert!(
                body.to_string().contains("percent-encoded"),
                "{path}: {body}"
            );
            assert!(r.header("content-type").unwrap().contains("json"), "{path}");
        }
        // A well-encoded path still reaches its handler.
        let r = app
            .car(Method::GET, "/sm/v1/scripts/%31%36%35%31%35", &t, "")
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }

    #[tokio::test]
    async fn a_cm_path_that_is_not_utf8_answers_a_service_response() {
        let app = TestApp::new().await;
        let r = app
            .call_with_basic_auth(Method::POST, "/qps/rest/2.0/search/cm/%FF", ACME)
            .await;
        assert!(r.text().contains("<ServiceResponse"), "{}", r.text());
        assert!(r.text().contains("INVALID_REQUEST"), "{}", r.text());
    }

    #[tokio::test]
    async fn control_path_and_query_errors_answer_control_json() {
        let app = TestApp::new().await;
        for (method, path) in [
            (Method::DELETE, "/_mock/faults/abc"),
            (Method::DELETE, "/_mock/faults/-1"),
            (Method::DELETE, "/_mock/faults/%FF"),
            (Method::POST, "/_mock/car/assetjobs/x/outcome"),
            (Method::GET, "/_mock/requests?status=x"),
            (Method::GET, "/_mock/requests?since=yesterday"),
            (Method::GET, "/_mock/requests?status=%FF"),
        ] {
            let r = app.request(method, path, &[], "{}").await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.text());
            let body = r.json();
            assert!(body["error"].is_string(), "{path}: {body}");
        }
    }
}

/// Read one answer (head and a Content-Length body) off a kept-alive connection.
async fn read_one_answer(stream: &mut TcpStream) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&seen).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let len: usize = text[..end]
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            if seen.len() >= end + 4 + len {
                return text;
            }
        }
        let n = tokio::time::timeout(BOUND, stream.read(&mut buf))
            .await
            .expect("no answer")
            .unwrap();
        assert!(n > 0, "closed before the answer: {text}");
        seen.extend_from_slice(&buf[..n]);
    }
}

#[tokio::test]
async fn a_refused_request_with_a_small_body_keeps_its_connection() {
    let running = launch(crate::helpers::serve_config()).await;
    let mut stream = sent(
        running.http_addr(),
        b"POST /sm/v1/scripts/search HTTP/1.1\r\nHost: localhost\r\n\
          Authorization: Bearer not.a.token\r\nContent-Length: 2\r\n\r\n{}",
    )
    .await;
    let first = read_one_answer(&mut stream).await;
    assert!(first.starts_with("HTTP/1.1 401"), "{first}");
    assert!(
        !first.to_ascii_lowercase().contains("connection: close"),
        "{first}"
    );
    stream
        .write_all(b"GET /_mock/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let second = read_until_closed(&mut stream).await.unwrap();
    assert_answer_starts(&second, "HTTP/1.1 200");
    // A large unread body: the answer says the connection closes.
    let answer = answer_before_the_body(
        running.http_addr(),
        "POST /sm/v1/scripts/search HTTP/1.1\r\nHost: localhost\r\n",
        1 << 20,
        1024,
    )
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    running.shutdown().await;
}

#[tokio::test]
async fn a_head_started_late_is_still_held_to_the_header_timeout() {
    // The idle timeout is far away: only the header timeout can close this connection (the
    // body timeout as by default).
    let running = launch(with_timeouts(1, 30, 600)).await;
    for first in [
        &b"\r\n\r\n"[..],
        b"GET /_mock/health HTTP/1.1\r\nHost: x\r\n",
    ] {
        let mut stream = TcpStream::connect(running.http_addr()).await.unwrap();
        // Connected and quiet for a while, then half a request.
        tokio::time::sleep(Duration::from_millis(500)).await;
        stream.write_all(first).await.unwrap();
        // 20 s: generous against the 1 s timeout, and short of hyper's own 30 s default.
        let closed = tokio::time::timeout(Duration::from_secs(20), read_until_closed(&mut stream))
            .await
            .ok()
            .flatten();
        assert!(closed.is_some(), "{first:?} held the connection open");
    }
    running.shutdown().await;
}

#[tokio::test]
async fn a_header_timeout_longer_than_thirty_seconds_is_honoured() {
    // hyper's own head timer (30 s unless told otherwise) must not cut a longer one short
    // (the body timeout as by default).
    let running = launch(with_timeouts(45, 30, 600)).await;
    let mut stream = sent(
        running.http_addr(),
        b"GET /_mock/health HTTP/1.1\r\nHost: localhost\r\n",
    )
    .await;
    let mut buf = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_secs(35), stream.read(&mut buf)).await;
    assert!(
        early.is_err(),
        "the connection ended before its 45 s header timeout: {early:?}"
    );
    // The head finished in time is answered.
    stream.write_all(b"\r\n").await.unwrap();
    let n = tokio::time::timeout(BOUND, stream.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_answer_starts(&buf[..n], "HTTP/1.1 200");
    running.shutdown().await;
}
