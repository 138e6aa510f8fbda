//! The `fields` URL parameter: keep only the listed fields of each record
//! (`?fields=id,eventType,profile.title`). A listed parent keeps its whole subtree; a listed
//! child keeps its parents with only the listed children.
//!
//! A path through a list may name the list's item element or not, and may leave out `list`
//! itself: `rule.list.Rule.id` (as the XML reads, and as third-party code writes it),
//! `rule.list.id` and `rule.id` select the same thing. A path the object does not have is
//! refused with `INVALID_REQUEST` naming it, never answered with hollow records.

use super::error::CmError;
use super::wire::Node;

/// The shape of a record, as far as `fields` paths go.
#[derive(Debug)]
pub enum Shape {
    /// A value with no children.
    Leaf,
    /// Children the record decides (an alert's `alertInfo`): any path below is taken.
    Open,
    /// Named children.
    Obj(&'static [(&'static str, Shape)]),
    /// `list` of items wrapped in `wrapper` elements, each of `item`'s shape.
    List {
        wrapper: &'static str,
        item: &'static [(&'static str, Shape)],
    },
}

impl Shape {
    /// `path` in its one canonical spelling (no item wrappers, `list` written), or `None`
    /// when the shape has no such path.
    fn canonical(&self, path: &[&str], out: &mut Vec<String>) -> Option<()> {
        let Some((head, rest)) = path.split_first() else {
            return Some(());
        };
        match self {
            Shape::Leaf => None,
            Shape::Open => {
                out.extend(path.iter().map(|s| (*s).to_owned()));
                Some(())
            }
            Shape::List { wrapper, item } => {
                let below = if head == wrapper { rest } else { path };
                Shape::Obj(item).canonical(below, out)
            }
            Shape::Obj(children) => match children.iter().find(|(name, _)| name == head) {
                Some((name, shape)) => {
                    out.push((*name).to_owned());
                    shape.canonical(rest, out)
                }
                // `rule.id`, `rule.Rule.id`: a container whose only child is its list.
                None => match children {
                    [("list", list @ Shape::List { .. })] => {
                        out.push("list".to_owned());
                        list.canonical(path, out)
                    }
                    _ => None,
                },
            },
        }
    }

    /// Every leaf path, canonical, for the refusal's list (`alertInfo.*` for open ones).
    fn paths(&self, prefix: &str, out: &mut Vec<String>) {
        let join = |name: &str| {
            if prefix.is_empty() {
                name.to_owned()
            } else {
                format!("{prefix}.{name}")
            }
        };
        match self {
            Shape::Leaf => out.push(prefix.to_owned()),
            Shape::Open => out.push(join("*")),
            Shape::Obj(children) | Shape::List { item: children, .. } => {
                for (name, shape) in *children {
                    shape.paths(&join(name), out);
                }
            }
        }
    }
}

/// Parsed `fields` paths, canonical.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fields(Vec<Vec<String>>);

impl Fields {
    /// The paths of `param` checked against `shape`: `None` when the parameter is absent or
    /// blank (all fields); the QPS error naming the first path the record does not have.
    pub fn parse(param: Option<&str>, shape: &Shape) -> Result<Option<Fields>, CmError> {
        let Some(param) = param else {
            return Ok(None);
        };
        let mut paths = Vec::new();
        for written in param.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let segments: Vec<&str> = written.split('.').map(str::trim).collect();
            let mut canonical = Vec::with_capacity(segments.len());
            if segments.iter().any(|s| s.is_empty())
                || shape.canonical(&segments, &mut canonical).is_none()
            {
                let mut known = Vec::new();
                shape.paths("", &mut known);
                return Err(CmError::invalid_request(
                    format!(
                        "Fields: Invalid field ({written}). Please use one of the following \
                         fields: {}.",
                        known.join(", ")
                    ),
                    "List fields the object has, separated by commas; a path through a list \
                     may name its item element (rule.list.Rule.id) or not (rule.list.id).",
                ));
            }
            paths.push(canonical);
        }
        Ok((!paths.is_empty()).then_some(Fields(paths)))
    }

    /// Whether the field at `path` (`profile.title`) is kept: it, or a parent of it, is
    /// listed. Downloads keep their columns by this.
    pub fn selects(&self, path: &str) -> bool {
        let path: Vec<&str> = path.split('.').collect();
        self.0.iter().any(|listed| {
            listed.len() <= path.len() && listed.iter().zip(&path).all(|(a, b)| a == b)
        })
    }

    /// Prune a record tree to the listed fields.
    pub fn apply(&self, node: Node) -> Node {
        let paths: Vec<&[String]> = self.0.iter().map(Vec::as_slice).collect();
        prune(node, &paths)
    }
}

fn prune(node: Node, paths: &[&[String]]) -> Node {
    if paths.iter().any(|p| p.is_empty()) {
        return node;
    }
    match node {
        Node::Obj(fields) => Node::Obj(
            fields
                .into_iter()
                .filter_map(|(name, value)| {
                    let below: Vec<&[String]> = paths
                        .iter()
                        .filter(|p| p.first().is_some_and(|h| *h == *name))
                        .map(|p| &p[1..])
                        .collect();
                    (!below.is_empty()).then(|| (name, prune(value, &below)))
                })
                .collect(),
        ),
        // A list's item wrappers (`RuleCriteria`, `Rule`) are transparent to paths:
        // `criteria.list.propertyName`.
        Node::List(items) => Node::List(
            items
                .into_iter()
                .map(|(wrapper, item)| (wrapper, prune(item, paths)))
                .collect(),
        ),
        Node::Shared(inner) => prune(Node::clone(&inner), paths),
        leaf => leaf,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cm::objects::Kind;
    use crate::cm::wire::ObjBuilder;

    fn alert() -> Node {
        ObjBuilder::new()
            .int("id", 1)
            .text("eventType", "PORT_OPEN")
            .field(
                "profile",
                ObjBuilder::new()
                    .int("id", 7401)
                    .text("title", "All Critical")
                    .build(),
            )
            .build()
    }

    fn parse(param: &str, kind: Kind) -> Result<Option<Fields>, CmError> {
        Fields::parse(Some(param), kind.shape())
    }

    #[test]
    fn keeps_listed_fields_and_paths() {
        let f = parse("id, profile.title", Kind::Alert).unwrap().unwrap();
        let kept = f.apply(alert());
        let expected = ObjBuilder::new()
            .int("id", 1)
            .field(
                "profile",
                ObjBuilder::new().text("title", "All Critical").build(),
            )
            .build();
        assert_eq!(kept, expected);
        let whole = parse("profile", Kind::Alert)
            .unwrap()
            .unwrap()
            .apply(alert());
        assert!(matches!(whole, Node::Obj(ref f) if f.len() == 1 && f[0].0 == "profile"));
        assert_eq!(parse(" , ", Kind::Alert), Ok(None));
        let f = parse("id,profile,alertInfo.port", Kind::Alert)
            .unwrap()
            .unwrap();
        assert!(f.selects("id") && f.selects("profile.title") && f.selects("alertInfo.port"));
        assert!(!f.selects("alertInfo.protocol") && !f.selects("idx") && !f.selects("eventType"));
        assert_eq!(Fields::parse(None, Kind::Alert.shape()), Ok(None));
    }

    #[test]
    fn list_paths_with_or_without_the_item_element_are_one_path() {
        let canonical = |p: &str, kind| parse(p, kind).unwrap().unwrap().0;
        let rule = vec![vec!["rule".to_owned(), "list".into(), "id".into()]];
        for written in [
            "rule.list.Rule.id",
            "rule.list.id",
            "rule.id",
            "rule.Rule.id",
        ] {
            assert_eq!(canonical(written, Kind::Ruleset), rule, "{written}");
        }
        let criteria = vec![vec![
            "criteria".to_owned(),
            "list".into(),
            "propertyName".into(),
        ]];
        for written in [
            "criteria.list.RuleCriteria.propertyName",
            "criteria.list.propertyName",
            "criteria.propertyName",
        ] {
            assert_eq!(canonical(written, Kind::Rule), criteria, "{written}");
        }
        assert_eq!(
            canonical("rule.list.Rule", Kind::Ruleset),
            vec![vec!["rule".to_owned(), "list".into()]]
        );
        assert_eq!(
            canonical("alertInfo.anything.at.all", Kind::Alert)[0].len(),
            4
        );
    }

    #[test]
    fn a_path_the_record_lacks_is_refused_by_name() {
        for (written, kind) in [
            ("colour", Kind::Alert),
            ("id,profile.uuid", Kind::Alert),
            ("profile.", Kind::Profile),
            ("rule.list.Rule.criteria", Kind::Ruleset),
            ("criteria.list.Rule.id", Kind::Rule),
            ("id.value", Kind::Rule),
            ("Id", Kind::Profile),
        ] {
            let e = parse(written, kind).unwrap_err();
            assert_eq!(e.code, "INVALID_REQUEST", "{written}");
            assert!(e.message.starts_with("Fields: Invalid field ("), "{e:?}");
        }
        let e = parse("id,colour", Kind::Rule).unwrap_err();
        assert_eq!(
            e.message,
            "Fields: Invalid field (colour). Please use one of the following fields: id, \
             ruleType, eventTypes, jsonData, dateCreated, criteria.list.id, \
             criteria.list.propertyName, criteria.list.propertyValue, \
             criteria.list.expressionType."
        );
    }
}
