//! The one filter engine. No axum, no HTTP, no SQLite: text in, a filter tree and a
//! parameterised SQL fragment out.
//!
//! One pipeline for both languages:
//!
//! ```text
//! QQL text ──qql::parse──┐                         ┌─ SqlWhere (sql::emit; cannot fail)
//!                         ├─ Filter ─validate─> Checked
//! QPS criteria ─criteria─┘  (tokens with spans)    └─ Invalid { span, kind } (each surface words it)
//! ```
//!
//! - QQL, the CAR `filter`/`qql` strings (`status:APPROVED AND script.name:"x"`): [`qql`],
//!   whose module doc holds the grammar in BNF;
//! - QPS criteria, the CM `<Criteria field=".." operator="..">` list: [`criteria`], which
//!   also words its errors as the CM guide's Troubleshooting table does.
//!
//! A [`catalog::Catalog`] per object type says what each wire field name means in SQL and
//! what type it has. `validate` checks a tree against it once — field known, operator
//! allowed for the type, every value parsed for the type, the [`limits`] — and yields a
//! typed tree that [`sql`] turns into a `WHERE` fragment whose values are all bound
//! parameters. A new object type is a catalog entry, not a new parser.

mod ast;
pub mod catalog;
pub mod criteria;
pub mod qql;
pub mod sql;
pub(crate) mod text;
mod validate;

pub use ast::{Filter, Op};
pub use sql::SqlWhere;
pub use validate::{Dialect, Invalid, InvalidKind, SqlValue};

/// Bounds on a filter, each below the SQLite limit it protects, so client input is refused
/// with the API's own error instead of reaching SQLite (and a 500).
pub mod limits {
    /// Deepest nesting of parentheses and `NOT`s in QQL (the parser's recursion).
    pub const MAX_DEPTH: usize = 64;
    /// Conditions (QQL terms, QPS criteria) the client writes in one filter. A chain of N
    /// terms is an expression about N deep in SQLite, whose limit (`SQLITE_MAX_EXPR_DEPTH`)
    /// is 1,000; the margin covers nesting (at most [`MAX_DEPTH`]), the few conditions the
    /// server adds, and the store's own.
    pub const MAX_TERMS: usize = 500;
    /// Values in one filter, lists included: each is a bound parameter, and SQLite binds
    /// at most 32,766 (`SQLITE_MAX_VARIABLE_NUMBER`) per statement.
    pub const MAX_VALUES: usize = 30_000;
    /// Bytes in one value. A `CONTAINS` value becomes a `LIKE` pattern, at most 50,000
    /// bytes in SQLite (`SQLITE_MAX_LIKE_PATTERN_LENGTH`), twice the value when escaped.
    pub const MAX_VALUE_BYTES: usize = 10_000;
    /// Bytes of QQL text parsed at all.
    pub const MAX_FILTER_BYTES: usize = 1 << 20;
}
