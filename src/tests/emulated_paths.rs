//! The sample paths the stub loader refuses patterns against are paths the emulated routes
//! answer, so the rule tracks the router.

use axum::http::Method;

use super::app::TestApp;
use crate::stubs::emulated::SAMPLES;

/// No sample path reaches the 404 fallback, by GET or POST.
#[tokio::test]
async fn the_emulated_sample_paths_are_answered_by_emulated_routes() {
    let app = TestApp::new().await;
    for path in SAMPLES {
        for method in [Method::GET, Method::POST] {
            let r = app.request(method.clone(), path, &[], "").await;
            assert!(
                !r.text().contains("No resource at"),
                "{method} {path} reached the fallback: {}",
                r.text()
            );
        }
    }
}
