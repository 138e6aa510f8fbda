//! `qualys-mock generate`: a realistic, deterministic data set for both APIs, of any size —
//! as a seed folder (`--out`, the seed-data format) or loaded straight into a database file
//! (`--db`, for sizes where JSON would be slow). The same `--seed` gives the same bytes.
//!
//! Relations hold: asset jobs point at real jobs, assets and scripts; alerts at real
//! profiles and rules; assets at real tags. Acme gets the requested sizes; Globex a few of
//! each, so tenant isolation can still be tested.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

mod car;
mod cm;

use crate::rng::Rng;
use crate::store::seed::{CustomerSeed, UserSeed};
use crate::store::{Provenance, Seed, Store, StoreError};

/// Sizes and where to put them.
#[derive(Debug, Clone, clap::Args)]
pub struct GenerateArgs {
    /// Write a seed folder here (created if missing).
    #[arg(long, conflicts_with = "db", required_unless_present = "db")]
    pub out: Option<PathBuf>,
    /// Load straight into this new SQLite file instead (then `serve --db FILE`).
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// CM alerts for Acme.
    #[arg(long, default_value_t = 2000)]
    pub alerts: u64,
    /// CAR scripts for Acme.
    #[arg(long, default_value_t = 50)]
    pub scripts: u64,
    /// CAR assets for Acme.
    #[arg(long, default_value_t = 120)]
    pub assets: u64,
    /// CAR jobs for Acme (each with 1 to 3 asset jobs).
    #[arg(long, default_value_t = 50)]
    pub jobs: u64,
    /// The generator's seed: the same seed gives the same data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write into a non-empty `--out` folder (its seed files are replaced).
    #[arg(long)]
    pub force: bool,
}

impl GenerateArgs {
    /// The command line that makes this data set again (a store's provenance).
    fn command_line(&self) -> String {
        format!(
            "qualys-mock generate --alerts {} --scripts {} --assets {} --jobs {} --seed {}",
            self.alerts, self.scripts, self.assets, self.jobs, self.seed
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("{0}")]
    Io(String),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("{0} exists already: generate into a new file")]
    Exists(PathBuf),
    #[error(
        "{0} is not empty: name an empty or new folder, or add --force to replace its seed files"
    )]
    NotEmpty(PathBuf),
}

const ACME: &str = "Acme";
const GLOBEX: &str = "Globex";
/// 2022-01-01T00:00:00Z
const YEAR_START_S: i64 = 1_640_995_200;
const CHUNK: u64 = 50_000;

/// Everything but the alerts (those are streamed). The builders draw from one generator in
/// a fixed order (tags, assets, scripts, their activities, jobs): the same seed gives the
/// same records.
fn base(args: &GenerateArgs) -> Seed {
    let mut rng = Rng::new(args.seed);
    let (customers, users) = accounts();
    let asset_tags = car::asset_tags(&mut rng);
    let assets = car::assets(&mut rng, args.assets);
    let scripts = car::scripts(&mut rng, args.scripts);
    let mut activities = car::script_activities(&mut rng, &scripts);
    let (jobs, asset_jobs) = car::jobs(&mut rng, args.jobs, &scripts, &assets, &mut activities);
    Seed {
        name: format!("generated-{}", args.seed),
        source: None,
        alerts_file: None,
        manifest: None,
        customers,
        users,
        rulesets: cm::rulesets(),
        rules: cm::rules(),
        profiles: cm::profiles(),
        alerts: Vec::new(),
        asset_tags,
        assets,
        scripts,
        jobs,
        asset_jobs,
        activities,
    }
}

/// Acme and Globex, one user each.
fn accounts() -> (Vec<CustomerSeed>, Vec<UserSeed>) {
    let customers = vec![
        CustomerSeed {
            id: 1001,
            uuid: "317df02c-4ad1-55e2-83a3-5646a34fceec".into(),
            name: ACME.into(),
        },
        CustomerSeed {
            id: 2002,
            uuid: "8c5e1f0a-2b7d-4c3e-9a41-6f0d2e7b9c10".into(),
            name: GLOBEX.into(),
        },
    ];
    let user =
        |id, uuid: &str, customer: &str, username: &str, password: &str, name: &str| UserSeed {
            id,
            uuid: uuid.into(),
            customer: customer.into(),
            username: username.into(),
            password: password.into(),
            name: name.into(),
            modules: vec!["CAR".into(), "CM".into()],
        };
    let users = vec![
        user(
            101,
            "51fbdb4b-5fb5-fdf6-8141-5a7887ec557b",
            ACME,
            "acme_ss2",
            "passwd",
            "FIM Automation",
        ),
        user(
            201,
            "a0e6c3d2-7f41-4b8e-9d15-3c2b1a0f9e87",
            GLOBEX,
            "globex_ss1",
            "passwd2",
            "Globex Security",
        ),
    ];
    (customers, users)
}

/// Progress on stderr: one line redrawn on a terminal, a line per chunk elsewhere (CI
/// logs), so a long run is never silent.
fn progress(done: u64, total: u64, started: Instant) {
    let elapsed = started.elapsed().as_secs_f64();
    if std::io::stderr().is_terminal() {
        eprint!("\ralerts: {done}/{total} ({elapsed:.1} s)   ");
        if done == total {
            eprintln!();
        }
    } else {
        eprintln!("alerts: {done}/{total} ({elapsed:.1} s)");
    }
}

fn io(path: &Path, e: impl std::fmt::Display) -> GenerateError {
    GenerateError::Io(format!("{}: {e}", path.display()))
}

/// Generate as `args` say. Returns a one-line summary.
pub async fn run(args: &GenerateArgs) -> Result<String, GenerateError> {
    let started = Instant::now();
    let seed = base(args);
    let written = match (&args.db, &args.out) {
        (Some(db), _) => into_db(args, &seed, db, started).await?,
        (None, Some(dir)) => into_folder(args, &seed, dir, started)?,
        (None, None) => return Err(GenerateError::Io("give --out DIR or --db FILE".into())),
    };
    Ok(format!(
        "wrote {} ({} alerts, {} scripts, {} assets, {} jobs) in {:.1} s",
        written.display(),
        args.alerts,
        seed.scripts.len(),
        seed.assets.len(),
        seed.jobs.len(),
        started.elapsed().as_secs_f64()
    ))
}

/// Load `seed` and the alerts straight into a new database file.
async fn into_db<'a>(
    args: &GenerateArgs,
    seed: &Seed,
    db: &'a Path,
    started: Instant,
) -> Result<&'a Path, GenerateError> {
    // One transaction: a generation that is stopped leaves an empty database, which the
    // next run (or `serve`) fills afresh, never a part of the data.
    if Store::open_file(db)?.is_some() {
        return Err(GenerateError::Exists(db.to_owned()));
    }
    let provenance = Provenance {
        source: args.command_line(),
        created: crate::clock::Clock::real().now_iso(),
        recorded: None,
    };
    let (base_seed, chunks) = (seed.clone(), args.clone());
    let store = Store::create_file(db, provenance, move |loader| {
        loader.load(&base_seed)?;
        let mut done = 0;
        while done < chunks.alerts {
            let to = (done + CHUNK).min(chunks.alerts);
            loader.load(&Seed {
                alerts: cm::alerts(&chunks, done, to),
                ..Seed::default()
            })?;
            done = to;
            progress(done, chunks.alerts, started);
        }
        Ok(())
    })
    .await?;
    store.checkpoint().await?;
    Ok(db)
}

/// Write `seed` and the alerts as a seed folder.
fn into_folder<'a>(
    args: &GenerateArgs,
    seed: &Seed,
    dir: &'a Path,
    started: Instant,
) -> Result<&'a Path, GenerateError> {
    let occupied = std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some());
    if occupied && !args.force {
        return Err(GenerateError::NotEmpty(dir.to_owned()));
    }
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let write = |name: &str, value: &dyn erased::Json| -> Result<(), GenerateError> {
        let path = dir.join(name);
        let mut file =
            std::io::BufWriter::new(std::fs::File::create(&path).map_err(|e| io(&path, e))?);
        value.write(&mut file).map_err(|e| io(&path, e))?;
        file.flush().map_err(|e| io(&path, e))
    };
    write("customers.json", &seed.customers)?;
    write("users.json", &seed.users)?;
    write("rulesets.json", &seed.rulesets)?;
    write("rules.json", &seed.rules)?;
    write("profiles.json", &seed.profiles)?;
    write("assettags.json", &seed.asset_tags)?;
    write("assets.json", &seed.assets)?;
    write("scripts.json", &seed.scripts)?;
    write("jobs.json", &seed.jobs)?;
    write("assetjobs.json", &seed.asset_jobs)?;
    write("activities.json", &seed.activities)?;
    // Alerts are streamed: a million would not fit comfortably in one Vec of JSON.
    let path = dir.join("alerts.json");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).map_err(|e| io(&path, e))?);
    file.write_all(b"[").map_err(|e| io(&path, e))?;
    let mut done = 0;
    while done < args.alerts {
        let to = (done + CHUNK).min(args.alerts);
        for (k, alert) in cm::alerts(args, done, to).iter().enumerate() {
            if done + k as u64 > 0 {
                file.write_all(b",\n").map_err(|e| io(&path, e))?;
            }
            serde_json::to_writer(&mut file, alert).map_err(|e| io(&path, e))?;
        }
        done = to;
        progress(done, args.alerts, started);
    }
    file.write_all(b"]\n").map_err(|e| io(&path, e))?;
    file.flush().map_err(|e| io(&path, e))?;
    Ok(dir)
}

/// Writing any serialisable list through one closure.
mod erased {
    pub trait Json {
        fn write(&self, out: &mut dyn std::io::Write) -> serde_json::Result<()>;
    }
    impl<T: serde::Serialize> Json for Vec<T> {
        fn write(&self, out: &mut dyn std::io::Write) -> serde_json::Result<()> {
            serde_json::to_writer_pretty(out, self)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(out: &Path, seed: u64) -> GenerateArgs {
        GenerateArgs {
            out: Some(out.to_owned()),
            db: None,
            alerts: 500,
            scripts: 30,
            assets: 40,
            jobs: 20,
            seed,
            force: false,
        }
    }

    #[tokio::test]
    async fn same_seed_same_bytes_and_it_loads() {
        let (a, b, c) = (
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
        );
        run(&args(a.path(), 7)).await.unwrap();
        run(&args(b.path(), 7)).await.unwrap();
        run(&args(c.path(), 8)).await.unwrap();
        for file in [
            "alerts.json",
            "scripts.json",
            "assetjobs.json",
            "activities.json",
        ] {
            let read = |d: &tempfile::TempDir| std::fs::read(d.path().join(file)).unwrap();
            assert_eq!(read(&a), read(&b), "{file}");
        }
        assert_ne!(
            std::fs::read(a.path().join("alerts.json")).unwrap(),
            std::fs::read(c.path().join("alerts.json")).unwrap()
        );
        // The folder is a valid seed: relations hold.
        let seed = Seed::from_dir(a.path()).unwrap();
        assert_eq!(seed.alerts.len(), 500);
        let store = Store::open_memory().unwrap();
        let provenance = seed.provenance(&crate::clock::Clock::real());
        store.initialize_with_seed(seed, provenance).await.unwrap();
        let counts = store.record_counts().await.unwrap();
        // A second run into the same folder is refused, unless forced.
        assert!(matches!(
            run(&args(a.path(), 7)).await,
            Err(GenerateError::NotEmpty(_))
        ));
        run(&GenerateArgs {
            force: true,
            ..args(a.path(), 7)
        })
        .await
        .unwrap();
        assert_eq!(
            (counts["alerts"], counts["scripts"], counts["assets"]),
            (500, 31, 41)
        );
    }

    #[tokio::test]
    async fn straight_into_a_database() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("big.sqlite");
        let a = GenerateArgs {
            out: None,
            db: Some(db.clone()),
            ..args(dir.path(), 3)
        };
        run(&a).await.unwrap();
        let store = Store::open_file(&db).unwrap().expect("a complete store");
        assert_eq!(store.record_counts().await.unwrap()["alerts"], 500);
        let baseline = store.provenance().await.unwrap();
        assert_eq!(
            baseline.source,
            "qualys-mock generate --alerts 500 --scripts 30 --assets 40 --jobs 20 --seed 3"
        );
        drop(store);
        assert!(matches!(run(&a).await, Err(GenerateError::Exists(_))));
    }
}
