//! Rows read by column name, at the cost of reading by position.
//!
//! `Row::get("title")` finds the column by scanning the statement's column names on every
//! call: for a 25-column script that is some 300 name comparisons per row (measured: about
//! 6 µs a row, ten times the read itself). A [`Columns`] struct instead finds each name once
//! per query, on the first row; [`by_name`] then maps every row through it by position.

use rusqlite::{Row, Statement};

/// Column positions, found by name in a statement.
pub(super) trait Columns: Sized {
    fn find(stmt: &Statement<'_>) -> rusqlite::Result<Self>;
}

/// Two column sets of one statement (a row and the row it joins).
impl<A: Columns, B: Columns> Columns for (A, B) {
    fn find(stmt: &Statement<'_>) -> rusqlite::Result<Self> {
        Ok((A::find(stmt)?, B::find(stmt)?))
    }
}

/// `columns! { struct ScriptCols { id, title, … } }`: a struct with each column's position,
/// found by the field's name (the column's name in the select, or its `AS` alias).
macro_rules! columns {
    ($(#[$meta:meta])* struct $name:ident { $($field:ident),* $(,)? }) => {
        $(#[$meta])*
        struct $name {
            $($field: usize),*
        }

        impl $crate::store::columns::Columns for $name {
            fn find(stmt: &rusqlite::Statement<'_>) -> rusqlite::Result<Self> {
                Ok($name {
                    $($field: stmt.column_index(stringify!($field))?),*
                })
            }
        }
    };
}
pub(super) use columns;

/// A row mapper that finds its columns on the first row and reads every row with them.
pub(super) fn by_name<C: Columns, T>(
    map: impl Fn(&Row<'_>, &C) -> rusqlite::Result<T>,
) -> impl FnMut(&Row<'_>) -> rusqlite::Result<T> {
    let mut found: Option<C> = None;
    move |row| {
        let cols = match found {
            Some(ref cols) => cols,
            None => found.insert(C::find(row.as_ref())?),
        };
        map(row, cols)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    columns! {
        struct Pair { b, a }
    }

    #[test]
    fn columns_are_found_by_name_once_and_read_by_position() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let mut stmt = conn
            .prepare("SELECT 1 AS a, 'two' AS b UNION ALL SELECT 3, 'four'")
            .unwrap();
        let rows: Vec<(i64, String)> = stmt
            .query_map([], by_name(|r, c: &Pair| Ok((r.get(c.a)?, r.get(c.b)?))))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(rows, vec![(1, "two".into()), (3, "four".into())]);
        let missing = stmt.query_row([], by_name(|r, c: &(Pair, Missing)| r.get::<_, i64>(c.1.z)));
        assert!(matches!(missing, Err(rusqlite::Error::InvalidColumnName(n)) if n == "z"));
    }

    columns! {
        struct Missing { z }
    }
}
