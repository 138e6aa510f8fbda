//! The CM schemas, served at the locations every XML answer names in
//! `xsi:noNamespaceSchemaLocation`: `/qps/xsd/1.0/cm/{alert,profile,rule,ruleset}.xsd`, the
//! portal version's `/qps/xsd/version.xsd`, and `/qps/xsd/1.0/cm.xsd` for answers (errors)
//! of paths that name no CM object. Written from the CM guide's field tables and samples;
//! the test suite validates every XML answer it produces against them.

use super::objects::Kind;

/// The envelope schema: answers (errors) of paths that name no CM object.
pub const ENVELOPE: &str = "/qps/xsd/1.0/cm.xsd";

/// The portal version's schema.
pub const VERSION: &str = "/qps/xsd/version.xsd";

/// `(path, schema)` for every schema served: each CM object type's (declared with it in
/// the registry of object types), then the envelope's and the portal version's.
pub fn schemas() -> impl Iterator<Item = (&'static str, &'static str)> {
    Kind::ALL
        .into_iter()
        .map(|k| (k.xsd().path, k.xsd().text))
        .chain([
            (ENVELOPE, include_str!("xsd/cm.xsd")),
            (VERSION, include_str!("xsd/version.xsd")),
        ])
}

/// The schema at `path`, if one is served there.
pub fn schema(path: &str) -> Option<&'static str> {
    schemas().find(|(p, _)| *p == path).map(|(_, s)| s)
}
