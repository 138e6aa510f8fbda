//! The one search both surfaces run: `SELECT … FROM … WHERE alias.customer_id = ? AND
//! (<compiled filter>) ORDER BY … LIMIT ? OFFSET ?`.
//!
//! Both surfaces build one [`Search`] (filter, sort, window, total) and hand it to the
//! store, which runs it here. CAR searches count the matches (`totalCount`) and sort as
//! asked; CM searches fetch one record more than the window to tell whether more remain. Both break ties on the table's
//! key, so pages never overlap. [`explain`] shows the plan of the very statements a search
//! runs (the query-plan test holds every search to an index).

use rusqlite::types::Value;
use rusqlite::{Connection, Row, params_from_iter};

use super::{StoreResult, sql_i64, to_sql};
use crate::page::{Page, Window};
use crate::query::SqlWhere;

/// What a search selects from.
#[derive(Debug, Clone, Copy)]
pub(super) struct Source<'a> {
    /// The selected columns, as the row mapper names them.
    pub cols: &'a str,
    /// The table (and joins), with the alias.
    pub from: &'a str,
    /// The searched table's alias: its `customer_id` scopes the search.
    pub alias: &'a str,
    /// The column that breaks ties in the order (the table's key).
    pub key: &'a str,
}

/// How a search knows whether more records remain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Total {
    /// Count every match (`SELECT count(*)`), and report the count (CAR's `totalCount`).
    #[default]
    Count,
    /// Fetch one record more than the window; no count (QPS's `hasMoreRecords`).
    Overfetch,
}

/// The one search model both surfaces build and the store runs: a compiled filter, a sort,
/// a window and how to total. The store adds the caller's customer and breaks ties in the
/// order on the table's key.
#[derive(Debug, Clone, Default)]
pub struct Search {
    pub filter: SqlWhere,
    /// Catalog SQL expressions, each descending or not, before the key.
    pub order: Vec<(&'static str, bool)>,
    /// `None`: every match.
    pub window: Option<Window>,
    pub total: Total,
}

impl Search {
    /// CAR: sorted as asked, one window, counted for `totalCount`.
    pub fn counted(filter: SqlWhere, order: Vec<(&'static str, bool)>, window: Window) -> Search {
        Search {
            filter,
            order,
            window: Some(window),
            total: Total::Count,
        }
    }

    /// QPS: in ascending id (the key), one window, one record more fetched to tell
    /// `hasMoreRecords`.
    pub fn in_id_order(filter: SqlWhere, window: Window) -> Search {
        Search {
            filter,
            order: Vec::new(),
            window: Some(window),
            total: Total::Overfetch,
        }
    }
}

/// The window of a search that asked for none: everything.
const EVERYTHING: Window = Window {
    offset: 0,
    limit: u64::MAX >> 1,
};

/// The statements of a search and their values.
struct Statements {
    /// `SELECT count(*) …`, when the search counts.
    count: Option<String>,
    select: String,
    /// The filter's values, then the limit and offset (the count takes all but those two).
    values: Vec<Value>,
}

impl Statements {
    fn filter_values(&self) -> &[Value] {
        &self.values[..self.values.len() - 2]
    }
}

fn statements(source: &Source<'_>, customer_id: i64, search: &Search) -> Statements {
    let filter = if search.filter.sql.is_empty() {
        "1"
    } else {
        &search.filter.sql
    };
    let condition = format!("{}.customer_id = ? AND ({filter})", source.alias);
    let mut values = Vec::with_capacity(search.filter.params.len() + 3);
    values.push(Value::Integer(customer_id));
    values.extend(search.filter.params.iter().map(to_sql));
    let mut order: Vec<String> = search
        .order
        .iter()
        .map(|(expr, desc)| format!("{expr} {}", if *desc { "DESC" } else { "ASC" }))
        .collect();
    order.push(format!("{} ASC", source.key));
    let window = search.window.unwrap_or(EVERYTHING);
    let limit = match search.total {
        Total::Count => window.limit,
        Total::Overfetch => window.limit.saturating_add(1),
    };
    values.push(Value::Integer(sql_i64(limit)));
    values.push(Value::Integer(sql_i64(window.offset)));
    let from = source.from;
    Statements {
        count: (search.total == Total::Count)
            .then(|| format!("SELECT count(*) FROM {from} WHERE {condition}")),
        select: format!(
            "SELECT {} FROM {from} WHERE {condition} ORDER BY {} LIMIT ? OFFSET ?",
            source.cols,
            order.join(", ")
        ),
        values,
    }
}

/// Run a search: one page of rows, mapped, and whether more remain (and the total when it
/// counts).
pub(super) fn run<T>(
    conn: &Connection,
    source: &Source<'_>,
    customer_id: i64,
    search: &Search,
    map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> StoreResult<Page<T>> {
    let st = statements(source, customer_id, search);
    let total = match &st.count {
        Some(count_sql) => {
            let n: i64 = conn
                .prepare_cached(count_sql)?
                .query_row(params_from_iter(st.filter_values().iter()), |r| r.get(0))?;
            Some(u64::try_from(n).unwrap_or(0))
        }
        None => None,
    };
    let rows = conn
        .prepare_cached(&st.select)?
        .query_map(params_from_iter(st.values), map)?
        .collect::<rusqlite::Result<Vec<T>>>()?;
    let window = search.window.unwrap_or(EVERYTHING);
    Ok(match total {
        Some(total) => Page {
            has_more: window.offset.saturating_add(rows.len() as u64) < total,
            items: rows,
            total: Some(total),
        },
        None => Page::from_overfetch(rows, window, None),
    })
}

/// The query plans of a search's statements (the count's first), as run.
#[cfg(test)]
pub(super) fn explain(
    conn: &Connection,
    source: &Source<'_>,
    customer_id: i64,
    search: &Search,
) -> StoreResult<Vec<String>> {
    let st = statements(source, customer_id, search);
    let mut lines = Vec::new();
    if let Some(count_sql) = &st.count {
        lines.extend(plan(conn, count_sql, st.filter_values())?);
    }
    lines.extend(plan(conn, &st.select, &st.values)?);
    Ok(lines)
}

/// `EXPLAIN QUERY PLAN` of a statement, one line per step.
#[cfg(test)]
fn plan(conn: &Connection, sql: &str, values: &[Value]) -> StoreResult<Vec<String>> {
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
    let rows = stmt
        .query_map(params_from_iter(values.iter()), |r| {
            r.get::<_, String>("detail")
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: Source<'static> = Source {
        cols: "s.id",
        from: "scripts s",
        alias: "s",
        key: "s.id",
    };

    #[test]
    fn a_counted_search_sorts_then_breaks_ties_on_the_key() {
        let search = Search::counted(
            SqlWhere::default(),
            vec![("s.title", true)],
            Window {
                offset: 20,
                limit: 10,
            },
        );
        let st = statements(&SOURCE, 7, &search);
        assert_eq!(
            st.count.as_deref(),
            Some("SELECT count(*) FROM scripts s WHERE s.customer_id = ? AND (1)")
        );
        assert_eq!(
            st.select,
            "SELECT s.id FROM scripts s WHERE s.customer_id = ? AND (1) \
             ORDER BY s.title DESC, s.id ASC LIMIT ? OFFSET ?"
        );
        assert_eq!(
            st.values,
            vec![Value::Integer(7), Value::Integer(10), Value::Integer(20)]
        );
    }

    #[test]
    fn an_overfetching_search_asks_one_more_and_counts_nothing() {
        let search = Search::in_id_order(
            SqlWhere::default(),
            Window {
                offset: 0,
                limit: 3,
            },
        );
        let st = statements(&SOURCE, 7, &search);
        assert!(st.count.is_none());
        assert_eq!(st.values[1], Value::Integer(4));
    }
}
