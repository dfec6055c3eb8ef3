// SPDX-License-Identifier: GPL-2.0

//! Writes and flushes (upstream: `raid1_write_request()`,
//! `raid10_write_request()` and their end_io): a clone to every usable copy,
//! completed when all have, successful when at least one copy took it (md's
//! `R1BIO_Uptodate`). A copy that fails fails its leg; a leg that holds the
//! last copy of some chunk is never failed, and gets the range marked bad
//! instead (md's `narrow_write_error()`), so reads go to the copy that took
//! the write.
//!
//! Writes in flight are also counted per span of the array, so that a
//! read-error repair or the sync (rebuild, scrub) can tell whether a write
//! overlapped its copy (see `raid_read`, `raid_sync`): they never have to
//! block writes, which is how md's `freeze_array()` came to deadlock
//! against I/O it waited for.

use crate::legs::bit;
use crate::rdm::{noio, Bio, ChainedBio, CloneData, CloneEnd, Mapped, Recovery};
use crate::{PerIo, Raid};
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering::SeqCst};
use kernel::prelude::*;
use kernel::sync::Arc;

/// A span is 2^11 sectors (1 MiB) of the array; spans share [`SLOTS`]
/// counters by their index modulo the count: a collision only makes a
/// repair wait or try again, never miss a write.
const SPAN_SHIFT: u32 = 11;
const SLOTS: usize = 256;

/// Writes in flight and writes started, per slot of spans.
pub(crate) struct WriteSpans {
    inflight: [AtomicU32; SLOTS],
    started: [AtomicU64; SLOTS],
}

/// The range of the array a write covers, kept from `map` to `end_io`.
#[derive(Clone, Copy)]
pub(crate) struct Span {
    pub(crate) virt: u64,
    pub(crate) sectors: u64,
}

impl Span {
    /// The slots the span touches (every slot once at most).
    fn slots(self) -> impl Iterator<Item = usize> {
        let first = self.virt >> SPAN_SHIFT;
        let last = (self.virt + self.sectors.max(1) - 1) >> SPAN_SHIFT;
        let n = (last - first + 1).min(SLOTS as u64);
        (0..n).map(move |i| ((first + i) % SLOTS as u64) as usize)
    }
}

impl WriteSpans {
    pub(crate) fn new() -> Self {
        Self {
            inflight: [const { AtomicU32::new(0) }; SLOTS],
            started: [const { AtomicU64::new(0) }; SLOTS],
        }
    }

    /// A write of `span` starts: counted in flight before it counts as
    /// started, so a repair that reads `started` and then sees nothing in
    /// flight knows every write counted so far has completed.
    pub(crate) fn begin(&self, span: Span) {
        for s in span.slots() {
            if let Some(c) = self.inflight.get(s) {
                c.fetch_add(1, SeqCst);
            }
            if let Some(c) = self.started.get(s) {
                c.fetch_add(1, SeqCst);
            }
        }
    }

    /// A write of `span` completed (on every copy). Any context.
    pub(crate) fn end(&self, span: Span) {
        for s in span.slots() {
            if let Some(c) = self.inflight.get(s) {
                c.fetch_sub(1, SeqCst);
            }
        }
    }

    /// Writes started over `span` so far (a sum over its slots).
    pub(crate) fn started(&self, span: Span) -> u64 {
        span.slots()
            .filter_map(|s| self.started.get(s))
            .fold(0u64, |acc, c| acc.wrapping_add(c.load(SeqCst)))
    }

    /// Whether no write over `span` is in flight.
    pub(crate) fn idle(&self, span: Span) -> bool {
        span.slots()
            .filter_map(|s| self.inflight.get(s))
            .all(|c| c.load(SeqCst) == 0)
    }
}

/// A write to several copies: it succeeds when at least one copy took it
/// (md's `R1BIO_Uptodate`), which only the last copy to complete can tell.
pub(crate) struct WriteAll {
    /// Copies not completed yet, plus one while `map` still sends them.
    left: AtomicU32,
    /// Copies that took the write.
    ok: AtomicU32,
}

/// What a write clone carries.
pub(crate) struct WriteCtx {
    leg: u32,
    /// Whether the copy, once written, serves reads (not a leg being
    /// rebuilt that has not reached the range).
    counts: bool,
    span: Option<Span>,
    all: Option<Arc<WriteAll>>,
}

/// A write bio before and after its first clone.
enum WriteBio<'a> {
    Plain(Bio<'a, PerIo>),
    Chained(ChainedBio<'a, PerIo>),
}

/// How one copy of a write ends for the whole write: `Ok` unless it is the
/// last copy to complete and no copy took the write.
fn copy_done(all: Option<&WriteAll>, took: bool) -> Result {
    let Some(all) = all else {
        return if took { Ok(()) } else { Err(EIO) };
    };
    if took {
        all.ok.fetch_add(1, SeqCst);
    }
    // Counted before `left` drops: the last copy sees every success.
    if all.left.fetch_sub(1, SeqCst) == 1 && all.ok.load(SeqCst) == 0 {
        return Err(EIO);
    }
    Ok(())
}

impl Raid {
    /// Sends a write (or an empty flush) to every usable copy.
    pub(crate) fn write<'a>(&'a self, bio: Bio<'a, PerIo>, virt: u64) -> Mapped<'a> {
        let sectors = u64::from(bio.sectors());
        let span = bio.has_data().then_some(Span { virt, sectors });
        if let Some(span) = span {
            // In flight before the legs are looked at: a sync or repair
            // that changes them afterwards (a leg taken back for a
            // rebuild) waits for this write or sees it start, and copies
            // again. And before its bad marks go: a repair that marks the
            // range after this point sees the write and starts over.
            self.spans.begin(span);
            self.clear_bad(span);
        }
        match self.send_write(bio, virt, span) {
            Ok(mapped) => mapped,
            Err(bio) => {
                // Nothing was written.
                if let Some(span) = span {
                    self.spans.end(span);
                }
                bio.kill()
            }
        }
    }

    /// [`Raid::write`] once the write counts as in flight: the clones to
    /// every usable copy; the bio back if none could be sent.
    fn send_write<'a>(
        &'a self,
        bio: Bio<'a, PerIo>,
        virt: u64,
        span: Option<Span>,
    ) -> Result<Mapped<'a>, Bio<'a, PerIo>> {
        let sectors = span.map_or(0, |s| s.sectors);
        let usable = self.legs.usable();
        // A flush goes to every usable leg; data to the copies of its range
        // (one chunk at most: `max_io_len` splits raid10 I/O at chunks).
        // A copy counts toward the write's success only where its leg can
        // serve it: in sync, or rebuilt past it (md's `R1BIO_Uptodate`
        // comes from `In_sync` legs only).
        let mut targets = [(0u32, 0u64, false); crate::raid_core::MAX_LEGS];
        let mut n = 0;
        if bio.has_data() {
            let Some(copies) = self.legs.map.map(virt) else {
                return Err(bio);
            };
            for c in copies.iter().filter(|c| usable & bit(c.leg) != 0) {
                if let Some(t) = targets.get_mut(n) {
                    *t = (c.leg, c.phys, self.legs.can_read(c.leg, c.phys, sectors));
                    n += 1;
                }
            }
        } else {
            for leg in (0..self.legs.legs.len() as u32).filter(|l| usable & bit(*l) != 0) {
                if let Some(t) = targets.get_mut(n) {
                    *t = (leg, 0, true);
                    n += 1;
                }
            }
        }
        if n == 0 {
            return Err(bio);
        }
        // One copy decides alone; several share a count (`map` holds one
        // until every copy is sent).
        let all = if n > 1 {
            let all = WriteAll {
                left: AtomicU32::new(n as u32 + 1),
                ok: AtomicU32::new(0),
            };
            match noio(|| Arc::new(all, GFP_KERNEL)) {
                Ok(all) => Some(all),
                Err(_) => return Err(bio),
            }
        } else {
            None
        };
        let mut bio = WriteBio::Plain(bio);
        for &(leg, phys, counts) in targets.iter().take(n) {
            let Some(dev) = self.legs.dev(leg) else {
                continue;
            };
            let ctx = WriteCtx {
                leg,
                counts,
                span,
                all: all.clone(),
            };
            bio = match bio {
                WriteBio::Plain(b) => match self.writes.clone_bio(b, dev, phys, ctx) {
                    Ok(c) => WriteBio::Chained(c),
                    Err((b, ctx)) => {
                        // Not sent (no clone: never, from the mempool): as
                        // a copy that failed.
                        self.leg_write_failed(leg, span);
                        let _ = copy_done(ctx.all.as_deref(), false);
                        WriteBio::Plain(b)
                    }
                },
                WriteBio::Chained(b) => match self.writes.clone_chained_bio(b, dev, phys, ctx) {
                    Ok(c) => WriteBio::Chained(c),
                    Err((b, ctx)) => {
                        self.leg_write_failed(leg, span);
                        let _ = copy_done(ctx.all.as_deref(), false);
                        WriteBio::Chained(b)
                    }
                },
            };
        }
        match bio {
            WriteBio::Chained(b) => {
                // `map`'s own count: the copies may all have completed.
                let result = match &all {
                    Some(all) => copy_done(Some(all), false),
                    None => Ok(()),
                };
                let (d, m) = b.defer_with(span);
                d.end(result);
                Ok(m)
            }
            // No clone could be made.
            WriteBio::Plain(b) => Err(b),
        }
    }

    /// A write clone completed (any context): a copy that took the write
    /// is done; a failed one goes to process context.
    pub(crate) fn write_done(&self, ctx: WriteCtx, r: Result) -> CloneEnd<WriteCtx> {
        match r {
            Ok(()) => CloneEnd::Done(copy_done(ctx.all.as_deref(), ctx.counts)),
            Err(_) => CloneEnd::Recover(ctx),
        }
    }

    /// A copy of a write failed (process context): its leg is failed, or,
    /// if it holds the last copy of some chunk, the range is marked bad on
    /// it so that reads go to the copy that took the write. The write
    /// fails only if no copy took it.
    pub(crate) fn write_recover<'t>(
        &'t self,
        ctx: WriteCtx,
        _r: Result,
        _data: &CloneData<'_>,
    ) -> Recovery<'t, WriteCtx> {
        self.leg_write_failed(ctx.leg, ctx.span);
        Recovery::Done(copy_done(ctx.all.as_deref(), false))
    }

    /// A copy of a write of `span` (or of a flush) did not reach `leg`.
    /// Process context.
    pub(crate) fn leg_write_failed(&self, leg: u32, span: Option<Span>) {
        self.stats.write_errors.fetch_add(1, SeqCst);
        if self.legs.fail(leg) {
            self.leg_failed(leg);
            return;
        }
        if self.legs.faulty.load(SeqCst) & bit(leg) != 0 {
            // Failed meanwhile, by another write.
            return;
        }
        // The leg cannot go (the last copy of some chunk): what it holds of
        // the range is stale now.
        if let Some(span) = span {
            self.mark_bad(leg, span.virt, span.sectors);
        }
    }
}
