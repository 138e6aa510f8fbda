//! The QPS wire format: one record tree rendered as a `ServiceResponse` in XML or JSON.
//!
//! Handlers build [`Node`] trees from store rows; this module alone knows how QPS spells
//! them: XML with the declaration and `xsi:noNamespaceSchemaLocation`, elements in the real
//! order (`responseCode`, `count`, `hasMoreRecords`, `lastId`, `data`); JSON with `data` an
//! array of one-key wrapper objects, booleans and `hasMoreRecords` as strings, ids as numbers.

use std::borrow::Cow;
use std::fmt::Write as _;

use axum::http::{HeaderMap, HeaderValue, header};

/// Which form the client asked for (`Accept: application/json` gives JSON; XML otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xml,
    Json,
}

impl Format {
    /// By `Accept`, with its q-values: JSON when `application/json` is preferred over XML
    /// (`application/xml` or `text/xml`); XML on a tie, without `Accept`, or for anything
    /// else. Each type takes the q of the most specific range that matches it
    /// (`application/json` over `application/*` over `*/*`).
    pub fn from_headers(headers: &HeaderMap) -> Format {
        // (specificity, q) of the best range for each format.
        let (mut json, mut xml) = ((0u8, 0.0f32), (0u8, 0.0f32));
        for value in headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
        {
            for range in value.split(',') {
                let mut parts = range.split(';');
                let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
                let q = parts
                    .filter_map(|p| p.split_once('='))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
                    .and_then(|(_, v)| v.trim().parse::<f32>().ok())
                    .unwrap_or(1.0)
                    .clamp(0.0, 1.0);
                let specificity = |wanted: &[&str]| -> u8 {
                    if wanted.contains(&media.as_str()) {
                        3
                    } else if media == "application/*" && wanted[0].starts_with("application/") {
                        2
                    } else if media == "*/*" {
                        1
                    } else {
                        0
                    }
                };
                let better = |best: &mut (u8, f32), s: u8| {
                    if s > best.0 {
                        *best = (s, q);
                    } else if s == best.0 && s > 0 {
                        best.1 = best.1.max(q);
                    }
                };
                better(&mut json, specificity(&["application/json"]));
                better(&mut xml, specificity(&["application/xml", "text/xml"]));
            }
        }
        if json.1 > xml.1 {
            Format::Json
        } else {
            Format::Xml
        }
    }

    pub fn content_type(self) -> HeaderValue {
        match self {
            Format::Xml => HeaderValue::from_static("application/xml"),
            Format::Json => HeaderValue::from_static("application/json"),
        }
    }
}

pub type Name = Cow<'static, str>;

/// One value in a QPS record.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Text(String),
    Int(i64),
    /// Rendered `true`/`false`; a string in JSON, as QPS does.
    Bool(bool),
    /// Child elements in order.
    Obj(Vec<(Name, Node)>),
    /// A list of wrapped items: `<list><Rule>..</Rule></list>`, JSON `[{"Rule":{..}}]`.
    List(Vec<(Name, Node)>),
    /// A subtree several records share (the same profile on many alerts).
    Shared(std::sync::Arc<Node>),
}

impl Node {
    pub fn text(s: impl Into<String>) -> Node {
        Node::Text(s.into())
    }
}

/// Builds an object node field by field.
#[derive(Debug, Default)]
pub struct ObjBuilder(Vec<(Name, Node)>);

impl ObjBuilder {
    pub fn new() -> Self {
        ObjBuilder(Vec::with_capacity(12))
    }
    pub fn field(mut self, name: impl Into<Name>, value: Node) -> Self {
        self.0.push((name.into(), value));
        self
    }
    pub fn text(self, name: impl Into<Name>, value: impl Into<String>) -> Self {
        self.field(name, Node::Text(value.into()))
    }
    pub fn int(self, name: impl Into<Name>, value: i64) -> Self {
        self.field(name, Node::Int(value))
    }
    pub fn bool(self, name: impl Into<Name>, value: bool) -> Self {
        self.field(name, Node::Bool(value))
    }
    pub fn build(self) -> Node {
        Node::Obj(self.0)
    }
}

/// One record of a `data` block: a tree, or its rendering for the answer's format (see
/// [`render_record`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Tree(Vec<(Name, Node)>),
    Rendered(std::sync::Arc<str>),
}

impl From<Vec<(Name, Node)>> for Record {
    fn from(fields: Vec<(Name, Node)>) -> Record {
        Record::Tree(fields)
    }
}

/// A record rendered as it stands in a `data` block of `format`.
pub fn render_record(format: Format, fields: &[(Name, Node)]) -> String {
    let mut out = String::with_capacity(1536);
    match format {
        Format::Xml => {
            for (name, node) in fields {
                xml_element(&mut out, name, node, 2);
            }
        }
        Format::Json => json_fields(&mut out, fields),
    }
    out
}

/// The body of a QPS answer, success or error.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceResponse {
    pub code: Cow<'static, str>,
    /// Records in this page (`None` on errors).
    pub count: Option<usize>,
    /// Set on searches; absent on a single get.
    pub has_more: Option<bool>,
    /// Only while more records remain.
    pub last_id: Option<i64>,
    /// Each record is an object whose keys are the wrapper element(s), e.g. `Alert`.
    pub data: Vec<Record>,
    pub error: Option<(String, String)>,
}

impl ServiceResponse {
    pub fn success(data: Vec<Record>) -> Self {
        ServiceResponse {
            code: Cow::Borrowed("SUCCESS"),
            count: Some(data.len()),
            has_more: None,
            last_id: None,
            data,
            error: None,
        }
    }

    pub fn error(code: &'static str, message: String, resolution: String) -> Self {
        ServiceResponse {
            code: Cow::Borrowed(code),
            count: None,
            has_more: None,
            last_id: None,
            data: Vec::new(),
            error: Some((message, resolution)),
        }
    }

    /// Render for the client. `schema_url` is the full XSD location (XML only).
    pub fn render(&self, format: Format, schema_url: &str) -> String {
        match format {
            Format::Xml => self.to_xml(schema_url),
            Format::Json => self.to_json(),
        }
    }

    fn to_xml(&self, schema_url: &str) -> String {
        let mut out = String::with_capacity(512 + self.data.len() * 1536);
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            out,
            "<ServiceResponse xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
             xsi:noNamespaceSchemaLocation=\"{}\">",
            escape(schema_url)
        );
        let _ = writeln!(out, "  <responseCode>{}</responseCode>", escape(&self.code));
        if let Some((message, resolution)) = &self.error {
            out.push_str("  <responseErrorDetails>\n");
            let _ = writeln!(out, "    <errorMessage>{}</errorMessage>", escape(message));
            let _ = writeln!(
                out,
                "    <errorResolution>{}</errorResolution>",
                escape(resolution)
            );
            out.push_str("  </responseErrorDetails>\n");
        }
        if let Some(count) = self.count {
            let _ = writeln!(out, "  <count>{count}</count>");
        }
        if let Some(more) = self.has_more {
            let _ = writeln!(out, "  <hasMoreRecords>{more}</hasMoreRecords>");
        }
        if let Some(last) = self.last_id {
            let _ = writeln!(out, "  <lastId>{last}</lastId>");
        }
        if self.count.is_some() {
            if self.data.is_empty() {
                out.push_str("  <data/>\n");
            } else {
                out.push_str("  <data>\n");
                for record in &self.data {
                    match record {
                        Record::Tree(fields) => {
                            for (name, node) in fields {
                                xml_element(&mut out, name, node, 2);
                            }
                        }
                        Record::Rendered(text) => out.push_str(text),
                    }
                }
                out.push_str("  </data>\n");
            }
        }
        out.push_str("</ServiceResponse>\n");
        out
    }

    fn to_json(&self) -> String {
        let mut out = String::with_capacity(256 + self.data.len() * 1280);
        out.push_str("{\"ServiceResponse\":{\"responseCode\":");
        json_str(&mut out, &self.code);
        if let Some((message, resolution)) = &self.error {
            out.push_str(",\"responseErrorDetails\":{\"errorMessage\":");
            json_str(&mut out, message);
            out.push_str(",\"errorResolution\":");
            json_str(&mut out, resolution);
            out.push('}');
        }
        if let Some(count) = self.count {
            let _ = write!(out, ",\"count\":{count}");
        }
        if let Some(more) = self.has_more {
            let _ = write!(out, ",\"hasMoreRecords\":\"{more}\"");
        }
        if let Some(last) = self.last_id {
            let _ = write!(out, ",\"lastId\":{last}");
        }
        if !self.data.is_empty() {
            out.push_str(",\"data\":[");
            for (i, record) in self.data.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                match record {
                    Record::Tree(fields) => json_fields(&mut out, fields),
                    Record::Rendered(text) => out.push_str(text),
                }
            }
            out.push(']');
        }
        out.push_str("}}");
        out
    }
}

/// A JSON string literal (serde_json's escaping).
fn json_str(out: &mut String, s: &str) {
    // Serialising a &str cannot fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

fn json_fields(out: &mut String, fields: &[(Name, Node)]) {
    out.push('{');
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_str(out, k);
        out.push(':');
        json_node(out, v);
    }
    out.push('}');
}

fn json_node(out: &mut String, node: &Node) {
    match node {
        Node::Text(s) => json_str(out, s),
        Node::Int(i) => out.push_str(itoa(*i).as_str()),
        Node::Bool(true) => out.push_str("\"true\""),
        Node::Bool(false) => out.push_str("\"false\""),
        Node::Obj(fields) => json_fields(out, fields),
        Node::Shared(inner) => json_node(out, inner),
        Node::List(items) => {
            out.push('[');
            for (i, (k, v)) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push('{');
                json_str(out, k);
                out.push(':');
                json_node(out, v);
                out.push('}');
            }
            out.push(']');
        }
    }
}

/// XML element names: QPS's serializer doubles underscores (`QUESTIONNAIRE__V2-VERSION`
/// in XML is `QUESTIONNAIRE_V2-VERSION` in JSON).
fn xml_name(name: &str) -> Cow<'_, str> {
    if name.contains('_') {
        Cow::Owned(name.replace('_', "__"))
    } else {
        Cow::Borrowed(name)
    }
}

const PAD: &str = "                                                                ";

fn xml_element(out: &mut String, name: &str, node: &Node, depth: usize) {
    // Written with push_str: this is the hot loop of every XML answer, and `write!`'s
    // formatting machinery cost more than the rest of it together.
    if let Node::Shared(inner) = node {
        return xml_element(out, name, inner, depth);
    }
    let name = xml_name(name);
    let pad = &PAD[..(depth * 2).min(PAD.len())];
    out.push_str(pad);
    out.push('<');
    out.push_str(&name);
    match node {
        Node::Obj(fields) | Node::List(fields) if fields.is_empty() => out.push_str("/>\n"),
        Node::Obj(fields) | Node::List(fields) => {
            out.push_str(">\n");
            for (child, value) in fields {
                xml_element(out, child, value, depth + 1);
            }
            out.push_str(pad);
            out.push_str("</");
            out.push_str(&name);
            out.push_str(">\n");
        }
        leaf => {
            out.push('>');
            match leaf {
                Node::Text(s) => out.push_str(&escape(s)),
                Node::Int(i) => out.push_str(itoa(*i).as_str()),
                Node::Bool(true) => out.push_str("true"),
                Node::Bool(false) => out.push_str("false"),
                Node::Obj(_) | Node::List(_) | Node::Shared(_) => {}
            }
            out.push_str("</");
            out.push_str(&name);
            out.push_str(">\n");
        }
    }
}

/// An integer's digits without the formatting machinery.
fn itoa(mut n: i64) -> Digits {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let negative = n < 0;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10).unsigned_abs() as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let mut d = Digits {
        buf: [0; 21],
        len: 0,
    };
    if negative {
        d.buf[0] = b'-';
        d.len = 1;
    }
    for &b in &buf[i..] {
        d.buf[d.len] = b;
        d.len += 1;
    }
    d
}

struct Digits {
    buf: [u8; 21],
    len: usize,
}

impl Digits {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("0")
    }
}

/// XML text: markup escaped, and every character XML 1.0 does not allow (control
/// characters but tab, newline and carriage return; U+FFFE, U+FFFF) replaced by U+FFFD, so
/// no request or stored value can make an answer unparseable.
pub(crate) fn escape(s: &str) -> Cow<'_, str> {
    let allowed = |c: char| {
        (matches!(c, '\t' | '\n' | '\r') || !c.is_control())
            && !matches!(c, '\u{FFFE}' | '\u{FFFF}')
    };
    if s.chars().all(allowed) {
        return quick_xml::escape::escape(s);
    }
    let clean: String = s
        .chars()
        .map(|c| if allowed(c) { c } else { '\u{FFFD}' })
        .collect();
    Cow::Owned(quick_xml::escape::escape(&clean).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ServiceResponse {
        let rule = ObjBuilder::new()
            .int("id", 6002)
            .text("jsonData", r#"{"a":"<b>"}"#)
            .bool("isTemplate", false)
            .field(
                "criteria",
                ObjBuilder::new().field("list", Node::List(vec![])).build(),
            )
            .build();
        let mut r = ServiceResponse::success(vec![vec![("Rule".into(), rule)].into()]);
        r.has_more = Some(true);
        r.last_id = Some(6002);
        r
    }

    #[test]
    fn characters_xml_does_not_allow_are_replaced() {
        assert_eq!(escape("a\u{1}b\tc\u{7f}<"), "a\u{FFFD}b\tc\u{FFFD}&lt;");
        assert_eq!(escape("plain"), "plain");
    }

    #[test]
    fn xml_has_the_real_element_order_and_escapes() {
        let xml = sample().render(Format::Xml, "https://h/qps/xsd/1.0/cm/rule.xsd");
        insta::assert_snapshot!(xml, @r#"
        <?xml version="1.0" encoding="UTF-8"?>
        <ServiceResponse xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="https://h/qps/xsd/1.0/cm/rule.xsd">
          <responseCode>SUCCESS</responseCode>
          <count>1</count>
          <hasMoreRecords>true</hasMoreRecords>
          <lastId>6002</lastId>
          <data>
            <Rule>
              <id>6002</id>
              <jsonData>{&quot;a&quot;:&quot;&lt;b&gt;&quot;}</jsonData>
              <isTemplate>false</isTemplate>
              <criteria>
                <list/>
              </criteria>
            </Rule>
          </data>
        </ServiceResponse>
        "#);
    }

    use serde_json::Value;

    #[test]
    fn json_wraps_records_and_stringifies_booleans() {
        let json: Value = serde_json::from_str(&sample().render(Format::Json, "")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"ServiceResponse": {
                "responseCode": "SUCCESS", "count": 1, "hasMoreRecords": "true", "lastId": 6002,
                "data": [{"Rule": {"id": 6002, "jsonData": "{\"a\":\"<b>\"}", "isTemplate": "false",
                                   "criteria": {"list": []}}}]
            }})
        );
    }

    #[test]
    fn errors_carry_details_and_no_count() {
        let r = ServiceResponse::error("INVALID_CREDENTIALS", "m".into(), "r".into());
        let xml = r.render(Format::Xml, "x");
        assert!(xml.contains("<errorMessage>m</errorMessage>"));
        assert!(!xml.contains("<count>") && !xml.contains("<data"));
        let json: Value = serde_json::from_str(&r.render(Format::Json, "")).unwrap();
        assert_eq!(
            json["ServiceResponse"]["responseErrorDetails"]["errorResolution"],
            "r"
        );
        assert!(json["ServiceResponse"].get("count").is_none());
    }

    #[test]
    fn a_rendered_record_reads_as_its_tree() {
        let tree = vec![(
            "Alert".into(),
            ObjBuilder::new()
                .int("id", 1)
                .text("hostname", "a&b")
                .build(),
        )];
        for format in [Format::Xml, Format::Json] {
            let from_tree =
                ServiceResponse::success(vec![Record::Tree(tree.clone())]).render(format, "x");
            let rendered = Record::Rendered(render_record(format, &tree).into());
            assert_eq!(
                ServiceResponse::success(vec![rendered]).render(format, "x"),
                from_tree
            );
        }
    }

    #[test]
    fn digits() {
        for n in [0, 7, -7, 10, 246213, i64::MAX, i64::MIN] {
            assert_eq!(itoa(n).as_str(), n.to_string());
        }
    }

    #[test]
    fn xml_names_double_underscores() {
        assert_eq!(
            xml_name("QUESTIONNAIRE_V2-VERSION"),
            "QUESTIONNAIRE__V2-VERSION"
        );
        assert_eq!(xml_name("CM-VERSION"), "CM-VERSION");
    }

    #[test]
    fn accept_header_picks_the_format() {
        let mut h = HeaderMap::new();
        assert_eq!(Format::from_headers(&h), Format::Xml);
        h.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        assert_eq!(Format::from_headers(&h), Format::Json);
        for (accept, format) in [
            ("application/xml, application/json;q=0.1", Format::Xml),
            ("application/json;q=0.1, application/xml", Format::Xml),
            ("application/xml;q=0.5, application/json", Format::Json),
            ("application/json, */*;q=0.5", Format::Json),
            ("text/xml;q=0.9, application/json;q=0.8", Format::Xml),
            ("*/*", Format::Xml),
            ("application/*;q=0.2, application/json;q=0.9", Format::Json),
            ("application/json;q=0", Format::Xml),
            ("text/html", Format::Xml),
        ] {
            h.insert(header::ACCEPT, HeaderValue::from_static(accept));
            assert_eq!(Format::from_headers(&h), format, "{accept}");
        }
    }
}
