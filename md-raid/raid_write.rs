// SPDX-License-Identifier: GPL-2.0

//! Writes and flushes (upstream: `raid1_write_request()`,
//! `raid10_write_request()` and their end_io): a clone to every usable copy,
//! completed when all have. A copy that fails fails its leg and the write
//! still succeeds while another copy holds it; the last copy is never
//! failed, so its error fails the write.
//!
//! Writes in flight are also counted per span of the array, so that a
//! read-error repair can tell whether a write overlapped its rewrite (see
//! `raid_read`): it never has to block writes, which is how md's
//! `freeze_array()` came to deadlock against I/O it waited for.

use crate::legs::bit;
use crate::rdm::{Bio, ChainedBio, Mapped};
use crate::{PerIo, Raid};
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering::SeqCst};
use kernel::prelude::*;

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

/// What a write clone carries: the leg it went to.
pub(crate) struct WriteCtx {
    leg: u32,
}

/// A write bio before and after its first clone.
enum WriteBio<'a> {
    Plain(Bio<'a, PerIo>),
    Chained(ChainedBio<'a, PerIo>),
}

impl Raid {
    /// Sends a write (or an empty flush) to every usable copy.
    pub(crate) fn write<'a>(&'a self, bio: Bio<'a, PerIo>, virt: u64) -> Mapped<'a> {
        let sectors = u64::from(bio.sectors());
        let usable = self.legs.usable();
        // A flush goes to every usable leg; data to the copies of its range
        // (one chunk at most: `max_io_len` splits raid10 I/O at chunks).
        let mut targets = [(0u32, 0u64); crate::raid_core::MAX_LEGS];
        let mut n = 0;
        if bio.has_data() {
            let Some(copies) = self.legs.map.map(virt) else {
                return bio.kill();
            };
            for c in copies.iter().filter(|c| usable & bit(c.leg) != 0) {
                if let Some(t) = targets.get_mut(n) {
                    *t = (c.leg, c.phys);
                    n += 1;
                }
            }
        } else {
            for leg in (0..self.legs.legs.len() as u32).filter(|l| usable & bit(*l) != 0) {
                if let Some(t) = targets.get_mut(n) {
                    *t = (leg, 0);
                    n += 1;
                }
            }
        }
        let span = bio.has_data().then_some(Span { virt, sectors });
        if n == 0 {
            return bio.kill();
        }
        if let Some(span) = span {
            self.clear_bad(span);
            self.spans.begin(span);
        }
        // A copy that cannot be sent (no clone: never, from the mempool)
        // missed the write: as a failed write of that leg.
        let mut result = Ok(());
        let mut bio = WriteBio::Plain(bio);
        for &(leg, phys) in targets.iter().take(n) {
            let Some(dev) = self.legs.dev(leg) else {
                continue;
            };
            let ctx = WriteCtx { leg };
            bio = match bio {
                WriteBio::Plain(b) => match self.writes.clone_bio(b, dev, phys, ctx) {
                    Ok(c) => WriteBio::Chained(c),
                    Err((b, _)) => {
                        result = result.and(self.leg_write_failed(leg, ENOMEM));
                        WriteBio::Plain(b)
                    }
                },
                WriteBio::Chained(b) => match self.writes.clone_chained_bio(b, dev, phys, ctx) {
                    Ok(c) => WriteBio::Chained(c),
                    Err((b, _)) => {
                        result = result.and(self.leg_write_failed(leg, ENOMEM));
                        WriteBio::Chained(b)
                    }
                },
            };
        }
        match bio {
            WriteBio::Chained(b) => {
                let (d, m) = b.defer_with(span);
                d.end(result);
                m
            }
            // No clone could be made: nothing was written.
            WriteBio::Plain(b) => {
                if let Some(span) = span {
                    self.spans.end(span);
                }
                b.kill()
            }
        }
    }

    /// A write clone completed. Any context.
    pub(crate) fn write_done(&self, ctx: WriteCtx, r: Result) -> Result {
        match r {
            Ok(()) => Ok(()),
            Err(e) => self.leg_write_failed(ctx.leg, e),
        }
    }

    /// A copy of a write failed with `e`: the leg is failed and the write
    /// holds on the other copies, unless the leg holds the last copy of
    /// some chunk, whose error then fails the write.
    fn leg_write_failed(&self, leg: u32, e: Error) -> Result {
        self.stats.write_errors.fetch_add(1, SeqCst);
        if self.legs.fail(leg) {
            self.leg_failed(leg);
            return Ok(());
        }
        if self.legs.faulty.load(SeqCst) & bit(leg) != 0 {
            // Failed meanwhile, by another write: its copies do not count.
            return Ok(());
        }
        Err(e)
    }
}
