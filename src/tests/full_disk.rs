//! A full disk on each surface: the store's one refusal, in each surface's own format.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::car::error::{CarError, FULL_DISK};
use crate::store::StoreError;

async fn json(response: Response) -> serde_json::Value {
    let body = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .unwrap();
    serde_json::from_slice(&body).unwrap()
}

/// A write the store refused for a full disk is a 503 in each surface's own format (a
/// CM error renders as a ServiceResponse in the request's format, like every other).
#[tokio::test]
async fn a_full_disk_answers_503_in_each_surfaces_format() {
    let car = CarError::from(StoreError::Full).into_response();
    assert_eq!(car.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        json(car).await,
        serde_json::json!({"errorCode": "503", "message": FULL_DISK, "body": null})
    );

    let cm = crate::cm::error::CmError::from(StoreError::Full);
    assert_eq!(cm.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(cm.code, "INTERNAL_ERROR");
    assert_eq!(cm.message, FULL_DISK);

    let control = crate::control::ops::ControlError::Store(StoreError::Full).into_response();
    assert_eq!(control.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = json(control).await;
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("disk that holds the store is full"),
        "{body}"
    );
}
