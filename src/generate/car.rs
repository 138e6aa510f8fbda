//! CAR records: asset tags, assets, scripts, jobs and asset jobs, activities.

use super::{ACME, GLOBEX, YEAR_START_S};
use crate::dates;
use crate::query::catalog::SCRIPT_CATEGORIES;
use crate::rng::Rng;
use crate::store::seed::car::{IdName, InterfaceSeed};
use crate::store::seed::{
    ActivitySeed, AssetJobSeed, AssetSeed, AssetTagSeed, JobSeed, ScriptSeed,
};

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

/// Twenty tags for Acme (every third with a colour), one for Globex.
pub(super) fn asset_tags(rng: &mut Rng) -> Vec<AssetTagSeed> {
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
pub(super) fn assets(rng: &mut Rng, count: u64) -> Vec<AssetSeed> {
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
pub(super) fn scripts(rng: &mut Rng, count: u64) -> Vec<ScriptSeed> {
    let mut scripts = Vec::new();
    for i in 0..count {
        let (cat_id, cat) = *rng.pick(SCRIPT_CATEGORIES);
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
pub(super) fn script_activities(rng: &mut Rng, scripts: &[ScriptSeed]) -> Vec<ActivitySeed> {
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
pub(super) fn jobs(
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
