// SPDX-License-Identifier: GPL-2.0

//! Background sync (upstream: `md_do_sync()` and raid1/raid10's
//! `sync_request()`): rebuilding legs (md's recovery), and scrubbing the
//! copies against each other (`check`, `repair`, `resync`).
//!
//! One work item of the target runs it, a piece at a time: at most 1 MiB,
//! never across a raid10 chunk. A rebuild walks the legs' sectors (md's
//! `recovery_offset`, shared by every leg being rebuilt); a scrub walks the
//! array. Each piece is copied or compared the way a read-error repair is
//! (`Raid::copy_leg`): once no write over it is in flight, and again if a
//! write of it started meanwhile. Writes are never held back for the sync,
//! so the sync cannot wait on I/O that waits on it (md's `raise_barrier()`
//! does hold writes back). A span written without pause delays the sync,
//! never the writes.
//!
//! The sync stops at `presuspend` (and `postsuspend` waits for the piece in
//! progress) and goes on from where it was at `resume`; `frozen` stops it
//! until `idle` or a new action. Its pace follows md's rule with dm-raid's
//! `max_recovery_rate`: above it, the sync pauses.

use crate::legs::bit;
use crate::raid_core::{ErrorKind, SyncAction};
use crate::raid_read::{pieces, Copied, Quiet, Verify, BLOCK_SECTORS};
use crate::raid_write::Span;
use crate::rdm::{noio, IoBuf, IoOp, IO_MAX_BYTES, SECTOR_SHIFT};
use crate::Raid;
use core::sync::atomic::Ordering::{Relaxed, SeqCst};
use kernel::prelude::*;
use kernel::time::{delay::fsleep, Delta, Instant, Monotonic};

/// A piece of a sync: the most one synchronous I/O carries (1 MiB), cut
/// at raid10 chunk edges.
const PIECE_SECTORS: u64 = (IO_MAX_BYTES >> SECTOR_SHIFT) as u64;

/// md's default `sync_speed_max`, in KiB/s.
pub(crate) const DEFAULT_MAX_RATE: u32 = 200_000;

/// A scrub of the whole array.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScrubKind {
    /// Makes the copies equal, counting nothing (the table's `sync`, the
    /// `resync` message).
    Resync,
    /// Counts the sectors where copies differ (`mismatch_cnt`).
    Check,
    /// Counts them and copies the first readable copy over the others.
    Repair,
}

impl ScrubKind {
    /// The action dm-raid's status names.
    pub(crate) fn action(self) -> SyncAction {
        match self {
            ScrubKind::Resync => SyncAction::Resync,
            ScrubKind::Check => SyncAction::Check,
            ScrubKind::Repair => SyncAction::Repair,
        }
    }
}

#[derive(Clone, Copy)]
pub(crate) struct Scrub {
    pub(crate) kind: ScrubKind,
    /// The array sector it has reached.
    pub(crate) pos: u64,
}

/// The sync's state, under `Raid::sync`. Every change bumps
/// `Raid::sync_gen`, which a running piece watches to stop early.
#[derive(Default)]
pub(crate) struct SyncCtl {
    pub(crate) scrub: Option<Scrub>,
    /// The kind of the last scrub started (dm-raid shows `mismatch_cnt`
    /// after a check only).
    pub(crate) last: Option<ScrubKind>,
    pub(crate) frozen: bool,
    pub(crate) suspended: bool,
    /// Sectors found different by the last check or repair (md's
    /// `mismatch_cnt`).
    pub(crate) mismatches: u64,
}

/// What the work does next.
enum Job {
    /// Rebuild `legs` at their sector `at`.
    Rebuild {
        legs: u64,
        at: u64,
    },
    Scrub(Scrub),
}

/// md's pacing (`md_do_sync()`): over a window of a few seconds, a sync
/// faster than `max` KiB/s pauses. (md also waits, when the array is busy,
/// for its own sync I/O in flight; this sync has none in flight between
/// pieces.)
struct Pace {
    max: u64,
    since: Instant<Monotonic>,
    kib: u64,
}

/// The pacing window (md's `SYNC_MARK_STEP` is 3 s).
const PACE_WINDOW_MS: i64 = 3_000;

impl Pace {
    fn rate(&self) -> u64 {
        let ms = u64::try_from(self.since.elapsed().as_millis()).unwrap_or(0);
        self.kib.saturating_mul(1000) / ms.max(1)
    }
}

/// What a scrub of a range found and did.
#[derive(Default)]
struct Scrubbed {
    /// Sectors where copies differed.
    mismatches: u64,
}

impl Raid {
    /// Changes the sync's state and wakes the work to act on it.
    pub(crate) fn sync_control<R>(
        &self,
        change: impl FnOnce(&mut SyncCtl) -> Result<R>,
    ) -> Result<R> {
        let r = {
            let mut ctl = self.sync.lock();
            let r = change(&mut ctl)?;
            self.sync_gen.fetch_add(1, SeqCst);
            r
        };
        self.sync_work.schedule(0);
        Ok(r)
    }

    /// [`Self::sync_control`] for a message: `EBUSY` while the device is
    /// suspended (dm-raid refuses its messages then).
    fn sync_message(&self, change: impl FnOnce(&mut SyncCtl) -> Result) -> Result {
        self.sync_control(|ctl| {
            if ctl.suspended {
                return Err(EBUSY);
            }
            change(ctl)
        })
    }

    /// Starts a scrub (the `check`, `repair`, `resync` messages) as md's
    /// `action_store()` does: a frozen sync thaws; `EBUSY` while another
    /// sync action runs.
    pub(crate) fn start_scrub(&self, kind: ScrubKind) -> Result {
        self.sync_message(|ctl| {
            if ctl.scrub.is_some() || self.rebuild_legs() != 0 {
                return Err(EBUSY);
            }
            ctl.frozen = false;
            ctl.scrub = Some(Scrub { kind, pos: 0 });
            ctl.last = Some(kind);
            ctl.mismatches = 0;
            if kind == ScrubKind::Resync {
                self.legs.resync_at.store(0, SeqCst);
            }
            Ok(())
        })
    }

    /// Ends a running scrub (`idle`, or its end).
    fn end_scrub(&self, ctl: &mut SyncCtl) {
        ctl.scrub = None;
        self.legs.resync_at.store(u64::MAX, SeqCst);
    }

    /// `idle`: a check, repair or resync ends, a frozen sync thaws; a
    /// rebuild goes on (md starts it again at once).
    pub(crate) fn sync_idle(&self) -> Result {
        self.sync_message(|ctl| {
            ctl.frozen = false;
            self.end_scrub(ctl);
            Ok(())
        })
    }

    /// `frozen`: every sync action stops until `idle` or a new one.
    pub(crate) fn sync_freeze(&self) -> Result {
        self.sync_message(|ctl| {
            ctl.frozen = true;
            Ok(())
        })
    }

    /// Takes the failed `leg` back and rebuilds it (the `recover` message).
    pub(crate) fn recover_leg(&self, leg: u32) -> Result {
        self.sync_message(|_| {
            // Under the sync lock: the work moves the shared offset under
            // it too, so it never moves it past a piece this leg missed.
            if !self.legs.start_rebuild(leg) {
                return Err(EINVAL);
            }
            Ok(())
        })?;
        self.event.schedule(0);
        Ok(())
    }

    /// Legs being rebuilt that still can be (not failed meanwhile).
    pub(crate) fn rebuild_legs(&self) -> u64 {
        self.legs.rebuilding.load(SeqCst) & self.legs.usable()
    }

    /// The sync action, its progress (done, total sectors) and the
    /// mismatch count, as dm-raid reports them.
    pub(crate) fn sync_status(&self) -> (SyncAction, u64, u64, u64) {
        let ctl = self.sync.lock();
        let array = self.legs.map.array_sectors();
        let rebuilding = self.rebuild_legs() != 0;
        let action = if ctl.frozen {
            SyncAction::Frozen
        } else if rebuilding {
            SyncAction::Recover
        } else {
            ctl.scrub.map_or(SyncAction::Idle, |s| s.kind.action())
        };
        let done = if rebuilding {
            // Leg sectors, scaled to the array as dm-raid shows them.
            scale(
                self.legs.recovery_offset.load(Relaxed),
                array,
                self.legs.map.dev_sectors(),
            )
        } else {
            ctl.scrub.map_or(array, |s| s.pos)
        };
        // dm-raid shows the count after a check only.
        let mismatches = match ctl.last {
            Some(ScrubKind::Check) => ctl.mismatches,
            _ => 0,
        };
        (action, done, array, mismatches)
    }

    /// The work item: runs the sync until there is nothing to do or it is
    /// told to stop (process context).
    pub(crate) fn sync_run(&self) {
        let mut pace = Pace {
            max: self.max_rate.into(),
            since: Instant::now(),
            kib: 0,
        };
        loop {
            let Some((job, gen)) = self.next_job() else {
                return;
            };
            let stop = || self.sync_gen.load(SeqCst) != gen;
            let (done, found) = match job {
                Job::Rebuild { legs, at } => match self.rebuild_piece(legs, at, &stop) {
                    Some(done) => (done, Scrubbed::default()),
                    None => continue,
                },
                Job::Scrub(s) => {
                    let n = PIECE_SECTORS.min(self.legs.map.max_io_sectors(s.pos));
                    match self.scrub_range(s.kind, s.pos, n, &stop) {
                        Some(found) => (n, found),
                        None => continue,
                    }
                }
            };
            {
                // Only what the current state asked for counts: a piece
                // done under an older one (a `recover` restarted the
                // rebuild) is done again.
                let mut ctl = self.sync.lock();
                if self.sync_gen.load(SeqCst) == gen {
                    match job {
                        Job::Rebuild { at, .. } => {
                            self.legs.recovery_offset.store(at + done, SeqCst)
                        }
                        Job::Scrub(s) => {
                            ctl.scrub = Some(Scrub {
                                pos: s.pos + done,
                                ..s
                            });
                            ctl.mismatches += found.mismatches;
                            if s.kind == ScrubKind::Resync {
                                self.legs.resync_at.store(s.pos + done, SeqCst);
                            }
                        }
                    }
                }
            }
            pace.kib += done >> 1;
            self.pace(&mut pace, &stop);
        }
    }

    /// Picks the next piece under the lock: a rebuild first (redundancy
    /// before anything else), then a scrub. Ends what reached its end.
    fn next_job(&self) -> Option<(Job, u64)> {
        let mut ctl = self.sync.lock();
        loop {
            if ctl.frozen || ctl.suspended {
                return None;
            }
            let gen = self.sync_gen.load(SeqCst);
            let legs = self.rebuild_legs();
            if legs != 0 {
                let at = self.legs.recovery_offset.load(SeqCst);
                if at < self.legs.map.dev_sectors() {
                    return Some((Job::Rebuild { legs, at }, gen));
                }
                self.legs.end_rebuild(legs);
                self.sync_gen.fetch_add(1, SeqCst);
                pr_info!("raid_rs: rebuild done, legs {legs:#x} in sync\n");
                self.event.schedule(0);
                continue;
            }
            let s = ctl.scrub?;
            if s.pos < self.legs.map.array_sectors() {
                return Some((Job::Scrub(s), gen));
            }
            self.end_scrub(&mut ctl);
            self.sync_gen.fetch_add(1, SeqCst);
            self.event.schedule(0);
        }
    }

    /// Sleeps while the sync runs faster than the maximum rate.
    fn pace(&self, pace: &mut Pace, stop: &dyn Fn() -> bool) {
        while pace.rate() > pace.max && !stop() {
            fsleep(Delta::from_millis(20));
        }
        if pace.since.elapsed().as_millis() > PACE_WINDOW_MS {
            pace.since = Instant::now();
            pace.kib = 0;
        }
    }

    /// Rebuilds the piece at sector `at` of each leg in `legs`: the array
    /// data each holds there, copied from an in-sync copy. Returns the
    /// sectors done, `None` if stopped.
    fn rebuild_piece(&self, legs: u64, at: u64, stop: &dyn Fn() -> bool) -> Option<u64> {
        let map = &self.legs.map;
        let n = PIECE_SECTORS
            .min(map.layout().chunk_room(at))
            .min(map.dev_sectors().saturating_sub(at))
            .max(1);
        for leg in self.legs_in(legs) {
            // Sectors of a leg past the last chunk hold no data. A chunk on
            // a leg is a chunk of the array: the piece maps in one run.
            let Some(virt) = map.virt_of(leg, at) else {
                continue;
            };
            let len = n.min(map.max_io_sectors(virt));
            self.rebuild_range(leg, virt, len, stop)?;
        }
        Some(n)
    }

    /// Copies `sectors` at `virt` to leg `to` from another copy; the parts
    /// no copy can read are marked bad on `to` (block by block). `None` if
    /// stopped.
    fn rebuild_range(
        &self,
        to: u32,
        virt: u64,
        sectors: u64,
        stop: &dyn Fn() -> bool,
    ) -> Option<()> {
        let Some(from) = self.source(virt, sectors, bit(to)) else {
            return self.rebuild_blocks(to, virt, sectors, stop);
        };
        match self.copy_settled(from, to, virt, sectors, stop)? {
            Copied::SourceFailed => self.rebuild_blocks(to, virt, sectors, stop),
            Copied::TargetFailed => {
                self.leg_write_failed(to, Some(Span { virt, sectors }));
                Some(())
            }
            _ => Some(()),
        }
    }

    /// [`Raid::copy_leg`] without a verify, tried again (after a pause)
    /// while writes overtake it or memory is short, until it is done, a
    /// leg failed, or `stop` says so (`None`).
    fn copy_settled(
        &self,
        from: u32,
        to: u32,
        virt: u64,
        sectors: u64,
        stop: &dyn Fn() -> bool,
    ) -> Option<Copied> {
        loop {
            match self.copy_leg(from, to, virt, sectors, Verify::No, stop) {
                Copied::Raced | Copied::NoMemory => self.back_off(stop)?,
                Copied::Stopped => return None,
                done => return Some(done),
            }
        }
    }

    /// [`Self::rebuild_range`] a block at a time, after a copy of the whole
    /// failed to read: a block is taken from any copy that reads it; a copy
    /// that fails it is repaired from that one, as after a failed read.
    fn rebuild_blocks(
        &self,
        to: u32,
        virt: u64,
        sectors: u64,
        stop: &dyn Fn() -> bool,
    ) -> Option<()> {
        for (b, m) in pieces(virt, sectors, BLOCK_SECTORS) {
            let span = Span {
                virt: b,
                sectors: m,
            };
            loop {
                if stop() {
                    return None;
                }
                let started = self.spans.started(span);
                let mut failed = 0u64;
                let good = loop {
                    let Some(from) = self.source(b, m, bit(to) | failed) else {
                        break None;
                    };
                    match self.copy_settled(from, to, b, m, stop)? {
                        Copied::SourceFailed => failed |= bit(from),
                        Copied::TargetFailed => {
                            self.leg_write_failed(to, Some(span));
                            return Some(());
                        }
                        _ => break Some(from),
                    }
                };
                if good.is_none() && self.spans.started(span) != started {
                    // A write of the block may have put good data on every
                    // copy since they failed: look again before marking.
                    continue;
                }
                self.settle_read_errors(good, failed, b, m);
                if good.is_none() {
                    // No copy holds it: what `to` has there is not the data.
                    self.mark_bad(to, b, m);
                }
                break;
            }
        }
        Some(())
    }

    /// After `failed` legs could not read `sectors` at `virt`: each is
    /// repaired from `good` and counted as after a failed read, or, with
    /// no good copy, marked bad there and counted uncorrectable.
    fn settle_read_errors(&self, good: Option<u32>, failed: u64, virt: u64, sectors: u64) {
        for leg in self.legs_in(failed) {
            self.stats.read_errors.fetch_add(1, Relaxed);
            let kind = match good {
                Some(good) => self.fix_read_error(good, leg, virt, sectors),
                None => {
                    self.mark_bad(leg, virt, sectors);
                    ErrorKind::Uncorrectable
                }
            };
            self.count_error(leg, kind);
        }
    }

    /// A readable copy of `sectors` at `virt` outside `exclude`, with no
    /// bad range there.
    fn source(&self, virt: u64, sectors: u64, exclude: u64) -> Option<u32> {
        let health = self.health.lock();
        Some(
            self.legs
                .choose(virt, sectors, exclude, Some(&health[..]))?
                .leg,
        )
    }

    /// Writes kept overtaking a copy: wait a little, unless told to stop.
    fn back_off(&self, stop: &dyn Fn() -> bool) -> Option<()> {
        if stop() {
            return None;
        }
        fsleep(Delta::from_millis(10));
        Some(())
    }

    /// The copies of `sectors` at `virt` a scrub compares: legs that can
    /// read them, without a bad range there.
    fn scrub_legs(
        &self,
        virt: u64,
        sectors: u64,
    ) -> ([(u32, u64); crate::raid_core::MAX_LEGS], usize) {
        let mut legs = [(0u32, 0u64); crate::raid_core::MAX_LEGS];
        let mut count = 0;
        let Some(copies) = self.legs.map.map(virt) else {
            return (legs, 0);
        };
        let health = self.health.lock();
        for c in copies.iter() {
            let clean = health
                .get(c.leg as usize)
                .is_some_and(|h| h.bad.check(c.phys, sectors).is_none());
            if clean && self.legs.can_read(c.leg, c.phys, sectors) {
                if let Some(slot) = legs.get_mut(count) {
                    *slot = (c.leg, c.phys);
                    count += 1;
                }
            }
        }
        (legs, count)
    }

    /// Scrubs `sectors` at `virt`: reads every readable copy, compares
    /// them with the first that read fine, counts what differs (`check`,
    /// `repair`) and copies the first over the others (`repair`,
    /// `resync`). A copy that fails its read is repaired as after a failed
    /// read; a range no copy reads whole is scrubbed a block at a time.
    /// `None` if stopped (or short of memory: tried again later).
    fn scrub_range(
        &self,
        kind: ScrubKind,
        virt: u64,
        sectors: u64,
        stop: &dyn Fn() -> bool,
    ) -> Option<Scrubbed> {
        let span = Span { virt, sectors };
        let (slots, count) = self.scrub_legs(virt, sectors);
        let legs = slots.get(..count).unwrap_or(&[]);
        if legs.len() < 2 {
            // Nothing to compare (degraded, or the others marked bad).
            return Some(Scrubbed::default());
        }
        let Ok(mut bufs) = noio(|| read_bufs(legs.len(), (sectors << SECTOR_SHIFT) as usize))
        else {
            self.back_off(stop)?;
            return None;
        };
        loop {
            let started = match self.wait_idle(span, stop) {
                Quiet::Idle(started) => started,
                Quiet::Busy => {
                    self.back_off(stop)?;
                    continue;
                }
                Quiet::Stopped => return None,
            };
            let mut failed = 0u64;
            for (&(leg, phys), buf) in legs.iter().zip(bufs.iter_mut()) {
                let read = match self.legs.dev(leg) {
                    Some(dev) => self.sync_io.io(dev, IoOp::Read, phys, buf),
                    None => Err(ENODEV),
                };
                if read.is_err() {
                    failed |= bit(leg);
                }
            }
            if self.spans.started(span) != started {
                // A write overtook the reads: they may show its half.
                self.stats.repair_races.fetch_add(1, Relaxed);
                self.back_off(stop)?;
                continue;
            }
            let Some(first) = legs.iter().position(|(l, _)| failed & bit(*l) == 0) else {
                if sectors > BLOCK_SECTORS {
                    return self.scrub_blocks(kind, virt, sectors, stop);
                }
                self.settle_read_errors(None, failed, virt, sectors);
                return Some(Scrubbed::default());
            };
            let (stale, differ) = compare(legs, &bufs, first, failed, sectors);
            let primary = legs.get(first).map_or(0, |(l, _)| *l);
            if kind != ScrubKind::Check {
                for leg in self.legs_in(stale) {
                    // Copied afresh: a write since the compare is no race.
                    match self.copy_settled(primary, leg, virt, sectors, stop)? {
                        Copied::SourceFailed => failed |= bit(primary),
                        Copied::TargetFailed => self.leg_write_failed(leg, Some(span)),
                        _ => {}
                    }
                }
            }
            let good = legs.iter().map(|(l, _)| *l).find(|l| failed & bit(*l) == 0);
            self.settle_read_errors(good, failed, virt, sectors);
            return Some(Scrubbed {
                mismatches: if kind == ScrubKind::Resync {
                    0
                } else {
                    differ * BLOCK_SECTORS
                },
            });
        }
    }

    /// [`Self::scrub_range`] a block at a time.
    fn scrub_blocks(
        &self,
        kind: ScrubKind,
        virt: u64,
        sectors: u64,
        stop: &dyn Fn() -> bool,
    ) -> Option<Scrubbed> {
        let mut all = Scrubbed::default();
        for (b, m) in pieces(virt, sectors, BLOCK_SECTORS) {
            all.mismatches += self.scrub_range(kind, b, m, stop)?.mismatches;
        }
        Some(all)
    }
}

/// Compares each copy that read fine with the one at `first`, a block at a
/// time: the legs that differ somewhere, and how many blocks differ on
/// some copy.
fn compare(
    legs: &[(u32, u64)],
    bufs: &[IoBuf],
    first: usize,
    failed: u64,
    sectors: u64,
) -> (u64, u64) {
    let Some(primary) = bufs.get(first) else {
        return (0, 0);
    };
    let mut stale = 0u64;
    let mut differ = 0u64;
    for (b, m) in pieces(0, sectors, BLOCK_SECTORS) {
        let (off, len) = ((b << SECTOR_SHIFT) as usize, (m << SECTOR_SHIFT) as usize);
        let mut here = false;
        for (i, (&(leg, _), buf)) in legs.iter().zip(bufs.iter()).enumerate() {
            if i != first
                && failed & bit(leg) == 0
                && !crate::raid_read::same_at(primary, buf, off, len)
            {
                stale |= bit(leg);
                here = true;
            }
        }
        differ += u64::from(here);
    }
    (stale, differ)
}

/// One buffer of `len` bytes per copy a scrub reads.
fn read_bufs(copies: usize, len: usize) -> Result<KVec<IoBuf>> {
    let mut bufs = KVec::with_capacity(copies, GFP_KERNEL)?;
    for _ in 0..copies {
        bufs.push(IoBuf::new(len, GFP_KERNEL)?, GFP_KERNEL)?;
    }
    Ok(bufs)
}

/// `at` of `dev` as the same share of `array`, without overflow.
fn scale(at: u64, array: u64, dev: u64) -> u64 {
    if dev == array {
        return at;
    }
    let (mut a, mut d) = (at, dev);
    while a.checked_mul(array).is_none() {
        a >>= 1;
        d >>= 1;
    }
    a.saturating_mul(array) / d.max(1)
}
