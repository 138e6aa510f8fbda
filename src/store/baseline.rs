//! The baseline: what the store held once start-up seeding was done, and what
//! `POST /_mock/reset` brings back — for everything, or for one customer.
//!
//! The baseline is kept as data in SQLite, beside the tables, so a file store keeps it
//! across restarts and nothing of it is held in process memory. It is an undo log rather
//! than a second copy of every table: triggers on each table of [`TABLES`] note every row
//! that changes (`bl_dirty`: table, rowid, customer) and save a row's image the first time a
//! baseline row is updated or deleted (`bl_undo_<table>`). A reset deletes the rows that
//! changed and puts the saved images back, so it costs what changed since the last reset,
//! not what the store holds: a reset of a store of a million alerts takes as long as one
//! of a thousand.
//!
//! Customers made at run time (`POST /_mock/customers`) and records seeded at run time
//! (`POST /_mock/seed`) are *promoted*: their rows move from `bl_dirty` to `bl_runtime`, so
//! a reset of their customer keeps them as they were made, while a reset of everything
//! removes them (back to what the server started with).
//!
//! Triggers only record while `bl_state.tracking` is 1: off during start-up seeding and
//! during a reset's own writes.

use rusqlite::{Connection, Transaction};

use super::StoreResult;
use super::objects::{CopyRule, TABLES, Table};

/// The bookkeeping tables and every table's triggers; run once, with the schema.
pub(super) fn install(conn: &Connection) -> StoreResult<()> {
    let mut ddl = String::from(
        "CREATE TABLE bl_state (tracking INTEGER NOT NULL);\n\
         INSERT INTO bl_state VALUES (0);\n\
         CREATE TABLE bl_dirty (seq INTEGER PRIMARY KEY, tbl TEXT NOT NULL, rid INTEGER NOT NULL, \
         cust INTEGER, UNIQUE (tbl, rid));\n\
         CREATE INDEX bl_dirty_cust ON bl_dirty(cust);\n\
         CREATE TABLE bl_runtime (tbl TEXT NOT NULL, rid INTEGER NOT NULL, cust INTEGER, \
         PRIMARY KEY (tbl, rid));\n\
         CREATE INDEX bl_runtime_cust ON bl_runtime(cust);\n",
    );
    for table in TABLES {
        let cols = columns(conn, table.name)?;
        let t = table.name;
        let owner = table.owner;
        let list = cols.join(", ");
        let old = cols
            .iter()
            .map(|c| format!("OLD.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let on = "WHEN (SELECT tracking FROM bl_state) = 1";
        let save_old = format!(
            "INSERT INTO bl_undo_{t} (rid, {list}) SELECT OLD.rowid, {old} WHERE NOT EXISTS \
             (SELECT 1 FROM bl_dirty WHERE tbl = '{t}' AND rid = OLD.rowid);\n  \
             INSERT OR IGNORE INTO bl_dirty (tbl, rid, cust) VALUES ('{t}', OLD.rowid, OLD.{owner});"
        );
        ddl.push_str(&format!(
            "CREATE TABLE bl_undo_{t} (rid INTEGER PRIMARY KEY, {list});\n\
             CREATE INDEX bl_undo_{t}_owner ON bl_undo_{t}({owner});\n\
             CREATE TRIGGER bl_{t}_insert AFTER INSERT ON {t} {on} BEGIN\n  \
             INSERT OR IGNORE INTO bl_dirty (tbl, rid, cust) VALUES ('{t}', NEW.rowid, NEW.{owner});\nEND;\n\
             CREATE TRIGGER bl_{t}_update AFTER UPDATE ON {t} {on} BEGIN\n  {save_old}\n  \
             INSERT OR IGNORE INTO bl_dirty (tbl, rid, cust) VALUES ('{t}', NEW.rowid, NEW.{owner});\nEND;\n\
             CREATE TRIGGER bl_{t}_delete AFTER DELETE ON {t} {on} BEGIN\n  {save_old}\nEND;\n"
        ));
    }
    conn.execute_batch(&ddl)?;
    Ok(())
}

/// The columns of a table, in order.
fn columns(conn: &Connection, table: &str) -> StoreResult<Vec<String>> {
    let mut stmt = conn.prepare_cached("SELECT name FROM pragma_table_info(?1) ORDER BY cid")?;
    let cols = stmt
        .query_map([table], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(cols)
}

/// Whether the table's rowid is one of its columns (an `INTEGER PRIMARY KEY`).
fn rowid_is_a_column(conn: &Connection, table: &str) -> StoreResult<bool> {
    Ok(conn.query_row(
        "SELECT count(*) = 1 AND max(type) = 'INTEGER' FROM pragma_table_info(?1) WHERE pk > 0",
        [table],
        |r| r.get(0),
    )?)
}

/// The store as it is now becomes the baseline: start recording changes.
pub(super) fn start_tracking(conn: &Connection) -> StoreResult<()> {
    conn.execute_batch(&clear_logs_sql(None))?;
    conn.execute("UPDATE bl_state SET tracking = 1", [])?;
    Ok(())
}

fn clear_logs_sql(customer: Option<i64>) -> String {
    let mut sql = String::new();
    match customer {
        None => {
            sql.push_str("DELETE FROM bl_dirty;\n");
            for t in TABLES {
                sql.push_str(&format!("DELETE FROM bl_undo_{};\n", t.name));
            }
        }
        Some(c) => {
            sql.push_str(&format!("DELETE FROM bl_dirty WHERE cust = {c};\n"));
            for t in TABLES {
                sql.push_str(&format!(
                    "DELETE FROM bl_undo_{} WHERE {} = {c};\n",
                    t.name, t.owner
                ));
            }
        }
    }
    sql
}

/// Back to the baseline: everything (runtime customers and seeds removed), or one
/// customer (its runtime-made rows kept as they were made). Runs in one transaction with
/// foreign keys off, so no cascade removes a row the baseline still has.
pub(super) fn reset(conn: &mut Connection, customer: Option<i64>) -> StoreResult<()> {
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    let result = reset_in(conn, customer);
    conn.pragma_update(None, "foreign_keys", "ON")?;
    result
}

fn reset_in(conn: &mut Connection, customer: Option<i64>) -> StoreResult<()> {
    let tx = conn.transaction()?;
    tx.execute("UPDATE bl_state SET tracking = 0", [])?;
    // A customer id is an integer, so it is written into the SQL as one.
    let only = |column: &str| match customer {
        Some(c) => format!(" AND {column} = {c}"),
        None => String::new(),
    };
    for t in TABLES.iter().rev() {
        tx.execute(
            &format!(
                "DELETE FROM {0} WHERE rowid IN (SELECT rid FROM bl_dirty WHERE tbl = '{0}'{1})",
                t.name,
                only("cust")
            ),
            [],
        )?;
    }
    for t in TABLES {
        let cols = columns(&tx, t.name)?.join(", ");
        let (into, from) = if rowid_is_a_column(&tx, t.name)? {
            (cols.clone(), cols)
        } else {
            (format!("rowid, {cols}"), format!("rid, {cols}"))
        };
        let owner_filter = match customer {
            Some(c) => format!(" WHERE {} = {c}", t.owner),
            None => String::new(),
        };
        tx.execute(
            &format!(
                "INSERT INTO {0} ({into}) SELECT {from} FROM bl_undo_{0}{owner_filter} ORDER BY rid",
                t.name
            ),
            [],
        )?;
    }
    if customer.is_none() {
        for t in TABLES.iter().rev() {
            tx.execute(
                &format!(
                    "DELETE FROM {0} WHERE rowid IN (SELECT rid FROM bl_runtime WHERE tbl = '{0}')",
                    t.name
                ),
                [],
            )?;
        }
        tx.execute("DELETE FROM bl_runtime", [])?;
    }
    tx.execute_batch(&clear_logs_sql(customer))?;
    tx.execute("UPDATE bl_state SET tracking = 1", [])?;
    tx.commit()?;
    Ok(())
}

/// The newest change noted so far; changes after it can be promoted with
/// [`promote_since`].
pub(super) fn mark(tx: &Transaction<'_>) -> StoreResult<i64> {
    Ok(
        tx.query_row("SELECT coalesce(max(seq), 0) FROM bl_dirty", [], |r| {
            r.get(0)
        })?,
    )
}

/// Rows written since `mark` become part of the baseline as runtime rows: a reset of
/// their customer keeps them, a reset of everything removes them.
pub(super) fn promote_since(tx: &Transaction<'_>, mark: i64) -> StoreResult<()> {
    tx.execute(
        "INSERT OR IGNORE INTO bl_runtime (tbl, rid, cust) \
         SELECT tbl, rid, cust FROM bl_dirty WHERE seq > ?1",
        [mark],
    )?;
    tx.execute("DELETE FROM bl_dirty WHERE seq > ?1", [mark])?;
    Ok(())
}

/// Every row of customer `id` becomes a runtime row of the baseline (see [`promote_since`]),
/// without the triggers noting each one: for a customer made in this transaction with
/// tracking off (see [`untracked`]).
pub(super) fn adopt_customer(tx: &Transaction<'_>, id: i64) -> StoreResult<()> {
    for t in TABLES {
        tx.prepare_cached(&format!(
            "INSERT OR IGNORE INTO bl_runtime (tbl, rid, cust) SELECT '{0}', rowid, {1} FROM {0} \
             WHERE {1} = ?1",
            t.name, t.owner
        ))?
        .execute([id])?;
    }
    Ok(())
}

/// Run `f` with the triggers not recording (its rows are adopted explicitly).
pub(super) fn untracked<R>(
    tx: &Transaction<'_>,
    f: impl FnOnce() -> StoreResult<R>,
) -> StoreResult<R> {
    tx.execute("UPDATE bl_state SET tracking = 0", [])?;
    let out = f();
    tx.execute("UPDATE bl_state SET tracking = 1", [])?;
    out
}

/// The new customer's one user, whose name and uuid copied records carry.
pub(super) struct CopyUser<'a> {
    pub uuid: &'a str,
    pub name: &'a str,
}

/// Copy the baseline rows of customer `from` to customer `to`, every id moved by `offset`.
/// Reads the baseline (rows changed since are read from their saved images), so what
/// tests did to the template meanwhile is not copied.
pub(super) fn copy_customer(
    tx: &Transaction<'_>,
    from: i64,
    to: i64,
    offset: i64,
    user: &CopyUser<'_>,
) -> StoreResult<()> {
    for table in TABLES {
        let CopyRule::Rows(overrides) = &table.copy else {
            continue;
        };
        copy_table(tx, table, overrides, from, to, offset, user)?;
    }
    Ok(())
}

fn copy_table(
    tx: &Transaction<'_>,
    table: &Table,
    overrides: &[(&str, Option<&str>)],
    from: i64,
    to: i64,
    offset: i64,
    user: &CopyUser<'_>,
) -> StoreResult<()> {
    let cols = columns(tx, table.name)?;
    let mut into = Vec::new();
    let mut select = Vec::new();
    for c in &cols {
        let expr = match overrides.iter().find(|(name, _)| name == c) {
            Some((_, None)) => continue,
            Some((_, Some(expr))) => (*expr).to_owned(),
            None if c == "customer_id" => ":cust".to_owned(),
            None => c.clone(),
        };
        into.push(c.as_str());
        select.push(expr);
    }
    let (t, owner, list) = (table.name, table.owner, cols.join(", "));
    let sql = format!(
        "INSERT INTO {t} ({}) SELECT {} FROM (\
           SELECT rowid AS rid, {list} FROM {t} WHERE {owner} = :from AND rowid NOT IN \
             (SELECT rid FROM bl_dirty WHERE tbl = '{t}' AND cust = :from) \
           UNION ALL SELECT rid, {list} FROM bl_undo_{t} WHERE {owner} = :from \
         ) ORDER BY rid",
        into.join(", "),
        select.join(", ")
    );
    let mut stmt = tx.prepare_cached(&sql)?;
    let names = [":off", ":cust", ":user_uuid", ":user_name", ":from"];
    for (i, name) in names.iter().enumerate() {
        if let Some(index) = stmt.parameter_index(name)? {
            match i {
                0 => stmt.raw_bind_parameter(index, offset)?,
                1 => stmt.raw_bind_parameter(index, to)?,
                2 => stmt.raw_bind_parameter(index, user.uuid)?,
                3 => stmt.raw_bind_parameter(index, user.name)?,
                _ => stmt.raw_bind_parameter(index, from)?,
            }
        }
    }
    stmt.raw_execute()?;
    Ok(())
}

/// Rows per table that changed since the baseline (for tests).
#[cfg(test)]
pub(super) fn changed_rows(conn: &Connection) -> StoreResult<i64> {
    Ok(conn.query_row("SELECT count(*) FROM bl_dirty", [], |r| r.get(0))?)
}
