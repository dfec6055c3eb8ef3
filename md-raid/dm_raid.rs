// SPDX-License-Identifier: GPL-2.0

//! A RAID1/RAID10 device-mapper target with md's read-error recovery, in
//! Rust. The table is dm-raid's (Documentation/admin-guide/device-mapper/
//! dm-raid.rst) restricted to `raid1` and `raid10` without metadata devices,
//! under the target name `raid_rs`, so it never collides with upstream's
//! `raid`; the status line is dm-raid's, with per-leg read-error counts
//! appended. See Documentation/md-raid.rst.
//!
//! The files follow md's split of the work: `legs` (the members and their
//! health: md's rdev flags, `enough()`, `read_balance()`), `raid_write`
//! (`raid1_write_request()` and its completion), `raid_read` (reads,
//! `handle_read_error()`, `fix_read_error()`), `raid_sync` (`md_do_sync()`:
//! rebuild, check, repair, resync), and this file (the target: table,
//! status, messages, events, suspend). The pure logic (mapping, decay, copy
//! choice, bad ranges, table and status text) is raid-core, shared with its
//! userspace tests.

// Target code is safe Rust: `unsafe` and FFI live in the rdm layer only.
#![deny(unsafe_code)]

use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};
use kernel::prelude::*;
use kernel::sync::{new_spinlock, SpinLock};
use kernel::time::{Instant, Monotonic};

#[path = "../rust/rdm/mod.rs"]
#[expect(
    unsafe_code,
    reason = "the rdm layer holds all of the crate's unsafe code"
)]
mod rdm;

#[path = "../rust/raid-core/src/lib.rs"]
// A userspace library API: `pub` items, crate attributes and docs that
// only apply where it is its own crate.
#[allow(
    unreachable_pub,
    unused_attributes,
    unused_imports,
    dead_code,
    missing_docs
)]
mod raid_core;

mod legs;
mod raid_read;
mod raid_sync;
mod raid_write;

use legs::{bit, Leg, LegHealth, Legs};
use raid_core::{leg_health, Limits, Mapping, RaidTable, RaidType, Status, SyncAction, SyncMode};
use raid_read::ReadCtx;
use raid_sync::{Scrub, ScrubKind, SyncCtl, DEFAULT_MAX_RATE};
use raid_write::{Span, WriteCtx, WriteSpans};
use rdm::{
    Bio, BlkStatus, ClonePool, CtrError, DelayedWork, DevIter, EndIo, EndingBio, IoInfo, Mapped,
    Op, Registration, StatusType, StatusWriter, SyncIo, Target, TargetCtx, TargetInfo,
};

module! {
    type: RaidModule,
    name: "dm_raid_rs",
    authors: ["The rust-dm authors"],
    description: "device-mapper RAID1/RAID10 target with md read-error recovery (Rust)",
    license: "GPL",
}

struct RaidModule {
    _target: Registration<Raid>,
}

impl kernel::Module for RaidModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        Ok(Self {
            _target: Registration::new(module)?,
        })
    }
}

/// What a bio keeps from `map` to `end_io`: a write's span of the array.
pub(crate) type PerIo = Option<Span>;

/// Counters for the `stats` message.
#[derive(Default)]
pub(crate) struct Stats {
    pub(crate) read_errors: AtomicU64,
    pub(crate) uncorrectable_reads: AtomicU64,
    pub(crate) write_errors: AtomicU64,
    pub(crate) repair_races: AtomicU64,
    pub(crate) legs_failed: AtomicU64,
}

/// One array.
#[pin_data]
pub(crate) struct Raid {
    pub(crate) legs: Legs,
    /// Read-error counts and bad ranges per leg; process context only.
    #[pin]
    pub(crate) health: SpinLock<KVec<LegHealth>>,
    /// Whether any leg has a bad range (reads skip the lock while not).
    pub(crate) has_bad: AtomicBool,
    pub(crate) spans: WriteSpans,
    pub(crate) reads: ClonePool<ReadCtx>,
    /// Copies of writes; a failed copy is handled in process context.
    pub(crate) writes: ClonePool<WriteCtx>,
    pub(crate) sync_io: SyncIo,
    /// Raises a dm event (process context) after a health change.
    pub(crate) event: DelayedWork,
    /// The background sync: its state, the generation of that state (a
    /// running piece stops when it moves), and the work that runs it.
    #[pin]
    pub(crate) sync: SpinLock<SyncCtl>,
    pub(crate) sync_gen: AtomicU64,
    pub(crate) sync_work: DelayedWork,
    /// The table's `max_recovery_rate` (KiB/s).
    pub(crate) max_rate: u32,
    pub(crate) limits: Limits,
    /// The table line as `dmsetup table` prints it.
    table: KVec<u8>,
    epoch: Instant<Monotonic>,
    /// Seconds added to the clock by the `clock_advance` message (tests of
    /// the error decay).
    clock_offset: AtomicU64,
    /// Milliseconds a repair waits between reading the good copy and
    /// writing it (the `repair_delay` message, for the race test).
    pub(crate) repair_delay_ms: AtomicU32,
    pub(crate) stats: Stats,
}

impl Raid {
    /// Monotonic seconds for the read-error decay, from 1 at creation (0
    /// means "no error yet" to the counters, as in md).
    pub(crate) fn now_secs(&self) -> u64 {
        let secs = u64::try_from(self.epoch.elapsed().as_millis() / 1000).unwrap_or(0);
        secs.saturating_add(self.clock_offset.load(Relaxed))
            .saturating_add(1)
    }

    /// A leg was failed: say so and raise an event (from process context).
    pub(crate) fn leg_failed(&self, leg: u32) {
        self.stats.legs_failed.fetch_add(1, Relaxed);
        pr_warn!("raid_rs: leg {leg} failed, the array goes on without it\n");
        self.event.schedule(0);
    }

    /// A write over `span` is about to go to the legs: bad ranges it covers
    /// are cleared (the write puts good data there, or fails the leg).
    pub(crate) fn clear_bad(&self, span: Span) {
        if !self.has_bad.load(Relaxed) {
            return;
        }
        let Some(copies) = self.legs.map.map(span.virt) else {
            return;
        };
        let mut health = self.health.lock();
        for c in copies.iter() {
            if let Some(h) = health.get_mut(c.leg as usize) {
                // Full: the range stays marked, reads avoid it a while.
                let _ = h.bad.clear(c.phys, span.sectors);
            }
        }
    }

    fn health_chars(&self, resyncing: bool) -> [raid_core::LegHealth; raid_core::MAX_LEGS] {
        let mut out = [raid_core::LegHealth::Missing; raid_core::MAX_LEGS];
        let faulty = self.legs.faulty.load(Relaxed);
        let in_sync = self.legs.in_sync();
        for (i, slot) in out.iter_mut().enumerate().take(self.legs.legs.len()) {
            let b = bit(i as u32);
            *slot = leg_health(
                self.legs.present & b != 0,
                faulty & b != 0,
                in_sync & b != 0,
                resyncing,
            );
        }
        out
    }

    fn leg_index(&self, arg: &str) -> Result<u32> {
        rdm::args::parse_u32(arg)
            .filter(|i| (*i as usize) < self.legs.legs.len())
            .ok_or(EINVAL)
    }
}

/// The table's devices opened, with the smallest leg's size.
fn open_legs(
    ti: &mut TargetCtx<'_, Raid>,
    table: &RaidTable<'_>,
) -> Result<(KVec<Leg>, u64, u64), CtrError> {
    let mut legs =
        KVec::with_capacity(table.legs().len(), GFP_KERNEL).map_err(|_| CtrError::oom())?;
    let mut present = 0;
    let mut leg_sectors = u64::MAX;
    for (i, path) in table.legs().iter().enumerate() {
        let dev = match path {
            Some(path) => {
                let dev = ti.get_device(path).map_err(|err| CtrError {
                    msg: c"Failed to get data device",
                    err,
                })?;
                leg_sectors = leg_sectors.min(dev.nr_sectors());
                present |= bit(i as u32);
                Some(dev)
            }
            None => None,
        };
        legs.push(
            Leg {
                dev,
                pending: AtomicU32::new(0),
                corrected: AtomicU64::new(0),
                uncorrectable: AtomicU64::new(0),
            },
            GFP_KERNEL,
        )
        .map_err(|_| CtrError::oom())?;
    }
    Ok((legs, present, leg_sectors))
}

/// The table line with each device as dm core names it (`major:minor`),
/// as dm-raid prints it.
fn table_line(args: &[&str], table: &RaidTable<'_>, legs: &[Leg]) -> Result<KVec<u8>, CtrError> {
    let first_dev = 3 + table.param_count() as usize;
    let mut named = KVec::with_capacity(args.len(), GFP_KERNEL).map_err(|_| CtrError::oom())?;
    for (i, a) in args.iter().enumerate() {
        let data_slot = i
            .checked_sub(first_dev)
            .filter(|k| k % 2 == 1)
            .map(|k| k / 2);
        let name = match data_slot
            .and_then(|s| legs.get(s))
            .and_then(|l| l.dev.as_ref())
        {
            Some(dev) => dev.name(),
            None => a,
        };
        named.push(name, GFP_KERNEL).map_err(|_| CtrError::oom())?;
    }
    let canonical = RaidTable::parse(&named).map_err(|e| CtrError {
        msg: e.c_message(),
        err: EINVAL,
    })?;
    let mut line = Line(KVec::new());
    write!(line, "{canonical}").map_err(|_| CtrError::oom())?;
    Ok(line.0)
}

/// A growing text buffer for `write!`.
struct Line(KVec<u8>);

impl Write for Line {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0
            .extend_from_slice(s.as_bytes(), GFP_KERNEL)
            .map_err(|_| core::fmt::Error)
    }
}

#[vtable]
impl Target for Raid {
    const NAME: &'static CStr = c"raid_rs";
    const VERSION: [u32; 3] = [0, 1, 0];
    type PerIo = PerIo;

    fn ctr(
        ti: &mut TargetCtx<'_, Self>,
        args: &[&str],
    ) -> Result<impl PinInit<Self, CtrError>, CtrError> {
        let table = RaidTable::parse(args).map_err(|e| CtrError {
            msg: e.c_message(),
            err: EINVAL,
        })?;
        let (legs, present, leg_sectors) = open_legs(ti, &table)?;
        let map = Mapping::new(table.layout(), leg_sectors).map_err(|e| CtrError {
            msg: e.c_message(),
            err: EINVAL,
        })?;
        if ti.info().len() > map.array_sectors() {
            return Err(CtrError {
                msg: c"Array size does not match requested target length",
                err: EINVAL,
            });
        }
        let line = table_line(args, &table, &legs)?;
        if table.raid_type() == RaidType::Raid10 {
            // A raid10 I/O must not cross a chunk: its copies sit elsewhere.
            ti.set_max_io_len(u64::from(table.chunk_sectors()))
                .map_err(|err| CtrError {
                    msg: c"Cannot set the chunk as the I/O limit",
                    err,
                })?;
        }
        let mut health =
            KVec::with_capacity(legs.len(), GFP_KERNEL).map_err(|_| CtrError::oom())?;
        for _ in 0..legs.len() {
            health
                .push(LegHealth::default(), GFP_KERNEL)
                .map_err(|_| CtrError::oom())?;
        }
        let oom = |_: Error| CtrError::oom();
        let reads = ti
            .clone_pool_recover(Self::read_done, Self::read_recover)
            .map_err(oom)?;
        let writes = ti
            .clone_pool_recover(Self::write_done, Self::write_recover)
            .map_err(oom)?;
        let sync_io = SyncIo::new().map_err(oom)?;
        let event = ti.delayed_work(|_, ti| ti.raise_event()).map_err(oom)?;
        let sync_work = ti.delayed_work(|raid, _| raid.sync_run()).map_err(oom)?;
        // Without metadata devices nothing says what is in sync: the table
        // says it (`rebuild`, `sync`), and the legs are taken as equal
        // otherwise, as dm-raid takes them for a new array.
        let scrub = (table.sync_mode() == Some(SyncMode::Sync)).then_some(Scrub {
            kind: ScrubKind::Resync,
            pos: 0,
        });
        let max_rate = match table.max_recovery_rate() {
            Some(0) | None => DEFAULT_MAX_RATE,
            Some(max) => max,
        };
        ti.set_num_flush_bios(1);
        ti.set_flush_supported();
        Ok(try_pin_init!(Self {
            legs: Legs {
                map,
                legs,
                present,
                faulty: AtomicU64::new(0),
                rebuilding: AtomicU64::new(table.rebuild_mask() & present),
                recovery_offset: AtomicU64::new(0),
                resync_at: AtomicU64::new(if scrub.is_some() { 0 } else { u64::MAX }),
                changes: AtomicU64::new(0),
            },
            health <- new_spinlock!(health),
            has_bad: AtomicBool::new(false),
            spans: WriteSpans::new(),
            reads,
            writes,
            sync_io,
            event,
            sync <- new_spinlock!(SyncCtl {
                scrub,
                last: scrub.map(|s| s.kind),
                ..SyncCtl::default()
            }),
            sync_gen: AtomicU64::new(0),
            sync_work,
            max_rate,
            limits: Limits::new(table.max_read_errors()),
            table: line,
            epoch: Instant::now(),
            clock_offset: AtomicU64::new(0),
            repair_delay_ms: AtomicU32::new(0),
            stats: Stats::default(),
        }? CtrError))
    }

    fn map<'a>(&'a self, ti: &IoInfo<'a>, bio: Bio<'a, PerIo>) -> Mapped<'a> {
        let virt = ti.offset(bio.sector());
        match bio.op() {
            Op::Read if bio.has_data() => self.read(bio, virt),
            Op::Write | Op::Flush => self.write(bio, virt),
            // Discards and write-zeroes are not enabled for this target.
            _ => bio.kill(),
        }
    }

    fn end_io(
        &self,
        _ti: &IoInfo<'_>,
        _bio: &EndingBio<'_>,
        span: PerIo,
        _status: &mut BlkStatus<'_>,
    ) -> EndIo {
        if let Some(span) = span {
            self.spans.end(span);
        }
        EndIo::Done
    }

    fn status(&self, _ti: &TargetInfo<'_>, ty: StatusType, out: &mut StatusWriter<'_>) {
        match ty {
            StatusType::Info => {
                let n = self.legs.legs.len();
                let (action, sync_done, sync_total, mismatch_cnt) = self.sync_status();
                let chars = self.health_chars(action == SyncAction::Resync);
                let now = self.now_secs();
                let mut errors = [(0u32, 0u32); raid_core::MAX_LEGS];
                {
                    let health = self.health.lock();
                    for (slot, h) in errors.iter_mut().zip(health.iter()) {
                        *slot = h.errors.current(now);
                    }
                }
                let status = Status {
                    layout: self.legs.map.layout(),
                    legs: chars.get(..n).unwrap_or(&[]),
                    sync_done,
                    sync_total,
                    action,
                    mismatch_cnt,
                    data_offset: 0,
                    errors: errors.get(..n).unwrap_or(&[]),
                };
                let _ = write!(out, "{status}");
            }
            StatusType::Table => {
                let _ = write!(out, "{}", core::str::from_utf8(&self.table).unwrap_or(""));
            }
            StatusType::Ima => {}
        }
    }

    fn message(&self, _ti: &TargetInfo<'_>, args: &[&str], out: &mut StatusWriter<'_>) -> Result {
        match args {
            [cmd, leg] if cmd.eq_ignore_ascii_case("fail") => {
                let leg = self.leg_index(leg)?;
                if !self.legs.fail(leg) {
                    pr_err!("raid_rs: leg {leg} not failed: gone already, or the last copy\n");
                    return Err(EINVAL);
                }
                self.leg_failed(leg);
                Ok(())
            }
            [cmd, leg] if cmd.eq_ignore_ascii_case("recover") => {
                // Only a failed leg: it is rebuilt from its first sector.
                let leg = self.leg_index(leg)?;
                if self.legs.faulty.load(Relaxed) & bit(leg) == 0 {
                    return Err(EINVAL);
                }
                if let Some(h) = self.health.lock().get_mut(leg as usize) {
                    *h = LegHealth::default();
                }
                self.recover_leg(leg)
            }
            [cmd, secs] if cmd.eq_ignore_ascii_case("clock_advance") => {
                let secs = rdm::args::parse_u64(secs).ok_or(EINVAL)?;
                self.clock_offset.fetch_add(secs, Relaxed);
                Ok(())
            }
            [cmd, ms] if cmd.eq_ignore_ascii_case("repair_delay") => {
                let ms = rdm::args::parse_u32(ms)
                    .filter(|ms| *ms <= 10_000)
                    .ok_or(EINVAL)?;
                self.repair_delay_ms.store(ms, Relaxed);
                Ok(())
            }
            [cmd] if cmd.eq_ignore_ascii_case("stats") => {
                let s = &self.stats;
                let _ = write!(
                    out,
                    "read_errors {} uncorrectable_reads {} write_errors {} repair_races {} legs_failed {} mismatches {}",
                    s.read_errors.load(Relaxed),
                    s.uncorrectable_reads.load(Relaxed),
                    s.write_errors.load(Relaxed),
                    s.repair_races.load(Relaxed),
                    s.legs_failed.load(Relaxed),
                    self.sync.lock().mismatches,
                );
                let health = self.health.lock();
                for (i, (h, leg)) in health.iter().zip(self.legs.legs.iter()).enumerate() {
                    let _ = write!(
                        out,
                        " leg{i} {}:{}:{}",
                        leg.corrected.load(Relaxed),
                        leg.uncorrectable.load(Relaxed),
                        h.bad.len()
                    );
                }
                Ok(())
            }
            [cmd] => match SyncAction::parse(cmd) {
                Some(SyncAction::Check) => self.start_scrub(ScrubKind::Check),
                Some(SyncAction::Repair) => self.start_scrub(ScrubKind::Repair),
                Some(SyncAction::Resync) => self.start_scrub(ScrubKind::Resync),
                Some(SyncAction::Idle) => self.sync_idle(),
                Some(SyncAction::Frozen) => self.sync_freeze(),
                // A rebuild starts by itself; `recover <leg>` names one.
                Some(SyncAction::Recover) | None => Err(EINVAL),
            },
            _ => Err(EINVAL),
        }
    }

    fn presuspend(&self, _ti: &TargetInfo<'_>) {
        // The sync stops at the end of its piece (md stops its sync thread
        // for a suspend too) ...
        let _ = self.sync_control(|ctl| {
            ctl.suspended = true;
            Ok(())
        });
    }

    fn postsuspend(&self, _ti: &TargetInfo<'_>) {
        // ... and nothing of it is in flight on the legs once suspended.
        self.sync_work.cancel_sync();
    }

    fn presuspend_undo(&self, ti: &TargetInfo<'_>) {
        self.resume(ti);
    }

    fn resume(&self, _ti: &TargetInfo<'_>) {
        // Goes on from where it stopped.
        let _ = self.sync_control(|ctl| {
            ctl.suspended = false;
            Ok(())
        });
    }

    fn iterate_devices(&self, _ti: &TargetInfo<'_>, it: &mut DevIter<'_>) -> i32 {
        let len = self.legs.map.dev_sectors();
        for leg in self.legs.legs.iter() {
            if let Some(dev) = &leg.dev {
                let r = it.visit(dev, 0, len);
                if r != 0 {
                    return r;
                }
            }
        }
        0
    }
}
