//! Every search uses an index when its filter names an indexed field: the query plan of the
//! exact SQL the search runs never scans the searched table.

use super::app::TestApp;
use crate::page::Window;
use crate::query::catalog::{self, Catalog};
use crate::query::criteria::{Criterion, compile};
use crate::query::{qql, sql};
use crate::store::Search;

fn cm(catalog: &Catalog, criteria: &[(&str, &str, &str)]) -> crate::query::SqlWhere {
    let list: Vec<Criterion> = criteria
        .iter()
        .map(|(f, o, v)| Criterion {
            field: Some((*f).into()),
            operator: Some((*o).into()),
            value: Some((*v).into()),
        })
        .collect();
    compile(&list, catalog, 0).unwrap().1
}

fn car(catalog: &Catalog, filter: &str) -> Search {
    let tree = qql::parse(filter).unwrap();
    Search::counted(
        sql::compile(&tree, catalog, crate::query::Dialect::Qql, 0).unwrap(),
        Vec::new(),
        Window {
            offset: 0,
            limit: 10,
        },
    )
}

/// No full scan of the searched table, and an index search on the filtered column.
fn assert_indexed(what: &str, alias: &str, column: &str, plan: &[String]) {
    let scans: Vec<&String> = plan
        .iter()
        .filter(|l| l.starts_with(&format!("SCAN {alias}")))
        .collect();
    assert!(scans.is_empty(), "{what}: full scan of {alias}: {plan:#?}");
    assert!(
        plan.iter()
            .any(|l| l.starts_with(&format!("SEARCH {alias} USING")) && l.contains(column)),
        "{what}: no index search of {alias} on {column}: {plan:#?}"
    );
}

#[tokio::test]
async fn cm_searches_use_indexes() {
    let app = TestApp::new().await;
    let store = &app.state.store;
    let window = Window {
        offset: 0,
        limit: 100,
    };
    type Case<'a> = (
        &'static str,
        &'a Catalog,
        &'a str,
        &'a str,
        Vec<(&'a str, &'a str, &'a str)>,
    );
    let cases: Vec<Case> = vec![
        ("alert", &catalog::CM_ALERT, "a", "customer_id=?", vec![]),
        (
            "alert",
            &catalog::CM_ALERT,
            "a",
            "id>?",
            vec![("id", "GREATER", "250000")],
        ),
        (
            "alert",
            &catalog::CM_ALERT,
            "a",
            "event_type=?",
            vec![("eventType", "EQUALS", "PORT_OPEN")],
        ),
        (
            "alert",
            &catalog::CM_ALERT,
            "a",
            "ip_address=?",
            vec![("ipAddress", "EQUALS", "10.10.30.70")],
        ),
        (
            "alert",
            &catalog::CM_ALERT,
            "a",
            "hostname=?",
            vec![("hostname", "EQUALS", "win12-30-240")],
        ),
        (
            "alert",
            &catalog::CM_ALERT,
            "a",
            "ip_address=?",
            vec![
                ("eventType", "EQUALS", "PORT_OPEN"),
                ("ipAddress", "EQUALS", "10.10.30.21"),
            ],
        ),
        (
            "alert",
            &catalog::CM_ALERT,
            "a",
            "alert_s>?",
            vec![("alertDate", "GREATER", "2022-06-01T00:00:00Z")],
        ),
        (
            "profile",
            &catalog::CM_PROFILE,
            "p",
            "rowid=?",
            vec![("id", "EQUALS", "7401")],
        ),
        (
            "rule",
            &catalog::CM_RULE,
            "r",
            "id>?",
            vec![("id", "GREATER", "6000")],
        ),
        (
            "ruleset",
            &catalog::CM_RULESET,
            "s",
            "rowid=?",
            vec![("id", "EQUALS", "4001")],
        ),
    ];
    for (object, catalog, alias, column, criteria) in cases {
        let plan = store
            .cm_explain(
                object,
                1001,
                Search::in_id_order(cm(catalog, &criteria), window),
            )
            .await
            .unwrap();
        assert_indexed(&format!("{object} {criteria:?}"), alias, column, &plan);
    }
    // The check itself can fail: an unindexed filter reads the customer's whole range.
    let plan = store
        .cm_explain(
            "alert",
            1001,
            Search::in_id_order(
                cm(&catalog::CM_ALERT, &[("hostname", "CONTAINS", "acme")]),
                window,
            ),
        )
        .await
        .unwrap();
    assert!(!plan.iter().any(|l| l.contains("hostname")), "{plan:?}");
}

#[tokio::test]
async fn car_searches_use_indexes() {
    let app = TestApp::new().await;
    let store = &app.state.store;
    let cases: Vec<(&'static str, &Catalog, &str, &str, &str)> = vec![
        ("script", &catalog::CAR_SCRIPT, "s", "customer_id=?", ""),
        (
            "script",
            &catalog::CAR_SCRIPT,
            "s",
            "status=?",
            "status:APPROVED",
        ),
        ("script", &catalog::CAR_SCRIPT, "s", "rowid=?", "id:16012"),
        (
            "script",
            &catalog::CAR_SCRIPT,
            "s",
            "created_ms>?",
            "created.dateTime > 2022-05-01",
        ),
        (
            "asset",
            &catalog::CAR_ASSET,
            "a",
            "name=?",
            "name = acme-win-001",
        ),
        (
            "asset",
            &catalog::CAR_ASSET,
            "a",
            "address=?",
            "address = 10.20.0.10",
        ),
        (
            "assettag",
            &catalog::CAR_ASSET_TAG,
            "t",
            "name=?",
            "name = DMZ",
        ),
        (
            "job",
            &catalog::CAR_JOB,
            "j",
            "script_id=?",
            "scriptId:72653",
        ),
        (
            "job",
            &catalog::CAR_JOB,
            "j",
            "correlation_uuid=?",
            "correlationUuid:`9bde85fb-010e-45fe-8bc0-4b55cc6c3a2a`",
        ),
        (
            "job",
            &catalog::CAR_JOB,
            "j",
            "created_ms>?",
            "created.dateTime > 2022-05-10",
        ),
        (
            "assetjob",
            &catalog::CAR_ASSET_JOB,
            "aj",
            "job_id=?",
            "job.id:80507",
        ),
        (
            "assetjob",
            &catalog::CAR_ASSET_JOB,
            "aj",
            "created_ms>?",
            "created.dateTime > 2022-05-10",
        ),
        (
            "activity",
            &catalog::CAR_ACTIVITY,
            "ac",
            "created_ms>?",
            "createdDate > 2022-05-10",
        ),
        (
            "schedule",
            &catalog::CAR_SCHEDULE,
            "sc",
            "customer_id=?",
            "",
        ),
        ("schedule", &catalog::CAR_SCHEDULE, "sc", "rowid=?", "id:1"),
    ];
    for (object, catalog, alias, column, filter) in cases {
        let plan = store
            .car_explain(object, 1001, car(catalog, filter))
            .await
            .unwrap();
        assert_indexed(&format!("{object} {filter}"), alias, column, &plan);
    }
}
