//! The benchmark's yardstick: a bare axum server (the emulator's own axum, served by plain
//! `axum::serve`) that answers each benchmarked call with the bytes the emulator answered
//! it with, from constants. `bench/run` starts it beside the emulator and prints each
//! endpoint's requests per second as a share of this server's, so a change is judged by a
//! ratio rather than by an absolute figure that moves with the machine's load.
//!
//! `bare-axum PORT ANSWERS.json`, where the file is a list of `{"method", "path", "status",
//! "contentType", "body"}`: one route per entry. A POST handler reads the request body (as
//! any real handler would) before it answers.
//!
//! Not part of the published crate: a package of its own under bench/.

use axum::body::Bytes;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    method: String,
    path: String,
    status: u16,
    content_type: String,
    body: String,
}

/// One constant answer: status, content type and body bytes, cloned per request (a
/// reference count, no copy).
#[derive(Clone)]
struct Constant {
    status: StatusCode,
    content_type: HeaderValue,
    body: Bytes,
}

impl IntoResponse for Constant {
    fn into_response(self) -> Response {
        (
            self.status,
            [(header::CONTENT_TYPE, self.content_type)],
            self.body,
        )
            .into_response()
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: bare_axum PORT ANSWERS.json";
    let port: u16 = args.next().ok_or(usage)?.parse()?;
    let answers: Vec<Answer> = serde_json::from_slice(&std::fs::read(args.next().ok_or(usage)?)?)?;
    let mut app = axum::Router::new();
    for answer in answers {
        let constant = Constant {
            status: StatusCode::from_u16(answer.status)?,
            content_type: HeaderValue::from_str(&answer.content_type)?,
            body: Bytes::from(answer.body),
        };
        let route = match answer.method.as_str() {
            "GET" => get(move || async move { constant }),
            "POST" => post(move |_body: Bytes| async move { constant }),
            other => return Err(format!("method {other} not handled").into()),
        };
        app = app.route(&answer.path, route);
    }
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
