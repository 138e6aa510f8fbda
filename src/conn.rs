//! Serving one listener with bounded connections: a request head must arrive within the
//! header timeout, a request body that stalls longer than the body timeout or is not whole
//! by the body deadline ends in an error the surfaces answer (408), and a connection with no
//! request in flight and no traffic for the idle timeout is closed.
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

use crate::http::BodyError;

/// The transport timeouts of a listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// From the first byte of a request to the end of its head.
    pub header: Duration,
    /// Longest wait for the next piece of a request body.
    pub body: Duration,
    /// Longest time from a request's head to the end of its body, however steadily it
    /// trickles in.
    pub body_deadline: Duration,
    /// A connection with no request in flight and no traffic this long is closed.
    pub idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            header: Duration::from_secs(10),
            body: Duration::from_secs(30),
            body_deadline: Duration::from_secs(300),
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
    /// Milliseconds since `started` the watchdog sleeps till; `u64::MAX` while it works
    /// out how long.
    wake_at: AtomicU64,
    /// Wakes the watchdog when a request head starts and its deadline comes before the
    /// watchdog's next look.
    changed: tokio::sync::Notify,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            started: Instant::now(),
            last_io: AtomicU64::new(0),
            head_since: AtomicU64::new(0),
            busy: AtomicUsize::new(0),
            wake_at: AtomicU64::new(u64::MAX),
            changed: tokio::sync::Notify::new(),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn on_read(&self, header: Duration) {
        let now = self.now_ms();
        self.last_io.store(now, Ordering::Relaxed);
        if self.busy.load(Ordering::SeqCst) == 0
            && self
                .head_since
                .compare_exchange(0, now + 1, Ordering::SeqCst, Ordering::Relaxed)
                .is_ok()
        {
            // The watchdog looks again before this head is due (as on a busy keep-alive
            // connection, where it looks every header timeout): no need to wake it.
            let due = now.saturating_add(u64::try_from(header.as_millis()).unwrap_or(u64::MAX));
            if self.wake_at.load(Ordering::SeqCst) > due {
                self.changed.notify_one();
            }
        }
    }

    fn on_write(&self) {
        self.last_io.store(self.now_ms(), Ordering::Relaxed);
    }

    /// How long until the connection is overdue; `None` when it already is.
    fn time_left(&self, t: &Timeouts) -> Option<Duration> {
        if self.busy.load(Ordering::SeqCst) > 0 {
            // A request in flight: its body is bounded by the body timeout; look again later.
            return Some(t.idle.min(t.header));
        }
        let now = self.now_ms();
        let (since, limit) = match self.head_since.load(Ordering::SeqCst) {
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
        activity.busy.fetch_add(1, Ordering::SeqCst);
        activity.head_since.store(0, Ordering::SeqCst);
        Busy(activity.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.on_write();
        self.0.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A socket that notes when bytes move.
struct Watched<I> {
    io: I,
    activity: Arc<Activity>,
    header: Duration,
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
            self.activity.on_read(self.header);
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
    // The watchdog times request heads (`Timeouts::header`); hyper's own head timer (30 s
    // by default, re-armed for every request) would only cut a longer configured one short.
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(None)
        .keep_alive(true);
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
            header: timeouts.header,
        };
        let service = {
            let activity = activity.clone();
            let app = app.clone();
            hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
                let busy = Busy::new(&activity);
                let app = app.clone();
                async move {
                    use http_body::Body as _;
                    // A request with no body (most GETs) is handed on as it is: nothing to
                    // time, nothing left unread.
                    if request.body().is_end_stream() {
                        let response = app.oneshot(request.map(Body::new)).await;
                        drop(busy);
                        return response;
                    }
                    let slot = Arc::new(std::sync::Mutex::new(None));
                    let request = request.map(|incoming| {
                        Body::new(Returned {
                            inner: Some(Box::pin(Paced::new(incoming, &timeouts))),
                            slot: slot.clone(),
                        })
                    });
                    let mut response = app.oneshot(request).await;
                    let unread = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
                    if let (Some(body), Ok(response)) = (unread, response.as_mut())
                        && !drain(body).await
                    {
                        // The rest of the body is not read: the connection cannot carry
                        // another request, and the client is told so.
                        response.headers_mut().insert(
                            axum::http::header::CONNECTION,
                            axum::http::HeaderValue::from_static("close"),
                        );
                    }
                    drop(busy);
                    response
                }
            })
        };
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(io), service));
        // The connection runs in a task of its own, polled only when it has work; its
        // watchdog, another task, wakes only at its deadlines and ends it from outside.
        let serving = tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended");
            }
        });
        tokio::spawn(watchdog(serving, activity, timeouts));
    }
    drop(listener);
    graceful.shutdown().await;
}

/// A request body on the wire, under the body timeout (a stall) and the body deadline (the
/// whole of it); either ends it with a [`BodyError`]. A body read whole without a wait (a
/// small body already here with its head, as most are) arms no timer.
struct Paced {
    inner: Incoming,
    stall: Duration,
    /// Running while the reader waits for a piece; reset by each piece.
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
    deadline: Duration,
    /// When the deadline falls: `deadline` after the body was handed on.
    due_at: Instant,
    /// The timer of the deadline, armed the first time the reader waits.
    due: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Paced {
    fn new(inner: Incoming, timeouts: &Timeouts) -> Paced {
        Paced {
            inner,
            stall: timeouts.body,
            stalled: None,
            deadline: timeouts.body_deadline,
            due_at: Instant::now() + timeouts.body_deadline,
            due: None,
        }
    }

    fn past_deadline(&self) -> bool {
        match &self.due {
            Some(due) => due.is_elapsed(),
            None => Instant::now() >= self.due_at,
        }
    }
}

impl http_body::Body for Paced {
    type Data = axum::body::Bytes;
    type Error = tower_http::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        // Past the deadline the body ends, even with more of it already here.
        if !this.inner.is_end_stream() && this.past_deadline() {
            let error = BodyError::Deadline(this.deadline.as_secs());
            return Poll::Ready(Some(Err(error.into())));
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                this.stalled = None;
                return Poll::Ready(Some(Ok(frame)));
            }
            Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => {}
        }
        // The reader waits: both timers wake it.
        let due_at = this.due_at;
        let due = this
            .due
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(due_at)));
        if due.as_mut().poll(cx).is_ready() {
            let error = BodyError::Deadline(this.deadline.as_secs());
            return Poll::Ready(Some(Err(error.into())));
        }
        let stall = this.stall;
        let stalled = this
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(stall)));
        if stalled.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(BodyError::Stalled(stall.as_secs()).into())));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

type Incoming2 = Pin<Box<Paced>>;

/// A request body that, dropped before its end (a handler that answered without reading
/// it: no credentials, a fault), hands itself back so the connection can finish it.
struct Returned {
    inner: Option<Incoming2>,
    slot: Arc<std::sync::Mutex<Option<Incoming2>>>,
}

impl http_body::Body for Returned {
    type Data = axum::body::Bytes;
    type Error = tower_http::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        match self.inner.as_mut() {
            Some(body) => body.as_mut().poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(|b| b.is_end_stream())
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| http_body::SizeHint::with_exact(0), |b| b.size_hint())
    }
}

impl Drop for Returned {
    fn drop(&mut self) {
        if let Some(body) = self.inner.take()
            && !http_body::Body::is_end_stream(&body)
        {
            *self.slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(body);
        }
    }
}

/// Bytes of an unread body the connection reads (and drops) to stay open.
const DRAIN_BYTES: usize = 64 * 1024;
/// How long it waits for them: only what has already arrived, in effect.
const DRAIN_WAIT: Duration = Duration::from_millis(50);

/// Read and drop the rest of an unread body when it is small and already here, so the
/// connection can carry the next request; `false` when it is not (then it closes).
async fn drain(mut body: Incoming2) -> bool {
    use http_body::Body as _;
    let read_all = async {
        let mut read = 0usize;
        loop {
            match std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
                None => return true,
                Some(Err(_)) => return false,
                Some(Ok(frame)) => {
                    read += frame.data_ref().map_or(0, |d| d.len());
                    if read > DRAIN_BYTES {
                        return false;
                    }
                }
            }
        }
    };
    tokio::time::timeout(DRAIN_WAIT, read_all).await == Ok(true)
}

/// Watch a connection until it ends, and end it (abort its task: the socket is dropped,
/// closed) when it overstays a timeout. Wakes at its deadlines, when a request head starts
/// before its next look, and when the connection ends — never per request.
async fn watchdog(
    mut serving: tokio::task::JoinHandle<()>,
    activity: Arc<Activity>,
    timeouts: Timeouts,
) {
    loop {
        activity.wake_at.store(u64::MAX, Ordering::SeqCst);
        let Some(left) = activity.time_left(&timeouts) else {
            tracing::debug!("connection closed: timed out");
            serving.abort();
            return;
        };
        let left_ms = u64::try_from(left.as_millis()).unwrap_or(u64::MAX);
        activity
            .wake_at
            .store(activity.now_ms().saturating_add(left_ms), Ordering::SeqCst);
        tokio::select! {
            _ = &mut serving => return,
            () = tokio::time::sleep(left) => {}
            () = activity.changed.notified() => {}
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
