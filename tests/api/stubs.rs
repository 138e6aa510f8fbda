//! Stubs for the rest of Qualys: WireMock mappings answering the paths the emulator does
//! not — the same answers as WireMock itself (the differential test runs the real jar),
//! refusals naming the file and key, runtime changes and reset, auth like the platform,
//! per-customer stubs, the journal and faults.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use axum::http::Method;
use qualys_mock::{MockServer, ServerConfig};
use serde_json::{Value, json};

use crate::helpers::serve_config;
use crate::helpers::{TestApp, basic};

// ---------------------------------------------------------------------------------------
// Fixtures

/// A stubs folder holding `files` (path under the folder → content).
fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("mappings")).unwrap();
    std::fs::create_dir_all(dir.path().join("__files")).unwrap();
    for (path, content) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    dir
}

/// Why `serve --stubs DIR` refuses to start.
async fn start_refusal(dir: &Path) -> String {
    match MockServer::builder()
        .config(stubs_config(dir))
        .start()
        .await
    {
        Ok(_) => panic!("the folder loaded"),
        Err(e) => e.to_string(),
    }
}

fn stubs_config(dir: &Path) -> ServerConfig {
    ServerConfig {
        stubs: Some(dir.to_path_buf()),
        ..serve_config()
    }
}

async fn serve_stubs(dir: &Path) -> MockServer {
    crate::helpers::launch(stubs_config(dir)).await
}

fn client() -> reqwest::Client {
    crate::reach::plain_client()
}

const DETECTION_XML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n\
<HOST_LIST_VM_DETECTION_OUTPUT>\n  <RESPONSE>\n    <DATETIME>2024-01-01T00:00:00Z</DATETIME>\n    \
<HOST_LIST>\n      <HOST><ID>1234</ID><IP>10.10.10.1</IP>\n        <DETECTION_LIST><DETECTION>\
<QID>38170</QID><TYPE>Confirmed</TYPE><SEVERITY>2</SEVERITY><STATUS>Active</STATUS></DETECTION>\
</DETECTION_LIST>\n      </HOST>\n    </HOST_LIST>\n  </RESPONSE>\n</HOST_LIST_VM_DETECTION_OUTPUT>\n";

/// One mapping set covering every supported matcher and response kind, in the two file
/// forms WireMock takes (one mapping; `{"mappings": [...]}`), paths under `/diff/`.
fn differential_folder() -> tempfile::TempDir {
    let single = json!({
        "id": "5d1e0a52-0000-4000-8000-000000000001",
        "name": "url exact",
        "request": {"method": "GET", "url": "/diff/url?x=1"},
        "response": {"status": 200, "body": "url exact",
            "headers": {"Content-Type": "text/plain", "X-Custom": "a"}}
    });
    let many = json!({"mappings": [
        {"request": {"method": "GET", "urlPath": "/diff/path"},
         "response": {"status": 200, "body": "path"}},
        {"request": {"method": "GET", "urlPattern": "/diff/pat/[0-9]+\\?q=.*"},
         "response": {"status": 201, "body": "pattern"}},
        {"request": {"method": "ANY", "urlPathPattern": "/diff/pp/[a-z]+"},
         "response": {"status": 200, "jsonBody": {"a": [1, 2], "b": "c", "n": null},
            "headers": {"Content-Type": "application/json"}}},
        {"request": {"method": "GET", "urlPath": "/diff/query", "queryParameters": {
            "a": {"equalTo": "1"}, "b": {"contains": "x"}, "c": {"matches": "[0-9]{3}"},
            "d": {"absent": true}}},
         "response": {"status": 200, "body": "query"}},
        {"request": {"method": "GET", "urlPath": "/diff/qci", "queryParameters": {
            "a": {"equalTo": "ABC", "caseInsensitive": true}}},
         "response": {"status": 200, "body": "qci"}},
        {"request": {"method": "GET", "urlPath": "/diff/headers", "headers": {
            "X-One": {"equalTo": "1"}, "X-Two": {"contains": "wo"},
            "X-Three": {"matches": "t.*e"}, "X-Four": {"absent": true}}},
         "response": {"status": 200, "body": "headers",
            "headers": {"X-Multi": ["a", "b"], "X-Custom": "h"}}},
        {"request": {"method": "POST", "urlPath": "/diff/body/eq",
            "bodyPatterns": [{"equalTo": "hello"}]},
         "response": {"status": 200, "body": "eq"}},
        {"request": {"method": "POST", "urlPath": "/diff/body/eqci",
            "bodyPatterns": [{"equalTo": "HeLLo", "caseInsensitive": true}]},
         "response": {"status": 200, "body": "eqci"}},
        {"request": {"method": "POST", "urlPath": "/diff/body/contains",
            "bodyPatterns": [{"contains": "needle"}, {"matches": "(?s).*end"}]},
         "response": {"status": 200, "body": "contains"}},
        {"request": {"method": "POST", "urlPath": "/diff/body/json",
            "bodyPatterns": [{"equalToJson": {"a": 1, "b": [1, 2], "c": {"d": "e"}}}]},
         "response": {"status": 200, "body": "json"}},
        {"request": {"method": "POST", "urlPath": "/diff/body/json-order",
            "bodyPatterns": [{"equalToJson": "{\"ids\": [1, 2, 3]}", "ignoreArrayOrder": true}]},
         "response": {"status": 200, "body": "json-order"}},
        {"request": {"method": "POST", "urlPath": "/diff/body/json-extra",
            "bodyPatterns": [{"equalToJson": {"a": 1}, "ignoreExtraElements": true}]},
         "response": {"status": 200, "body": "json-extra"}},
        {"request": {"method": "POST", "urlPath": "/diff/body/xml",
            "bodyPatterns": [{"equalToXml": "<a><b>1</b><c x=\"y\">2</c></a>"}]},
         "response": {"status": 200, "body": "xml", "headers": {"Content-Type": "text/xml"}}},
        {"request": {"method": "POST", "urlPath": "/diff/body/xml-ns",
            "bodyPatterns": [{"equalToXml": "<p:a xmlns:p=\"urn:u\"><p:b>1</p:b><c x=\"y\">2</c></p:a>"}]},
         "response": {"status": 200, "body": "xml-ns"}},
        {"request": {"method": "POST", "urlPath": "/diff/body/xml-attr",
            "bodyPatterns": [{"equalToXml": "<a xmlns:p=\"urn:u\" p:x=\"1\" \
                xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
                xsi:noNamespaceSchemaLocation=\"s.xsd\"/>"}]},
         "response": {"status": 200, "body": "xml-attr"}},
        {"request": {"method": "POST", "urlPath": "/diff/body/xml-type",
            "bodyPatterns": [{"equalToXml": "<a xmlns:p=\"urn:u\" \
                xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><b xsi:type=\"p:t\"/></a>"}]},
         "response": {"status": 200, "body": "xml-type"}},
        {"priority": 1, "request": {"method": "GET", "urlPath": "/diff/prio",
            "queryParameters": {"k": {"equalTo": "1"}}},
         "response": {"status": 200, "body": "high"}},
        {"request": {"method": "GET", "urlPath": "/diff/prio"},
         "response": {"status": 200, "body": "default"}},
        {"priority": 9, "request": {"method": "GET", "urlPath": "/diff/prio"},
         "response": {"status": 200, "body": "low"}},
        {"request": {"method": "GET", "urlPath": "/diff/newest"},
         "response": {"status": 200, "body": "older"}},
        {"request": {"method": "GET", "urlPath": "/diff/newest"},
         "response": {"status": 200, "body": "newer"}},
        {"request": {"method": "GET", "urlPath": "/diff/b64"},
         "response": {"status": 200, "base64Body": "AAEC/f7/aGk=",
            "headers": {"Content-Type": "application/octet-stream"}}},
        {"request": {"method": "GET", "urlPath": "/diff/file"},
         "response": {"status": 200, "bodyFileName": "vm/detection.xml",
            "headers": {"Content-Type": "text/xml;charset=UTF-8"}}},
        {"request": {"method": "GET", "urlPath": "/diff/slow"},
         "response": {"status": 200, "body": "slow", "fixedDelayMilliseconds": 150}},
        {"request": {"method": "GET", "urlPath": "/diff/unavailable"},
         "response": {"status": 503, "body": "{\"error\":\"busy\"}",
            "headers": {"Retry-After": "7", "Content-Type": "application/json"}}},
        {"request": {"method": "DELETE", "urlPath": "/diff/method"},
         "response": {"status": 204}},
        {"request": {"urlPath": "/diff/any"},
         "response": {"status": 202, "body": "any method"}},
        {"id": "5d1e0a52-0000-4000-8000-000000000002", "name": "harmless keys",
         "metadata": {"team": "soc", "qualysMock": {"auth": "none"}}, "persistent": true,
         "request": {"method": "GET", "urlPath": "/diff/meta"},
         "response": {"body": "meta"}}
    ]});
    folder(&[
        ("mappings/single.json", &single.to_string()),
        (
            "mappings/many.json",
            &serde_json::to_string_pretty(&many).unwrap(),
        ),
        ("__files/vm/detection.xml", DETECTION_XML),
    ])
}

/// One request of the differential run.
struct Case {
    method: &'static str,
    path: &'static str,
    headers: &'static [(&'static str, &'static str)],
    body: &'static str,
}

const fn get(path: &'static str) -> Case {
    Case {
        method: "GET",
        path,
        headers: &[],
        body: "",
    }
}

const fn post(path: &'static str, body: &'static str) -> Case {
    Case {
        method: "POST",
        path,
        headers: &[],
        body,
    }
}

const fn with(path: &'static str, headers: &'static [(&'static str, &'static str)]) -> Case {
    Case {
        method: "GET",
        path,
        headers,
        body: "",
    }
}

/// Matching and non-matching calls for every mapping of [`differential_folder`].
const CASES: &[Case] = &[
    get("/diff/url?x=1"),
    get("/diff/url?x=2"),
    get("/diff/url"),
    get("/diff/path"),
    get("/diff/path?any=thing"),
    get("/diff/path/more"),
    post("/diff/path", ""),
    get("/diff/pat/42?q=z"),
    get("/diff/pat/42"),
    get("/diff/pat/x?q=z"),
    get("/diff/pp/abc"),
    post("/diff/pp/abc", "{}"),
    get("/diff/pp/ABC"),
    get("/diff/query?a=1&b=xyz&c=123"),
    get("/diff/query?a=%31&b=+x+&c=999&e=5"),
    get("/diff/query?a=2&b=xyz&c=123"),
    get("/diff/query?a=1&b=yz&c=123"),
    get("/diff/query?a=1&b=xyz&c=12"),
    get("/diff/query?a=1&b=xyz&c=123&d=present"),
    get("/diff/query?a=0&a=1&b=x&c=000"),
    get("/diff/qci?a=abc"),
    get("/diff/qci?a=abd"),
    with(
        "/diff/headers",
        &[("X-One", "1"), ("X-Two", "two"), ("X-Three", "three")],
    ),
    with(
        "/diff/headers",
        &[("x-one", "1"), ("x-two", "swop"), ("x-three", "tree")],
    ),
    with(
        "/diff/headers",
        &[("X-One", "2"), ("X-Two", "two"), ("X-Three", "three")],
    ),
    with(
        "/diff/headers",
        &[
            ("X-One", "1"),
            ("X-Two", "two"),
            ("X-Three", "three"),
            ("X-Four", "4"),
        ],
    ),
    with("/diff/headers", &[("X-One", "1"), ("X-Two", "two")]),
    post("/diff/body/eq", "hello"),
    post("/diff/body/eq", "hello!"),
    post("/diff/body/eqci", "hello"),
    post("/diff/body/contains", "a needle at the end"),
    post("/diff/body/contains", "a needle\nat the end"),
    post("/diff/body/contains", "a needle at the end."),
    post("/diff/body/contains", "no pin at the end"),
    post(
        "/diff/body/json",
        r#"{"c": {"d": "e"}, "b": [1, 2], "a": 1.0}"#,
    ),
    post(
        "/diff/body/json",
        r#"{"a": 1, "b": [2, 1], "c": {"d": "e"}}"#,
    ),
    post(
        "/diff/body/json",
        r#"{"a": 1, "b": [1, 2], "c": {"d": "e"}, "x": 0}"#,
    ),
    post("/diff/body/json", "not json"),
    post("/diff/body/json-order", r#"{"ids": [3, 1, 2]}"#),
    post("/diff/body/json-order", r#"{"ids": [3, 1]}"#),
    post("/diff/body/json-extra", r#"{"a": 1, "b": 2}"#),
    post("/diff/body/json-extra", r#"{"a": 2, "b": 2}"#),
    post(
        "/diff/body/xml",
        "<a>\n  <!-- note -->\n  <b>1</b>\n  <c x=\"y\">2</c>\n</a>",
    ),
    post("/diff/body/xml", "<a><c x=\"y\">2</c><b>1</b></a>"),
    post("/diff/body/xml", "<a><b>1</b><c x=\"z\">2</c></a>"),
    post("/diff/body/xml", "<a><b>1</b></a>"),
    post(
        "/diff/body/xml",
        "<a xmlns=\"urn:u\"><b>1</b><c x=\"y\">2</c></a>",
    ),
    post(
        "/diff/body/xml",
        "<a xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xsi:schemaLocation=\"urn:u s.xsd\"><b>1</b><c x=\"y\">2</c></a>",
    ),
    post(
        "/diff/body/xml-ns",
        "<q:a xmlns:q=\"urn:u\"><q:b>1</q:b><c x=\"y\">2</c></q:a>",
    ),
    post(
        "/diff/body/xml-ns",
        "<a xmlns=\"urn:u\"><b>1</b><c xmlns=\"\" x=\"y\">2</c></a>",
    ),
    post(
        "/diff/body/xml-ns",
        "<p:a xmlns:p=\"urn:u\"><p:b>1</p:b><c xmlns:r=\"urn:r\" x=\"y\">2</c></p:a>",
    ),
    post(
        "/diff/body/xml-ns",
        "<p:a xmlns:p=\"urn:v\"><p:b>1</p:b><c x=\"y\">2</c></p:a>",
    ),
    post(
        "/diff/body/xml-ns",
        "<p:a xmlns:p=\"urn:u\"><b>1</b><c x=\"y\">2</c></p:a>",
    ),
    post("/diff/body/xml-ns", "<a><b>1</b><c x=\"y\">2</c></a>"),
    post(
        "/diff/body/xml-ns",
        "<p:a xmlns:p=\"urn:u\"><p:b>1</p:b><c xmlns:r=\"urn:r\" r:x=\"y\">2</c></p:a>",
    ),
    post(
        "/diff/body/xml-ns",
        "<p:a><p:b>1</p:b><c x=\"y\">2</c></p:a>",
    ),
    post(
        "/diff/body/xml-attr",
        "<a xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:q=\"urn:u\" \
         i:noNamespaceSchemaLocation=\"s.xsd\" q:x=\"1\"/>",
    ),
    post("/diff/body/xml-attr", "<a xmlns:q=\"urn:u\" q:x=\"1\"/>"),
    post(
        "/diff/body/xml-attr",
        "<a xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xsi:noNamespaceSchemaLocation=\"s.xsd\" x=\"1\"/>",
    ),
    post(
        "/diff/body/xml-type",
        "<a xmlns:q=\"urn:u\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\
         <b xsi:type=\"q:t\"/></a>",
    ),
    post(
        "/diff/body/xml-type",
        "<a xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\
         <b xmlns=\"urn:u\" xsi:type=\"t\"/></a>",
    ),
    post(
        "/diff/body/xml-type",
        "<a xmlns:p=\"urn:v\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\
         <b xsi:type=\"p:t\"/></a>",
    ),
    get("/diff/prio?k=1"),
    get("/diff/prio?k=2"),
    get("/diff/prio"),
    get("/diff/newest"),
    get("/diff/b64"),
    get("/diff/file"),
    get("/diff/slow"),
    get("/diff/unavailable"),
    Case {
        method: "DELETE",
        path: "/diff/method",
        headers: &[],
        body: "",
    },
    get("/diff/method"),
    get("/diff/any"),
    post("/diff/any", "x"),
    Case {
        method: "PUT",
        path: "/diff/any",
        headers: &[],
        body: "x",
    },
    get("/diff/meta"),
    get("/diff/nothing-here"),
];

/// The headers the mappings set, compared on every matched answer.
const SET_HEADERS: &[&str] = &["content-type", "x-custom", "x-multi", "retry-after"];

struct Answer {
    status: u16,
    headers: Vec<(String, Vec<String>)>,
    body: Vec<u8>,
}

async fn call(client: &reqwest::Client, base: &str, case: &Case) -> Answer {
    let method = reqwest::Method::from_bytes(case.method.as_bytes()).unwrap();
    let mut request = client
        .request(method, format!("{base}{}", case.path))
        .body(case.body.to_owned());
    for (k, v) in case.headers {
        request = request.header(*k, *v);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = SET_HEADERS
        .iter()
        .map(|name| {
            let values = response
                .headers()
                .get_all(*name)
                .iter()
                .map(|v| v.to_str().unwrap_or("").to_owned())
                .collect();
            ((*name).to_owned(), values)
        })
        .collect();
    let body = response.bytes().await.unwrap().to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

// ---------------------------------------------------------------------------------------
// The differential run

/// The same mapping files loaded by WireMock and by the emulator; every call sent to both.
/// A matched call must get the same status, the same values of the headers the mappings
/// set, and the same body; an unmatched one the same status (404; the bodies differ by
/// design: WireMock's report, the emulator's surface 404).
#[tokio::test]
async fn stubs_answer_every_call_as_wiremock_does() {
    let Some(jar) = crate::wiremock::jar("the stubs are NOT compared with WireMock") else {
        return;
    };
    let dir = differential_folder();
    let wiremock = crate::wiremock::start(&jar, dir.path()).await;
    let ours = serve_stubs(dir.path()).await;
    let base = ours.base_url();
    let client = client();
    assert!(CASES.len() >= 40, "{}", CASES.len());
    let mut differences = Vec::new();
    let mut matched = 0;
    for case in CASES {
        let theirs = call(&client, &wiremock.base, case).await;
        let mine = call(&client, &base, case).await;
        let what = format!("{} {}", case.method, case.path);
        if theirs.status != mine.status {
            differences.push(format!(
                "{what}: status {} (WireMock) vs {} (emulator)",
                theirs.status, mine.status
            ));
            continue;
        }
        if theirs.status == 404 {
            continue;
        }
        matched += 1;
        if theirs.headers != mine.headers {
            differences.push(format!(
                "{what}: headers {:?} vs {:?}",
                theirs.headers, mine.headers
            ));
        }
        if theirs.body != mine.body {
            differences.push(format!(
                "{what}: body {:?} vs {:?}",
                String::from_utf8_lossy(&theirs.body),
                String::from_utf8_lossy(&mine.body)
            ));
        }
    }
    ours.shutdown().await;
    let _ = std::io::stderr().lock().write_all(
        format!(
            "differential: {} calls ({matched} matched), {} differences\n",
            CASES.len(),
            differences.len()
        )
        .as_bytes(),
    );
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    assert!(matched >= 25, "only {matched} calls matched a mapping");
}

// ---------------------------------------------------------------------------------------
// Refusals: the file, the key, what is supported; nothing half-loads

const GOOD: &str =
    r#"{"request": {"method": "GET", "urlPath": "/api/2.0/fo/scan/"}, "response": {"body": "ok"}}"#;

#[tokio::test]
async fn a_mapping_outside_the_subset_refuses_the_folder_naming_the_file_and_key() {
    for (file, content, expected) in [
        (
            "mappings/bad.json",
            r#"{"request": {"urlPath": "/api/x", "bodyPatterns": [{"matchesJsonPath": "$.a"}]}, "response": {}}"#,
            "--stubs: mappings/bad.json: request.bodyPatterns[0].matchesJsonPath: not supported \
             (supported here: equalTo, caseInsensitive, contains, matches, equalToJson, \
             ignoreArrayOrder, ignoreExtraElements, equalToXml)",
        ),
        (
            "mappings/many.json",
            r#"{"mappings": [{"request": {"urlPath": "/api/a"}, "response": {}},
                {"request": {"urlPath": "/api/b"}, "response": {"status": 200, "transformers": ["t"]}}]}"#,
            "--stubs: mappings/many.json: mappings[1].response.transformers: not supported \
             (supported here: status, headers, body, jsonBody, base64Body, bodyFileName, \
             fixedDelayMilliseconds)",
        ),
        (
            "mappings/scenario.json",
            r#"{"scenarioName": "s", "request": {"urlPath": "/api/a"}, "response": {}}"#,
            "--stubs: mappings/scenario.json: scenarioName: not supported (supported here: id, \
             uuid, name, priority, request, response, metadata, persistent)",
        ),
        (
            "mappings/query.json",
            r#"{"request": {"urlPath": "/api/a", "queryParameters": {"a": {"doesNotMatch": "x"}}}, "response": {}}"#,
            "--stubs: mappings/query.json: request.queryParameters.a.doesNotMatch: not supported \
             (supported here: equalTo, caseInsensitive, contains, matches, absent)",
        ),
        (
            "mappings/flag.json",
            r#"{"request": {"urlPath": "/api/a", "headers": {"X-A": {"contains": "x", "caseInsensitive": true}}}, "response": {}}"#,
            "--stubs: mappings/flag.json: request.headers.X-A.caseInsensitive: is not supported \
             with this operator",
        ),
        (
            "mappings/ext.json",
            r#"{"metadata": {"qualysMock": {"auth": "digest"}}, "request": {"urlPath": "/api/a"}, "response": {}}"#,
            "--stubs: mappings/ext.json: metadata.qualysMock.auth: \"digest\" is not one of \
             basic, bearer, none",
        ),
        (
            "mappings/regex.json",
            r#"{"request": {"urlPathPattern": "/api/(?!x).*"}, "response": {}}"#,
            "--stubs: mappings/regex.json: request.urlPathPattern: is not a regular expression \
             this server takes (error: look-around, including look-ahead and look-behind, is \
             not supported)",
        ),
        (
            "mappings/file.json",
            r#"{"request": {"urlPath": "/api/a"}, "response": {"bodyFileName": "../secret"}}"#,
            "--stubs: mappings/file.json: response.bodyFileName: \"../secret\" must be a \
             relative path inside __files/ (no .., no leading /)",
        ),
        (
            "mappings/missing.json",
            r#"{"request": {"urlPath": "/api/a"}, "response": {"bodyFileName": "gone.xml"}}"#,
            "--stubs: mappings/missing.json: response.bodyFileName: __files/gone.xml: No such \
             file or directory (os error 2)",
        ),
        (
            "mappings/urls.json",
            r#"{"request": {"url": "/api/a", "urlPath": "/api/a"}, "response": {}}"#,
            "--stubs: mappings/urls.json: request: gives url and urlPath: give at most one of \
             url, urlPath, urlPattern, urlPathPattern",
        ),
        (
            "mappings/bodies.json",
            r#"{"request": {"urlPath": "/api/a"}, "response": {"body": "a", "jsonBody": {}}}"#,
            "--stubs: mappings/bodies.json: response: gives body and jsonBody: give at most one body",
        ),
        (
            "mappings/length.json",
            r#"{"request": {"urlPath": "/api/a"}, "response": {"headers": {"Content-Length": "3"}}}"#,
            "--stubs: mappings/length.json: response.headers.Content-Length: is set by the \
             server from the body it sends",
        ),
    ] {
        // A good mapping beside the bad one: the folder is refused whole all the same.
        let dir = folder(&[("mappings/a-good.json", GOOD), (file, content)]);
        assert_eq!(start_refusal(dir.path()).await, expected, "{file}");
    }
}

#[tokio::test]
async fn a_mapping_on_an_emulated_path_is_refused_with_the_reason() {
    for (content, expected) in [
        (
            r#"{"request": {"method": "POST", "urlPath": "/sm/v1/scripts/search"}, "response": {}}"#,
            "--stubs: mappings/m.json: urlPath /sm/v1/scripts/search is an emulated CAR path: \
             stubs answer only paths the emulator does not",
        ),
        (
            r#"{"request": {"url": "/qps/rest/1.0/search/cm/alert/?x=1"}, "response": {}}"#,
            "--stubs: mappings/m.json: url /qps/rest/1.0/search/cm/alert/ is an emulated CM \
             path: stubs answer only paths the emulator does not",
        ),
        (
            r#"{"request": {"urlPath": "/msp/about.php"}, "response": {}}"#,
            "--stubs: mappings/m.json: urlPath /msp/about.php is an emulated classic path: \
             stubs answer only paths the emulator does not",
        ),
        (
            r#"{"request": {"urlPath": "/_mock/health"}, "response": {}}"#,
            "--stubs: mappings/m.json: urlPath /_mock/health is an emulated control API path: \
             stubs answer only paths the emulator does not",
        ),
        (
            r#"{"request": {"urlPathPattern": "/qps/rest/.*"}, "response": {}}"#,
            "--stubs: mappings/m.json: the pattern matches /qps/rest/portal/version, an \
             emulated CM path: stubs answer only paths the emulator does not",
        ),
        (
            r#"{"request": {"urlPattern": ".*"}, "response": {}}"#,
            "--stubs: mappings/m.json: the pattern matches /auth, an emulated CAR path: stubs \
             answer only paths the emulator does not",
        ),
        (
            r#"{"request": {"method": "GET"}, "response": {}}"#,
            "--stubs: mappings/m.json: a mapping without url, urlPath, urlPattern or \
             urlPathPattern would match the emulated paths: stubs answer only paths the \
             emulator does not",
        ),
    ] {
        let dir = folder(&[("mappings/m.json", content)]);
        assert_eq!(start_refusal(dir.path()).await, expected, "{content}");
    }
    // Another QPS module and the VM API are the rest of Qualys: taken.
    let dir = folder(&[(
        "mappings/m.json",
        r#"{"mappings": [{"request": {"urlPathPattern": "/qps/rest/2.0/.*"}, "response": {}},
            {"request": {"urlPathPattern": "/api/2.0/fo/.*"}, "response": {}}]}"#,
    )]);
    serve_stubs(dir.path()).await.shutdown().await;
}

#[tokio::test]
async fn duplicate_ids_and_a_folder_without_mappings_are_refused() {
    let one = r#"{"id": "same", "request": {"urlPath": "/api/a"}, "response": {}}"#;
    let dir = folder(&[("mappings/a.json", one), ("mappings/b.json", one)]);
    assert_eq!(
        start_refusal(dir.path()).await,
        "--stubs: mappings/b.json: the id same is also the id of a mapping in mappings/a.json"
    );
    let empty = tempfile::tempdir().unwrap();
    let message = start_refusal(empty.path()).await;
    assert!(
        message.ends_with(
            "has no mappings/ folder (a stubs folder holds mappings/*.json and __files/)"
        ),
        "{message}"
    );
}

#[tokio::test]
async fn a_refused_runtime_mapping_changes_nothing() {
    let app = TestApp::new().await;
    let r = app
        .control(
            Method::POST,
            "/_mock/stubs",
            json!({"request": {"urlPath": "/api/a", "bodyPatterns": [{"equalToJson": "{nope"}]}, "response": {}}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(
        r.json()["error"],
        "runtime: request.bodyPatterns[0].equalToJson: is not JSON: key must be a string at \
         line 1 column 2"
    );
    let r = app
        .control(
            Method::POST,
            "/_mock/stubs",
            json!({"request": {"urlPath": "/auth"}, "response": {}}),
        )
        .await;
    assert_eq!(
        r.json()["error"],
        "runtime: urlPath /auth is an emulated CAR path: stubs answer only paths the emulator \
         does not"
    );
    let r = app
        .control(
            Method::POST,
            "/_mock/stubs",
            json!({"request": {"urlPath": "/api/a"}, "response": {"bodyFileName": "x.xml"}}),
        )
        .await;
    assert_eq!(
        r.json()["error"],
        "runtime: response.bodyFileName: needs a stubs folder (serve --stubs DIR), whose \
         __files/ it names"
    );
    assert_eq!(app.get("/_mock/stubs").await.json()["count"], 0);
}

// ---------------------------------------------------------------------------------------
// Runtime changes and reset

async fn add(app: &TestApp, mapping: Value) -> Value {
    let r = app.control(Method::POST, "/_mock/stubs", mapping).await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

#[tokio::test]
async fn stubs_are_added_replaced_and_deleted_at_run_time() {
    let app = TestApp::new().await;
    let cred = basic("acme_ss2", "passwd");
    let call = || async {
        let r = app
            .request(
                Method::GET,
                "/api/2.0/fo/scan/?action=list",
                &[("authorization", &cred)],
                "",
            )
            .await;
        (r.status.as_u16(), r.text())
    };
    assert_eq!(call().await.0, 404);
    let added = add(
        &app,
        json!({"id": "scans", "name": "scan list", "request": {"method": "GET", "urlPath": "/api/2.0/fo/scan/"},
               "response": {"status": 200, "body": "<SCAN_LIST_OUTPUT/>"}}),
    )
    .await;
    assert_eq!(
        (&added["id"], &added["source"], &added["priority"]),
        (&json!("scans"), &json!("runtime"), &json!(5))
    );
    assert_eq!(call().await, (200, "<SCAN_LIST_OUTPUT/>".to_owned()));
    // The same id again: 409.
    let r = app
        .control(Method::POST, "/_mock/stubs", added["mapping"].clone())
        .await;
    assert_eq!(
        (r.status.as_u16(), r.json()["error"].clone()),
        (
            409,
            json!("a stub with id scans exists (PUT /_mock/stubs/scans replaces it)")
        )
    );
    // Without an id, one is made.
    let made = add(
        &app,
        json!({"request": {"urlPath": "/api/2.0/fo/other/"}, "response": {}}),
    )
    .await;
    assert_eq!(made["id"].as_str().unwrap().len(), 36, "{made}");
    let r = app.get("/_mock/stubs").await.json();
    assert_eq!(r["count"], 2);
    assert_eq!(
        app.get("/_mock/stubs/scans").await.json()["name"],
        "scan list"
    );
    // Replace.
    let r = app
        .control(
            Method::PUT,
            "/_mock/stubs/scans",
            json!({"request": {"method": "GET", "urlPath": "/api/2.0/fo/scan/"}, "response": {"status": 200, "body": "replaced"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(call().await, (200, "replaced".to_owned()));
    let r = app
        .control(
            Method::PUT,
            "/_mock/stubs/scans",
            json!({"id": "other", "request": {"urlPath": "/api/a"}, "response": {}}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.json()["error"].clone()),
        (
            400,
            json!("runtime: id: \"other\" is not the path's id scans")
        )
    );
    let r = app
        .control(
            Method::PUT,
            "/_mock/stubs/nope",
            json!({"request": {"urlPath": "/api/a"}, "response": {}}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.json()["error"].clone()),
        (404, json!("no stub nope"))
    );
    // Delete.
    let r = app
        .request(Method::DELETE, "/_mock/stubs/scans", &[], "")
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(call().await.0, 404);
    let r = app
        .request(Method::DELETE, "/_mock/stubs/scans", &[], "")
        .await;
    assert_eq!(
        (r.status.as_u16(), r.json()["error"].clone()),
        (404, json!("no stub scans"))
    );
    let r = app.get("/_mock/stubs/scans").await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn a_reset_and_delete_all_bring_back_the_loaded_stubs() {
    let dir = folder(&[(
        "mappings/scan.json",
        r#"{"id": "loaded", "metadata": {"qualysMock": {"auth": "none"}},
            "request": {"urlPath": "/api/2.0/fo/scan/"}, "response": {"body": "loaded"}}"#,
    )]);
    let running = serve_stubs(dir.path()).await;
    let base = running.base_url();
    let client = client();
    let ids = || async {
        let bytes = client
            .get(format!("{base}/_mock/stubs"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let list: Value = serde_json::from_slice(&bytes).unwrap();
        list["stubs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["id"].as_str().unwrap().to_owned(),
                    s["source"].as_str().unwrap().to_owned(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids().await,
        [("loaded".to_owned(), "mappings/scan.json".to_owned())]
    );
    for undo in ["POST /_mock/reset", "DELETE /_mock/stubs"] {
        let added = client
            .post(format!("{base}/_mock/stubs"))
            .header("content-type", "application/json")
            .body(
                json!({"id": "added", "request": {"urlPath": "/api/2.0/fo/x/"}, "response": {}})
                    .to_string(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(added.status(), 201);
        let deleted = client
            .delete(format!("{base}/_mock/stubs/loaded"))
            .send()
            .await
            .unwrap();
        assert_eq!(deleted.status(), 204);
        assert_eq!(ids().await, [("added".to_owned(), "runtime".to_owned())]);
        let (method, path) = undo.split_once(' ').unwrap();
        let r = client
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{base}{path}"),
            )
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{undo}: {}", r.status());
        assert_eq!(
            ids().await,
            [("loaded".to_owned(), "mappings/scan.json".to_owned())],
            "{undo}"
        );
        let body = client
            .get(format!("{base}/api/2.0/fo/scan/"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(body, "loaded");
    }
    running.shutdown().await;
}

// ---------------------------------------------------------------------------------------
// Auth like the platform, per customer

#[tokio::test]
async fn stubbed_paths_refuse_callers_in_the_platforms_format() {
    let app = TestApp::new().await;
    add(
        &app,
        json!({"request": {"urlPath": "/api/2.0/fo/asset/host/"}, "response": {"body": "hosts"}}),
    )
    .await;
    add(&app, json!({"request": {"urlPath": "/qps/rest/2.0/search/am/hostasset"}, "response": {"body": "assets"}})).await;
    add(
        &app,
        json!({"request": {"urlPath": "/csam/v2/get/assets"}, "response": {"body": "csam"}}),
    )
    .await;
    add(
        &app,
        json!({"metadata": {"qualysMock": {"auth": "bearer"}},
        "request": {"urlPath": "/custom/bearer"}, "response": {"body": "bearer"}}),
    )
    .await;
    add(
        &app,
        json!({"request": {"urlPath": "/custom/open"}, "response": {"body": "open"}}),
    )
    .await;
    let acme = basic("acme_ss2", "passwd");
    let wrong = basic("acme_ss2", "nope");
    let token = app.acme().await;
    let bearer = format!("Bearer {token}");

    // Classic (/api/, /msp/): Basic; SIMPLE_RETURN "Bad Login/Password" with the challenge.
    for creds in [None, Some(wrong.as_str())] {
        let headers: Vec<(&str, &str)> = creds.map(|c| ("authorization", c)).into_iter().collect();
        let r = app
            .request(Method::GET, "/api/2.0/fo/asset/host/", &headers, "")
            .await;
        assert_eq!(r.status, 401, "{}", r.text());
        assert!(
            r.text().contains("<SIMPLE_RETURN>")
                && r.text().contains("<TEXT>Bad Login/Password</TEXT>"),
            "{}",
            r.text()
        );
        assert!(r.header("www-authenticate").unwrap().starts_with("Basic"));
    }
    let r = app
        .request(
            Method::GET,
            "/api/2.0/fo/asset/host/",
            &[("authorization", &acme)],
            "",
        )
        .await;
    assert_eq!((r.status.as_u16(), r.text()), (200, "hosts".to_owned()));
    // The user/password headers, as on CM.
    let r = app
        .request(
            Method::GET,
            "/api/2.0/fo/asset/host/",
            &[("user", "acme_ss2"), ("password", "passwd")],
            "",
        )
        .await;
    assert_eq!(r.status, 200);

    // QPS modules: Basic; the ServiceResponse error.
    let r = app
        .request(
            Method::POST,
            "/qps/rest/2.0/search/am/hostasset",
            &[("accept", "application/json")],
            "",
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(
        r.json()["ServiceResponse"]["responseCode"],
        "AUTH_CREDENTIALS_NEEDED",
        "{}",
        r.text()
    );
    let r = app
        .request(
            Method::POST,
            "/qps/rest/2.0/search/am/hostasset",
            &[("authorization", &wrong), ("accept", "application/json")],
            "",
        )
        .await;
    assert_eq!(
        r.json()["ServiceResponse"]["responseCode"],
        "INVALID_CREDENTIALS",
        "{}",
        r.text()
    );
    let r = app
        .request(
            Method::POST,
            "/qps/rest/2.0/search/am/hostasset",
            &[("authorization", &acme)],
            "",
        )
        .await;
    assert_eq!((r.status.as_u16(), r.text()), (200, "assets".to_owned()));

    // Gateway paths, and a mapping that asks for it: the emulator's JWT; the gateway's 401.
    for path in ["/csam/v2/get/assets", "/custom/bearer"] {
        for auth in [None, Some(acme.as_str()), Some("Bearer forged.token.here")] {
            let headers: Vec<(&str, &str)> =
                auth.map(|c| ("authorization", c)).into_iter().collect();
            let r = app.request(Method::GET, path, &headers, "").await;
            assert_eq!(r.status, 401, "{path} {auth:?}");
            assert_eq!(
                r.json(),
                json!({"status": 401, "error": "Unauthorized", "message": "Not authenticated"})
            );
        }
        let r = app
            .request(Method::GET, path, &[("authorization", &bearer)], "")
            .await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
    }
    // Elsewhere, by default, no credentials are needed.
    assert_eq!(app.get("/custom/open").await.text(), "open");
}

#[tokio::test]
async fn a_per_customer_stub_answers_only_its_customers_users() {
    let app = TestApp::new().await;
    for (customer, body) in [("Acme", "acme kb"), ("Globex", "globex kb")] {
        add(&app, json!({"metadata": {"qualysMock": {"customer": customer}},
            "request": {"urlPath": "/api/2.0/fo/knowledge_base/vuln/"}, "response": {"body": body}})).await;
    }
    add(
        &app,
        json!({"metadata": {"qualysMock": {"customer": "Acme", "auth": "bearer"}},
        "request": {"urlPath": "/custom/acme-only"}, "response": {"body": "acme only"}}),
    )
    .await;
    let kb = |user: &'static str, password: &'static str| {
        let app = app.clone();
        async move {
            let r = app
                .request(
                    Method::GET,
                    "/api/2.0/fo/knowledge_base/vuln/?action=list",
                    &[("authorization", &basic(user, password))],
                    "",
                )
                .await;
            (r.status.as_u16(), r.text())
        }
    };
    assert_eq!(kb("acme_ss2", "passwd").await, (200, "acme kb".to_owned()));
    assert_eq!(
        kb("globex_ss1", "passwd2").await,
        (200, "globex kb".to_owned())
    );
    // Another customer's user does not see Acme's stub: the surface's 404.
    let globex = app.globex().await;
    let r = app
        .request(
            Method::GET,
            "/custom/acme-only",
            &[("authorization", &format!("Bearer {globex}"))],
            "",
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text());
    let acme = app.acme().await;
    let r = app
        .request(
            Method::GET,
            "/custom/acme-only",
            &[("authorization", &format!("Bearer {acme}"))],
            "",
        )
        .await;
    assert_eq!((r.status.as_u16(), r.text()), (200, "acme only".to_owned()));
    // A per-customer stub always authenticates.
    let r = app
        .control(
            Method::POST,
            "/_mock/stubs",
            json!({"metadata": {"qualysMock": {"customer": "Acme", "auth": "none"}},
            "request": {"urlPath": "/custom/x"}, "response": {}}),
        )
        .await;
    assert_eq!(
        r.json()["error"],
        "runtime: metadata.qualysMock.customer: a per-customer stub authenticates its caller: auth cannot be none"
    );
}

// ---------------------------------------------------------------------------------------
// The journal and faults

#[tokio::test]
async fn the_journal_names_the_stub_that_answered_and_faults_apply_to_stubbed_paths() {
    let app = TestApp::new().await;
    add(&app, json!({"id": "detections", "request": {"method": "GET", "urlPath": "/api/2.0/fo/asset/host/vm/detection/"},
        "response": {"body": DETECTION_XML, "headers": {"Content-Type": "text/xml;charset=UTF-8"}}})).await;
    let acme = basic("acme_ss2", "passwd");
    let headers = [("authorization", acme.as_str())];
    let call = || {
        app.request(
            Method::GET,
            "/api/2.0/fo/asset/host/vm/detection/?action=list",
            &headers,
            "",
        )
    };
    let r = app
        .control(
            Method::POST,
            "/_mock/faults",
            json!({"path": "/api/2.0/fo/*", "status": 503, "times": 1}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(call().await.status, 503);
    let r = call().await;
    assert_eq!(
        (r.status.as_u16(), r.text()),
        (200, DETECTION_XML.to_owned())
    );
    // No stub: the classic platform's 404.
    let r = app.get("/api/2.0/fo/unknown/").await;
    assert_eq!(r.status, 404);
    assert!(
        r.text().contains("<SIMPLE_RETURN>")
            && r.text()
                .contains("<TEXT>No resource at /api/2.0/fo/unknown/</TEXT>"),
        "{}",
        r.text()
    );
    let journal = app.get("/_mock/requests?path=/api/").await.json();
    let entries: Vec<(Value, Value, Value, Value)> = journal["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["status"].clone(),
                e["answeredBy"].clone(),
                e["user"].clone(),
                e["fault"]["action"].clone(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            (json!(503), Value::Null, Value::Null, json!("status")),
            (
                json!(200),
                json!("stub:detections"),
                json!("acme_ss2"),
                Value::Null
            ),
            (json!(404), Value::Null, Value::Null, Value::Null),
        ]
    );
}

// ---------------------------------------------------------------------------------------
// The docs' worked example, and what stubs may not target

#[tokio::test]
async fn a_stubbed_vm_detection_call_takes_the_same_credentials_as_cm() {
    let mapping = json!({
        "name": "VM host detection list",
        "request": {"method": "GET", "urlPath": "/api/2.0/fo/asset/host/vm/detection/",
            "queryParameters": {"action": {"equalTo": "list"}},
            "headers": {"X-Requested-With": {"contains": ""}}},
        "response": {"status": 200, "headers": {"Content-Type": "text/xml;charset=UTF-8"},
            "bodyFileName": "vm/detection.xml"}
    });
    let dir = folder(&[
        ("mappings/vm-detection.json", &mapping.to_string()),
        ("__files/vm/detection.xml", DETECTION_XML),
    ]);
    let running = serve_stubs(dir.path()).await;
    let base = running.base_url();
    let client = client();
    let detections = |password: &'static str| {
        client
            .get(format!(
                "{base}/api/2.0/fo/asset/host/vm/detection/?action=list"
            ))
            .header("authorization", basic("acme_ss2", password))
            .header("x-requested-with", "curl")
            .send()
    };
    let r = detections("passwd").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "text/xml;charset=UTF-8"
    );
    assert_eq!(r.text().await.unwrap(), DETECTION_XML);
    let r = detections("wrong").await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("<TEXT>Bad Login/Password</TEXT>")
    );
    // The same credentials on the emulated CM.
    let r = client
        .post(format!("{base}/qps/rest/1.0/search/cm/alert/"))
        .header("authorization", basic("acme_ss2", "passwd"))
        .header("x-requested-with", "curl")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("<responseCode>SUCCESS</responseCode>")
    );
    running.shutdown().await;
}

// ---------------------------------------------------------------------------------------
// WireMock or Java missing

/// This test binary run again on the differential test, with a `PATH` where no `java` is,
/// and `CI` as given: (passed, stderr).
fn differential_without_java(ci: Option<&str>) -> (bool, String) {
    crate::helpers::rerun_without_tools(
        "stubs::stubs_answer_every_call_as_wiremock_does",
        &["WIREMOCK_JAR"],
        ci,
    )
}

#[test]
fn without_wiremock_the_differential_test_fails_under_ci() {
    let (passed, stderr) = differential_without_java(Some("true"));
    assert!(!passed, "passed without WireMock under CI=true:\n{stderr}");
}

#[test]
fn without_wiremock_the_differential_test_skips_visibly_outside_ci() {
    for ci in [None, Some("false")] {
        let (passed, stderr) = differential_without_java(ci);
        assert!(passed, "CI={ci:?}:\n{stderr}");
        assert!(
            stderr.contains("WireMock or Java is not installed"),
            "CI={ci:?}: no visible warning:\n{stderr}"
        );
    }
}

/// `QUALYS_MOCK_STUBS` is `--stubs`; a refused folder stops the binary with the refusal.
#[test]
fn the_binary_refuses_to_start_on_a_stubs_folder_it_cannot_load() {
    let dir = folder(&[(
        "mappings/bad.json",
        r#"{"request": {"urlPath": "/api/a"}, "response": {"transformers": []}}"#,
    )]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_qualys-mock"))
        .args(["serve", "--port", "0"])
        .env("QUALYS_MOCK_STUBS", dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A server that started anyway is stopped and fails the test (rather than hanging it).
    for _ in 0..300 {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if child.try_wait().unwrap().is_none() {
        let _ = child.kill();
        let _ = child.wait();
        panic!("the server started on a folder it should refuse");
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "--stubs: mappings/bad.json: response.transformers: not supported (supported \
             here: status, headers, body, jsonBody, base64Body, bodyFileName, \
             fixedDelayMilliseconds)"
        ),
        "{stderr}"
    );
}
