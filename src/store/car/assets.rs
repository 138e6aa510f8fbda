//! Assets (with their interfaces and tags) and asset tags.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::page::Page;
use crate::store::columns::{by_name, columns};
use crate::store::search::{self, Search, Source};
use crate::store::{Store, StoreResult};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceRow {
    pub hostname: Option<String>,
    pub mac_address: Option<String>,
    pub address: Option<String>,
    pub interface_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRef {
    pub id: i64,
    pub uuid: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetRow {
    pub id: i64,
    pub customer_id: i64,
    pub agent_id: String,
    pub agent_uuid: String,
    pub name: String,
    pub address: String,
    pub operating_system: String,
    pub asset_type: String,
    pub agent_version: String,
    pub activated_for_modules: Vec<String>,
    pub interfaces: Vec<InterfaceRow>,
    pub tags: Vec<TagRef>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRow {
    pub id: i64,
    pub customer_id: i64,
    pub uuid: String,
    pub name: String,
    pub background_color: Option<String>,
}

const COLS: &str = "a.id, a.customer_id, a.agent_id, a.agent_uuid, a.name, a.address, \
    a.operating_system, a.asset_type, a.agent_version, a.activated_for_modules_json";

pub(in crate::store) const SOURCE: Source<'static> = Source {
    cols: COLS,
    from: "assets a",
    alias: "a",
    key: "a.id",
};

pub(in crate::store) const TAG_SOURCE: Source<'static> = Source {
    cols: "t.id, t.customer_id, t.uuid, t.name, t.background_color",
    from: "asset_tags t",
    alias: "t",
    key: "t.id",
};

columns! {
    struct AssetCols {
        id, customer_id, agent_id, agent_uuid, name, address, operating_system, asset_type,
        agent_version, activated_for_modules_json,
    }
}

fn asset_row(r: &Row<'_>, c: &AssetCols) -> rusqlite::Result<AssetRow> {
    let modules: String = r.get(c.activated_for_modules_json)?;
    Ok(AssetRow {
        id: r.get(c.id)?,
        customer_id: r.get(c.customer_id)?,
        agent_id: r.get(c.agent_id)?,
        agent_uuid: r.get(c.agent_uuid)?,
        name: r.get(c.name)?,
        address: r.get(c.address)?,
        operating_system: r.get(c.operating_system)?,
        asset_type: r.get(c.asset_type)?,
        agent_version: r.get(c.agent_version)?,
        activated_for_modules: serde_json::from_str(&modules).unwrap_or_default(),
        interfaces: Vec::new(),
        tags: Vec::new(),
    })
}

columns! {
    struct TagCols { id, customer_id, uuid, name, background_color }
}

fn tag_row(r: &Row<'_>, c: &TagCols) -> rusqlite::Result<TagRow> {
    Ok(TagRow {
        id: r.get(c.id)?,
        customer_id: r.get(c.customer_id)?,
        uuid: r.get(c.uuid)?,
        name: r.get(c.name)?,
        background_color: r.get(c.background_color)?,
    })
}

/// An asset with its interfaces and tags read.
fn fill_asset(conn: &Connection, mut asset: AssetRow) -> StoreResult<AssetRow> {
    asset.interfaces = conn
        .prepare_cached(
            "SELECT hostname, mac_address, address, interface_name FROM asset_interfaces \
             WHERE asset_id = ?1 ORDER BY position",
        )?
        .query_map(params![asset.id], |r| {
            Ok(InterfaceRow {
                hostname: r.get("hostname")?,
                mac_address: r.get("mac_address")?,
                address: r.get("address")?,
                interface_name: r.get("interface_name")?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    asset.tags = conn
        .prepare_cached(
            "SELECT t.id, t.uuid, t.name FROM asset_tag_links l JOIN asset_tags t ON t.id = l.tag_id \
             WHERE l.asset_id = ?1 ORDER BY l.rowid",
        )?
        .query_map(params![asset.id], |r| {
            Ok(TagRef {
                id: r.get("id")?,
                uuid: r.get("uuid")?,
                name: r.get("name")?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(asset)
}

/// An asset by id, whoever's (the caller checks the customer).
pub(super) fn asset_by_id(conn: &Connection, id: i64) -> StoreResult<Option<AssetRow>> {
    let row = conn
        .prepare_cached(&format!("SELECT {COLS} FROM assets a WHERE a.id = ?1"))?
        .query_row(params![id], by_name(asset_row))
        .optional()?;
    row.map(|a| fill_asset(conn, a)).transpose()
}

impl Store {
    pub async fn car_assets(&self, customer_id: i64, q: Search) -> StoreResult<Page<AssetRow>> {
        self.search(q.filter.lookup, move |conn| {
            search::run(conn, &SOURCE, customer_id, &q, by_name(asset_row))?
                .try_map(|a| fill_asset(conn, a))
        })
        .await
    }

    pub async fn car_tags(&self, customer_id: i64, q: Search) -> StoreResult<Page<TagRow>> {
        self.search(q.filter.lookup, move |conn| {
            search::run(conn, &TAG_SOURCE, customer_id, &q, by_name(tag_row))
        })
        .await
    }
}
