//! Hardening (issue 11): connection timeouts over real sockets, the journal's bounds and
//! redaction, export limits, errors in each surface's format, start-up refusals.

use std::time::Duration;

use clap::Parser;
use qualys_mock::clock::Clock;
use qualys_mock::config::{Cli, Command, ServeArgs};
use qualys_mock::server::{Running, build_state, start};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn serve_args(extra: &[&str]) -> ServeArgs {
    let mut argv = vec!["qualys-mock", "serve", "--port", "0"];
    argv.extend_from_slice(extra);
    match Cli::try_parse_from(argv).unwrap().command {
        Command::Serve(args) => *args,
        other => panic!("expected serve, got {other:?}"),
    }
}

async fn launch(extra: &[&str]) -> Running {
    let args = serve_args(extra);
    let state = build_state(&args, Clock::real()).await.unwrap();
    start(&args, state).await.unwrap()
}

/// A generous bound: a closed connection is seen long before it on any machine; a
/// connection held open forever fails the test instead of hanging it.
const BOUND: Duration = Duration::from_secs(30);

/// Read until the server closes the connection; what it sent, or `None` when it was still
/// open at the bound.
async fn read_until_closed(stream: &mut TcpStream) -> Option<Vec<u8>> {
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

const SHORT: &[&str] = &[
    "--header-timeout-secs",
    "1",
    "--body-timeout-secs",
    "1",
    "--idle-timeout-secs",
    "2",
];

#[tokio::test]
async fn a_connection_that_sends_half_its_headers_is_closed() {
    let running = launch(SHORT).await;
    let mut stream = TcpStream::connect(running.http_addr).await.unwrap();
    stream
        .write_all(b"GET /_mock/health HTTP/1.1\r\nHost: localhost\r\nX-Half: ")
        .await
        .unwrap();
    let seen = read_until_closed(&mut stream).await;
    assert!(seen.is_some(), "a half-sent head held the connection open");
    running.shutdown().await;
}

#[tokio::test]
async fn a_connection_that_drips_its_headers_is_closed() {
    let running = launch(SHORT).await;
    let mut stream = TcpStream::connect(running.http_addr).await.unwrap();
    stream
        .write_all(b"GET /_mock/health HTTP/1.1\r\n")
        .await
        .unwrap();
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
    let running = launch(SHORT).await;
    let client = crate::helpers::http_client();
    let token = client
        .post(format!("http://{}/auth", running.http_addr))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("username=acme_ss2&password=passwd&token=true")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for auth in [format!("Bearer {token}"), String::new()] {
        let mut stream = TcpStream::connect(running.http_addr).await.unwrap();
        let mut head = String::from(
            "POST /sm/v1/scripts/import HTTP/1.1\r\nHost: localhost\r\n\
             Content-Type: application/json\r\nContent-Length: 100000\r\n",
        );
        if !auth.is_empty() {
            head.push_str(&format!("Authorization: {auth}\r\n"));
        }
        head.push_str("\r\n{\"name\": \"stalled");
        stream.write_all(head.as_bytes()).await.unwrap();
        let seen = read_until_closed(&mut stream).await;
        assert!(seen.is_some(), "a stalled upload ({auth:?}) was held open");
    }
    running.shutdown().await;
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed() {
    let running = launch(SHORT).await;
    let mut stream = TcpStream::connect(running.http_addr).await.unwrap();
    stream
        .write_all(b"GET /_mock/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let seen = read_until_closed(&mut stream).await;
    let seen = seen.expect("an idle kept-alive connection was held open");
    assert!(
        String::from_utf8_lossy(&seen).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&seen)
    );
    running.shutdown().await;
}

#[tokio::test]
async fn a_slow_but_steady_client_is_served() {
    // Timeouts measure stalls, not total time: a body that keeps arriving is read.
    let running = launch(SHORT).await;
    let mut stream = TcpStream::connect(running.http_addr).await.unwrap();
    let body = b"username=acme_ss2&password=passwd&token=true";
    let head = format!(
        "POST /auth HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    for chunk in body.chunks(11) {
        tokio::time::sleep(Duration::from_millis(400)).await;
        stream.write_all(chunk).await.unwrap();
    }
    let seen = read_until_closed(&mut stream).await.unwrap();
    assert!(
        String::from_utf8_lossy(&seen).starts_with("HTTP/1.1 201"),
        "{}",
        String::from_utf8_lossy(&seen)
    );
    running.shutdown().await;
}
