//! Filter + catalog → a parameterised SQL `WHERE` fragment.
//!
//! The SQL text is assembled only from the catalog's constant expressions and fixed
//! operators; every value from the client is bound as a parameter ([`SqlValue`]).

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time};

use super::ast::{Condition, Filter, Op};
use super::catalog::{Catalog, Field, FieldType, TimeUnit};

/// Deepest filter accepted (parsers bound it too; this keeps compile recursion small).
pub const MAX_DEPTH: usize = 32;

/// A bound parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlValue {
    Int(i64),
    Text(String),
}

/// A `WHERE` fragment and its parameters, in order of their `?`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SqlWhere {
    pub sql: String,
    pub params: Vec<SqlValue>,
}

/// Why a filter does not fit an object type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompileError {
    UnknownField {
        field: String,
        allowed: Vec<&'static str>,
    },
    InvalidOperator {
        field: String,
        op: Op,
    },
    MissingValue {
        field: String,
    },
    InvalidValue {
        field: String,
        value: String,
        ty: FieldType,
    },
    TooDeep,
}

/// How field names are looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Names {
    /// QPS: exact.
    Exact,
    /// QQL: case-insensitive.
    IgnoreCase,
}

/// Compile `filter` for `catalog`; `now_ms` anchors relative dates (`now-2w`).
pub fn compile(
    filter: &Filter,
    catalog: &Catalog,
    names: Names,
    now_ms: i64,
) -> Result<SqlWhere, CompileError> {
    if filter.depth() > MAX_DEPTH {
        return Err(CompileError::TooDeep);
    }
    let mut out = SqlWhere::default();
    Compiler {
        catalog,
        names,
        now_ms,
    }
    .filter(filter, &mut out)?;
    Ok(out)
}

struct Compiler<'a> {
    catalog: &'a Catalog,
    names: Names,
    now_ms: i64,
}

impl Compiler<'_> {
    fn filter(&self, filter: &Filter, out: &mut SqlWhere) -> Result<(), CompileError> {
        match filter {
            Filter::All => out.sql.push('1'),
            Filter::And(parts) | Filter::Or(parts) => {
                let sep = if matches!(filter, Filter::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                out.sql.push('(');
                for (i, part) in parts.iter().enumerate() {
                    if i > 0 {
                        out.sql.push_str(sep);
                    }
                    self.filter(part, out)?;
                }
                out.sql.push(')');
            }
            Filter::Not(inner) => {
                out.sql.push_str("NOT (");
                self.filter(inner, out)?;
                out.sql.push(')');
            }
            Filter::Cond(c) => self.condition(c, out)?,
        }
        Ok(())
    }

    fn field(&self, name: &str) -> Result<&'static Field, CompileError> {
        let found = match self.names {
            Names::Exact => self.catalog.field(name),
            Names::IgnoreCase => self.catalog.field_ignore_case(name),
        };
        found.ok_or_else(|| CompileError::UnknownField {
            field: name.to_owned(),
            allowed: self.catalog.names(),
        })
    }

    fn condition(&self, c: &Condition, out: &mut SqlWhere) -> Result<(), CompileError> {
        let field = self.field(&c.field)?;
        let needed = match c.op {
            Op::In => 1,
            Op::Between { .. } => 2,
            _ => 1,
        };
        if c.values.len() < needed || c.values.iter().any(|v| v.trim().is_empty()) {
            return Err(CompileError::MissingValue {
                field: field.name.to_owned(),
            });
        }
        let invalid_op = || CompileError::InvalidOperator {
            field: field.name.to_owned(),
            op: c.op,
        };
        let col = field.sql;
        match field.ty {
            FieldType::Integer | FieldType::Boolean | FieldType::Keyword(_) => {
                let values = c
                    .values
                    .iter()
                    .map(|v| scalar(field, v))
                    .collect::<Result<Vec<_>, _>>()?;
                let ordered = matches!(field.ty, FieldType::Integer);
                let sql_op = match c.op {
                    Op::Equals | Op::Matches | Op::Exact => "=",
                    Op::NotEquals => "<>",
                    Op::Greater if ordered => ">",
                    Op::Lesser if ordered => "<",
                    Op::GreaterOrEqual if ordered => ">=",
                    Op::LesserOrEqual if ordered => "<=",
                    Op::In if !matches!(field.ty, FieldType::Boolean) => {
                        out.sql.push_str(&format!("{col} IN ("));
                        out.sql.push_str(&vec!["?"; values.len()].join(", "));
                        out.sql.push(')');
                        out.params.extend(values);
                        return Ok(());
                    }
                    Op::Between { inclusive } if ordered => {
                        let (lo, hi) = if inclusive { (">=", "<=") } else { (">", "<") };
                        out.sql
                            .push_str(&format!("({col} {lo} ? AND {col} {hi} ?)"));
                        out.params.extend(values.into_iter().take(2));
                        return Ok(());
                    }
                    _ => return Err(invalid_op()),
                };
                out.sql.push_str(&format!("{col} {sql_op} ?"));
                out.params
                    .push(values.into_iter().next().unwrap_or(SqlValue::Int(0)));
            }
            FieldType::Text => {
                let value = c.values[0].clone();
                match c.op {
                    Op::Equals => push(out, format!("{col} = ? COLLATE NOCASE"), value),
                    Op::NotEquals => push(out, format!("{col} <> ? COLLATE NOCASE"), value),
                    Op::Exact => push(out, format!("{col} = ?"), value),
                    Op::Contains => push(
                        out,
                        format!("{col} LIKE ? ESCAPE '\\'"),
                        format!("%{}%", escape_like(&value)),
                    ),
                    Op::Matches => push(out, format!("qql_match({col}, ?)"), value),
                    Op::In => {
                        out.sql.push_str(&format!("{col} COLLATE NOCASE IN ("));
                        out.sql.push_str(&vec!["?"; c.values.len()].join(", "));
                        out.sql.push(')');
                        out.params
                            .extend(c.values.iter().cloned().map(SqlValue::Text));
                    }
                    _ => return Err(invalid_op()),
                }
            }
            FieldType::Date(unit) => {
                let span = |v: &str| {
                    date_span(v, self.now_ms, unit).ok_or_else(|| CompileError::InvalidValue {
                        field: field.name.to_owned(),
                        value: v.to_owned(),
                        ty: field.ty,
                    })
                };
                let (lo, hi) = span(&c.values[0])?;
                let (sql, params) = match c.op {
                    Op::Equals | Op::Matches | Op::Exact => {
                        (format!("({col} >= ? AND {col} < ?)"), vec![lo, hi])
                    }
                    Op::NotEquals => (format!("NOT ({col} >= ? AND {col} < ?)"), vec![lo, hi]),
                    Op::Greater => (format!("{col} >= ?"), vec![hi]),
                    Op::GreaterOrEqual => (format!("{col} >= ?"), vec![lo]),
                    Op::Lesser => (format!("{col} < ?"), vec![lo]),
                    Op::LesserOrEqual => (format!("{col} < ?"), vec![hi]),
                    Op::Between { inclusive } => {
                        let (lo2, hi2) = span(&c.values[1])?;
                        if inclusive {
                            (format!("({col} >= ? AND {col} < ?)"), vec![lo, hi2])
                        } else {
                            (format!("({col} >= ? AND {col} < ?)"), vec![hi, lo2])
                        }
                    }
                    _ => return Err(invalid_op()),
                };
                out.sql.push_str(&sql);
                out.params.extend(params.into_iter().map(SqlValue::Int));
            }
        }
        Ok(())
    }
}

fn push(out: &mut SqlWhere, sql: String, value: String) {
    out.sql.push_str(&sql);
    out.params.push(SqlValue::Text(value));
}

fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A typed scalar for integer, boolean and keyword fields.
fn scalar(field: &Field, value: &str) -> Result<SqlValue, CompileError> {
    let v = value.trim();
    let invalid = || CompileError::InvalidValue {
        field: field.name.to_owned(),
        value: value.to_owned(),
        ty: field.ty,
    };
    match field.ty {
        FieldType::Integer => v.parse::<i64>().map(SqlValue::Int).map_err(|_| invalid()),
        FieldType::Boolean => match v.to_ascii_lowercase().as_str() {
            "true" | "1" => Ok(SqlValue::Int(1)),
            "false" | "0" => Ok(SqlValue::Int(0)),
            _ => Err(invalid()),
        },
        FieldType::Keyword(allowed) => allowed
            .iter()
            .find(|a| a.eq_ignore_ascii_case(v) || a.eq_ignore_ascii_case(&v.replace(' ', "_")))
            .map(|a| SqlValue::Text((*a).to_owned()))
            .ok_or_else(invalid),
        FieldType::Text | FieldType::Date(_) => Ok(SqlValue::Text(v.to_owned())),
    }
}

/// A date value as the half-open span `[lo, hi)` it denotes, in the column's unit.
///
/// Accepted: `YYYY-MM-DDTHH:MM:SSZ` (and other RFC 3339), `YYYY-MM-DD` (the whole day, UTC),
/// `YYYY-MM-DD HH:MM:SS`, epoch milliseconds, and `now` with an optional offset
/// (`now-3M`, `now+1d`; units s, m, h, d, w, M = 30 days, y = 365 days).
pub fn date_span(value: &str, now_ms: i64, unit: TimeUnit) -> Option<(i64, i64)> {
    let (lo_ms, hi_ms) = date_span_ms(value.trim(), now_ms)?;
    Some(match unit {
        TimeUnit::Millis => (lo_ms, hi_ms),
        TimeUnit::Seconds => (lo_ms.div_euclid(1000), (hi_ms + 999).div_euclid(1000)),
    })
}

fn date_span_ms(v: &str, now_ms: i64) -> Option<(i64, i64)> {
    let ms = |dt: OffsetDateTime| i64::try_from(dt.unix_timestamp_nanos() / 1_000_000).ok();
    if let Some(rest) = v.strip_prefix("now") {
        let t = now_ms.checked_add(relative_offset_ms(rest)?)?;
        return Some((t, t + 1));
    }
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) && v.len() > 8 {
        let t: i64 = v.parse().ok()?;
        return Some((t, t + 1));
    }
    if let Ok(dt) = OffsetDateTime::parse(v, &Rfc3339) {
        let t = ms(dt)?;
        // Second precision unless the value gave fractions.
        return Some(if v.contains('.') {
            (t, t + 1)
        } else {
            (t, t + 1000)
        });
    }
    let datetime = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    if let Ok(dt) = PrimitiveDateTime::parse(v, &datetime) {
        let t = ms(dt.assume_utc())?;
        return Some((t, t + 1000));
    }
    let date = format_description!("[year]-[month]-[day]");
    if let Ok(d) = Date::parse(v, &date) {
        let t = ms(PrimitiveDateTime::new(d, Time::MIDNIGHT).assume_utc())?;
        return Some((t, t + 86_400_000));
    }
    None
}

fn relative_offset_ms(rest: &str) -> Option<i64> {
    if rest.is_empty() {
        return Some(0);
    }
    let (sign, body) = match rest.as_bytes()[0] {
        b'-' => (-1, &rest[1..]),
        b'+' => (1, &rest[1..]),
        _ => return None,
    };
    let split = body.find(|c: char| !c.is_ascii_digit())?;
    let (digits, unit) = body.split_at(split);
    let n: i64 = digits.parse().ok()?;
    let unit_ms: i64 = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        "M" => 30 * 86_400_000,
        "y" => 365 * 86_400_000,
        _ => return None,
    };
    n.checked_mul(unit_ms)?.checked_mul(sign)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::catalog::CM_ALERT;

    fn c(field: &str, op: Op, values: &[&str]) -> Filter {
        Filter::cond(field, op, values.iter().map(|v| (*v).to_owned()).collect())
    }

    fn sql(f: &Filter) -> SqlWhere {
        compile(f, &CM_ALERT, Names::Exact, 0).unwrap()
    }

    #[test]
    fn values_are_bound_never_spliced() {
        let evil = "x' OR 1=1 --";
        let w = sql(&c("hostname", Op::Equals, &[evil]));
        assert_eq!(w.sql, "a.hostname = ? COLLATE NOCASE");
        assert_eq!(w.params, vec![SqlValue::Text(evil.into())]);
    }

    #[test]
    fn typed_fields_convert_or_refuse() {
        let w = sql(&Filter::and(vec![
            c("id", Op::Greater, &["123"]),
            c("eventType", Op::In, &["port_open", "SSL_NEW"]),
            c("isHidden", Op::Equals, &["TRUE"]),
        ]));
        assert_eq!(
            w.sql,
            "(a.id > ? AND a.event_type IN (?, ?) AND a.is_hidden = ?)"
        );
        assert_eq!(
            w.params,
            vec![
                SqlValue::Int(123),
                SqlValue::Text("PORT_OPEN".into()),
                SqlValue::Text("SSL_NEW".into()),
                SqlValue::Int(1)
            ]
        );
        let err = compile(
            &c("id", Op::Equals, &["abc123"]),
            &CM_ALERT,
            Names::Exact,
            0,
        );
        assert!(
            matches!(err, Err(CompileError::InvalidValue { ref value, .. }) if value == "abc123")
        );
        let err = compile(
            &c("hostname", Op::Greater, &["a"]),
            &CM_ALERT,
            Names::Exact,
            0,
        );
        assert!(matches!(err, Err(CompileError::InvalidOperator { .. })));
        let err = compile(&c("nope", Op::Equals, &["a"]), &CM_ALERT, Names::Exact, 0);
        assert!(matches!(err, Err(CompileError::UnknownField { .. })));
    }

    #[test]
    fn contains_escapes_like_wildcards() {
        let w = sql(&c("hostname", Op::Contains, &["50%_off"]));
        assert_eq!(w.params, vec![SqlValue::Text("%50\\%\\_off%".into())]);
    }

    #[test]
    fn dates_become_spans() {
        assert_eq!(
            date_span("2018-06-04T10:57:43Z", 0, TimeUnit::Seconds),
            Some((1528109863, 1528109864))
        );
        assert_eq!(
            date_span("2018-06-04", 0, TimeUnit::Seconds),
            Some((1528070400, 1528156800))
        );
        assert_eq!(
            date_span("now-1d", 86_400_000, TimeUnit::Millis),
            Some((0, 1))
        );
        assert_eq!(date_span("yesterday", 0, TimeUnit::Millis), None);
        let w = sql(&c("eventDate", Op::Greater, &["2018-06-04T10:57:43Z"]));
        assert_eq!(w.sql, "a.event_s >= ?");
        assert_eq!(w.params, vec![SqlValue::Int(1528109864)]);
    }
}
