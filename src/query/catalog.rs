//! Per object type: which wire field names a filter may use, what SQL each stands for, and
//! its type. Adding a filterable field is one line here.
//!
//! SQL expressions here are constants written for the store's tables (aliased as the
//! store's queries alias them); user input never reaches them — values are bound as
//! parameters by [`super::sql`].

/// How time is stored in a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    Seconds,
    Millis,
}

/// A field's type, as the guides name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Integer,
    Text,
    Date(TimeUnit),
    /// A closed set of values (upper-case on the wire, matched case-insensitively).
    Keyword(&'static [&'static str]),
    Boolean,
}

impl FieldType {
    /// The type's name in QPS error texts.
    pub fn qps_name(self) -> &'static str {
        match self {
            FieldType::Integer => "Long",
            FieldType::Text => "String",
            FieldType::Date(_) => "Date",
            FieldType::Keyword(_) => "Enumeration",
            FieldType::Boolean => "Boolean",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The wire name (`eventType`, `script.name`).
    pub name: &'static str,
    /// The SQL expression it stands for.
    pub sql: &'static str,
    pub ty: FieldType,
}

/// The filterable fields of one object type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Catalog {
    pub object: &'static str,
    pub fields: &'static [Field],
}

impl Catalog {
    /// Exact (case-sensitive) lookup, as QPS does.
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Case-insensitive lookup, as QQL does.
    pub fn field_ignore_case(&self, name: &str) -> Option<&'static Field> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.fields.iter().map(|f| f.name).collect()
    }
}

const fn field(name: &'static str, sql: &'static str, ty: FieldType) -> Field {
    Field { name, sql, ty }
}

// --- CM (tables aliased: a = cm_alerts, p = cm_profiles, r = cm_rules, s = cm_rulesets) ---

/// The CM guide's alert event types.
pub const EVENT_TYPES: &[&str] = &[
    "HOST_FOUND",
    "HOST_UPDATED",
    "HOST_PURGED",
    "PORT_OPEN",
    "PORT_CHANGED",
    "PORT_CLOSED",
    "SOFTWARE_ADDED",
    "SOFTWARE_REMOVED",
    "SSL_NEW",
    "SSL_EXPIRED",
    "SSL_EXPIRY",
    "TICKET_OPEN",
    "TICKET_RESOLVED",
    "TICKET_CLOSED",
    "VULN_OPEN",
    "VULN_CLOSED",
    "VULN_REOPENED",
    "VULN_ACTIVE",
    "VULN_PREDICTION_ADDED",
    "VULN_PREDICTION_CHANGED",
    "VULN_PREDICTION_CLOSED",
];

/// The CM guide's profile notification frequencies.
pub const FREQUENCIES: &[&str] = &[
    "FREQ_NEVER",
    "FREQ_5_MINUTES",
    "FREQ_20_MINUTES",
    "FREQ_1_HR",
    "FREQ_2_HRS",
    "FREQ_6_HRS",
    "FREQ_12_HRS",
    "FREQ_WEEKLY",
    "FREQ_DAILY",
];

/// The CM guide's rule types.
pub const RULE_TYPES: &[&str] = &["HOST", "VULN", "PORT", "SSL", "SW"];

pub const CM_ALERT: Catalog = Catalog {
    object: "alert",
    fields: &[
        field("id", "a.id", FieldType::Integer),
        field("eventType", "a.event_type", FieldType::Keyword(EVENT_TYPES)),
        field("ipAddress", "a.ip_address", FieldType::Text),
        field("hostname", "a.hostname", FieldType::Text),
        field("isHidden", "a.is_hidden", FieldType::Boolean),
        field("eventDate", "a.event_s", FieldType::Date(TimeUnit::Seconds)),
        field("alertDate", "a.alert_s", FieldType::Date(TimeUnit::Seconds)),
        field(
            "profileTitle",
            "(SELECT p.title FROM cm_profiles p WHERE p.id = a.profile_id)",
            FieldType::Text,
        ),
    ],
};

pub const CM_PROFILE: Catalog = Catalog {
    object: "profile",
    fields: &[
        field("id", "p.id", FieldType::Integer),
        field("title", "p.title", FieldType::Text),
        // The guide types it "integer"; it is a UUID, so it is matched as text.
        field("uuid", "p.uuid", FieldType::Text),
        field("frequency", "p.frequency", FieldType::Keyword(FREQUENCIES)),
        field("isActive", "p.is_active", FieldType::Boolean),
        field(
            "ruleSetTitle",
            "(SELECT s.title FROM cm_rulesets s WHERE s.id = p.ruleset_id)",
            FieldType::Text,
        ),
    ],
};

pub const CM_RULE: Catalog = Catalog {
    object: "rule",
    fields: &[
        field("id", "r.id", FieldType::Integer),
        field("ruleType", "r.rule_type", FieldType::Keyword(RULE_TYPES)),
    ],
};

pub const CM_RULESET: Catalog = Catalog {
    object: "ruleset",
    fields: &[
        field("id", "s.id", FieldType::Integer),
        field("title", "s.title", FieldType::Text),
        field("description", "s.description", FieldType::Text),
        field(
            "dateCreated",
            "s.created_s",
            FieldType::Date(TimeUnit::Seconds),
        ),
        field(
            "dateUpdated",
            "s.updated_s",
            FieldType::Date(TimeUnit::Seconds),
        ),
    ],
};

// --- CAR (aliases: s = scripts, a = assets, t = asset_tags, j = script_jobs, aj = asset_jobs,
//      ac = activities) ---

/// Script statuses, as the CAR guide names them.
pub const SCRIPT_STATUSES: &[&str] = &[
    "APPROVED",
    "PENDING_REVIEW",
    "PENDING_TEST",
    "REJECTED",
    "DEPRECATED",
];
/// Platforms a script runs on.
pub const PLATFORMS: &[&str] = &["WINDOWS", "LINUX", "MAC", "AIX", "SOLARIS", "UNIX"];
/// Asset job statuses: queued and running, then a final one.
pub const ASSET_JOB_STATUSES: &[&str] =
    &["QUEUED", "IN_PROGRESS", "SUCCESS", "FAILED", "TIMED_OUT"];
/// How a job was started.
pub const EXECUTION_TYPES: &[&str] = &["Manual", "Scheduled"];
/// Activity (audit) actions.
pub const ACTIVITY_ACTIONS: &[&str] = &[
    "CREATE",
    "APPROVE",
    "REJECT",
    "DEPRECATE",
    "EXECUTE",
    "MODIFY",
    "TEST",
    "DELETE",
];

const MS: FieldType = FieldType::Date(TimeUnit::Millis);

pub const CAR_SCRIPT: Catalog = Catalog {
    object: "script",
    fields: &[
        field("id", "s.id", FieldType::Integer),
        field("title", "s.title", FieldType::Text),
        field("name", "s.title", FieldType::Text),
        field("script.name", "s.title", FieldType::Text),
        field("description", "s.description", FieldType::Text),
        field("status", "s.status", FieldType::Keyword(SCRIPT_STATUSES)),
        field(
            "scriptStatus",
            "s.status",
            FieldType::Keyword(SCRIPT_STATUSES),
        ),
        field("platform", "s.platform", FieldType::Keyword(PLATFORMS)),
        field("severity", "s.severity", FieldType::Integer),
        field("threshold", "s.threshold", FieldType::Integer),
        field("category.id", "s.category_id", FieldType::Integer),
        field("category.name", "s.category_name", FieldType::Text),
        field("type.id", "s.type_id", FieldType::Integer),
        field("type.name", "s.type_name", FieldType::Text),
        field("importedFromId", "s.imported_from_id", FieldType::Integer),
        field("approverName", "s.approver_name", FieldType::Text),
        field("created.dateTime", "s.created_ms", MS),
        field("created.user.name", "s.created_by_name", FieldType::Text),
        field("updated.dateTime", "s.updated_ms", MS),
        field("lastExecutedDateTime", "s.last_executed_ms", MS),
        field(
            "blacklistedCommands",
            "s.blacklisted_commands",
            FieldType::Text,
        ),
        field(
            "hasBlacklistedCommands",
            "(s.blacklisted_commands <> '')",
            FieldType::Boolean,
        ),
    ],
};

pub const CAR_ASSET: Catalog = Catalog {
    object: "asset",
    fields: &[
        field("assetId", "a.id", FieldType::Integer),
        field("id", "a.id", FieldType::Integer),
        field("agentId", "a.agent_id", FieldType::Text),
        field("agentUuid", "a.agent_uuid", FieldType::Text),
        field("name", "a.name", FieldType::Text),
        field("address", "a.address", FieldType::Text),
        field("operatingSystem", "a.operating_system", FieldType::Text),
        field("assetType", "a.asset_type", FieldType::Text),
        field("agentVersion", "a.agent_version", FieldType::Text),
        field(
            "activatedForModules",
            "a.activated_for_modules_json",
            FieldType::Text,
        ),
    ],
};

pub const CAR_ASSET_TAG: Catalog = Catalog {
    object: "assettag",
    fields: &[
        field("tagId", "t.id", FieldType::Integer),
        field("id", "t.id", FieldType::Integer),
        field("name", "t.name", FieldType::Text),
        field("tagUuid", "t.uuid", FieldType::Text),
        field("backgroundColor", "t.background_color", FieldType::Text),
    ],
};

pub const CAR_JOB: Catalog = Catalog {
    object: "job",
    fields: &[
        field("id", "j.id", FieldType::Integer),
        field("scriptId", "j.script_id", FieldType::Integer),
        field("script.id", "j.script_id", FieldType::Integer),
        field("script.name", "j.script_title", FieldType::Text),
        field("scheduleId", "j.schedule_id", FieldType::Integer),
        field("title", "j.title", FieldType::Text),
        field("correlationUuid", "j.correlation_uuid", FieldType::Text),
        field(
            "executionType",
            "j.execution_type",
            FieldType::Keyword(EXECUTION_TYPES),
        ),
        field("platform", "j.platform", FieldType::Keyword(PLATFORMS)),
        field("scriptType", "j.script_type", FieldType::Text),
        field("severity", "j.severity", FieldType::Integer),
        field("threshold", "j.threshold", FieldType::Integer),
        field("category.id", "j.category_id", FieldType::Integer),
        field("category.name", "j.category_name", FieldType::Text),
        // The guide's sort example "ID or Category": the script's category name.
        field("category", "j.category_name", FieldType::Text),
        field("isTest", "j.is_test", FieldType::Boolean),
        field("created.dateTime", "j.created_ms", MS),
        field("updatedDateTime", "j.updated_ms", MS),
        // The guide's "processed at Qualys" time: when the job last changed.
        field("processedTime", "j.updated_ms", MS),
    ],
};

pub const CAR_ASSET_JOB: Catalog = Catalog {
    object: "assetjob",
    fields: &[
        field("id", "aj.id", FieldType::Integer),
        field(
            "status",
            "aj.status",
            FieldType::Keyword(ASSET_JOB_STATUSES),
        ),
        field("job.id", "aj.job_id", FieldType::Integer),
        field("job.scriptId", "j.script_id", FieldType::Integer),
        field("job.scriptName", "j.script_title", FieldType::Text),
        field("job.correlationUuid", "j.correlation_uuid", FieldType::Text),
        field("job.platform", "j.platform", FieldType::Keyword(PLATFORMS)),
        field("job.scriptType", "j.script_type", FieldType::Text),
        field("job.scriptCategory", "j.category_name", FieldType::Text),
        field("category", "j.category_name", FieldType::Text),
        field("asset.id", "aj.asset_id", FieldType::Integer),
        field(
            "asset.name",
            "(SELECT x.name FROM assets x WHERE x.id = aj.asset_id)",
            FieldType::Text,
        ),
        field(
            "asset.address",
            "(SELECT x.address FROM assets x WHERE x.id = aj.asset_id)",
            FieldType::Text,
        ),
        field("output.code", "aj.output_code", FieldType::Integer),
        field("manifestId", "aj.manifest_id", FieldType::Text),
        field("isTest", "aj.is_test", FieldType::Boolean),
        field("created.dateTime", "aj.created_ms", MS),
        field("enddate", "aj.end_ms", MS),
        // The guide's "processed at Qualys" time: when the asset job ended.
        field("processedTime", "aj.end_ms", MS),
    ],
};

pub const CAR_ACTIVITY: Catalog = Catalog {
    object: "activity",
    fields: &[
        field("id", "ac.uuid", FieldType::Text),
        field(
            "activity",
            "ac.action",
            FieldType::Keyword(ACTIVITY_ACTIONS),
        ),
        field("action", "ac.action", FieldType::Keyword(ACTIVITY_ACTIONS)),
        field("targetType", "ac.target_type", FieldType::Text),
        field("targetName", "ac.target_name", FieldType::Text),
        field("targetId", "ac.target_id", FieldType::Text),
        field("userName", "ac.user_name", FieldType::Text),
        field("user.name", "ac.user_name", FieldType::Text),
        field("createdDate", "ac.created_ms", MS),
        // The guide's activities sort example: `[{"Created.dateTime":"asc"}]`.
        field("created.dateTime", "ac.created_ms", MS),
        // "ID, Category and so on": an audit record's category is its target type.
        field("category", "ac.target_type", FieldType::Text),
    ],
};

/// Schedule types, as the CAR guide names them.
pub const SCHEDULE_TYPES: &[&str] = &["ONE_TIME", "HOURLY", "DAILY", "WEEKLY", "MONTHLY"];

/// The scheduler search (aliases: sc = schedules).
pub const CAR_SCHEDULE: Catalog = Catalog {
    object: "schedule",
    fields: &[
        field("id", "sc.id", FieldType::Integer),
        field("title", "sc.title", FieldType::Text),
        field("name", "sc.title", FieldType::Text),
        field("description", "sc.description", FieldType::Text),
        field(
            "scheduleType",
            "sc.schedule_type",
            FieldType::Keyword(SCHEDULE_TYPES),
        ),
        field("activate", "sc.activate", FieldType::Boolean),
        field("active", "sc.activate", FieldType::Boolean),
        field("script.id", "sc.script_id", FieldType::Integer),
        field("scriptId", "sc.script_id", FieldType::Integer),
        field(
            "script.name",
            "(SELECT s.title FROM scripts s WHERE s.id = sc.script_id)",
            FieldType::Text,
        ),
        field("startDate", "sc.start_date", FieldType::Text),
        field("endDate", "sc.end_date", FieldType::Text),
        field("user.name", "sc.user_name", FieldType::Text),
        field("created.dateTime", "sc.created_ms", MS),
        field("lastExecutedDateTime", "sc.last_executed_ms", MS),
        field("nextExecutionDateTime", "sc.next_fire_ms", MS),
    ],
};

// --- CAR lookups: the ids script create and update take ---

/// Script categories: (id, name).
pub const SCRIPT_CATEGORIES: &[(i64, &str)] = &[
    (1, "Data Backup"),
    (2, "Compliance"),
    (3, "Software Management"),
    (4, "Security Hardening"),
    (5, "System Administration"),
    (6, "General Automation"),
    (7, "Incident Response"),
];

/// Script types (`typeId`, `GET /sm/v1/script-types`): the kinds the create API names.
pub const SCRIPT_TYPES: &[(i64, &str)] = &[
    (1, "Custom Script"),
    (2, "Custom QID Script"),
    (3, "Custom Parameterized Script"),
    (4, "Custom Parameterized QID Script"),
];

/// A script language (`languageId`, `GET /sm/v1/script-language`), shown as a script's
/// `type`; `platform` is what a script in it runs on when the request names none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Language {
    pub id: i64,
    pub name: &'static str,
    pub platform: &'static str,
}

/// Script languages: the guide's samples show 1 Python and 4 Powershell.
pub const SCRIPT_LANGUAGES: &[Language] = &[
    Language {
        id: 1,
        name: "Python",
        platform: "WINDOWS",
    },
    Language {
        id: 2,
        name: "Shell",
        platform: "LINUX",
    },
    Language {
        id: 3,
        name: "Lua",
        platform: "WINDOWS",
    },
    Language {
        id: 4,
        name: "Powershell",
        platform: "WINDOWS",
    },
    Language {
        id: 5,
        name: "VBScript",
        platform: "WINDOWS",
    },
    Language {
        id: 6,
        name: "Perl",
        platform: "LINUX",
    },
];
