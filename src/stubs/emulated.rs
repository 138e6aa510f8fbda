//! The paths the emulator answers itself, which no stub may target. Stubs are only asked
//! after the emulated routes (so they cannot shadow one); a mapping aimed at an emulated
//! path would never answer, and is refused at load saying why.
//!
//! The rule: a `url` or `urlPath` whose path is an emulated one ([`surface_of`]) is
//! refused; a `urlPattern` or `urlPathPattern` that matches any of [`SAMPLES`] (one path of
//! every emulated route family) is refused.

use super::matchers::UrlMatcher;

/// One path of each emulated route family.
pub const SAMPLES: &[&str] = &[
    "/auth",
    "/auth/",
    "/sm/v1",
    "/sm/v1/scripts/search",
    "/sm/v1/scripts/1",
    "/sm/v1/scripts/1/execute",
    "/sm/v1/assets/jobs/1",
    "/sm/v2/script",
    "/sm/v3/script/1",
    "/qps/rest/portal/version",
    "/qps/rest/portal/version/",
    "/qps/rest/1.0/search/cm/alert",
    "/qps/rest/1.0/search/cm/alert/",
    "/qps/rest/1.0/get/cm/alert/1",
    "/qps/rest/1.0/download/cm/alert/",
    "/qps/xsd/1.0/cm/alert.xsd",
    "/msp/about.php",
    "/_mock",
    "/_mock/",
    "/_mock/health",
    "/_mock/stubs",
    "/_mock/reset",
];

/// The emulated API a path belongs to, if any.
pub fn surface_of(path: &str) -> Option<&'static str> {
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    if crate::http::Surface::of(path) == crate::http::Surface::Control {
        return Some("control API");
    }
    match segments.as_slice() {
        ["auth"] | ["auth", ""] => Some("CAR"),
        ["sm", "v1", ..] => Some("CAR"),
        ["sm", "v2" | "v3", "script"] | ["sm", "v2" | "v3", "script", _] => Some("CAR"),
        ["qps", "rest", "portal", ..] | ["qps", "xsd", ..] => Some("CM"),
        ["qps", "rest", _, _, "cm", ..] => Some("CM"),
        ["msp", "about.php"] => Some("classic"),
        _ => None,
    }
}

/// Why a mapping's URL key targets an emulated path, if it does.
pub fn refusal(url: &UrlMatcher) -> Option<String> {
    let exact = |path: &str, key: &str| {
        surface_of(path).map(|surface| {
            format!(
                "{key} {path} is an emulated {surface} path: stubs answer only paths the \
                 emulator does not"
            )
        })
    };
    match url {
        UrlMatcher::Any => Some(
            "a mapping without url, urlPath, urlPattern or urlPathPattern would match the \
             emulated paths: stubs answer only paths the emulator does not"
                .to_owned(),
        ),
        UrlMatcher::Url(url) => exact(url.split('?').next().unwrap_or(url), "url"),
        UrlMatcher::UrlPath(path) => exact(path, "urlPath"),
        UrlMatcher::UrlPattern(re) | UrlMatcher::UrlPathPattern(re) => {
            SAMPLES.iter().find(|s| re.is_match(s)).map(|sample| {
                format!(
                    "the pattern matches {sample}, an emulated {} path: stubs answer only \
                     paths the emulator does not",
                    surface_of(sample).unwrap_or("API")
                )
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_is_emulated_and_the_rest_of_qualys_is_not() {
        for sample in SAMPLES {
            assert!(surface_of(sample).is_some(), "{sample}");
        }
        for free in [
            "/api/2.0/fo/asset/host/vm/detection/",
            "/qps/rest/2.0/search/am/hostasset",
            "/qps/rest/3.0/search/was/webapp",
            "/msp/asset_group_list.php",
            "/csam/v2/get/assets",
            "/sm/v5/script",
            "/authx",
        ] {
            assert_eq!(surface_of(free), None, "{free}");
        }
    }
}
