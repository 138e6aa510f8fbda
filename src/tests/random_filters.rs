//! Random well-formed filters over every field of every object type: each answers a
//! result or the API's own error, never a 5xx (the SQL of every type and operator is
//! one SQLite accepts).

use super::app::TestApp;
use crate::query::catalog::{self, Catalog, Field, FieldType};
use crate::query::{Filter, Op};
use axum::http::{Method, StatusCode};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const VALUES: &[&str] = &[
    "1",
    "-7",
    "16012",
    "9223372036854775807",
    "true",
    "0",
    "APPROVED",
    "Pending Review",
    "LINUX",
    "SUCCESS",
    "CREATE",
    "PORT_OPEN",
    "2022-05-01",
    "2022-05-11T06:42:13Z",
    "now-2w",
    "1651847969380",
    "backup",
    "Script test",
    "x' OR 1=1 --",
    "50%_off",
    "",
];

const OPS: &[Op] = &[
    Op::Equals,
    Op::NotEquals,
    Op::Greater,
    Op::Lesser,
    Op::GreaterOrEqual,
    Op::LesserOrEqual,
    Op::In,
    Op::Contains,
    Op::Matches,
    Op::Exact,
    Op::Between { inclusive: true },
    Op::Between { inclusive: false },
];

/// Values of the field's own type (mostly), or any.
fn values_for(ty: FieldType) -> Vec<&'static str> {
    match ty {
        FieldType::Integer => vec!["1", "-7", "16012", "9223372036854775807"],
        FieldType::Text => vec!["backup", "Script test", "x' OR 1=1 --", "50%_off", "a*"],
        FieldType::Date(_) => vec![
            "2022-05-01",
            "2022-05-11T06:42:13Z",
            "now-2w",
            "1651847969380",
        ],
        FieldType::Keyword(values) => values.to_vec(),
        FieldType::Boolean => vec!["true", "false", "1"],
    }
}

fn leaf(catalog: &'static Catalog) -> impl Strategy<Value = Filter> {
    let fields: Vec<&'static Field> = catalog.fields.iter().collect();
    (
        prop::sample::select(fields),
        prop::sample::select(OPS),
        prop::collection::vec((0..4u8, any::<prop::sample::Index>()), 1..4),
    )
        .prop_map(|(field, op, picks)| {
            let typed = values_for(field.ty);
            let values: Vec<String> = picks
                .into_iter()
                .map(|(any_type, i)| {
                    let pool = if any_type == 0 { VALUES } else { &typed[..] };
                    i.get(pool).to_string()
                })
                .collect();
            let values = match op {
                Op::In => values,
                Op::Between { .. } => vec![values[0].clone(), values[values.len() - 1].clone()],
                _ => vec![values[0].clone()],
            };
            Filter::cond(field.name, op, values)
        })
}

fn tree(catalog: &'static Catalog) -> impl Strategy<Value = Filter> {
    leaf(catalog).prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..3).prop_map(Filter::And),
            prop::collection::vec(inner.clone(), 2..3).prop_map(Filter::Or),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
}

#[test]
fn random_qql_filters_never_answer_5xx() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let app = rt.block_on(TestApp::new());
    let token = rt.block_on(app.acme());
    for (path, key, catalog) in [
        ("/sm/v1/scripts/search", "filter", &catalog::CAR_SCRIPT),
        ("/sm/v1/assets/search", "filter", &catalog::CAR_ASSET),
        ("/sm/v1/assettags/search", "filter", &catalog::CAR_ASSET_TAG),
        ("/sm/v1/jobs/search", "filter", &catalog::CAR_JOB),
        ("/sm/v1/assetjobs/search", "filter", &catalog::CAR_ASSET_JOB),
        ("/sm/v1/scripts/activities", "qql", &catalog::CAR_ACTIVITY),
    ] {
        let mut runner = TestRunner::new(Config {
            cases: 128,
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(&tree(catalog), |filter| {
                let text = filter.to_string();
                let body = serde_json::json!({ key: text }).to_string();
                let r = rt.block_on(app.car(Method::POST, path, &token, &body));
                prop_assert!(
                    r.status == StatusCode::OK || r.status == StatusCode::BAD_REQUEST,
                    "{path} {text}: {} {}",
                    r.status,
                    r.text()
                );
                Ok(())
            })
            .unwrap();
    }
}

#[test]
fn random_criteria_never_answer_an_internal_error() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let app = rt.block_on(TestApp::new());
    let criterion = (
        prop::sample::select(catalog::CM_ALERT.names()),
        prop::sample::select(
            &[
                "EQUALS",
                "NOT EQUALS",
                "GREATER",
                "LESSER",
                "IN",
                "CONTAINS",
            ][..],
        ),
        prop::collection::vec(prop::sample::select(VALUES), 1..3),
    )
        .prop_map(|(f, o, v)| (f, o, v.join(",")));
    let mut runner = TestRunner::new(Config {
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(
            &(prop::collection::vec(criterion, 0..4), any::<bool>()),
            |(list, json)| {
                let (code, message) = rt.block_on(cm_search(&app, &list, json));
                prop_assert!(
                    code == "SUCCESS" || code == "INVALID_REQUEST",
                    "{list:?}: {code} {message}"
                );
                Ok(())
            },
        )
        .unwrap();
}

/// A CM alert search as Acme's user: its response code and error message.
async fn cm_search(
    app: &TestApp,
    criteria: &[(&str, &str, String)],
    json: bool,
) -> (String, String) {
    // The JSON criteria, sent as XML too when `json` is false (as the black-box tests did).
    let list: Vec<serde_json::Value> = criteria
        .iter()
        .map(|(f, o, v)| serde_json::json!({"field": f, "operator": o, "value": v}))
        .collect();
    let body = serde_json::json!({"ServiceRequest": {"filters": {"Criteria": list}}}).to_string();
    let r = app
        .cm(Method::POST, "/qps/rest/1.0/search/cm/alert", &body, json)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    if json {
        let sr = r.json()["ServiceResponse"].clone();
        let message = sr["responseErrorDetails"]["errorMessage"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        (sr["responseCode"].as_str().unwrap().to_owned(), message)
    } else {
        let text = r.text();
        let grab = |tag: &str| {
            let open = format!("<{tag}>");
            text.split_once(&open)
                .and_then(|(_, rest)| rest.split_once(&format!("</{tag}>")))
                .map(|(v, _)| v.to_owned())
                .unwrap_or_default()
        };
        (grab("responseCode"), grab("errorMessage"))
    }
}
