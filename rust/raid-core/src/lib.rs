// SPDX-License-Identifier: GPL-2.0

//! The pure logic of the device-mapper RAID1/RAID10 target, modelled on
//! Linux 7.2 md (`drivers/md/raid1.c`, `raid10.c`, `raid1-10.c`,
//! `block/badblocks.c`) and dm-raid (`drivers/md/dm-raid.c`,
//! `Documentation/admin-guide/device-mapper/dm-raid.rst`):
//!
//! * [`layout`]: raid1 and raid10 near / far / offset geometry, the array
//!   size md gives legs of a size, virtual to (leg, sector) for every copy
//!   and back, and where I/O is split;
//! * [`read_errors`]: md's decaying per-leg read-error counter, and this
//!   target's policy of counting only uncorrectable errors (with a burst
//!   guard on corrected ones);
//! * [`balance`]: which copy a read goes to;
//! * [`badblocks`]: a leg's bad sector ranges in a fixed-capacity table;
//! * [`table`]: the dm-raid table line restricted to raid1/raid10 without
//!   metadata devices, parsed and printed back;
//! * [`status`]: dm-raid's `STATUSTYPE_INFO` line, with this target's
//!   per-leg error counts appended.
//!
//! Units are 512-byte sectors (`u64`); legs are indexed from 0. Limits:
//! [`MAX_LEGS`] legs, [`MAX_COPIES`] raid10 copies.
//!
//! Pure `core` code: no allocation (fixed capacities are const-generic
//! arrays), no `unsafe`, no panics, no clock (callers pass monotonic
//! seconds). The kernel module includes these very files with
//! `#[path = "../rust/raid-core/src/lib.rs"] mod raid_core;`.

#![no_std]
#![forbid(unsafe_code)]

pub mod badblocks;
pub mod balance;
pub mod layout;
pub mod read_errors;
pub mod status;
pub mod table;

pub use badblocks::{BadRange, BadRanges, Full, MD_BADBLOCKS_PER_PAGE};
pub use balance::{choose, Candidate, LegState};
pub use layout::{
    Copies, FarRotation, Format, Layout, LayoutError, LegSector, Mapping, MAX_COPIES, MAX_LEGS,
    MIN_CHUNK_SECTORS,
};
pub use read_errors::{
    ErrorKind, FailReason, LegErrors, Limits, ReadErrors, Verdict, CORRECTED_BURST_FACTOR,
    DEFAULT_MAX_READ_ERRORS,
};
pub use status::{leg_health, LegHealth, Status, SyncAction};
pub use table::{RaidTable, RaidType, SyncMode, TableError};
