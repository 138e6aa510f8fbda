//! The one filter engine. No axum, no HTTP, no SQLite: text in, a filter tree and a
//! parameterised SQL fragment out.
//!
//! Two languages parse into one [`Filter`] tree:
//! - QQL, the CAR `filter`/`qql` strings (`status:APPROVED AND script.name:"x"`): [`qql`],
//!   whose module doc holds the grammar in BNF;
//! - QPS criteria, the CM `<Criteria field=".." operator="..">` list: [`criteria`].
//!
//! A [`catalog::Catalog`] per object type says what each wire field name means in SQL and
//! what type it has; [`sql::compile`] turns tree + catalog into a `WHERE` fragment whose
//! values are all bound parameters. A new object type is a catalog entry, not a new parser.

pub mod ast;
pub mod catalog;
pub mod criteria;
pub mod qql;
pub mod sql;
pub mod text;

pub use ast::{Condition, Filter, Op};
pub use sql::{SqlValue, SqlWhere};
