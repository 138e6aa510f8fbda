//! CAR objects: scripts, assets and tags, jobs and asset jobs, activities, schedules — one
//! submodule per object, with its row types and queries; the job engine's queries in
//! [`engine`].
//!
//! Searches return a page plus the total (`totalCount`). Every write — import, clone,
//! execute, schedule, a schedule firing, jobs progressing — is one transaction: stored
//! whole or not at all, and serialised by the one connection, so concurrent writers cannot
//! both pass a check (title free, script limit, execute interval) that only one may pass.
//! A write the business rules refuse answers a typed [`Refusal`]; the surface words it.

pub(super) mod activities;
pub(super) mod assets;
mod engine;
pub(super) mod jobs;
pub(super) mod schedules;
pub(super) mod scripts;

pub use activities::ActivityRow;
pub use assets::{AssetRow, InterfaceRow, TagRef, TagRow};
pub use engine::Outcome;
pub use jobs::{AssetJobRow, ExecuteLimits, JobRow, Targets};
pub use schedules::{Activation, NewSchedule, ScheduleDetailRow};
pub use scripts::{NewScript, ScriptChange, ScriptRow};

use super::StoreResult;

/// Why a write was refused, with what the surface needs to word it (the caller maps each
/// to its API's error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No script by this key (an id, or a title where titles are accepted), as given.
    ScriptNotFound(String),
    /// No schedule by this id, as given.
    ScheduleNotFound(String),
    /// A change of a script's content without the consent comment.
    CommentRequired,
    /// A title that is taken (scripts, schedules).
    Duplicate(String),
    /// The customer's script limit would be passed.
    ScriptLimit(u64),
    /// The same script ran less than the execute interval ago.
    TooSoon { retry_after_ms: i64 },
    /// The customer's executions in the last 24 hours reached the limit.
    DailyLimit { limit: u64, retry_after_ms: i64 },
    /// A clone of a script in this status (`DEPRECATED`, `REJECTED`).
    CloneOfStatus(String),
    /// An execution of a deprecated script.
    Deprecated,
    /// An execution of a script in this status (neither approved nor deprecated).
    NotApproved(String),
    /// Targets naming assets the customer lacks.
    AssetsNotFound(Vec<i64>),
    /// Targets naming tags the customer lacks.
    TagsNotFound(Vec<i64>),
    /// Targets that reach no asset.
    NoTargets,
}

pub type WriteResult<T> = StoreResult<Result<T, Refusal>>;
