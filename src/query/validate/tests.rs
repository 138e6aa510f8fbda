use super::*;
use crate::query::catalog::{CAR_JOB, CAR_SCRIPT};
use crate::query::qql;

/// The QQL text, a caret line under the token at fault, and the typed error, as
/// meilisearch's filter-parser snapshots its errors.
fn error(q: &str) -> String {
    let filter = match qql::parse(q) {
        Ok(f) => f,
        Err(e) => return format!("{q}\n{}^\nsyntax: {}", " ".repeat(e.position), e.message),
    };
    match validate(&filter, &CAR_SCRIPT, Dialect::Qql, 0) {
        Ok(_) => format!("{q}\nok"),
        Err(e) => {
            let marks = match e.span {
                Some(s) => {
                    let width = s.end.saturating_sub(s.start).max(1);
                    let more = if width > 24 { "…" } else { "" };
                    format!("{}{}{more}", " ".repeat(s.start), "^".repeat(width.min(24)))
                }
                None => "(no position)".to_owned(),
            };
            let kind = match e.kind {
                InvalidKind::OperatorNotAllowed { field, op } => {
                    format!(
                        "OperatorNotAllowed {{ field: {:?}, op: {op:?} }}",
                        field.name
                    )
                }
                InvalidKind::MissingValue { field } => {
                    format!("MissingValue {{ field: {:?} }}", field.name)
                }
                InvalidKind::InvalidValue { field, value } => {
                    format!(
                        "InvalidValue {{ field: {:?}, value: {value:?} }}",
                        field.name
                    )
                }
                InvalidKind::ValueTooLong { field, limit } => {
                    format!("ValueTooLong {{ field: {:?}, limit: {limit} }}", field.name)
                }
                InvalidKind::UnknownField { field, .. } => {
                    format!("UnknownField {{ field: {field:?} }}")
                }
                other => format!("{other:?}"),
            };
            format!("{q}\n{marks}\n{kind}")
        }
    }
}

#[test]
fn qql_errors_with_positions() {
    let long = "x".repeat(MAX_VALUE_BYTES + 1);
    let queries = [
        "title:colour AND colour:red".to_owned(),
        "colour:colour".to_owned(),
        "status:APPROVED AND severity:high".to_owned(),
        "status:OPEN".to_owned(),
        "status:\"Pending Review\"".to_owned(),
        "title > 3".to_owned(),
        "title:[a .. b]".to_owned(),
        "hasBlacklistedCommands:[true, false]".to_owned(),
        "created.dateTime:[2022-01-01 .. someday]".to_owned(),
        "created.dateTime:[2022-01-01, 2022-02-01]".to_owned(),
        "title:\"\"".to_owned(),
        "NOT (id:1 OR TITLE:\"caf\u{e9}\") AND platform:\"windows\" AND nope:1".to_owned(),
        "severity >= 3 AND created.dateTime < now-2w".to_owned(),
        format!("description:{long}"),
        "status:APPROVED AND (title:a OR".to_owned(),
    ];
    let out: Vec<String> = queries.iter().map(|q| error(q)).collect();
    insta::assert_snapshot!("qql_errors", out.join("\n\n").replace(&long, "x…x"));
}

fn chain(n: usize) -> String {
    vec!["id:1"; n].join(" AND ")
}

#[test]
fn limits_are_enforced_with_positions() {
    assert!(
        validate(
            &qql::parse(&chain(MAX_TERMS)).unwrap(),
            &CAR_JOB,
            Dialect::Qql,
            0
        )
        .is_ok()
    );
    let e = validate(
        &qql::parse(&chain(MAX_TERMS + 1)).unwrap(),
        &CAR_JOB,
        Dialect::Qql,
        0,
    )
    .unwrap_err();
    assert_eq!(e.kind, InvalidKind::TooManyTerms { limit: MAX_TERMS });
    // The first term past the limit.
    assert_eq!(e.span.map(|s| s.start), Some(MAX_TERMS * "id:1 AND ".len()));

    let list = |n: usize| format!("id:[{}]", vec!["7"; n].join(","));
    assert!(
        validate(
            &qql::parse(&list(MAX_VALUES)).unwrap(),
            &CAR_JOB,
            Dialect::Qql,
            0
        )
        .is_ok()
    );
    let e = validate(
        &qql::parse(&list(MAX_VALUES + 1)).unwrap(),
        &CAR_JOB,
        Dialect::Qql,
        0,
    )
    .unwrap_err();
    assert_eq!(e.kind, InvalidKind::TooManyValues { limit: MAX_VALUES });

    let at = |n: usize| format!("title:{}", "y".repeat(n));
    assert!(
        validate(
            &qql::parse(&at(MAX_VALUE_BYTES)).unwrap(),
            &CAR_JOB,
            Dialect::Qql,
            0
        )
        .is_ok()
    );
    let e = validate(
        &qql::parse(&at(MAX_VALUE_BYTES + 1)).unwrap(),
        &CAR_JOB,
        Dialect::Qql,
        0,
    )
    .unwrap_err();
    assert!(matches!(e.kind, InvalidKind::ValueTooLong { .. }));
    assert_eq!(e.span, Some(Span::new(6, 6 + MAX_VALUE_BYTES + 1)));
}

#[test]
fn trees_built_by_hand_are_bounded_too() {
    let mut deep = Filter::cond("id", Op::Equals, vec!["1".into()]);
    for _ in 0..MAX_TREE_DEPTH {
        deep = Filter::Not(Box::new(deep));
    }
    let e = validate(&deep, &CAR_JOB, Dialect::Qql, 0).unwrap_err();
    assert_eq!(
        e.kind,
        InvalidKind::TooDeep {
            limit: MAX_TREE_DEPTH
        }
    );
    // Added by the server: no position.
    assert_eq!(e.span, None);
}

#[test]
fn dialects_differ_where_the_languages_do() {
    let f = |q: &str| qql::parse(q).unwrap();
    let ok = |q: &str, d| validate(&f(q), &CAR_JOB, d, 0).is_ok();
    // Names: QQL ignores case, QPS does not.
    assert!(ok("SCRIPTID:1", Dialect::Qql));
    assert!(!ok("SCRIPTID:1", Dialect::Qps));
    // Booleans 1/0, relative dates and ranges are QQL's.
    assert!(ok("isTest:1", Dialect::Qql));
    assert!(!ok("isTest:1", Dialect::Qps));
    assert!(ok("created.dateTime = now-1d", Dialect::Qql));
    assert!(!ok("created.dateTime = now-1d", Dialect::Qps));
    assert!(ok("severity:[1 .. 3]", Dialect::Qql));
    assert!(!ok("severity:[1 .. 3]", Dialect::Qps));
}
