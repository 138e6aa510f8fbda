//! Serving one listener with bounded connections: a request head must arrive within the
//! header timeout, a request body that stalls longer than the body timeout is dropped, and a
//! connection with no request in flight and no traffic for the idle timeout is closed.
//!
//! These are transport timeouts, measured with tokio's monotonic time, not the store clock.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::watch;
use tokio::time::Instant;
use tower::ServiceExt as _;

/// The transport timeouts of a listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// From the first byte of a request to the end of its head.
    pub header: Duration,
    /// Longest wait for the next piece of a request body.
    pub body: Duration,
    /// A connection with no request in flight and no traffic this long is closed.
    pub idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            header: Duration::from_secs(10),
            body: Duration::from_secs(30),
            idle: Duration::from_secs(60),
        }
    }
}

/// What one connection is doing, shared by its socket, its service and its watchdog.
struct Activity {
    started: Instant,
    /// Milliseconds since `started` of the last byte read or written.
    last_io: AtomicU64,
    /// Milliseconds since `started` (plus one) of the first byte of a request head not yet
    /// handed to the service; 0 when none.
    head_since: AtomicU64,
    /// Requests in the service.
    busy: AtomicUsize,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            started: Instant::now(),
            last_io: AtomicU64::new(0),
            head_since: AtomicU64::new(0),
            busy: AtomicUsize::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn on_read(&self) {
        let now = self.now_ms();
        self.last_io.store(now, Ordering::Relaxed);
        if self.busy.load(Ordering::Acquire) == 0 {
            let _ =
                self.head_since
                    .compare_exchange(0, now + 1, Ordering::AcqRel, Ordering::Relaxed);
        }
    }

    fn on_write(&self) {
        self.last_io.store(self.now_ms(), Ordering::Relaxed);
    }

    /// How long until the connection is overdue; `None` when it already is.
    fn time_left(&self, t: &Timeouts) -> Option<Duration> {
        if self.busy.load(Ordering::Acquire) > 0 {
            // A request in flight: its body is bounded by the body timeout; look again later.
            return Some(t.idle.min(t.header));
        }
        let now = self.now_ms();
        let (since, limit) = match self.head_since.load(Ordering::Acquire) {
            0 => (self.last_io.load(Ordering::Relaxed), t.idle),
            head => (head - 1, t.header),
        };
        let limit = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX);
        let spent = now.saturating_sub(since);
        (spent < limit).then(|| Duration::from_millis(limit - spent))
    }
}

/// A request in the service: the connection is not idle until it is answered.
struct Busy(Arc<Activity>);

impl Busy {
    fn new(activity: &Arc<Activity>) -> Busy {
        activity.busy.fetch_add(1, Ordering::AcqRel);
        activity.head_since.store(0, Ordering::Release);
        Busy(activity.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.on_write();
        self.0.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A socket that notes when bytes move.
struct Watched<I> {
    io: I,
    activity: Arc<Activity>,
}

impl<I: AsyncRead + Unpin> AsyncRead for Watched<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.on_read();
        }
        polled
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Watched<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.on_write();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.on_write();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// Serve `app` on `listener` until `stop` turns true; then stop accepting, let the requests
/// in flight finish and close idle connections.
pub async fn serve<L>(mut listener: L, app: Router, timeouts: Timeouts, stop: watch::Receiver<bool>)
where
    L: axum::serve::Listener,
    L::Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).keep_alive(true);
    let stopping = wait_for(stop);
    tokio::pin!(stopping);
    loop {
        let (io, _peer) = tokio::select! {
            conn = listener.accept() => conn,
            () = &mut stopping => break,
        };
        let activity = Arc::new(Activity::new());
        let io = Watched {
            io,
            activity: activity.clone(),
        };
        let service = {
            let activity = activity.clone();
            let app = app.clone();
            hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
                let busy = Busy::new(&activity);
                let app = app.clone();
                let body_timeout = timeouts.body;
                async move {
                    let request = request.map(|incoming| {
                        Body::new(tower_http::timeout::TimeoutBody::new(
                            body_timeout,
                            incoming,
                        ))
                    });
                    let response = app.oneshot(request).await;
                    drop(busy);
                    response
                }
            })
        };
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(io), service));
        tokio::spawn(watchdog(conn, activity, timeouts));
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Run a connection until it ends or overstays a timeout (then it is dropped: closed).
async fn watchdog<F>(conn: F, activity: Arc<Activity>, timeouts: Timeouts)
where
    F: Future<Output = Result<(), hyper::Error>>,
{
    tokio::pin!(conn);
    loop {
        let Some(left) = activity.time_left(&timeouts) else {
            tracing::debug!("connection closed: timed out");
            return;
        };
        tokio::select! {
            result = &mut conn => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended");
                }
                return;
            }
            () = tokio::time::sleep(left) => {}
        }
    }
}

async fn wait_for(mut rx: watch::Receiver<bool>) {
    while !*rx.borrow_and_update() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}
