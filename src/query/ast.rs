//! The filter tree both query languages parse into.

use std::fmt;

/// A filter over one object type's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// Matches everything (no filter given).
    All,
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    Cond(Condition),
}

/// `field op value(s)`. Values stay text until the catalog gives the field a type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub field: String,
    pub op: Op,
    /// One value for most operators; any number for `In`; two for `Between`.
    pub values: Vec<String>,
}

/// Comparison operators of both languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// QPS `EQUALS`, QQL `=`.
    Equals,
    /// QPS `NOT EQUALS`.
    NotEquals,
    /// QPS `GREATER`, QQL `>`.
    Greater,
    /// QPS `LESSER`, QQL `<`.
    Lesser,
    /// QQL `>=`.
    GreaterOrEqual,
    /// QQL `<=`.
    LesserOrEqual,
    /// QPS `IN`, QQL `[a, b]`.
    In,
    /// QPS `CONTAINS`: substring, case-insensitive.
    Contains,
    /// QQL `field:value`: tokenised, case-insensitive, prefix match on text; equality on
    /// numbers, keywords, booleans.
    Matches,
    /// QQL ``field:`value` ``: exact, case-sensitive.
    Exact,
    /// QQL ranges `[a .. b]` (inclusive) and `(a .. b)` (exclusive).
    Between { inclusive: bool },
}

impl Op {
    /// The QPS spelling, where QPS has one.
    pub fn qps_name(self) -> &'static str {
        match self {
            Op::Equals => "EQUALS",
            Op::NotEquals => "NOT EQUALS",
            Op::Greater => "GREATER",
            Op::Lesser => "LESSER",
            Op::In => "IN",
            Op::Contains => "CONTAINS",
            Op::GreaterOrEqual => ">=",
            Op::LesserOrEqual => "<=",
            Op::Matches => ":",
            Op::Exact => ":`",
            Op::Between { .. } => "..",
        }
    }

    /// Parse a QPS operator name (case-insensitive, inner spaces folded).
    pub fn from_qps(name: &str) -> Option<Op> {
        let folded = name.split_whitespace().collect::<Vec<_>>().join(" ");
        Some(match folded.to_ascii_uppercase().as_str() {
            "EQUALS" => Op::Equals,
            "NOT EQUALS" => Op::NotEquals,
            "GREATER" => Op::Greater,
            "LESSER" => Op::Lesser,
            "IN" => Op::In,
            "CONTAINS" => Op::Contains,
            _ => return None,
        })
    }
}

impl Filter {
    /// `a AND b`, flattening `All` away.
    pub fn and(filters: Vec<Filter>) -> Filter {
        let mut parts: Vec<Filter> = filters.into_iter().filter(|f| *f != Filter::All).collect();
        match parts.len() {
            0 => Filter::All,
            1 => parts.remove(0),
            _ => Filter::And(parts),
        }
    }

    pub fn cond(field: impl Into<String>, op: Op, values: Vec<String>) -> Filter {
        Filter::Cond(Condition {
            field: field.into(),
            op,
            values,
        })
    }

    /// Nesting depth (a bound keeps the compiler's recursion small).
    pub fn depth(&self) -> usize {
        match self {
            Filter::All | Filter::Cond(_) => 1,
            Filter::Not(inner) => 1 + inner.depth(),
            Filter::And(fs) | Filter::Or(fs) => 1 + fs.iter().map(Filter::depth).max().unwrap_or(0),
        }
    }
}

/// Quote a QQL value when it is not a plain word.
fn qql_value(v: &str) -> String {
    let plain = !v.is_empty()
        && v.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '@' | '/' | ':'))
        && !matches!(v.to_ascii_uppercase().as_str(), "AND" | "OR" | "NOT");
    if plain {
        v.to_owned()
    } else {
        format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// The canonical QQL form: `parse(display(f)) == f`.
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::All => Ok(()),
            Filter::And(parts) | Filter::Or(parts) => {
                let sep = if matches!(self, Filter::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                for (i, part) in parts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(sep)?;
                    }
                    match part {
                        Filter::And(_) | Filter::Or(_) => write!(f, "({part})")?,
                        _ => write!(f, "{part}")?,
                    }
                }
                Ok(())
            }
            Filter::Not(inner) => match **inner {
                Filter::Cond(_) | Filter::Not(_) => write!(f, "NOT {inner}"),
                _ => write!(f, "NOT ({inner})"),
            },
            Filter::Cond(c) => {
                let v = |i: usize| qql_value(c.values.get(i).map(String::as_str).unwrap_or(""));
                match c.op {
                    Op::Matches => write!(f, "{}:{}", c.field, v(0)),
                    Op::Exact => write!(
                        f,
                        "{}:`{}`",
                        c.field,
                        c.values.first().map(String::as_str).unwrap_or("")
                    ),
                    Op::Equals => write!(f, "{} = {}", c.field, v(0)),
                    Op::NotEquals => write!(f, "NOT {} = {}", c.field, v(0)),
                    Op::Greater => write!(f, "{} > {}", c.field, v(0)),
                    Op::Lesser => write!(f, "{} < {}", c.field, v(0)),
                    Op::GreaterOrEqual => write!(f, "{} >= {}", c.field, v(0)),
                    Op::LesserOrEqual => write!(f, "{} <= {}", c.field, v(0)),
                    Op::Contains => write!(f, "{}:*{}*", c.field, v(0)),
                    Op::In => {
                        let list: Vec<String> = c.values.iter().map(|x| qql_value(x)).collect();
                        write!(f, "{}:[{}]", c.field, list.join(", "))
                    }
                    Op::Between { inclusive } => {
                        let (open, close) = if inclusive { ('[', ']') } else { ('(', ')') };
                        write!(f, "{}:{open}{} .. {}{close}", c.field, v(0), v(1))
                    }
                }
            }
        }
    }
}
