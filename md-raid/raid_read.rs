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

use crate::legs::bit;
use crate::raid_core::{ErrorKind, Verdict};
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

impl Raid {
    /// Sends a read to one copy.
    pub(crate) fn read<'a>(&'a self, bio: Bio<'a, PerIo>, virt: u64) -> Mapped<'a> {
        let sectors = u64::from(bio.sectors());
        let chosen = if self.has_bad.load(Relaxed) {
            let health = self.health.lock();
            self.legs.choose(virt, sectors, 0, Some(&health[..]))
        } else {
            self.legs.choose(virt, sectors, 0, None)
        };
        let Some(c) = chosen else {
            // No readable copy (every one failed, missing or bad here).
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
            if let Some(dev) = next.and_then(|c| Some((c, self.legs.dev(c.leg)?))) {
                let (c, dev) = dev;
                ctx.tried |= bit(c.leg);
                ctx.leg = c.leg;
                self.pending(c.leg, true);
                return Recovery::Retry(dev, c.phys, ctx);
            }
            // No copy left to read: the range is bad on every leg that
            // failed it, and the read fails.
            for leg in self.legs_in(ctx.failed) {
                self.record(leg, ctx.virt, ctx.sectors, ErrorKind::Uncorrectable);
            }
            self.stats.uncorrectable_reads.fetch_add(1, Relaxed);
            return Recovery::Done(Err(EIO));
        }
        for leg in self.legs_in(ctx.failed) {
            let kind = self.fix_read_error(ctx.leg, leg, ctx.virt, ctx.sectors);
            self.record(leg, ctx.virt, ctx.sectors, kind);
        }
        Recovery::Done(Ok(()))
    }

    fn legs_in(&self, mask: u64) -> impl Iterator<Item = u32> {
        (0..self.legs.legs.len() as u32).filter(move |l| mask & bit(*l) != 0)
    }

    /// Rewrites `sectors` at `virt` on `bad` from `good`, a piece at a time,
    /// and verifies each piece (md's `fix_read_error()`).
    fn fix_read_error(&self, good: u32, bad: u32, virt: u64, sectors: u64) -> ErrorKind {
        let piece = (IO_MAX_BYTES >> SECTOR_SHIFT) as u64;
        let mut done = 0;
        while done < sectors {
            let n = piece.min(sectors - done);
            if self.repair(good, bad, virt + done, n) != ErrorKind::Corrected {
                return ErrorKind::Uncorrectable;
            }
            done += n;
        }
        ErrorKind::Corrected
    }

    /// One piece of a repair: waits until no write over the range is in
    /// flight, copies it from `good` to `bad`, reads it back, and starts
    /// over if a write of the range started meanwhile (it may have reached
    /// `bad` before the copy, which would then hold stale data).
    fn repair(&self, good: u32, bad: u32, virt: u64, sectors: u64) -> ErrorKind {
        let span = Span { virt, sectors };
        let copies = self.legs.map.map(virt);
        let phys = |leg| copies.and_then(|c| c.on_leg(leg)).map(|c| c.phys);
        let (Some(from), Some(to), Some(good_dev), Some(bad_dev)) = (
            phys(good),
            phys(bad),
            self.legs.dev(good),
            self.legs.dev(bad),
        ) else {
            return ErrorKind::Uncorrectable;
        };
        let len = (sectors << SECTOR_SHIFT) as usize;
        let (Ok(mut data), Ok(mut check)) = (
            noio(|| IoBuf::new(len, GFP_KERNEL)),
            noio(|| IoBuf::new(len, GFP_KERNEL)),
        ) else {
            return ErrorKind::Uncorrectable;
        };
        for _ in 0..REPAIR_ATTEMPTS {
            // Writes already in flight complete on their own (they are on
            // the legs' queues, or in a submitter's list it will issue).
            while !self.spans.idle(span) {
                fsleep(Delta::from_micros(200));
            }
            let started = self.spans.started(span);
            if !self.spans.idle(span) {
                continue;
            }
            if self
                .sync_io
                .io(good_dev, IoOp::Read, from, &mut data)
                .is_err()
            {
                return ErrorKind::Uncorrectable;
            }
            // Test hook (`repair_delay` message): widens the window in
            // which a write can overtake this copy.
            let pause = self.repair_delay_ms.load(Relaxed);
            if pause > 0 {
                fsleep(Delta::from_millis(i64::from(pause)));
            }
            let rewritten = self.sync_io.io(bad_dev, IoOp::Write, to, &mut data).is_ok()
                && self.sync_io.io(bad_dev, IoOp::Read, to, &mut check).is_ok()
                && same(&data, &check, len);
            if self.spans.started(span) == started {
                return if rewritten {
                    ErrorKind::Corrected
                } else {
                    ErrorKind::Uncorrectable
                };
            }
            self.stats.repair_races.fetch_add(1, Relaxed);
        }
        ErrorKind::Uncorrectable
    }

    /// Counts a read error of `kind` on `leg` for the range at `virt`: a
    /// corrected one clears the range's bad mark, an uncorrectable one sets
    /// it. Fails the leg when the counts say so, or when its bad ranges are
    /// full (unless it holds the last copy of something).
    fn record(&self, leg: u32, virt: u64, sectors: u64, kind: ErrorKind) {
        let Some(phys) = self.legs.map.map(virt).and_then(|c| c.on_leg(leg)) else {
            return;
        };
        let now = self.now_secs();
        let mut fail = None;
        {
            let mut health = self.health.lock();
            let Some(h) = health.get_mut(leg as usize) else {
                return;
            };
            if let Verdict::Fail { reason } = h.errors.record(kind, now, self.limits) {
                fail = Some(reason);
            }
            match kind {
                ErrorKind::Corrected => {
                    // Full: the range stays marked, reads avoid it a while.
                    let _ = h.bad.clear(phys.phys, sectors);
                }
                ErrorKind::Uncorrectable => {
                    if h.bad.add(phys.phys, sectors).is_err() {
                        fail = fail.or(Some(crate::raid_core::FailReason::ReadErrors {
                            count: h.errors.current(now).1,
                            max: self.limits.max_read_errors,
                        }));
                    }
                    self.has_bad.store(true, SeqCst);
                }
            }
        }
        if let Some(reason) = fail {
            if self.legs.fail(leg) {
                let (count, max) = match reason {
                    crate::raid_core::FailReason::ReadErrors { count, max }
                    | crate::raid_core::FailReason::CorrectedBurst { count, max } => (count, max),
                };
                pr_err!(
                    "raid_rs: leg {leg}: read errors exceeded the threshold [cur {count}:max {max}], failing it\n"
                );
                self.leg_failed(leg);
            }
        }
    }
}

/// Whether the first `len` bytes of two buffers are equal.
fn same(a: &IoBuf, b: &IoBuf, len: usize) -> bool {
    let mut x = [0u8; 256];
    let mut y = [0u8; 256];
    let mut off = 0;
    while off < len {
        let n = (len - off).min(x.len());
        let (Some(xs), Some(ys)) = (x.get_mut(..n), y.get_mut(..n)) else {
            return false;
        };
        if a.read_at(off, xs).is_err() || b.read_at(off, ys).is_err() || xs != ys {
            return false;
        }
        off += n;
    }
    true
}
