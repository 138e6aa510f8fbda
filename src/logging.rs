//! Logging for `serve`: text or JSON lines on stderr, coloured only on a terminal, through a
//! writer that can never hold up a request.
//!
//! Log lines go to a bounded queue that one background thread writes to stderr. When the
//! reader of stderr stalls (a pipe nobody reads, a blocked terminal), the queue fills and new
//! lines are dropped and counted instead of blocking the handler that logged them; a
//! `log lines dropped` warning reports the count once lines flow again.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_appender::non_blocking::{ErrorCounter, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

/// How log lines are written (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (timestamp, level, target, message and the event's fields).
    Json,
}

/// Bytes of log lines the writer thread gathers before it writes them (it writes sooner
/// when no more lines are waiting).
const WRITE_BUFFER_BYTES: usize = 64 * 1024;

/// How often the drop counter is checked.
const REPORT_EVERY: Duration = Duration::from_secs(2);

/// Colour escapes are written only to a terminal, and never when `NO_COLOR` is set to
/// anything but the empty string (<https://no-color.org>).
pub fn ansi_wanted(is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    is_terminal && no_color.is_none_or(|v| v.is_empty())
}

/// Keeps the writer thread alive; dropping it flushes what is queued (for at most about a
/// second when the reader is stalled) and stops the drop reporter.
pub struct LogGuard {
    worker: Option<WorkerGuard>,
    stop: Arc<AtomicBool>,
    reporter: Option<JoinHandle<()>>,
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(reporter) = self.reporter.take() {
            reporter.thread().unpark();
            let _ = reporter.join();
        }
        // The writer's own guard, when its flush times out on a stalled reader, reports it
        // with `println!` — which blocks forever on a full stdout pipe. So it is dropped on
        // a thread of its own, and the exit waits for it only so long.
        if let Some(worker) = self.worker.take() {
            let (done, finished) = std::sync::mpsc::channel();
            let flusher = std::thread::Builder::new()
                .name("qualys-mock-log-flush".into())
                .spawn(move || {
                    drop(worker);
                    let _ = done.send(());
                });
            if flusher.is_ok() {
                let _ = finished.recv_timeout(FLUSH_AT_EXIT);
            }
        }
    }
}

/// How long the exit waits for queued log lines to be written.
const FLUSH_AT_EXIT: Duration = Duration::from_secs(2);

/// Install the global subscriber: `filter` (a level or `target=level` pairs, checked when
/// the flag was read), lines in `format`, at most `queue_lines` waiting for a slow reader.
pub fn init(filter: &str, format: LogFormat, queue_lines: usize) -> Result<LogGuard, String> {
    let filter = EnvFilter::try_new(filter).map_err(|e| e.to_string())?;
    let ansi = format == LogFormat::Text
        && ansi_wanted(
            std::io::stderr().is_terminal(),
            std::env::var_os("NO_COLOR").as_deref(),
        );
    let (writer, worker) = NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(queue_lines.max(1))
        .thread_name("qualys-mock-log")
        // The writer thread takes every line waiting, then flushes: under load, one write
        // to stderr for many lines instead of one each.
        .finish(std::io::BufWriter::with_capacity(
            WRITE_BUFFER_BYTES,
            std::io::stderr(),
        ));
    let dropped = writer.error_counter();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(ansi);
    let installed = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
    };
    installed.map_err(|e| e.to_string())?;
    let stop = Arc::new(AtomicBool::new(false));
    let reporter = spawn_reporter(dropped, Arc::clone(&stop));
    Ok(LogGuard {
        worker: Some(worker),
        stop,
        reporter,
    })
}

/// Every [`REPORT_EVERY`], log how many lines were dropped since the last report. The
/// report itself goes through the same lossy writer, so it shows once the reader is back.
fn spawn_reporter(dropped: ErrorCounter, stop: Arc<AtomicBool>) -> Option<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("qualys-mock-log-drops".into())
        .spawn(move || {
            let mut reported = 0;
            while !stop.load(Ordering::Relaxed) {
                std::thread::park_timeout(REPORT_EVERY);
                let now = dropped.dropped_lines();
                if now > reported {
                    tracing::warn!(
                        dropped = now - reported,
                        dropped_total = now,
                        "log lines dropped: the reader of the log output is not keeping up"
                    );
                    reported = now;
                }
            }
        })
        .ok()
}

#[cfg(test)]
mod colour_tests {
    #[test]
    fn colour_only_on_a_terminal_and_never_with_no_color() {
        use super::ansi_wanted;
        use std::ffi::OsStr;
        assert!(ansi_wanted(true, None));
        assert!(ansi_wanted(true, Some(OsStr::new(""))));
        assert!(!ansi_wanted(true, Some(OsStr::new("1"))));
        assert!(!ansi_wanted(false, None));
        assert!(!ansi_wanted(false, Some(OsStr::new("1"))));
    }
}
