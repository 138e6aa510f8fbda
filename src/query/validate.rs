//! A parsed [`Filter`] checked once against an object type's [`Catalog`]: every field
//! known, every operator allowed for the field's type, every value parsed for that type,
//! and the whole within the [`limits`](super::limits). The result is a [`Checked`] tree of
//! typed predicates that [`super::sql`] turns into SQL without any further failure.
//!
//! Errors are typed ([`Invalid`]) and carry the [`Span`] of the token at fault; each
//! surface words them (CAR with the position, CM with the guide's Troubleshooting texts).

use std::fmt;

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time};

use super::ast::{Condition, Filter, Op, Span, Token};
use super::catalog::{Catalog, Field, FieldType, TimeUnit};
use super::limits::{MAX_DEPTH, MAX_TERMS, MAX_VALUE_BYTES, MAX_VALUES};

/// A validated value, as SQL binds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlValue {
    Int(i64),
    Text(String),
}

/// Which language the filter came in: it decides how names are looked up, which operators
/// a type takes and which value spellings are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// CAR's QQL: case-insensitive names; `1`/`0` booleans; `Pending Review` for
    /// `PENDING_REVIEW`; relative dates (`now-2w`); ranges, `>=`, `<=`, text matching.
    Qql,
    /// CM's QPS criteria: exact names, the guide's operator table, `true`/`false`, and
    /// absolute dates only.
    Qps,
}

/// Why a filter does not fit an object type, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// The token at fault; `None` when the server added it.
    pub span: Option<Span>,
    pub kind: InvalidKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvalidKind {
    /// No field of that name; `known` are the catalog's.
    UnknownField {
        field: String,
        known: Vec<&'static str>,
    },
    /// The field's type does not take the operator.
    OperatorNotAllowed { field: &'static Field, op: Op },
    /// An empty value, or none.
    MissingValue { field: &'static Field },
    /// A value that does not parse as the field's type.
    InvalidValue {
        field: &'static Field,
        value: String,
    },
    /// A value longer than [`MAX_VALUE_BYTES`].
    ValueTooLong { field: &'static Field, limit: usize },
    /// More conditions than [`MAX_TERMS`].
    TooManyTerms { limit: usize },
    /// More values than [`MAX_VALUES`].
    TooManyValues { limit: usize },
    /// Nested deeper than the tree bound (parsers refuse this first).
    TooDeep { limit: usize },
}

/// A plain description, for logs and for callers without a surface of their own; each
/// API words these itself.
impl fmt::Display for InvalidKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvalidKind::UnknownField { field, .. } => write!(f, "unknown field '{field}'"),
            InvalidKind::OperatorNotAllowed { field, op } => {
                write!(f, "operator {op:?} does not apply to {}", field.name)
            }
            InvalidKind::MissingValue { field } => write!(f, "{} needs a value", field.name),
            InvalidKind::InvalidValue { field, value } => {
                write!(f, "'{value}' is not a valid {} value", field.name)
            }
            InvalidKind::ValueTooLong { field, limit } => {
                write!(f, "a {} value is longer than {limit} bytes", field.name)
            }
            InvalidKind::TooManyTerms { limit } => write!(f, "more than {limit} conditions"),
            InvalidKind::TooManyValues { limit } => write!(f, "more than {limit} values"),
            InvalidKind::TooDeep { limit } => write!(f, "nested deeper than {limit} levels"),
        }
    }
}

/// A validated filter: typed predicates over catalog columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Checked(pub(crate) Node);

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    All,
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Pred { col: &'static str, test: Test },
}

/// SQL comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
}

/// One predicate on a column, its values already typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Test {
    /// `col op ?`, case-insensitively for text when `nocase`.
    Cmp {
        op: Cmp,
        value: SqlValue,
        nocase: bool,
    },
    /// `(col lo ? AND col hi ?)`, negated when `not`.
    Both {
        lo: (Cmp, SqlValue),
        hi: (Cmp, SqlValue),
        not: bool,
    },
    /// `col IN (?, …)`.
    In { values: Vec<SqlValue>, nocase: bool },
    /// `col LIKE ? ESCAPE '\'` with an escaped `%value%` pattern.
    Contains(String),
    /// QQL's tokenised phrase match (`qql_match(col, ?)`).
    Matches(String),
}

/// The CM guide's "Available operators" per type (the QPS operator table).
pub fn qps_ops(ty: FieldType) -> &'static [Op] {
    match ty {
        FieldType::Integer => &[Op::Equals, Op::NotEquals, Op::Greater, Op::Lesser, Op::In],
        FieldType::Text => &[Op::Contains, Op::Equals, Op::NotEquals],
        FieldType::Date(_) => &[Op::Equals, Op::NotEquals, Op::Greater, Op::Lesser],
        FieldType::Keyword(_) => &[Op::Equals, Op::NotEquals, Op::In],
        FieldType::Boolean => &[Op::Equals, Op::NotEquals],
    }
}

/// Whether `op` applies to a field of type `ty` in `dialect`.
fn op_allowed(dialect: Dialect, ty: FieldType, op: Op) -> bool {
    match dialect {
        Dialect::Qps => qps_ops(ty).contains(&op),
        Dialect::Qql => match ty {
            FieldType::Integer => !matches!(op, Op::Contains),
            FieldType::Keyword(_) => matches!(
                op,
                Op::Equals | Op::NotEquals | Op::Matches | Op::Exact | Op::In
            ),
            FieldType::Boolean => {
                matches!(op, Op::Equals | Op::NotEquals | Op::Matches | Op::Exact)
            }
            FieldType::Text => matches!(
                op,
                Op::Equals | Op::NotEquals | Op::Exact | Op::Contains | Op::Matches | Op::In
            ),
            FieldType::Date(_) => !matches!(op, Op::Contains | Op::In),
        },
    }
}

/// Look a field name up as `dialect` does.
pub(crate) fn resolve_field(
    catalog: &Catalog,
    dialect: Dialect,
    name: &Token,
) -> Result<&'static Field, Invalid> {
    let found = match dialect {
        Dialect::Qps => catalog.field(name.as_str()),
        Dialect::Qql => catalog.field_ignore_case(name.as_str()),
    };
    found.ok_or_else(|| Invalid {
        span: name.span,
        kind: InvalidKind::UnknownField {
            field: name.text.clone(),
            known: catalog.names(),
        },
    })
}

/// Check `filter` against `catalog`; `now_ms` anchors relative dates (`now-2w`).
pub(crate) fn validate(
    filter: &Filter,
    catalog: &Catalog,
    dialect: Dialect,
    now_ms: i64,
) -> Result<Checked, Invalid> {
    let mut v = Validator {
        catalog,
        dialect,
        now_ms,
        terms: 0,
        values: 0,
    };
    v.node(filter, 1).map(Checked)
}

/// The deepest tree accepted: QQL's nesting bound, plus a top-level chain and its leaves.
const MAX_TREE_DEPTH: usize = MAX_DEPTH + 2;

struct Validator<'a> {
    catalog: &'a Catalog,
    dialect: Dialect,
    now_ms: i64,
    terms: usize,
    values: usize,
}

impl Validator<'_> {
    fn node(&mut self, filter: &Filter, depth: usize) -> Result<Node, Invalid> {
        if depth > MAX_TREE_DEPTH {
            return Err(Invalid {
                span: first_span(filter),
                kind: InvalidKind::TooDeep {
                    limit: MAX_TREE_DEPTH,
                },
            });
        }
        Ok(match filter {
            Filter::All => Node::All,
            Filter::And(parts) => Node::And(self.nodes(parts, depth)?),
            Filter::Or(parts) => Node::Or(self.nodes(parts, depth)?),
            Filter::Not(inner) => Node::Not(Box::new(self.node(inner, depth + 1)?)),
            Filter::Cond(c) => self.condition(c)?,
        })
    }

    fn nodes(&mut self, parts: &[Filter], depth: usize) -> Result<Vec<Node>, Invalid> {
        parts.iter().map(|p| self.node(p, depth + 1)).collect()
    }

    /// One condition: limits, field, operator, values — in the order the CM guide's
    /// errors take precedence.
    fn condition(&mut self, c: &Condition) -> Result<Node, Invalid> {
        // The client's conditions: those the server adds (a date bound, an id cursor) have
        // no span and do not count against the client.
        if c.field.span.is_some() {
            self.terms += 1;
        }
        if self.terms > MAX_TERMS {
            return Err(Invalid {
                span: c.field.span,
                kind: InvalidKind::TooManyTerms { limit: MAX_TERMS },
            });
        }
        self.values += c.values.len();
        if self.values > MAX_VALUES {
            return Err(Invalid {
                span: c.values.last().and_then(|v| v.span).or(c.field.span),
                kind: InvalidKind::TooManyValues { limit: MAX_VALUES },
            });
        }
        let field = resolve_field(self.catalog, self.dialect, &c.field)?;
        if !op_allowed(self.dialect, field.ty, c.op) {
            return Err(Invalid {
                span: c.field.span,
                kind: InvalidKind::OperatorNotAllowed { field, op: c.op },
            });
        }
        let needed = if matches!(c.op, Op::Between { .. }) {
            2
        } else {
            1
        };
        let empty = |v: &Token| v.text.trim().is_empty();
        let missing = match self.dialect {
            // QPS: the whole value empty; an empty item of an `IN` list is a bad value.
            Dialect::Qps => c.values.iter().all(empty),
            Dialect::Qql => c.values.iter().any(empty),
        };
        if c.values.len() < needed || missing {
            return Err(Invalid {
                span: c.values.first().and_then(|v| v.span).or(c.field.span),
                kind: InvalidKind::MissingValue { field },
            });
        }
        if let Some(long) = c.values.iter().find(|v| v.text.len() > MAX_VALUE_BYTES) {
            return Err(Invalid {
                span: long.span,
                kind: InvalidKind::ValueTooLong {
                    field,
                    limit: MAX_VALUE_BYTES,
                },
            });
        }
        let test = match field.ty {
            FieldType::Integer | FieldType::Boolean | FieldType::Keyword(_) => {
                let values = c
                    .values
                    .iter()
                    .map(|v| self.scalar(field, v))
                    .collect::<Result<Vec<_>, _>>()?;
                scalar_test(c.op, values)
            }
            FieldType::Text => text_test(c.op, &c.values),
            FieldType::Date(unit) => {
                let spans = c
                    .values
                    .iter()
                    .map(|v| self.date(field, unit, v))
                    .collect::<Result<Vec<_>, _>>()?;
                date_test(c.op, &spans)
            }
        };
        Ok(Node::Pred {
            col: field.sql,
            test,
        })
    }

    fn invalid(field: &'static Field, value: &Token) -> Invalid {
        Invalid {
            span: value.span,
            kind: InvalidKind::InvalidValue {
                field,
                value: value.text.clone(),
            },
        }
    }

    /// A typed scalar for integer, boolean and keyword fields.
    fn scalar(&self, field: &'static Field, value: &Token) -> Result<SqlValue, Invalid> {
        let v = value.text.trim();
        let qql = self.dialect == Dialect::Qql;
        let parsed = match field.ty {
            FieldType::Integer => v.parse::<i64>().ok().map(SqlValue::Int),
            FieldType::Boolean => match v.to_ascii_lowercase().as_str() {
                "true" => Some(SqlValue::Int(1)),
                "false" => Some(SqlValue::Int(0)),
                "1" if qql => Some(SqlValue::Int(1)),
                "0" if qql => Some(SqlValue::Int(0)),
                _ => None,
            },
            FieldType::Keyword(allowed) => allowed
                .iter()
                .find(|a| {
                    a.eq_ignore_ascii_case(v)
                        || (qql && a.eq_ignore_ascii_case(&v.replace(' ', "_")))
                })
                .map(|a| SqlValue::Text((*a).to_owned())),
            FieldType::Text | FieldType::Date(_) => Some(SqlValue::Text(v.to_owned())),
        };
        parsed.ok_or_else(|| Self::invalid(field, value))
    }

    /// A date value as the half-open span `[lo, hi)` it denotes, in the column's unit.
    fn date(
        &self,
        field: &'static Field,
        unit: TimeUnit,
        value: &Token,
    ) -> Result<(i64, i64), Invalid> {
        let v = value.text.trim();
        if self.dialect == Dialect::Qps && v.starts_with("now") {
            return Err(Self::invalid(field, value));
        }
        date_span(v, self.now_ms, unit).ok_or_else(|| Self::invalid(field, value))
    }
}

/// The first span in a tree, for errors about the tree as a whole.
fn first_span(filter: &Filter) -> Option<Span> {
    match filter {
        Filter::All => None,
        Filter::Cond(c) => c.field.span,
        Filter::Not(inner) => first_span(inner),
        Filter::And(parts) | Filter::Or(parts) => parts.iter().find_map(first_span),
    }
}

/// Integer, boolean and keyword fields (operators already allowed for the type).
fn scalar_test(op: Op, mut values: Vec<SqlValue>) -> Test {
    let cmp = |op| Test::Cmp {
        op,
        value: values[0].clone(),
        nocase: false,
    };
    match op {
        Op::NotEquals => cmp(Cmp::Ne),
        Op::Greater => cmp(Cmp::Gt),
        Op::Lesser => cmp(Cmp::Lt),
        Op::GreaterOrEqual => cmp(Cmp::Ge),
        Op::LesserOrEqual => cmp(Cmp::Le),
        Op::In => Test::In {
            values,
            nocase: false,
        },
        Op::Between { inclusive } => {
            let hi = values.swap_remove(1);
            let lo = values.swap_remove(0);
            let (l, h) = if inclusive {
                (Cmp::Ge, Cmp::Le)
            } else {
                (Cmp::Gt, Cmp::Lt)
            };
            Test::Both {
                lo: (l, lo),
                hi: (h, hi),
                not: false,
            }
        }
        Op::Equals | Op::Matches | Op::Exact | Op::Contains => cmp(Cmp::Eq),
    }
}

/// Text fields (operators already allowed for the type).
fn text_test(op: Op, values: &[Token]) -> Test {
    let value = values[0].text.clone();
    let cmp = |op, nocase| Test::Cmp {
        op,
        value: SqlValue::Text(value.clone()),
        nocase,
    };
    match op {
        Op::NotEquals => cmp(Cmp::Ne, true),
        Op::Exact => cmp(Cmp::Eq, false),
        Op::Contains => Test::Contains(format!("%{}%", escape_like(&value))),
        Op::Matches => Test::Matches(value),
        Op::In => Test::In {
            values: values
                .iter()
                .map(|v| SqlValue::Text(v.text.clone()))
                .collect(),
            nocase: true,
        },
        Op::Equals
        | Op::Greater
        | Op::Lesser
        | Op::GreaterOrEqual
        | Op::LesserOrEqual
        | Op::Between { .. } => cmp(Cmp::Eq, true),
    }
}

/// Date fields: each value is a span `[lo, hi)` (operators already allowed for the type).
fn date_test(op: Op, spans: &[(i64, i64)]) -> Test {
    let (lo, hi) = spans[0];
    let one = |op, t| Test::Cmp {
        op,
        value: SqlValue::Int(t),
        nocase: false,
    };
    let within = |lo, hi, not| Test::Both {
        lo: (Cmp::Ge, SqlValue::Int(lo)),
        hi: (Cmp::Lt, SqlValue::Int(hi)),
        not,
    };
    match op {
        Op::NotEquals => within(lo, hi, true),
        Op::Greater => one(Cmp::Ge, hi),
        Op::GreaterOrEqual => one(Cmp::Ge, lo),
        Op::Lesser => one(Cmp::Lt, lo),
        Op::LesserOrEqual => one(Cmp::Lt, hi),
        Op::Between { inclusive } => {
            let (lo2, hi2) = spans[1];
            if inclusive {
                within(lo, hi2, false)
            } else {
                within(hi, lo2, false)
            }
        }
        Op::Equals | Op::Matches | Op::Exact | Op::Contains | Op::In => within(lo, hi, false),
    }
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

/// A date value as the half-open span `[lo, hi)` it denotes, in the column's unit.
///
/// Accepted: `YYYY-MM-DDTHH:MM:SSZ` (and other RFC 3339), `YYYY-MM-DD` (the whole day, UTC),
/// `YYYY-MM-DD HH:MM:SS`, epoch milliseconds, and `now` with an optional offset
/// (`now-3M`, `now+1d`; units s, m, h, d, w, M = 30 days, y = 365 days).
pub(crate) fn date_span(value: &str, now_ms: i64, unit: TimeUnit) -> Option<(i64, i64)> {
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
        return Some((t, t.checked_add(1)?));
    }
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) && v.len() > 8 {
        let t: i64 = v.parse().ok()?;
        return Some((t, t.checked_add(1)?));
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
mod tests;
