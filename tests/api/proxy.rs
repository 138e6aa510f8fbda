//! `serve --proxy-unmatched URL --record-stubs DIR`, black-box: a small platform started
//! here (a VM-style XML GET, a QPS JSON search echoing its body, a binary download, a large
//! answer, a token endpoint; each checks the caller's credentials) behind a real emulator
//! listener. The answers must be the platform's; the files WireMock mappings in the
//! supported subset, each request once, with no credential anywhere; an unreachable platform
//! answers 502 in the path's format. Replayed by WireMock itself when its jar is at hand.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use base64::Engine as _;
use serde_json::{Value, json};

use crate::helpers::{basic, http_client};
use qualys_mock::{ProxyConfig, ServerConfig};

use crate::helpers::{launch, serve_config};

const USER: &str = "acme_vm";
const PASSWORD: &str = "s3cret-Passw0rd";
const BEARER_TOKEN: &str = "opaque-bearer-7f3a9c2e";
const COOKIE_VALUE: &str = "cookie-9d8e7f6a5b";
const PLATFORM_COOKIE: &str = "fresh-session-4c3b2a";
const PLATFORM_TOKEN: &str = "platform-token-1a2b3c4d";
const JWT: &str = "eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiJhY21lX3ZtIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
/// The emulator's `--record-max-body-bytes` in these tests.
const RECORD_CAP: usize = 200_000;

/// What the platform saw of one request.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    host: String,
    headers: HeaderMap,
}

#[derive(Clone, Default)]
struct Platform {
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Platform {
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn basic_value() -> String {
    basic(USER, PASSWORD)
}

fn simple_return(status: StatusCode, text: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/xml;charset=UTF-8")],
        format!("<?xml version=\"1.0\"?><SIMPLE_RETURN><RESPONSE><TEXT>{text}</TEXT></RESPONSE></SIMPLE_RETURN>"),
    )
        .into_response()
}

fn basic_ok(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(&basic_value())
}

/// A byte string that is not UTF-8.
fn binary_answer() -> Vec<u8> {
    (0..=255u8).cycle().take(1500).collect()
}

fn large_text(bytes: usize) -> String {
    let row = "<DETECTION><QID>38170</QID><STATUS>Active</STATUS></DETECTION>\n";
    let mut text = String::from("<KNOWLEDGE_BASE_VULN_LIST_OUTPUT>\n");
    while text.len() < bytes {
        text.push_str(row);
    }
    text.push_str("</KNOWLEDGE_BASE_VULN_LIST_OUTPUT>\n");
    text
}

/// The platform: every request noted, then answered by path.
async fn start_platform() -> (SocketAddr, Platform, tokio::task::JoinHandle<()>) {
    let platform = Platform::default();
    let note = |State(p): State<Platform>,
                request: axum::extract::Request,
                next: axum::middleware::Next| async move {
        let host = request
            .headers()
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        p.seen.lock().unwrap().push(Seen {
            path: request.uri().path().to_owned(),
            host,
            headers: request.headers().clone(),
        });
        next.run(request).await
    };
    let app = Router::new()
        .route(
            "/api/2.0/fo/asset/host/vm/detection/",
            get(|headers: HeaderMap, uri: Uri| async move {
                if !basic_ok(&headers) {
                    return simple_return(StatusCode::UNAUTHORIZED, "Bad Login/Password");
                }
                let cookie_ok = headers
                    .get(header::COOKIE)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|c| c.contains(COOKIE_VALUE));
                (
                    [
                        (header::CONTENT_TYPE, "text/xml;charset=UTF-8".to_owned()),
                        (
                            header::SET_COOKIE,
                            format!("QualysSession={PLATFORM_COOKIE}; path=/; secure"),
                        ),
                        (
                            header::HeaderName::from_static("x-auth-token"),
                            PLATFORM_TOKEN.to_owned(),
                        ),
                        (
                            header::HeaderName::from_static("x-ratelimit-remaining"),
                            "299".to_owned(),
                        ),
                    ],
                    format!(
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<HOST_LIST_VM_DETECTION_OUTPUT>\
                         <RESPONSE><QUERY>{}</QUERY><COOKIE_SEEN>{cookie_ok}</COOKIE_SEEN>\
                         <HOST><ID>101</ID><IP>10.0.0.1</IP></HOST></RESPONSE>\
                         </HOST_LIST_VM_DETECTION_OUTPUT>\n",
                        uri.query().unwrap_or_default().replace('&', "&amp;")
                    ),
                )
                    .into_response()
            }),
        )
        .route(
            "/qps/rest/2.0/search/am/hostasset",
            post(|headers: HeaderMap, body: Bytes| async move {
                if !basic_ok(&headers) {
                    return (
                        StatusCode::UNAUTHORIZED,
                        axum::Json(json!({"ServiceResponse": {"responseCode": "INVALID_CREDENTIALS"}})),
                    )
                        .into_response();
                }
                let criteria: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                axum::Json(json!({"ServiceResponse": {
                    "responseCode": "SUCCESS",
                    "count": 1,
                    "echo": criteria,
                }}))
                .into_response()
            }),
        )
        .route(
            "/api/2.0/fo/report/",
            get(|headers: HeaderMap| async move {
                let bearer = format!("Bearer {BEARER_TOKEN}");
                if headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) != Some(&bearer) {
                    return simple_return(StatusCode::UNAUTHORIZED, "Bad token");
                }
                (
                    [(header::CONTENT_TYPE, "application/octet-stream")],
                    binary_answer(),
                )
                    .into_response()
            }),
        )
        .route(
            "/api/2.0/fo/knowledge_base/vuln/",
            get(|headers: HeaderMap| async move {
                if !basic_ok(&headers) {
                    return simple_return(StatusCode::UNAUTHORIZED, "Bad Login/Password");
                }
                (
                    [(header::CONTENT_TYPE, "text/xml;charset=UTF-8")],
                    large_text(100_000),
                )
                    .into_response()
            }),
        )
        .route(
            "/api/2.0/fo/scan/",
            get(|| async { ([(header::CONTENT_TYPE, "text/xml")], large_text(RECORD_CAP + 50_000)) }),
        )
        .route(
            "/api/2.0/fo/slow/",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        )
        .route(
            "/auth/token",
            any(|| async { ([(header::CONTENT_TYPE, "text/plain")], JWT) }),
        )
        .layer(axum::middleware::from_fn_with_state(platform.clone(), note))
        .with_state(platform.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (addr, platform, task)
}

/// The platform, and an emulator forwarding to it and recording into a fresh folder.
struct Rig {
    platform_addr: SocketAddr,
    platform: Platform,
    platform_task: tokio::task::JoinHandle<()>,
    proxy: String,
    dir: tempfile::TempDir,
}

async fn rig() -> Rig {
    rig_with(true, |_| ()).await
}

/// The platform and an emulator in front of it: recording or not, its configuration
/// changed by `adjust`.
async fn rig_with(recording: bool, adjust: impl FnOnce(&mut ServerConfig)) -> Rig {
    let (platform_addr, platform, platform_task) = start_platform().await;
    let dir = tempfile::tempdir().unwrap();
    let mut proxy = ProxyConfig::to(format!("http://{platform_addr}"));
    if recording {
        proxy.record_stubs = Some(dir.path().to_path_buf());
        proxy.record_max_body_bytes = RECORD_CAP;
    }
    let mut config = ServerConfig {
        proxy: Some(proxy),
        ..serve_config()
    };
    adjust(&mut config);
    let running = launch(config).await;
    let proxy = running.base_url();
    // The listener lives as long as the test's runtime.
    std::mem::forget(running);
    Rig {
        platform_addr,
        platform,
        platform_task,
        proxy,
        dir,
    }
}

/// One call: what the caller sends.
#[derive(Clone)]
struct Call {
    method: Method,
    path: &'static str,
    headers: Vec<(&'static str, String)>,
    body: Option<String>,
}

impl Call {
    fn get(path: &'static str, headers: Vec<(&'static str, String)>) -> Call {
        Call {
            method: Method::GET,
            path,
            headers,
            body: None,
        }
    }
}

/// What came back.
#[derive(Debug, Clone, PartialEq)]
struct Answer {
    status: u16,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

async fn send(base: &str, call: &Call) -> Answer {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap_or_else(|_| http_client());
    let mut request = client.request(call.method.clone(), format!("{base}{}", call.path));
    for (name, value) in &call.headers {
        request = request.header(*name, value);
    }
    if let Some(body) = &call.body {
        request = request.body(body.clone());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let mut headers = BTreeMap::new();
    for (name, value) in response.headers() {
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|v: &mut String| {
                v.push_str(", ");
                v.push_str(value.to_str().unwrap_or_default());
            })
            .or_insert_with(|| value.to_str().unwrap_or_default().to_owned());
    }
    let body = response.bytes().await.unwrap().to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

fn detection() -> Call {
    Call::get(
        "/api/2.0/fo/asset/host/vm/detection/?action=list&ids=101",
        vec![
            ("authorization", basic_value()),
            ("cookie", format!("QualysSession={COOKIE_VALUE}; lang=en")),
            ("x-requested-with", "qualys-mock tests".to_owned()),
            // A hop-by-hop header, named by Connection: not forwarded.
            ("connection", "x-hop".to_owned()),
            ("x-hop", "1".to_owned()),
        ],
    )
}

fn search(body: Value) -> Call {
    Call {
        method: Method::POST,
        path: "/qps/rest/2.0/search/am/hostasset",
        headers: vec![
            ("authorization", basic_value()),
            ("content-type", "application/json".to_owned()),
            ("accept", "application/json".to_owned()),
        ],
        body: Some(body.to_string()),
    }
}

fn search_by_name(name: &str) -> Call {
    search(json!({"ServiceRequest": {"filters": {"Criteria": [
        {"field": "name", "operator": "EQUALS", "value": name}
    ]}}}))
}

fn report() -> Call {
    Call::get(
        "/api/2.0/fo/report/?action=fetch&id=7",
        vec![("authorization", format!("Bearer {BEARER_TOKEN}"))],
    )
}

fn knowledge_base() -> Call {
    Call::get(
        "/api/2.0/fo/knowledge_base/vuln/?action=list",
        vec![("authorization", basic_value())],
    )
}

/// Every call that is recorded, once each.
fn recorded_calls() -> Vec<Call> {
    vec![
        detection(),
        search_by_name("web-01"),
        search_by_name("db-02"),
        report(),
        knowledge_base(),
    ]
}

/// Headers that differ between two answers of one server to one call.
const PER_ANSWER: [&str; 4] = ["date", "content-length", "transfer-encoding", "connection"];

/// `via`'s answer holds every header `direct` has, with the same value, and the same status
/// and body.
fn assert_same_answer(direct: &Answer, via: &Answer, what: &str) {
    assert_eq!(via.status, direct.status, "{what}: status");
    assert_eq!(via.body, direct.body, "{what}: body");
    for (name, value) in &direct.headers {
        if PER_ANSWER.contains(&name.as_str()) {
            continue;
        }
        assert_eq!(via.headers.get(name), Some(value), "{what}: header {name}");
    }
}

/// Every mapping file under `dir/mappings`, parsed.
fn mappings(dir: &Path) -> Vec<(PathBuf, Value)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir.join("mappings")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.ends_with(".json") && !name.starts_with('.'),
            "only mappings are left in mappings/: {name}"
        );
        let value: Value = serde_json::from_slice(&std::fs::read(&path).unwrap())
            .unwrap_or_else(|e| panic!("{name} is not JSON: {e}"));
        out.push((path, value));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .map(String::as_str)
        .collect()
}

/// `mapping` uses only the keys of the supported WireMock subset, in their shapes, and its
/// body file (if any) exists.
fn assert_supported_mapping(dir: &Path, file: &Path, mapping: &Value) {
    let at = file.display();
    for key in keys(mapping) {
        assert!(
            ["id", "name", "priority", "request", "response"].contains(&key),
            "{at}: top-level key {key}"
        );
    }
    let id = mapping["id"].as_str().unwrap();
    uuid::Uuid::parse_str(id).unwrap_or_else(|e| panic!("{at}: id {id}: {e}"));
    let name = mapping["name"].as_str().unwrap();
    assert_eq!(
        file.file_name().unwrap().to_string_lossy(),
        format!("{name}-{id}.json"),
        "WireMock's recorder names a mapping <name>-<id>.json"
    );
    assert!(
        name.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-'),
        "{at}: name {name}"
    );
    let request = &mapping["request"];
    for key in keys(request) {
        assert!(
            [
                "method",
                "url",
                "urlPath",
                "urlPattern",
                "urlPathPattern",
                "queryParameters",
                "headers",
                "bodyPatterns"
            ]
            .contains(&key),
            "{at}: request key {key}"
        );
    }
    assert!(
        request["method"].is_string() && request["url"].is_string(),
        "{at}"
    );
    if let Some(headers) = request.get("headers") {
        for (_, matcher) in headers.as_object().unwrap() {
            for key in keys(matcher) {
                assert!(
                    ["equalTo", "contains", "matches", "absent"].contains(&key),
                    "{at}: header matcher {key}"
                );
            }
        }
    }
    if let Some(patterns) = request.get("bodyPatterns") {
        for pattern in patterns.as_array().unwrap() {
            let k = keys(pattern);
            assert_eq!(k.len(), 1, "{at}: one matcher per body pattern: {pattern}");
            assert!(
                [
                    "equalTo",
                    "contains",
                    "matches",
                    "equalToJson",
                    "equalToXml"
                ]
                .contains(&k[0]),
                "{at}: body matcher {}",
                k[0]
            );
            assert!(pattern[k[0]].is_string(), "{at}");
        }
    }
    let response = &mapping["response"];
    for key in keys(response) {
        assert!(
            [
                "status",
                "headers",
                "body",
                "jsonBody",
                "base64Body",
                "bodyFileName",
                "fixedDelayMilliseconds"
            ]
            .contains(&key),
            "{at}: response key {key}"
        );
    }
    assert!(response["status"].is_u64(), "{at}");
    if let Some(headers) = response.get("headers") {
        assert!(
            headers.as_object().unwrap().values().all(Value::is_string),
            "{at}: header values are strings"
        );
    }
    if let Some(file) = response.get("bodyFileName") {
        let file = file.as_str().unwrap();
        assert!(!file.contains('/') && !file.contains(".."), "{at}: {file}");
        assert!(dir.join("__files").join(file).is_file(), "{at}: {file}");
    }
}

/// The body a mapping answers, from wherever it keeps it.
fn mapping_body(dir: &Path, mapping: &Value) -> Vec<u8> {
    let response = &mapping["response"];
    if let Some(body) = response.get("body") {
        return body.as_str().unwrap().as_bytes().to_vec();
    }
    if let Some(body) = response.get("base64Body") {
        return base64::engine::general_purpose::STANDARD
            .decode(body.as_str().unwrap())
            .unwrap();
    }
    if let Some(file) = response.get("bodyFileName") {
        return std::fs::read(dir.join("__files").join(file.as_str().unwrap())).unwrap();
    }
    Vec::new()
}

/// The one mapping whose method and url are the call's (and body pattern its body).
fn mapping_for<'a>(all: &'a [(PathBuf, Value)], call: &Call) -> Vec<&'a Value> {
    all.iter()
        .map(|(_, m)| m)
        .filter(|m| {
            m["request"]["method"] == call.method.as_str()
                && m["request"]["url"] == call.path
                && match (&call.body, m["request"].get("bodyPatterns")) {
                    (None, None) => true,
                    (Some(body), Some(patterns)) => {
                        let pattern = &patterns[0];
                        match pattern.get("equalToJson") {
                            Some(expected) => {
                                serde_json::from_str::<Value>(expected.as_str().unwrap()).unwrap()
                                    == serde_json::from_str::<Value>(body).unwrap()
                            }
                            None => pattern["equalTo"] == body.as_str(),
                        }
                    }
                    _ => false,
                }
        })
        .collect()
}

#[tokio::test]
async fn answers_through_the_proxy_are_the_platforms_and_are_recorded_as_wiremock_mappings() {
    let rig = rig().await;
    let platform = format!("http://{}", rig.platform_addr);
    let mut direct_answers = Vec::new();
    for call in recorded_calls() {
        let direct = send(&platform, &call).await;
        assert_eq!(
            direct.status, 200,
            "{}: the platform accepts the caller",
            call.path
        );
        direct_answers.push(direct);
    }
    rig.platform.seen.lock().unwrap().clear();
    for (call, direct) in recorded_calls().iter().zip(&direct_answers) {
        let via = send(&rig.proxy, call).await;
        assert_same_answer(direct, &via, call.path);
    }
    // The answer's cookie and token headers reach the caller (only the files go without).
    let via = send(&rig.proxy, &detection()).await;
    assert!(via.headers["set-cookie"].contains(PLATFORM_COOKIE));
    assert_eq!(via.headers["x-auth-token"], PLATFORM_TOKEN);

    let dir = rig.dir.path();
    let all = mappings(dir);
    assert_eq!(all.len(), recorded_calls().len(), "{all:#?}");
    for (file, mapping) in &all {
        assert_supported_mapping(dir, file, mapping);
    }
    for (call, direct) in recorded_calls().iter().zip(&direct_answers) {
        let found = mapping_for(&all, call);
        assert_eq!(found.len(), 1, "{} {}: {found:#?}", call.method, call.path);
        let mapping = found[0];
        assert_eq!(mapping["response"]["status"], direct.status);
        assert_eq!(mapping_body(dir, mapping), direct.body, "{}", call.path);
        let recorded = mapping["response"]["headers"].as_object().unwrap();
        assert_eq!(
            recorded.get("content-type").and_then(Value::as_str),
            direct.headers.get("content-type").map(String::as_str),
            "{}",
            call.path
        );
        assert!(!recorded.contains_key("date") && !recorded.contains_key("content-length"));
    }
    // How each body is kept: JSON search bodies with equalToJson and the Accept header the
    // QPS answer depends on; text inline, binary in base64, a large answer in __files.
    let search = mapping_for(&all, &search_by_name("web-01"))[0];
    assert!(
        search["request"]["bodyPatterns"][0]["equalToJson"].is_string(),
        "{search:#}"
    );
    assert_eq!(
        search["request"]["headers"],
        json!({"Accept": {"equalTo": "application/json"}})
    );
    let detection_mapping = mapping_for(&all, &detection())[0];
    assert!(detection_mapping["response"]["body"].is_string());
    assert_eq!(
        detection_mapping["request"],
        json!({"url": "/api/2.0/fo/asset/host/vm/detection/?action=list&ids=101", "method": "GET"})
    );
    assert_eq!(
        detection_mapping["response"]["headers"]["x-ratelimit-remaining"],
        "299"
    );
    assert!(mapping_for(&all, &report())[0]["response"]["base64Body"].is_string());
    let kb = mapping_for(&all, &knowledge_base())[0];
    assert!(
        kb["response"]["bodyFileName"]
            .as_str()
            .is_some_and(|f| f.starts_with("api_20_fo_knowledge_base_vuln-") && f.ends_with(".xml")),
        "{kb:#}"
    );

    // Through the proxy, the platform saw the caller's credentials (it answered 200), its own
    // host, no hop-by-hop header.
    let seen = rig.platform.seen();
    assert_eq!(seen.len(), recorded_calls().len() + 1);
    for seen in seen {
        assert_eq!(seen.host, rig.platform_addr.to_string(), "{}", seen.path);
        if seen.path != "/qps/rest/2.0/search/am/hostasset" {
            assert!(
                seen.headers.get("content-length").is_none(),
                "{}",
                seen.path
            );
        }
        assert!(seen.headers.get("connection").is_none_or(|v| v != "x-hop"));
        assert!(seen.headers.get("x-hop").is_none(), "{}", seen.path);
    }
    assert!(String::from_utf8_lossy(&via.body).contains("<COOKIE_SEEN>true</COOKIE_SEEN>"));
    rig.platform_task.abort();
}

#[tokio::test]
async fn no_credential_is_written_and_token_answers_are_not_recorded() {
    let rig = rig().await;
    for call in recorded_calls() {
        assert_eq!(send(&rig.proxy, &call).await.status, 200, "{}", call.path);
    }
    // A token answer (a JWT) is returned to the caller but never written.
    let token = send(
        &rig.proxy,
        &Call {
            method: Method::POST,
            path: "/auth/token",
            headers: vec![("content-type", "text/plain".to_owned())],
            body: Some("grant".to_owned()),
        },
    )
    .await;
    assert_eq!(token.status, 200);
    assert_eq!(token.body, JWT.as_bytes());
    // A login with a password in its form body: forwarded, not written.
    let login = send(
        &rig.proxy,
        &Call {
            method: Method::POST,
            path: "/auth/token?grant=password",
            headers: vec![(
                "content-type",
                "application/x-www-form-urlencoded".to_owned(),
            )],
            body: Some("username=acme&password=hunter22".to_owned()),
        },
    )
    .await;
    assert_eq!(login.status, 200);

    let dir = rig.dir.path();
    assert_eq!(mappings(dir).len(), recorded_calls().len());
    let basic = basic_value();
    let encoded = basic.trim_start_matches("Basic ").to_owned();
    let forbidden = [
        basic.as_str(),
        encoded.as_str(),
        PASSWORD,
        BEARER_TOKEN,
        COOKIE_VALUE,
        PLATFORM_COOKIE,
        PLATFORM_TOKEN,
        JWT,
        "eyJ",
        "hunter22",
    ];
    let mut files = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            files += 1;
            let bytes = std::fs::read(&path).unwrap();
            let lower = String::from_utf8_lossy(&bytes).to_ascii_lowercase();
            for secret in forbidden {
                assert!(
                    !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                    "{} holds {secret:?}",
                    path.display()
                );
            }
            for header in ["authorization", "set-cookie", "\"cookie\"", "x-auth-token"] {
                assert!(!lower.contains(header), "{} names {header}", path.display());
            }
        }
    }
    assert_eq!(
        files,
        recorded_calls().len() + 1,
        "the mappings and one body file"
    );
    rig.platform_task.abort();
}

/// What tells one file from another written over it (a rename gives a new inode).
fn file_identity(path: &Path) -> u64 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        std::fs::metadata(path).unwrap().ino()
    }
    #[cfg(not(unix))]
    {
        std::fs::metadata(path).unwrap().len()
    }
}

#[tokio::test]
async fn a_repeated_request_is_written_once_and_searches_differing_in_body_twice() {
    let rig = rig().await;
    let dir = rig.dir.path();
    for _ in 0..3 {
        assert_eq!(send(&rig.proxy, &detection()).await.status, 200);
    }
    assert_eq!(mappings(dir).len(), 1);
    let first_file = mappings(dir)[0].0.clone();
    let first = std::fs::read(&first_file).unwrap();
    let first_identity = file_identity(&first_file);

    for name in ["web-01", "db-02", "web-01"] {
        assert_eq!(send(&rig.proxy, &search_by_name(name)).await.status, 200);
    }
    // The same criteria written another way (keys reordered, spaces) is the same search.
    let reordered = Call {
        body: Some(
            "{ \"ServiceRequest\" : { \"filters\" : { \"Criteria\" : [ { \"value\" : \"db-02\", \
             \"operator\" : \"EQUALS\", \"field\" : \"name\" } ] } } }"
                .to_owned(),
        ),
        ..search_by_name("db-02")
    };
    assert_eq!(send(&rig.proxy, &reordered).await.status, 200);
    let all = mappings(dir);
    assert_eq!(all.len(), 3, "{all:#?}");
    assert_eq!(mapping_for(&all, &search_by_name("web-01")).len(), 1);
    assert_eq!(mapping_for(&all, &search_by_name("db-02")).len(), 1);
    // The first detection mapping was not written again.
    assert_eq!(std::fs::read(&first_file).unwrap(), first);
    assert_eq!(file_identity(&first_file), first_identity);
    rig.platform_task.abort();
}

#[tokio::test]
async fn a_refused_login_is_not_recorded_so_the_good_answer_after_it_is() {
    let rig = rig().await;
    let wrong = Call {
        headers: vec![("authorization", basic(USER, "wrong-password"))],
        ..detection()
    };
    let refused = send(&rig.proxy, &wrong).await;
    assert_eq!(refused.status, 401);
    assert!(String::from_utf8_lossy(&refused.body).contains("Bad Login/Password"));
    assert!(mappings(rig.dir.path()).is_empty());
    assert_eq!(send(&rig.proxy, &detection()).await.status, 200);
    let all = mappings(rig.dir.path());
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].1["response"]["status"], 200);
    rig.platform_task.abort();
}

#[tokio::test]
async fn an_answer_over_the_record_cap_is_returned_whole_and_not_recorded() {
    let rig = rig().await;
    let call = Call::get("/api/2.0/fo/scan/?action=list", vec![]);
    let via = send(&rig.proxy, &call).await;
    assert_eq!(via.status, 200);
    assert_eq!(via.body, large_text(RECORD_CAP + 50_000).as_bytes());
    assert!(mappings(rig.dir.path()).is_empty());
    assert_eq!(
        std::fs::read_dir(rig.dir.path().join("__files"))
            .unwrap()
            .count(),
        0
    );
    rig.platform_task.abort();
}

#[tokio::test]
async fn emulated_and_control_paths_are_never_forwarded_and_the_journal_names_the_proxy() {
    let rig = rig().await;
    let acme_cm = basic("acme_ss2", "passwd");
    let version = send(
        &rig.proxy,
        &Call::get("/qps/rest/portal/version", vec![("authorization", acme_cm)]),
    )
    .await;
    assert_eq!(version.status, 200);
    let control = send(&rig.proxy, &Call::get("/_mock/nothing-here", vec![])).await;
    assert_eq!(control.status, 404);
    assert!(serde_json::from_slice::<Value>(&control.body).unwrap()["error"].is_string());
    assert!(rig.platform.seen().is_empty(), "{:?}", rig.platform.seen());

    assert_eq!(send(&rig.proxy, &detection()).await.status, 200);
    assert_eq!(
        send(&rig.proxy, &search_by_name("web-01")).await.status,
        200
    );
    let journal: Value = serde_json::from_slice(
        &send(&rig.proxy, &Call::get("/_mock/requests", vec![]))
            .await
            .body,
    )
    .unwrap();
    let by_path = |path: &str| {
        journal["requests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["path"] == path)
            .unwrap_or_else(|| panic!("{path} in {journal:#}"))
            .clone()
    };
    assert_eq!(
        by_path("/api/2.0/fo/asset/host/vm/detection/")["answeredBy"],
        "proxy"
    );
    assert_eq!(
        by_path("/qps/rest/2.0/search/am/hostasset")["answeredBy"],
        "proxy"
    );
    assert!(
        by_path("/qps/rest/portal/version")
            .get("answeredBy")
            .is_none()
    );
    rig.platform_task.abort();
}

#[tokio::test]
async fn an_unreachable_platform_answers_502_in_the_paths_format() {
    // A port nothing listens on.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let mut proxy = ProxyConfig::to(format!("http://{closed}"));
    proxy.record_stubs = Some(dir.path().to_path_buf());
    let running = launch(ServerConfig {
        proxy: Some(proxy),
        ..serve_config()
    })
    .await;
    let base = running.base_url();

    let vm = send(&base, &detection()).await;
    assert_eq!(vm.status, 502);
    assert!(vm.headers["content-type"].starts_with("text/xml"));
    let text = String::from_utf8(vm.body).unwrap();
    assert!(text.contains("<SIMPLE_RETURN>"), "{text}");
    assert!(
        text.contains("The platform behind --proxy-unmatched did not answer GET /api/2.0/fo/asset/host/vm/detection/"),
        "{text}"
    );

    let qps = send(&base, &search_by_name("web-01")).await;
    assert_eq!(qps.status, 502);
    let body: Value = serde_json::from_slice(&qps.body).unwrap();
    assert_eq!(
        body["ServiceResponse"]["responseCode"], "INTERNAL_ERROR",
        "{body:#}"
    );

    let other = send(&base, &Call::get("/portal-api/xyz", vec![])).await;
    assert_eq!(other.status, 502);
    let body: Value = serde_json::from_slice(&other.body).unwrap();
    assert_eq!(body["status"], 502, "{body:#}");
    assert!(
        body["message"].as_str().unwrap().starts_with(
            "The platform behind --proxy-unmatched did not answer GET /portal-api/xyz"
        ),
        "{body:#}"
    );
    assert!(mappings(dir.path()).is_empty());
    running.shutdown().await;
}

#[tokio::test]
async fn without_record_stubs_answers_stream_through_and_nothing_is_written() {
    let rig = rig_with(false, |_| ()).await;
    let platform = format!("http://{}", rig.platform_addr);
    let large = Call::get("/api/2.0/fo/scan/?action=list", vec![]);
    for call in [detection(), search_by_name("web-01"), report(), large] {
        let direct = send(&platform, &call).await;
        let via = send(&rig.proxy, &call).await;
        assert_same_answer(&direct, &via, call.path);
    }
    assert_eq!(std::fs::read_dir(rig.dir.path()).unwrap().count(), 0);
    rig.platform_task.abort();
}

#[tokio::test]
async fn a_platform_slower_than_the_proxy_timeout_answers_502() {
    let rig = rig_with(true, |c| {
        if let Some(p) = c.proxy.as_mut() {
            p.timeout = Duration::from_secs(1);
        }
    })
    .await;
    let started = std::time::Instant::now();
    let slow = send(&rig.proxy, &Call::get("/api/2.0/fo/slow/", vec![])).await;
    assert_eq!(slow.status, 502);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    let text = String::from_utf8(slow.body).unwrap();
    assert!(
        text.contains(
            "<TEXT>The platform behind --proxy-unmatched did not answer GET /api/2.0/fo/slow/"
        ),
        "{text}"
    );
    assert!(mappings(rig.dir.path()).is_empty());
    rig.platform_task.abort();
}

#[tokio::test]
async fn a_request_body_over_the_limit_is_refused_before_it_is_forwarded() {
    let rig = rig_with(true, |c| c.max_body_bytes = 1000).await;
    let big = search(json!({"ServiceRequest": {"padding": "x".repeat(5000)}}));
    let refused = send(&rig.proxy, &big).await;
    assert_eq!(refused.status, 413);
    let body: Value = serde_json::from_slice(&refused.body).unwrap();
    assert_eq!(
        body["ServiceResponse"]["responseCode"], "INVALID_REQUEST",
        "{body:#}"
    );
    assert!(rig.platform.seen().is_empty());
    assert!(mappings(rig.dir.path()).is_empty());
    rig.platform_task.abort();
}

#[test]
fn record_stubs_without_a_platform_and_a_bad_platform_url_are_refused() {
    for (argv, expected) in [
        (
            vec!["qualys-mock", "serve", "--record-stubs", "/tmp/x"],
            "the following required arguments were not provided:\n  --proxy-unmatched",
        ),
        (
            vec![
                "qualys-mock",
                "serve",
                "--proxy-unmatched",
                "ftp://example.com",
            ],
            "\"ftp://example.com\" is not an http:// or https:// URL with a host",
        ),
        (
            vec![
                "qualys-mock",
                "serve",
                "--proxy-unmatched",
                "https://example.com/?a=1",
            ],
            "has a query or fragment; the forwarded request brings its own",
        ),
        (
            vec!["qualys-mock", "serve", "--proxy-unmatched", "not a url"],
            "\"not a url\" is not a URL",
        ),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_qualys-mock"))
            .args(&argv[1..])
            .args(["--port", "0"])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let error = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{argv:?}: {error}");
        assert!(error.contains(expected), "{argv:?}: {error}");
    }
}

// Replay through WireMock itself

#[tokio::test]
async fn wiremock_replays_the_recorded_mappings_with_the_platform_gone() {
    let Some(jar) = crate::wiremock::jar("recorded mappings are NOT replayed through WireMock")
    else {
        return;
    };
    let rig = rig().await;
    let mut answers = Vec::new();
    for call in recorded_calls() {
        let via = send(&rig.proxy, &call).await;
        assert_eq!(via.status, 200, "{}", call.path);
        answers.push((call, via));
    }
    rig.platform_task.abort();
    let wiremock = crate::wiremock::start(&jar, rig.dir.path()).await;
    let loaded: Value = serde_json::from_slice(
        &send(&wiremock.base, &Call::get("/__admin/mappings", vec![]))
            .await
            .body,
    )
    .unwrap();
    assert_eq!(loaded["meta"]["total"], answers.len(), "{loaded:#}");
    for (call, recorded) in &answers {
        let replayed = send(&wiremock.base, call).await;
        assert_eq!(replayed.status, recorded.status, "{}", call.path);
        assert_eq!(replayed.body, recorded.body, "{}", call.path);
        assert_eq!(
            replayed.headers.get("content-type"),
            recorded.headers.get("content-type"),
            "{}",
            call.path
        );
    }
    // A search the platform never saw matches no mapping.
    let unseen = send(&wiremock.base, &search_by_name("never-recorded")).await;
    assert_eq!(unseen.status, 404);
}

/// What was recorded replays from `serve --stubs DIR` with the platform gone: a user with
/// the recording's login (made through the control API) gets every answer as recorded, a
/// call without the path's platform auth (a Bearer token on `/api/`) the classic 401, and a
/// search the platform never saw the 404.
#[tokio::test]
async fn the_emulator_replays_the_recorded_mappings_with_the_platform_gone() {
    let rig = rig().await;
    let mut answers = Vec::new();
    for call in recorded_calls() {
        let via = send(&rig.proxy, &call).await;
        assert_eq!(via.status, 200, "{}", call.path);
        answers.push((call, via));
    }
    rig.platform_task.abort();
    let stubs = rig.dir.path().to_str().unwrap().to_owned();
    let running = launch(ServerConfig {
        stubs: Some(stubs.into()),
        ..serve_config()
    })
    .await;
    let replay = running.base_url();
    let made = http_client()
        .post(format!("{replay}/_mock/customers"))
        .header("content-type", "application/json")
        .body(json!({"name": "VM tenant", "username": USER, "password": PASSWORD}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201, "{}", made.text().await.unwrap());
    for (call, recorded) in &answers {
        let replayed = send(&replay, call).await;
        if call.path.starts_with("/api/2.0/fo/report/") {
            assert_eq!(
                replayed.status, 401,
                "{}: Bearer on a Basic path",
                call.path
            );
            assert!(
                String::from_utf8_lossy(&replayed.body).contains("<SIMPLE_RETURN>"),
                "{}",
                String::from_utf8_lossy(&replayed.body)
            );
            continue;
        }
        assert_eq!(replayed.status, recorded.status, "{}", call.path);
        assert_eq!(replayed.body, recorded.body, "{}", call.path);
        assert_eq!(
            replayed.headers.get("content-type"),
            recorded.headers.get("content-type"),
            "{}",
            call.path
        );
    }
    // QPS answers an operation it does not have with its own INVALID_REQUEST.
    let unseen = send(&replay, &search_by_name("never-recorded")).await;
    let text = String::from_utf8_lossy(&unseen.body);
    assert!(text.contains("\"INVALID_REQUEST\""), "{text}");
}
