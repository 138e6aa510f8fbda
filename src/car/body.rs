//! The CAR search body: `filter` (or `qql`), `pageNumber`, `pageSize`, `sort`, the date
//! bounds, `includeScriptResult` — and its compilation to a store query.
//!
//! Numbers may come as numbers or strings (the guide types them "String"); `sort` as a JSON
//! string holding `[{"field":"asc|desc"}]` (as documented) or as that array itself.

use serde_json::Value;

use super::error::CarError;
use super::extract::JsonObject;
use crate::page::Window;
use crate::query::catalog::{Catalog, FieldType};
use crate::query::{Dialect, Filter, Invalid, InvalidKind, Op, qql, sql};
use crate::store::Search;

/// CAR's default page size.
pub const DEFAULT_PAGE_SIZE: u64 = 10;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchBody {
    pub filter: String,
    pub page_number: u64,
    pub page_size: u64,
    pub sort: Vec<(String, bool)>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub include_script_result: bool,
}

fn bad(message: impl Into<String>) -> CarError {
    CarError::BadRequest(message.into())
}

fn number(body: &serde_json::Map<String, Value>, key: &str, default: u64) -> Result<u64, CarError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| bad(format!("{key} must be a whole number of 0 or more"))),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(default),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map_err(|_| bad(format!("{key} must be a whole number of 0 or more"))),
        Some(_) => Err(bad(format!("{key} must be a whole number of 0 or more"))),
    }
}

fn text(body: &serde_json::Map<String, Value>, key: &str) -> Result<Option<String>, CarError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(bad(format!("{key} must be a string"))),
    }
}

fn parse_sort(value: &Value) -> Result<Vec<(String, bool)>, CarError> {
    let array = match value {
        Value::Null => return Ok(Vec::new()),
        Value::String(s) if s.trim().is_empty() => return Ok(Vec::new()),
        Value::String(s) => serde_json::from_str::<Value>(s)
            .map_err(|_| bad("sort must be a JSON array like [{\"created.dateTime\":\"desc\"}]"))?,
        other => other.clone(),
    };
    let items = match array {
        Value::Array(items) => items,
        single @ Value::Object(_) => vec![single],
        _ => {
            return Err(bad(
                "sort must be a JSON array like [{\"created.dateTime\":\"desc\"}]",
            ));
        }
    };
    let mut out = Vec::new();
    for item in items {
        let Value::Object(map) = item else {
            return Err(bad(
                "each sort entry must be an object like {\"created.dateTime\":\"desc\"}",
            ));
        };
        for (field, dir) in map {
            let dir = dir
                .as_str()
                .unwrap_or_default()
                .trim()
                .trim_start_matches('\\')
                .to_ascii_lowercase();
            let desc = match dir.as_str() {
                "asc" => false,
                "desc" => true,
                _ => {
                    return Err(bad(format!(
                        "sort direction for {field} must be asc or desc"
                    )));
                }
            };
            out.push((field, desc));
        }
    }
    Ok(out)
}

/// The keys every search body takes (besides its endpoint's date bounds).
const KEYS: &[&str] = &[
    "filter",
    "qql",
    "pageNumber",
    "pageSize",
    "sort",
    "includeScriptResult",
];

/// The body with its keys in their canonical spelling: the guide writes them `Filter`,
/// `filter`, `qql` and `pageSize` in different places, so any case is taken. A key the
/// endpoint does not take never reaches here: the route declares its keys and `CarJson`
/// ignores (or under `--strict` refuses) the others; one that does is left unread.
fn canonical_keys(body: &JsonObject, dates: Option<(&str, &str)>) -> Result<JsonObject, CarError> {
    let dates = dates.map(|(s, e)| [s, e]);
    let known: Vec<&str> = KEYS
        .iter()
        .copied()
        .chain(dates.iter().flatten().copied())
        .collect();
    let mut out = JsonObject::new();
    for (key, value) in body {
        let Some(name) = known.iter().find(|k| k.eq_ignore_ascii_case(key)) else {
            continue;
        };
        if out.insert((*name).to_owned(), value.clone()).is_some() {
            return Err(bad(format!("Field '{name}' is given more than once")));
        }
    }
    Ok(out)
}

impl SearchBody {
    /// Parse a body from its bytes (the handlers take it through `CarJson` and call
    /// [`SearchBody::from_object`]); `filter_key` is `filter` or `qql`, `dates` the bound keys
    /// (`startAt`/`endAt`, `startDate`/`endDate`) where the endpoint has them.
    #[cfg(test)]
    pub(crate) fn parse(
        bytes: &[u8],
        filter_key: &str,
        dates: Option<(&str, &str)>,
        max_page_size: u64,
    ) -> Result<SearchBody, CarError> {
        let super::extract::CarJson(body) =
            super::extract::CarJson::<JsonObject>::from_bytes(bytes)?;
        SearchBody::from_object(&body, filter_key, dates, max_page_size)
    }

    /// Read a body already taken as a JSON object: `filter_key` is `filter` or `qql`,
    /// `dates` the bound keys (`startAt`/`endAt`, `startDate`/`endDate`) where the endpoint
    /// has them.
    pub(crate) fn from_object(
        body: &JsonObject,
        filter_key: &str,
        dates: Option<(&str, &str)>,
        max_page_size: u64,
    ) -> Result<SearchBody, CarError> {
        let body = &canonical_keys(body, dates)?;
        let filter = match text(body, filter_key)? {
            Some(f) => f,
            // Accept the other name too: clients mix them up.
            None => text(
                body,
                if filter_key == "filter" {
                    "qql"
                } else {
                    "filter"
                },
            )?
            .unwrap_or_default(),
        };
        let page_size = number(body, "pageSize", DEFAULT_PAGE_SIZE)?;
        if page_size == 0 || page_size > max_page_size {
            return Err(bad(format!(
                "pageSize must be between 1 and {max_page_size}"
            )));
        }
        let (start, end) = match dates {
            Some((s, e)) => (text(body, s)?, text(body, e)?),
            None => (None, None),
        };
        let include_script_result = match body.get("includeScriptResult") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => true,
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") || s.is_empty() => false,
            Some(_) => return Err(bad("includeScriptResult must be true or false")),
        };
        Ok(SearchBody {
            filter,
            page_number: number(body, "pageNumber", 0)?,
            page_size,
            sort: parse_sort(body.get("sort").unwrap_or(&Value::Null))?,
            start,
            end,
            include_script_result,
        })
    }

    /// Compile for `catalog`; the date bounds apply to `date_field`.
    pub fn search(
        &self,
        catalog: &Catalog,
        date_field: &str,
        now_ms: i64,
    ) -> Result<Search, CarError> {
        let parsed = qql::parse(&self.filter).map_err(|e| bad(format!("Invalid filter: {e}")))?;
        let mut parts = vec![parsed];
        if let Some(start) = &self.start {
            parts.push(Filter::cond(
                date_field,
                Op::GreaterOrEqual,
                vec![start.clone()],
            ));
        }
        if let Some(end) = &self.end {
            parts.push(Filter::cond(
                date_field,
                Op::LesserOrEqual,
                vec![end.clone()],
            ));
        }
        let filter = Filter::and(parts);
        let where_ =
            sql::compile(&filter, catalog, Dialect::Qql, now_ms).map_err(|e| bad(explain(&e)))?;
        let mut order = Vec::new();
        for (name, desc) in &self.sort {
            let field = catalog.field_ignore_case(name).ok_or_else(|| {
                bad(format!(
                    "Invalid sort field '{name}'; sortable fields: {}",
                    catalog.names().join(", ")
                ))
            })?;
            // A column sorts once (its first direction): a later entry for it changes
            // nothing, and this keeps ORDER BY within SQLite's term limit.
            if !order.iter().any(|(sql, _)| *sql == field.sql) {
                order.push((field.sql, *desc));
            }
        }
        Ok(Search::counted(
            where_,
            order,
            Window::car(self.page_number, self.page_size),
        ))
    }
}

/// A filter error in CAR's words, with the position (0-based, in characters) of the token
/// at fault when it came from the client's text.
fn explain(e: &Invalid) -> String {
    let at = e
        .span
        .map(|s| format!(" (at position {})", s.start))
        .unwrap_or_default();
    let problem = match &e.kind {
        InvalidKind::UnknownField { field, known } => {
            return format!(
                "Invalid filter: unknown field '{field}'{at}; fields: {}",
                known.join(", ")
            );
        }
        InvalidKind::OperatorNotAllowed { field, op } => format!(
            "{} cannot be used with field '{}'",
            match op {
                Op::Between { .. } => "a range".to_owned(),
                Op::In => "a list".to_owned(),
                other => format!("operator {}", other.qps_name()),
            },
            field.name
        ),
        InvalidKind::MissingValue { field } => {
            format!("a value is required for field '{}'", field.name)
        }
        InvalidKind::InvalidValue { field, value } => format!(
            "'{value}' is not a valid {} for field '{}'",
            match field.ty {
                FieldType::Integer => "number".to_owned(),
                FieldType::Date(_) => "date".to_owned(),
                FieldType::Boolean => "boolean (true or false)".to_owned(),
                FieldType::Keyword(values) => format!("value (one of {})", values.join(", ")),
                FieldType::Text => "text".to_owned(),
            },
            field.name
        ),
        InvalidKind::ValueTooLong { field, limit } => {
            format!(
                "the value for field '{}' is longer than {limit} bytes",
                field.name
            )
        }
        InvalidKind::TooManyTerms { limit } => {
            format!("it has more than {limit} conditions")
        }
        InvalidKind::TooManyValues { limit } => format!("it has more than {limit} values"),
        InvalidKind::TooDeep { limit } => format!("it nests deeper than {limit} levels"),
    };
    format!("Invalid filter: {problem}{at}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::catalog::CAR_SCRIPT;

    #[test]
    fn guide_bodies_parse() {
        let b = SearchBody::parse(
            br#"{"filter": "status:APPROVED", "pageSize": 30, "pageNumber": 0}"#,
            "filter",
            None,
            1000,
        )
        .unwrap();
        assert_eq!(
            (b.page_size, b.page_number, b.filter.as_str()),
            (30, 0, "status:APPROVED")
        );
        let b = SearchBody::parse(br#"{"filter": "job.id:80507", "includeScriptResult": true, "sort": "[{\"created.dateTime\": \"desc\"}]"}"#, "filter", Some(("startAt", "endAt")), 1000).unwrap();
        assert!(b.include_script_result);
        assert_eq!(b.sort, vec![("created.dateTime".to_owned(), true)]);
        let b = SearchBody::parse(
            br#"{"pageSize": "5", "pageNumber": "2", "sort": [{"Created.dateTime": "\\asc"}]}"#,
            "filter",
            None,
            1000,
        )
        .unwrap();
        assert_eq!((b.page_size, b.page_number), (5, 2));
        assert_eq!(b.sort, vec![("Created.dateTime".to_owned(), false)]);
        assert_eq!(
            SearchBody::parse(b"", "filter", None, 1000)
                .unwrap()
                .page_size,
            10
        );
    }

    fn err(body: &str) -> String {
        match SearchBody::parse(body.as_bytes(), "filter", None, 1000)
            .and_then(|b| b.search(&CAR_SCRIPT, "created.dateTime", 0))
        {
            Ok(_) => "ok".into(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn errors_name_the_problem_and_position() {
        insta::assert_snapshot!(err(r#"{"filter": "colour:red"}"#), @"Invalid filter: unknown field 'colour' (at position 0); fields: id, title, name, script.name, description, status, scriptStatus, platform, severity, threshold, category.id, category.name, type.id, type.name, importedFromId, approverName, created.dateTime, created.user.name, updated.dateTime, lastExecutedDateTime, blacklistedCommands, hasBlacklistedCommands");
        insta::assert_snapshot!(err(r#"{"filter": "status:APPROVED AND severity:high"}"#), @"Invalid filter: 'high' is not a valid number for field 'severity' (at position 29)");
        insta::assert_snapshot!(err(r#"{"filter": "status:OPEN"}"#), @"Invalid filter: 'OPEN' is not a valid value (one of APPROVED, PENDING_REVIEW, PENDING_TEST, REJECTED, DEPRECATED) for field 'status' (at position 7)");
        insta::assert_snapshot!(err(r#"{"filter": "title > 3"}"#), @"Invalid filter: operator GREATER cannot be used with field 'title' (at position 0)");
        insta::assert_snapshot!(err(r#"{"filter": "status:(APPROVED"}"#), @"Invalid filter: expected '..' in a range (at position 16)");
        insta::assert_snapshot!(err(r#"{"pageSize": 0}"#), @"pageSize must be between 1 and 1000");
        insta::assert_snapshot!(err(r#"{"pageSize": 1001}"#), @"pageSize must be between 1 and 1000");
        insta::assert_snapshot!(err(r#"{"pageNumber": -1}"#), @"pageNumber must be a whole number of 0 or more");
        insta::assert_snapshot!(err(r#"{"sort": "created desc"}"#), @r#"sort must be a JSON array like [{"created.dateTime":"desc"}]"#);
        insta::assert_snapshot!(err(r#"{"sort": [{"color": "asc"}]}"#), @"Invalid sort field 'color'; sortable fields: id, title, name, script.name, description, status, scriptStatus, platform, severity, threshold, category.id, category.name, type.id, type.name, importedFromId, approverName, created.dateTime, created.user.name, updated.dateTime, lastExecutedDateTime, blacklistedCommands, hasBlacklistedCommands");
        insta::assert_snapshot!(err(r#"{"sort": [{"title": "up"}]}"#), @"sort direction for title must be asc or desc");
        insta::assert_snapshot!(err("{"), @"Malformed JSON request body: EOF while parsing an object at line 1 column 1");
        insta::assert_snapshot!(err("[]"), @"The request body must be a JSON object");
    }
}
