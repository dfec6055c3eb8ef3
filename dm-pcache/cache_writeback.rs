// SPDX-License-Identifier: GPL-2.0

//! Write-back (upstream cache_writeback.c): the kset at `dirty_tail` is
//! read, its keys resolved among themselves (a newer key in the kset wins
//! over an older one), their dirty data copied out of the cache and written
//! to the backing device; once every write completed, the backing device
//! is flushed and only then `dirty_tail` moves past the kset. Ksets are
//! written back one at a time, in log order, so an older kset's data can
//! never land after a newer one's.
//!
//! The work item drives a small state machine: completions (which may run
//! in interrupt context) only count down and kick the work again.

use crate::cache_dev::Pos;
use crate::cache_discard::{bounds, Discarded};
use crate::cache_key::{read_kset, Key, KeyTree, Nodes};
use crate::pcache_format::kset::{decode, Kset, KsetRead};
use crate::pcache_format::{CRC_SEED, KSET_ONMEDIA_SIZE_MAX};
use crate::pcache_index::{uncovered, CacheKey, Range};
use crate::rdm::io::IO_MAX_BYTES;
use crate::rdm::{noio, IoBuf, IoOp, TargetInfo, SECTOR_SHIFT};
use crate::Pcache;
use core::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use kernel::prelude::*;

/// How long an idle or failed writeback waits before it looks again (ms),
/// as upstream's `PCACHE_CACHE_WRITEBACK_INTERVAL`.
const WRITEBACK_INTERVAL_MS: u32 = 5000;

/// Where the writeback of the kset at `dirty_tail` is.
#[derive(Clone, Copy)]
pub(crate) enum WbStep {
    Idle,
    /// Data writes of a kset of `advance` bytes are in flight.
    Writing {
        advance: u32,
    },
    /// The flush that makes them durable is in flight.
    Flushing {
        advance: u32,
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
}

impl WbState {
    pub(crate) fn new() -> Result<Self> {
        Ok(Self {
            step: WbStep::Idle,
            kset_buf: KVec::from_elem(0u8, KSET_ONMEDIA_SIZE_MAX, GFP_KERNEL)?,
            discarded: KVec::new(),
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
                    self.wb_start(&mut wb)
                }
                WbStep::Writing { advance } => self.wb_flush(advance),
                WbStep::Flushing { advance } => self.wb_advance(advance),
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

    /// Starts on the kset at `dirty_tail` (`Clean` if everything is
    /// written back).
    fn wb_start(&self, wb: &mut WbState) -> Result<Next> {
        let pos = {
            let core = self.core.lock();
            if core.dirty_tail.pos == core.key_head {
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
            tree.refill(noio(|| Nodes::new(GFP_KERNEL))?);
            tree.insert(key)?;
        }
        // One count held while submitting, so the completions cannot finish
        // the step before every write is out.
        self.wb_pending.store(1, Release);
        self.wb_failed.store(false, Release);
        for key in tree.iter().filter(|k| !k.clean) {
            // What later discards left of it (cache_discard).
            for piece in uncovered(key.range(), &wb.discarded, bounds) {
                self.wb_key(key, piece);
            }
        }
        let step = WbStep::Writing { advance };
        Ok(self.wb_put(step))
    }

    /// Writes the data of `piece` of `key` to the backing device, in
    /// requests of at most one bio's worth.
    fn wb_key(&self, key: &Key, piece: Range) {
        // Inside the key: less than its (u32) length.
        let first = u32::try_from(piece.off.saturating_sub(key.off)).unwrap_or(u32::MAX);
        let last = first.saturating_add(piece.len);
        let mut done = first;
        while done < last {
            let n = (last - done).min(IO_MAX_BYTES as u32);
            let submitted = self.wb_submit(key, done, n);
            if submitted.is_err() {
                self.wb_failed.store(true, Release);
                return;
            }
            done += n;
        }
    }

    /// Copies `n` bytes of `key`'s data from `done` on out of the cache and
    /// writes them to the backing device.
    fn wb_submit(&self, key: &Key, done: u32, n: u32) -> Result {
        let addr = self.dev.addr(Pos {
            seg: key.pos.seg,
            off: key.pos.off + done,
        })?;
        let buf = noio(|| self.dev.pmem.read_to_new_buf(addr, n as usize, GFP_KERNEL))?;
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
    fn wb_flush(&self, advance: u32) -> Result<Next> {
        if self.wb_failed.load(Acquire) {
            return Err(EIO);
        }
        self.wb_pending.store(2, Release);
        if let Err((_, (), e)) =
            self.wb_io
                .submit(&self.backing, IoOp::Flush, 0, IoBuf::empty(), ())
        {
            self.wb_pending.store(0, Release);
            return Err(e);
        }
        Ok(self.wb_put(WbStep::Flushing { advance }))
    }

    /// The flush completed: the kset's data is on stable backing media, so
    /// `dirty_tail` moves past it (step 3 of the persist order).
    fn wb_advance(&self, advance: u32) -> Result<Next> {
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
