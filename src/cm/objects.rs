//! The four CM object types: their catalogs, wrapper elements, and rows rendered as QPS
//! record trees (element order as the guide's samples show).

use super::fields::Shape;
use super::wire::{Name, Node, ObjBuilder};
use crate::dates;
use crate::query::catalog::Catalog;
use crate::store::cm::{AlertRow, ProfileRow, RuleRow, RulesetRow, RulesetWithRules};
use crate::store::objects::{self, CmWire, Object, SeedFile, Table, Xsd};

/// A CM object type, as named in paths (`search/cm/alert`). Everything but its records'
/// code is its entry in the store's registry of object types (`store::objects`): its name,
/// catalog, record element and XSD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Alert,
    Profile,
    Rule,
    Ruleset,
}

impl Kind {
    /// Every kind, in the order the CM API's texts name them.
    pub const ALL: [Kind; 4] = [Kind::Alert, Kind::Profile, Kind::Rule, Kind::Ruleset];

    /// What the registry declares of it, and its record's shape for `fields` paths: what
    /// [`alert_sharing`], [`profile`], [`rule`] and [`ruleset`] build (and the served XSDs
    /// declare). A table without a CM object type here fails the build.
    fn declared(self) -> &'static Declared {
        match self {
            Kind::Alert => const { &Declared::new(&objects::CM_ALERTS, &ALERT) },
            Kind::Profile => const { &Declared::new(&objects::CM_PROFILES, &PROFILE) },
            Kind::Rule => const { &Declared::new(&objects::CM_RULES, &RULE) },
            Kind::Ruleset => const { &Declared::new(&objects::CM_RULESETS, &RULESET) },
        }
    }

    /// Every kind, parents first (the registry's order): rulesets before the rules and
    /// profiles naming them, profiles before the alerts naming them.
    pub(crate) fn parents_first() -> impl Iterator<Item = Kind> {
        objects::objects(false).filter_map(|o| Kind::from_path(o.name()))
    }

    /// The kind a path names (`alert` in `search/cm/alert`), matched exactly.
    pub fn from_path(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Its name in paths and texts (`alert`).
    pub fn name(self) -> &'static str {
        self.declared().object.name()
    }

    /// Every kind's name, as a sentence lists them: `alert, profile, rule and ruleset`.
    pub fn names_in_words() -> String {
        let names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
        match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
            _ => names.concat(),
        }
    }

    pub fn catalog(self) -> &'static Catalog {
        self.declared().object.catalog
    }

    /// The record's wrapper element.
    pub fn wrapper(self) -> &'static str {
        self.declared().wire.wrapper
    }

    /// The schema answers about this kind name.
    pub(crate) fn xsd(self) -> &'static Xsd {
        &self.declared().wire.xsd
    }

    /// Its seed file (`alerts.json`).
    pub(crate) fn seed_file(self) -> &'static str {
        self.declared().seed.name
    }

    /// The record's shape, for `fields` paths.
    pub fn shape(self) -> &'static Shape {
        self.declared().shape
    }
}

/// A kind's registry entry (its object type, seed file and CM wire) and its record's shape.
struct Declared {
    object: &'static Object,
    seed: &'static SeedFile,
    wire: &'static CmWire,
    shape: &'static Shape,
}

impl Declared {
    const fn new(table: &'static Table, shape: &'static Shape) -> Declared {
        Declared {
            object: objects::object_of(table),
            seed: objects::seed_file_of(table),
            wire: objects::cm_wire_of(table),
            shape,
        }
    }
}

const PROFILE_HEAD: [(&str, Shape); 8] = [
    ("id", Shape::Leaf),
    ("title", Shape::Leaf),
    ("dateCreated", Shape::Leaf),
    ("dateUpdated", Shape::Leaf),
    ("frequency", Shape::Leaf),
    ("isActive", Shape::Leaf),
    ("includedIps", Shape::Leaf),
    ("targetList", Shape::Leaf),
];
const RULE_HEAD: [(&str, Shape); 5] = [
    ("id", Shape::Leaf),
    ("ruleType", Shape::Leaf),
    ("eventTypes", Shape::Leaf),
    ("jsonData", Shape::Leaf),
    ("dateCreated", Shape::Leaf),
];
const RULESET_HEAD: [(&str, Shape); 6] = [
    ("id", Shape::Leaf),
    ("title", Shape::Leaf),
    ("description", Shape::Leaf),
    ("dateCreated", Shape::Leaf),
    ("dateUpdated", Shape::Leaf),
    ("isTemplate", Shape::Leaf),
];
static ALERT: Shape = Shape::Obj(&[
    ("id", Shape::Leaf),
    ("source", Shape::Leaf),
    ("eventType", Shape::Leaf),
    ("triggerUuid", Shape::Leaf),
    ("ipAddress", Shape::Leaf),
    ("hostname", Shape::Leaf),
    ("eventDate", Shape::Leaf),
    ("alertDate", Shape::Leaf),
    ("isHidden", Shape::Leaf),
    ("profile", Shape::Obj(&PROFILE_HEAD)),
    ("alertInfo", Shape::Open),
]);
static PROFILE: Shape = Shape::Obj(&[
    ("id", Shape::Leaf),
    ("title", Shape::Leaf),
    ("uuid", Shape::Leaf),
    ("dateCreated", Shape::Leaf),
    ("dateUpdated", Shape::Leaf),
    ("frequency", Shape::Leaf),
    ("isActive", Shape::Leaf),
    ("includedIps", Shape::Leaf),
    ("targetList", Shape::Leaf),
    ("ruleset", Shape::Obj(&RULESET_HEAD)),
]);
static RULE: Shape = Shape::Obj(&[
    ("id", Shape::Leaf),
    ("ruleType", Shape::Leaf),
    ("eventTypes", Shape::Leaf),
    ("jsonData", Shape::Leaf),
    ("dateCreated", Shape::Leaf),
    (
        "criteria",
        Shape::Obj(&[(
            "list",
            Shape::List {
                wrapper: "RuleCriteria",
                item: &[
                    ("id", Shape::Leaf),
                    ("propertyName", Shape::Leaf),
                    ("propertyValue", Shape::Leaf),
                    ("expressionType", Shape::Leaf),
                ],
            },
        )]),
    ),
]);
static RULESET: Shape = Shape::Obj(&[
    ("id", Shape::Leaf),
    ("title", Shape::Leaf),
    ("description", Shape::Leaf),
    ("dateCreated", Shape::Leaf),
    ("dateUpdated", Shape::Leaf),
    ("isTemplate", Shape::Leaf),
    (
        "rule",
        Shape::Obj(&[(
            "list",
            Shape::List {
                wrapper: "Rule",
                item: &RULE_HEAD,
            },
        )]),
    ),
]);

fn json_node(v: &serde_json::Value) -> Node {
    match v {
        serde_json::Value::String(s) => Node::Text(s.clone()),
        serde_json::Value::Bool(b) => Node::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Node::Int(i),
            None => Node::Text(n.to_string()),
        },
        serde_json::Value::Null => Node::Text(String::new()),
        other => Node::Text(other.to_string()),
    }
}

/// An alert's record tree.
pub fn alert(a: &AlertRow) -> Node {
    alert_sharing(a.clone(), &mut std::collections::HashMap::new())
}

/// An alert's record tree, its strings moved rather than copied and its profile subtree
/// shared with the page's other alerts of that profile.
pub fn alert_sharing(a: AlertRow, profiles: &mut std::collections::HashMap<i64, Node>) -> Node {
    let info = a.alert_info();
    let mut b = ObjBuilder::new()
        .int("id", a.id)
        .text("source", a.source)
        .text("eventType", a.event_type)
        .text("triggerUuid", a.trigger_uuid)
        .text("ipAddress", a.ip_address)
        .text("hostname", a.hostname)
        .text("eventDate", dates::iso_s(a.event_s))
        .text("alertDate", dates::iso_s(a.alert_s))
        .bool("isHidden", a.is_hidden);
    if let Some(p) = &a.profile {
        let node = profiles
            .entry(p.id)
            .or_insert_with(|| Node::Shared(std::sync::Arc::new(profile(p, false))))
            .clone();
        b = b.field("profile", node);
    }
    let info = info
        .into_iter()
        .map(|(k, v)| (Name::Owned(k), json_node(&v)))
        .collect();
    b.field("alertInfo", Node::Obj(info)).build()
}

/// A profile; `full` adds the uuid and ruleset (alerts show a shorter profile).
pub fn profile(p: &ProfileRow, full: bool) -> Node {
    let mut b = ObjBuilder::new().int("id", p.id).text("title", &p.title);
    if full {
        b = b.text("uuid", &p.uuid);
    }
    b = b
        .text("dateCreated", dates::iso_s(p.created_s))
        .text("dateUpdated", dates::iso_s(p.updated_s))
        .text("frequency", &p.frequency)
        .bool("isActive", p.is_active)
        .text("includedIps", &p.included_ips)
        .text("targetList", &p.target_list);
    if full && let Some(s) = &p.ruleset {
        b = b.field("ruleset", ruleset_head(s).build());
    }
    b.build()
}

fn ruleset_head(s: &RulesetRow) -> ObjBuilder {
    ObjBuilder::new()
        .int("id", s.id)
        .text("title", &s.title)
        .text("description", &s.description)
        .text("dateCreated", dates::iso_s(s.created_s))
        .text("dateUpdated", dates::iso_s(s.updated_s))
        .bool("isTemplate", s.is_template)
}

/// A rule; `with_criteria` adds `criteria/list/RuleCriteria` (rulesets list rules without).
pub fn rule(r: &RuleRow, with_criteria: bool) -> Node {
    let mut b = ObjBuilder::new()
        .int("id", r.id)
        .text("ruleType", &r.rule_type)
        .text("eventTypes", &r.event_types)
        .text("jsonData", &r.json_data)
        .text("dateCreated", dates::iso_s(r.created_s));
    if with_criteria {
        let list = r
            .criteria
            .iter()
            .map(|c| {
                (
                    Name::Borrowed("RuleCriteria"),
                    ObjBuilder::new()
                        .int("id", c.id)
                        .text("propertyName", &c.property_name)
                        .text("propertyValue", &c.property_value)
                        .text("expressionType", &c.expression_type)
                        .build(),
                )
            })
            .collect();
        b = b.field(
            "criteria",
            ObjBuilder::new().field("list", Node::List(list)).build(),
        );
    }
    b.build()
}

pub fn ruleset(s: &RulesetWithRules) -> Node {
    let rules = s
        .rules
        .iter()
        .map(|r| (Name::Borrowed("Rule"), rule(r, false)))
        .collect();
    ruleset_head(&s.ruleset)
        .field(
            "rule",
            ObjBuilder::new().field("list", Node::List(rules)).build(),
        )
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cm_object_type_of_the_registry_is_a_kind() {
        let mut registered: Vec<&str> = objects::objects(false).map(|o| o.name()).collect();
        let mut kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
        registered.sort_unstable();
        kinds.sort_unstable();
        assert_eq!(kinds, registered);
        for object in objects::objects(false) {
            let kind = Kind::from_path(object.name()).unwrap();
            assert_eq!(kind.catalog(), object.catalog);
            assert_eq!(
                super::super::xsd::schema(kind.xsd().path),
                Some(kind.xsd().text),
                "{} is served",
                kind.name()
            );
        }
        let words = Kind::names_in_words();
        assert!(
            Kind::ALL.iter().all(|k| words.contains(k.name())),
            "{words}"
        );
        assert_eq!(words.matches(" and ").count(), 1, "{words}");
        assert_eq!(words.matches(", ").count(), Kind::ALL.len() - 2, "{words}");
        let order: Vec<Kind> = Kind::parents_first().collect();
        assert_eq!(order.len(), Kind::ALL.len());
        let at = |k| order.iter().position(|o| *o == k).unwrap();
        assert!(at(Kind::Ruleset) < at(Kind::Rule) && at(Kind::Rule) < at(Kind::Alert));
        assert!(at(Kind::Ruleset) < at(Kind::Profile) && at(Kind::Profile) < at(Kind::Alert));
        assert_eq!(Kind::from_path("Alert"), None);
    }
}
