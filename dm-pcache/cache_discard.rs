// SPDX-License-Identifier: GPL-2.0

//! Discards (ours: the upstream target does not enable them). A discard
//! drops what the cache holds of its range and passes to the backing
//! device; dirty data of the range that is still to be written back must
//! then never reach the backing device after the discard did.
//!
//! Discards are served by the write-back work between two ksets, when no
//! write-back I/O is in flight, so none can land on the backing device
//! after the discard. For each discard:
//!
//! 1. The open kset is closed, so every key written before the discard
//!    lies in a kset before the key head `H`.
//! 2. The range and `H` are recorded (if anything is left to write back):
//!    write-back skips the parts of keys that a recorded range covers for
//!    as long as the record lasts, that is until `dirty_tail` reaches `H`.
//!    Every kset before `H` is older than the discard; keys written after
//!    it are in ksets at `H` or later and are written back whole.
//! 3. The index drops the range: reads go to the backing device, and a
//!    miss in flight over it does not fill the cache with what it read.
//! 4. The backing device discards the range; the index drops the range
//!    once more (a read that missed meanwhile may have filled it with what
//!    the backing device held before), and the discard completes.
//!
//! Steps 1 and 2 are skipped where they cannot be taken (see
//! [`Pcache::discard`]): a discard never waits.
//!
//! The on-media format has no record of a discard: after a crash or a
//! reopen, replay brings back the keys of the range that GC has not
//! collected yet, so the range may read as it did before the discard. A
//! discarded range's contents are undefined (the target does not claim
//! that discarded blocks read as zeroes); data written after the discard
//! is never hidden by them, its keys being newer.

use crate::cache_dev::Pos;
use crate::cache_key::Nodes;
use crate::cache_writeback::WbState;
use crate::pcache_index::chunk_len;
use crate::rdm::{noio, DeferredBio, TargetInfo, SECTOR_SHIFT};
use crate::Pcache;
use core::sync::atomic::Ordering::Relaxed;
use kernel::prelude::*;

/// At most this many discards are remembered by the write-back at once;
/// more go on without a record.
const DISCARDED_MAX: usize = 1024;

/// A discarded byte range `[start, end)`, which the write-back of ksets
/// before `head` skips.
pub(crate) struct Discarded {
    start: u64,
    end: u64,
    head: Pos,
}

/// The bounds of a record, for [`crate::pcache_index::uncovered`].
pub(crate) fn bounds(d: &Discarded) -> (u64, u64) {
    (d.start, d.end)
}

impl Pcache {
    /// Queues a discard for the write-back work.
    pub(crate) fn defer_discard(&self, bio: DeferredBio) {
        self.discards.lock().push(bio);
        self.writeback.reschedule(0);
    }

    /// Serves the waiting discards; the write-back work calls it between
    /// ksets (no write-back I/O in flight).
    pub(crate) fn serve_discards(&self, ti: &TargetInfo<'_>, wb: &mut WbState) {
        if !wb.discarded.is_empty() {
            let tail = self.core.lock().dirty_tail.pos;
            // Write-back reached their head: every kset older than them is
            // written back.
            wb.discarded.retain(|d| d.head != tail);
        }
        let mut list = self.discards.lock().take();
        while let Some(bio) = list.pop() {
            let start = ti.offset(bio.sector()) << SECTOR_SHIFT;
            let end = start + (u64::from(bio.sectors()) << SECTOR_SHIFT);
            bio.end(self.discard(wb, start, end));
        }
    }

    /// Steps 1 to 4 above for `[start, end)`. Never waits, so that no
    /// discard is held while write-back cannot go on (a failing backing
    /// device, a full cache): where the record cannot be made (no room to
    /// close the kset, [`DISCARDED_MAX`] records, no memory), the discard
    /// goes on without it, and older dirty data of the range may still be
    /// written back after it. The range's contents are undefined either
    /// way; the record only keeps write-back from doing useless work.
    fn discard(&self, wb: &mut WbState, start: u64, end: u64) -> Result {
        // Step 1, and the head a record would name.
        let head = {
            let mut core = self.core.lock();
            let closed = core.close_kset(&self.dev).is_ok();
            (closed && core.dirty_tail.pos != core.key_head).then_some(core.key_head)
        };
        // Step 3 first: if it fails half-way, no record skips keys the
        // index still holds, and write-back writes them as ever.
        self.drop_cached(start, end)?;
        // Step 2: write-back does not run before this returns.
        if let Some(head) = head {
            if wb.discarded.len() < DISCARDED_MAX {
                let record = Discarded { start, end, head };
                // Without it, only tidiness is lost (see above).
                let _ = noio(|| wb.discarded.push(record, GFP_KERNEL));
            }
        }
        // Step 4.
        self.backing
            .discard(start >> SECTOR_SHIFT, (end - start) >> SECTOR_SHIFT)?;
        // A read that missed after step 3 may have filled the range with
        // what the backing device held before the discard: dropped too.
        self.drop_cached(start, end)?;
        self.stats.discard_bytes.fetch_add(end - start, Relaxed);
        Ok(())
    }

    /// Drops `[start, end)` from the index, one 4 MiB index subtree at a
    /// time (the lock is held for a bounded number of keys).
    fn drop_cached(&self, start: u64, end: u64) -> Result {
        let mut off = start;
        while off < end {
            let left = u32::try_from(end - off).unwrap_or(u32::MAX);
            let n = chunk_len(off, left);
            let nodes = noio(|| Nodes::new(GFP_KERNEL))?;
            let mut core = self.core.lock();
            core.tree.refill(nodes);
            core.tree.remove_range(off, n)?;
            drop(core);
            off += u64::from(n);
        }
        Ok(())
    }
}
