//! `ServiceRequest` in: XML or JSON body → preferences and criteria.
//!
//! ```xml
//! <ServiceRequest>
//!   <preferences><startFromOffset>1</startFromOffset><limitResults>100</limitResults></preferences>
//!   <filters><Criteria field="id" operator="GREATER">123</Criteria></filters>
//! </ServiceRequest>
//! ```
//! JSON: `{"ServiceRequest":{"preferences":{..},"filters":{"Criteria":[{"field":..,
//! "operator":..,"value":..}]}}}` — a single `Criteria` may be an object. An empty body is a
//! request with no filters.

use serde_json::Value;

use super::error::CmError;
use crate::query::criteria::Criterion;
use crate::xml::Element;

/// QPS page size bounds and default.
pub const MAX_LIMIT: u64 = 1000;
pub const DEFAULT_LIMIT: u64 = 100;
/// Deepest element nesting read from a request.
const MAX_XML_DEPTH: usize = 16;

/// What a `ServiceRequest` asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRequest {
    /// 1-based.
    pub start_from_offset: u64,
    pub start_from_id: Option<i64>,
    pub limit_results: u64,
    pub criteria: Vec<Criterion>,
}

impl Default for ServiceRequest {
    fn default() -> Self {
        ServiceRequest {
            start_from_offset: 1,
            start_from_id: None,
            limit_results: DEFAULT_LIMIT,
            criteria: Vec::new(),
        }
    }
}

fn not_set(element: &str) -> CmError {
    CmError::invalid_request(
        format!("{element}: Element must not be set."),
        "This element does not apply to this request.",
    )
}

fn malformed(kind: &str, detail: impl std::fmt::Display) -> CmError {
    CmError::invalid_request(
        format!("Request body is not valid {kind}: {detail}"),
        format!("Send a well-formed {kind} ServiceRequest, as the API guide shows."),
    )
}

/// Parse a body; `json` when the client sent `Content-Type: application/json`.
pub fn parse(body: &[u8], json: bool) -> Result<ServiceRequest, CmError> {
    let text = std::str::from_utf8(body).map_err(|e| malformed("UTF-8", e))?;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok(ServiceRequest::default());
    }
    if json || trimmed.starts_with('{') {
        parse_json(trimmed)
    } else {
        parse_xml(trimmed)
    }
}

// --- shared interpretation ---------------------------------------------------------------

fn preference(req: &mut ServiceRequest, name: &str, value: &str) -> Result<(), CmError> {
    let value = value.trim();
    let number = |what: &str| -> Result<i64, CmError> {
        value.parse::<i64>().map_err(|_| {
            CmError::invalid_request(
                format!("{what}: Invalid value ({value})."),
                format!("Specify {what} as a whole number."),
            )
        })
    };
    match name {
        "limitResults" => {
            let n = number(name)?;
            if !(1..=MAX_LIMIT as i64).contains(&n) {
                return Err(CmError::invalid_request(
                    format!("limitResults: Value must be between 1 and {MAX_LIMIT} ({n})."),
                    format!("Specify a page size from 1 to {MAX_LIMIT}."),
                ));
            }
            req.limit_results = n as u64;
        }
        "startFromOffset" => {
            let n = number(name)?;
            if n < 1 {
                return Err(CmError::invalid_request(
                    format!("startFromOffset: Value must be 1 or greater ({n})."),
                    "Records are numbered from 1.",
                ));
            }
            req.start_from_offset = n as u64;
        }
        "startFromId" => req.start_from_id = Some(number(name)?),
        other => return Err(not_set(other)),
    }
    Ok(())
}

// --- XML ---------------------------------------------------------------------------------

fn read_tree(text: &str) -> Result<Element, CmError> {
    crate::xml::read_tree(text, MAX_XML_DEPTH).map_err(|e| malformed("XML", e))
}

fn parse_xml(text: &str) -> Result<ServiceRequest, CmError> {
    let root = read_tree(text)?;
    if root.name != "ServiceRequest" {
        return Err(CmError::invalid_request(
            format!("{}: Element must not be set.", root.name),
            "The request body must be a ServiceRequest element.",
        ));
    }
    let mut req = ServiceRequest::default();
    for section in &root.children {
        match section.name.as_str() {
            "preferences" => {
                for p in &section.children {
                    preference(&mut req, &p.name, &p.text)?;
                }
            }
            "filters" => {
                for c in &section.children {
                    if c.name != "Criteria" {
                        return Err(not_set(&c.name));
                    }
                    let attr = |name: &str| {
                        c.attributes
                            .iter()
                            .find(|a| a.name == name)
                            .map(|a| a.value.clone())
                    };
                    for a in &c.attributes {
                        if a.name != "field" && a.name != "operator" {
                            return Err(not_set(&format!("Criteria/@{}", a.name)));
                        }
                    }
                    if let Some(child) = c.children.first() {
                        return Err(not_set(&child.name));
                    }
                    req.criteria.push(Criterion {
                        field: attr("field"),
                        operator: attr("operator"),
                        value: Some(c.text.clone()),
                    });
                }
            }
            other => return Err(not_set(other)),
        }
    }
    Ok(req)
}

// --- JSON --------------------------------------------------------------------------------

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn parse_json(text: &str) -> Result<ServiceRequest, CmError> {
    let value: Value = serde_json::from_str(text).map_err(|e| malformed("JSON", e))?;
    let Value::Object(root) = value else {
        return Err(malformed("JSON", "the body must be an object"));
    };
    let mut req = ServiceRequest::default();
    for (key, body) in root {
        if key != "ServiceRequest" {
            return Err(not_set(&key));
        }
        let Value::Object(sections) = body else {
            return Err(malformed("JSON", "ServiceRequest must be an object"));
        };
        for (section, content) in sections {
            match (section.as_str(), content) {
                ("preferences", Value::Object(prefs)) => {
                    for (name, v) in prefs {
                        preference(&mut req, &name, &scalar_text(&v).unwrap_or_default())?;
                    }
                }
                ("filters", Value::Object(filters)) => {
                    for (name, v) in filters {
                        if name != "Criteria" {
                            return Err(not_set(&name));
                        }
                        let list = match v {
                            Value::Array(items) => items,
                            single => vec![single],
                        };
                        for item in list {
                            let Value::Object(c) = item else {
                                return Err(malformed("JSON", "a Criteria must be an object"));
                            };
                            let mut criterion = Criterion::default();
                            for (k, v) in c {
                                match k.as_str() {
                                    "field" => criterion.field = scalar_text(&v),
                                    "operator" => criterion.operator = scalar_text(&v),
                                    "value" => criterion.value = scalar_text(&v),
                                    other => return Err(not_set(&format!("Criteria/{other}"))),
                                }
                            }
                            req.criteria.push(criterion);
                        }
                    }
                }
                ("preferences" | "filters", _) => {
                    return Err(malformed("JSON", format!("{section} must be an object")));
                }
                (other, _) => return Err(not_set(other)),
            }
        }
    }
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crit(field: &str, op: &str, value: &str) -> Criterion {
        Criterion {
            field: Some(field.into()),
            operator: Some(op.into()),
            value: Some(value.into()),
        }
    }

    #[test]
    fn guide_xml_request() {
        let req = parse(
            br#"<?xml version="1.0"?>
            <ServiceRequest>
              <preferences><limitResults>5</limitResults></preferences>
              <filters>
                <Criteria field="ipAddress" operator="EQUALS">10.10.30.70</Criteria>
                <Criteria field="id" operator="GREATER">123</Criteria>
              </filters>
            </ServiceRequest>"#,
            false,
        )
        .unwrap();
        assert_eq!(req.limit_results, 5);
        assert_eq!(
            req.criteria,
            vec![
                crit("ipAddress", "EQUALS", "10.10.30.70"),
                crit("id", "GREATER", "123")
            ]
        );
    }

    #[test]
    fn xml_entities_are_resolved() {
        let req = parse(
            br#"<ServiceRequest><filters><Criteria field="title" operator="EQUALS">A &amp; B &#65;</Criteria></filters></ServiceRequest>"#,
            false,
        )
        .unwrap();
        assert_eq!(req.criteria[0].value.as_deref(), Some("A & B A"));
    }

    #[test]
    fn guide_json_request_single_or_list() {
        let list = parse(
            br#"{"ServiceRequest":{"filters":{"Criteria":[{"field":"id","operator":"EQUALS","value":"179201"},{"field":"ruleType","operator":"EQUALS","value":"HOST"}]}}}"#,
            true,
        )
        .unwrap();
        assert_eq!(list.criteria.len(), 2);
        let single = parse(
            br#"{"ServiceRequest":{"preferences":{"limitResults":10},"filters":{"Criteria":{"field":"id","operator":"GREATER","value":123}}}}"#,
            true,
        )
        .unwrap();
        assert_eq!(single.limit_results, 10);
        assert_eq!(single.criteria, vec![crit("id", "GREATER", "123")]);
    }

    #[test]
    fn empty_body_is_no_filter() {
        assert_eq!(parse(b"  \n", false).unwrap(), ServiceRequest::default());
    }

    fn message(body: &str) -> String {
        let e = parse(body.as_bytes(), false).unwrap_err();
        format!("{} | {}", e.message, e.resolution)
    }

    #[test]
    fn request_errors() {
        insta::assert_snapshot!(message("<ServiceRequest><colour/></ServiceRequest>"), @"colour: Element must not be set. | This element does not apply to this request.");
        insta::assert_snapshot!(message("<ServiceRequest><preferences><limitResults>0</limitResults></preferences></ServiceRequest>"), @"limitResults: Value must be between 1 and 1000 (0). | Specify a page size from 1 to 1000.");
        insta::assert_snapshot!(message("<ServiceRequest><preferences><limitResults>1001</limitResults></preferences></ServiceRequest>"), @"limitResults: Value must be between 1 and 1000 (1001). | Specify a page size from 1 to 1000.");
        insta::assert_snapshot!(message("<ServiceRequest><preferences><limitResults>ten</limitResults></preferences></ServiceRequest>"), @"limitResults: Invalid value (ten). | Specify limitResults as a whole number.");
        insta::assert_snapshot!(message("<ServiceRequest><preferences><startFromOffset>0</startFromOffset></preferences></ServiceRequest>"), @"startFromOffset: Value must be 1 or greater (0). | Records are numbered from 1.");
        insta::assert_snapshot!(message("<ServiceRequest><filters><Filter/></filters></ServiceRequest>"), @"Filter: Element must not be set. | This element does not apply to this request.");
        insta::assert_snapshot!(message("<ServiceRequest><filters>"), @"Request body is not valid XML: unclosed element | Send a well-formed XML ServiceRequest, as the API guide shows.");
        insta::assert_snapshot!(message("{\"ServiceRequest\": {"), @"Request body is not valid JSON: EOF while parsing an object at line 1 column 20 | Send a well-formed JSON ServiceRequest, as the API guide shows.");
        insta::assert_snapshot!(message("<Request/>"), @"Request: Element must not be set. | The request body must be a ServiceRequest element.");
    }

    #[test]
    fn a_namespace_binding_on_criteria_is_an_unknown_attribute() {
        insta::assert_snapshot!(message(r#"<ServiceRequest><filters><Criteria xmlns:x="u" field="id" operator="EQUALS">1</Criteria></filters></ServiceRequest>"#), @"Criteria/@x: Element must not be set. | This element does not apply to this request.");
        insta::assert_snapshot!(message(r#"<ServiceRequest><filters><Criteria xmlns="u" field="id" operator="EQUALS">1</Criteria></filters></ServiceRequest>"#), @"Criteria/@xmlns: Element must not be set. | This element does not apply to this request.");
    }

    #[test]
    fn names_are_read_by_local_name_whatever_their_prefix_bound_or_not() {
        let req = parse(
            br#"<s:ServiceRequest xmlns:s="u"><s:filters><q:Criteria p:field="id" operator="EQUALS">7</q:Criteria></s:filters></s:ServiceRequest>"#,
            false,
        )
        .unwrap();
        assert_eq!(req.criteria, vec![crit("id", "EQUALS", "7")]);
    }

    mod props {
        use super::super::parse;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn no_body_panics(body in "\\PC{0,200}") {
                let _ = parse(body.as_bytes(), false);
                let _ = parse(body.as_bytes(), true);
            }

            #[test]
            fn no_xml_like_body_panics(body in "[<>/a-zA-Z=\" &;#0-9]{0,120}") {
                let _ = parse(body.as_bytes(), false);
            }
        }
    }
}
