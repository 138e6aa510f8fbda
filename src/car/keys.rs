//! The keys each CAR JSON body takes, declared on its route (`accepts(..)` in the router):
//! the [`CarJson`](super::extract::CarJson) extractor ignores any other key (and notes it
//! for the request's journal entry), or refuses it under `--strict`.
//!
//! Keys are the guide's and the vendor's current documentation's, including fields the
//! emulator reads but does not act on, so that a documented body is never "unknown".

use axum::Extension;

/// The keys a route's body takes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Accepts {
    pub(crate) keys: &'static [&'static str],
    /// Whether a key matches in any case (`Filter`, `PageSize`): the search bodies.
    pub(crate) any_case: bool,
}

impl Accepts {
    pub(crate) fn takes(&self, key: &str) -> bool {
        self.keys
            .iter()
            .any(|k| *k == key || (self.any_case && k.eq_ignore_ascii_case(key)))
    }
}

/// The route layer declaring a body's keys.
pub(crate) fn accepts(keys: &'static [&'static str]) -> Extension<Accepts> {
    Extension(Accepts {
        keys,
        any_case: false,
    })
}

/// The route layer declaring a search body's keys (matched in any case, as the guide
/// spells them variously).
pub(crate) fn accepts_any_case(keys: &'static [&'static str]) -> Extension<Accepts> {
    Extension(Accepts {
        keys,
        any_case: true,
    })
}

/// Script, asset and asset-tag search.
pub(crate) const SEARCH: &[&str] = &[
    "filter",
    "qql",
    "pageNumber",
    "pageSize",
    "sort",
    "includeScriptResult",
];

/// Job and asset-job search: the search keys and the creation-time bounds.
pub(crate) const SEARCH_START_AT: &[&str] = &[
    "filter",
    "qql",
    "pageNumber",
    "pageSize",
    "sort",
    "includeScriptResult",
    "startAt",
    "endAt",
];

/// The activity log: the search keys and its date bounds.
pub(crate) const SEARCH_START_DATE: &[&str] = &[
    "filter",
    "qql",
    "pageNumber",
    "pageSize",
    "sort",
    "includeScriptResult",
    "startDate",
    "endDate",
];

/// `POST /sm/v1/scripts/{key}/clone` (`scriptId` names the title in the guide's curl).
pub(crate) const CLONE: &[&str] = &["scriptTitle", "scriptId", "description"];

/// `POST /sm/v1/scripts/{key}/execute`: the guide's keys and those release 2.5 added.
pub(crate) const EXECUTE: &[&str] = &[
    "assetIds",
    "assetTagIds",
    "excludedAssetIds",
    "testMode",
    "testTags",
    "testAssets",
    "user",
    "executionPolicyBypassEnabled",
    "description",
    "rebootAfterScriptExecution",
    "rebootDelayInSeconds",
    "rebootDelayTimeUnit",
];

/// `POST /sm/v1/scripts/scheduler`: the guide's sample keys and the recurrence fields.
pub(crate) const SCHEDULE: &[&str] = &[
    "title",
    "description",
    "scripts",
    "user",
    "assets",
    "assetTags",
    "excludedAssets",
    "scheduleType",
    "startDate",
    "endDate",
    "startTime",
    "hourlyInterval",
    "daysOfWeek",
    "recurrenceDate",
    "recurrenceMonth",
    "monthlyScheduleType",
    "activate",
    "rebootDelayTimeUnit",
];

/// Script create (`POST /sm/v5/script`, `/sm/v4/script`): v5's and v4's fields.
pub(crate) const SCRIPT_CREATE: &[&str] = &[
    "title",
    "typeId",
    "languageId",
    "categoryId",
    "description",
    "content",
    "platform",
    "severity",
    "threshold",
    "scriptApprovalUserConsent",
    "hasParameters",
    "params",
    "autorScriptsMetadata",
    // The GitHub and GitLab fields (the vendor spells the URL key two ways; the keys
    // match in any case).
    "githubInputUrl",
    "gitHubUser",
    "gitHubRepo",
    "gitHubFilePath",
    "gitHubBranch",
    "gitHubToken",
    "gitHubSyncEnabled",
    "gitHubAutoSync",
    "importedScriptFromGitLab",
    "gitLabDetails",
];

/// Script update (`PATCH /sm/v4/script/{id}`).
pub(crate) const SCRIPT_UPDATE: &[&str] = &[
    "title",
    "description",
    "categoryId",
    "languageId",
    "platform",
    "severity",
    "threshold",
    "content",
    "comment",
    "scriptApprovalUserConsent",
    // The GitHub and GitLab fields (the vendor spells the URL key two ways; the keys
    // match in any case).
    "githubInputUrl",
    "gitHubUser",
    "gitHubRepo",
    "gitHubFilePath",
    "gitHubBranch",
    "gitHubToken",
    "gitHubSyncEnabled",
    "gitHubAutoSync",
    "importedScriptFromGitLab",
    "gitLabDetails",
];

/// The 2025 schedule search.
pub(crate) const SCHEDULE_SEARCH: &[&str] = &[
    "filter",
    "qql",
    "pageNumber",
    "pageSize",
    "sort",
    "startAt",
    "endAt",
];
