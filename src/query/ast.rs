//! The filter tree both query languages parse into: every field name and value is a
//! [`Token`] that remembers where it stood, so an error found later (an unknown field, a
//! value of the wrong type) can say where.

use std::fmt;

/// Where a token stood: a character range `[start, end)` of the QQL text (0-based, in
/// characters), or for QPS criteria the criterion's index (`[i, i + 1)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }
}

/// A piece of filter text and where it came from. Equality ignores the span (two trees are
/// the same filter whatever their layout), as meilisearch's filter-parser `Token` does.
#[derive(Debug, Clone, Eq)]
pub struct Token {
    pub text: String,
    /// `None` for tokens the server added (a CAR `startAt` bound, a QPS id cursor).
    pub span: Option<Span>,
}

impl Token {
    pub fn new(text: impl Into<String>, span: Span) -> Token {
        Token {
            text: text.into(),
            span: Some(span),
        }
    }

    /// A token that stood nowhere in the client's text.
    pub fn synthetic(text: impl Into<String>) -> Token {
        Token {
            text: text.into(),
            span: None,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl PartialEq for Token {
    fn eq(&self, other: &Token) -> bool {
        self.text == other.text
    }
}

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
    pub field: Token,
    pub op: Op,
    /// One value for most operators; any number for `In`; two for `Between`.
    pub values: Vec<Token>,
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
    pub(crate) fn from_qps(name: &str) -> Option<Op> {
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

    /// A condition the server adds (its tokens have no span).
    pub fn cond(field: impl Into<String>, op: Op, values: Vec<String>) -> Filter {
        Filter::Cond(Condition {
            field: Token::synthetic(field),
            op,
            values: values.into_iter().map(Token::synthetic).collect(),
        })
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
                let v = |i: usize| qql_value(c.values.get(i).map(Token::as_str).unwrap_or(""));
                let field = c.field.as_str();
                match c.op {
                    Op::Matches => write!(f, "{}:{}", field, v(0)),
                    Op::Exact => write!(
                        f,
                        "{}:`{}`",
                        field,
                        c.values.first().map(Token::as_str).unwrap_or("")
                    ),
                    Op::Equals => write!(f, "{} = {}", field, v(0)),
                    Op::NotEquals => write!(f, "NOT {} = {}", field, v(0)),
                    Op::Greater => write!(f, "{} > {}", field, v(0)),
                    Op::Lesser => write!(f, "{} < {}", field, v(0)),
                    Op::GreaterOrEqual => write!(f, "{} >= {}", field, v(0)),
                    Op::LesserOrEqual => write!(f, "{} <= {}", field, v(0)),
                    Op::Contains => write!(f, "{}:*{}*", field, v(0)),
                    Op::In => {
                        let list: Vec<String> =
                            c.values.iter().map(|x| qql_value(x.as_str())).collect();
                        write!(f, "{}:[{}]", field, list.join(", "))
                    }
                    Op::Between { inclusive } => {
                        let (open, close) = if inclusive { ('[', ']') } else { ('(', ')') };
                        write!(f, "{}:{open}{} .. {}{close}", field, v(0), v(1))
                    }
                }
            }
        }
    }
}

#[cfg(test)]
impl Filter {
    /// The tree with every token's span, for snapshot tests:
    /// `And(status@0..6 Matches [APPROVED@7..15], …)`.
    pub(crate) fn outline(&self) -> String {
        fn token(t: &Token) -> String {
            match t.span {
                Some(s) => format!("{:?}@{}..{}", t.text, s.start, s.end),
                None => format!("{:?}@-", t.text),
            }
        }
        fn list(parts: &[Filter]) -> String {
            let parts: Vec<String> = parts.iter().map(Filter::outline).collect();
            parts.join(", ")
        }
        match self {
            Filter::All => "All".to_owned(),
            Filter::And(parts) => format!("And({})", list(parts)),
            Filter::Or(parts) => format!("Or({})", list(parts)),
            Filter::Not(inner) => format!("Not({})", inner.outline()),
            Filter::Cond(c) => {
                let values: Vec<String> = c.values.iter().map(token).collect();
                format!("{} {:?} [{}]", token(&c.field), c.op, values.join(", "))
            }
        }
    }
}
