//! QPS `Criteria` → filter tree, with the CM guide's operator table and its exact error
//! texts ("Troubleshooting", and the messages real traffic shows).

use super::ast::{Filter, Op};
use super::catalog::{Catalog, FieldType, TimeUnit};
use super::sql::{self, Names, SqlWhere};

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

/// The guide's "Available operators" per type.
pub fn allowed_ops(ty: FieldType) -> &'static [Op] {
    match ty {
        FieldType::Integer => &[Op::Equals, Op::NotEquals, Op::Greater, Op::Lesser, Op::In],
        FieldType::Text => &[Op::Contains, Op::Equals, Op::NotEquals],
        FieldType::Date(_) => &[Op::Equals, Op::NotEquals, Op::Greater, Op::Lesser],
        FieldType::Keyword(_) => &[Op::Equals, Op::NotEquals, Op::In],
        FieldType::Boolean => &[Op::Equals, Op::NotEquals],
    }
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

/// Validate criteria against `catalog` and compile them (ANDed) to SQL.
pub fn compile(
    criteria: &[Criterion],
    catalog: &Catalog,
    now_ms: i64,
) -> Result<(Filter, SqlWhere), CriteriaError> {
    let mut parts = Vec::with_capacity(criteria.len());
    for c in criteria {
        let name = c.field.as_deref().map(str::trim).unwrap_or_default();
        if name.is_empty() {
            return Err(err(
                "Criteria: Field is required.".to_owned(),
                "Specify the name of the criteria to search against.",
            ));
        }
        let Some(field) = catalog.field(name) else {
            return Err(err(
                format!(
                    "Criteria: Invalid criteria ({name}). Please search against one of the \
                     following criteria: {}.",
                    catalog.names().join(", ")
                ),
                "Search against one of the criteria the message lists.",
            ));
        };
        let allowed = allowed_ops(field.ty);
        let op_text = c.operator.as_deref().unwrap_or("EQUALS");
        let op = Op::from_qps(op_text).filter(|op| allowed.contains(op));
        let Some(op) = op else {
            let names: Vec<&str> = allowed.iter().map(|o| o.qps_name()).collect();
            return Err(err(
                format!(
                    "Criteria: Invalid operator for criteria '{}' ({}). Allowed operations for \
                     this criteria are: {}.",
                    field.name,
                    op_text.trim(),
                    names.join(", ")
                ),
                "Use one of the operators the message lists.",
            ));
        };
        let raw = c.value.as_deref().map(str::trim).unwrap_or_default();
        if raw.is_empty() {
            return Err(err(
                format!("Criteria: Value is required for criteria '{}'.", field.name),
                "Specify a value for a field name for search criteria.",
            ));
        }
        let values: Vec<String> = if op == Op::In {
            raw.split(',').map(|v| v.trim().to_owned()).collect()
        } else {
            vec![raw.to_owned()]
        };
        for v in &values {
            if !value_fits(field.ty, v) {
                return Err(err(
                    format!(
                        "Criteria: Invalid value format for criteria '{}' ({v}).",
                        field.name
                    ),
                    value_resolution(field.ty),
                ));
            }
        }
        parts.push(Filter::cond(field.name, op, values));
    }
    let filter = Filter::and(parts);
    let sql = sql::compile(&filter, catalog, Names::Exact, now_ms).map_err(|e| {
        err(
            format!("Criteria: {e:?}"),
            "Check the criteria against the guide.",
        )
    })?;
    Ok((filter, sql))
}

fn value_fits(ty: FieldType, v: &str) -> bool {
    match ty {
        FieldType::Integer => v.parse::<i64>().is_ok(),
        FieldType::Boolean => v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false"),
        FieldType::Keyword(allowed) => allowed.iter().any(|a| a.eq_ignore_ascii_case(v)),
        FieldType::Date(_) => {
            !v.starts_with("now") && sql::date_span(v, 0, TimeUnit::Seconds).is_some()
        }
        FieldType::Text => !v.is_empty(),
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
}
