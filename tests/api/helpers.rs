//! A test app over `tower::ServiceExt::oneshot`: a fresh private store on the embedded
//! seed, a frozen clock and a known JWT secret, so tests can move time and forge tokens.

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use base64::Engine as _;
use qualys_mock::{AppState, Certificate, HttpsConfig, MockServer, ServerConfig};
use tower::ServiceExt;

pub const SECRET: &[u8] = b"test-secret-for-forging-tokens-0123";
/// Acme's CM user and password.
pub const ACME: (&str, &str) = ("acme_ss2", "passwd");
/// 2024-01-01T00:00:00Z
pub const T0_MS: i64 = 1_704_067_200_000;

#[derive(Clone)]
pub struct TestApp {
    pub state: AppState,
    router: Router,
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl TestResponse {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl TestApp {
    pub async fn new() -> TestApp {
        TestApp::with_config(TestApp::config()).await
    }

    /// What [`TestApp::new`] runs with: the clock frozen at [`T0_MS`], JWTs signed with
    /// [`SECRET`].
    pub fn config() -> ServerConfig {
        ServerConfig {
            frozen_at: Some(T0_MS),
            jwt_secret: Some(String::from_utf8(SECRET.to_vec()).unwrap()),
            ..ServerConfig::default()
        }
    }

    /// A test app whose server runs with `config` (`strict`, body limits, a token).
    pub async fn with_config(config: ServerConfig) -> TestApp {
        let state = AppState::from_config(&config).await.unwrap();
        TestApp {
            router: qualys_mock::app(state.clone()),
            state,
        }
    }

    /// Send a request; an XML `ServiceResponse` answer is validated against the schema it
    /// names (see `xsd.rs`).
    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let origin = origin_of(&request);
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let is_xml = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("xml"));
        if is_xml && body.windows(16).any(|w| w == b"<ServiceResponse") {
            crate::xsd::validate(&String::from_utf8_lossy(&body), &origin);
        }
        TestResponse {
            status,
            headers,
            body: body.to_vec(),
        }
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Body>,
    ) -> TestResponse {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "localhost:8080");
        for (k, v) in headers {
            if k.eq_ignore_ascii_case("host") {
                builder.headers_mut().unwrap().remove(header::HOST);
            }
            builder = builder.header(*k, *v);
        }
        self.send(builder.body(body.into()).unwrap()).await
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.request(Method::GET, path, &[], Body::empty()).await
    }

    /// `POST /auth` with a form body.
    pub async fn login(&self, form: &str) -> TestResponse {
        self.request(
            Method::POST,
            "/auth",
            &[("content-type", "application/x-www-form-urlencoded")],
            form.to_owned(),
        )
        .await
    }

    /// A valid token for a user.
    pub async fn token(&self, user: &str, password: &str) -> String {
        let r = self
            .login(&format!("username={user}&password={password}&token=true"))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        r.text()
    }

    /// A control API call (`/_mock/...`) with a JSON body.
    pub async fn control(
        &self,
        method: Method,
        path: &str,
        body: serde_json::Value,
    ) -> TestResponse {
        self.request(
            method,
            path,
            &[("content-type", "application/json")],
            body.to_string(),
        )
        .await
    }

    /// The request journal's entries for `path` (`GET /_mock/requests?path=`), oldest first;
    /// none when the answer holds no list.
    pub async fn journal_for(&self, path: &str) -> Vec<serde_json::Value> {
        let all = self
            .control(
                Method::GET,
                &format!("/_mock/requests?path={path}"),
                serde_json::json!({}),
            )
            .await
            .json();
        all["requests"].as_array().cloned().unwrap_or_default()
    }

    /// A CM call with Basic credentials; `json` asks for and sends JSON, else XML.
    pub async fn cm(
        &self,
        method: Method,
        path: &str,
        (user, password): (&str, &str),
        body: &str,
        json: bool,
    ) -> TestResponse {
        let auth = basic(user, password);
        let kind = if json { "application/json" } else { "text/xml" };
        let mut headers = vec![("authorization", auth.as_str()), ("content-type", kind)];
        if json {
            headers.push(("accept", "application/json"));
        }
        self.request(method, path, &headers, body.to_owned()).await
    }

    /// A call with Basic credentials and nothing else: no content type, no body.
    pub async fn call_with_basic_auth(
        &self,
        method: Method,
        path: &str,
        (user, password): (&str, &str),
    ) -> TestResponse {
        let auth = basic(user, password);
        self.request(method, path, &[("authorization", &auth)], "")
            .await
    }

    /// A CAR call with a bearer token.
    pub async fn car(&self, method: Method, path: &str, token: &str, body: &str) -> TestResponse {
        let auth = format!("Bearer {token}");
        self.request(
            method,
            path,
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            body.to_owned(),
        )
        .await
    }
}

/// The scheme and host a request was sent to (`http://localhost:8080`; `https` when a proxy
/// header says so): where its answer must name its schema.
fn origin_of(request: &Request<Body>) -> String {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned)
    };
    let scheme = match header("x-forwarded-proto") {
        Some(p) if p.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    };
    let host = header("host").unwrap_or_else(|| "localhost".into());
    format!("{scheme}://{host}")
}

pub fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// Decode a JWT's payload without verifying it.
pub fn jwt_payload(token: &str) -> serde_json::Value {
    let payload = token.split('.').nth(1).expect("three-part JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    serde_json::from_slice(&bytes).unwrap()
}

/// A multipart/form-data body with one file field.
pub fn multipart_file(field: &str, filename: &str, content: &[u8]) -> (String, Vec<u8>) {
    let boundary = "qualys-mock-test-boundary-7401";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n\
             Content-Type: application/json\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

impl TestApp {
    /// Tokens for the two tenants.
    pub async fn acme(&self) -> String {
        self.token("acme_ss2", "passwd").await
    }
    pub async fn globex(&self) -> String {
        self.token("globex_ss1", "passwd2").await
    }

    /// POST a multipart file with a bearer token.
    pub async fn upload(
        &self,
        path: &str,
        token: &str,
        field: &str,
        content: &[u8],
    ) -> TestResponse {
        let (content_type, body) = multipart_file(field, "ExportedScripts.json", content);
        let auth = format!("Bearer {token}");
        self.request(
            Method::POST,
            path,
            &[("authorization", &auth), ("content-type", &content_type)],
            body,
        )
        .await
    }
}

/// Acme's approved script `Disk Usage Report`, and an asset of acme's it runs on.
pub const ACME_APPROVED_SCRIPT: i64 = 72648;
pub const ACME_ASSET: i64 = 20452610;

/// CAR calls that several test files make the same way, each with a bearer token.
impl TestApp {
    /// The items of the `body.list` a CAR search answers to `POST path` with `body`.
    pub async fn car_search_list(
        &self,
        path: &str,
        token: &str,
        body: serde_json::Value,
    ) -> Vec<serde_json::Value> {
        let v = self
            .car(Method::POST, path, token, &body.to_string())
            .await
            .json();
        match v["body"]["list"].as_array() {
            Some(list) => list.clone(),
            None => panic!("POST {path} {body}: no body.list in {v}"),
        }
    }

    /// The statuses of the asset jobs that `filter` finds (`/sm/v1/assetjobs/search`).
    pub async fn asset_job_statuses(&self, token: &str, filter: &str) -> Vec<String> {
        let body = serde_json::json!({"filter": filter, "pageSize": 1000});
        self.car_search_list("/sm/v1/assetjobs/search", token, body)
            .await
            .iter()
            .map(|a| a["status"].as_str().unwrap().to_owned())
            .collect()
    }

    /// `POST /sm/v1/scripts/scheduler` with `body`; the new schedule's id. Fails the test,
    /// naming the schedule's title, unless it is created.
    pub async fn create_schedule(&self, token: &str, body: serde_json::Value) -> String {
        let title = &body["title"];
        let r = self
            .car(
                Method::POST,
                "/sm/v1/scripts/scheduler",
                token,
                &body.to_string(),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::CREATED,
            "create schedule {title}: {}",
            r.text()
        );
        r.json()["body"]["id"].as_str().unwrap().to_owned()
    }

    /// Create an active HOURLY schedule, every `every` hours from 2022-05-11 01:00 to
    /// `end_date`, of [`ACME_APPROVED_SCRIPT`] on [`ACME_ASSET`]; its id.
    pub async fn create_hourly_schedule(
        &self,
        token: &str,
        title: &str,
        end_date: &str,
        every: u32,
    ) -> String {
        let body = serde_json::json!({
            "activate": true, "assets": [{"UUId": "u", "id": ACME_ASSET}],
            "scripts": [{"id": ACME_APPROVED_SCRIPT, "title": "Disk Usage Report"}],
            "title": title, "startDate": "2022-05-11", "endDate": end_date, "startTime": "01:00:00",
            "scheduleType": "HOURLY", "hourlyInterval": every
        });
        self.create_schedule(token, body).await
    }

    /// When a schedule fired: the creation times of its scheduled jobs, oldest first.
    pub async fn schedule_firing_times(&self, token: &str, schedule_id: &str) -> Vec<i64> {
        let body = serde_json::json!({
            "filter": format!("executionType:Scheduled AND scheduleId:{schedule_id}"),
            "pageSize": 100, "sort": [{"created.dateTime": "asc"}]
        });
        self.car_search_list("/sm/v1/jobs/search", token, body)
            .await
            .iter()
            .map(|j| j["created"]["dateTime"].as_i64().unwrap())
            .collect()
    }
}

/// `2022-05-10T00:00:00Z` as epoch milliseconds.
pub fn ms(iso: &str) -> i64 {
    ServerConfig::frozen_at_iso(iso).unwrap()
}

/// A server on a free loopback port, otherwise as `qualys-mock serve` runs with no flag.
pub fn serve_config() -> ServerConfig {
    ServerConfig {
        port: 0,
        ..ServerConfig::default()
    }
}

/// HTTPS on a free port with a generated certificate, valid for `names` too; its trust PEM
/// written to `trust_pem_out` (else a temporary file).
pub fn generated_https(
    names: &[&str],
    trust_pem_out: Option<&std::path::Path>,
) -> Option<HttpsConfig> {
    Some(HttpsConfig {
        port: 0,
        certificate: Certificate::Generated {
            names: names.iter().map(|n| (*n).to_owned()).collect(),
            trust_pem_out: trust_pem_out.map(std::path::Path::to_path_buf),
        },
    })
}

/// Start a server over real sockets.
pub async fn launch(config: ServerConfig) -> MockServer {
    MockServer::builder().config(config).start().await.unwrap()
}

/// Send a request over a real connection; the answer's body as text.
pub async fn text_of(request: reqwest::RequestBuilder) -> String {
    request.send().await.unwrap().text().await.unwrap()
}

/// A CAR token for a user from the server at `base` (its URL without a trailing slash), over
/// a real connection: `POST /auth` with a form body.
pub async fn token_over_http(
    client: &reqwest::Client,
    base: &str,
    user: &str,
    password: &str,
) -> String {
    text_of(
        client
            .post(format!("{base}/auth"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("username={user}&password={password}&token=true")),
    )
    .await
}

/// A CAR token for Acme's CM user (`acme_ss2`), as [`token_over_http`] gets it.
pub async fn acme_token(client: &reqwest::Client, base: &str) -> String {
    token_over_http(client, base, ACME.0, ACME.1).await
}

/// A plain reqwest client (the ring provider installed for its TLS stack).
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// A test that cannot run here (a tool is missing) says so where it is seen — straight to
/// the process's stderr, which the harness does not capture — and fails instead when `CI`
/// is set, where a skip would hide a check that never ran.
pub fn skip(reason: &str) {
    use std::io::Write as _;
    if crate::xsd::running_in_ci() {
        panic!("{reason}; CI is set, so this is a failure, not a skip");
    }
    let _ = std::io::stderr()
        .lock()
        .write_all(format!("\n!!!!!!!! SKIPPED: {reason} !!!!!!!!\n\n").as_bytes());
}

/// Run the test `name` of this binary again with an empty `PATH` (so no external tool is
/// found), `without` removed from the environment, and `CI` as given: (passed, stderr).
pub fn rerun_without_tools(name: &str, without: &[&str], ci: Option<&str>) -> (bool, String) {
    use std::process::{Command, Stdio};
    let empty = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([name, "--exact", "--test-threads=1"])
        .env("PATH", empty.path())
        .env_remove("CI")
        .stdin(Stdio::null());
    for key in without {
        cmd.env_remove(key);
    }
    if let Some(ci) = ci {
        cmd.env("CI", ci);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("1 passed") || stdout.contains("1 failed"),
        "{stdout}"
    );
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
