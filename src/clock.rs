//! The one source of "now".
//!
//! Everything that depends on time — token expiry, job progress, schedule firing, the
//! execute interval — asks a [`Clock`]. Nothing else in the crate reads the system clock, so
//! tests and the control API can freeze, set and advance time instead of sleeping.

use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;

/// A cheap, cloneable handle on the shared clock.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    inner: Arc<RwLock<Mode>>,
    /// How it was made: what [`Clock::restore`] goes back to.
    start: Mode,
}

/// The earliest time the control API may set: 1970-01-01T00:00:00.000Z.
pub const MIN_MS: i64 = 0;
/// The latest time the control API may set: 9999-12-31T23:59:59.999Z (four-digit years,
/// which every date format the APIs write can carry).
pub const MAX_MS: i64 = 253_402_300_799_999;

/// Whether `ms` lies within [`MIN_MS`]..=[`MAX_MS`].
pub fn in_range(ms: i64) -> bool {
    (MIN_MS..=MAX_MS).contains(&ms)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Wall-clock time shifted by `offset_ms` (0 unless time was set or advanced).
    Running { offset_ms: i64 },
    /// Time stands still at `at_ms` until set, advanced or resumed.
    Frozen { at_ms: i64 },
}

impl Default for Mode {
    fn default() -> Self {
        Mode::Running { offset_ms: 0 }
    }
}

/// What [`Clock::state`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClockState {
    /// Now, in epoch milliseconds.
    pub now_ms: i64,
    /// Whether time stands still.
    pub frozen: bool,
    /// How far the clock is from the system clock, in milliseconds.
    pub offset_ms: i64,
}

fn system_ms() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

impl Clock {
    /// A clock that follows the system clock.
    pub fn real() -> Self {
        Self::default()
    }

    /// A clock frozen at `at_ms` (epoch milliseconds).
    pub fn frozen_at(at_ms: i64) -> Self {
        let start = Mode::Frozen { at_ms };
        Self {
            inner: Arc::new(RwLock::new(start)),
            start,
        }
    }

    /// Move the clock to `at_ms` and make that where it starts: a reset's [`Clock::restore`]
    /// comes back here (running on from `at_ms` if the clock runs).
    pub fn start_at(&mut self, at_ms: i64) {
        self.set(at_ms);
        self.start = self.mode();
    }

    /// Back to how it was made: real time, or frozen where it was frozen.
    pub fn restore(&self) {
        self.set_mode(self.start);
    }

    /// Jump to the system clock's time, keeping the clock frozen or running as it was: a
    /// running clock is then real time again (offset 0).
    pub fn set_to_system_time(&self) {
        match self.mode() {
            Mode::Frozen { .. } => self.set_mode(Mode::Frozen { at_ms: system_ms() }),
            Mode::Running { .. } => self.set_mode(Mode::Running { offset_ms: 0 }),
        }
    }

    /// The system clock's time (epoch ms), which a running clock's offset is from.
    pub fn system_ms(&self) -> i64 {
        system_ms()
    }

    fn mode(&self) -> Mode {
        *self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn set_mode(&self, mode: Mode) {
        *self.inner.write().unwrap_or_else(|e| e.into_inner()) = mode;
    }

    /// Now, in epoch milliseconds.
    pub fn now_ms(&self) -> i64 {
        match self.mode() {
            Mode::Running { offset_ms } => system_ms().saturating_add(offset_ms),
            Mode::Frozen { at_ms } => at_ms,
        }
    }

    /// Now, in epoch seconds.
    pub fn now_s(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Now, as a UTC date-time.
    pub fn now(&self) -> OffsetDateTime {
        crate::dates::from_ms(self.now_ms())
    }

    /// Stop time where it is.
    pub fn freeze(&self) {
        let now = self.now_ms();
        self.set_mode(Mode::Frozen { at_ms: now });
    }

    /// Let time run again from where it stands.
    pub fn resume(&self) {
        let now = self.now_ms();
        self.set_mode(Mode::Running {
            offset_ms: now.saturating_sub(system_ms()),
        });
    }

    /// Jump to `at_ms`, keeping the clock frozen or running as it was.
    pub fn set(&self, at_ms: i64) {
        match self.mode() {
            Mode::Frozen { .. } => self.set_mode(Mode::Frozen { at_ms }),
            Mode::Running { .. } => self.set_mode(Mode::Running {
                offset_ms: at_ms.saturating_sub(system_ms()),
            }),
        }
    }

    /// Move time forward (or back, with a negative amount) by `by_ms`.
    pub fn advance(&self, by_ms: i64) {
        let mut guard = self.inner.write().unwrap_or_else(|e| e.into_inner());
        *guard = match *guard {
            Mode::Frozen { at_ms } => Mode::Frozen {
                at_ms: at_ms.saturating_add(by_ms),
            },
            Mode::Running { offset_ms } => Mode::Running {
                offset_ms: offset_ms.saturating_add(by_ms),
            },
        };
    }

    /// Now as an ISO 8601 date-time in UTC (`2026-11-25T18:30:00.123Z`).
    pub fn now_iso(&self) -> String {
        crate::dates::rfc3339(self.now())
    }

    /// A snapshot for the control API.
    pub fn state(&self) -> ClockState {
        let now_ms = self.now_ms();
        ClockState {
            now_ms,
            frozen: matches!(self.mode(), Mode::Frozen { .. }),
            offset_ms: now_ms.saturating_sub(system_ms()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frozen_clock_moves_only_when_told() {
        let clock = Clock::frozen_at(1_000);
        assert_eq!(clock.now_ms(), 1_000);
        clock.advance(500);
        assert_eq!(clock.now_ms(), 1_500);
        clock.set(10_000);
        assert_eq!(clock.now_ms(), 10_000);
        assert!(clock.state().frozen);
    }

    #[test]
    fn running_clock_keeps_its_offset() {
        let clock = Clock::real();
        clock.advance(3_600_000);
        let ahead = clock.now_ms() - system_ms();
        assert!((3_599_000..=3_601_000).contains(&ahead), "{ahead}");
        clock.freeze();
        let frozen = clock.now_ms();
        clock.resume();
        assert!(clock.now_ms() >= frozen);
        assert!(!clock.state().frozen);
    }

    /// The control API can move the clock anywhere in i64: nothing overflows (a debug
    /// build panicked in `state` and `resume`, which dropped the connection).
    #[test]
    fn extreme_times_saturate() {
        let clock = Clock::frozen_at(i64::MIN + 1);
        assert_eq!(clock.state().offset_ms, i64::MIN);
        clock.resume();
        assert_eq!(clock.state().offset_ms, i64::MIN);
        clock.set(i64::MIN);
        clock.advance(i64::MIN);
        // Running: the offset saturates, now is the system time past it.
        assert_eq!(clock.state().offset_ms, i64::MIN);
        assert!(clock.now_ms() < i64::MIN / 2);
        clock.set(i64::MAX);
        clock.advance(i64::MAX);
        clock.freeze();
        assert_eq!(clock.state().now_ms, i64::MAX);
        assert!(clock.now_iso().starts_with("1970"), "{}", clock.now_iso());
    }

    #[test]
    fn restore_goes_back_to_how_the_clock_was_made() {
        let frozen = Clock::frozen_at(5_000);
        frozen.resume();
        frozen.advance(3_600_000);
        frozen.restore();
        assert_eq!(frozen.state().now_ms, 5_000);
        assert!(frozen.state().frozen);
        let real = Clock::real();
        real.freeze();
        real.set(1_000);
        real.restore();
        assert!(!real.state().frozen);
        assert!(real.state().offset_ms.abs() < 1_000);
    }

    #[test]
    fn system_time_keeps_the_mode() {
        let clock = Clock::real();
        clock.advance(-86_400_000);
        clock.set_to_system_time();
        assert_eq!(clock.mode(), Mode::Running { offset_ms: 0 });
        let frozen = Clock::frozen_at(0);
        frozen.set_to_system_time();
        assert!(frozen.state().frozen);
        assert!(frozen.now_ms() > 1_600_000_000_000);
    }

    #[test]
    fn the_range_is_four_digit_years() {
        assert!(in_range(0) && in_range(MAX_MS));
        assert!(!in_range(-1) && !in_range(MAX_MS + 1));
        assert_eq!(crate::dates::iso_ms(MAX_MS), "9999-12-31T23:59:59.999Z");
    }

    #[test]
    fn clones_share_time() {
        let a = Clock::frozen_at(0);
        let b = a.clone();
        a.advance(42);
        assert_eq!(b.now_ms(), 42);
    }
}
