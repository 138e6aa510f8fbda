//! The query plans of searches, as run (`EXPLAIN QUERY PLAN`), by object type name: what
//! the tests that hold every filtered search to an index read.

use super::objects::{car_object, cm_object};
use super::search::{self, Search};
use super::{Store, StoreError, StoreResult};

impl Store {
    /// The query plans (count, then select) of a CAR search, as run. `object` is a CAR
    /// object type's name in the registry (`script`, `assettag`, …: its catalog's `object`).
    pub async fn car_explain(
        &self,
        object: &'static str,
        customer_id: i64,
        q: Search,
    ) -> StoreResult<Vec<String>> {
        self.read(move |conn| {
            let source = car_object(object)
                .ok_or_else(|| StoreError::Schema(format!("no CAR search of {object:?}")))?
                .source;
            search::explain(conn, &source, customer_id, &q)
        })
        .await
    }

    /// The query plan of a CM search, as run. `object` is a CM object type's name in the
    /// registry (`alert`, …: its catalog's `object`).
    pub async fn cm_explain(
        &self,
        object: &'static str,
        customer_id: i64,
        search: Search,
    ) -> StoreResult<Vec<String>> {
        self.read(move |conn| {
            let source = cm_object(object)
                .ok_or_else(|| StoreError::Schema(format!("no CM search of {object:?}")))?
                .source;
            search::explain(conn, &source, customer_id, &search)
        })
        .await
    }
}
