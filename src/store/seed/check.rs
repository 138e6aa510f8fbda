//! The one validation helper of seed records: a [`Check`] names the file, the record and
//! the field of whatever it refuses, and looks references up first among the records being
//! loaded, then in what the store already holds ([`Known`]).

use std::collections::{HashMap, HashSet};

use super::SeedError;
use crate::store::objects::Table;

/// What the store already holds, for records loaded at run time. At start-up nothing is
/// known ([`Nothing`]); at run time the store answers each question with one lookup.
pub(crate) trait Known {
    /// A customer of this name is stored.
    fn customer(&self, name: &str) -> bool;
    /// A stored customer has this id or uuid.
    fn customer_key_taken(&self, id: i64, uuid: &str) -> bool;
    /// The customer of the stored user with this login.
    fn user_customer(&self, username: &str) -> Option<String>;
    /// A stored user has this id or uuid.
    fn user_key_taken(&self, id: i64, uuid: &str) -> bool;
    /// The customer owning the stored row of `table` with this id.
    fn owner(&self, table: &'static Table, id: i64) -> Option<String>;
    /// The customer has a stored script of this title.
    fn script_title_taken(&self, customer: &str, title: &str) -> bool;
    /// An activity of this id is stored.
    fn activity_taken(&self, uuid: &str) -> bool;
    /// A rule criterion of this id is stored.
    fn criterion_taken(&self, id: i64) -> bool;
}

/// An empty store: what start-up seeds are checked against.
pub(crate) struct Nothing;

impl Known for Nothing {
    fn customer(&self, _: &str) -> bool {
        false
    }
    fn customer_key_taken(&self, _: i64, _: &str) -> bool {
        false
    }
    fn user_customer(&self, _: &str) -> Option<String> {
        None
    }
    fn user_key_taken(&self, _: i64, _: &str) -> bool {
        false
    }
    fn owner(&self, _: &'static Table, _: i64) -> Option<String> {
        None
    }
    fn script_title_taken(&self, _: &str, _: &str) -> bool {
        false
    }
    fn activity_taken(&self, _: &str) -> bool {
        false
    }
    fn criterion_taken(&self, _: i64) -> bool {
        false
    }
}

/// Ids seen so far in this load, per table, with their customer.
pub(crate) type Owners = HashMap<i64, String>;

/// Checks of one record of `table` (named in errors by its seed file).
pub(crate) struct Check<'a> {
    pub table: &'static Table,
    pub index: usize,
    pub name: String,
    /// Customers of this load.
    pub customers: &'a HashSet<&'a str>,
    pub known: &'a dyn Known,
}

impl Check<'_> {
    pub fn fail(&self, field: &str, message: impl Into<String>) -> SeedError {
        let file = self.table.seed.as_ref().map_or(self.table.name, |f| f.name);
        SeedError::record(file, self.index, &self.name, field, message)
    }

    /// The record's customer exists (in this load or the store).
    pub fn customer(&self, c: &str) -> Result<(), SeedError> {
        if self.customers.contains(c) || self.known.customer(c) {
            Ok(())
        } else {
            Err(self.fail("customer", format!("unknown customer {c:?}")))
        }
    }

    /// An RFC 3339 date-time.
    pub fn date(&self, field: &str, v: &str) -> Result<(), SeedError> {
        super::iso_millis(v).map(|_| ()).ok_or_else(|| {
            self.fail(
                field,
                format!("{v:?} is not a date like 2022-05-06T14:32:25.520Z"),
            )
        })
    }

    /// An RFC 3339 date-time in a CM record (the CM guide's example format), in epoch
    /// seconds.
    pub fn cm_date(&self, field: &str, v: &str) -> Result<i64, SeedError> {
        crate::dates::parse_s(v).ok_or_else(|| {
            self.fail(
                field,
                format!("{v:?} is not a date like 2018-06-04T10:57:43Z"),
            )
        })
    }

    pub fn one_of(&self, field: &str, v: &str, allowed: &[&str]) -> Result<(), SeedError> {
        if allowed.contains(&v) {
            Ok(())
        } else {
            Err(self.fail(field, format!("{v:?} is not one of {}", allowed.join(", "))))
        }
    }

    /// `id` names a row of `table` of the same customer, in this load or the store.
    pub fn owned(
        &self,
        field: &str,
        table: &'static Table,
        id: i64,
        seen: &Owners,
        customer: &str,
    ) -> Result<(), SeedError> {
        let owner = match seen.get(&id) {
            Some(owner) => Some(owner.clone()),
            None => self.known.owner(table, id),
        };
        match owner {
            Some(owner) if owner == customer => Ok(()),
            Some(_) => Err(self.fail(field, format!("{id} belongs to another customer"))),
            None => Err(self.fail(field, format!("no such id {id}"))),
        }
    }

    /// `id` is positive, new in this load and not taken in the store's table.
    pub fn unique(&self, id: i64, seen: &mut Owners, customer: &str) -> Result<(), SeedError> {
        if id <= 0 || seen.insert(id, customer.to_owned()).is_some() {
            return Err(self.fail("id", "must be positive and unique"));
        }
        if self.known.owner(self.table, id).is_some() {
            return Err(self.fail("id", format!("{id} is taken by a stored record")));
        }
        Ok(())
    }
}
