//! The OpenAPI description: served, equal to the checked-in copy, and in step with the
//! routers (every route documented, every documented operation routed).
//!
//! `UPDATE_OPENAPI=1 cargo test --test api contracts` rewrites `openapi/qualys-mock.json`
//! from the served document.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::TestApp;

const CHECKED_IN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/qualys-mock.json");
const POSTMAN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/postman/qualys-mock.postman_collection.json"
);

/// Router files whose `.route(..)` calls make the CAR and control surfaces.
/// The files that declare routes: the CAR and control routers, and the router assembly (which
/// mounts `/_mock/openapi.json` and the QPS catch-all).
const ROUTERS: [&str; 3] = ["src/car/mod.rs", "src/control/mod.rs", "src/app.rs"];

/// Catch-all routes that are the gateway's "no such resource" answer, and the retired
/// script create and update routes (410 whatever the method), `/_mock` (the control index
/// without its slash), and the QPS catch-all (stubs, the proxy, else CM's refusal): not
/// operations.
const NOT_OPERATIONS: [&str; 10] = [
    "/sm/v1",
    "/sm/v1/{*rest}",
    "/sm/v1/script",
    "/sm/v1/script/{id}",
    "/sm/v2/script",
    "/sm/v2/script/{id}",
    "/sm/v3/script",
    "/sm/v3/script/{id}",
    "/_mock",
    "/qps/rest/{*rest}",
];

/// The document as served to a request for the default server's host (the checked-in
/// copy's `servers`).
/// The checked-in document (the first test holds it to the served one).
fn checked_in_doc() -> Value {
    let text = std::fs::read_to_string(CHECKED_IN).expect("openapi/qualys-mock.json");
    serde_json::from_str(&text).unwrap()
}

async fn served(app: &TestApp) -> (String, Value) {
    let r = app
        .request(
            axum::http::Method::GET,
            "/_mock/openapi.json",
            &[("host", "127.0.0.1:8080")],
            "",
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    (r.text(), r.json())
}

/// `(METHOD, path)` of every operation the document describes.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                ops.insert((method.to_ascii_uppercase(), path.clone()));
            }
        }
    }
    ops
}

/// `source` without `//` comments and whitespace.
fn squeeze(source: &str) -> String {
    source
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<String>()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// The text after each `needle` up to its matching `)`, from `needle`'s byte `skip` on.
fn balanced(text: &str, needle: &str, skip: usize) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(needle) {
        let start = at + skip;
        let mut depth = 1;
        let mut end = None;
        for (i, c) in rest[start..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                end = Some(start + i);
                break;
            }
        }
        let end = end.expect("unbalanced parentheses");
        found.push(rest[start..end].to_owned());
        rest = &rest[end..];
    }
    found
}

/// The text of each `.route(...)` call in `source`, whitespace removed.
fn route_calls(source: &str) -> Vec<String> {
    balanced(&squeeze(source), ".route(", ".route(".len())
}

/// The text of each `("/path", handler)` table entry in `source` (a router that folds a
/// table of routes into `.route` calls), whitespace removed.
fn route_table(source: &str) -> Vec<String> {
    // An entry opens an array (`[(`) or follows another (`),(`).
    let text = squeeze(source);
    let mut entries = balanced(&text, "[(\"/", 2);
    entries.extend(balanced(&text, "),(\"/", 3));
    entries
}

/// The methods a route's handler text names: `get(..)`, `.post(..)`, ...
fn methods(handlers: &str) -> Vec<&'static str> {
    let mut found = Vec::new();
    for method in ["get", "post", "put", "delete", "patch", "any"] {
        let needle = format!("{method}(");
        let mut from = 0;
        while let Some(i) = handlers[from..].find(&needle) {
            let i = from + i;
            let before = handlers[..i].chars().last();
            if before.is_none_or(|c| !(c.is_alphanumeric() || c == '_')) {
                found.push(method);
            }
            from = i + needle.len();
        }
    }
    found
}

/// `(METHOD, path)` of every route the files of [`ROUTERS`] declare (catch-alls aside).
/// A trailing-slash twin (`/auth/`, `format!("{path}/")`) is the same operation.
fn routed() -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for file in ROUTERS {
        let source = std::fs::read_to_string(format!("{}/{file}", env!("CARGO_MANIFEST_DIR")))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        for call in route_calls(&source).into_iter().chain(route_table(&source)) {
            // The fold that turns the table into routes: each entry and its twin.
            if call == "path,handler" || call.starts_with("&format!(\"{path}/\")") {
                continue;
            }
            let path = call
                .strip_prefix('"')
                .and_then(|c| c.split('"').next())
                .unwrap_or_else(|| panic!("a route without a literal path: {call}"))
                .to_owned();
            if NOT_OPERATIONS.contains(&path.as_str()) {
                continue;
            }
            let handlers = &call[path.len() + 3..];
            let found = methods(handlers);
            assert!(!found.is_empty(), "no method found in route {call}");
            let path = match path.strip_suffix('/') {
                Some(bare) if !bare.is_empty() && path != "/_mock/" => bare.to_owned(),
                _ => path,
            };
            for method in found {
                assert_ne!(method, "any", "{path}: `any` route is not an operation");
                ops.insert((method.to_ascii_uppercase(), path.clone()));
            }
        }
    }
    ops
}

#[tokio::test]
async fn the_served_document_equals_the_checked_in_copy() {
    let app = TestApp::new().await;
    let (text, doc) = served(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::create_dir_all(std::path::Path::new(CHECKED_IN).parent().unwrap()).unwrap();
        std::fs::write(CHECKED_IN, &text).unwrap();
    }
    let checked_in = std::fs::read_to_string(CHECKED_IN)
        .expect("openapi/qualys-mock.json (UPDATE_OPENAPI=1 writes it)");
    assert!(
        checked_in == text,
        "openapi/qualys-mock.json differs from GET /_mock/openapi.json: \
         run UPDATE_OPENAPI=1 cargo test --test api contracts"
    );
}

#[test]
fn the_route_parser_sees_every_kind_of_route_declaration() {
    let calls = route_calls(
        r#"Router::new()
        .route("/a", get(x)) // .route("/commented", get(y))
        .route("/b", get(h).route_layer(caught_up()))
        .route(
            "/c",
            get(list).post(add).delete(clear),
        )"#,
    );
    assert_eq!(
        calls,
        [
            r#""/a",get(x)"#,
            r#""/b",get(h).route_layer(caught_up())"#,
            r#""/c",get(list).post(add).delete(clear),"#
        ]
    );
    let table = route_table(
        r#"let sm = [
            ("/sm/v1/scripts/search", post(scripts::search)),
            ("/sm/v1/scripts/{key}", get(scripts::get)),
        ]"#,
    );
    assert_eq!(
        table,
        [
            r#""/sm/v1/scripts/search",post(scripts::search)"#,
            r#""/sm/v1/scripts/{key}",get(scripts::get)"#
        ]
    );
    assert_eq!(
        methods("get(list).post(add).route_layer(caught_up())"),
        ["get", "post"]
    );
}

#[tokio::test]
async fn every_route_is_documented_and_every_operation_is_routed() {
    let app = TestApp::new().await;
    let (_, doc) = served(&app).await;
    let documented = documented(&doc);
    let routed = routed();
    // Both surfaces are there (the parser found the routers).
    assert!(
        routed.contains(&("POST".into(), "/auth".into())),
        "{routed:?}"
    );
    assert!(routed.contains(&("DELETE".into(), "/_mock/faults/{id}".into())));
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from src/openapi.rs: {undocumented:?}"
    );
    assert!(
        unrouted.is_empty(),
        "documented but not routed: {unrouted:?}"
    );
    // The control index lists the same control operations.
    let index: BTreeSet<(String, String)> = app.get("/_mock/").await.json()["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["method"].as_str().unwrap().to_owned(),
                e["path"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let control: BTreeSet<(String, String)> = documented
        .iter()
        .filter(|(_, p)| p.starts_with("/_mock/"))
        .cloned()
        .collect();
    assert_eq!(index, control);
}

/// A documented path with its parameters filled from the document's examples (or a number).
fn concrete(path: &str, op: &Value) -> String {
    let mut out = path.to_owned();
    for p in op["parameters"].as_array().into_iter().flatten() {
        if p["in"] == "path" {
            let name = p["name"].as_str().unwrap();
            let value = match &p["example"] {
                Value::String(s) => s.clone(),
                Value::Null => "999999".to_owned(),
                other => other.to_string(),
            };
            out = out.replace(&format!("{{{name}}}"), &value);
        }
    }
    out
}

/// The JSON body an operation's example gives: the media type's example, else its schema's,
/// else `{}`.
fn example_body(doc: &Value, op: &Value) -> Value {
    let content = &op["requestBody"]["content"]["application/json"];
    if !content["example"].is_null() {
        return content["example"].clone();
    }
    let mut schema = &content["schema"];
    if let Some(name) = schema["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
    {
        schema = &doc["components"]["schemas"][name];
    }
    match &schema["example"] {
        Value::Null => serde_json::json!({}),
        example => example.clone(),
    }
}

/// [`concrete`] with the required query parameters' examples.
fn with_query(path: &str, op: &Value) -> String {
    let query: Vec<String> = op["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["in"] == "query" && p["required"] == true)
        .map(|p| {
            format!(
                "{}={}",
                p["name"].as_str().unwrap(),
                p["example"].as_str().unwrap()
            )
        })
        .collect();
    let path = concrete(path, op);
    if query.is_empty() {
        path
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

#[tokio::test]
async fn every_documented_operation_is_served_with_a_documented_status() {
    let app = TestApp::new().await;
    let token = app.acme().await;
    let bearer = format!("Bearer {token}");
    let (_, doc) = served(&app).await;
    let mut probed = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let concrete = with_query(path, op);
            let (content_type, body) = if path == "/auth" {
                (
                    "application/x-www-form-urlencoded",
                    "username=acme_ss2&password=passwd&token=true".to_owned(),
                )
            } else {
                ("application/json", example_body(&doc, op).to_string())
            };
            let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
            let (content_type, body) = if path != "/auth"
                && op["requestBody"]["content"]
                    .get("multipart/form-data")
                    .is_some()
            {
                // An import file: a script exported, under a new title.
                let export = app
                    .car(Method::GET, "/sm/v1/scripts/export?ids=16515", &token, "")
                    .await;
                let mut scripts = export.json();
                scripts[0]["title"] = "Imported by the contract test".into();
                let (ct, bytes) = crate::helpers::multipart_file(
                    "file",
                    "export.json",
                    scripts.to_string().as_bytes(),
                );
                (ct, bytes)
            } else {
                (content_type.to_owned(), body.into_bytes())
            };
            let r = app
                .request(
                    method.clone(),
                    &concrete,
                    &[("authorization", &bearer), ("content-type", &content_type)],
                    Body::from(body),
                )
                .await;
            let text = r.text();
            assert!(
                !text.contains("No resource at") && !text.contains("is not supported on"),
                "{method} {concrete} is not routed: {} {text}",
                r.status
            );
            let status = r.status.as_u16().to_string();
            assert!(
                op["responses"].get(&status).is_some(),
                "{method} {concrete} answered {status}, not documented: {text}"
            );
            // The document's examples are requests that work (on a fresh server, in the
            // document's order); the exceptions name a rule or a stub the order has cleared
            // (`DELETE /_mock/faults`, `DELETE /_mock/stubs` come first).
            if (method.as_str(), path.as_str()) != ("DELETE", "/_mock/faults/{id}")
                && path != "/_mock/stubs/{id}"
            {
                assert!(
                    r.status.is_success(),
                    "{method} {concrete}: the example answers {status}: {text}"
                );
            }
            probed += 1;
        }
    }
    assert_eq!(probed, documented(&doc).len());
    assert!(probed >= 31, "{probed}");
}

#[tokio::test]
async fn a_wrong_method_names_the_methods_the_path_takes() {
    let app = TestApp::new().await;
    let token = app.acme().await;
    let bearer = format!("Bearer {token}");
    for (method, path, allow) in [
        (Method::OPTIONS, "/auth", "POST"),
        (Method::PUT, "/sm/v1/scripts/search", "POST"),
        (Method::OPTIONS, "/sm/v1/scripts/16012", "GET,HEAD"),
        (Method::PATCH, "/_mock/faults", "GET,HEAD,DELETE,POST"),
        (Method::POST, "/_mock/config", "GET,HEAD,PUT"),
    ] {
        let r = app
            .request(
                method.clone(),
                path,
                &[("authorization", &bearer)],
                Body::empty(),
            )
            .await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert_eq!(r.header("allow"), Some(allow), "{method} {path}");
    }
}

/// The control token's 401 is the documented `{"error"}` body.
#[tokio::test]
async fn the_control_tokens_401_is_the_documented_body() {
    let app = TestApp::new().await;
    let (_, doc) = served(&app).await;
    let state = qualys_mock::AppState::from_config(&qualys_mock::ServerConfig {
        control_token: Some("t0ken".into()),
        journal_size: 10,
        journal_body_bytes: 100,
        frozen_at: Some(0),
        ..qualys_mock::ServerConfig::default()
    })
    .await
    .unwrap();
    use tower::ServiceExt;
    let response = qualys_mock::app(state)
        .oneshot(
            axum::http::Request::get("/_mock/openapi.json")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert!(body["error"].is_string(), "{body}");
    assert_eq!(
        doc["paths"]["/_mock/openapi.json"]["get"]["responses"]["401"]["content"]["application/json"]
            ["schema"]["$ref"],
        "#/components/schemas/ControlErrorBody"
    );
}

#[test]
fn every_car_operation_has_the_bearer_scheme_and_the_gateway_401() {
    let doc = checked_in_doc();
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if path.starts_with("/sm/") {
                assert_eq!(
                    op["security"][0]["bearer"],
                    Value::Array(vec![]),
                    "{method} {path}"
                );
                assert_eq!(
                    op["responses"]["401"]["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/GatewayBody",
                    "{method} {path}"
                );
            }
            if path.starts_with("/_mock/") {
                assert!(op.get("security").is_none(), "{method} {path}");
                assert_eq!(
                    op["responses"].get("401").is_some(),
                    path != "/_mock/health",
                    "{method} {path}: the control token's 401"
                );
            }
            for (status, response) in op["responses"].as_object().unwrap() {
                if status.starts_with('4') && path.starts_with("/sm/") {
                    let schema = &response["content"]["application/json"]["schema"]["$ref"];
                    assert!(
                        schema == "#/components/schemas/ErrorEnvelope"
                            || schema == "#/components/schemas/GatewayBody",
                        "{method} {path} {status}: {schema}"
                    );
                }
            }
        }
    }
}

#[test]
fn the_postman_collection_covers_every_operation() {
    let doc = checked_in_doc();
    let collection: Value =
        serde_json::from_str(&std::fs::read_to_string(POSTMAN).expect("the Postman collection"))
            .unwrap();
    let mut covered = BTreeSet::new();
    fn walk(items: &Value, covered: &mut BTreeSet<(String, String)>) {
        for item in items.as_array().into_iter().flatten() {
            if item.get("item").is_some() {
                walk(&item["item"], covered);
                continue;
            }
            let request = &item["request"];
            let method = request["method"].as_str().unwrap().to_owned();
            // The documented path: the collection's `x-path` note, or the raw URL's path.
            let path = item["x-openapi-path"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| {
                    let raw = request["url"]["raw"].as_str().unwrap();
                    raw.trim_start_matches("{{baseUrl}}")
                        .split('?')
                        .next()
                        .unwrap()
                        .to_owned()
                });
            covered.insert((method, path));
        }
    }
    walk(&collection["item"], &mut covered);
    let documented = documented(&doc);
    let missing: Vec<_> = documented.difference(&covered).collect();
    let extra: Vec<_> = covered.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "operations not in the collection: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "collection requests not in the document: {extra:?}"
    );
    // The collection logs in as the default user before each request.
    let vars: Vec<&str> = collection["variable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["key"].as_str().unwrap())
        .collect();
    for key in ["baseUrl", "username", "password"] {
        assert!(vars.contains(&key), "{key} missing: {vars:?}");
    }
    let script = collection["event"][0]["script"]["exec"].to_string();
    assert!(script.contains("/auth"), "{script}");
}

/// The import request's file: one script, as an export file holds it.
const IMPORT_FILE: &str = r#"[{"title": "Imported from Postman", "category": {"id": 5, "name": "System Administration"}, "type": {"id": 1, "name": "Python"}, "platform": "WINDOWS", "severity": 1, "threshold": 1, "content": "cHJpbnQoImhpIik="}]"#;

/// The Postman collection, generated from the document: a folder per tag, a request per
/// operation with the document's example body and path parameters, `{{baseUrl}}`, the
/// default user, and a collection pre-request script that fetches the JWT for CAR calls.
fn postman_collection(doc: &Value) -> Value {
    use serde_json::json;
    let prerequest = [
        "// CAR calls need a JWT: fetch one from /auth once (as {{username}}) and reuse it.",
        "const path = pm.request.url.getPath();",
        "if (path.startsWith('/sm/') && !pm.collectionVariables.get('token')) {",
        "  pm.sendRequest({",
        "    url: pm.variables.get('baseUrl') + '/auth',",
        "    method: 'POST',",
        "    header: { 'Content-Type': 'application/x-www-form-urlencoded' },",
        "    body: { mode: 'urlencoded', urlencoded: [",
        "      { key: 'username', value: pm.variables.get('username') },",
        "      { key: 'password', value: pm.variables.get('password') },",
        "      { key: 'token', value: 'true' } ] }",
        "  }, (err, res) => {",
        "    if (err || res.code !== 201) { throw new Error('login failed: ' + (err || res.code)); }",
        "    pm.collectionVariables.set('token', res.text());",
        "  });",
        "}",
    ];
    let mut folders: Vec<(String, Vec<Value>)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let tag = op["tags"][0].as_str().unwrap_or("other").to_owned();
            let concrete = concrete(path, op);
            let segments: Vec<&str> = concrete.trim_start_matches('/').split('/').collect();
            let mut query = Vec::new();
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["in"] == "query" {
                    query.push(json!({
                        "key": p["name"],
                        "value": p["example"].as_str().unwrap_or(""),
                        "disabled": p["required"] != true,
                    }));
                }
            }
            let raw_query = query
                .iter()
                .filter(|q| q["disabled"] == false)
                .map(|q| {
                    format!(
                        "{}={}",
                        q["key"].as_str().unwrap(),
                        q["value"].as_str().unwrap()
                    )
                })
                .collect::<Vec<_>>();
            let raw = if raw_query.is_empty() {
                format!("{{{{baseUrl}}}}{concrete}")
            } else {
                format!("{{{{baseUrl}}}}{concrete}?{}", raw_query.join("&"))
            };
            let mut url = json!({"raw": raw, "host": ["{{baseUrl}}"], "path": segments});
            if !query.is_empty() {
                url["query"] = Value::Array(query);
            }
            let mut request = json!({
                "method": method.to_ascii_uppercase(),
                "header": [],
                "url": url,
                "description": op["description"].as_str().or(op["summary"].as_str()).unwrap_or(""),
            });
            let content = &op["requestBody"]["content"];
            if path == "/auth" {
                request["body"] = json!({"mode": "urlencoded", "urlencoded": [
                    {"key": "username", "value": "{{username}}"},
                    {"key": "password", "value": "{{password}}"},
                    {"key": "token", "value": "true"},
                ]});
            } else if content.get("multipart/form-data").is_some() {
                request["body"] = json!({"mode": "formdata", "formdata": [
                    {"key": "file", "type": "text", "value": IMPORT_FILE},
                ]});
            } else if content.get("application/json").is_some() {
                let example = example_body(doc, op);
                request["body"] = json!({
                    "mode": "raw",
                    "raw": serde_json::to_string_pretty(&example).unwrap(),
                    "options": {"raw": {"language": "json"}},
                });
                request["header"] = json!([{"key": "Content-Type", "value": "application/json"}]);
            }
            if op.get("security").is_some() {
                request["auth"] = json!({"type": "bearer", "bearer": [
                    {"key": "token", "value": "{{token}}", "type": "string"},
                ]});
            } else {
                request["auth"] = json!({"type": "noauth"});
            }
            let statuses: Vec<u16> = op["responses"]
                .as_object()
                .unwrap()
                .keys()
                .filter_map(|s| s.parse().ok())
                .collect();
            let mut test = vec![
                format!(
                    "pm.test('answers a documented status', () => pm.expect({statuses:?}).to.include(pm.response.code));"
                ),
                "pm.test('answers without a server error', () => pm.expect(pm.response.code).to.be.below(500));".to_owned(),
            ];
            // The examples work on a fresh server run in this order (as the probe test
            // checks in Rust); the exceptions name a rule or a stub the order has cleared.
            if (method.as_str(), path.as_str()) != ("delete", "/_mock/faults/{id}")
                && path != "/_mock/stubs/{id}"
            {
                test.push(
                    "pm.test('succeeds', () => pm.expect(pm.response.code).to.be.within(200, 299));"
                        .to_owned(),
                );
            }
            let name = format!("{} {path}", method.to_ascii_uppercase());
            let entry = json!({
                "name": name,
                "x-openapi-path": path,
                "request": request,
                "event": [{"listen": "test", "script": {"type": "text/javascript", "exec": test}}],
            });
            match folders.iter_mut().find(|(t, _)| *t == tag) {
                Some((_, items)) => items.push(entry),
                None => folders.push((tag, vec![entry])),
            }
        }
    }
    json!({
        "info": {
            "name": doc["info"]["title"],
            "description": "Generated from openapi/qualys-mock.json (tests/api/contracts.rs). \
                Set baseUrl to the server; CAR requests log in as {{username}} first.",
            "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json",
        },
        "variable": [
            {"key": "baseUrl", "value": "http://127.0.0.1:8080"},
            {"key": "username", "value": "acme_ss2"},
            {"key": "password", "value": "passwd"},
            {"key": "token", "value": ""},
        ],
        "event": [{"listen": "prerequest", "script": {"type": "text/javascript", "exec": prerequest}}],
        "item": folders
            .into_iter()
            .map(|(tag, items)| json!({"name": tag, "item": items}))
            .collect::<Vec<_>>(),
    })
}

#[test]
fn the_postman_collection_is_generated_from_the_document() {
    let doc = checked_in_doc();
    let mut text = serde_json::to_string_pretty(&postman_collection(&doc)).unwrap();
    text.push('\n');
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::create_dir_all(std::path::Path::new(POSTMAN).parent().unwrap()).unwrap();
        std::fs::write(POSTMAN, &text).unwrap();
    }
    let shipped = std::fs::read_to_string(POSTMAN).expect("the Postman collection");
    assert!(
        shipped == text,
        "postman/qualys-mock.postman_collection.json is stale: \
         run UPDATE_OPENAPI=1 cargo test --test api contracts"
    );
}

/// A body the description marks optional may be left out (the handler reads `{}`), and one
/// it marks required may not (the API's 400 or 401).
#[tokio::test]
async fn a_body_is_required_exactly_where_the_description_says() {
    let app = TestApp::new().await;
    let token = app.acme().await;
    let bearer = format!("Bearer {token}");
    let (_, doc) = served(&app).await;
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(required) = op["requestBody"]["required"].as_bool() else {
                continue;
            };
            let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
            let uri = with_query(path, op);
            let r = app
                .request(
                    method.clone(),
                    &uri,
                    &[("authorization", &bearer)],
                    Body::empty(),
                )
                .await;
            if required {
                assert!(
                    r.status.is_client_error(),
                    "{method} {uri} without a body: {} {}",
                    r.status,
                    r.text()
                );
            } else {
                assert!(
                    r.status.is_success(),
                    "{method} {uri} without a body: {} {}",
                    r.status,
                    r.text()
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 17, "{checked}");
}

/// A listed fault rule is one object with the rule's fields and its own (`Fault` flattens
/// `FaultSpec`, which refuses unknown fields: an `allOf` of the two could match nothing).
#[tokio::test]
async fn a_listed_fault_has_exactly_the_fields_its_schema_names() {
    let app = TestApp::new().await;
    let (_, doc) = served(&app).await;
    let spec = serde_json::json!({"path": "/sm/v1/*", "status": 503, "times": 1});
    let r = app.control(Method::POST, "/_mock/faults", spec).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let schema = &doc["components"]["schemas"]["Fault"];
    assert!(schema.get("allOf").is_none(), "{schema}");
    assert!(schema.get("additionalProperties").is_none(), "{schema}");
    let properties = schema["properties"].as_object().unwrap();
    let answer = r.json();
    let fields = answer.as_object().unwrap();
    for key in fields.keys() {
        assert!(
            properties.contains_key(key),
            "{key} not in the Fault schema"
        );
    }
    for key in schema["required"].as_array().unwrap() {
        assert!(fields.contains_key(key.as_str().unwrap()), "{key} missing");
    }
}
