//! Progress: a bar per seed file on a terminal, plain lines otherwise (every 10,000
//! records and when a file is done), on standard error.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

/// Plain mode prints a line every this many records.
const LINE_EVERY: u64 = 10_000;

pub(crate) struct Progress {
    bars: Option<MultiProgress>,
    files: Mutex<BTreeMap<String, File>>,
}

#[derive(Default)]
struct File {
    records: u64,
    left_out: u64,
    bar: Option<ProgressBar>,
}

impl Progress {
    pub(crate) fn new() -> Progress {
        Progress {
            bars: std::io::stderr().is_terminal().then(MultiProgress::new),
            files: Mutex::new(BTreeMap::new()),
        }
    }

    fn with(&self, file: &str, f: impl FnOnce(&mut File)) {
        let mut files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        f(files.entry(file.to_owned()).or_default());
    }

    /// A file begins (or goes on, after a resume, from `records`).
    pub(crate) fn start(&self, file: &str, records: u64) {
        let bar = self.bars.as_ref().map(|bars| {
            let bar = bars.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix:<16} {pos:>10} records  {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(file.to_owned());
            bar.set_position(records);
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
            bar
        });
        if bar.is_none() && records > 0 {
            eprintln!("{file}: resuming after {records} records");
        }
        self.with(file, |f| {
            f.records = records;
            f.bar = bar;
        });
    }

    pub(crate) fn add(&self, file: &str, n: u64) {
        self.with(file, |f| {
            f.records += n;
            match &f.bar {
                Some(bar) => bar.set_position(f.records),
                None if f.records % LINE_EVERY == 0 => eprintln!("{file}: {} records", f.records),
                None => {}
            }
        });
    }

    /// A record left out because what it refers to was not recorded.
    pub(crate) fn left_out(&self, file: &str) {
        self.with(file, |f| f.left_out += 1);
    }

    /// A file a resumed run found done.
    pub(crate) fn skip(&self, file: &str, records: u64) {
        eprintln!("{file}: done before ({records} records)");
    }

    pub(crate) fn finish(&self, file: &str) {
        self.with(file, |f| match f.bar.take() {
            Some(bar) => bar.finish(),
            None => eprintln!("{file}: done, {} records", f.records),
        });
    }

    pub(crate) fn done(&self) {
        if let Some(bars) = &self.bars {
            let _ = bars.clear();
        }
    }

    /// Lines naming the records left out, if any.
    pub(crate) fn left_out_summary(&self) -> String {
        let files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        files
            .iter()
            .filter(|(_, f)| f.left_out > 0)
            .map(|(name, f)| {
                format!(
                    "\n  {name}: {} left out (they refer to an object the tenant no longer shows)",
                    f.left_out
                )
            })
            .collect()
    }
}
