//! The control operations. The HTTP handlers in [`super`] and the in-process server's
//! methods both call these, so the two stay the same.

use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::faults::{self, Fault, FaultSpec};
use super::journal::{Entry, Filter};
use crate::clock::ClockState;
use crate::config::Limits;
use crate::state::AppState;
use crate::store::car::Outcome;
use crate::store::{NewTenant, Refused, Seed, SeedError, StoreError};

/// Why a control operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("invalid seed: {0}")]
    Seed(#[from] SeedError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

pub type ControlResult<T> = Result<T, ControlError>;

/// What a reset restores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ResetScope {
    /// The data only (every customer's, or one customer's).
    Data,
    /// The data, the clock, the fault rules and the run-time config: the server as it
    /// started (the request journal is kept: `DELETE /_mock/requests` empties it).
    All,
}

/// `POST /_mock/reset`: in the query string (`?customer=Globex&scope=data`), in a JSON body
/// (`{"customer": "Globex"}`), or both when they agree.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResetRequest {
    /// Reset this customer's data only (its runtime records and changes); the clock, fault
    /// rules and config are the whole server's and stay.
    #[serde(default)]
    #[schema(min_length = 1, example = "Globex")]
    pub customer: Option<String>,
    /// What to restore: `all` (the default without `customer`) or `data` (the default, and
    /// the only scope, with `customer`).
    #[serde(default)]
    pub scope: Option<ResetScope>,
}

impl ResetRequest {
    /// Everything back to how the server started.
    pub fn all() -> ResetRequest {
        ResetRequest::default()
    }

    /// One field from the query string and the body: either, or both when equal.
    pub fn merged_with(self, body: ResetRequest) -> ControlResult<ResetRequest> {
        fn one<T: PartialEq + std::fmt::Debug>(
            name: &str,
            query: Option<T>,
            body: Option<T>,
        ) -> ControlResult<Option<T>> {
            match (query, body) {
                (Some(q), Some(b)) if q != b => Err(ControlError::BadRequest(format!(
                    "{name} is {q:?} in the query string but {b:?} in the body"
                ))),
                (q, b) => Ok(q.or(b)),
            }
        }
        Ok(ResetRequest {
            customer: one("customer", self.customer, body.customer)?,
            scope: one("scope", self.scope, body.scope)?,
        })
    }
}

/// What a reset did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResetReport {
    /// The customer whose data was reset; null: every customer's.
    pub customer: Option<String>,
    pub scope: ResetScope,
    /// What went back to how the server started: `data`, and with scope `all` also
    /// `clock`, `faults`, `config` and `stubs` (the loaded stub mappings).
    #[schema(example = json!(["data", "clock", "faults", "config", "stubs"]))]
    pub restored: Vec<String>,
    pub elapsed_ms: f64,
}

/// Back to how the server started: everything (data, clock, fault rules, config), the data
/// only, or one customer's data.
pub async fn reset(state: &AppState, request: ResetRequest) -> ControlResult<ResetReport> {
    let started = Instant::now();
    let scope = match (&request.customer, request.scope) {
        (Some(_), Some(ResetScope::All)) => {
            return Err(ControlError::BadRequest(
                "scope \"all\" restores the whole server (clock, faults, config), which no \
                 customer owns: reset one customer with scope \"data\" (its default)"
                    .into(),
            ));
        }
        (Some(_), _) => ResetScope::Data,
        (None, scope) => scope.unwrap_or(ResetScope::All),
    };
    match &request.customer {
        None => state.store.reset(None).await?,
        Some(name) if name.trim().is_empty() => {
            return Err(ControlError::BadRequest(
                "customer must name a customer (it is empty)".into(),
            ));
        }
        Some(name) => state
            .store
            .reset_customer(name.clone())
            .await?
            .map_err(|refused| ControlError::NotFound(refused.to_string()))?,
    }
    let mut restored = vec!["data".to_owned()];
    if scope == ResetScope::All {
        state.clock.restore();
        state.control.faults.clear();
        state.restore_limits();
        state.control.stubs.restore();
        restored.extend(["clock", "faults", "config", "stubs"].map(str::to_owned));
    }
    // The clock may have moved back: what became due runs as after any clock change.
    if scope == ResetScope::All {
        crate::car::engine::catch_up(state).await?;
    }
    Ok(ResetReport {
        customer: request.customer,
        scope,
        restored,
        elapsed_ms: crate::dates::millis(started.elapsed()),
    })
}

/// `POST /_mock/customers`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewCustomer {
    /// Unique among customers (409 when taken); trimmed.
    #[schema(pattern = "\\S", example = "Initech")]
    pub name: String,
    /// Unique among users (409 when taken); `<name>_user` when absent.
    #[serde(default)]
    #[schema(pattern = "\\S")]
    pub username: Option<String>,
    /// A random one when absent.
    #[serde(default)]
    #[schema(min_length = 1)]
    pub password: Option<String>,
    /// Copy this customer's seeded objects (e.g. "Acme") under new ids; empty when absent.
    #[serde(default)]
    pub copy_of: Option<String>,
    #[serde(default)]
    pub modules: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedCustomer {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub username: String,
    pub password: String,
    /// What was added to every copied object's id.
    pub id_offset: i64,
}

pub async fn create_customer(state: &AppState, req: NewCustomer) -> ControlResult<CreatedCustomer> {
    let name = req.name.trim().to_owned();
    if name.is_empty() {
        return Err(ControlError::BadRequest("name is required".into()));
    }
    let username = req.username.unwrap_or_else(|| {
        format!(
            "{}_user",
            name.to_lowercase().replace(char::is_whitespace, "_")
        )
    });
    if username.trim().is_empty() {
        return Err(ControlError::BadRequest(
            "username must not be empty".into(),
        ));
    }
    let password = req
        .password
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string()[..12].to_owned());
    if password.is_empty() {
        return Err(ControlError::BadRequest(
            "password must not be empty".into(),
        ));
    }
    let new = NewTenant {
        name: name.clone(),
        uuid: uuid::Uuid::new_v4().to_string(),
        username: username.clone(),
        password: password.clone(),
        user_uuid: uuid::Uuid::new_v4().to_string(),
        modules: req
            .modules
            .unwrap_or_else(|| vec!["CAR".into(), "CM".into()]),
        copy_of: req.copy_of,
    };
    let uuid = new.uuid.clone();
    let made = state
        .store
        .create_customer(new)
        .await?
        .map_err(|refused| match refused {
            Refused::NoTemplate(_) | Refused::NoCustomer(_) => {
                ControlError::NotFound(refused.to_string())
            }
            Refused::CustomerTaken(_) | Refused::UserTaken(_) => {
                ControlError::Conflict(refused.to_string())
            }
        })?;
    Ok(CreatedCustomer {
        id: made.id,
        uuid,
        name,
        username,
        password,
        id_offset: made.id_offset,
    })
}

/// Counts of what a runtime seed loaded.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Loaded {
    pub records: usize,
}

/// `POST /_mock/seed`: records of any type, checked against what the store holds; all or
/// nothing.
pub async fn load_seed(state: &AppState, body: &Value) -> ControlResult<Loaded> {
    if let Some(object) = body.as_object()
        && let Some(both) = object
            .keys()
            .find(|k| !k.ends_with(".json") && object.contains_key(&format!("{k}.json")))
    {
        return Err(ControlError::BadRequest(format!(
            "{both:?} and \"{both}.json\" name the same object type: give one"
        )));
    }
    let seed = Seed::from_json_object(body)?;
    // The check runs in the insert's transaction and covers every key the store holds
    // unique: records that clash with stored ones are refused by it (400, naming the record).
    // An insert SQLite refuses after that is the store failing, not the caller (500).
    let records = state.store.seed_runtime(seed).await.map_err(|e| match e {
        StoreError::Seed(e) => ControlError::Seed(e),
        other => ControlError::Store(other),
    })?;
    Ok(Loaded { records })
}

/// `POST /_mock/clock`: any of these (all checked first: a refused change changes nothing);
/// the clock freezes or resumes, then jumps (`set`), then moves (`advance`). The clock stays within 1970-01-01 and 9999-12-31 (UTC).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClockChange {
    /// Jump to this time: epoch ms, an ISO date-time, or `"now"` (the system clock's time;
    /// a running clock is then real time again).
    #[serde(default)]
    #[schema(schema_with = crate::schemas::clock_set)]
    pub set: Option<Value>,
    /// Move by this much: ms, or `"4h"`, `"30m"`, `"90s"`, `"2d"`, `"500ms"`, `"-1h"`.
    #[serde(default)]
    #[schema(schema_with = crate::schemas::clock_advance)]
    pub advance: Option<Value>,
    /// `true`: stand still; `false`: run (the same as `resume: true`).
    #[serde(default)]
    pub freeze: Option<bool>,
    /// `true`: run from where the clock stands; `false`: stand still (`freeze: true`).
    #[serde(default)]
    pub resume: Option<bool>,
}

/// A duration like `4h` or `-30m` (or a number of ms) in milliseconds.
pub fn duration_ms(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => {
            let s = s.trim();
            let (neg, s) = match s.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, s),
            };
            let split = s.find(|c: char| !c.is_ascii_digit())?;
            let (n, unit) = s.split_at(split);
            let n: i64 = n.parse().ok()?;
            let unit_ms = match unit {
                "ms" => 1,
                "s" => 1_000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                "w" => 7 * 86_400_000,
                _ => return None,
            };
            n.checked_mul(unit_ms).map(|v| if neg { -v } else { v })
        }
        _ => None,
    }
}

fn out_of_range(what: &str, ms: impl std::fmt::Display) -> ControlError {
    ControlError::BadRequest(format!(
        "{what}: {ms} is outside the clock's range, {} to {} (epoch ms {} to {})",
        crate::dates::iso_ms(crate::clock::MIN_MS),
        crate::dates::iso_ms(crate::clock::MAX_MS),
        crate::clock::MIN_MS,
        crate::clock::MAX_MS,
    ))
}

/// Where `set` goes: a time, or the system clock's.
enum SetTo {
    Ms(i64),
    SystemTime,
}

fn set_target(set: &Value) -> ControlResult<SetTo> {
    let refused = || {
        ControlError::BadRequest(format!(
            "set must be epoch ms, an ISO date-time or \"now\" (got {set})"
        ))
    };
    let ms = match set {
        Value::String(s) if s.trim().eq_ignore_ascii_case("now") => return Ok(SetTo::SystemTime),
        Value::Number(n) => match n.as_i64() {
            Some(ms) => ms,
            None if n.is_u64() => return Err(out_of_range("set", n)),
            None => return Err(refused()),
        },
        Value::String(s) => crate::store::seed::iso_millis(s).ok_or_else(refused)?,
        _ => return Err(refused()),
    };
    if !crate::clock::in_range(ms) {
        return Err(out_of_range("set", ms));
    }
    Ok(SetTo::Ms(ms))
}

pub async fn change_clock(state: &AppState, change: ClockChange) -> ControlResult<ClockState> {
    let clock = &state.clock;
    let set = change.set.as_ref().map(set_target).transpose()?;
    let advance = change
        .advance
        .as_ref()
        .map(|by| {
            duration_ms(by).ok_or_else(|| {
                ControlError::BadRequest(format!(
                    "advance must be ms or like \"4h\", \"30m\", \"90s\" (got {by})"
                ))
            })
        })
        .transpose()?;
    let frozen = match (change.freeze, change.resume) {
        (Some(freeze), Some(resume)) if freeze == resume => {
            return Err(ControlError::BadRequest(format!(
                "freeze {freeze} and resume {resume} contradict each other"
            )));
        }
        (Some(freeze), _) => Some(freeze),
        (None, resume) => resume.map(|r| !r),
    };
    // Where the clock lands, checked before anything changes.
    let base = match set {
        Some(SetTo::Ms(ms)) => ms,
        Some(SetTo::SystemTime) => clock.system_ms(),
        None => clock.now_ms(),
    };
    if let Some(by) = advance {
        match base.checked_add(by) {
            Some(to) if crate::clock::in_range(to) => {}
            Some(to) => return Err(out_of_range("advance", to)),
            None => return Err(out_of_range("advance", i128::from(base) + i128::from(by))),
        }
    }
    // Frozen or running first, so `{"set": "now", "freeze": false}` is real time exactly.
    match frozen {
        Some(true) => clock.freeze(),
        Some(false) => clock.resume(),
        None => {}
    }
    match set {
        Some(SetTo::Ms(ms)) => clock.set(ms),
        Some(SetTo::SystemTime) => clock.set_to_system_time(),
        None => {}
    }
    if let Some(by) = advance {
        clock.advance(by);
    }
    // Run what became due: jobs progress, schedules fire.
    crate::car::engine::catch_up(state).await?;
    Ok(clock.state())
}

pub fn requests(state: &AppState, filter: &Filter) -> Vec<Entry> {
    state.control.journal.list(filter)
}

pub fn add_fault(state: &AppState, spec: FaultSpec) -> ControlResult<Fault> {
    faults::check(&spec).map_err(ControlError::BadRequest)?;
    Ok(state.control.faults.add(spec))
}

/// `POST /_mock/cm/events`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Events {
    /// The customer (by name) whose profiles see the events.
    pub customer: String,
    #[schema(schema_with = events_schema)]
    pub events: Vec<crate::cm::events::Event>,
}

/// What `POST /_mock/cm/events` requires of each event (`cm::events::check`).
fn events_schema() -> utoipa::openapi::schema::Schema {
    use crate::schemas::{any_of, schema, string};
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    use utoipa::openapi::{KnownFormat, RefOr, SchemaFormat};
    const NO_CONTROL: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$";
    let ip = any_of(["ipv4", "ipv6"].map(|f| {
        schema(
            string()
                .format(Some(SchemaFormat::Custom(f.to_owned())))
                .pattern(Some(if f == "ipv4" {
                    "^[0-9]{1,3}(\\.[0-9]{1,3}){3}$"
                } else {
                    "^[0-9A-Fa-f:.]+$"
                })),
        )
    }));
    let detail = any_of([
        schema(string().pattern(Some(NO_CONTROL))),
        schema(ObjectBuilder::new().schema_type(Type::Number)),
        schema(ObjectBuilder::new().schema_type(Type::Boolean)),
    ]);
    let whole = any_of([
        schema(crate::schemas::integer()),
        schema(string().pattern(Some("^\\s*[+-]?[0-9]{1,18}\\s*$"))),
    ]);
    let mut info = ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(
            "the alert's details (`operatingSystem`, `port`, `protocol`, `sslName`, `qid`, \
             ...): names of letters, digits, '_', '-', '.' (a letter or '_' first, not \
             starting `xml`); values strings, numbers or booleans (`port`, `qid`, \
             `severity` whole numbers)",
        ))
        .property_names(Some(schema(
            string().pattern(Some("^(?![Xx][Mm][Ll])[A-Za-z_][A-Za-z0-9_.-]*$")),
        )))
        .additional_properties(Some(detail));
    for key in ["port", "qid", "severity"] {
        info = info.property(key, whole.clone());
    }
    let event = ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some("a CM host event"))
        .property(
            "eventType",
            schema(string().enum_values(Some(crate::query::catalog::EVENT_TYPES.iter().copied()))),
        )
        .required("eventType")
        .property("ipAddress", ip)
        .required("ipAddress")
        .property("hostname", schema(string().pattern(Some(NO_CONTROL))))
        .property(
            "eventDate",
            any_of([
                crate::schemas::null(),
                schema(
                string()
                    .description(Some("when it happened; now when absent"))
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
                    .pattern(Some("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$")),
                ),
            ]),
        )
        .property("info", schema(info))
        .additional_properties(Some(utoipa::openapi::schema::AdditionalProperties::FreeForm(false)));
    utoipa::openapi::schema::Schema::Array(
        ArrayBuilder::new().items(RefOr::T(schema(event))).build(),
    )
}

pub async fn inject_events(state: &AppState, req: Events) -> ControlResult<Vec<Value>> {
    let customer_id = state
        .store
        .customer_id(req.customer.clone())
        .await?
        .ok_or_else(|| ControlError::NotFound(format!("no customer named {:?}", req.customer)))?;
    for (i, e) in req.events.iter().enumerate() {
        crate::cm::events::check(e)
            .map_err(|m| ControlError::BadRequest(format!("events[{i}]: {m}")))?;
    }
    let ids = crate::cm::events::raise(state, customer_id, req.events).await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = crate::query::SqlWhere::ids(&crate::query::catalog::CM_ALERT, &ids);
    let window = crate::page::Window {
        offset: 0,
        limit: ids.len() as u64,
    };
    let page = state
        .store
        .cm_alerts(customer_id, crate::store::Search::in_id_order(sql, window))
        .await?;
    let response = crate::cm::wire::ServiceResponse::success(
        page.items
            .iter()
            .map(|a| {
                vec![(
                    std::borrow::Cow::Borrowed("Alert"),
                    crate::cm::objects::alert(a),
                )]
                .into()
            })
            .collect(),
    );
    let json: Value = serde_json::from_str(&response.render(crate::cm::wire::Format::Json, ""))
        .unwrap_or(Value::Null);
    Ok(json["ServiceResponse"]["data"]
        .as_array()
        .cloned()
        .unwrap_or_default())
}

/// `POST /_mock/car/assetjobs/{id}/outcome`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForcedOutcome {
    /// The final status (any case).
    #[schema(schema_with = outcome_status)]
    pub status: String,
    #[serde(default)]
    pub code: Option<i64>,
    #[serde(default)]
    pub text: Option<String>,
    /// The script result (text; base64 on the wire).
    #[serde(default)]
    pub result: Option<String>,
}

fn outcome_status() -> utoipa::openapi::schema::Schema {
    // Any case: each letter as a class of both (JSON Schema patterns have no flags).
    let any_case = |status: &str| -> String {
        status
            .chars()
            .map(|c| {
                if c.is_ascii_alphabetic() {
                    format!("[{}{}]", c.to_ascii_uppercase(), c.to_ascii_lowercase())
                } else {
                    c.to_string()
                }
            })
            .collect()
    };
    let statuses: Vec<String> = crate::query::catalog::ASSET_JOB_STATUSES
        .iter()
        .map(|s| any_case(s))
        .collect();
    crate::schemas::schema(
        crate::schemas::string()
            .pattern(Some(format!("^({})$", statuses.join("|"))))
            .examples([serde_json::json!("FAILED")]),
    )
}

pub async fn force_outcome(state: &AppState, id: i64, req: ForcedOutcome) -> ControlResult<()> {
    let status = crate::query::catalog::ASSET_JOB_STATUSES
        .iter()
        .find(|s| s.eq_ignore_ascii_case(&req.status))
        .ok_or_else(|| {
            ControlError::BadRequest(format!(
                "status must be one of {}",
                crate::query::catalog::ASSET_JOB_STATUSES.join(", ")
            ))
        })?;
    let outcome = Outcome {
        status,
        code: req.code.unwrap_or(if *status == "SUCCESS" { 0 } else { 1 }),
        text: req.text.unwrap_or_else(|| status.to_string()),
        result: req.result.unwrap_or_default().into_bytes(),
    };
    if state
        .store
        .car_force_outcome(id, outcome, state.clock.now_ms())
        .await?
    {
        Ok(())
    } else {
        Err(ControlError::NotFound(format!("no asset job {id}")))
    }
}

/// `PUT /_mock/config`: any of the limits, each within its bounds ([`ConfigChange::BOUNDS`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigChange {
    /// Shortest time between two executions of one script, ms (0 to 30 days).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 2_592_000_000_i64)]
    pub execute_interval_ms: Option<i64>,
    /// Manual executions a customer may start in 24 hours (0 to 10,000,000).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 10_000_000)]
    pub daily_executions: Option<i64>,
    /// Scripts a customer may hold (0 to 10,000,000).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 10_000_000)]
    pub script_limit: Option<i64>,
    /// How long an asset job stays QUEUED, ms (0 to 30 days).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 2_592_000_000_i64)]
    pub job_queue_ms: Option<i64>,
    /// How long an asset job runs before its final status, ms (0 to 30 days).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 2_592_000_000_i64)]
    pub job_run_ms: Option<i64>,
    /// Largest CAR `pageSize` (1 to 100,000).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 100_000)]
    pub max_page_size: Option<i64>,
}

const THIRTY_DAYS_MS: i64 = 30 * 86_400_000;

impl ConfigChange {
    /// Each setting's wire name and inclusive bounds.
    pub const BOUNDS: [(&'static str, i64, i64); 6] = [
        ("executeIntervalMs", 0, THIRTY_DAYS_MS),
        ("dailyExecutions", 0, 10_000_000),
        ("scriptLimit", 0, 10_000_000),
        ("jobQueueMs", 0, THIRTY_DAYS_MS),
        ("jobRunMs", 0, THIRTY_DAYS_MS),
        ("maxPageSize", 1, 100_000),
    ];

    fn values(&self) -> [Option<i64>; 6] {
        [
            self.execute_interval_ms,
            self.daily_executions,
            self.script_limit,
            self.job_queue_ms,
            self.job_run_ms,
            self.max_page_size,
        ]
    }

    /// `limits` with these changes, or why one is out of bounds.
    pub fn apply_to(&self, limits: Limits) -> ControlResult<Limits> {
        for ((name, min, max), value) in Self::BOUNDS.iter().zip(self.values()) {
            if let Some(v) = value
                && !(*min..=*max).contains(&v)
            {
                return Err(ControlError::BadRequest(format!(
                    "{name} must be between {min} and {max} (got {v})"
                )));
            }
        }
        // In bounds, so non-negative: the conversions cannot fail.
        let count = |v: i64| u64::try_from(v).unwrap_or(0);
        Ok(Limits {
            execute_interval_ms: self
                .execute_interval_ms
                .unwrap_or(limits.execute_interval_ms),
            daily_executions: self.daily_executions.map_or(limits.daily_executions, count),
            script_limit: self.script_limit.map_or(limits.script_limit, count),
            job_queue_ms: self.job_queue_ms.unwrap_or(limits.job_queue_ms),
            job_run_ms: self.job_run_ms.unwrap_or(limits.job_run_ms),
            max_page_size: self.max_page_size.map_or(limits.max_page_size, count),
        })
    }
}

/// `PUT /_mock/config`: change the limits in force (a full reset restores those the server
/// started with).
pub fn update_config(state: &AppState, change: ConfigChange) -> ControlResult<Limits> {
    let limits = change.apply_to(state.limits())?;
    state.change_limits(limits);
    Ok(limits)
}
