//! For the crate's own tests: the whole app over `tower::ServiceExt::oneshot` on a private
//! store of the embedded seed, the clock frozen at 2024-01-01 (the black-box tests' harness
//! is `tests/api/helpers.rs`).

use axum::body::{Body, to_bytes};
use axum::http::{Method, Request, StatusCode, header};
use tower::ServiceExt;

use crate::config::ServerConfig;
use crate::state::AppState;

pub(crate) struct TestApp {
    pub(crate) state: AppState,
    router: axum::Router,
}

pub(crate) struct TestResponse {
    pub(crate) status: StatusCode,
    pub(crate) body: Vec<u8>,
}

impl TestResponse {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

impl TestApp {
    pub(crate) async fn new() -> TestApp {
        let state = AppState::from_config(&ServerConfig {
            frozen_at: Some(1_704_067_200_000),
            ..ServerConfig::default()
        })
        .await
        .unwrap();
        TestApp {
            router: crate::app(state.clone()),
            state,
        }
    }

    pub(crate) async fn request(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Body>,
    ) -> TestResponse {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "localhost:8080");
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let response = self
            .router
            .clone()
            .oneshot(builder.body(body.into()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        TestResponse {
            status,
            body: body.to_vec(),
        }
    }

    /// A token for Acme's user.
    pub(crate) async fn acme(&self) -> String {
        let r = self
            .request(
                Method::POST,
                "/auth",
                &[("content-type", "application/x-www-form-urlencoded")],
                "username=acme_ss2&password=passwd&token=true",
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        r.text()
    }

    /// A CAR call with a bearer token and a JSON body.
    pub(crate) async fn car(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: &str,
    ) -> TestResponse {
        let auth = format!("Bearer {token}");
        self.request(
            method,
            path,
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            body.to_owned(),
        )
        .await
    }

    /// A CM call as Acme's user; `json` asks for and sends JSON, else XML.
    pub(crate) async fn cm(
        &self,
        method: Method,
        path: &str,
        body: &str,
        json: bool,
    ) -> TestResponse {
        use base64::Engine as _;
        let auth = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("acme_ss2:passwd")
        );
        let kind = if json { "application/json" } else { "text/xml" };
        let mut headers = vec![("authorization", auth.as_str()), ("content-type", kind)];
        if json {
            headers.push(("accept", "application/json"));
        }
        self.request(method, path, &headers, body.to_owned()).await
    }
}
