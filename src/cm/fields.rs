//! The `fields` URL parameter: keep only the listed fields of each record
//! (`?fields=id,eventType,profile.title`). A listed parent keeps its whole subtree; a listed
//! child keeps its parents with only the listed children. Unknown names select nothing.

use super::wire::Node;

/// Parsed `fields` paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fields(Vec<Vec<String>>);

impl Fields {
    /// `None` when the parameter is absent or blank (all fields).
    pub fn parse(param: Option<&str>) -> Option<Fields> {
        let paths: Vec<Vec<String>> = param?
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| p.split('.').map(str::to_owned).collect())
            .collect();
        (!paths.is_empty()).then_some(Fields(paths))
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

    #[test]
    fn keeps_listed_fields_and_paths() {
        let f = Fields::parse(Some("id, profile.title")).unwrap();
        let kept = f.apply(alert());
        let expected = ObjBuilder::new()
            .int("id", 1)
            .field(
                "profile",
                ObjBuilder::new().text("title", "All Critical").build(),
            )
            .build();
        assert_eq!(kept, expected);
        let whole = Fields::parse(Some("profile")).unwrap().apply(alert());
        assert!(matches!(whole, Node::Obj(ref f) if f.len() == 1 && f[0].0 == "profile"));
        assert_eq!(Fields::parse(Some(" , ")), None);
        let f = Fields::parse(Some("id,profile,alertInfo.port")).unwrap();
        assert!(f.selects("id") && f.selects("profile.title") && f.selects("alertInfo.port"));
        assert!(!f.selects("alertInfo.protocol") && !f.selects("idx") && !f.selects("eventType"));
        assert_eq!(Fields::parse(None), None);
    }
}
