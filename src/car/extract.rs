//! What every CAR handler gets before its own code runs, as structure rather than calls
//! each handler must remember:
//!
//! - [`engine::CatchUpFirst`](super::engine::CatchUpFirst), a route guard on every
//!   `/sm/v1` route: the job engine is brought up to the clock's "now" before the request
//!   is extracted or handled (schedules fire, asset jobs progress). A store error there
//!   answers the CAR error envelope. (The control router layers the same one, with its own
//!   error, on the routes that read CAR state.)
//! - [`CarJson`] reads a JSON body; its rejection is the CAR envelope's 400. On a route that
//!   declares its keys ([`accepts`](super::keys::accepts)), a key it does not take is
//!   dropped and noted for the journal entry — or, under `--strict`, refused.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::error::CarError;
use super::keys::Accepts;
use crate::state::AppState;
use crate::state::journal::IgnoredKeys;

/// A JSON request body deserialized into `T`. An empty body reads as `{}` (CAR clients
/// send none where every field is optional); anything that is not JSON, or not a JSON
/// object where `T` is one, is the CAR 400 envelope. No `Content-Type` is required:
/// clients of the gateway send all sorts.
#[derive(Debug, Clone)]
pub(crate) struct CarJson<T>(pub(crate) T);

impl<T: DeserializeOwned> CarJson<T> {
    /// Deserialize `bytes` as CAR does.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<CarJson<T>, CarError> {
        let first = bytes.iter().copied().find(|b| !b.is_ascii_whitespace());
        let text: &[u8] = if first.is_none() { b"{}" } else { bytes };
        serde_json::from_slice(text).map(CarJson).map_err(|e| {
            if e.is_syntax() || e.is_eof() {
                CarError::BadRequest(format!("Malformed JSON request body: {e}"))
            } else if first != Some(b'{') {
                // Not an object; but malformed JSON is the better answer when it is both.
                match serde_json::from_slice::<serde_json::Value>(text) {
                    Err(e) => CarError::BadRequest(format!("Malformed JSON request body: {e}")),
                    Ok(_) => {
                        CarError::BadRequest("The request body must be a JSON object".to_owned())
                    }
                }
            } else {
                // "invalid type: ... at line 1 column 15": say what, not where.
                let text = e.to_string();
                let what = text
                    .rfind(" at line ")
                    .map_or(text.as_str(), |i| &text[..i]);
                CarError::BadRequest(format!("Invalid request body: {what}"))
            }
        })
    }
}

impl<T: DeserializeOwned> FromRequest<AppState> for CarJson<T> {
    type Rejection = CarError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, CarError> {
        let accepts = request.extensions().get::<Accepts>().copied();
        let ignored = request.extensions().get::<IgnoredKeys>().cloned();
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|e| match e.status() {
                StatusCode::PAYLOAD_TOO_LARGE => CarError::TooLarge(e.body_text()),
                _ => CarError::BadRequest(format!("The request body could not be read: {e}")),
            })?;
        let Some(accepts) = accepts else {
            return CarJson::from_bytes(&bytes);
        };
        let CarJson(object) = CarJson::<JsonObject>::from_bytes(&bytes)?;
        let object = sift(object, &accepts, state.info.strict, ignored.as_ref())?;
        T::deserialize(serde_json::Value::Object(object))
            .map(CarJson)
            .map_err(|e| CarError::BadRequest(format!("Invalid request body: {e}")))
    }
}

/// The body with only the keys the route takes: any other is refused when `strict`, else
/// dropped and noted in `ignored`.
fn sift(
    object: JsonObject,
    accepts: &Accepts,
    strict: bool,
    ignored: Option<&IgnoredKeys>,
) -> Result<JsonObject, CarError> {
    if object.keys().all(|k| accepts.takes(k)) {
        return Ok(object);
    }
    let mut kept = JsonObject::new();
    for (key, value) in object {
        if accepts.takes(&key) {
            kept.insert(key, value);
        } else if strict {
            return Err(CarError::BadRequest(format!(
                "Unknown field '{key}' in the request body; accepted: {}",
                accepts.keys.join(", ")
            )));
        } else {
            tracing::debug!(%key, "ignored a key the endpoint does not take");
            if let Some(ignored) = ignored {
                ignored.note(&key);
            }
        }
    }
    Ok(kept)
}

/// A JSON object, as the body of the CAR endpoints whose fields accept more than one type
/// (numbers as numbers or strings, `sort` as a string or an array).
pub(crate) type JsonObject = serde_json::Map<String, serde_json::Value>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreError;
    use axum::response::IntoResponse;

    #[tokio::test]
    async fn a_store_error_while_catching_up_is_the_car_500_envelope() {
        let response = CarError::from(StoreError::Worker("it stopped".into())).into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            r#"{"errorCode":"500","message":"Internal server error","body":null}"#
        );
    }

    fn message(body: &str) -> String {
        match CarJson::<JsonObject>::from_bytes(body.as_bytes()) {
            Ok(CarJson(map)) => format!("ok {}", map.len()),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn bodies_and_rejections() {
        assert_eq!(message(""), "ok 0");
        assert_eq!(message(" \n"), "ok 0");
        assert_eq!(message(r#"{"a": 1}"#), "ok 1");
        assert_eq!(
            message("{"),
            "Malformed JSON request body: EOF while parsing an object at line 1 column 1"
        );
        assert_eq!(message("[]"), "The request body must be a JSON object");
        assert_eq!(message("null"), "The request body must be a JSON object");
        assert_eq!(
            message("[1,"),
            "Malformed JSON request body: EOF while parsing a value at line 1 column 3"
        );
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Typed {
            n: u8,
        }
        let e = CarJson::<Typed>::from_bytes(br#"{"n": "x"}"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"Invalid request body: invalid type: string "x", expected u8"#
        );
    }
}
