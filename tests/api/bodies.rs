//! Request bodies on the wire, over real sockets: a body over the limit (declared or
//! chunked), a stalled body, a body trickled past its deadline and a body refused room in
//! the budget of bodies in flight are each answered with their status (413, 408, 408, 503)
//! in the format of the request's surface: the gateway's JSON on CAR, a `ServiceResponse`
//! on CM (XML or JSON as asked), `{"error"}` on control.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::bounds::{read_until_closed, sent};
use crate::helpers::basic;
use crate::helpers::launch;

/// An answer read off a raw connection.
#[derive(Debug)]
struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    fn parse(raw: &[u8]) -> Answer {
        let text = String::from_utf8_lossy(raw).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {text:?}"));
        Answer {
            status,
            head: head.to_ascii_lowercase(),
            body: body.to_owned(),
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.head
            .lines()
            .find_map(|l| l.strip_prefix(&prefix).map(str::trim))
    }

    /// The body as JSON, the chunked framing (if any) taken off.
    fn json(&self) -> serde_json::Value {
        let start = self.body.find('{').unwrap_or(0);
        let end = self.body.rfind('}').map_or(self.body.len(), |i| i + 1);
        serde_json::from_str(&self.body[start..end])
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", self.head, self.body))
    }
}

/// Read the whole answer on a connection the server closes after it.
async fn answer(stream: &mut TcpStream) -> Answer {
    let raw = read_until_closed(stream)
        .await
        .expect("the connection was held open past the bound");
    Answer::parse(&raw)
}

async fn token(addr: SocketAddr) -> String {
    crate::helpers::acme_token(&crate::helpers::http_client(), &format!("http://{addr}")).await
}

/// A request head (without its blank line) on each surface: CAR search, CM search asking for
/// XML, CM search asking for JSON, control, and the CAR login.
fn heads(token: &str) -> Vec<(&'static str, String)> {
    let cm = basic("acme_ss2", "passwd");
    vec![
        (
            "car",
            format!(
                "POST /sm/v1/scripts/search HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
                 Content-Type: application/json\r\nAuthorization: Bearer {token}\r\n"
            ),
        ),
        (
            "cm-xml",
            format!(
                "POST /qps/rest/1.0/search/cm/alert HTTP/1.1\r\nHost: localhost\r\n\
                 Connection: close\r\nContent-Type: text/xml\r\nAuthorization: {cm}\r\n"
            ),
        ),
        (
            "cm-json",
            format!(
                "POST /qps/rest/1.0/search/cm/alert HTTP/1.1\r\nHost: localhost\r\n\
                 Connection: close\r\nContent-Type: application/json\r\n\
                 Accept: application/json\r\nAuthorization: {cm}\r\n"
            ),
        ),
        (
            "control",
            "POST /_mock/customers HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
             Content-Type: application/json\r\n"
                .to_owned(),
        ),
        (
            "auth",
            "POST /auth HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
             Content-Type: application/x-www-form-urlencoded\r\n"
                .to_owned(),
        ),
    ]
}

/// `answer` is `status` with `message`, in the format of `surface`.
fn assert_in_format(surface: &str, answer: &Answer, status: u16, message: &str) {
    let context = format!("{surface}: {}\n\n{}", answer.head, answer.body);
    assert_eq!(answer.status, status, "{context}");
    match surface {
        "car" | "auth" => {
            assert!(
                answer.header("content-type").unwrap_or("").contains("json"),
                "{context}"
            );
            let body = answer.json();
            assert_eq!(body["status"], status, "{context}");
            assert!(
                body["message"].as_str().unwrap_or("").contains(message),
                "{context}"
            );
        }
        "cm-xml" => {
            assert_eq!(
                answer.header("content-type"),
                Some("application/xml"),
                "{context}"
            );
            assert!(answer.body.contains("<ServiceResponse"), "{context}");
            assert!(answer.body.contains("<responseCode>"), "{context}");
            assert!(answer.body.contains(message), "{context}");
        }
        "cm-json" => {
            assert_eq!(
                answer.header("content-type"),
                Some("application/json"),
                "{context}"
            );
            let body = answer.json();
            let details = &body["ServiceResponse"]["responseErrorDetails"];
            assert!(
                details["errorMessage"]
                    .as_str()
                    .unwrap_or("")
                    .contains(message),
                "{context}"
            );
        }
        "control" => {
            assert!(
                answer.header("content-type").unwrap_or("").contains("json"),
                "{context}"
            );
            assert!(
                answer.json()["error"]
                    .as_str()
                    .unwrap_or("")
                    .contains(message),
                "{context}"
            );
        }
        other => panic!("no surface {other}"),
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_in_each_surfaces_format_declared_or_chunked() {
    let running = launch(qualys_mock::ServerConfig {
        max_body_bytes: 1024,
        ..crate::helpers::serve_config()
    })
    .await;
    let addr = running.http_addr();
    let token = token(addr).await;
    let big = "a".repeat(4096);
    for (surface, head) in heads(&token) {
        if surface == "auth" {
            continue; // A login reads at most 64 KiB: bounds.rs covers its 413.
        }
        // Declared: refused before a byte of it is read.
        let mut stream = sent(
            addr,
            format!("{head}Content-Length: {}\r\n\r\n{big}", big.len()).as_bytes(),
        )
        .await;
        let declared = answer(&mut stream).await;
        assert_in_format(surface, &declared, 413, "larger than the server accepts");
        // Chunked: cut where it is read.
        let chunked = format!(
            "{head}Transfer-Encoding: chunked\r\n\r\n{:x}\r\n{big}\r\n0\r\n\r\n",
            big.len()
        );
        let mut stream = sent(addr, chunked.as_bytes()).await;
        let streamed = answer(&mut stream).await;
        assert_in_format(surface, &streamed, 413, "larger than the server accepts");
    }
    running.shutdown().await;
}

#[tokio::test]
async fn a_stalled_body_is_408_in_each_surfaces_format() {
    let running = launch(qualys_mock::ServerConfig {
        timeouts: qualys_mock::Timeouts {
            body: std::time::Duration::from_secs(1),
            ..Default::default()
        },
        ..crate::helpers::serve_config()
    })
    .await;
    let addr = running.http_addr();
    let token = token(addr).await;
    for (surface, head) in heads(&token) {
        let mut stream = sent(
            addr,
            format!("{head}Content-Length: 1000\r\n\r\n{{\"name").as_bytes(),
        )
        .await;
        let stalled = answer(&mut stream).await;
        assert_in_format(surface, &stalled, 408, "stalled: no data arrived for 1 s");
    }
    running.shutdown().await;
}

#[tokio::test]
async fn a_body_trickled_past_its_deadline_is_408_then_closed() {
    // A byte every 200 ms never stalls for the 5 s body timeout; the whole body would take
    // 40 s; the 2 s deadline ends it.
    let running = launch(qualys_mock::ServerConfig {
        timeouts: qualys_mock::Timeouts {
            body: std::time::Duration::from_secs(5),
            body_deadline: std::time::Duration::from_secs(2),
            ..Default::default()
        },
        ..crate::helpers::serve_config()
    })
    .await;
    let addr = running.http_addr();
    let token = token(addr).await;
    for (surface, head) in heads(&token) {
        if !matches!(surface, "auth" | "cm-json") {
            continue;
        }
        let stream = sent(
            addr,
            format!("{head}Content-Length: 200\r\n\r\n").as_bytes(),
        )
        .await;
        let (mut reader, mut writer) = stream.into_split();
        let trickle = tokio::spawn(async move {
            for _ in 0..200 {
                tokio::time::sleep(Duration::from_millis(200)).await;
                if writer.write_all(b"a").await.is_err() {
                    return;
                }
            }
        });
        let mut raw = Vec::new();
        let read =
            tokio::time::timeout(Duration::from_secs(30), reader.read_to_end(&mut raw)).await;
        trickle.abort();
        assert!(
            read.is_ok(),
            "{surface}: the trickled body was held for 30 s"
        );
        let late = Answer::parse(&raw);
        assert_in_format(surface, &late, 408, "did not arrive within 2 s");
    }
    running.shutdown().await;
}

/// Wait (at most the bound) until `done` says the budget is held as the test needs.
/// Wait (at most 30 s) until `/_mock/health` at `health` shows the bodies in flight holding
/// at least `at_least` bytes — or, when `at_least` is 0, none.
async fn held_until(health: &str, at_least: u64) {
    let client = crate::helpers::http_client();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let text = client
            .get(health)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_str(&text).unwrap();
        let held = body["bodies"]["heldBytes"].as_u64().unwrap();
        if (at_least == 0 && held == 0) || (at_least > 0 && held >= at_least) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the budget never reached the state the test waits for: {body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn bodies_past_the_budget_wait_then_get_503_and_room_returns() {
    // 64 KiB for all bodies in flight; a body waits for room as long as it may stall (2 s).
    let running = launch(qualys_mock::ServerConfig {
        body_budget_bytes: 65536,
        timeouts: qualys_mock::Timeouts {
            body: std::time::Duration::from_secs(2),
            ..Default::default()
        },
        ..crate::helpers::serve_config()
    })
    .await;
    let addr = running.http_addr();
    let token = token(addr).await;
    let heads = heads(&token);
    let car = &heads[0].1;
    // A body of 60,000 bytes, trickled (never stalled), holds 59 KiB of the budget.
    let holder = sent(
        addr,
        format!("{car}Content-Length: 60000\r\n\r\n{{").as_bytes(),
    )
    .await;
    let (_holder_reader, mut holder_writer) = holder.into_split();
    let trickle = tokio::spawn(async move {
        for _ in 0..200 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if holder_writer.write_all(b" ").await.is_err() {
                return;
            }
        }
    });
    let health = format!("{}/_mock/health", running.base_url());
    held_until(&health, 59 * 1024).await;
    // Each surface's next body of 10,000 bytes finds no room, waits, and is refused.
    for (surface, head) in &heads {
        if *surface == "auth" {
            continue;
        }
        let mut stream = sent(
            addr,
            format!("{head}Content-Length: 10000\r\n\r\n{}", " ".repeat(10_000)).as_bytes(),
        )
        .await;
        let busy = answer(&mut stream).await;
        assert_in_format(surface, &busy, 503, "busy receiving other request bodies");
        assert_eq!(busy.header("retry-after"), Some("1"), "{surface}");
    }
    // The holder gone, its room is free again.
    trickle.abort();
    held_until(&health, 0).await;
    let r = crate::helpers::http_client()
        .post(format!("http://{addr}/sm/v1/scripts/search"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(format!("{{\"filter\": \"\"{}}}", " ".repeat(10_000)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    running.shutdown().await;
}
