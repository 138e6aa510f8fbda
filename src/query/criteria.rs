//! QPS `Criteria` → filter tree, and the CM guide's wording of every filter error
//! ("Troubleshooting", with the value wording real traffic shows).
//!
//! ```text
//! criteria  = { criterion }                    ; ANDed
//! criterion = field operator value             ; <Criteria field=".." operator="..">value</Criteria>
//! field     = the attribute, trimmed; required
//! operator  = EQUALS | NOT EQUALS | GREATER | LESSER | IN | CONTAINS
//!                                              ; any case, inner spaces folded; EQUALS when absent
//! value     = the text, trimmed; for IN a comma-separated list
//! ```
//!
//! Each token's [`Span`] is the criterion's index. Parsing finds only a missing field and
//! an operator QPS does not have; everything else (field known, operator allowed for the
//! type, value format, limits) is `validate`'s, once, for both languages.

use super::ast::{Condition, Filter, Op, Span, Token};
use super::catalog::{Catalog, FieldType};
use super::sql::{self, SqlWhere};
use super::validate::{Dialect, Invalid, InvalidKind, qps_ops, resolve_field, validate};

/// One `<Criteria field=".." operator="..">value</Criteria>` as it arrived.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Criterion {
    pub field: Option<String>,
    pub operator: Option<String>,
    pub value: Option<String>,
}

/// A criteria error, worded as QPS words it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CriteriaError {
    pub message: String,
    pub resolution: String,
}

fn err(message: String, resolution: impl Into<String>) -> CriteriaError {
    CriteriaError {
        message,
        resolution: resolution.into(),
    }
}

/// What parsing a criteria list can find wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ParseError {
    /// No `field`, or a blank one.
    FieldRequired { index: usize },
    /// An operator QPS does not have.
    UnknownOperator {
        index: usize,
        field: Token,
        written: String,
    },
}

impl ParseError {
    fn index(&self) -> usize {
        match self {
            ParseError::FieldRequired { index } | ParseError::UnknownOperator { index, .. } => {
                *index
            }
        }
    }
}

/// Criteria → one tree (their `AND`).
pub(crate) fn parse(criteria: &[Criterion]) -> Result<Filter, ParseError> {
    let parts = criteria
        .iter()
        .enumerate()
        .map(|(index, c)| criterion(index, c).map(Filter::Cond))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Filter::and(parts))
}

/// `criterion = field operator value`
fn criterion(index: usize, c: &Criterion) -> Result<Condition, ParseError> {
    let span = Span::new(index, index + 1);
    let name = c.field.as_deref().map(str::trim).unwrap_or_default();
    if name.is_empty() {
        return Err(ParseError::FieldRequired { index });
    }
    let field = Token::new(name, span);
    let written = c.operator.as_deref().unwrap_or("EQUALS");
    let Some(op) = Op::from_qps(written) else {
        return Err(ParseError::UnknownOperator {
            index,
            field,
            written: written.trim().to_owned(),
        });
    };
    let raw = c.value.as_deref().map(str::trim).unwrap_or_default();
    let values = if op == Op::In {
        raw.split(',').map(|v| Token::new(v.trim(), span)).collect()
    } else {
        vec![Token::new(raw, span)]
    };
    Ok(Condition { field, op, values })
}

/// Parse, validate and compile criteria (ANDed) for `catalog`, errors worded as QPS does.
pub fn compile(
    criteria: &[Criterion],
    catalog: &Catalog,
    now_ms: i64,
) -> Result<(Filter, SqlWhere), CriteriaError> {
    let word = |e: Invalid| qps_message(&e, criteria, catalog);
    let filter = match parse(criteria) {
        Ok(filter) => filter,
        Err(e) => {
            // The guide's order: the criteria before this one first, then this one's
            // field, then its operator.
            if let Ok(before) = parse(&criteria[..e.index()]) {
                validate(&before, catalog, Dialect::Qps, now_ms).map_err(word)?;
            }
            if let ParseError::UnknownOperator { field, .. } = &e {
                resolve_field(catalog, Dialect::Qps, field).map_err(word)?;
            }
            return Err(parse_message(&e, catalog));
        }
    };
    let checked = validate(&filter, catalog, Dialect::Qps, now_ms).map_err(word)?;
    Ok((filter, sql::emit(&checked)))
}

/// The guide's "Allowed operations for this criteria are: …" for a type.
fn allowed_ops(ty: FieldType) -> String {
    let names: Vec<&str> = qps_ops(ty).iter().map(|o| o.qps_name()).collect();
    names.join(", ")
}

fn parse_message(e: &ParseError, catalog: &Catalog) -> CriteriaError {
    match e {
        ParseError::FieldRequired { .. } => err(
            "Criteria: Field is required.".to_owned(),
            "Specify the name of the criteria to search against.",
        ),
        ParseError::UnknownOperator { field, written, .. } => {
            let ty = catalog.field(field.as_str()).map(|f| f.ty);
            operator_message(field.as_str(), written, ty)
        }
    }
}

fn operator_message(field: &str, written: &str, ty: Option<FieldType>) -> CriteriaError {
    err(
        format!(
            "Criteria: Invalid operator for criteria '{field}' ({written}). Allowed operations \
             for this criteria are: {}.",
            ty.map(allowed_ops).unwrap_or_default()
        ),
        "Use one of the operators the message lists.",
    )
}

fn value_resolution(ty: FieldType) -> String {
    match ty {
        FieldType::Boolean => "Values expected: true, false.".to_owned(),
        FieldType::Date(_) => {
            "Specify criteria value(s) as Date and Time in UTC format (YYYY-MM-DDTHH:MM:SSZ)."
                .to_owned()
        }
        FieldType::Keyword(values) => format!("Values expected: {}.", values.join(", ")),
        other => format!("Specify criteria value(s) as {}.", other.qps_name()),
    }
}

/// A validation error in the CM guide's words.
fn qps_message(e: &Invalid, criteria: &[Criterion], catalog: &Catalog) -> CriteriaError {
    // The operator as the client wrote it, for the operator error.
    let written = || {
        e.span
            .and_then(|s| criteria.get(s.start))
            .and_then(|c| c.operator.as_deref())
            .unwrap_or("EQUALS")
            .trim()
            .to_owned()
    };
    match &e.kind {
        InvalidKind::UnknownField { field } => err(
            format!(
                "Criteria: Invalid criteria ({field}). Please search against one of the \
                 following criteria: {}.",
                catalog.names().join(", ")
            ),
            "Search against one of the criteria the message lists.",
        ),
        InvalidKind::OperatorNotAllowed { field, .. } => {
            operator_message(field.name, &written(), Some(field.ty))
        }
        InvalidKind::MissingValue { field } => err(
            format!("Criteria: Value is required for criteria '{}'.", field.name),
            "Specify a value for a field name for search criteria.",
        ),
        InvalidKind::InvalidValue { field, value } => err(
            format!(
                "Criteria: Invalid value format for criteria '{}' ({value}).",
                field.name
            ),
            value_resolution(field.ty),
        ),
        InvalidKind::ValueTooLong { field, limit } => err(
            format!(
                "Criteria: Value for criteria '{}' is longer than {limit} bytes.",
                field.name
            ),
            format!("Specify a value of at most {limit} bytes."),
        ),
        InvalidKind::TooManyTerms { limit } => err(
            format!("Criteria: Too many criteria; at most {limit} are allowed."),
            format!("Search with at most {limit} criteria; split the search if needed."),
        ),
        InvalidKind::TooManyValues { limit } => err(
            format!("Criteria: Too many values; at most {limit} are allowed in one request."),
            format!("Specify at most {limit} values in all; split the search if needed."),
        ),
        InvalidKind::TooDeep { limit } => err(
            format!("Criteria: Criteria nest deeper than {limit} levels."),
            "Specify a flat list of criteria.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::catalog::{CM_ALERT, CM_PROFILE};

    fn crit(field: &str, op: &str, value: &str) -> Criterion {
        Criterion {
            field: Some(field.into()),
            operator: Some(op.into()),
            value: Some(value.into()),
        }
    }

    fn message(c: Criterion) -> (String, String) {
        let e = compile(&[c], &CM_ALERT, 0).unwrap_err();
        (e.message, e.resolution)
    }

    #[test]
    fn guide_error_texts() {
        insta::assert_debug_snapshot!([
            message(Criterion::default()),
            message(crit("color", "EQUALS", "x")),
            message(crit("hostname", "GREATER", "x")),
            message(crit("id", "LIKE", "1")),
            message(crit("hostname", "EQUALS", " ")),
            message(crit("id", "EQUALS", "abc123")),
            message(crit("isHidden", "EQUALS", "yes")),
            message(crit("eventType", "IN", "PORT_OPEN,NOPE")),
            message(crit("eventDate", "GREATER", "June 4")),
        ]);
    }

    fn messages(list: &[Criterion]) -> (String, String) {
        let e = compile(list, &CM_ALERT, 0).unwrap_err();
        (e.message, e.resolution)
    }

    #[test]
    fn precedence_and_limits() {
        use crate::query::limits::{MAX_TERMS, MAX_VALUE_BYTES, MAX_VALUES};
        let many = vec![crit("id", "GREATER", "1"); MAX_TERMS + 1];
        let ids = vec!["7"; MAX_VALUES + 1].join(",");
        let long = "h".repeat(MAX_VALUE_BYTES + 1);
        insta::assert_debug_snapshot!(
            "criteria_errors",
            [
                // An unknown field is reported before an unknown operator.
                message(crit("color", "LIKE", "x")),
                // The operator as written.
                message(crit("hostname", "greater", "x")),
                // An earlier criterion's error comes first.
                messages(&[crit("id", "EQUALS", "x"), Criterion::default()]),
                messages(&[crit("id", "EQUALS", "1"), crit("id", "BETWEEN", "1")]),
                // An empty item of an IN list is a bad value, not a missing one.
                message(crit("id", "IN", "1,,2")),
                message(crit("id", "IN", " , ")),
                messages(&many),
                message(crit("id", "IN", &ids)),
                message(crit("hostname", "CONTAINS", &long)),
            ]
        );
        assert!(compile(&many[..MAX_TERMS], &CM_ALERT, 0).is_ok());
    }

    #[test]
    fn criteria_trees_carry_their_index() {
        let filter = parse(&[
            crit("ipAddress", "EQUALS", " 10.10.30.70 "),
            crit("eventType", "in", "PORT_OPEN, SSL_NEW"),
        ])
        .unwrap();
        insta::assert_snapshot!(filter.outline(), @r#"And("ipAddress"@0..1 Equals ["10.10.30.70"@0..1], "eventType"@1..2 In ["PORT_OPEN"@1..2, "SSL_NEW"@1..2])"#);
    }

    #[test]
    fn criteria_are_anded() {
        let (filter, sql) = compile(
            &[
                crit("ipAddress", "EQUALS", "10.10.30.70"),
                crit("id", "not  equals", "5"),
            ],
            &CM_ALERT,
            0,
        )
        .unwrap();
        assert_eq!(filter.to_string(), "ipAddress = 10.10.30.70 AND NOT id = 5");
        assert_eq!(sql.sql, "(a.ip_address = ? COLLATE NOCASE AND a.id <> ?)");
    }

    #[test]
    fn missing_operator_means_equals() {
        let c = Criterion {
            field: Some("isActive".into()),
            operator: None,
            value: Some("true".into()),
        };
        assert!(compile(&[c], &CM_PROFILE, 0).is_ok());
    }

    mod props {
        use super::super::{Criterion, compile};
        use crate::query::catalog::{CM_ALERT, CM_PROFILE, CM_RULE, CM_RULESET};
        use proptest::prelude::*;

        fn text(known: &'static [&'static str]) -> impl Strategy<Value = Option<String>> {
            prop_oneof![
                Just(None),
                prop::sample::select(known).prop_map(|s| Some(s.to_owned())),
                "\\PC{0,12}".prop_map(Some),
            ]
        }

        fn criterion() -> impl Strategy<Value = Criterion> {
            (
                text(&[
                    "id",
                    "eventType",
                    "hostname",
                    "isHidden",
                    "eventDate",
                    "title",
                    "uuid",
                ]),
                text(&[
                    "EQUALS",
                    "not equals",
                    "GREATER",
                    "LESSER",
                    "IN",
                    "CONTAINS",
                    "LIKE",
                ]),
                text(&[
                    "1",
                    "true",
                    "PORT_OPEN",
                    "2018-06-04",
                    "1,2,,3",
                    "now-1d",
                    " ",
                    "-9223372036854775809",
                ]),
            )
                .prop_map(|(field, operator, value)| Criterion {
                    field,
                    operator,
                    value,
                })
        }

        proptest! {
            /// Any criteria: SQL or a QPS error, never a panic.
            #[test]
            fn no_criteria_panic(list in prop::collection::vec(criterion(), 0..6)) {
                for catalog in [&CM_ALERT, &CM_PROFILE, &CM_RULE, &CM_RULESET] {
                    if let Err(e) = compile(&list, catalog, 0) {
                        prop_assert!(e.message.starts_with("Criteria: "), "{}", e.message);
                    }
                }
            }
        }
    }
}
