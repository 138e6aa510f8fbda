//! `serve --proxy-unmatched URL`: a request no emulated API answers is forwarded to the
//! platform at URL (same method, path, query, body and headers, the caller's credentials
//! included, so the platform authenticates the caller), and the platform's answer is
//! returned as it came. With `--record-stubs DIR` each new request/answer pair is also
//! written as a WireMock mapping (the proxy's recorder), so `serve --stubs DIR` (or WireMock itself)
//! can replay it with the platform switched off.
//!
//! Bounded: the request body is read under the server's body guard; the platform has
//! `--proxy-timeout-secs` for its whole answer; an answer larger than
//! `--record-max-body-bytes` is streamed through to the caller and not recorded. A platform
//! that cannot be reached (or fails mid-answer before anything was sent on) gives 502 in
//! the format of the path's API ([`unreachable`]).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::state::AppState;
use crate::state::journal::AnsweredBy;

use crate::proxy::Proxy;
use crate::proxy::record::Exchange;

/// Forward `request` when the server has `--proxy-unmatched` (and the path is not a control
/// path); otherwise hand it back for the caller's own 404.
pub async fn forward(state: &AppState, request: Request) -> Result<Response, Request> {
    let Some(proxy) = &state.info.proxy else {
        return Err(request);
    };
    let surface = crate::http::Surface::of_request(request.extensions(), request.uri().path());
    if surface == crate::http::Surface::Control {
        return Err(request);
    }
    let mut response = proxy.forward(state, request).await;
    response
        .extensions_mut()
        .insert(AnsweredBy("proxy".to_owned()));
    Ok(response)
}

/// Headers that describe one connection, never forwarded either way (RFC 9110 §7.6.1),
/// and those the client recomputes for the new request.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Headers forwarded neither way: hop-by-hop ones, those a `Connection` header names, and
/// `content-length` (the body is re-framed).
fn end_to_end(headers: &HeaderMap) -> HeaderMap {
    let named: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .collect();
    let mut kept = HeaderMap::new();
    for (name, value) in headers {
        let n = name.as_str();
        if HOP_BY_HOP.contains(&n) || n == "content-length" || named.iter().any(|c| c == n) {
            continue;
        }
        kept.append(name.clone(), value.clone());
    }
    kept
}

impl Proxy {
    async fn forward(&self, state: &AppState, request: Request) -> Response {
        let (parts, body) = request.into_parts();
        let path = parts.uri.path().to_owned();
        let path_and_query = parts
            .uri
            .path_and_query()
            .map_or_else(|| path.clone(), |pq| pq.as_str().to_owned());
        // Under the body guard: a body past --max-body-bytes (or stalled) ends early here,
        // and the guard answers it in the surface's format whatever this returns.
        let body = match axum::body::to_bytes(body, usize::MAX).await {
            Ok(body) => body,
            Err(e) => {
                return unreachable(
                    state,
                    &parts,
                    StatusCode::BAD_REQUEST,
                    &format!("The request body could not be read: {e}"),
                );
            }
        };
        let mut headers = end_to_end(&parts.headers);
        headers.remove(header::HOST);
        // Asked for as it is: the answer is returned (and recorded) uncompressed.
        headers.remove(header::ACCEPT_ENCODING);
        let url = format!("{}{}", self.base, path_and_query);
        let mut outgoing = self
            .http
            .request(parts.method.clone(), &url)
            .headers(headers);
        // A request that came without a body goes on without one (no `Content-Length: 0`).
        if !body.is_empty() || parts.headers.contains_key(header::CONTENT_LENGTH) {
            outgoing = outgoing.body(body.clone());
        }
        let sent = outgoing.send().await;
        let mut upstream = match sent {
            Ok(upstream) => upstream,
            Err(e) => {
                tracing::warn!(url = %url, error = %error_chain(&e), "proxy: the platform did not answer");
                return unreachable(
                    state,
                    &parts,
                    StatusCode::BAD_GATEWAY,
                    &format!(
                        "The platform behind --proxy-unmatched did not answer {} {path}: {}",
                        parts.method,
                        error_chain(&e)
                    ),
                );
            }
        };
        let status = upstream.status();
        let answer_headers = end_to_end(upstream.headers());

        // Without recording, the answer streams through as it comes.
        let Some(recorder) = &self.recorder else {
            let mut response = Response::new(streamed(Vec::new(), upstream));
            *response.status_mut() = status;
            *response.headers_mut() = answer_headers;
            return response;
        };

        // Recording: the answer is read whole, up to the cap; past it, what was read and the
        // rest stream through unrecorded.
        let mut read: Vec<Bytes> = Vec::new();
        let mut size = 0usize;
        let complete = loop {
            match upstream.chunk().await {
                Ok(Some(chunk)) => {
                    size = size.saturating_add(chunk.len());
                    read.push(chunk);
                    if size > self.record_max_body_bytes {
                        break false;
                    }
                }
                Ok(None) => break true,
                Err(e) => {
                    tracing::warn!(url = %url, error = %error_chain(&e), "proxy: the platform's answer broke off");
                    return unreachable(
                        state,
                        &parts,
                        StatusCode::BAD_GATEWAY,
                        &format!(
                            "The platform behind --proxy-unmatched broke off its answer to {} {path}: {}",
                            parts.method,
                            error_chain(&e)
                        ),
                    );
                }
            }
        };
        if !complete {
            tracing::warn!(
                path = %path,
                limit = self.record_max_body_bytes,
                "proxy: the answer is larger than --record-max-body-bytes; returned, not recorded"
            );
            let mut response = Response::new(streamed(read, upstream));
            *response.status_mut() = status;
            *response.headers_mut() = answer_headers;
            return response;
        }
        let answer_body: Bytes = read.concat().into();
        let exchange = Exchange {
            method: parts.method.as_str().to_owned(),
            url: path_and_query,
            request_headers: parts.headers.clone(),
            request_body: body,
            status: status.as_u16(),
            response_headers: answer_headers.clone(),
            response_body: answer_body.clone(),
        };
        let recorder = Arc::clone(recorder);
        match tokio::task::spawn_blocking(move || recorder.record(&exchange)).await {
            Ok(outcome) => outcome.log(&path),
            Err(e) => tracing::warn!(path = %path, error = %e, "proxy: recording failed"),
        }
        let mut response = Response::new(Body::from(answer_body));
        *response.status_mut() = status;
        *response.headers_mut() = answer_headers;
        response
    }
}

/// An error and its sources, one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

/// The answer when the platform cannot be reached, in the format of the path's API: a
/// `ServiceResponse` under `/qps/` (in the format the request asked for), the VM API's
/// `SIMPLE_RETURN` under `/api/` and `/msp/`, the gateway's JSON anywhere else.
fn unreachable(
    state: &AppState,
    parts: &axum::http::request::Parts,
    status: StatusCode,
    message: &str,
) -> Response {
    use crate::http::Surface;
    match Surface::of_request(&parts.extensions, parts.uri.path()) {
        Surface::Cm => crate::cm::reply::Ctx::from_parts(parts)
            .fail(crate::cm::error::CmError {
                code: "INTERNAL_ERROR",
                message: message.to_owned(),
                resolution: "Check that the platform behind --proxy-unmatched is reachable."
                    .to_owned(),
                status,
            })
            .into_response(),
        Surface::Classic => crate::classic::simple_return(
            status,
            state.clock.now_ms().div_euclid(1000),
            None,
            message,
        ),
        // Control paths are never forwarded; CAR's format for the rest.
        Surface::Car | Surface::Control => (
            status,
            axum::Json(crate::car::error::gateway_body(status, message)),
        )
            .into_response(),
    }
}

/// A body of the chunks already read, then the rest of `upstream` as it arrives.
fn streamed(read: Vec<Bytes>, mut upstream: reqwest::Response) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, reqwest::Error>>(8);
    tokio::spawn(async move {
        for chunk in read {
            if tx.send(Ok(chunk)).await.is_err() {
                return;
            }
        }
        loop {
            let next = upstream.chunk().await;
            let end = !matches!(next, Ok(Some(_)));
            let item = match next {
                Ok(Some(chunk)) => Ok(chunk),
                Ok(None) => return,
                Err(e) => Err(e),
            };
            if tx.send(item).await.is_err() || end {
                return;
            }
        }
    });
    Body::new(Channel(rx))
}

/// A response body fed by a channel.
struct Channel(tokio::sync::mpsc::Receiver<Result<Bytes, reqwest::Error>>);

impl http_body::Body for Channel {
    type Data = Bytes;
    type Error = reqwest::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, reqwest::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|item| item.map(|r| r.map(http_body::Frame::data)))
    }
}
