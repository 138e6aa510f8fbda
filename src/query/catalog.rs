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
