//! `qualys-mock healthcheck`: a dependency-free HTTP/1.1 probe of `/_mock/health`, so a
//! container needs no curl for its HEALTHCHECK.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Probe `url` (plain `http://host[:port]/path`); `Ok` when it answers 200 with
/// `"status":"ok"`.
pub async fn probe(url: &str, timeout: Duration) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("only http:// URLs can be probed: {url}"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/_mock/health"),
    };
    let address = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let exchange = async {
        let mut stream = TcpStream::connect(&address)
            .await
            .map_err(|e| format!("cannot connect to {address}: {e}"))?;
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nAccept: application/json\r\n\r\n"
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut response = Vec::new();
        stream
            .take(1024 * 1024)
            .read_to_end(&mut response)
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(String::from_utf8_lossy(&response).into_owned())
    };
    let response = tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| format!("no answer from {url} within {timeout:?}"))??;
    let status_line = response.lines().next().unwrap_or_default();
    let healthy_status = status_line.split_whitespace().nth(1) == Some("200");
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    if healthy_status && body.contains("\"status\":\"ok\"") {
        Ok(())
    } else {
        Err(format!("unhealthy answer from {url}: {status_line}"))
    }
}
