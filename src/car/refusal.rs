//! The CAR answer to each business refusal the store gives (a taken title, a limit
//! reached, a script that may not run, targets that reach nothing): status and wording.

use super::error::{CarError, RateLimit};
use crate::store::car::Refusal;

/// `1, 2, 3`
fn listed(ids: &[i64]) -> String {
    ids.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A wait in milliseconds as whole seconds, rounded up (never negative).
fn seconds(ms: i64) -> u64 {
    (ms.max(0) as u64).div_ceil(1000)
}

impl From<Refusal> for CarError {
    fn from(r: Refusal) -> CarError {
        match r {
            Refusal::ScriptNotFound(key) => CarError::NotFound(format!("Script not found: {key}")),
            Refusal::ScheduleNotFound(id) => {
                CarError::NotFound(format!("Scheduler with id {id} not found"))
            }
            Refusal::CommentRequired => CarError::BadRequest(
                "comment is required when the script content changes (the consent comment)".into(),
            ),
            Refusal::Duplicate(title) => CarError::Conflict(format!(
                "Script with the same title already exists: {title}"
            )),
            Refusal::ScriptLimit(limit) => CarError::TooManyRequests {
                message: format!("Maximum script creation limit ({limit}) is reached"),
                limit: RateLimit {
                    limit,
                    window_s: 0,
                    remaining: 0,
                    // A client that honours it waits an hour, not a hot loop.
                    retry_after_s: 3600,
                },
            },
            Refusal::TooSoon { retry_after_ms } => {
                let secs = seconds(retry_after_ms);
                CarError::TooManyRequests {
                    message: format!(
                        "Only one execution of a script is allowed within the configured interval; retry in {secs} seconds"
                    ),
                    limit: RateLimit {
                        limit: 1,
                        window_s: secs,
                        remaining: 0,
                        retry_after_s: secs,
                    },
                }
            }
            Refusal::DailyLimit {
                limit,
                retry_after_ms,
            } => CarError::TooManyRequests {
                message: format!("Maximum of {limit} executions per day is reached"),
                limit: RateLimit {
                    limit,
                    window_s: 86_400,
                    remaining: 0,
                    retry_after_s: seconds(retry_after_ms),
                },
            },
            Refusal::CloneOfStatus(status) => CarError::BadRequest(format!(
                "Cannot clone a {} script",
                status.to_ascii_lowercase()
            )),
            Refusal::Deprecated => CarError::BadRequest("Script is deprecated".into()),
            Refusal::NotApproved(status) => CarError::BadRequest(format!(
                "Script is not approved (status {status}); only approved scripts can be executed"
            )),
            Refusal::AssetsNotFound(ids) => {
                CarError::BadRequest(format!("Asset(s) not found: {}", listed(&ids)))
            }
            Refusal::TagsNotFound(ids) => {
                CarError::BadRequest(format!("Asset tag(s) not found: {}", listed(&ids)))
            }
            Refusal::NoTargets => CarError::BadRequest(
                "No assets to execute the script on: the given assets and tags reach none, \
                 or all are excluded"
                    .into(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;

    fn answer(r: Refusal) -> (StatusCode, String) {
        let e = CarError::from(r);
        (e.status(), e.to_string())
    }

    #[test]
    fn each_refusal_has_its_status_and_wording() {
        let cases = [
            (
                Refusal::ScriptNotFound("72648".into()),
                StatusCode::NOT_FOUND,
                "Script not found: 72648",
            ),
            (
                Refusal::Duplicate("Disk check".into()),
                StatusCode::CONFLICT,
                "Script with the same title already exists: Disk check",
            ),
            (
                Refusal::ScriptLimit(500),
                StatusCode::TOO_MANY_REQUESTS,
                "Maximum script creation limit (500) is reached",
            ),
            (
                Refusal::TooSoon {
                    retry_after_ms: 30_001,
                },
                StatusCode::TOO_MANY_REQUESTS,
                "Only one execution of a script is allowed within the configured interval; \
                 retry in 31 seconds",
            ),
            (
                Refusal::DailyLimit {
                    limit: 100,
                    retry_after_ms: 5,
                },
                StatusCode::TOO_MANY_REQUESTS,
                "Maximum of 100 executions per day is reached",
            ),
            (
                Refusal::CloneOfStatus("DEPRECATED".into()),
                StatusCode::BAD_REQUEST,
                "Cannot clone a deprecated script",
            ),
            (
                Refusal::Deprecated,
                StatusCode::BAD_REQUEST,
                "Script is deprecated",
            ),
            (
                Refusal::NotApproved("PENDING_REVIEW".into()),
                StatusCode::BAD_REQUEST,
                "Script is not approved (status PENDING_REVIEW); only approved scripts can be \
                 executed",
            ),
            (
                Refusal::AssetsNotFound(vec![1, 22]),
                StatusCode::BAD_REQUEST,
                "Asset(s) not found: 1, 22",
            ),
            (
                Refusal::TagsNotFound(vec![7]),
                StatusCode::BAD_REQUEST,
                "Asset tag(s) not found: 7",
            ),
            (
                Refusal::NoTargets,
                StatusCode::BAD_REQUEST,
                "No assets to execute the script on: the given assets and tags reach none, or \
                 all are excluded",
            ),
        ];
        for (refusal, status, message) in cases {
            assert_eq!(answer(refusal), (status, message.to_owned()));
        }
    }

    #[test]
    fn waits_round_up_to_whole_seconds_and_never_go_negative() {
        let limit = |r| match CarError::from(r) {
            CarError::TooManyRequests { limit, .. } => limit,
            other => panic!("{other:?}"),
        };
        let soon = limit(Refusal::TooSoon {
            retry_after_ms: 1_000,
        });
        assert_eq!((soon.limit, soon.window_s, soon.retry_after_s), (1, 1, 1));
        let daily = limit(Refusal::DailyLimit {
            limit: 3,
            retry_after_ms: -20,
        });
        assert_eq!((daily.window_s, daily.retry_after_s), (86_400, 0));
    }
}
