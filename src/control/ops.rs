//! The control operations. The HTTP handlers in [`super`] and [`crate::mock::MockServer`]
//! both call these, so the two stay the same.

use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::faults::{self, Fault, FaultSpec};
use super::journal::{Entry, Filter};
use crate::clock::ClockState;
use crate::state::{AppState, Limits};
use crate::store::car::Outcome;
use crate::store::{NewTenant, Refused, Seed, SeedError, StoreError};

/// Why a control operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("invalid seed: {0}")]
    Seed(#[from] SeedError),
    #[error("store: {}", crate::logging::cause(.0))]
    Store(#[from] StoreError),
}

pub type ControlResult<T> = Result<T, ControlError>;

/// What a reset did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResetReport {
    pub customer: Option<String>,
    pub elapsed_ms: f64,
}

/// Back to the baseline the server started with: everything, or one customer.
pub async fn reset(state: &AppState, customer: Option<String>) -> ControlResult<ResetReport> {
    let started = Instant::now();
    match &customer {
        None => state.store.reset(None).await?,
        Some(name) => state
            .store
            .reset_customer(name.clone())
            .await?
            .map_err(|refused| ControlError::NotFound(refused.to_string()))?,
    }
    state.data_changed();
    Ok(ResetReport {
        customer,
        elapsed_ms: crate::dates::millis(started.elapsed()),
    })
}

/// `POST /_mock/customers`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewCustomer {
    pub name: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
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
                ControlError::BadRequest(refused.to_string())
            }
        })?;
    state.engine_work_added();
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
    let seed = Seed::from_json_object(body)?;
    let records = state.store.seed_runtime(seed).await.map_err(|e| match e {
        StoreError::Seed(e) => ControlError::Seed(e),
        StoreError::Sqlite(err) => {
            ControlError::BadRequest(format!("the records conflict with what is stored: {err}"))
        }
        other => ControlError::Store(other),
    })?;
    state.data_changed();
    Ok(Loaded { records })
}

/// `POST /_mock/clock`: any of these, applied in this order.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClockChange {
    /// Jump to this time: epoch ms, or an ISO date-time.
    #[serde(default)]
    #[schema(schema_with = crate::schemas::clock_set)]
    pub set: Option<Value>,
    /// Move by this much: ms, or `"4h"`, `"30m"`, `"90s"`, `"2d"`, `"500ms"`, `"-1h"`.
    #[serde(default)]
    #[schema(schema_with = crate::schemas::clock_advance)]
    pub advance: Option<Value>,
    #[serde(default)]
    pub freeze: Option<bool>,
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

pub async fn change_clock(state: &AppState, change: ClockChange) -> ControlResult<ClockState> {
    let clock = &state.clock;
    if let Some(set) = &change.set {
        let ms = match set {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => crate::store::seed::iso_millis(s),
            _ => None,
        }
        .ok_or_else(|| {
            ControlError::BadRequest("set must be epoch ms or an ISO date-time".into())
        })?;
        clock.set(ms);
    }
    if let Some(by) = &change.advance {
        let ms = duration_ms(by).ok_or_else(|| {
            ControlError::BadRequest("advance must be ms or like \"4h\", \"30m\", \"90s\"".into())
        })?;
        clock.advance(ms);
    }
    if change.freeze == Some(true) {
        clock.freeze();
    }
    if change.resume == Some(true) {
        clock.resume();
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
    #[schema(schema_with = crate::schemas::cm_events)]
    pub events: Vec<crate::cm::events::Event>,
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
    let page = state.store.cm_alerts(customer_id, sql, window).await?;
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
    pub status: String,
    #[serde(default)]
    pub code: Option<i64>,
    #[serde(default)]
    pub text: Option<String>,
    /// The script result (text; base64 on the wire).
    #[serde(default)]
    pub result: Option<String>,
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

/// `PUT /_mock/config`: any of the limits' fields.
pub fn update_config(state: &AppState, changes: &Value) -> ControlResult<Limits> {
    let mut current = serde_json::to_value(state.limits()).unwrap_or(Value::Null);
    let Some(changes) = changes.as_object() else {
        return Err(ControlError::BadRequest(
            "the body must be an object of limits".into(),
        ));
    };
    for (k, v) in changes {
        if current.get(k).is_none() {
            return Err(ControlError::BadRequest(format!("unknown setting {k:?}")));
        }
        current[k] = v.clone();
    }
    let limits: Limits =
        serde_json::from_value(current).map_err(|e| ControlError::BadRequest(e.to_string()))?;
    if limits.max_page_size == 0 {
        return Err(ControlError::BadRequest(
            "maxPageSize must be at least 1".into(),
        ));
    }
    state.set_limits(limits);
    Ok(limits)
}
