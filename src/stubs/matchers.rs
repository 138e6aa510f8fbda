//! WireMock's matchers, as WireMock defines them: `url` is the path and query exactly as
//! sent, `urlPath` the path alone; the `*Pattern` forms and `matches` are regular
//! expressions that must match the whole text; a query parameter or header matches when
//! any of its values does; `equalToJson` compares JSON values (numbers by value) and
//! `equalToXml` compares element trees read by [`crate::xml`] (whitespace and comments
//! aside, namespace URIs compared and prefixes not, children paired by local name) as
//! WireMock 3.13's XMLUnit setup does.

use std::collections::{HashMap, VecDeque};

use regex::{Regex, RegexBuilder};
use serde_json::Value;

use crate::xml::{Attribute, Element};

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

/// The XML Schema instance namespace: three of its attributes are compared apart.
const XSI_NAMESPACE: &str = "http://www.w3.org/2001/XMLSchema-instance";
/// The `xsi:` attributes XMLUnit leaves out of the attribute count and compares only when
/// the expected element has them.
const XSI_APART: [&str; 3] = ["schemaLocation", "noNamespaceSchemaLocation", "type"];

/// A document for `equalToXml`, read by the crate's XML reader (namespace-aware: an
/// unbound prefix is no XML here, as for WireMock), each element's attributes sorted by
/// namespace URI and local name.
#[derive(Debug)]
pub struct XmlTree(Element);

fn sort_attributes(element: &mut Element) {
    element
        .attributes
        .sort_by(|a, b| attribute_key(a).cmp(&attribute_key(b)));
    for child in &mut element.children {
        sort_attributes(child);
    }
}

fn attribute_key(a: &Attribute) -> (Option<&str>, &str) {
    (a.namespace.as_deref(), a.name.as_str())
}

fn attribute_entry(a: &Attribute) -> (Option<&str>, &str, &str) {
    (a.namespace.as_deref(), a.name.as_str(), a.value.as_str())
}

fn apart(a: &Attribute) -> bool {
    a.namespace.as_deref() == Some(XSI_NAMESPACE) && XSI_APART.contains(&a.name.as_str())
}

/// The attributes compared one for one: neither namespace bindings nor the `xsi:` three.
fn compared(a: &&Attribute) -> bool {
    !a.binding && !apart(a)
}

impl XmlTree {
    /// Read a document: one root element, at most [`MAX_XML_DEPTH`] deep.
    pub fn parse(text: &str) -> Result<XmlTree, String> {
        let mut root = crate::xml::read_namespaced_tree(text, MAX_XML_DEPTH)?;
        sort_attributes(&mut root);
        Ok(XmlTree(root))
    }

    fn equals(&self, actual: &XmlTree, budget: &mut usize) -> bool {
        element_equal(InScope::root(&self.0), InScope::root(&actual.0), budget)
    }
}

/// WireMock's `equalToXml` (XMLUnit, as WireMock 3.13 sets it up): equal local names; the
/// expected namespace URI, when it has one, equal to the actual one (an expected element in
/// no namespace takes any); the same attributes by namespace URI, local name and value, in
/// any order (namespace bindings are not attributes here, and the actual element may add
/// `xsi:schemaLocation`, `xsi:noNamespaceSchemaLocation` or `xsi:type`, which are compared
/// only when expected, `xsi:type` as the qualified name it writes); equal trimmed text; as
/// many children, each expected child paired with the first unpaired actual child of its
/// local name, and the pairs equal.
fn element_equal(expected: InScope<'_>, actual: InScope<'_>, budget: &mut usize) -> bool {
    if !spend(budget) {
        return false;
    }
    let (e, a) = (expected.element, actual.element);
    if e.name != a.name
        || e.namespace
            .as_ref()
            .is_some_and(|uri| a.namespace.as_ref() != Some(uri))
        || !e
            .attributes
            .iter()
            .filter(compared)
            .map(attribute_entry)
            .eq(a.attributes.iter().filter(compared).map(attribute_entry))
        || !e.attributes.iter().filter(|x| apart(x)).all(|x| {
            let Some(y) = a.attributes.iter().find(|y| apart(y) && y.name == x.name) else {
                return false;
            };
            if x.name == "type" {
                expected.qname(&x.value) == actual.qname(&y.value)
            } else {
                x.value == y.value
            }
        })
        || e.text.trim() != a.text.trim()
        || e.children.len() != a.children.len()
    {
        return false;
    }
    let mut unpaired: HashMap<&str, VecDeque<usize>> = HashMap::new();
    for (i, child) in a.children.iter().enumerate() {
        unpaired
            .entry(child.name.as_str())
            .or_default()
            .push_back(i);
    }
    e.children.iter().all(|child| {
        match unpaired
            .get_mut(child.name.as_str())
            .and_then(VecDeque::pop_front)
        {
            Some(i) => element_equal(expected.child(child), actual.child(&a.children[i]), budget),
            None => false,
        }
    })
}

/// An element and the elements it sits in: where the prefix of an `xsi:type` value is
/// resolved.
#[derive(Clone, Copy)]
struct InScope<'a> {
    element: &'a Element,
    parent: Option<&'a InScope<'a>>,
}

impl<'a> InScope<'a> {
    fn root(element: &'a Element) -> InScope<'a> {
        InScope {
            element,
            parent: None,
        }
    }

    fn child(&'a self, element: &'a Element) -> InScope<'a> {
        InScope {
            element,
            parent: Some(self),
        }
    }

    /// The URI `prefix` (`None`: the default namespace) is bound to here. Bindings sort
    /// together (their URI is the xmlns one), so each element's is found by bisection.
    fn uri(&self, prefix: Option<&str>) -> Option<&'a str> {
        if prefix == Some("xml") {
            return Some(crate::xml::XML_NAMESPACE);
        }
        let name = prefix.unwrap_or("xmlns");
        let mut scope = Some(self);
        while let Some(here) = scope {
            let attributes = &here.element.attributes;
            if let Ok(i) = attributes.binary_search_by(|a| {
                attribute_key(a).cmp(&(Some(crate::xml::XMLNS_NAMESPACE), name))
            }) {
                let uri = attributes[i].value.as_str();
                return (!uri.is_empty()).then_some(uri);
            }
            scope = here.parent;
        }
        None
    }

    /// A qualified name written as a value (`p:t`), as namespace URI and local name.
    fn qname<'v>(&self, value: &'v str) -> (Option<&'a str>, &'v str) {
        match value.split_once(':') {
            Some((prefix, local)) => (self.uri(Some(prefix).filter(|p| !p.is_empty())), local),
            None => (self.uri(None), value),
        }
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

    /// Whether `actual` matches `equalToXml: expected`.
    fn xml_match(expected: &str, actual: &str) -> bool {
        let expected = XmlTree::parse(expected).unwrap();
        BodyMatcher::EqualToXml(expected).matches(actual)
    }

    /// Each `(actual, whether it matches)` against `equalToXml: expected`.
    fn xml_cases(expected: &str, cases: &[(&str, bool)]) {
        for (actual, matches) in cases {
            assert_eq!(
                xml_match(expected, actual),
                *matches,
                "{expected} ~ {actual}"
            );
        }
    }

    #[test]
    fn xml_compares_namespace_uris_not_prefixes() {
        xml_cases(
            r#"<p:a xmlns:p="urn:u"><p:b>1</p:b><c>2</c></p:a>"#,
            &[
                (r#"<q:a xmlns:q="urn:u"><q:b>1</q:b><c>2</c></q:a>"#, true),
                (r#"<a xmlns="urn:u"><b>1</b><c xmlns="">2</c></a>"#, true),
                (r#"<p:a xmlns:p="urn:v"><p:b>1</p:b><c>2</c></p:a>"#, false),
                (r#"<p:a xmlns:p="urn:u"><b>1</b><c>2</c></p:a>"#, false),
                ("<a><b>1</b><c>2</c></a>", false),
            ],
        );
    }

    #[test]
    fn xml_expected_element_in_no_namespace_takes_any_uri() {
        xml_cases(
            "<a><b>1</b></a>",
            &[
                (r#"<a xmlns="urn:u"><b>1</b></a>"#, true),
                (r#"<a><b xmlns="urn:u">1</b></a>"#, true),
            ],
        );
        xml_cases(
            r#"<a xmlns="urn:u"><b>1</b></a>"#,
            &[("<a><b>1</b></a>", false)],
        );
    }

    #[test]
    fn xml_children_pair_by_local_name_whatever_their_uri() {
        xml_cases(
            r#"<a><b>1</b><p:b xmlns:p="urn:u">2</p:b></a>"#,
            &[
                (r#"<a><b>1</b><p:b xmlns:p="urn:u">2</p:b></a>"#, true),
                (r#"<a><p:b xmlns:p="urn:u">2</p:b><b>1</b></a>"#, false),
            ],
        );
    }

    #[test]
    fn xml_attributes_compare_by_uri_and_bindings_are_not_attributes() {
        xml_cases(
            r#"<a xmlns:p="urn:u" p:x="1" y="2"/>"#,
            &[
                (r#"<a y="2" xmlns:q="urn:u" q:x="1"/>"#, true),
                (
                    r#"<a xmlns:q="urn:u" xmlns:r="urn:r" q:x="1" y="2"/>"#,
                    true,
                ),
                (r#"<a xmlns:q="urn:v" q:x="1" y="2"/>"#, false),
                (r#"<a x="1" y="2"/>"#, false),
            ],
        );
        xml_cases(
            r#"<a x="1"/>"#,
            &[(r#"<a xmlns:p="urn:u" p:x="1"/>"#, false)],
        );
    }

    #[test]
    fn xml_schema_instance_locations_and_type_are_compared_only_when_expected() {
        let xsi = r#"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance""#;
        let with = |attr: &str| format!(r#"<a {xsi} x="1" {attr}/>"#);
        for name in ["schemaLocation", "noNamespaceSchemaLocation", "type"] {
            let attr = format!(r#"xsi:{name}="s""#);
            let other = format!(r#"xsi:{name}="t""#);
            assert!(xml_match(r#"<a x="1"/>"#, &with(&attr)), "{attr}");
            assert!(xml_match(&with(&attr), &with(&attr)), "{attr}");
            assert!(!xml_match(&with(&attr), r#"<a x="1"/>"#), "{attr}");
            assert!(!xml_match(&with(&attr), &with(&other)), "{attr}");
        }
        assert!(!xml_match(r#"<a x="1"/>"#, &with(r#"xsi:nil="true""#)));
    }

    #[test]
    fn xml_schema_instance_type_compares_the_qualified_name_it_writes() {
        let typed = |bindings: &str, value: &str| {
            format!(
                r#"<a xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" {bindings}><b xsi:type="{value}"/></a>"#
            )
        };
        let expected = typed(r#"xmlns:p="urn:u""#, "p:t");
        for (bindings, value, matches) in [
            (r#"xmlns:q="urn:u""#, "q:t", true),
            (r#"xmlns="urn:u""#, "t", true),
            (r#"xmlns:p="urn:v""#, "p:t", false),
            (r#"xmlns:p="urn:u""#, "p:s", false),
        ] {
            assert_eq!(
                xml_match(&expected, &typed(bindings, value)),
                matches,
                "{value}"
            );
        }
    }

    #[test]
    fn xml_with_an_unbound_prefix_is_no_xml() {
        assert!(XmlTree::parse("<p:a/>").is_err());
        assert!(!xml_match("<a/>", "<p:a/>"));
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
