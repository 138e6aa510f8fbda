//! The one XML element tree of the crate, bounded in depth: what the CM `ServiceRequest`
//! parser, the recorder's `ServiceResponse` reader and the stubs' `equalToXml` need (local
//! names, namespace URIs, attributes, text, children).
//!
//! Namespaces are resolved from the bindings in scope: an element's or attribute's URI is
//! kept beside its local name, and a binding (`xmlns`, `xmlns:p`) stays among the
//! attributes, marked as one. [`read_tree`] tolerates namespace mistakes (an unbound prefix
//! leaves a name without a URI); [`read_namespaced_tree`] refuses them, as a
//! namespace-aware parser does.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{PrefixDeclaration, QName};

/// The URI the `xml` prefix is bound to, always.
pub(crate) const XML_NAMESPACE: &str = "http://www.w3.org/XML/1998/namespace";
/// The URI of the namespace-binding attributes (`xmlns`, `xmlns:p`), never bound by hand.
pub(crate) const XMLNS_NAMESPACE: &str = "http://www.w3.org/2000/xmlns/";

/// One element: its local name and namespace URI, attributes in document order,
/// concatenated text and children.
#[derive(Debug, Default)]
pub(crate) struct Element {
    pub(crate) name: String,
    /// The URI its prefix (or the default namespace) is bound to; `None` when there is none.
    /// One URI is shared by every name it qualifies.
    pub(crate) namespace: Option<Arc<str>>,
    pub(crate) attributes: Vec<Attribute>,
    pub(crate) text: String,
    pub(crate) children: Vec<Element>,
}

/// One attribute. A namespace binding keeps the local name of its raw name (`xmlns` for
/// `xmlns="…"`, `p` for `xmlns:p="…"`), [`XMLNS_NAMESPACE`] as its URI and `binding` set.
#[derive(Debug)]
pub(crate) struct Attribute {
    pub(crate) name: String,
    /// The URI its prefix is bound to; `None` without a prefix (the default namespace does
    /// not reach attributes).
    pub(crate) namespace: Option<Arc<str>>,
    pub(crate) value: String,
    pub(crate) binding: bool,
}

impl Element {
    /// The first child named `name`.
    pub(crate) fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The text of the first child named `name`.
    pub(crate) fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str())
    }
}

/// The namespace bindings in scope while reading, and the first namespace mistake seen.
struct Scopes {
    /// Prefix (`""` for the default namespace) → its bindings, innermost last; `None`
    /// undeclares (`xmlns=""`).
    bound: HashMap<String, Vec<Option<Arc<str>>>>,
    /// For each open element, the prefixes it bound, released at its end.
    declared: Vec<Vec<String>>,
    xml: Arc<str>,
    xmlns: Arc<str>,
    mistake: Option<String>,
}

impl Scopes {
    fn new() -> Scopes {
        Scopes {
            bound: HashMap::new(),
            declared: Vec::new(),
            xml: Arc::from(XML_NAMESPACE),
            xmlns: Arc::from(XMLNS_NAMESPACE),
            mistake: None,
        }
    }

    fn mistake(&mut self, what: impl FnOnce() -> String) {
        if self.mistake.is_none() {
            self.mistake = Some(what());
        }
    }

    /// Take in a binding of `prefix` (`""`: the default namespace) to `uri`, checking it
    /// against the rules of Namespaces in XML.
    fn bind(&mut self, prefix: &str, uri: &str, declared: &mut Vec<String>) {
        let reserved = match prefix {
            "xml" if uri != XML_NAMESPACE => Some("the prefix xml is bound to another URI"),
            "xml" => return,
            "xmlns" => Some("the prefix xmlns is bound"),
            _ if uri == XML_NAMESPACE || uri == XMLNS_NAMESPACE => {
                Some("a reserved namespace URI is bound")
            }
            _ if prefix.contains(':') => Some("a prefix holds a colon"),
            _ if uri.is_empty() && !prefix.is_empty() => Some("a prefix is bound to the empty URI"),
            _ => None,
        };
        if let Some(reserved) = reserved {
            let colon = if prefix.is_empty() { "" } else { ":" };
            self.mistake(|| format!("{reserved} (xmlns{colon}{prefix}=\"{uri}\")"));
            if matches!(prefix, "xml" | "xmlns") {
                return;
            }
        }
        let uri = (!uri.is_empty()).then(|| Arc::from(uri));
        self.bound.entry(prefix.to_owned()).or_default().push(uri);
        declared.push(prefix.to_owned());
    }

    /// The URI `prefix` is bound to (`""`: the default namespace).
    fn lookup(&self, prefix: &str) -> Option<Arc<str>> {
        match prefix {
            "xml" => Some(self.xml.clone()),
            "xmlns" => Some(self.xmlns.clone()),
            _ => self
                .bound
                .get(prefix)
                .and_then(|stack| stack.last())
                .cloned()
                .flatten(),
        }
    }

    /// The local name and URI of `qname`; `element` names take the default namespace.
    fn resolve(&mut self, qname: QName<'_>, element: bool) -> (String, Option<Arc<str>>) {
        let raw = qname.into_inner();
        let (local, prefix) = qname.decompose();
        let local = local.into_inner();
        if local.is_empty()
            || local.contains(':')
            || prefix.is_some_and(|p| p.into_inner().is_empty())
        {
            self.mistake(|| format!("{raw} is not a qualified name"));
        }
        let namespace = match prefix.map(|p| p.into_inner()) {
            None if element => self.lookup(""),
            None => None,
            Some("xmlns") if element => {
                self.mistake(|| format!("the element {raw} has the prefix xmlns"));
                None
            }
            Some(p) => {
                let found = self.lookup(p);
                if found.is_none() {
                    self.mistake(|| format!("the prefix {p} of {raw} is not bound"));
                }
                found
            }
        };
        (local.to_owned(), namespace)
    }

    /// Release the bindings of the element that ends.
    fn close(&mut self) {
        for prefix in self.declared.pop().unwrap_or_default() {
            if let Some(stack) = self.bound.get_mut(&prefix) {
                stack.pop();
                if stack.is_empty() {
                    self.bound.remove(&prefix);
                }
            }
        }
    }
}

/// Read a start tag: bind what it binds, then resolve its names.
fn open(e: &BytesStart<'_>, scopes: &mut Scopes) -> Result<Element, String> {
    let mut raw = Vec::new();
    let mut declared = Vec::new();
    for attr in e.attributes() {
        let attr = attr.map_err(|err| err.to_string())?;
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|err| err.to_string())?
            .into_owned();
        let binding = attr.key.as_namespace_binding();
        match binding {
            Some(PrefixDeclaration::Default) => scopes.bind("", &value, &mut declared),
            Some(PrefixDeclaration::Named("")) => {
                scopes.mistake(|| "the binding xmlns: names no prefix".to_owned());
            }
            Some(PrefixDeclaration::Named(prefix)) => scopes.bind(prefix, &value, &mut declared),
            None => {}
        }
        raw.push((attr.key, value, binding.is_some()));
    }
    scopes.declared.push(declared);
    let (name, namespace) = scopes.resolve(e.name(), true);
    let mut attributes = Vec::with_capacity(raw.len());
    let mut seen = HashSet::new();
    for (key, value, binding) in raw {
        let (name, namespace) = if binding {
            (
                key.local_name().into_inner().to_owned(),
                Some(scopes.xmlns.clone()),
            )
        } else {
            scopes.resolve(key, false)
        };
        if !binding && namespace.is_some() && !seen.insert((namespace.clone(), name.clone())) {
            scopes.mistake(|| format!("the attribute {} appears twice", key.into_inner()));
        }
        attributes.push(Attribute {
            name,
            namespace,
            value,
            binding,
        });
    }
    Ok(Element {
        name,
        namespace,
        attributes,
        ..Element::default()
    })
}

fn close(stack: &mut [Element], root: &mut Option<Element>, el: Element) -> Result<(), String> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None if root.is_none() => *root = Some(el),
        None => return Err("more than one root element".to_owned()),
    }
    Ok(())
}

/// Read `text` into a tree of at most `max_depth` nested elements, and say the first
/// namespace mistake (unbound prefix, reserved prefix or URI misused, one attribute twice
/// under two prefixes), if any.
fn read(text: &str, max_depth: usize) -> Result<(Element, Option<String>), String> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut scopes = Scopes::new();
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(e) => {
                if stack.len() >= max_depth {
                    return Err("elements nest too deeply".to_owned());
                }
                stack.push(open(&e, &mut scopes)?);
            }
            Event::Empty(e) => {
                let el = open(&e, &mut scopes)?;
                scopes.close();
                close(&mut stack, &mut root, el)?;
            }
            Event::End(_) => {
                let el = stack
                    .pop()
                    .ok_or_else(|| "unexpected closing tag".to_owned())?;
                scopes.close();
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
                let content = c.xml10_content().into_owned();
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&content);
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
                let resolved =
                    resolved.ok_or_else(|| format!("unknown entity &{};", r.xml10_content()))?;
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&resolved);
                }
            }
            Event::Eof => break,
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err("unclosed element".to_owned());
    }
    let root = root.ok_or_else(|| "no root element".to_owned())?;
    Ok((root, scopes.mistake))
}

/// Read `text` into a tree of at most `max_depth` nested elements, namespace mistakes
/// tolerated (a name whose prefix is unbound has no URI). The error says what is wrong,
/// for the caller to word in its own format.
pub(crate) fn read_tree(text: &str, max_depth: usize) -> Result<Element, String> {
    read(text, max_depth).map(|(root, _)| root)
}

/// [`read_tree`], refusing what a namespace-aware parser refuses: an unbound prefix, a
/// reserved prefix or URI bound, a prefix bound to the empty URI, a name with two colons,
/// one attribute twice under two prefixes.
pub(crate) fn read_namespaced_tree(text: &str, max_depth: usize) -> Result<Element, String> {
    match read(text, max_depth)? {
        (root, None) => Ok(root),
        (_, Some(mistake)) => Err(mistake),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(namespace: &Option<Arc<str>>) -> Option<&str> {
        namespace.as_deref()
    }

    #[test]
    fn names_keep_the_uri_their_prefix_or_the_default_namespace_is_bound_to() {
        let root = read_namespaced_tree(
            r#"<p:a xmlns:p="urn:p" xmlns="urn:d"><b/><p:c/><d xmlns=""/><e xmlns:p="urn:q"><p:f/></e><p:g/></p:a>"#,
            8,
        )
        .unwrap();
        assert_eq!(
            (root.name.as_str(), uri(&root.namespace)),
            ("a", Some("urn:p"))
        );
        let names: Vec<_> = root
            .children
            .iter()
            .map(|c| (c.name.as_str(), uri(&c.namespace)))
            .collect();
        assert_eq!(
            names,
            [
                ("b", Some("urn:d")),
                ("c", Some("urn:p")),
                ("d", None),
                ("e", Some("urn:d")),
                ("g", Some("urn:p")),
            ]
        );
        let inner = &root.children[3].children[0];
        assert_eq!(
            (inner.name.as_str(), uri(&inner.namespace)),
            ("f", Some("urn:q"))
        );
    }

    #[test]
    fn attributes_keep_their_uri_and_say_which_are_namespace_bindings() {
        let root = read_tree(
            r#"<a xmlns="urn:d" xmlns:p="urn:p" x="1" p:y="2" xml:lang="en"/>"#,
            8,
        )
        .unwrap();
        let attributes: Vec<_> = root
            .attributes
            .iter()
            .map(|a| {
                (
                    a.name.as_str(),
                    uri(&a.namespace),
                    a.value.as_str(),
                    a.binding,
                )
            })
            .collect();
        assert_eq!(
            attributes,
            [
                ("xmlns", Some(XMLNS_NAMESPACE), "urn:d", true),
                ("p", Some(XMLNS_NAMESPACE), "urn:p", true),
                ("x", None, "1", false),
                ("y", Some("urn:p"), "2", false),
                ("lang", Some(XML_NAMESPACE), "en", false),
            ]
        );
    }

    #[test]
    fn one_uri_is_shared_by_every_name_it_qualifies() {
        let root = read_tree(r#"<a xmlns="urn:d"><b/><c/></a>"#, 8).unwrap();
        let (b, c) = (&root.children[0], &root.children[1]);
        assert!(Arc::ptr_eq(
            b.namespace.as_ref().unwrap(),
            c.namespace.as_ref().unwrap()
        ));
    }

    #[test]
    fn namespace_mistakes_are_refused_by_the_namespaced_read_and_tolerated_by_the_other() {
        for (text, mistake) in [
            ("<p:a/>", "the prefix p of p:a is not bound"),
            ("<a p:x=\"1\"/>", "the prefix p of p:x is not bound"),
            (
                "<a xmlns:p=\"\"/>",
                "a prefix is bound to the empty URI (xmlns:p=\"\")",
            ),
            (
                "<a xmlns:xml=\"urn:x\"/>",
                "the prefix xml is bound to another URI (xmlns:xml=\"urn:x\")",
            ),
            (
                "<a xmlns:xmlns=\"urn:x\"/>",
                "the prefix xmlns is bound (xmlns:xmlns=\"urn:x\")",
            ),
            (
                "<a xmlns=\"http://www.w3.org/2000/xmlns/\"/>",
                "a reserved namespace URI is bound (xmlns=\"http://www.w3.org/2000/xmlns/\")",
            ),
            (
                "<a:b:c xmlns:a=\"urn:a\"/>",
                "a:b:c is not a qualified name",
            ),
            (
                "<a xmlns:p=\"urn:u\" xmlns:q=\"urn:u\" p:x=\"1\" q:x=\"2\"/>",
                "the attribute q:x appears twice",
            ),
            (
                "<a><p:b xmlns:p=\"urn:p\"/><p:c/></a>",
                "the prefix p of p:c is not bound",
            ),
        ] {
            assert_eq!(
                read_namespaced_tree(text, 8).unwrap_err(),
                mistake,
                "{text}"
            );
            assert!(read_tree(text, 8).is_ok(), "{text}");
        }
        let lenient = read_tree("<p:a q:x=\"1\"/>", 8).unwrap();
        assert_eq!(
            (lenient.name.as_str(), lenient.namespace.is_none()),
            ("a", true)
        );
        assert_eq!(lenient.attributes[0].name, "x");
    }

    #[test]
    fn depth_is_bounded_and_broken_documents_say_why() {
        assert!(read_tree("<a><b><c></c></b></a>", 3).is_ok());
        assert_eq!(
            read_tree("<a><b><c><d></d></c></b></a>", 3).unwrap_err(),
            "elements nest too deeply"
        );
        assert_eq!(read_tree("<a><b></b>", 8).unwrap_err(), "unclosed element");
        assert_eq!(
            read_tree("<a/><b/>", 8).unwrap_err(),
            "more than one root element"
        );
        assert_eq!(read_tree("<!-- c -->", 8).unwrap_err(), "no root element");
    }

    #[test]
    fn text_joins_character_data_references_and_cdata() {
        let root = read_tree("<a> x &amp; &#65;<![CDATA[<y>]]><!-- c --> </a>", 8).unwrap();
        assert_eq!(root.text, " x & A<y> ");
    }
}
