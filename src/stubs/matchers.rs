//! WireMock's matchers, as WireMock defines them: `url` is the path and query exactly as
//! sent, `urlPath` the path alone; the `*Pattern` forms and `matches` are regular
//! expressions that must match the whole text; a query parameter or header matches when
//! any of its values does; `equalToJson` compares JSON values (numbers by value) and
//! `equalToXml` compares element trees (whitespace and comments aside, children paired by
//! name as XMLUnit's `byName` selector does).

use quick_xml::events::{BytesStart, Event};
use regex::{Regex, RegexBuilder};
use serde_json::Value;

/// Longest regular expression taken, in characters.
pub const MAX_REGEX_CHARS: usize = 4_096;
/// What one compiled regular expression may take (the `regex` crate's size limits).
const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Steps one `equalToJson` or `equalToXml` comparison may take before it gives up (a miss).
const COMPARE_BUDGET: usize = 1_000_000;
/// Deepest XML nesting read.
const MAX_XML_DEPTH: usize = 64;

/// A regular expression anchored to match the whole text, as Java's `matches()` does.
pub fn compile_regex(pattern: &str) -> Result<Regex, String> {
    if pattern.chars().count() > MAX_REGEX_CHARS {
        return Err(format!("is longer than {MAX_REGEX_CHARS} characters"));
    }
    RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| {
            let text = e.to_string();
            let last = text.lines().last().unwrap_or("").trim();
            format!("is not a regular expression this server takes ({last})")
        })
}

/// What a mapping's URL key asks of the request target.
#[derive(Debug)]
pub enum UrlMatcher {
    Any,
    /// `url`: path and query, exactly.
    Url(String),
    /// `urlPath`: the path, exactly.
    UrlPath(String),
    /// `urlPattern`: the path and query, by regex.
    UrlPattern(Regex),
    /// `urlPathPattern`: the path, by regex.
    UrlPathPattern(Regex),
}

impl UrlMatcher {
    /// `path_and_query` as sent (`/a?b=c`), and its path.
    pub fn matches(&self, path_and_query: &str, path: &str) -> bool {
        match self {
            UrlMatcher::Any => true,
            UrlMatcher::Url(url) => url == path_and_query,
            UrlMatcher::UrlPath(p) => p == path,
            UrlMatcher::UrlPattern(re) => re.is_match(path_and_query),
            UrlMatcher::UrlPathPattern(re) => re.is_match(path),
        }
    }
}

/// A query parameter's, header's or body's text test.
#[derive(Debug)]
pub enum StringMatcher {
    EqualTo {
        value: String,
        case_insensitive: bool,
    },
    Contains(String),
    Matches(Regex),
    /// The parameter or header is not there.
    Absent,
}

impl StringMatcher {
    /// Whether the values a parameter or header has satisfy the test: `absent` when there
    /// are none, any other when one of them matches.
    pub fn matches_values<'a>(&self, mut values: impl Iterator<Item = &'a str>) -> bool {
        match self {
            StringMatcher::Absent => values.next().is_none(),
            other => values.any(|v| other.matches(v)),
        }
    }

    pub fn matches(&self, text: &str) -> bool {
        match self {
            StringMatcher::EqualTo {
                value,
                case_insensitive: false,
            } => value == text,
            StringMatcher::EqualTo {
                value,
                case_insensitive: true,
            } => value.to_lowercase() == text.to_lowercase(),
            StringMatcher::Contains(part) => text.contains(part.as_str()),
            StringMatcher::Matches(re) => re.is_match(text),
            StringMatcher::Absent => false,
        }
    }
}

/// One of `bodyPatterns`.
#[derive(Debug)]
pub enum BodyMatcher {
    Text(StringMatcher),
    EqualToJson {
        expected: Value,
        ignore_array_order: bool,
        ignore_extra_elements: bool,
    },
    EqualToXml(XmlTree),
}

impl BodyMatcher {
    pub fn matches(&self, body: &str) -> bool {
        match self {
            BodyMatcher::Text(m) => m.matches(body),
            BodyMatcher::EqualToJson {
                expected,
                ignore_array_order,
                ignore_extra_elements,
            } => match serde_json::from_str::<Value>(body) {
                Ok(actual) => {
                    let mut budget = COMPARE_BUDGET;
                    json_equal(
                        expected,
                        &actual,
                        *ignore_array_order,
                        *ignore_extra_elements,
                        &mut budget,
                    )
                }
                Err(_) => false,
            },
            BodyMatcher::EqualToXml(expected) => match XmlTree::parse(body) {
                Ok(actual) => {
                    let mut budget = COMPARE_BUDGET;
                    expected.equals(&actual, &mut budget)
                }
                Err(_) => false,
            },
        }
    }
}

fn spend(budget: &mut usize) -> bool {
    if *budget == 0 {
        return false;
    }
    *budget -= 1;
    true
}

/// WireMock's `equalToJson` (JsonUnit): numbers equal by value (1 = 1.0); with
/// `ignoreExtraElements` an object may have more fields and an array more items; with
/// `ignoreArrayOrder` array items pair in any order.
fn json_equal(
    expected: &Value,
    actual: &Value,
    any_order: bool,
    extra: bool,
    budget: &mut usize,
) -> bool {
    if !spend(budget) {
        return false;
    }
    match (expected, actual) {
        (Value::Number(a), Value::Number(b)) => match (a.as_i64(), b.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => a.as_f64() == b.as_f64(),
        },
        (Value::Object(e), Value::Object(a)) => {
            (extra || e.len() == a.len())
                && e.iter().all(|(k, ev)| {
                    a.get(k)
                        .is_some_and(|av| json_equal(ev, av, any_order, extra, budget))
                })
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() > a.len() || (!extra && e.len() != a.len()) {
                return false;
            }
            if !any_order {
                return e
                    .iter()
                    .zip(a)
                    .all(|(ev, av)| json_equal(ev, av, any_order, extra, budget));
            }
            let mut used = vec![false; a.len()];
            e.iter().all(|ev| {
                let found = a
                    .iter()
                    .enumerate()
                    .position(|(i, av)| !used[i] && json_equal(ev, av, any_order, extra, budget));
                match found {
                    Some(i) => {
                        used[i] = true;
                        true
                    }
                    None => false,
                }
            })
        }
        (e, a) => e == a,
    }
}

/// An XML element for `equalToXml`: its local name, attributes (namespace declarations
/// left out), trimmed text and child elements.
#[derive(Debug, PartialEq)]
pub struct XmlTree {
    name: String,
    attributes: Vec<(String, String)>,
    text: String,
    children: Vec<XmlTree>,
}

impl XmlTree {
    fn open(e: &BytesStart<'_>) -> Result<XmlTree, String> {
        let mut attributes = Vec::new();
        for attr in e.attributes() {
            let attr = attr.map_err(|err| err.to_string())?;
            if attr.key.as_namespace_binding().is_some() {
                continue;
            }
            let value = attr
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|err| err.to_string())?;
            attributes.push((
                attr.key.local_name().into_inner().to_owned(),
                value.into_owned(),
            ));
        }
        attributes.sort();
        Ok(XmlTree {
            name: e.local_name().into_inner().to_owned(),
            attributes,
            text: String::new(),
            children: Vec::new(),
        })
    }

    /// Read a document: one root element, at most [`MAX_XML_DEPTH`] deep.
    pub fn parse(text: &str) -> Result<XmlTree, String> {
        let mut reader = quick_xml::Reader::from_str(text);
        let mut stack: Vec<XmlTree> = Vec::new();
        let mut root: Option<XmlTree> = None;
        let close = |stack: &mut Vec<XmlTree>, root: &mut Option<XmlTree>, mut el: XmlTree| {
            el.text = el.text.trim().to_owned();
            match stack.last_mut() {
                Some(parent) => parent.children.push(el),
                None if root.is_none() => *root = Some(el),
                None => return Err("more than one root element".to_owned()),
            }
            Ok(())
        };
        loop {
            match reader.read_event().map_err(|e| e.to_string())? {
                Event::Start(e) => {
                    if stack.len() >= MAX_XML_DEPTH {
                        return Err("elements nest too deeply".to_owned());
                    }
                    stack.push(XmlTree::open(&e)?);
                }
                Event::Empty(e) => {
                    let el = XmlTree::open(&e)?;
                    close(&mut stack, &mut root, el)?;
                }
                Event::End(_) => {
                    let el = stack
                        .pop()
                        .ok_or_else(|| "unexpected closing tag".to_owned())?;
                    close(&mut stack, &mut root, el)?;
                }
                Event::Text(t) => {
                    let content = t.xml10_content();
                    match stack.last_mut() {
                        Some(el) => el.text.push_str(&content),
                        None if content.trim().is_empty() => {}
                        None => return Err("text outside the root element".to_owned()),
                    }
                }
                Event::CData(c) => {
                    if let Some(el) = stack.last_mut() {
                        el.text.push_str(&c.xml10_content());
                    }
                }
                Event::GeneralRef(r) => {
                    let resolved = if r.is_char_ref() {
                        r.resolve_char_ref()
                            .map_err(|e| e.to_string())?
                            .map(String::from)
                    } else {
                        quick_xml::escape::resolve_predefined_entity(&r.xml10_content())
                            .map(str::to_owned)
                    };
                    let resolved = resolved
                        .ok_or_else(|| format!("unknown entity &{};", r.xml10_content()))?;
                    if let Some(el) = stack.last_mut() {
                        el.text.push_str(&resolved);
                    }
                }
                Event::Eof => break,
                Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::DocType(_) => {}
            }
        }
        if !stack.is_empty() {
            return Err("an element is not closed".to_owned());
        }
        root.ok_or_else(|| "no root element".to_owned())
    }

    /// Equal trees: names, attributes and text equal; each expected child paired with the
    /// first unpaired actual child of its name, and the pairs equal.
    fn equals(&self, actual: &XmlTree, budget: &mut usize) -> bool {
        if !spend(budget) {
            return false;
        }
        if self.name != actual.name
            || self.attributes != actual.attributes
            || self.text != actual.text
            || self.children.len() != actual.children.len()
        {
            return false;
        }
        let mut used = vec![false; actual.children.len()];
        self.children.iter().all(|expected| {
            let pair = actual
                .children
                .iter()
                .enumerate()
                .position(|(i, c)| !used[i] && c.name == expected.name);
            match pair {
                Some(i) => {
                    used[i] = true;
                    expected.equals(&actual.children[i], budget)
                }
                None => false,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eq(e: Value, a: Value, order: bool, extra: bool) -> bool {
        json_equal(&e, &a, order, extra, &mut COMPARE_BUDGET.clone())
    }

    #[test]
    fn json_numbers_compare_by_value_and_options_relax_arrays_and_objects() {
        assert!(eq(json!({"a": 1}), json!({"a": 1.0}), false, false));
        assert!(!eq(json!([1, 2]), json!([2, 1]), false, false));
        assert!(eq(json!([1, 2]), json!([2, 1]), true, false));
        assert!(!eq(json!({"a": 1}), json!({"a": 1, "b": 2}), false, false));
        assert!(eq(json!({"a": 1}), json!({"a": 1, "b": 2}), false, true));
        assert!(eq(json!([1]), json!([1, 2]), false, true));
        assert!(!eq(json!([1, 1]), json!([1, 2]), true, false));
    }

    #[test]
    fn xml_ignores_whitespace_comments_and_sibling_order_by_name() {
        let e = XmlTree::parse("<a x=\"1\" y=\"2\"><b>1</b><c>2</c></a>").unwrap();
        let same = |t: &str| e.equals(&XmlTree::parse(t).unwrap(), &mut 1000);
        assert!(same(
            "<a y=\"2\" x=\"1\">\n <!-- c --> <c>2</c>\n <b> 1 </b></a>"
        ));
        assert!(same(
            "<a xmlns:p=\"u\" x=\"1\" y=\"2\"><b>1</b><c>2</c></a>"
        ));
        assert!(!same("<a x=\"1\" y=\"2\"><b>2</b><c>2</c></a>"));
        assert!(!same("<a x=\"1\"><b>1</b><c>2</c></a>"));
        assert!(!same("<a x=\"1\" y=\"2\"><b>1</b><c>2</c><d/></a>"));
    }

    #[test]
    fn regexes_match_whole_text_and_refuse_what_they_cannot_compile() {
        let re = compile_regex("/a/[0-9]+").unwrap();
        assert!(re.is_match("/a/12"));
        assert!(!re.is_match("/a/12/b"));
        assert!(!re.is_match("x/a/12"));
        assert!(compile_regex("(?=x)").is_err(), "lookahead");
        assert!(compile_regex(&"a".repeat(MAX_REGEX_CHARS + 1)).is_err());
        assert!(compile_regex("a{1000}{1000}").is_err(), "size limit");
    }
}
