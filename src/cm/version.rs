//! `GET|POST /qps/rest/portal/version`: the installed versions of the portal and QWeb.
//!
//! The module versions are the CM guide's sample values; `CM-VERSION` also names the CEF
//! device version of alert downloads (`CM-<version>`).

use super::reply::{CmCaller, Ctx, Reply};
use super::wire::{Name, Node, ServiceResponse};

/// Portal module versions, in the guide's order.
pub const PORTAL_VERSIONS: &[(&str, &str)] = &[
    (
        "PortalApplication-VERSION",
        "3.1.2.0-2 OFFICIAL #597 (2020-09-15T15:54:59Z)",
    ),
    ("ITAM-VERSION", "1.2.0.0-1"),
    ("CS-VERSION", "1.6.8.0-36"),
    ("CA-VERSION", "2.23.0.0"),
    ("QGS-VERSION", "1.2.0.0-6"),
    ("QUESTIONNAIRE-VERSION", "2.23.1.0"),
    ("WAF-VERSION", "2.12.4.0"),
    ("QUESTIONNAIRE_V2-VERSION", "1.10.1.0"),
    ("WAS-VERSION", "6.13.1.0"),
    ("FIM-VERSION", "2.3.1.1"),
    ("VM-VERSION", "1.0.3"),
    ("CERTVIEW-VERSION", "2.6.0.2-7"),
    ("CLOUDVIEW-VERSION", "1.10.0.0-3"),
    ("CM-VERSION", CM_VERSION),
    ("MDS-VERSION", "2.15.7.0"),
    ("PM-VERSION", "1.4.2.3-3"),
    ("PS-VERSION", "1.2.0.0-RELEASE"),
    ("THREAT_PROTECT-VERSION", "1.2.0.0"),
    ("UD-VERSION", "0.0.6"),
];

/// QWeb versions.
pub const QWEB_VERSIONS: &[(&str, &str)] = &[
    ("WEB-VERSION", "10.3.0.2-2"),
    ("SCANNER-VERSION", "12.1.67-1"),
    ("VULNSIGS-VERSION", "2.4.990-2"),
];

/// The CM module's version.
pub const CM_VERSION: &str = "1.30.0.0";

fn block(entries: &[(&'static str, &'static str)]) -> Node {
    Node::Obj(
        entries
            .iter()
            .map(|(k, v)| (Name::Borrowed(*k), Node::text(*v)))
            .collect(),
    )
}

pub async fn version(ctx: Ctx, _caller: CmCaller) -> Reply {
    let record = vec![
        (Name::Borrowed("Portal-Version"), block(PORTAL_VERSIONS)),
        (Name::Borrowed("QWeb-Version"), block(QWEB_VERSIONS)),
    ];
    ctx.ok(ServiceResponse::success(vec![record.into()]))
}
