//! A `Checked` filter → a parameterised SQL `WHERE` fragment. This step cannot fail:
//! everything that can be wrong with a filter was found by `validate`.
//!
//! The SQL text is assembled only from the catalog's constant expressions and fixed
//! operators; every value from the client is bound as a parameter ([`SqlValue`]).

use super::ast::Filter;
use super::catalog::Catalog;
use super::validate::{Checked, Cmp, Dialect, Invalid, Node, SqlValue, Test, validate};

/// A `WHERE` fragment and its parameters, in order of their `?`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SqlWhere {
    pub sql: String,
    pub params: Vec<SqlValue>,
    /// The rows are named by id ([`SqlWhere::ids`]): a bounded lookup, not a search that
    /// may scan a table (the store gives lookups a reader searches cannot all take).
    pub lookup: bool,
}

impl SqlWhere {
    /// The rows of `catalog` whose `id` is one of `ids`: a typed lookup, one bound
    /// parameter whatever the number of ids (a JSON array SQLite unpacks), never a
    /// filter to parse and validate.
    pub fn ids(catalog: &Catalog, ids: &[i64]) -> SqlWhere {
        let column = catalog.field("id").map_or("id", |f| f.sql);
        let list = serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
        SqlWhere {
            sql: format!("{column} IN (SELECT value FROM json_each(?))"),
            params: vec![SqlValue::Text(list)],
            lookup: true,
        }
    }

    /// These rows from id `from` on (CM's `startFromId`): a typed bound beside the
    /// criteria, so it never counts toward their limit.
    pub fn starting_at_id(mut self, catalog: &Catalog, from: i64) -> SqlWhere {
        let column = catalog.field("id").map_or("id", |f| f.sql);
        self.sql = format!("({}) AND {column} >= ?", self.sql);
        self.params.push(SqlValue::Int(from));
        self
    }
}

/// Validate `filter` for `catalog` and compile it; `now_ms` anchors relative dates.
pub fn compile(
    filter: &Filter,
    catalog: &Catalog,
    dialect: Dialect,
    now_ms: i64,
) -> Result<SqlWhere, Invalid> {
    Ok(emit(&validate(filter, catalog, dialect, now_ms)?))
}

/// The SQL of a validated filter.
pub(crate) fn emit(checked: &Checked) -> SqlWhere {
    let mut out = SqlWhere::default();
    node(&checked.0, &mut out);
    out
}

fn node(n: &Node, out: &mut SqlWhere) {
    match n {
        Node::All => out.sql.push('1'),
        Node::And(parts) | Node::Or(parts) => {
            let sep = if matches!(n, Node::And(_)) {
                " AND "
            } else {
                " OR "
            };
            out.sql.push('(');
            for (i, part) in parts.iter().enumerate() {
                if i > 0 {
                    out.sql.push_str(sep);
                }
                node(part, out);
            }
            out.sql.push(')');
        }
        Node::Not(inner) => {
            out.sql.push_str("NOT (");
            node(inner, out);
            out.sql.push(')');
        }
        Node::Pred { col, test } => pred(col, test, out),
    }
}

fn cmp(op: Cmp) -> &'static str {
    match op {
        Cmp::Eq => "=",
        Cmp::Ne => "<>",
        Cmp::Gt => ">",
        Cmp::Lt => "<",
        Cmp::Ge => ">=",
        Cmp::Le => "<=",
    }
}

fn placeholders(out: &mut SqlWhere, n: usize) {
    for i in 0..n {
        out.sql.push_str(if i == 0 { "?" } else { ", ?" });
    }
}

fn pred(col: &str, test: &Test, out: &mut SqlWhere) {
    match test {
        Test::Cmp { op, value, nocase } => {
            out.sql.push_str(&format!("{col} {} ?", cmp(*op)));
            if *nocase {
                out.sql.push_str(" COLLATE NOCASE");
            }
            out.params.push(value.clone());
        }
        Test::Both { lo, hi, not } => {
            if *not {
                out.sql.push_str("NOT ");
            }
            out.sql.push_str(&format!(
                "({col} {} ? AND {col} {} ?)",
                cmp(lo.0),
                cmp(hi.0)
            ));
            out.params.push(lo.1.clone());
            out.params.push(hi.1.clone());
        }
        Test::In { values, nocase } => {
            out.sql.push_str(col);
            if *nocase {
                out.sql.push_str(" COLLATE NOCASE");
            }
            out.sql.push_str(" IN (");
            placeholders(out, values.len());
            out.sql.push(')');
            out.params.extend(values.iter().cloned());
        }
        Test::Contains(pattern) => {
            out.sql.push_str(&format!("{col} LIKE ? ESCAPE '\\'"));
            out.params.push(SqlValue::Text(pattern.clone()));
        }
        Test::Matches(phrase) => {
            out.sql.push_str(&format!("qql_match({col}, ?)"));
            out.params.push(SqlValue::Text(phrase.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::InvalidKind;
    use crate::query::ast::Op;
    use crate::query::catalog::{CM_ALERT, TimeUnit};
    use crate::query::validate::date_span;

    fn c(field: &str, op: Op, values: &[&str]) -> Filter {
        Filter::cond(field, op, values.iter().map(|v| (*v).to_owned()).collect())
    }

    fn sql(f: &Filter) -> SqlWhere {
        compile(f, &CM_ALERT, Dialect::Qps, 0).unwrap()
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
            Dialect::Qps,
            0,
        );
        assert!(
            matches!(err, Err(Invalid { kind: InvalidKind::InvalidValue { ref value, .. }, .. }) if value == "abc123")
        );
        let err = compile(
            &c("hostname", Op::Greater, &["a"]),
            &CM_ALERT,
            Dialect::Qps,
            0,
        );
        assert!(matches!(
            err.map_err(|e| e.kind),
            Err(InvalidKind::OperatorNotAllowed { .. })
        ));
        let err = compile(&c("nope", Op::Equals, &["a"]), &CM_ALERT, Dialect::Qps, 0);
        assert!(matches!(
            err.map_err(|e| e.kind),
            Err(InvalidKind::UnknownField { .. })
        ));
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
