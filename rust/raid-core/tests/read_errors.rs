// SPDX-License-Identifier: GPL-2.0

//! Read-error decay against a model of md's `check_decay_read_errors()` /
//! `exceed_read_errors()`, and this target's policy on top.

use proptest::prelude::*;
use raid_core::{
    ErrorKind, FailReason, LegErrors, Limits, ReadErrors, Verdict, DEFAULT_MAX_READ_ERRORS,
};

/// md's rdev fields and the two functions, transliterated.
#[derive(Default)]
struct MdRdev {
    read_errors: u32,
    last_read_error: i64,
}

impl MdRdev {
    fn check_decay_read_errors(&mut self, cur_time_mon: i64) {
        let read_errors = self.read_errors;
        if self.last_read_error == 0 {
            self.last_read_error = cur_time_mon;
            return;
        }
        let hours_since_last = ((cur_time_mon - self.last_read_error) / 3600) as u64;
        self.last_read_error = cur_time_mon;
        if hours_since_last >= 8 * std::mem::size_of::<u32>() as u64 {
            self.read_errors = 0;
        } else {
            self.read_errors = read_errors >> hours_since_last;
        }
    }

    /// Returns (count, failed).
    fn exceed_read_errors(&mut self, now: i64, max_read_errors: u32) -> (u32, bool) {
        self.check_decay_read_errors(now);
        self.read_errors += 1;
        (self.read_errors, self.read_errors > max_read_errors)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn decay_matches_md(
        start in 0u64..100_000,
        gaps in proptest::collection::vec(
            prop_oneof![0u64..10, 0u64..7200, 3000u64..200_000, 100_000u64..200_000_000],
            1..200),
        max in 0u32..40,
    ) {
        let mut ours = ReadErrors::new();
        let mut md = MdRdev::default();
        let mut now = start;
        for g in gaps {
            now += g;
            let (md_count, md_failed) = md.exceed_read_errors(now as i64, max);
            let peek = ours.current(now);
            let count = ours.record(now);
            prop_assert_eq!(count, md_count);
            prop_assert_eq!(ours.exceeds(max), md_failed);
            // current() is what the next record decays from.
            prop_assert_eq!(peek + 1, count);
            prop_assert_eq!(ours.last_error(), md.last_read_error as u64);
        }
    }
}

#[test]
fn hand_checked_decay() {
    let mut e = ReadErrors::new();
    for _ in 0..8 {
        e.record(1000);
    }
    assert_eq!(e.count(), 8);
    assert_eq!(e.current(1000 + 3599), 8);
    assert_eq!(e.current(1000 + 3600), 4);
    assert_eq!(e.current(1000 + 2 * 3600), 2);
    assert_eq!(e.record(1000 + 2 * 3600 + 5), 3);
    assert_eq!(e.current(1000 + 2 * 3600 + 5 + 32 * 3600), 0);
    assert_eq!(e.current(1000 + 2 * 3600 + 5 + 31 * 3600), 0);
    // A clock going backwards decays nothing.
    assert_eq!(e.current(10), 3);
}

#[test]
fn md_threshold_is_strictly_above() {
    let mut e = ReadErrors::new();
    for i in 1..=DEFAULT_MAX_READ_ERRORS {
        assert_eq!(e.record(50), i);
        assert!(!e.exceeds(DEFAULT_MAX_READ_ERRORS));
    }
    e.record(50);
    assert!(e.exceeds(DEFAULT_MAX_READ_ERRORS));
}

#[test]
fn corrected_errors_alone_do_not_fail_until_the_burst_guard() {
    let limits = Limits::new(2);
    assert_eq!(limits.max_corrected, 16);
    let mut l = LegErrors::new();
    for _ in 0..16 {
        assert_eq!(l.record(ErrorKind::Corrected, 100, limits), Verdict::Keep);
    }
    assert_eq!(
        l.record(ErrorKind::Corrected, 100, limits),
        Verdict::Fail {
            reason: FailReason::CorrectedBurst { count: 17, max: 16 }
        }
    );
    assert_eq!(l.current(100), (17, 0));
    assert_eq!(l.totals(), (17, 0));
}

#[test]
fn corrected_errors_spread_over_time_never_fail() {
    let limits = Limits::new(2);
    let mut l = LegErrors::new();
    // One corrected error every two hours for months: each one finds the
    // count halved twice.
    for i in 1..1500u64 {
        assert_eq!(
            l.record(ErrorKind::Corrected, i * 7200, limits),
            Verdict::Keep
        );
        assert!(l.corrected().count() <= 2);
    }
    assert_eq!(l.totals().0, 1499);
}

#[test]
fn errors_less_than_an_hour_apart_never_decay() {
    // md decays by whole hours since the previous error only: a streak of
    // errors 59 minutes apart keeps adding up, and the burst guard trips.
    let limits = Limits::new(2);
    let mut l = LegErrors::new();
    for i in 1..=16u64 {
        assert_eq!(
            l.record(ErrorKind::Corrected, i * 3540, limits),
            Verdict::Keep
        );
    }
    assert!(matches!(
        l.record(ErrorKind::Corrected, 17 * 3540, limits),
        Verdict::Fail {
            reason: FailReason::CorrectedBurst { count: 17, .. }
        }
    ));
}

#[test]
fn uncorrectable_errors_fail_past_max_read_errors() {
    let limits = Limits::new(3);
    let mut l = LegErrors::new();
    for t in 1..=3 {
        assert_eq!(l.record(ErrorKind::Uncorrectable, t, limits), Verdict::Keep);
        // Corrected ones in between do not count towards it.
        assert_eq!(l.record(ErrorKind::Corrected, t, limits), Verdict::Keep);
    }
    assert_eq!(
        l.record(ErrorKind::Uncorrectable, 4, limits),
        Verdict::Fail {
            reason: FailReason::ReadErrors { count: 4, max: 3 }
        }
    );
    assert_eq!(l.current(4), (3, 4));
    assert_eq!(l.uncorrectable().count(), 4);
    assert_eq!(l.corrected().count(), 3);
}

#[test]
fn default_limits() {
    let d = Limits::default();
    assert_eq!(d.max_read_errors, 20);
    assert_eq!(d.max_corrected, 160);
    assert_eq!(Limits::new(u32::MAX).max_corrected, u32::MAX);
}
