// SPDX-License-Identifier: GPL-2.0

//! Per-leg read-error accounting with md's hourly decay
//! (`check_decay_read_errors()` and `exceed_read_errors()` in
//! `drivers/md/raid1-10.c`).
//!
//! md keeps `rdev->read_errors` and `rdev->last_read_error` (seconds of the
//! monotonic clock, 0 meaning "never"). On a read error it first decays the
//! count: the very first error only stamps the time; later ones halve the
//! count once per whole hour since the previous error (reset to 0 after 32
//! hours or more, the width of the counter), stamp the time, and then
//! increment. The leg fails when the count after the increment exceeds
//! `max_read_errors` (md's `max_corr_read_errors`, default
//! [`DEFAULT_MAX_READ_ERRORS`]): "exceeded read_error threshold
//! [cur %d:max %d]". [`ReadErrors`] is exactly that, with the clock passed
//! in by the caller; a clock that goes backwards counts as no time elapsed
//! (md's signed division would reset the count instead).
//!
//! # Policy of this target
//!
//! md counts every read error towards failing the leg, even one whose
//! rewrite fixed the sector. This target counts only *uncorrectable* errors
//! (the rewrite or its verifying read failed) towards `max_read_errors`.
//! Corrected errors go to a second counter with the same decay that does
//! not fail a leg by itself, with one exception, the burst guard: when the
//! decayed corrected count exceeds `max_corrected` (by default
//! [`CORRECTED_BURST_FACTOR`] times `max_read_errors`), the leg fails too: a
//! disk that keeps needing rewrites is dying. As md's decay only counts
//! whole hours since the *previous* error, the "window" is a streak of
//! errors each less than an hour after the one before: such a streak never
//! decays, while errors two hours apart halve the count twice each time.
//! Both live in [`LegErrors`],
//! whose [`LegErrors::record`] returns a [`Verdict`].

/// md's `MD_DEFAULT_MAX_CORRECTED_READ_ERRORS`.
pub const DEFAULT_MAX_READ_ERRORS: u32 = 20;
/// The burst guard's default threshold is this many times
/// `max_read_errors`.
pub const CORRECTED_BURST_FACTOR: u32 = 8;
/// Seconds per decay step.
pub const DECAY_SECS: u64 = 3600;

/// One decaying error counter (md's `read_errors` / `last_read_error`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadErrors {
    count: u32,
    last: u64,
}

fn decayed(count: u32, last: u64, now: u64) -> u32 {
    if last == 0 {
        return count;
    }
    let hours = now.saturating_sub(last) / DECAY_SECS;
    if hours >= u64::from(u32::BITS) {
        0
    } else {
        count
            .checked_shr(u32::try_from(hours).unwrap_or(u32::MAX))
            .unwrap_or(0)
    }
}

impl ReadErrors {
    /// No errors seen.
    pub const fn new() -> Self {
        Self { count: 0, last: 0 }
    }

    /// Records an error at `now_secs` (monotonic seconds): decays as md
    /// does, stamps the time and increments. Returns the count after.
    pub fn record(&mut self, now_secs: u64) -> u32 {
        if self.last == 0 {
            self.last = now_secs;
        } else {
            self.count = decayed(self.count, self.last, now_secs);
            self.last = now_secs;
        }
        self.count = self.count.saturating_add(1);
        self.count
    }

    /// Whether the count (as last recorded) is above `max`.
    pub fn exceeds(&self, max: u32) -> bool {
        self.count > max
    }

    /// The count as of the last error, without decay.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The count the next error would decay from at `now_secs`, for status.
    pub fn current(&self, now_secs: u64) -> u32 {
        decayed(self.count, self.last, now_secs)
    }

    /// Time of the last error; 0 when none was seen.
    pub fn last_error(&self) -> u64 {
        self.last
    }
}

/// How a read error ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The sector was rewritten from another copy and read back fine.
    Corrected,
    /// The rewrite or the verifying read failed.
    Uncorrectable,
}

/// The thresholds a leg is held to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Uncorrectable errors allowed (the table's `max_read_errors`).
    pub max_read_errors: u32,
    /// Corrected errors allowed by the burst guard.
    pub max_corrected: u32,
}

impl Limits {
    /// `max_read_errors` with the default burst guard
    /// (`CORRECTED_BURST_FACTOR * max_read_errors`).
    pub fn new(max_read_errors: u32) -> Self {
        Self {
            max_read_errors,
            max_corrected: max_read_errors.saturating_mul(CORRECTED_BURST_FACTOR),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_READ_ERRORS)
    }
}

/// Why a leg is failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailReason {
    /// More uncorrectable errors than `max_read_errors`.
    ReadErrors {
        /// The count after the last error.
        count: u32,
        /// The threshold.
        max: u32,
    },
    /// More corrected errors than the burst guard allows.
    CorrectedBurst {
        /// The count after the last error.
        count: u32,
        /// The threshold.
        max: u32,
    },
}

/// What to do with a leg after an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The leg stays in the array.
    Keep,
    /// The leg must be failed.
    Fail {
        /// Which threshold was crossed.
        reason: FailReason,
    },
}

/// Both counters of a leg, with lifetime totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LegErrors {
    uncorrectable: ReadErrors,
    corrected: ReadErrors,
    total_uncorrectable: u64,
    total_corrected: u64,
}

impl LegErrors {
    /// No errors.
    pub const fn new() -> Self {
        Self {
            uncorrectable: ReadErrors::new(),
            corrected: ReadErrors::new(),
            total_uncorrectable: 0,
            total_corrected: 0,
        }
    }

    /// Records an error of `kind` at `now_secs` and judges the leg.
    pub fn record(&mut self, kind: ErrorKind, now_secs: u64, limits: Limits) -> Verdict {
        match kind {
            ErrorKind::Uncorrectable => {
                self.total_uncorrectable = self.total_uncorrectable.saturating_add(1);
                let count = self.uncorrectable.record(now_secs);
                if count > limits.max_read_errors {
                    return Verdict::Fail {
                        reason: FailReason::ReadErrors {
                            count,
                            max: limits.max_read_errors,
                        },
                    };
                }
            }
            ErrorKind::Corrected => {
                self.total_corrected = self.total_corrected.saturating_add(1);
                let count = self.corrected.record(now_secs);
                if count > limits.max_corrected {
                    return Verdict::Fail {
                        reason: FailReason::CorrectedBurst {
                            count,
                            max: limits.max_corrected,
                        },
                    };
                }
            }
        }
        Verdict::Keep
    }

    /// The decayed `(corrected, uncorrectable)` counts at `now_secs`: what
    /// the thresholds look at, as the status line reports them.
    pub fn current(&self, now_secs: u64) -> (u32, u32) {
        (
            self.corrected.current(now_secs),
            self.uncorrectable.current(now_secs),
        )
    }

    /// Lifetime `(corrected, uncorrectable)` totals, never decayed.
    pub fn totals(&self) -> (u64, u64) {
        (self.total_corrected, self.total_uncorrectable)
    }

    /// The uncorrectable counter.
    pub fn uncorrectable(&self) -> &ReadErrors {
        &self.uncorrectable
    }

    /// The corrected counter.
    pub fn corrected(&self) -> &ReadErrors {
        &self.corrected
    }
}
