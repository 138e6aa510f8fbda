//! `qualys-mock record`, black-box: server A on a generated data set over HTTPS with its own
//! CA; the recorder (the real binary) harvests it into a seed folder; server B serves that
//! folder. Every search and get of every object type must answer the same on A and B.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::listener::{client_trusting, launch, serve_args};
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
        let staging = dir.with_extension("staging");
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
        let _ = std::fs::rename(&staging, &dir);
    }
    dir
}

/// Server A over HTTPS (and HTTP for its control API), with its CA's PEM.
struct ServerA {
    running: qualys_mock::server::Running,
    pem: PathBuf,
    _dir: tempfile::TempDir,
}

impl ServerA {
    async fn start(seed: &Path) -> ServerA {
        let dir = tempfile::tempdir().unwrap();
        let pem = dir.path().join("ca.pem");
        let args = serve_args(&[
            "--seed",
            seed.to_str().unwrap(),
            "--https-port",
            "0",
            "--tls-cert-out",
            pem.to_str().unwrap(),
        ]);
        let running = launch(&args).await;
        ServerA {
            running,
            pem,
            _dir: dir,
        }
    }

    fn https(&self) -> String {
        format!(
            "https://localhost:{}",
            self.running.https_addr.unwrap().port()
        )
    }

    fn control(&self) -> String {
        format!("http://{}/_mock", self.running.http_addr)
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

async fn serve_folder(folder: &Path) -> qualys_mock::server::Running {
    launch(&serve_args(&["--seed", folder.to_str().unwrap()])).await
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
    freeze_both(&a, &format!("http://{}/_mock", b.http_addr), &plain).await;
    let side_a = Side::new(client_trusting(&a.pem), a.https()).await;
    let side_b = Side::new(plain.clone(), format!("http://{}", b.http_addr)).await;
    assert_same_answers(&side_a, &side_b).await;

    let health = get_json(&plain, &format!("http://{}/_mock/health", b.http_addr)).await;
    let recorded = &health["baseline"]["recorded"];
    assert_eq!(recorded["counts"]["alerts"], 20_000, "{health}");
    assert_eq!(recorded["redaction"]["pseudonymised"], false);
    assert_eq!(recorded["platform"]["apiHost"], "localhost");
    b.shutdown().await;
    a.running.shutdown().await;
}
