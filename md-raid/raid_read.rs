// SPDX-License-Identifier: GPL-2.0

//! Reads and read-error recovery (upstream: `raid1_read_request()`,
//! `handle_read_error()`, `fix_read_error()` in raid1.c / raid10.c).
//!
//! A read goes to one copy, chosen by the balancer. If it fails, the clone
//! is handed to process context (the clone pool's recovery), which sends it
//! again to another copy not tried yet. Once a copy reads fine, the data is
//! returned and each leg that failed is repaired before the reader is
//! answered: the range is read again from the good copy, written to the
//! failing leg in place and read back to verify. A verified rewrite counts
//! a corrected error, anything else an uncorrectable one and a bad range on
//! the leg; the counts decide when a leg is failed (raid-core's
//! `LegErrors`). With no copy left the read fails with `EIO`, and every leg
//! that failed gets the bad range.
//!
//! Why this cannot deadlock (md's did: `freeze_array()` waited for I/O
//! that waited for the array): recovery blocks nothing. Writes keep flowing
//! while a range is repaired; the repair only waits for writes over the
//! range that are already in flight, which go to the legs and complete
//! without any help from this target, and then checks that no write of the
//! range started while it rewrote (the write spans of `raid_write`),
//! starting over if one did. Its own I/O goes to the legs only, from the
//! recovery queue, never through this device, and never from `map`.

use crate::legs::{bit, LegHealth};
use crate::raid_core::{ErrorKind, FailReason, Verdict};
use crate::raid_write::Span;
use crate::rdm::{
    noio, Bio, CloneData, CloneEnd, IoBuf, IoOp, Mapped, Recovery, IO_MAX_BYTES, SECTOR_SHIFT,
};
use crate::{PerIo, Raid};
use core::sync::atomic::Ordering::{Relaxed, SeqCst};
use kernel::prelude::*;
use kernel::time::{delay::fsleep, Delta};

/// Times a repair starts over because a write overlapped it, before the
/// range is given up on that leg (marked bad there).
const REPAIR_ATTEMPTS: u32 = 8;

/// Polls of 200 us a repair waits for writes in flight over its range
/// before it counts an attempt (2 s).
const IDLE_WAIT_POLLS: u32 = 10_000;

/// Whether a copy between legs reads the target back to compare.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verify {
    /// md's `fix_read_error()`: the rewrite of a leg that failed a read.
    ReadBack,
    /// A rebuild or a scrub's fix (md's recovery and repair writes).
    No,
}

/// How [`Raid::copy_leg`] ended.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Copied {
    /// The target holds the source's data (verified if asked).
    Done,
    /// The source could not be read, or is no longer a copy to read.
    SourceFailed,
    /// The target could not be written (or read back the same).
    TargetFailed,
    /// Writes of the range overtook every attempt.
    Raced,
    /// No buffer could be had.
    NoMemory,
    /// Asked to stop while waiting for writes.
    Stopped,
}

/// What [`Raid::wait_idle`] found.
pub(crate) enum Quiet {
    /// No write in flight over the span; this many had started.
    Idle(u64),
    /// Writes kept the span busy all along.
    Busy,
    /// Asked to stop.
    Stopped,
}

/// What a read clone carries.
pub(crate) struct ReadCtx {
    virt: u64,
    sectors: u64,
    /// The leg this clone read.
    leg: u32,
    /// Legs tried, and legs whose read failed.
    tried: u64,
    failed: u64,
}

/// What a read of a range can get, given the bad ranges of its copies.
enum Plan {
    /// Some copy has no bad range in it.
    Whole,
    /// Only this many sectors from the start are clean on some copy.
    Prefix(u64),
    /// This many sectors from the start are bad on every usable copy.
    Bad(u64),
}

/// A read is repaired (and its unreadable part found) in blocks of this
/// many sectors when a larger piece fails, as md's `fix_read_error()` goes
/// page by page.
pub(crate) const BLOCK_SECTORS: u64 = 8;

impl Raid {
    /// Sends a read to one copy. A read over bad ranges is cut at their
    /// edges (`dm_accept_partial_bio()`: dm core sends the rest as another
    /// bio), so that only the sectors bad on every copy fail.
    pub(crate) fn read<'a>(&'a self, mut bio: Bio<'a, PerIo>, virt: u64) -> Mapped<'a> {
        let mut sectors = u64::from(bio.sectors());
        let chosen = if self.has_bad.load(Relaxed) {
            let health = self.health.lock();
            match self.plan(virt, sectors, &health) {
                Plan::Whole => {}
                Plan::Prefix(n) => {
                    if bio.accept_partial(n as u32).is_err() {
                        return bio.kill();
                    }
                    sectors = n;
                }
                Plan::Bad(n) => {
                    drop(health);
                    // The rest of the bio may well be readable.
                    let _ = bio.accept_partial(n as u32);
                    return bio.kill();
                }
            }
            self.legs.choose(virt, sectors, 0, Some(&health[..]))
        } else {
            self.legs.choose(virt, sectors, 0, None)
        };
        let Some(c) = chosen else {
            // No readable copy (every one failed or missing).
            return bio.kill();
        };
        let Some(dev) = self.legs.dev(c.leg) else {
            return bio.kill();
        };
        self.pending(c.leg, true);
        let ctx = ReadCtx {
            virt,
            sectors,
            leg: c.leg,
            tried: bit(c.leg),
            failed: 0,
        };
        match self.reads.clone_bio(bio, dev, c.phys, ctx) {
            Ok(chained) => {
                let (d, m) = chained.defer_with(None);
                d.end(Ok(()));
                m
            }
            Err((bio, _)) => {
                self.pending(c.leg, false);
                bio.kill()
            }
        }
    }

    /// How much of `sectors` at `virt` some usable copy can serve.
    fn plan(&self, virt: u64, sectors: u64, health: &[LegHealth]) -> Plan {
        let Some(copies) = self.legs.map.map(virt) else {
            return Plan::Bad(sectors);
        };
        let (mut clean, mut bad) = (0, sectors);
        for c in copies
            .iter()
            .filter(|c| self.legs.can_read(c.leg, c.phys, sectors))
        {
            let Some(h) = health.get(c.leg as usize) else {
                continue;
            };
            match h.bad.check(c.phys, sectors) {
                None => return Plan::Whole,
                Some((first, len)) => {
                    let ok = first.saturating_sub(c.phys);
                    clean = clean.max(ok);
                    if ok == 0 {
                        bad = bad.min(first.saturating_add(len).saturating_sub(c.phys));
                    }
                }
            }
        }
        match clean {
            0 => Plan::Bad(bad.clamp(1, sectors)),
            n => Plan::Prefix(n.min(sectors)),
        }
    }

    fn pending(&self, leg: u32, up: bool) {
        if let Some(l) = self.legs.legs.get(leg as usize) {
            if up {
                l.pending.fetch_add(1, Relaxed);
            } else {
                l.pending.fetch_sub(1, Relaxed);
            }
        }
    }

    /// A read clone completed (any context): done if it read fine at the
    /// first try, otherwise on to recovery.
    pub(crate) fn read_done(&self, ctx: ReadCtx, r: Result) -> CloneEnd<ReadCtx> {
        self.pending(ctx.leg, false);
        if r.is_ok() && ctx.failed == 0 {
            return CloneEnd::Done(Ok(()));
        }
        CloneEnd::Recover(ctx)
    }

    /// Recovery of a read clone, in process context: retry on another copy,
    /// or repair the legs that failed from the one that read fine.
    pub(crate) fn read_recover<'t>(
        &'t self,
        mut ctx: ReadCtx,
        r: Result,
        _data: &CloneData<'_>,
    ) -> Recovery<'t, ReadCtx> {
        if r.is_err() {
            self.stats.read_errors.fetch_add(1, Relaxed);
            ctx.failed |= bit(ctx.leg);
            let next = {
                let health = self.health.lock();
                self.legs
                    .choose(ctx.virt, ctx.sectors, ctx.tried, Some(&health[..]))
            };
            if let Some((c, dev)) = next.and_then(|c| Some((c, self.legs.dev(c.leg)?))) {
                ctx.tried |= bit(c.leg);
                ctx.leg = c.leg;
                // Given back by `read_done`, also if the retry cannot be sent.
                self.pending(c.leg, true);
                return Recovery::Retry(dev, c.phys, ctx);
            }
            // No copy left to read: the read fails, and each leg that
            // failed it gets its unreadable blocks marked bad.
            for leg in self.legs_in(ctx.failed) {
                self.mark_unreadable(leg, ctx.virt, ctx.sectors);
                self.count_error(leg, ErrorKind::Uncorrectable);
            }
            self.stats.uncorrectable_reads.fetch_add(1, Relaxed);
            return Recovery::Done(Err(EIO));
        }
        for leg in self.legs_in(ctx.failed) {
            let kind = self.fix_read_error(ctx.leg, leg, ctx.virt, ctx.sectors);
            self.count_error(leg, kind);
        }
        Recovery::Done(Ok(()))
    }

    pub(crate) fn legs_in(&self, mask: u64) -> impl Iterator<Item = u32> {
        (0..self.legs.legs.len() as u32).filter(move |l| mask & bit(*l) != 0)
    }

    /// Rewrites `sectors` at `virt` on `bad` from `good` and verifies them
    /// (md's `fix_read_error()`): a piece at a time, and a piece that cannot
    /// be fixed whole block by block, so that only the blocks that cannot
    /// be fixed are marked bad (the others are cleared).
    pub(crate) fn fix_read_error(&self, good: u32, bad: u32, virt: u64, sectors: u64) -> ErrorKind {
        let mut kind = ErrorKind::Corrected;
        let piece = (IO_MAX_BYTES >> SECTOR_SHIFT) as u64;
        for (at, n) in pieces(virt, sectors, piece) {
            if self.repair(good, bad, at, n) == ErrorKind::Corrected {
                self.clear_mark(bad, at, n);
                continue;
            }
            for (b, m) in pieces(at, n, BLOCK_SECTORS) {
                if n > BLOCK_SECTORS && self.repair(good, bad, b, m) == ErrorKind::Corrected {
                    self.clear_mark(bad, b, m);
                } else {
                    kind = ErrorKind::Uncorrectable;
                    self.mark_bad(bad, b, m);
                }
            }
        }
        kind
    }

    /// Marks the blocks of `sectors` at `virt` that `leg` cannot read: a
    /// read of a single block is that block; a longer one is read again
    /// block by block.
    fn mark_unreadable(&self, leg: u32, virt: u64, sectors: u64) {
        if sectors <= BLOCK_SECTORS {
            self.mark_bad(leg, virt, sectors);
            return;
        }
        let (Some(phys), Some(dev)) = (self.legs.phys(leg, virt), self.legs.dev(leg)) else {
            return;
        };
        let Ok(mut buf) = noio(|| IoBuf::new((BLOCK_SECTORS << SECTOR_SHIFT) as usize, GFP_KERNEL))
        else {
            self.mark_bad(leg, virt, sectors);
            return;
        };
        for (b, m) in pieces(0, sectors, BLOCK_SECTORS) {
            let probe = if m == BLOCK_SECTORS {
                self.sync_io.io(dev, IoOp::Read, phys + b, &mut buf)
            } else {
                Err(EIO)
            };
            if probe.is_err() {
                self.mark_bad(leg, virt + b, m);
            }
        }
    }

    /// One piece of a repair: copies it from `good` to `bad` and verifies
    /// it, as [`Raid::copy_leg`] does.
    fn repair(&self, good: u32, bad: u32, virt: u64, sectors: u64) -> ErrorKind {
        match self.copy_leg(good, bad, virt, sectors, Verify::ReadBack, &|| false) {
            Copied::Done => ErrorKind::Corrected,
            _ => ErrorKind::Uncorrectable,
        }
    }

    /// Copies `sectors` at `virt` from the copy on leg `from` to the one on
    /// leg `to` (a repair, a rebuild, a scrub's fix). Waits until no write
    /// over the range is in flight, copies it, and starts over if a write
    /// of the range started meanwhile: the write may have reached `to`
    /// before the copy, which would then hold stale data. Gives up after
    /// [`REPAIR_ATTEMPTS`] (`Raced`), or when `stop` says so while it
    /// waits. Process context.
    pub(crate) fn copy_leg(
        &self,
        from: u32,
        to: u32,
        virt: u64,
        sectors: u64,
        verify: Verify,
        stop: &dyn Fn() -> bool,
    ) -> Copied {
        let span = Span { virt, sectors };
        let (Some(src), Some(from_dev)) = (self.legs.phys(from, virt), self.legs.dev(from)) else {
            return Copied::SourceFailed;
        };
        let (Some(dst), Some(to_dev)) = (self.legs.phys(to, virt), self.legs.dev(to)) else {
            return Copied::TargetFailed;
        };
        let len = (sectors << SECTOR_SHIFT) as usize;
        let (Ok(mut data), Ok(mut check)) = (
            noio(|| IoBuf::new(len, GFP_KERNEL)),
            match verify {
                Verify::ReadBack => noio(|| IoBuf::new(len, GFP_KERNEL)),
                Verify::No => Ok(IoBuf::empty()),
            },
        ) else {
            return Copied::NoMemory;
        };
        for _ in 0..REPAIR_ATTEMPTS {
            // Writes already in flight complete on their own (they are on
            // the legs' queues, or in a submitter's list it will issue);
            // a steady stream of them costs this attempt after a while.
            let started = match self.wait_idle(span, stop) {
                Quiet::Idle(started) => started,
                Quiet::Busy => {
                    self.stats.repair_races.fetch_add(1, Relaxed);
                    continue;
                }
                Quiet::Stopped => return Copied::Stopped,
            };
            if self
                .sync_io
                .io(from_dev, IoOp::Read, src, &mut data)
                .is_err()
            {
                return Copied::SourceFailed;
            }
            // Test hook (`repair_delay` message): widens the window in
            // which a write can overtake this copy.
            let pause = self.repair_delay_ms.load(Relaxed);
            if pause > 0 {
                fsleep(Delta::from_millis(i64::from(pause)));
            }
            let written = self.sync_io.io(to_dev, IoOp::Write, dst, &mut data).is_ok();
            let verified = written
                && (verify == Verify::No
                    || (self.sync_io.io(to_dev, IoOp::Read, dst, &mut check).is_ok()
                        && same(&data, &check, len)));
            if !self.legs.can_read(from, src, sectors) {
                // Failed meanwhile: a write may have skipped it (and
                // completed before `started` was read), and its old data
                // would then have been copied over the write.
                return Copied::SourceFailed;
            }
            if self.spans.started(span) == started {
                return if verified {
                    Copied::Done
                } else {
                    Copied::TargetFailed
                };
            }
            self.stats.repair_races.fetch_add(1, Relaxed);
        }
        Copied::Raced
    }

    /// Waits until no write over `span` is in flight (for at most
    /// [`IDLE_WAIT_POLLS`] polls), checking `stop` between polls.
    pub(crate) fn wait_idle(&self, span: Span, stop: &dyn Fn() -> bool) -> Quiet {
        for _ in 0..IDLE_WAIT_POLLS {
            if self.spans.idle(span) {
                let started = self.spans.started(span);
                // Still idle once `started` is read: every write counted
                // in it has completed (`WriteSpans::begin`'s order).
                if self.spans.idle(span) {
                    return Quiet::Idle(started);
                }
            }
            if stop() {
                return Quiet::Stopped;
            }
            fsleep(Delta::from_micros(200));
        }
        Quiet::Busy
    }

    /// Counts a read error of `kind` on `leg` (once per failed read, as md
    /// does) and fails the leg when the counts say so.
    pub(crate) fn count_error(&self, leg: u32, kind: ErrorKind) {
        if let Some(l) = self.legs.legs.get(leg as usize) {
            match kind {
                ErrorKind::Corrected => l.corrected.fetch_add(1, Relaxed),
                ErrorKind::Uncorrectable => l.uncorrectable.fetch_add(1, Relaxed),
            };
        }
        let now = self.now_secs();
        let verdict = match self.health.lock().get_mut(leg as usize) {
            Some(h) => h.errors.record(kind, now, self.limits),
            None => return,
        };
        if let Verdict::Fail { reason } = verdict {
            let (count, max) = match reason {
                FailReason::ReadErrors { count, max }
                | FailReason::CorrectedBurst { count, max } => (count, max),
            };
            if self.legs.fail(leg) {
                pr_err!(
                    "raid_rs: leg {leg}: read errors exceeded the threshold [cur {count}:max {max}], failing it\n"
                );
                self.leg_failed(leg);
            }
        }
    }

    /// Marks `sectors` at `virt` bad on `leg`: reads avoid it there until
    /// a write or a repair puts good data back. A full table fails the leg
    /// (unless it holds the last copy of something).
    pub(crate) fn mark_bad(&self, leg: u32, virt: u64, sectors: u64) {
        let Some(phys) = self.legs.phys(leg, virt) else {
            return;
        };
        let full = match self.health.lock().get_mut(leg as usize) {
            Some(h) => h.bad.add(phys, sectors).is_err(),
            None => return,
        };
        self.has_bad.store(true, SeqCst);
        if full && self.legs.fail(leg) {
            pr_err!("raid_rs: leg {leg}: no room for another bad range, failing it\n");
            self.leg_failed(leg);
        }
    }

    fn clear_mark(&self, leg: u32, virt: u64, sectors: u64) {
        let Some(phys) = self.legs.phys(leg, virt) else {
            return;
        };
        if let Some(h) = self.health.lock().get_mut(leg as usize) {
            // Full: the range stays marked, reads avoid it a while.
            let _ = h.bad.clear(phys, sectors);
        }
    }
}

/// `sectors` from `at` in pieces of at most `piece` sectors.
pub(crate) fn pieces(at: u64, sectors: u64, piece: u64) -> impl Iterator<Item = (u64, u64)> {
    let piece = piece.max(1);
    (0..sectors.div_ceil(piece)).map(move |i| {
        let off = i * piece;
        (at + off, piece.min(sectors - off))
    })
}

/// Whether the first `len` bytes of two buffers are equal.
fn same(a: &IoBuf, b: &IoBuf, len: usize) -> bool {
    same_at(a, b, 0, len)
}

/// Whether `len` bytes at `off` of two buffers are equal.
pub(crate) fn same_at(a: &IoBuf, b: &IoBuf, off: usize, len: usize) -> bool {
    let mut x = [0u8; 256];
    let mut y = [0u8; 256];
    let mut at = off;
    let end = off.saturating_add(len);
    while at < end {
        let n = (end - at).min(x.len());
        let (Some(xs), Some(ys)) = (x.get_mut(..n), y.get_mut(..n)) else {
            return false;
        };
        if a.read_at(at, xs).is_err() || b.read_at(at, ys).is_err() || xs != ys {
            return false;
        }
        at += n;
    }
    true
}
