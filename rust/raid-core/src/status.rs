// SPDX-License-Identifier: GPL-2.0

//! The `STATUSTYPE_INFO` line of `raid_status()` in `drivers/md/dm-raid.c`:
//!
//! ```text
//! <raid_type> <#devices> <health_chars> <sync_ratio> <sync_action> <mismatch_cnt> <data_offset> <journal_char>
//! ```
//!
//! * `<raid_type>`: md's name for the level and layout
//!   (`get_raid_type_by_ll()`): `raid1`, `raid10` (near), `raid10_far`,
//!   `raid10_offset`;
//! * `<health_chars>`: one per leg, in leg order ([`LegHealth`]): `A` alive
//!   and in sync, `a` alive but not in sync, `D` dead (failed), `-` no
//!   device (the table gave `- -` for the slot);
//! * `<sync_ratio>`: `<done>/<total>` sectors of the current or last sync
//!   action, `done` clamped to `total` as `rs_get_progress()` does;
//! * `<sync_action>`: [`SyncAction`];
//! * `<mismatch_cnt>`: discrepancies found by the last `check`;
//! * `<data_offset>`: where data starts on each leg;
//! * `<journal_char>`: always `-` (no journal for raid1/raid10).
//!
//! # Extension
//!
//! After those eight upstream fields this target appends exactly one field
//! per leg, in leg order, each `<corrected>:<uncorrectable>` in decimal (the
//! decayed counts of [`super::read_errors::LegErrors::current`]), space separated. A
//! 2-leg example:
//!
//! ```text
//! raid1 2 AA 1024/1024 idle 0 0 - 3:0 0:1
//! ```
//!
//! Tools that read dm-raid's fields by position still find them; the
//! extension starts at the ninth field. With no error counts given
//! ([`Status::errors`] empty) nothing is appended.

use super::layout::{Format, Layout};
use core::fmt;

/// A leg's health character.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LegHealth {
    /// `A`: alive and in sync.
    InSync,
    /// `a`: alive but not in sync (being rebuilt, or the array resyncs).
    NotInSync,
    /// `D`: dead / failed.
    Dead,
    /// `-`: no device in this slot.
    Missing,
}

impl LegHealth {
    /// The status character.
    pub fn as_char(self) -> char {
        match self {
            LegHealth::InSync => 'A',
            LegHealth::NotInSync => 'a',
            LegHealth::Dead => 'D',
            LegHealth::Missing => '-',
        }
    }
}

/// `__raid_dev_status()`: a leg's health from whether it has a device,
/// whether it failed, whether it is in sync, and whether the whole array
/// is resyncing (every live leg then shows `a`).
pub fn leg_health(present: bool, faulty: bool, in_sync: bool, array_resyncing: bool) -> LegHealth {
    if !present {
        LegHealth::Missing
    } else if faulty {
        LegHealth::Dead
    } else if array_resyncing || !in_sync {
        LegHealth::NotInSync
    } else {
        LegHealth::InSync
    }
}

/// dm-raid's `<sync_action>` (`sync_str()`), the ones raid1/raid10 without
/// reshape can be in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncAction {
    /// Nothing running.
    Idle,
    /// The current action is halted.
    Frozen,
    /// Initial or post-crash synchronisation.
    Resync,
    /// A leg is being rebuilt.
    Recover,
    /// A read-only consistency check.
    Check,
    /// A check that fixes what it finds.
    Repair,
}

impl SyncAction {
    /// The word in the status line.
    pub fn name(self) -> &'static str {
        match self {
            SyncAction::Idle => "idle",
            SyncAction::Frozen => "frozen",
            SyncAction::Resync => "resync",
            SyncAction::Recover => "recover",
            SyncAction::Check => "check",
            SyncAction::Repair => "repair",
        }
    }

    /// Parses a status word, in any case (as dm-raid's `message` takes
    /// them: `strcasecmp()`).
    pub fn parse(s: &str) -> Option<Self> {
        [
            SyncAction::Idle,
            SyncAction::Frozen,
            SyncAction::Resync,
            SyncAction::Recover,
            SyncAction::Check,
            SyncAction::Repair,
        ]
        .into_iter()
        .find(|a| a.name().eq_ignore_ascii_case(s))
    }
}

/// md's status name of a layout (`get_raid_type_by_ll()`).
pub fn raid_type_name(layout: &Layout) -> &'static str {
    if !layout.is_raid10() {
        return "raid1";
    }
    match layout.format() {
        Format::Near => "raid10",
        Format::Far => "raid10_far",
        Format::Offset => "raid10_offset",
    }
}

/// One `STATUSTYPE_INFO` line; [`fmt::Display`] writes it.
#[derive(Clone, Copy, Debug)]
pub struct Status<'a> {
    /// The array's layout (type name).
    pub layout: &'a Layout,
    /// One entry per leg.
    pub legs: &'a [LegHealth],
    /// Sectors done of the sync action.
    pub sync_done: u64,
    /// Sectors the sync action covers (`resync_max_sectors`).
    pub sync_total: u64,
    /// The sync action.
    pub action: SyncAction,
    /// Mismatches of the last check.
    pub mismatch_cnt: u64,
    /// Data offset on the legs.
    pub data_offset: u64,
    /// `(corrected, uncorrectable)` per leg for the extension; empty for
    /// none.
    pub errors: &'a [(u32, u32)],
}

impl fmt::Display for Status<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ", raid_type_name(self.layout), self.legs.len())?;
        for h in self.legs {
            write!(f, "{}", h.as_char())?;
        }
        write!(
            f,
            " {}/{} {} {} {} -",
            self.sync_done.min(self.sync_total),
            self.sync_total,
            self.action.name(),
            self.mismatch_cnt,
            self.data_offset
        )?;
        for (c, u) in self.errors {
            write!(f, " {c}:{u}")?;
        }
        Ok(())
    }
}
