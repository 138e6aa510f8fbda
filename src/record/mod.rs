//! `qualys-mock record`: harvest a real Qualys subscription — or anything that speaks its
//! API, another qualys-mock included — into a seed folder that `serve --seed` loads.
//!
//! Request replay cannot rebuild Qualys state (CM has no create-alert API; CAR results come
//! from agents), so the recorder harvests *entities*: it pages through every object the
//! tenant holds and writes each as a seed record, in the format `seed-data/README.md`
//! describes (the seed types themselves are serialized, so the two cannot drift).
//!
//! - [`client`] — the HTTP side: at most N calls at once, waits on 429/409, retries with
//!   backoff, the CAR token kept fresh.
//! - [`cm`] — alerts, profiles, rules and rulesets, paged by id, from XML.
//! - [`car`] — activity log, tags, assets, scripts, jobs and asset jobs, paged by number.
//! - [`sink`] — the unfinished folder: files written a page at a time, checkpoints, resume.
//! - [`pseudo`] — consistent stand-ins for addresses, names and ids.
//!
//! The folder is written aside (`OUT.partial`) and renamed into place when complete, so a
//! half-done run is never mistaken for a seed; `--resume` goes on from the last checkpoint
//! and ends with the same folder an uninterrupted run would have written.

mod car;
mod client;
mod cm;
mod progress;
mod pseudo;
mod sink;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::store::seed::{CustomerSeed, UserSeed};
use client::{Client, Credentials};
use progress::Progress;
use pseudo::Pseudo;
use sink::{RunState, UserSeen};

/// What to record, from where, and how.
#[derive(Debug, Clone, clap::Args)]
pub struct RecordArgs {
    /// The CM (QPS) API server, e.g. https://qualysapi.qg2.apps.qualys.com. Leave out to
    /// record CAR only.
    #[arg(long, required_unless_present = "gateway_url")]
    pub api_url: Option<String>,
    /// The CAR API gateway, e.g. https://gateway.qg2.apps.qualys.com. Leave out to record
    /// CM only.
    #[arg(long)]
    pub gateway_url: Option<String>,
    /// The Qualys user to record as.
    #[arg(long)]
    pub username: String,
    /// Read the password from this environment variable.
    #[arg(long, value_name = "VAR", conflicts_with = "password_file")]
    pub password_env: Option<String>,
    /// Read the password from the first line of this file.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// The seed folder to write (it is written as OUT.partial, then renamed).
    #[arg(long)]
    pub out: PathBuf,
    /// PEM bundle of the CA(s) that sign the platform's certificates, beside the system's.
    #[arg(long, value_name = "PEM")]
    pub ca_bundle: Option<PathBuf>,
    /// Record at most this many alerts (the first by id).
    #[arg(long)]
    pub max_alerts: Option<u64>,
    /// Record only alerts raised after this date (2024-01-31 or 2024-01-31T00:00:00Z).
    #[arg(long, value_parser = parse_since)]
    pub since: Option<String>,
    /// The tenant's name in the seed (how its records name their customer).
    #[arg(long, default_value = "Recorded")]
    pub customer: String,
    /// The password the recorded users log in with on the emulator (the real one is never
    /// written).
    #[arg(long, default_value = "passwd")]
    pub mock_password: String,
    /// At most this many calls at once.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub concurrency: u16,
    /// Keep addresses, host names, user names and UUIDs as recorded.
    #[arg(long)]
    pub no_pseudonymise: bool,
    /// Keep script content and script results (they often hold secrets).
    #[arg(long)]
    pub keep_script_content: bool,
    /// Go on with an interrupted run (OUT.partial).
    #[arg(long)]
    pub resume: bool,
    /// Retries of a call that failed (5xx, timeout, dropped connection) before giving up.
    #[arg(long, default_value_t = 8)]
    pub max_retries: u32,
    /// Seconds one call may take.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
}

fn parse_since(value: &str) -> Result<String, String> {
    let full = if value.len() == 10 {
        format!("{value}T00:00:00Z")
    } else {
        value.to_owned()
    };
    crate::dates::parse_s(&full)
        .map(crate::dates::iso_s)
        .ok_or_else(|| format!("not a date: {value:?} (2024-01-31 or 2024-01-31T00:00:00Z)"))
}

/// Why a recording stopped.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Credentials(String),
    #[error("{0}")]
    Platform(String),
    #[error("{0}")]
    Transport(String),
    #[error("{0}")]
    Io(String),
}

/// What the harvesters share: the unfinished folder, the options, the stand-ins, the state
/// and the progress display.
pub(crate) struct Harvest {
    pub(crate) dir: PathBuf,
    pub(crate) opts: RecordArgs,
    pub(crate) pseudo: Pseudo,
    pub(crate) progress: Progress,
    state: Mutex<RunState>,
}

impl Harvest {
    pub(crate) fn state<T>(&self, read: impl FnOnce(&RunState) -> T) -> T {
        read(&self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Change the state in memory (saved with the next checkpoint).
    pub(crate) fn note(&self, change: impl FnOnce(&mut RunState)) {
        change(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// Change the state and save it (a checkpoint).
    pub(crate) fn update(&self, change: impl FnOnce(&mut RunState)) -> Result<(), RecordError> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        change(&mut state);
        state.save(&self.dir)
    }

    /// Note a user seen by UUID (with the login and display name where the record shows
    /// them) and give the login a seed record names it by.
    pub(crate) fn user(&self, uuid: &str, username: Option<&str>, name: Option<&str>) -> String {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let seen = state.users.entry(uuid.to_owned()).or_default();
        if seen.username.is_none() {
            seen.username = username.filter(|u| !u.is_empty()).map(str::to_owned);
        }
        if seen.name.is_none() {
            seen.name = name.filter(|n| !n.is_empty()).map(str::to_owned);
        }
        self.login(uuid, seen)
    }

    /// The seed login of a user: the recorded one (pseudonymised), else one made from the
    /// UUID.
    fn login(&self, uuid: &str, seen: &UserSeen) -> String {
        match &seen.username {
            Some(u) => self.pseudo.username(u),
            None => {
                let short: String = uuid
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .take(8)
                    .collect();
                self.pseudo.username(&format!("user-{short}"))
            }
        }
    }

    /// The seed login of the recording user.
    pub(crate) fn recording_user(&self) -> String {
        self.pseudo.username(&self.opts.username)
    }
}

/// Record, then print the summary. The password comes from `--password-env`,
/// `--password-file` or a prompt — never from the command line.
pub async fn run(args: RecordArgs) -> Result<String, RecordError> {
    let started = Instant::now();
    let password = password(&args)?;
    let out = args.out.clone();
    let partial = partial_path(&out);
    if out.exists()
        && std::fs::read_dir(&out)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(RecordError::Usage(format!(
            "{} exists and is not empty; choose another --out or remove it",
            out.display()
        )));
    }
    let fingerprint = fingerprint(&args);
    let state = prepare(&partial, &args, &fingerprint)?;
    let pseudo = match &state.key {
        Some(hex) => Pseudo::from_hex(hex)
            .ok_or_else(|| RecordError::Usage("the state's key is damaged".to_owned()))?,
        None => Pseudo::off(),
    };
    let client = Client::new(
        Credentials {
            username: args.username.clone(),
            password,
        },
        args.gateway_url.clone(),
        args.ca_bundle.as_deref(),
        usize::from(args.concurrency),
        args.max_retries,
        Duration::from_secs(args.timeout.max(1)),
    )?;
    let harvest = Harvest {
        dir: partial.clone(),
        opts: args.clone(),
        pseudo,
        progress: Progress::new(),
        state: Mutex::new(state),
    };
    harvest
        .state
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .save(&partial)?;

    let cm = async {
        match args.api_url.as_deref() {
            Some(api) => cm::record(&harvest, &client, api).await,
            None => Ok(()),
        }
    };
    let car = async {
        match args.gateway_url.as_deref() {
            Some(gateway) => car::record(&harvest, &client, gateway).await,
            None => Ok(()),
        }
    };
    let (cm, car) = tokio::join!(cm, car);
    cm?;
    car?;

    let claims = client.claims();
    write_accounts(&harvest, &claims)?;
    write_manifest(&harvest)?;
    harvest.progress.done();
    std::fs::remove_file(partial.join(sink::STATE_FILE)).map_err(|e| sink::io(&partial, e))?;
    if out.exists() {
        std::fs::remove_dir(&out).map_err(|e| sink::io(&out, e))?;
    }
    std::fs::rename(&partial, &out).map_err(|e| sink::io(&out, e))?;
    Ok(summary(&harvest, &client, &out, started.elapsed()))
}

/// `OUT.partial`, beside `OUT`.
fn partial_path(out: &Path) -> PathBuf {
    let mut name = out
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "seed".into());
    name.push(".partial");
    out.with_file_name(name)
}

/// What shapes the output: a resume with other options would mix two recordings.
fn fingerprint(args: &RecordArgs) -> String {
    json!({
        "apiUrl": args.api_url,
        "gatewayUrl": args.gateway_url,
        "username": args.username,
        "customer": args.customer,
        "maxAlerts": args.max_alerts,
        "since": args.since,
        "pseudonymise": !args.no_pseudonymise,
        "keepScriptContent": args.keep_script_content,
    })
    .to_string()
}

/// A new unfinished folder, or the one `--resume` goes on with.
fn prepare(partial: &Path, args: &RecordArgs, fingerprint: &str) -> Result<RunState, RecordError> {
    let existing = if partial.exists() {
        RunState::load(partial)?
    } else {
        None
    };
    match (existing, args.resume) {
        (Some(state), true) => {
            if state.options != fingerprint {
                return Err(RecordError::Usage(format!(
                    "{} was recorded with other options ({}); run with those, or remove it to start afresh",
                    partial.display(),
                    state.options
                )));
            }
            Ok(state)
        }
        (None, true) if !partial.exists() => Err(RecordError::Usage(format!(
            "nothing to resume: {} does not hold an interrupted recording",
            partial.display()
        ))),
        // Stopped before its first checkpoint: nothing of value, start afresh.
        (None, true) if only_seed_files(partial) => {
            std::fs::remove_dir_all(partial).map_err(|e| sink::io(partial, e))?;
            fresh(partial, args, fingerprint)
        }
        (Some(_), false) => Err(RecordError::Usage(format!(
            "{} holds an interrupted recording: add --resume to go on with it, or remove it to start afresh",
            partial.display()
        ))),
        (None, _) => {
            if partial.exists() {
                return Err(RecordError::Usage(format!(
                    "{} exists and is not a recorder's folder; remove it",
                    partial.display()
                )));
            }
            fresh(partial, args, fingerprint)
        }
    }
}

fn fresh(partial: &Path, args: &RecordArgs, fingerprint: &str) -> Result<RunState, RecordError> {
    std::fs::create_dir_all(partial).map_err(|e| sink::io(partial, e))?;
    Ok(RunState {
        options: fingerprint.to_owned(),
        key: (!args.no_pseudonymise).then(Pseudo::new_key_hex),
        started: crate::clock::Clock::real().now_iso(),
        ..RunState::default()
    })
}

/// A folder holding nothing but what the recorder writes (seed files, state).
fn only_seed_files(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().all(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.ends_with(".json") || name.starts_with(sink::STATE_FILE)
        })
    })
}

fn password(args: &RecordArgs) -> Result<String, RecordError> {
    if let Some(var) = &args.password_env {
        return std::env::var(var).map_err(|_| {
            RecordError::Usage(format!("--password-env {var}: the variable is not set"))
        });
    }
    if let Some(path) = &args.password_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| RecordError::Usage(format!("--password-file {}: {e}", path.display())))?;
        let line = text.lines().next().unwrap_or_default().to_owned();
        if line.is_empty() {
            return Err(RecordError::Usage(format!(
                "--password-file {}: the first line is empty",
                path.display()
            )));
        }
        return Ok(line);
    }
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password(format!("Password for {}: ", args.username))
            .map_err(|e| RecordError::Usage(format!("cannot read the password: {e}")));
    }
    Err(RecordError::Usage(
        "no password: give --password-env VAR or --password-file FILE (or run on a terminal to be asked)"
            .to_owned(),
    ))
}

/// `customers.json` and `users.json`: the tenant and every user its records name.
fn write_accounts(h: &Harvest, claims: &client::TokenClaims) -> Result<(), RecordError> {
    let p = &h.pseudo;
    let customer_uuid = claims
        .customer_uuid
        .as_deref()
        .map(|u| p.uuid(u))
        .unwrap_or_else(|| "00000000-0000-4000-8000-000000000001".to_owned());
    let customer = CustomerSeed {
        id: claims.customer_id.filter(|id| *id > 0).unwrap_or(1),
        uuid: customer_uuid,
        name: h.opts.customer.clone(),
    };
    write_json(&h.dir, "customers.json", &[customer])?;

    let recording_uuid = claims
        .user_uuid
        .clone()
        .unwrap_or_else(|| "00000000-0000-4000-8000-000000000002".to_owned());
    h.user(&recording_uuid, Some(&h.opts.username), None);
    let users: BTreeMap<String, UserSeen> = h.state(|s| s.users.clone());
    let modules = if claims.modules.is_empty() {
        vec!["CAR".to_owned(), "CM".to_owned()]
    } else {
        claims.modules.clone()
    };
    let first_id = claims.user_id.filter(|id| *id > 0).unwrap_or(1);
    let mut next_id = first_id + 1;
    let mut seeds = Vec::new();
    for (uuid, seen) in &users {
        let login = h.login(uuid, seen);
        let id = if *uuid == recording_uuid {
            first_id
        } else {
            next_id += 1;
            next_id - 1
        };
        seeds.push(UserSeed {
            id,
            uuid: p.uuid(uuid),
            customer: h.opts.customer.clone(),
            username: login.clone(),
            password: h.opts.mock_password.clone(),
            name: match &seen.name {
                Some(name) => p.display_name(name),
                None => login,
            },
            modules: modules.clone(),
        });
    }
    seeds.sort_by_key(|u| u.id);
    write_json(&h.dir, "users.json", &seeds)
}

/// `manifest.json`: when, from where (host names only), what, and how it was redacted.
fn write_manifest(h: &Harvest) -> Result<(), RecordError> {
    let host = |url: &Option<String>| {
        url.as_deref()
            .and_then(|u| reqwest::Url::parse(u).ok())
            .and_then(|u| u.host_str().map(str::to_owned))
    };
    let (started, portal, counts) = h.state(|s| {
        let counts: BTreeMap<String, u64> = s
            .files
            .iter()
            .map(|(file, at)| (file.trim_end_matches(".json").to_owned(), at.records))
            .collect();
        (s.started.clone(), s.portal_version.clone(), counts)
    });
    let manifest = json!({
        "recordedAt": started,
        "tool": {"name": "qualys-mock", "version": env!("CARGO_PKG_VERSION")},
        "platform": {"apiHost": host(&h.opts.api_url), "gatewayHost": host(&h.opts.gateway_url)},
        "portalVersion": portal,
        "customer": h.opts.customer,
        "login": {"username": h.recording_user(), "password": "given by --mock-password"},
        "counts": counts,
        "redaction": {
            "pseudonymised": h.pseudo.is_on(),
            "scriptContent": if h.opts.keep_script_content { "kept" } else { "replaced" },
            "credentials": "never written",
        },
    });
    write_json(&h.dir, "manifest.json", &manifest)
}

fn write_json<T: serde::Serialize + ?Sized>(
    dir: &Path,
    name: &str,
    value: &T,
) -> Result<(), RecordError> {
    let path = dir.join(name);
    let mut bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| RecordError::Io(format!("{}: {e}", path.display())))?;
    bytes.push(b'\n');
    std::fs::write(&path, bytes).map_err(|e| sink::io(&path, e))
}

fn summary(h: &Harvest, client: &Client, out: &Path, took: Duration) -> String {
    use std::sync::atomic::Ordering::Relaxed;
    let counts = h.state(|s| {
        s.files
            .iter()
            .map(|(file, at)| format!("  {file:<16} {:>10}", at.records))
            .collect::<Vec<_>>()
            .join("\n")
    });
    let left_out = h.progress.left_out_summary();
    format!(
        "recorded into {} in {:.1} s ({} calls, {} rate-limit waits, {} retries, {} token renewals)\n{counts}{left_out}\n\
         serve it: qualys-mock serve --seed {} (log in as {:?} with the --mock-password)",
        out.display(),
        took.as_secs_f64(),
        client.stats.calls.load(Relaxed),
        client.stats.waits.load(Relaxed),
        client.stats.retries.load(Relaxed),
        client.stats.renewals.load(Relaxed),
        out.display(),
        h.recording_user(),
    )
}
