// SPDX-License-Identifier: GPL-2.0

//! Write-back (upstream cache_writeback.c): the kset at `dirty_tail` is
//! read, its keys resolved among themselves (a newer key in the kset wins
//! over an older one), their dirty data sent from the cache's own pages to
//! the backing device (no copy, as upstream); once every write completed,
//! the backing device is flushed and only then `dirty_tail` moves past the
//! kset. Ksets are written back one at a time, in log order, so an older
//! kset's data can never land after a newer one's.
//!
//! The work item drives a small state machine: completions (which may run
//! in interrupt context) only count down and kick the work again.
//!
//! Two things differ from upstream, which writes back all the time and
//! every byte the log names:
//!
//! - Write-back is lazy while writes come in and less dirty data is held
//!   than half of what GC keeps (`gc_percent`), as bcache's
//!   `writeback_percent` and dm-writecache's watermarks: a write-back
//!   cache that copies each block out at once spends the CPU and the
//!   backing device's time the foreground wants, and copies blocks that
//!   are about to be overwritten. It also goes on when GC would collect
//!   but has nothing written back to collect (clean data and the key log
//!   filled the segments). It writes back everything while no write came
//!   for [`WRITEBACK_IDLE_MS`], and on the `flush` message and when a
//!   write waits for room until all is written back.
//! - Only what the index still maps to a key's own data is written back.
//!   The rest was overwritten by a newer key (whose own kset, later in
//!   the log, writes it back) or discarded. Skipping a range for a newer
//!   key is safe only if that key is durable: were it lost in a crash
//!   after `dirty_tail` passed the older key, the older key would be the
//!   range's newest data, and it would never reach the backing device.
//!   So the open kset is closed before the index is looked at, under the
//!   same lock hold: every key the index holds is then in a kset on the
//!   media.

use crate::cache_dev::Pos;
use crate::cache_discard::{bounds, Discarded};
use crate::cache_key::{read_kset, Key, KeyTree, Nodes};
use crate::pcache_format::kset::{decode, Kset, KsetRead};
use crate::pcache_format::{CRC_SEED, KSET_ONMEDIA_SIZE_MAX};
use crate::pcache_index::{uncovered, CacheKey, Range, ReadPiece, ReadWalk};
use crate::rdm::{noio, IoBuf, IoOp, TargetInfo, PMEM_SRC_MAX_BYTES, SECTOR_SHIFT};
use crate::Pcache;
use core::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use kernel::prelude::*;
use kernel::time::{Delta, Instant, Monotonic};

/// How long an idle or failed writeback waits before it looks again (ms),
/// as upstream's `PCACHE_CACHE_WRITEBACK_INTERVAL`.
const WRITEBACK_INTERVAL_MS: u32 = 5000;

/// A cache that took no write for this long (ms) is idle: everything is
/// written back.
const WRITEBACK_IDLE_MS: u32 = 1000;

/// Pieces of a kset's keys that write-back can note at once; a kset whose
/// keys fall into more pieces is written back whole.
const WB_PIECES_MAX: usize = 512;

/// Where the writeback of the kset at `dirty_tail` is.
#[derive(Clone, Copy)]
pub(crate) enum WbStep {
    Idle,
    /// Data writes of a kset of `advance` bytes, whose dirty keys name
    /// `dirty` bytes, are in flight; `sent` says whether any went out
    /// (else nothing needs the flush).
    Writing {
        advance: u32,
        dirty: u64,
        sent: bool,
    },
    /// The flush that makes them durable is in flight.
    Flushing {
        advance: u32,
        dirty: u64,
    },
}

/// What the work does after a step.
enum Next {
    Go(WbStep),
    /// Requests are in flight; `WbStep` is where their completion goes on.
    Wait(WbStep),
    /// Everything is written back.
    Clean,
}

/// The work item's own state.
pub(crate) struct WbState {
    step: WbStep,
    kset_buf: KVec<u8>,
    /// Discards newer than the ksets being written back (cache_discard).
    pub(crate) discarded: KVec<Discarded>,
    /// The parts of the kset's dirty keys that discards left.
    candidates: KVec<Key>,
    /// Of those, the parts that are still current.
    pieces: KVec<Key>,
    /// `Stats::write_bytes` as last seen, and since when it is so.
    seen_writes: u64,
    seen_at: Instant<Monotonic>,
    /// Write back until everything is (`flush`, room waits).
    drain: bool,
}

impl WbState {
    pub(crate) fn new() -> Result<Self> {
        Ok(Self {
            step: WbStep::Idle,
            kset_buf: KVec::from_elem(0u8, KSET_ONMEDIA_SIZE_MAX, GFP_KERNEL)?,
            discarded: KVec::new(),
            candidates: KVec::with_capacity(WB_PIECES_MAX, GFP_KERNEL)?,
            pieces: KVec::with_capacity(WB_PIECES_MAX, GFP_KERNEL)?,
            seen_writes: 0,
            seen_at: Instant::now(),
            drain: false,
        })
    }
}

impl Pcache {
    /// The writeback work item (`cache_writeback_fn()`).
    pub(crate) fn writeback_work(&self, ti: &TargetInfo<'_>) {
        let mut wb = self.wb.lock();
        // Requests of the current step are in flight: the last completion
        // runs the work again (anything else that kicks it must not start
        // the step over or reset the count).
        if self.wb_pending.load(Acquire) != 0 {
            return;
        }
        loop {
            let step = wb.step;
            let next = match step {
                WbStep::Idle => {
                    // Between ksets: where discards are served.
                    self.serve_discards(ti, &mut wb);
                    if !self.wb_due(&mut wb) {
                        self.writeback.schedule(WRITEBACK_IDLE_MS);
                        return;
                    }
                    self.wb_start(&mut wb)
                }
                WbStep::Writing {
                    advance,
                    dirty,
                    sent,
                } => self.wb_flush(advance, dirty, sent),
                WbStep::Flushing { advance, dirty } => self.wb_advance(advance, dirty),
            };
            match next {
                // Go on at once.
                Ok(Next::Go(next)) => wb.step = next,
                // Waiting for completions, which kick the work.
                Ok(Next::Wait(next)) => {
                    wb.step = next;
                    return;
                }
                Ok(Next::Clean) => {
                    wb.drain = false;
                    self.writeback.schedule(WRITEBACK_INTERVAL_MS);
                    return;
                }
                Err(e) => {
                    self.stats.writeback_errors.fetch_add(1, Relaxed);
                    pr_err!("dm-pcache: writeback failed: {:?}\n", e);
                    wb.step = WbStep::Idle;
                    self.writeback.schedule(WRITEBACK_INTERVAL_MS);
                    return;
                }
            }
        }
    }

    /// Asks the work to write back everything (`flush`, room waits).
    pub(crate) fn wb_drain(&self) {
        self.wb_drain_req.store(true, Release);
        self.writeback.reschedule(0);
    }

    /// Whether the next kset is written back now (see the module doc).
    fn wb_due(&self, wb: &mut WbState) -> bool {
        if self.wb_drain_req.swap(false, AcqRel) {
            wb.drain = true;
        }
        let writes = self.stats.write_bytes.load(Relaxed);
        if writes != wb.seen_writes {
            wb.seen_writes = writes;
            wb.seen_at = Instant::now();
        }
        let idle = wb.seen_at.elapsed() >= Delta::from_millis(WRITEBACK_IDLE_MS.into());
        wb.drain || idle || self.core.lock().writeback_due()
    }

    /// Starts on the kset at `dirty_tail` (`Clean` if everything is
    /// written back).
    fn wb_start(&self, wb: &mut WbState) -> Result<Next> {
        let pos = {
            let mut core = self.core.lock();
            if core.dirty_tail.pos == core.key_head {
                if core.kset_len() == 0 {
                    // Nothing dirty: no count can drift past this.
                    core.dirty_bytes = 0;
                }
                return Ok(Next::Clean);
            }
            core.dirty_tail.pos
        };
        // The kset is behind the key head: written, and not reclaimed
        // before dirty_tail passes it, so it is read outside the lock.
        let bytes = read_kset(&self.dev, pos, &mut wb.kset_buf)?;
        let keys = match decode(bytes).map_err(|_| EIO)? {
            // Between dirty_tail and the head there are only valid ksets.
            KsetRead::End(_) => return Err(EIO),
            KsetRead::Found(Kset::Last { next_cache_seg }) => {
                if next_cache_seg >= self.dev.n_segs() {
                    return Err(EIO);
                }
                let next = Pos {
                    seg: next_cache_seg,
                    off: 0,
                };
                self.core.lock().dirty_tail.set(&self.dev, next)?;
                return Ok(Next::Go(WbStep::Idle));
            }
            KsetRead::Found(k @ Kset::Keys(keys)) => (k.size() as u32, keys),
        };
        let (advance, keys) = keys;
        let mut tree = KeyTree::new();
        let mut dirty = 0u64;
        for k in keys {
            let key = Key::decode(k, self.dev_bytes, self.dev.n_segs())?;
            if self.data_crc {
                let addr = self.dev.addr(key.pos)?;
                if self.dev.pmem.crc32c(CRC_SEED, addr, key.len as usize)? != key.crc {
                    // Never write corrupt data over the backing device.
                    self.stats.crc_errors.fetch_add(1, Relaxed);
                    return Err(EIO);
                }
            }
            if !key.clean {
                dirty += u64::from(key.len);
            }
            tree.refill(noio(|| Nodes::new(GFP_KERNEL))?);
            tree.insert(key)?;
        }
        let current = self.uncovered_pieces(&tree, wb) && self.current_pieces(wb);
        // One count held while submitting, so the completions cannot finish
        // the step before every write is out.
        self.wb_pending.store(1, Release);
        self.wb_failed.store(false, Release);
        let mut sent = false;
        if current {
            for piece in wb.pieces.iter() {
                self.wb_key(piece, piece.range());
                sent = true;
            }
        } else {
            for key in tree.iter().filter(|k| !k.clean) {
                // What later discards left of it (cache_discard).
                for piece in uncovered(key.range(), &wb.discarded, bounds) {
                    self.wb_key(key, piece);
                    sent = true;
                }
            }
        }
        let step = WbStep::Writing {
            advance,
            dirty,
            sent,
        };
        Ok(self.wb_put(step))
    }

    /// Notes in `wb.candidates` the parts of `tree`'s dirty keys that later
    /// discards left (cache_discard), each as a key of its own; `false` if
    /// there are more than fit.
    fn uncovered_pieces(&self, tree: &KeyTree, wb: &mut WbState) -> bool {
        wb.candidates.clear();
        for key in tree.iter().filter(|k| !k.clean) {
            for piece in uncovered(key.range(), &wb.discarded, bounds) {
                if wb.candidates.push_within_capacity(key.part(piece)).is_err() {
                    return false;
                }
            }
        }
        true
    }

    /// Notes in `wb.pieces` the parts of `wb.candidates` that the index
    /// still maps to their own data (see the module doc); `false` if that
    /// cannot be told now (no room to close the open kset, more pieces
    /// than fit), and the candidates are written back whole.
    fn current_pieces(&self, wb: &mut WbState) -> bool {
        wb.pieces.clear();
        if wb.candidates.is_empty() {
            return true;
        }
        let mut core = self.core.lock();
        // Every key in the index is then in a kset on the media.
        if core.close_kset(&self.dev).is_err() {
            return false;
        }
        let mut skipped = 0u64;
        for key in wb.candidates.iter() {
            let mut walk = ReadWalk::new(key.range());
            while let Some(found) = walk.next(&core.tree) {
                let part = key.part(found.range());
                // The index names the very bytes of `part`.
                let own = match found {
                    ReadPiece::Hit { key_off, skip, .. } => {
                        core.tree.get(key_off).is_some_and(|k| {
                            k.gen == part.gen
                                && k.pos.seg == part.pos.seg
                                && k.pos.off.wrapping_add(skip) == part.pos.off
                        })
                    }
                    ReadPiece::Miss(_) | ReadPiece::Pending(_) => false,
                };
                if !own {
                    skipped += u64::from(part.len);
                } else if wb.pieces.push_within_capacity(part).is_err() {
                    return false;
                }
            }
        }
        drop(core);
        self.stats.wb_skipped_bytes.fetch_add(skipped, Relaxed);
        true
    }

    /// Writes the data of `piece` of `key` to the backing device, in
    /// requests of at most one bio's worth.
    fn wb_key(&self, key: &Key, piece: Range) {
        // Inside the key: less than its (u32) length.
        let first = u32::try_from(piece.off.saturating_sub(key.off)).unwrap_or(u32::MAX);
        let last = first.saturating_add(piece.len);
        let mut done = first;
        while done < last {
            let n = (last - done).min(PMEM_SRC_MAX_BYTES as u32);
            let submitted = self.wb_submit(key, done, n);
            if submitted.is_err() {
                self.wb_failed.store(true, Release);
                return;
            }
            done += n;
        }
    }

    /// Writes `n` bytes of `key`'s data from `done` on to the backing
    /// device, straight out of the cache.
    fn wb_submit(&self, key: &Key, done: u32, n: u32) -> Result {
        let addr = self.dev.addr(Pos {
            seg: key.pos.seg,
            off: key.pos.off + done,
        })?;
        // Sent from the cache as it is (no copy): the bytes stay unchanged
        // until the write completes, since their segment is not reclaimed
        // before dirty_tail passes this kset, which waits for it.
        let buf = self.dev.pmem.write_source(addr, n as usize)?;
        let sector = (key.off + u64::from(done)) >> SECTOR_SHIFT;
        self.wb_pending.fetch_add(1, AcqRel);
        self.wb_io
            .submit(&self.backing, IoOp::Write, sector, buf, ())
            .map_err(|(_, (), e)| {
                self.wb_pending.fetch_sub(1, AcqRel);
                e
            })
    }

    /// Drops the submitting count: goes on with `step` now if every
    /// request already completed.
    fn wb_put(&self, step: WbStep) -> Next {
        if self.wb_pending.fetch_sub(1, AcqRel) == 1 {
            Next::Go(step)
        } else {
            Next::Wait(step)
        }
    }

    /// The kset's writes completed: flushes the backing device.
    fn wb_flush(&self, advance: u32, dirty: u64, sent: bool) -> Result<Next> {
        if self.wb_failed.load(Acquire) {
            return Err(EIO);
        }
        if !sent {
            // All of it was overwritten or discarded: the data that replaced
            // it is written back (and flushed) by its own kset.
            return Ok(Next::Go(WbStep::Flushing { advance, dirty }));
        }
        self.wb_pending.store(2, Release);
        if let Err((_, (), e)) =
            self.wb_io
                .submit(&self.backing, IoOp::Flush, 0, IoBuf::empty(), ())
        {
            self.wb_pending.store(0, Release);
            return Err(e);
        }
        Ok(self.wb_put(WbStep::Flushing { advance, dirty }))
    }

    /// The flush completed: the kset's data is on stable backing media, so
    /// `dirty_tail` moves past it (step 3 of the persist order).
    fn wb_advance(&self, advance: u32, dirty: u64) -> Result<Next> {
        if self.wb_failed.load(Acquire) {
            return Err(EIO);
        }
        {
            let mut core = self.core.lock();
            let pos = core.dirty_tail.pos;
            let next = Pos {
                seg: pos.seg,
                off: pos.off + advance,
            };
            core.dirty_tail.set(&self.dev, next)?;
            core.dirty_bytes = core.dirty_bytes.saturating_sub(dirty);
        }
        self.stats.writeback_ksets.fetch_add(1, Relaxed);
        self.gc.reschedule(0);
        Ok(Next::Go(WbStep::Idle))
    }

    /// A writeback request completed (possibly in interrupt context).
    pub(crate) fn wb_done(&self, _ctx: (), _buf: IoBuf, result: Result) {
        if result.is_err() {
            self.wb_failed.store(true, Release);
        }
        if self.wb_pending.fetch_sub(1, AcqRel) == 1 {
            // Now, even if a later run is already queued.
            self.writeback.reschedule(0);
        }
    }
}
