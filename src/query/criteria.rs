//! QPS `Criteria` → filter tree → SQL, with typed errors ([`CriteriaError`]) that the CM
//! surface words as the guide's Troubleshooting table does.
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

use std::fmt;

use super::ast::{Condition, Filter, Op, Span, Token};
use super::catalog::{Catalog, Field};
use super::sql::{self, SqlWhere};
pub(crate) use super::validate::qps_ops;
use super::validate::{Dialect, Invalid, InvalidKind, resolve_field, validate};

/// One `<Criteria field=".." operator="..">value</Criteria>` as it arrived.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Criterion {
    pub field: Option<String>,
    pub operator: Option<String>,
    pub value: Option<String>,
}

/// Why a criteria list does not fit an object type, typed: the CM surface words it (the
/// guide's Troubleshooting texts, in `cm::error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CriteriaError {
    /// The criterion at fault (0-based), when one is.
    pub index: Option<usize>,
    pub fault: CriteriaFault,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CriteriaFault {
    /// No `field`, or a blank one.
    FieldRequired,
    /// An operator QPS lacks, or one the field's type does not take; as written.
    InvalidOperator {
        field: &'static Field,
        written: String,
    },
    /// Everything else validation finds (unknown field, value, limits).
    Invalid(InvalidKind),
}

impl fmt::Display for CriteriaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(i) = self.index {
            write!(f, "criterion {i}: ")?;
        }
        match &self.fault {
            CriteriaFault::FieldRequired => f.write_str("a field is required"),
            CriteriaFault::InvalidOperator { field, written } => {
                write!(f, "operator {written} does not apply to {}", field.name)
            }
            CriteriaFault::Invalid(kind) => write!(f, "{kind}"),
        }
    }
}

impl std::error::Error for CriteriaError {}

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

/// Parse, validate and compile criteria (ANDed) for `catalog`.
pub fn compile(
    criteria: &[Criterion],
    catalog: &Catalog,
    now_ms: i64,
) -> Result<(Filter, SqlWhere), CriteriaError> {
    let filter = match parse(criteria) {
        Ok(filter) => filter,
        Err(e) => {
            // The guide's order: the criteria before this one first, then this one's
            // field, then its operator.
            if let Ok(before) = parse(&criteria[..e.index()]) {
                validate(&before, catalog, Dialect::Qps, now_ms).map_err(invalid)?;
            }
            return Err(match e {
                ParseError::FieldRequired { index } => CriteriaError {
                    index: Some(index),
                    fault: CriteriaFault::FieldRequired,
                },
                ParseError::UnknownOperator {
                    index,
                    field,
                    written,
                } => CriteriaError {
                    index: Some(index),
                    fault: CriteriaFault::InvalidOperator {
                        field: resolve_field(catalog, Dialect::Qps, &field).map_err(invalid)?,
                        written,
                    },
                },
            });
        }
    };
    let checked = validate(&filter, catalog, Dialect::Qps, now_ms).map_err(|e| {
        // The operator as the client wrote it.
        let index = e.span.map(|s| s.start);
        match e.kind {
            InvalidKind::OperatorNotAllowed { field, .. } => CriteriaError {
                index,
                fault: CriteriaFault::InvalidOperator {
                    field,
                    written: index
                        .and_then(|i| criteria.get(i))
                        .and_then(|c| c.operator.as_deref())
                        .unwrap_or("EQUALS")
                        .trim()
                        .to_owned(),
                },
            },
            _ => invalid(e),
        }
    })?;
    Ok((filter, sql::emit(&checked)))
}

fn invalid(e: Invalid) -> CriteriaError {
    CriteriaError {
        index: e.span.map(|s| s.start),
        fault: CriteriaFault::Invalid(e.kind),
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

    fn error(list: &[Criterion]) -> String {
        compile(list, &CM_ALERT, 0).unwrap_err().to_string()
    }

    /// Typed errors, with the criterion at fault; `cm::error` words them.
    #[test]
    fn errors_name_the_criterion_at_fault() {
        use crate::query::limits::{MAX_TERMS, MAX_VALUE_BYTES, MAX_VALUES};
        let ok = crit("id", "GREATER", "1");
        let errors = [
            error(&[Criterion::default()]),
            error(&[ok.clone(), crit("color", "LIKE", "x")]),
            error(&[ok.clone(), ok.clone(), crit("hostname", "greater", "x")]),
            error(&[crit("id", "EQUALS", "x"), Criterion::default()]),
            error(&[crit("id", "IN", "1,,2")]),
            error(&[crit("isHidden", "EQUALS", " ")]),
            error(&vec![ok.clone(); MAX_TERMS + 1]),
            error(&[crit("id", "IN", &vec!["7"; MAX_VALUES + 1].join(","))]),
            error(&[crit(
                "hostname",
                "CONTAINS",
                &"h".repeat(MAX_VALUE_BYTES + 1),
            )]),
        ];
        insta::assert_snapshot!(errors.join("\n"), @r"
        criterion 0: a field is required
        criterion 1: unknown field 'color'
        criterion 2: operator greater does not apply to hostname
        criterion 0: 'x' is not a valid id value
        criterion 0: '' is not a valid id value
        criterion 0: isHidden needs a value
        criterion 500: more than 500 conditions
        criterion 0: more than 30000 values
        criterion 0: a hostname value is longer than 10000 bytes
        ");
        assert!(compile(&vec![ok; MAX_TERMS], &CM_ALERT, 0).is_ok());
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
                        // Past the limits' own faults, the criterion at fault is named.
                        prop_assert!(e.index.is_some_and(|i| i < list.len()), "{:?}", e);
                    }
                }
            }
        }
    }
}
