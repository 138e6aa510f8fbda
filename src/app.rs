//! The app: both API surfaces and the control endpoints merged into one router over one
//! state, the fallbacks (what no route takes goes to the stubs, the proxy, the surface's
//! 404) and the one layer in front of them that every request passes through.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service, ServiceExt as _};

use crate::control::faults::Taken;
use crate::control::journal::Recording;
use crate::http::{BodyWatch, RequestLog, Surface};
use crate::state::AppState;
use crate::{car, classic, cm, control, http, openapi, unrouted};

/// The whole service: both API surfaces and the control endpoints over one state.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(car::router(&state))
        .merge(cm::router())
        // Other QPS modules (Asset Management, WAS, ...): stubs or the proxy, else CM's refusal.
        .route(
            "/qps/rest/{*rest}",
            axum::routing::any(unrouted::unknown_qps_operation),
        )
        .merge(classic::router())
        .merge(control::router(&state))
        // The control API's own description names the types of every layer below it.
        .route(
            "/_mock/openapi.json",
            control::reading_nothing(axum::routing::get(openapi::serve)),
        )
        .fallback(unrouted::not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(FrontLayer(state.clone()))
        // `front` enforces `--max-body-bytes` on every body, whoever reads it.
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

/// [`front`] as a layer: one boxed future per request, the route called as it is.
#[derive(Clone)]
struct FrontLayer(AppState);

impl<S> Layer<S> for FrontLayer {
    type Service = Front<S>;

    fn layer(&self, route: S) -> Front<S> {
        Front {
            state: self.0.clone(),
            route,
        }
    }
}

#[derive(Clone)]
struct Front<S> {
    state: AppState,
    route: S,
}

impl<S> Service<Request> for Front<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // The route is called with `oneshot`, which waits for it to be ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let (state, route) = (self.state.clone(), self.route.clone());
        Box::pin(async move { Ok(front(state, request, route).await) })
    }
}

/// The one layer in front of every route, in this order: decide the request's [`Surface`]
/// (a request extension everything after reads); on the control API, check the control
/// token; on the APIs, start the journal's entry and apply a fault rule when one matches;
/// then log the request, refuse a path that does not decode, and read the body under its
/// limit and the budget ([`serve`]). Nothing is copied for a log line, an entry or a rule
/// that nobody asked for.
async fn front<S>(state: AppState, mut request: Request, next: S) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible> + Send,
    S::Future: Send,
{
    let started = Instant::now();
    let surface = Surface::of(request.uri().path());
    request.extensions_mut().insert(surface);
    if surface == Surface::Control
        && let Some(refused) = control::token_refusal(&state, &request)
    {
        return refused;
    }
    let recording = Recording::start(&state, surface, &mut request);
    let mut body = None;
    let response = match Taken::first(&state, surface, &request) {
        None => {
            serve(
                &state,
                surface,
                request,
                next,
                recording.is_some(),
                &mut body,
                started,
            )
            .await
        }
        Some(fault) => {
            let mut response = match fault.answer(&state, surface, request).await {
                Ok(answer) => answer,
                Err(request) => {
                    serve(
                        &state,
                        surface,
                        request,
                        next,
                        recording.is_some(),
                        &mut body,
                        started,
                    )
                    .await
                }
            };
            fault.mark(&mut response);
            response
        }
    };
    match recording {
        Some(recording) => {
            recording
                .finish(&state, surface, response, body.as_ref(), started)
                .await
        }
        None => response,
    }
}

/// The request logged, its path checked, its body guarded, and the route's answer; `body`
/// is left with the watch over the body, when there was one.
async fn serve<S>(
    state: &AppState,
    surface: Surface,
    request: Request,
    next: S,
    recording: bool,
    body: &mut Option<BodyWatch>,
    started: Instant,
) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible> + Send,
    S::Future: Send,
{
    let log = RequestLog::levels();
    let logged = log.shows_requests().then(|| {
        let content_type = request.headers().get(axum::http::header::CONTENT_TYPE);
        (
            request.method().clone(),
            request.uri().clone(),
            content_type.filter(|_| log.body_bytes() > 0).cloned(),
        )
    });
    let keep = if recording {
        Recording::body_bytes(state)
    } else {
        0
    }
    .max(log.body_bytes());
    let response = answer(state, surface, request, next, keep, body).await;
    if let Some((method, uri, content_type)) = logged {
        log.answered(
            &method,
            &uri,
            content_type.as_ref(),
            &response,
            body.as_ref(),
            started,
        );
    }
    response
}

/// The route's answer to a request whose path decodes and whose body reads within its
/// limits; else the surface's answer to the path or the body.
async fn answer<S>(
    state: &AppState,
    surface: Surface,
    request: Request,
    next: S,
    keep: usize,
    body: &mut Option<BodyWatch>,
) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible> + Send,
    S::Future: Send,
{
    if !http::percent_decodes_to_utf8(request.uri().path()) {
        return undecodable_path(state, surface, request);
    }
    // The CM answer to a body cut short names the request's format and schema (a request
    // with no body has none to cut short).
    let ctx =
        (surface == Surface::Cm && !http_body::Body::is_end_stream(request.body())).then(|| {
            cm::reply::Ctx::for_request(request.uri(), request.headers(), request.extensions())
        });
    match http::guard_body(
        request,
        state.info.max_body_bytes,
        &state.info.body_budget,
        keep,
    ) {
        Err(refused) => body_refused(surface, ctx, state, refused),
        Ok((request, watch)) => {
            let response = next.oneshot(request).await.unwrap_or_else(|e| match e {});
            let refused = watch.as_ref().and_then(BodyWatch::error);
            *body = watch;
            match refused {
                Some(refused) => body_refused(surface, ctx, state, refused),
                None => response,
            }
        }
    }
}

/// A path whose percent-encoding does not decode to UTF-8 (`/sm/v1/scripts/%FF`) names no
/// resource: 400 in the format of its surface, before any path extractor sees it.
fn undecodable_path(state: &AppState, surface: Surface, request: Request) -> Response {
    let message = format!(
        "The path {} is not valid percent-encoded UTF-8",
        request.uri().path()
    );
    match surface {
        Surface::Cm => {
            let (parts, _) = request.into_parts();
            cm::reply::Ctx::from_parts(&parts)
                .fail(cm::error::CmError::invalid_request(
                    message,
                    "Percent-encode the path's text as UTF-8",
                ))
                .into_response()
        }
        Surface::Control => control::error_body(StatusCode::BAD_REQUEST, message),
        Surface::Classic => classic::simple_return(
            StatusCode::BAD_REQUEST,
            state.clock.now_ms().div_euclid(1000),
            None,
            &message,
        ),
        Surface::Car => car::error::CarError::BadRequest(message).into_response(),
    }
}

/// A known path called with a method it does not take: 405, in the format of the surface
/// the path belongs to (a CM client gets a `ServiceResponse`, a CAR client the gateway's
/// JSON, a control caller `{"error"}`, a classic caller `SIMPLE_RETURN`), with `Allow`.
async fn method_not_allowed(
    axum::extract::State(state): axum::extract::State<AppState>,
    surface: Surface,
    ctx: cm::reply::Ctx,
    method: axum::http::Method,
    uri: axum::http::Uri,
) -> Response {
    let path = uri.path();
    let now_s = state.clock.now_ms().div_euclid(1000);
    let message = format!("{method} is not supported on {path}");
    let mut response = match surface {
        Surface::Cm => cm::wrong_method(ctx, message).into_response(),
        Surface::Control => control::error_body(StatusCode::METHOD_NOT_ALLOWED, message),
        Surface::Classic => {
            classic::simple_return(StatusCode::METHOD_NOT_ALLOWED, now_s, None, &message)
        }
        Surface::Car => (
            StatusCode::METHOD_NOT_ALLOWED,
            axum::Json(car::error::gateway_body(
                StatusCode::METHOD_NOT_ALLOWED,
                &message,
            )),
        )
            .into_response(),
    };
    // CAR and control: the router fills `Allow` with the methods the path really takes.
    if surface == Surface::Cm {
        response.headers_mut().insert(
            axum::http::header::ALLOW,
            axum::http::HeaderValue::from_static("GET, POST"),
        );
    }
    response
}

/// The one answer to a body that ended early, per surface: the gateway's JSON on CAR, a
/// `ServiceResponse` on CM (in the request's format), `{"error"}` on control,
/// `SIMPLE_RETURN` on the classic pages; 413 for too
/// large, 408 for a stall or a missed deadline, 503 (with `Retry-After`) when no budget
/// was free.
fn body_refused(
    surface: Surface,
    ctx: Option<cm::reply::Ctx>,
    state: &AppState,
    refused: http::BodyError,
) -> Response {
    let status = refused.status();
    let message = refused.to_string();
    let mut response = match (surface, ctx) {
        (Surface::Cm, Some(ctx)) => ctx
            .fail(cm::error::CmError::body_refused(status, message))
            .into_response(),
        (Surface::Control, _) => control::error_body(status, message),
        (Surface::Classic, _) => classic::simple_return(
            status,
            state.clock.now_ms().div_euclid(1000),
            None,
            &message,
        ),
        (Surface::Car | Surface::Cm, _) => (
            status,
            axum::Json(car::error::gateway_body(status, &message)),
        )
            .into_response(),
    };
    if refused == http::BodyError::Busy {
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from_static("1"),
        );
    }
    response
}
