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

use serde_json::json;

use crate::dates;
use crate::query::catalog::EVENT_TYPES;
use crate::rng::Rng;
use crate::store::seed::car::{IdName, InterfaceSeed};
use crate::store::seed::{
    ActivitySeed, AlertSeed, AssetJobSeed, AssetSeed, AssetTagSeed, CustomerSeed, JobSeed,
    ProfileSeed, RuleCriterionSeed, RuleSeed, RulesetSeed, ScriptSeed, UserSeed,
};
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

/// Acme's tag names (the first one every asset has).
const TAG_NAMES: [&str; 20] = [
    "Cloud Agent",
    "Windows Servers",
    "Linux Servers",
    "Workstations",
    "Production",
    "DMZ",
    "Finance",
    "PCI Scope",
    "Web Servers",
    "Databases",
    "Internet Facing Assets",
    "Domain Controllers",
    "Lab",
    "Kiosks",
    "Build Agents",
    "Backup Servers",
    "VPN",
    "Mail",
    "HR",
    "Legacy",
];

const OSES: [&str; 6] = [
    "Microsoft Windows Server 2019 Standard",
    "Microsoft Windows 10 Enterprise",
    "CentOS Linux 7.9.2009",
    "Ubuntu 22.04.1 LTS",
    "Red Hat Enterprise Linux 8.6",
    "macOS Monterey 12.4",
];

/// Script categories: (id, name).
const CATEGORIES: [(i64, &str); 7] = [
    (1, "Data Backup"),
    (2, "Compliance"),
    (3, "Software Management"),
    (4, "Security Hardening"),
    (5, "System Administration"),
    (6, "General Automation"),
    (7, "Incident Response"),
];

/// Script types: (id, name, platform).
const SCRIPT_TYPES: [(i64, &str, &str); 5] = [
    (1, "Python", "WINDOWS"),
    (2, "Shell", "LINUX"),
    (4, "Powershell", "WINDOWS"),
    (6, "Perl", "LINUX"),
    (2, "Shell", "MAC"),
];

/// Script titles are `<verb> <noun> <number>`.
const VERBS: [&str; 10] = [
    "Check", "Collect", "Verify", "Audit", "Report", "Clean", "Rotate", "Harden", "Restart",
    "Export",
];

const NOUNS: [&str; 10] = [
    "Firewall Status",
    "Disk Usage",
    "Event Logs",
    "Local Admins",
    "Open Ports",
    "Patch Level",
    "SSH Config",
    "Certificates",
    "Services",
    "Packages",
];

/// Script statuses, half of them approved.
const STATUSES: [&str; 8] = [
    "APPROVED",
    "APPROVED",
    "APPROVED",
    "APPROVED",
    "PENDING_REVIEW",
    "PENDING_TEST",
    "REJECTED",
    "DEPRECATED",
];

/// Everything but the alerts (those are streamed). The builders draw from one generator in
/// a fixed order (tags, assets, scripts, their activities, jobs): the same seed gives the
/// same records.
fn base(args: &GenerateArgs) -> Seed {
    let mut rng = Rng::new(args.seed);
    let (customers, users) = accounts();
    let asset_tags = asset_tags(&mut rng);
    let assets = assets(&mut rng, args.assets);
    let scripts = scripts(&mut rng, args.scripts);
    let mut activities = script_activities(&mut rng, &scripts);
    let (jobs, asset_jobs) = jobs(&mut rng, args.jobs, &scripts, &assets, &mut activities);
    Seed {
        name: format!("generated-{}", args.seed),
        source: None,
        customers,
        users,
        rulesets: rulesets(),
        rules: rules(),
        profiles: profiles(),
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

fn rulesets() -> Vec<RulesetSeed> {
    let ruleset = |id, customer: &str, title: &str| RulesetSeed {
        id,
        customer: customer.into(),
        title: title.into(),
        description: format!("{title} (generated)"),
        date_created: dates::iso_s(YEAR_START_S - 86_400 * 30),
        date_updated: dates::iso_s(YEAR_START_S - 86_400 * 30),
        is_template: false,
    };
    vec![
        ruleset(4001, ACME, "All Critical"),
        ruleset(4002, ACME, "Open Ports"),
        ruleset(4003, ACME, "Certificates and Software"),
        ruleset(4004, ACME, "Tickets"),
        ruleset(9001, GLOBEX, "Globex Critical"),
    ]
}

/// Rules of each ruleset, by event-type group.
fn rules() -> Vec<RuleSeed> {
    let rule = |id,
                customer: &str,
                rs,
                rule_type: &str,
                events: &[&str],
                criteria: Vec<RuleCriterionSeed>| RuleSeed {
        id,
        customer: customer.into(),
        ruleset: Some(rs),
        rule_type: rule_type.into(),
        event_types: events.iter().map(|e| (*e).to_owned()).collect(),
        json_data: None,
        date_created: dates::iso_s(YEAR_START_S - 86_400 * 29),
        criteria,
    };
    let group = |prefix: &str| -> Vec<&'static str> {
        EVENT_TYPES
            .iter()
            .copied()
            .filter(|e| e.starts_with(prefix))
            .collect()
    };
    vec![
        rule(6001, ACME, 4001, "HOST", &group("HOST"), vec![]),
        rule(6002, ACME, 4001, "VULN", &group("VULN"), vec![]),
        rule(
            6003,
            ACME,
            4002,
            "PORT",
            &group("PORT"),
            vec![RuleCriterionSeed {
                id: 6103,
                property_name: "port".into(),
                property_value: "1-65535".into(),
                expression_type: "IN_RANGE".into(),
            }],
        ),
        rule(6004, ACME, 4003, "SSL", &group("SSL"), vec![]),
        rule(6005, ACME, 4003, "SW", &group("SOFTWARE"), vec![]),
        rule(6006, ACME, 4004, "HOST", &group("TICKET"), vec![]),
        rule(9101, GLOBEX, 9001, "HOST", &group("HOST"), vec![]),
    ]
}

fn profiles() -> Vec<ProfileSeed> {
    let profile = |id, customer: &str, title: &str, ips: &str, rs| ProfileSeed {
        id,
        customer: customer.into(),
        uuid: format!("00000000-0000-4000-8000-{id:012}"),
        title: title.into(),
        date_created: dates::iso_s(YEAR_START_S - 86_400 * 28),
        date_updated: dates::iso_s(YEAR_START_S - 86_400 * 28),
        frequency: "FREQ_NEVER".into(),
        is_active: true,
        included_ips: ips.into(),
        target_list: None,
        ruleset: Some(rs),
    };
    vec![
        profile(7401, ACME, "All Critical", "10.10.0.1-10.10.255.255", 4001),
        profile(5601, ACME, "My Profile", "10.10.0.1-10.10.255.255", 4002),
        profile(7402, ACME, "Certificates", "10.10.0.1-10.10.255.255", 4003),
        profile(7403, ACME, "Tickets", "10.10.0.1-10.10.255.255", 4004),
        profile(9201, GLOBEX, "Globex Watch", "10.20.0.1-10.20.0.255", 9001),
    ]
}

/// Twenty tags for Acme (every third with a colour), one for Globex.
fn asset_tags(rng: &mut Rng) -> Vec<AssetTagSeed> {
    let mut asset_tags: Vec<AssetTagSeed> = TAG_NAMES
        .iter()
        .enumerate()
        .map(|(i, name)| AssetTagSeed {
            id: 8_000_001 + i as i64,
            customer: ACME.into(),
            uuid: rng.uuid(),
            name: (*name).into(),
            background_color: (i % 3 == 0).then(|| format!("#{:06X}", rng.below(0xFFFFFF))),
        })
        .collect();
    asset_tags.push(AssetTagSeed {
        id: 8_100_001,
        customer: GLOBEX.into(),
        uuid: rng.uuid(),
        name: "Globex Servers".into(),
        background_color: None,
    });
    asset_tags
}

/// `count` assets for Acme (tagged `Cloud Agent` and one more), one for Globex.
fn assets(rng: &mut Rng, count: u64) -> Vec<AssetSeed> {
    let mut assets = Vec::new();
    for i in 0..count {
        let os = *rng.pick(&OSES);
        let name = format!(
            "acme-{}-{i:05}",
            if os.contains("Windows") {
                "win"
            } else if os.starts_with("mac") {
                "mac"
            } else {
                "lnx"
            }
        );
        let ip = format!("10.{}.{}.{}", 30 + i / 60_000, (i / 250) % 250, 1 + i % 250);
        let mut tags = vec![8_000_001, 8_000_002 + rng.below(19) as i64];
        tags.dedup();
        assets.push(AssetSeed {
            id: 30_000_001 + i as i64,
            customer: ACME.into(),
            agent_id: rng.uuid(),
            agent_uuid: rng.uuid(),
            name: name.clone(),
            address: ip.clone(),
            operating_system: os.into(),
            asset_type: "HOST".into(),
            agent_version: format!("5.{}.0.{}", rng.below(3), 20 + rng.below(20)),
            activated_for_modules: vec!["PC".into(), "CAR".into()],
            interfaces: vec![InterfaceSeed {
                hostname: Some(name),
                mac_address: Some(format!(
                    "00:50:56:{:02x}:{:02x}:{:02x}",
                    rng.below(256),
                    rng.below(256),
                    rng.below(256)
                )),
                address: Some(ip),
                interface_name: Some("eth0".into()),
            }],
            tags,
        });
    }
    assets.push(AssetSeed {
        id: 40_000_001,
        customer: GLOBEX.into(),
        agent_id: rng.uuid(),
        agent_uuid: rng.uuid(),
        name: "globex-host-0".into(),
        address: "172.20.0.10".into(),
        operating_system: OSES[2].into(),
        asset_type: "HOST".into(),
        agent_version: "5.0.0.1".into(),
        activated_for_modules: vec!["CAR".into()],
        interfaces: vec![],
        tags: vec![8_100_001],
    });
    assets
}

/// `count` scripts for Acme (most approved), one for Globex.
fn scripts(rng: &mut Rng, count: u64) -> Vec<ScriptSeed> {
    let mut scripts = Vec::new();
    for i in 0..count {
        let (cat_id, cat) = *rng.pick(&CATEGORIES);
        let (type_id, type_name, platform) = *rng.pick(&SCRIPT_TYPES);
        let status = *rng.pick(&STATUSES);
        let created =
            (YEAR_START_S + rng.below(300) as i64 * 86_400) * 1000 + rng.below(86_400_000) as i64;
        let title = format!("{} {} {:05}", rng.pick(&VERBS), rng.pick(&NOUNS), i + 1);
        scripts.push(ScriptSeed {
            id: 100_001 + i as i64,
            customer: ACME.into(),
            content: Some(format!("# {title}\necho \"{title}\"\n")),
            title,
            description: String::new(),
            category: IdName {
                id: cat_id,
                name: cat.into(),
            },
            script_type: IdName {
                id: type_id,
                name: type_name.into(),
            },
            platform: platform.into(),
            status: status.into(),
            severity: 1 + rng.below(5) as i64,
            threshold: 10 + rng.below(290) as i64,
            content_base64: None,
            imported_from_id: 0,
            recurring_day: 0,
            blacklisted_commands: String::new(),
            subscribed_modules: vec![],
            created: dates::iso_ms(created),
            created_by: "acme_ss2".into(),
            updated: None,
            updated_by: None,
            approved_by: matches!(status, "APPROVED" | "DEPRECATED").then(|| "acme_ss2".into()),
            last_executed: None,
        });
    }
    scripts.push(ScriptSeed {
        id: 95_001,
        customer: GLOBEX.into(),
        title: "Globex Disk Check".into(),
        description: String::new(),
        category: IdName {
            id: 5,
            name: "System Administration".into(),
        },
        script_type: IdName {
            id: 2,
            name: "Shell".into(),
        },
        platform: "LINUX".into(),
        status: "APPROVED".into(),
        severity: 1,
        threshold: 20,
        content: Some("df -h\n".into()),
        content_base64: None,
        imported_from_id: 0,
        recurring_day: 0,
        blacklisted_commands: String::new(),
        subscribed_modules: vec![],
        created: dates::iso_ms(YEAR_START_S * 1000),
        created_by: "globex_ss1".into(),
        updated: None,
        updated_by: None,
        approved_by: Some("globex_ss1".into()),
        last_executed: None,
    });
    scripts
}

/// A `CREATE` activity per script.
fn script_activities(rng: &mut Rng, scripts: &[ScriptSeed]) -> Vec<ActivitySeed> {
    scripts
        .iter()
        .map(|s| ActivitySeed {
            id: rng.uuid(),
            customer: s.customer.clone(),
            user: s.created_by.clone(),
            created: s.created.clone(),
            target_type: "script".into(),
            target_name: s.title.clone(),
            target_id: s.id.to_string(),
            action: "CREATE".into(),
            audit_comment: None,
        })
        .collect()
}

/// `count` finished jobs of Acme's approved scripts, an hour apart, each with an `EXECUTE`
/// activity (added to `activities`) and 1 to 3 asset jobs.
fn jobs(
    rng: &mut Rng,
    count: u64,
    scripts: &[ScriptSeed],
    assets: &[AssetSeed],
    activities: &mut Vec<ActivitySeed>,
) -> (Vec<JobSeed>, Vec<AssetJobSeed>) {
    let approved: Vec<&ScriptSeed> = scripts
        .iter()
        .filter(|s| s.status == "APPROVED" && s.customer == ACME)
        .collect();
    let acme_assets: Vec<i64> = assets
        .iter()
        .filter(|a| a.customer == ACME)
        .map(|a| a.id)
        .collect();
    let (mut jobs, mut asset_jobs) = (Vec::new(), Vec::new());
    let mut asset_job_id = 5_000_001;
    if approved.is_empty() || acme_assets.is_empty() {
        return (jobs, asset_jobs);
    }
    for j in 0..count {
        let s = *rng.pick(&approved);
        let created = (YEAR_START_S + 300 * 86_400) * 1000
            + j as i64 * 3_600_000
            + rng.below(3_600_000) as i64;
        let id = 4_000_001 + j as i64;
        jobs.push(JobSeed {
            id,
            customer: ACME.into(),
            script: s.id,
            correlation_uuid: rng.uuid(),
            execution_type: if j % 5 == 4 { "Scheduled" } else { "Manual" }.into(),
            title: None,
            is_test: false,
            created: dates::iso_ms(created),
        });
        activities.push(ActivitySeed {
            id: rng.uuid(),
            customer: ACME.into(),
            user: "acme_ss2".into(),
            created: dates::iso_ms(created),
            target_type: "script".into(),
            target_name: s.title.clone(),
            target_id: s.id.to_string(),
            action: "EXECUTE".into(),
            audit_comment: None,
        });
        for k in 0..1 + rng.below(3) {
            let job = JobRef {
                id,
                script: s,
                created,
            };
            asset_jobs.push(asset_job(rng, asset_job_id, &job, k, &acme_assets));
            asset_job_id += 1;
        }
    }
    (jobs, asset_jobs)
}

/// The job an asset job belongs to.
struct JobRef<'a> {
    id: i64,
    script: &'a ScriptSeed,
    created: i64,
}

/// The `k`-th asset job of `job`, finished (one in ten failed), on one of `assets`.
fn asset_job(rng: &mut Rng, id: i64, job: &JobRef<'_>, k: u64, assets: &[i64]) -> AssetJobSeed {
    // Drawn in this order, always: failed?, asset, manifest, end.
    let failed = rng.below(10) == 0;
    AssetJobSeed {
        id,
        customer: ACME.into(),
        job: job.id,
        asset: *rng.pick(assets),
        status: if failed { "FAILED" } else { "SUCCESS" }.into(),
        output_code: Some(i64::from(failed)),
        output_text: Some(
            if failed {
                "Script exited with a non-zero code"
            } else {
                "SUCCESS"
            }
            .into(),
        ),
        result: Some(format!(
            "{} exit code {}\n",
            job.script.title,
            i64::from(failed)
        )),
        manifest_id: rng.uuid(),
        created: dates::iso_ms(job.created + 1000 + k as i64),
        ended: Some(dates::iso_ms(
            job.created + 60_000 + rng.below(60_000) as i64,
        )),
    }
}

/// Alerts `from..to` of the sequence (deterministic per index and seed).
fn alerts(args: &GenerateArgs, from: u64, to: u64) -> Vec<AlertSeed> {
    let profile_for = |event: &str| match event.split('_').next().unwrap_or_default() {
        "HOST" | "VULN" => (
            7401,
            if event.starts_with("HOST") {
                6001
            } else {
                6002
            },
        ),
        "PORT" => (5601, 6003),
        "SSL" => (7402, 6004),
        "SOFTWARE" => (7402, 6005),
        _ => (7403, 6006),
    };
    let oses = [
        "Windows Server 2016 Datacenter",
        "Windows Server 2019 Standard",
        "CentOS Linux 7.9.2009",
        "Ubuntu 20.04.4 LTS",
        "Windows 10 Enterprise 21H2",
    ];
    (from..to)
        .map(|i| {
            let mut rng = Rng::new(args.seed ^ (i.wrapping_mul(0x9E37_79B9_7F4A_7C15)));
            let event = *rng.pick(EVENT_TYPES);
            let host = rng.below(2000);
            let (ip, hostname) = (format!("10.10.{}.{}", host / 250, 1 + host % 250), format!("host-{host:04}.acme.corp"));
            let t = YEAR_START_S + (i as i64 * 365 * 86_400) / args.alerts.max(1) as i64;
            let (profile, rule) = profile_for(event);
            let info = match event.split('_').next().unwrap_or_default() {
                "PORT" => json!({"port": *rng.pick(&[22, 80, 443, 445, 3389, 8080]), "protocol": "tcp", "operatingSystem": rng.pick(&oses)}),
                "VULN" => json!({"qid": 38170 + rng.below(5000), "title": "Generated vulnerability", "severity": 1 + rng.below(5), "port": 443}),
                "SSL" => json!({"port": 443, "sslName": hostname, "sslIssuer": "Acme Internal CA"}),
                "SOFTWARE" => json!({"softwareName": "OpenSSL", "softwareVersion": format!("1.1.{}", rng.below(20))}),
                "TICKET" => json!({"ticketNumber": format!("TKT-{i}"), "ticketState": "OPEN"}),
                _ => json!({"operatingSystem": rng.pick(&oses), "port": 0}),
            };
            AlertSeed {
                id: 10_000_001 + i as i64,
                customer: ACME.into(),
                source: "REMEDIATION".into(),
                event_type: event.into(),
                trigger_uuid: rng.uuid(),
                ip_address: ip,
                hostname,
                event_date: dates::iso_s(t),
                alert_date: dates::iso_s(t + 1 + rng.below(10) as i64),
                is_hidden: rng.below(100) < 8,
                profile: Some(profile),
                rule: Some(rule),
                alert_info: info.as_object().cloned().unwrap_or_default(),
            }
        })
        .collect()
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
    if let Some(db) = &args.db {
        // One transaction: a generation that is stopped leaves an empty database, which the
        // next run (or `serve`) fills afresh, never a part of the data.
        if Store::open_file(db)?.is_some() {
            return Err(GenerateError::Exists(db.clone()));
        }
        let provenance = Provenance {
            source: args.command_line(),
            created: crate::clock::Clock::real().now_iso(),
        };
        let (base_seed, chunks) = (seed.clone(), args.clone());
        let store = Store::create_file(db, provenance, move |loader| {
            loader.load(&base_seed)?;
            let mut done = 0;
            while done < chunks.alerts {
                let to = (done + CHUNK).min(chunks.alerts);
                loader.load(&Seed {
                    alerts: alerts(&chunks, done, to),
                    ..Seed::default()
                })?;
                done = to;
                progress(done, chunks.alerts, started);
            }
            Ok(())
        })
        .await?;
        store.checkpoint().await?;
        return Ok(format!(
            "wrote {} ({} alerts, {} scripts, {} assets, {} jobs) in {:.1} s",
            db.display(),
            args.alerts,
            seed.scripts.len(),
            seed.assets.len(),
            seed.jobs.len(),
            started.elapsed().as_secs_f64()
        ));
    }
    let Some(dir) = &args.out else {
        return Err(GenerateError::Io("give --out DIR or --db FILE".into()));
    };
    let occupied = std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some());
    if occupied && !args.force {
        return Err(GenerateError::NotEmpty(dir.clone()));
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
        for (k, alert) in alerts(args, done, to).iter().enumerate() {
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
    Ok(format!(
        "wrote {} ({} alerts, {} scripts, {} assets, {} jobs) in {:.1} s",
        dir.display(),
        args.alerts,
        seed.scripts.len(),
        seed.assets.len(),
        seed.jobs.len(),
        started.elapsed().as_secs_f64()
    ))
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
