//! `qualys-mock record`, black-box: server A on a generated data set over HTTPS with its own
//! CA; the recorder (the real binary) harvests it into a seed folder; server B serves that
//! folder. Every search and get of every object type must answer the same on A and B.

use std::path::{Path, PathBuf};

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::launch;
use crate::listener::client_trusting;
use crate::reach::plain_client;

const BIN: &str = env!("CARGO_BIN_EXE_qualys-mock");
/// A's user and password (the recorder logs in as them; B's users get the same password).
const USER: &str = "acme_ss2";
const PASSWORD: &str = "passwd";

/// A generated data set with every object type (one per test binary run and size).
fn data_set(alerts: u64) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "qualys-mock-record-test-{alerts}-{}",
        std::process::id()
    ));
    if !dir.join("alerts.json").exists() {
        let staging = dir.with_extension(format!("staging-{}", uuid_like()));
        let _ = std::fs::remove_dir_all(&staging);
        let out = std::process::Command::new(BIN)
            .args([
                "generate",
                "--alerts",
                &alerts.to_string(),
                "--scripts",
                "60",
            ])
            .args(["--assets", "150", "--jobs", "80", "--seed", "5", "--out"])
            .arg(&staging)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Another test may have made it meanwhile: then this copy goes.
        if std::fs::rename(&staging, &dir).is_err() {
            let _ = std::fs::remove_dir_all(&staging);
        }
    }
    dir
}

/// A name no other caller in this process gets.
fn uuid_like() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        .to_string()
}

/// Server A over HTTPS (and HTTP for its control API), with its CA's PEM.
struct ServerA {
    running: qualys_mock::MockServer,
    pem: PathBuf,
    _dir: tempfile::TempDir,
}

impl ServerA {
    async fn start(seed: &Path) -> ServerA {
        let dir = tempfile::tempdir().unwrap();
        let pem = dir.path().join("ca.pem");
        let args = qualys_mock::ServerConfig {
            seed: Some(seed.to_str().unwrap().into()),
            https: crate::helpers::generated_https(
                &[],
                Some(std::path::Path::new(pem.to_str().unwrap())),
            ),
            ..crate::helpers::serve_config()
        };
        let running = launch(args.clone()).await;
        ServerA {
            running,
            pem,
            _dir: dir,
        }
    }

    fn https(&self) -> String {
        format!(
            "https://localhost:{}",
            self.running.https_addr().unwrap().port()
        )
    }

    fn control(&self) -> String {
        format!("http://{}/_mock", self.running.http_addr())
    }
}

/// Run the recorder against `a`; its exit status, stdout and stderr.
async fn record(a: &ServerA, out: &Path, extra: &[&str], password: &str) -> (bool, String) {
    let mut command = recorder(a, out, extra, password);
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// `record ARGS --out OUT` with the password in the environment, which must fail; its
/// standard error.
async fn refused(args: &[&str], out: &Path, password: &str) -> String {
    let mut command = std::process::Command::new(BIN);
    command
        .arg("record")
        .args(args)
        .args(["--password-env", "QM_TEST_PASSWORD", "--out"])
        .arg(out)
        .env("QM_TEST_PASSWORD", password);
    let output = run(command).await;
    assert!(!output.status.success(), "{args:?} succeeded");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Run a command off the test's runtime (the servers under test share that runtime).
async fn run(mut command: std::process::Command) -> std::process::Output {
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

/// The recorder's command line against `a`.
fn recorder(a: &ServerA, out: &Path, extra: &[&str], password: &str) -> std::process::Command {
    let mut command = std::process::Command::new(BIN);
    command
        .args([
            "record",
            "--api-url",
            &a.https(),
            "--gateway-url",
            &a.https(),
        ])
        .args(["--username", USER, "--password-env", "QM_TEST_PASSWORD"])
        .arg("--ca-bundle")
        .arg(&a.pem)
        .arg("--out")
        .arg(out)
        .args(extra)
        .env("QM_TEST_PASSWORD", password)
        .stdin(std::process::Stdio::null());
    command
}

/// What every comparison reads from a server: one client and a base URL.
struct Side {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Side {
    async fn new(client: reqwest::Client, base: String) -> Side {
        let token = client
            .post(format!("{base}/auth"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!("username={USER}&password={PASSWORD}&token=true"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        Side {
            client,
            base,
            token,
        }
    }

    async fn cm(&self, path: &str, body: Option<String>, json_format: bool) -> String {
        let mut request = match &body {
            Some(b) => self
                .client
                .post(format!("{}{path}", self.base))
                .header("Content-Type", "text/xml")
                .body(b.clone()),
            None => self.client.get(format!("{}{path}", self.base)),
        };
        if json_format {
            request = request.header("Accept", "application/json");
        }
        let text = request
            .basic_auth(USER, Some(PASSWORD))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        // The schema's location names the server it came from.
        text.replace(&self.base, "BASE")
    }

    async fn car(&self, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let request = match body {
            Some(b) => self
                .client
                .post(url)
                .header("Content-Type", "application/json")
                .body(b.to_string()),
            None => self.client.get(url),
        };
        let r = request.bearer_auth(&self.token).send().await.unwrap();
        let status = r.status().as_u16();
        let value: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap_or(Value::Null);
        json!({"status": status, "answer": value})
    }
}

fn first_difference(a: &str, b: &str) -> String {
    for (n, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        if x != y {
            return format!("line {n}:\n  A: {x}\n  B: {y}");
        }
    }
    format!(
        "lengths differ: {} vs {} lines",
        a.lines().count(),
        b.lines().count()
    )
}

/// Every CM object, page by page (XML, and JSON for the first page), and a get of the
/// first and last of each; every CAR list page by page, script gets and exports.
async fn assert_same_answers(a: &Side, b: &Side) {
    for object in ["alert", "profile", "rule", "ruleset"] {
        let mut last = 0i64;
        let mut ids = Vec::new();
        let mut pages = 0;
        loop {
            let body = format!(
                "<ServiceRequest><preferences><limitResults>1000</limitResults></preferences>\
                 <filters><Criteria field=\"id\" operator=\"GREATER\">{last}</Criteria></filters></ServiceRequest>"
            );
            let path = format!("/qps/rest/1.0/search/cm/{object}/");
            let (x, y) = (
                a.cm(&path, Some(body.clone()), false).await,
                b.cm(&path, Some(body.clone()), false).await,
            );
            assert!(
                x == y,
                "CM {object} page after {last}: {}",
                first_difference(&x, &y)
            );
            assert!(x.contains("<responseCode>SUCCESS</responseCode>"), "{x}");
            if pages == 0 {
                let (jx, jy) = (
                    a.cm(&path, Some(body.clone()), true).await,
                    b.cm(&path, Some(body), true).await,
                );
                assert!(jx == jy, "CM {object} JSON: {}", first_difference(&jx, &jy));
            }
            pages += 1;
            for part in x.split("<lastId>").skip(1) {
                last = part.split('<').next().unwrap().parse().unwrap();
            }
            ids.extend(
                x.split(&format!("<{}>\n", cm_element(object)))
                    .skip(1)
                    .filter_map(|rec| {
                        rec.split("<id>")
                            .nth(1)?
                            .split('<')
                            .next()?
                            .parse::<i64>()
                            .ok()
                    }),
            );
            if !x.contains("<hasMoreRecords>true</hasMoreRecords>") {
                break;
            }
        }
        assert!(!ids.is_empty(), "no {object} recorded");
        for id in [ids[0], *ids.last().unwrap()] {
            let path = format!("/qps/rest/1.0/get/cm/{object}/{id}");
            let (x, y) = (
                a.cm(&path, None, false).await,
                b.cm(&path, None, false).await,
            );
            assert!(x == y, "CM get {object} {id}: {}", first_difference(&x, &y));
        }
    }

    for path in [
        "/sm/v1/scripts/search",
        "/sm/v1/assets/search",
        "/sm/v1/assettags/search",
        "/sm/v1/jobs/search",
        "/sm/v1/assetjobs/search",
        "/sm/v1/scripts/activities",
    ] {
        let mut page = 0;
        loop {
            let body = json!({"pageNumber": page, "pageSize": 200, "includeScriptResult": true});
            let (x, y) = (
                a.car(path, Some(body.clone())).await,
                b.car(path, Some(body)).await,
            );
            assert_eq!(x["status"], 200, "{path}: {x}");
            assert!(
                x == y,
                "{path} page {page}: {}",
                first_difference(
                    &serde_json::to_string_pretty(&x).unwrap(),
                    &serde_json::to_string_pretty(&y).unwrap()
                )
            );
            let list = x["answer"]["body"]["list"]
                .as_array()
                .or_else(|| x["answer"]["auditRecords"].as_array())
                .unwrap()
                .clone();
            if path == "/sm/v1/scripts/search" {
                for script in &list {
                    let id = script["id"].as_str().unwrap();
                    let get = format!("/sm/v1/scripts/{id}");
                    assert_eq!(a.car(&get, None).await, b.car(&get, None).await, "{get}");
                }
                let exportable: Vec<&str> = list
                    .iter()
                    .filter(|s| !matches!(s["status"].as_str(), Some("REJECTED" | "DEPRECATED")))
                    .filter_map(|s| s["id"].as_str())
                    .take(20)
                    .collect();
                let export = format!("/sm/v1/scripts/export?ids={}", exportable.join(","));
                let (x, y) = (a.car(&export, None).await, b.car(&export, None).await);
                assert_eq!(x["status"], 200, "{x}");
                assert_eq!(x, y, "{export}");
            }
            if list.len() < 200 {
                break;
            }
            page += 1;
        }
    }
}

fn cm_element(object: &str) -> &'static str {
    match object {
        "alert" => "Alert",
        "profile" => "Profile",
        "rule" => "Rule",
        _ => "RuleSet",
    }
}

/// Both clocks frozen at the same instant, so nothing the engine does differs.
async fn freeze_both(a: &ServerA, b_control: &str, client: &reqwest::Client) {
    let now = json!({"set": "2026-06-01T00:00:00Z", "freeze": true});
    for control in [a.control(), b_control.to_owned()] {
        let r = client
            .post(format!("{control}/clock"))
            .header("Content-Type", "application/json")
            .body(now.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }
}

async fn get_json(client: &reqwest::Client, url: &str) -> Value {
    let bytes = client.get(url).send().await.unwrap().bytes().await.unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

async fn serve_folder(folder: &Path) -> qualys_mock::MockServer {
    launch(qualys_mock::ServerConfig {
        seed: Some(folder.to_str().unwrap().into()),
        ..crate::helpers::serve_config()
    })
    .await
}

#[tokio::test]
async fn a_recorded_tenant_answers_every_search_and_get_like_the_original() {
    let seed = data_set(20_000);
    let a = ServerA::start(&seed).await;
    let out = tempfile::tempdir().unwrap();
    let folder = out.path().join("recorded");
    let (ok, log) = record(
        &a,
        &folder,
        &[
            "--no-pseudonymise",
            "--keep-script-content",
            "--customer",
            "Acme",
            "--mock-password",
            PASSWORD,
        ],
        PASSWORD,
    )
    .await;
    assert!(ok, "{log}");
    assert!(log.contains("alerts.json"), "{log}");
    assert!(!out.path().join("recorded.partial").exists());
    let b = serve_folder(&folder).await;

    let plain = plain_client();
    freeze_both(&a, &format!("http://{}/_mock", b.http_addr()), &plain).await;
    let side_a = Side::new(client_trusting(&a.pem), a.https()).await;
    let side_b = Side::new(plain.clone(), format!("http://{}", b.http_addr())).await;
    assert_same_answers(&side_a, &side_b).await;

    let health = get_json(&plain, &format!("http://{}/_mock/health", b.http_addr())).await;
    let recorded = &health["baseline"]["recorded"];
    assert_eq!(recorded["counts"]["alerts"], 20_000, "{health}");
    assert_eq!(recorded["redaction"]["pseudonymised"], false);
    assert_eq!(recorded["platform"]["apiHost"], "localhost");
    b.shutdown().await;
    a.running.shutdown().await;
}

/// Every file of two recorded folders is the same (the manifest but for its capture time).
fn assert_same_folders(x: &Path, y: &Path) {
    let names = |dir: &Path| {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(names(x), names(y));
    for name in names(x) {
        let (a, b) = (
            std::fs::read_to_string(x.join(&name)).unwrap(),
            std::fs::read_to_string(y.join(&name)).unwrap(),
        );
        if name == "manifest.json" {
            let strip = |text: &str| {
                let mut v: Value = serde_json::from_str(text).unwrap();
                v.as_object_mut().unwrap().remove("recordedAt");
                v
            };
            assert_eq!(strip(&a), strip(&b), "manifest.json");
        } else {
            assert!(a == b, "{name}: {}", first_difference(&a, &b));
        }
    }
}

/// Every string value anywhere in the folder's files, and their whole text.
fn folder_text(dir: &Path) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        text.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    text
}

#[tokio::test]
async fn a_pseudonymised_recording_keeps_counts_and_relations_and_no_identifying_value() {
    let seed = data_set(2_000);
    let a = ServerA::start(&seed).await;
    let out = tempfile::tempdir().unwrap();
    let folder = out.path().join("shared");
    let (ok, log) = record(&a, &folder, &["--mock-password", "mock-pw-1"], PASSWORD).await;
    assert!(ok, "{log}");

    // What identifies A's tenant: addresses, host and NetBIOS names, user names and
    // display names, agent UUIDs — none of it may appear in the folder.
    let original = serde_json::from_str::<Vec<Value>>(
        &std::fs::read_to_string(seed.join("alerts.json")).unwrap(),
    )
    .unwrap();
    let assets = serde_json::from_str::<Vec<Value>>(
        &std::fs::read_to_string(seed.join("assets.json")).unwrap(),
    )
    .unwrap();
    let users = serde_json::from_str::<Vec<Value>>(
        &std::fs::read_to_string(seed.join("users.json")).unwrap(),
    )
    .unwrap();
    let mut secrets: Vec<String> = Vec::new();
    for alert in original
        .iter()
        .filter(|a| a["customer"] == "Acme")
        .take(300)
    {
        secrets.push(format!("\"{}\"", alert["ipAddress"].as_str().unwrap()));
        if let Some(h) = alert["hostname"].as_str().filter(|h| !h.is_empty()) {
            secrets.push(h.to_owned());
        }
        if let Some(n) = alert["alertInfo"]["netbiosName"].as_str() {
            secrets.push(format!("\"{n}\""));
        }
    }
    for asset in assets.iter().filter(|a| a["customer"] == "Acme") {
        secrets.push(format!("\"{}\"", asset["address"].as_str().unwrap()));
        secrets.push(asset["agentUuid"].as_str().unwrap().to_owned());
        secrets.push(format!("\"{}\"", asset["name"].as_str().unwrap()));
    }
    for user in users.iter().filter(|u| u["customer"] == "Acme") {
        secrets.push(format!("\"{}\"", user["username"].as_str().unwrap()));
        secrets.push(format!("\"{}\"", user["name"].as_str().unwrap()));
        secrets.push(user["uuid"].as_str().unwrap().to_owned());
    }
    assert!(secrets.len() > 300, "the check must look at something");
    let text = folder_text(&folder);
    for secret in &secrets {
        assert!(!text.contains(secret.as_str()), "{secret} is in the folder");
    }
    // No credential, token or script content anywhere, folder or output.
    for secret in [format!("\"{PASSWORD}\""), "eyJ".to_owned()] {
        assert!(!text.contains(&secret), "{secret} in the folder");
        assert!(!log.contains(&secret), "{secret} in the output");
    }
    assert!(!text.contains("echo \\\"Restart"), "script content kept");

    // The folder loads (every reference resolves) and holds what A holds.
    let b = serve_folder(&folder).await;
    let plain = plain_client();
    let health = get_json(&plain, &format!("http://{}/_mock/health", b.http_addr())).await;
    let counts = &health["counts"];
    let side_a = Side::new(client_trusting(&a.pem), a.https()).await;
    for (path, key) in [
        ("/sm/v1/scripts/search", "scripts"),
        ("/sm/v1/assets/search", "assets"),
        ("/sm/v1/assettags/search", "assetTags"),
        ("/sm/v1/jobs/search", "jobs"),
        ("/sm/v1/assetjobs/search", "assetJobs"),
    ] {
        let total =
            side_a.car(path, Some(json!({"pageSize": 1}))).await["answer"]["body"]["totalCount"]
                .clone();
        assert_eq!(counts[key], total, "{key}: {health}");
    }
    let acme_alerts = original.iter().filter(|a| a["customer"] == "Acme").count();
    assert_eq!(counts["alerts"], acme_alerts, "{health}");

    // The same value maps to the same stand-in everywhere: alerts that shared an address
    // in A share one in the folder, and no two of A's addresses share a stand-in.
    let recorded = serde_json::from_str::<Vec<Value>>(
        &std::fs::read_to_string(folder.join("alerts.json")).unwrap(),
    )
    .unwrap();
    let by_id: std::collections::HashMap<i64, &Value> = recorded
        .iter()
        .map(|r| (r["id"].as_i64().unwrap(), r))
        .collect();
    let mut map: std::collections::HashMap<String, String> = Default::default();
    let mut back: std::collections::HashMap<String, String> = Default::default();
    for alert in original.iter().filter(|a| a["customer"] == "Acme") {
        let stand_in = by_id[&alert["id"].as_i64().unwrap()]["ipAddress"]
            .as_str()
            .unwrap()
            .to_owned();
        let ip = alert["ipAddress"].as_str().unwrap().to_owned();
        assert_eq!(map.entry(ip.clone()).or_insert(stand_in.clone()), &stand_in);
        assert_eq!(back.entry(stand_in).or_insert(ip.clone()), &ip);
    }
    assert!(map.len() > 10);
    b.shutdown().await;

    // --clock-from-seed starts at the capture time, and a full reset comes back to it (a
    // capture long ago, so that real time is far from it).
    let mut manifest: Value =
        serde_json::from_slice(&std::fs::read(folder.join("manifest.json")).unwrap()).unwrap();
    manifest["recordedAt"] = json!("2024-01-01T00:00:00.000Z");
    std::fs::write(folder.join("manifest.json"), manifest.to_string()).unwrap();
    let captured_ms = time::OffsetDateTime::parse(
        manifest["recordedAt"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
    .unix_timestamp_nanos()
        / 1_000_000;
    let c = launch(qualys_mock::ServerConfig {
        seed: Some(folder.to_str().unwrap().into()),
        clock_from_seed: true,
        ..crate::helpers::serve_config()
    })
    .await;
    let clock = format!("http://{}/_mock/clock", c.http_addr());
    control_post(&plain, &clock, json!({"advance": "30d"})).await;
    control_post(
        &plain,
        &format!("http://{}/_mock/reset", c.http_addr()),
        json!({}),
    )
    .await;
    let now = get_json(&plain, &clock).await;
    let since_capture = i128::from(now["nowMs"].as_i64().unwrap()) - captured_ms;
    assert!(
        (0..120_000).contains(&since_capture),
        "{now} is {since_capture} ms from the capture"
    );
    c.shutdown().await;
    a.running.shutdown().await;
}

/// POST a JSON body to a control URL.
async fn control_post(client: &reqwest::Client, url: &str, body: Value) -> Value {
    let r = client
        .post(url)
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap_or(Value::Null);
    assert!(status < 300, "{url}: {status} {value}");
    value
}

#[tokio::test]
async fn rate_limits_server_errors_dropped_connections_and_an_expired_token_change_nothing() {
    let seed = data_set(3_000);
    let a = ServerA::start(&seed).await;
    let out = tempfile::tempdir().unwrap();
    let flags = [
        "--no-pseudonymise",
        "--keep-script-content",
        "--customer",
        "Acme",
    ];
    let clean = out.path().join("clean");
    let (ok, log) = record(&a, &clean, &flags, PASSWORD).await;
    assert!(ok, "{log}");

    let plain = plain_client();
    let faults = format!("{}/faults", a.control());
    for fault in [
        json!({"path": "/sm/v1/*", "rateLimit": 1, "probability": 0.15, "seed": 3}),
        json!({"path": "/qps/rest/1.0/search/cm/*", "status": 503, "probability": 0.2, "seed": 4}),
        json!({"path": "/sm/v1/assets/search", "drop": true, "times": 2}),
        json!({"path": "/qps/rest/1.0/search/cm/alert/", "drop": true, "times": 1}),
        json!({"path": "/sm/v1/scripts/export", "status": 502, "times": 2}),
    ] {
        control_post(&plain, &faults, fault).await;
    }
    // Once the recorder reads the activity log (its first CAR list), A's clock jumps 5 hours:
    // its token expires mid-run.
    // (The journal is emptied first: the clean run's calls are in it.)
    let r = plain
        .delete(format!("{}/requests", a.control()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let journal = format!("{}/requests?path=/sm/v1/scripts/activities", a.control());
    let clock = format!("{}/clock", a.control());
    let mover = {
        let plain = plain.clone();
        tokio::spawn(async move {
            for _ in 0..600 {
                let seen = get_json(&plain, &journal).await;
                if seen["count"].as_u64().unwrap_or(0) > 0 {
                    control_post(&plain, &clock, json!({"advance": "5h"})).await;
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            false
        })
    };
    let faulty = out.path().join("faulty");
    let (ok, log) = record(&a, &faulty, &flags, PASSWORD).await;
    assert!(ok, "{log}");
    assert!(mover.await.unwrap(), "the clock never moved");
    assert!(log.contains("rate-limit waits"), "{log}");
    let renewals: u64 = log
        .split(" token renewals")
        .next()
        .and_then(|t| t.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(renewals >= 1, "no renewal after the token expired: {log}");
    let applied = get_json(&plain, &faults).await;
    assert!(
        applied.to_string().contains("\"applied\":"),
        "faults listed: {applied}"
    );
    assert_same_folders(&clean, &faulty);
    a.running.shutdown().await;
}

/// The records a recorder's state file counts as checkpointed (0 while there is none).
fn checkpointed(state_file: &Path) -> u64 {
    // Written aside and renamed into place: a read sees a whole file.
    let Ok(bytes) = std::fs::read(state_file) else {
        return 0;
    };
    let state: Value = serde_json::from_slice(&bytes).unwrap();
    state["files"]
        .as_object()
        .unwrap()
        .values()
        .map(|f| f["records"].as_u64().unwrap())
        .sum()
}

#[tokio::test]
async fn a_recording_killed_five_times_and_resumed_ends_like_an_uninterrupted_one() {
    let seed = data_set(3_000);
    let a = ServerA::start(&seed).await;
    let out = tempfile::tempdir().unwrap();
    let flags = ["--no-pseudonymise", "--keep-script-content"];
    let whole = out.path().join("whole");
    let (ok, log) = record(&a, &whole, &flags, PASSWORD).await;
    assert!(ok, "{log}");

    // Slow every call down, so that a run has many pages to go when it is killed.
    let plain = plain_client();
    let faults = format!("{}/faults", a.control());
    for path in ["/qps/*", "/sm/*"] {
        control_post(&plain, &faults, json!({"path": path, "latencyMs": 40})).await;
    }
    let resumed = out.path().join("resumed");
    let state_file = out.path().join("resumed.partial/.record-state.json");
    let mut resume_flags = flags.to_vec();
    resume_flags.push("--resume");
    // Each run is killed once it has checkpointed records of its own (the state file counts
    // more than when it started): on a signal from the recorder, not after a guessed time,
    // so a slow machine only makes the rounds slower. Then a varying wait of up to one
    // call's latency, so that kills land at different points of a page.
    let mut rng = 0x9e37_79b9_u64;
    let mut before = 0;
    for round in 0..5 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let mut command = if round == 0 {
            recorder(&a, &resumed, &flags, PASSWORD)
        } else {
            recorder(&a, &resumed, &resume_flags, PASSWORD)
        };
        command
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut child = command.spawn().unwrap();
        let give_up = std::time::Instant::now() + Duration::from_secs(300);
        while checkpointed(&state_file) <= before {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("round {round}: the recorder ended ({status}) before a checkpoint");
            }
            assert!(
                std::time::Instant::now() < give_up,
                "round {round}: no checkpoint past {before} records"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tokio::time::sleep(Duration::from_millis(rng % 40)).await;
        let _ = child.kill();
        let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
            .await
            .unwrap();
        assert!(
            !status.success(),
            "round {round}: the recorder finished before it was killed"
        );
        let now = checkpointed(&state_file);
        assert!(now > before, "round {round}: {now} records after {before}");
        before = now;
    }
    // The kills landed mid-run: the folder is still the unfinished one.
    assert!(!resumed.exists(), "a killed run left a folder in place");
    let (ok, log) = record(&a, &resumed, &resume_flags, PASSWORD).await;
    assert!(ok, "{log}");
    assert_same_folders(&whole, &resumed);
    a.running.shutdown().await;
}

#[tokio::test]
async fn the_recorder_refuses_what_it_cannot_use_and_names_the_fix() {
    let seed = data_set(2_000);
    let a = ServerA::start(&seed).await;
    let out = tempfile::tempdir().unwrap();
    let folder = out.path().join("x");
    let (ok, log) = record(&a, &folder, &[], "wrong-password").await;
    assert!(!ok);
    assert!(log.contains("check --username and the password"), "{log}");
    assert!(!log.contains("wrong-password"), "{log}");
    assert!(!folder.exists());

    // Without the CA the TLS failure names --ca-bundle.
    let https = a.https();
    let y = out.path().join("y");
    let text = refused(&["--api-url", &https, "--username", USER], &y, PASSWORD).await;
    assert!(text.contains("--ca-bundle"), "{text}");

    // A host that is not a Qualys API.
    let control = format!("http://{}/_mock", a.running.http_addr());
    let z = out.path().join("z");
    let text = refused(&["--api-url", &control, "--username", USER], &z, PASSWORD).await;
    assert!(text.contains("is --api-url a Qualys API server"), "{text}");

    // A user without the CM module.
    control_post(
        &plain_client(),
        &format!("{}/customers", a.control()),
        json!({"name": "NoCm", "username": "nocm_user", "password": "pw-nocm", "modules": ["CAR"]}),
    )
    .await;
    let pem = a.pem.to_str().unwrap();
    let v = out.path().join("v");
    let args = [
        "--api-url",
        &https,
        "--username",
        "nocm_user",
        "--ca-bundle",
        pem,
    ];
    let text = refused(&args, &v, "pw-nocm").await;
    assert!(
        text.contains("may not use the CM API (UNAUTHORIZED)"),
        "{text}"
    );

    // The password is never an argument, and a resume needs something to resume.
    let never = out.path().join("never");
    let args = [
        "--api-url",
        "http://127.0.0.1:9",
        "--username",
        USER,
        "--password",
        "x",
    ];
    let text = refused(&args, &never, PASSWORD).await;
    assert!(text.contains("--password"), "{text}");
    let w = out.path().join("w");
    let text = refused(
        &["--api-url", &https, "--username", USER, "--resume"],
        &w,
        PASSWORD,
    )
    .await;
    assert!(text.contains("nothing to resume"), "{text}");
    a.running.shutdown().await;
}
