//! The CM schemas, served at the locations every XML answer names in
//! `xsi:noNamespaceSchemaLocation`: `/qps/xsd/1.0/cm/{alert,profile,rule,ruleset}.xsd`, the
//! portal version's `/qps/xsd/version.xsd`, and `/qps/xsd/1.0/cm.xsd` for answers (errors)
//! of paths that name no CM object. Written from the CM guide's field tables and samples;
//! the test suite validates every XML answer it produces against them.

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::reply::Ctx;

/// `(path, schema)` for every schema served.
pub const SCHEMAS: &[(&str, &str)] = &[
    ("/qps/xsd/1.0/cm/alert.xsd", include_str!("xsd/alert.xsd")),
    (
        "/qps/xsd/1.0/cm/profile.xsd",
        include_str!("xsd/profile.xsd"),
    ),
    ("/qps/xsd/1.0/cm/rule.xsd", include_str!("xsd/rule.xsd")),
    (
        "/qps/xsd/1.0/cm/ruleset.xsd",
        include_str!("xsd/ruleset.xsd"),
    ),
    ("/qps/xsd/1.0/cm.xsd", include_str!("xsd/cm.xsd")),
    ("/qps/xsd/version.xsd", include_str!("xsd/version.xsd")),
];

/// The schema at `path`, if one is served there.
pub fn schema(path: &str) -> Option<&'static str> {
    SCHEMAS.iter().find(|(p, _)| *p == path).map(|(_, s)| *s)
}

/// `GET /qps/xsd/{*name}`: a schema (no credentials needed: clients and validators fetch
/// them bare), or the CM 404.
pub async fn serve(ctx: Ctx, Path(name): Path<String>) -> Response {
    let path = format!("/qps/xsd/{name}");
    match schema(&path) {
        Some(text) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/xml"),
            )],
            text,
        )
            .into_response(),
        None => super::no_such_path(ctx, format!("No schema at {path}")).into_response(),
    }
}
