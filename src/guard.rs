//! Guards: route layers that look at a request before its route and either pass it on or
//! answer it themselves — a control route that takes no query string refusing one, the CAR
//! job engine catching up before a route reads jobs.
//!
//! A guard decides most requests without waiting ([`Checked::Pass`], [`Checked::Answer`]),
//! and then costs its check and nothing more: the route's own future is returned as it is,
//! with no box, no second service and no split of the request. Only a check that has to
//! wait (read a body, write to the store) runs as a boxed future ([`Checked::Wait`]).
//! `axum::middleware::from_fn` would box the request's way through every layer, whatever
//! the layer decides.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::Response;
use tower::{Layer, Service, ServiceExt as _};

/// What a [`Guard`] decided about a request.
pub(crate) enum Checked {
    /// On to the route, as it is.
    Pass(Request),
    /// The guard's own answer; the route never sees the request.
    Answer(Response),
    /// The check has to wait: the request, passed on or answered when it is done.
    Wait(Pin<Box<dyn Future<Output = Result<Request, Response>> + Send>>),
}

/// A look at a request before its route ([`GuardLayer`] puts it in front of routes).
pub(crate) trait Guard: Clone + Send + Sync + 'static {
    fn check(&self, request: Request) -> Checked;
}

/// The route layer of a [`Guard`]: `route_layer(GuardLayer(guard))`.
#[derive(Clone)]
pub(crate) struct GuardLayer<G>(pub G);

impl<S, G: Guard> Layer<S> for GuardLayer<G> {
    type Service = Guarded<S, G>;

    fn layer(&self, inner: S) -> Self::Service {
        Guarded {
            inner,
            guard: self.0.clone(),
        }
    }
}

/// A route behind a [`Guard`].
#[derive(Clone)]
pub(crate) struct Guarded<S, G> {
    inner: S,
    guard: G,
}

impl<S, G> Service<Request> for Guarded<S, G>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + Unpin + 'static,
    S::Future: Send + Unpin + 'static,
    G: Guard,
{
    type Response = Response;
    type Error = Infallible;
    type Future = GuardedFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        match self.guard.check(request) {
            Checked::Pass(request) => GuardedFuture::Route(self.inner.call(request)),
            Checked::Answer(response) => GuardedFuture::Answered(Some(response)),
            Checked::Wait(check) => {
                let inner = self.inner.clone();
                GuardedFuture::Waiting(Box::pin(async move {
                    match check.await {
                        Ok(request) => inner.oneshot(request).await.unwrap_or_else(|e| match e {}),
                        Err(response) => response,
                    }
                }))
            }
        }
    }
}

/// The answer of a guarded route: the route's own future when the guard passed the request.
pub(crate) enum GuardedFuture<F> {
    Route(F),
    Answered(Option<Response>),
    Waiting(Pin<Box<dyn Future<Output = Response> + Send>>),
}

impl<F> Future for GuardedFuture<F>
where
    F: Future<Output = Result<Response, Infallible>> + Unpin,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            GuardedFuture::Route(route) => Pin::new(route).poll(cx),
            GuardedFuture::Answered(answer) => match answer.take() {
                Some(response) => Poll::Ready(Ok(response)),
                // Polled again after its answer: a caller's error, never a live path.
                None => Poll::Pending,
            },
            GuardedFuture::Waiting(waiting) => waiting.as_mut().poll(cx).map(Ok),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    use axum::routing::get;

    /// Passes `/pass`, answers `/answer` with 403, and waits before deciding `/wait-*`.
    #[derive(Clone)]
    struct ByPath;

    impl Guard for ByPath {
        fn check(&self, request: Request) -> Checked {
            match request.uri().path() {
                "/answer" => Checked::Answer(StatusCode::FORBIDDEN.into_response()),
                "/wait-pass" => Checked::Wait(Box::pin(async move {
                    tokio::task::yield_now().await;
                    Ok(request)
                })),
                "/wait-answer" => Checked::Wait(Box::pin(async move {
                    tokio::task::yield_now().await;
                    Err(StatusCode::CONFLICT.into_response())
                })),
                _ => Checked::Pass(request),
            }
        }
    }

    #[tokio::test]
    async fn a_guard_passes_answers_or_waits_then_decides() {
        let app = Router::new()
            .route("/pass", get(|| async { "route" }))
            .route("/answer", get(|| async { "route" }))
            .route("/wait-pass", get(|| async { "route" }))
            .route("/wait-answer", get(|| async { "route" }))
            .route_layer(GuardLayer(ByPath));
        for (path, status, body) in [
            ("/pass", StatusCode::OK, "route"),
            ("/answer", StatusCode::FORBIDDEN, ""),
            ("/wait-pass", StatusCode::OK, "route"),
            ("/wait-answer", StatusCode::CONFLICT, ""),
        ] {
            let request = Request::get(path).body(Body::empty()).unwrap();
            let response = app.clone().oneshot(request).await.unwrap();
            assert_eq!(response.status(), status, "{path}");
            let bytes = axum::body::to_bytes(response.into_body(), 1024)
                .await
                .unwrap();
            assert_eq!(bytes, body.as_bytes(), "{path}");
        }
    }
}
