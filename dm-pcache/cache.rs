// SPDX-License-Identifier: GPL-2.0

//! The cache's mutable state (upstream cache.c and the kset half of
//! cache_key.c): the index, the segments, the key log's head and tails,
//! the open kset and the data head, all under one spinlock.
//!
//! Persist ordering, each step argued where it happens:
//! 1. data is stored (flushcache) and fenced before the key naming it can
//!    reach the media (the open kset is only written at close);
//! 2. a kset is written after the terminator behind it, each fenced, so a
//!    torn close leaves the old end of the log in place;
//! 3. a tail moves only after what it skips is safe: `dirty_tail` after the
//!    backing device flushed the written-back data, `key_tail` after the
//!    segments it frees had their generations raised.

use crate::cache_dev::{CacheDev, Pos, SlotWriter};
use crate::cache_key::{Key, KeyTree};
use crate::cache_segment::Segments;
use crate::pcache_format::cache_info::CacheInfo;
use crate::pcache_format::kset::{encode_keys, encode_last};
use crate::pcache_format::{
    CachePos, KeyOnmedia, KSET_KEYS_MAX, KSET_ONMEDIA_SIZE_MAX, SEG_DATA_SIZE,
};
use kernel::prelude::*;

/// Bytes of a kset header: the size of a last kset and of a terminator.
pub(crate) const KSET_HEADER: u32 = 24;
static ZERO_HEADER: [u8; KSET_HEADER as usize] = [0; KSET_HEADER as usize];

/// A tail of the key log and the record that keeps it.
pub(crate) struct Tail {
    pub(crate) pos: Pos,
    slot: SlotWriter,
}

impl Tail {
    pub(crate) fn new(pos: Pos, slot: SlotWriter) -> Self {
        Self { pos, slot }
    }

    /// Moves the tail to `pos` and stores it durably (`cache_pos_encode()`).
    pub(crate) fn set(&mut self, dev: &CacheDev, pos: Pos) -> Result {
        let mut rec = CachePos::new(pos.seg, pos.off);
        self.slot.write(&dev.pmem, &mut rec)?;
        self.pos = pos;
        Ok(())
    }
}

/// Everything the lock protects.
pub(crate) struct Core {
    pub(crate) tree: KeyTree,
    pub(crate) segs: Segments,
    /// Where the next kset goes.
    pub(crate) key_head: Pos,
    /// The oldest kset not yet written back.
    pub(crate) dirty_tail: Tail,
    /// The oldest kset not yet collected.
    pub(crate) key_tail: Tail,
    pub(crate) info: CacheInfo,
    pub(crate) info_slot: SlotWriter,
    /// Bytes named by the dirty keys not yet written back: those of the
    /// ksets from `dirty_tail` on and of the open kset. Counted per key as
    /// logged, superseded or not: it is log space that only write-back
    /// (and then GC) gives back.
    pub(crate) dirty_bytes: u64,
    /// Keys appended and not yet in a kset on the media.
    kset: KVec<KeyOnmedia>,
    /// Room to encode a kset in.
    kset_buf: KVec<u8>,
    /// Where new data goes; holds a reference on its segment.
    data_head: Option<Pos>,
}

impl Core {
    pub(crate) fn new(
        tree: KeyTree,
        segs: Segments,
        key_head: Pos,
        dirty_tail: Tail,
        key_tail: Tail,
        info: CacheInfo,
        info_slot: SlotWriter,
    ) -> Result<Self> {
        Ok(Self {
            tree,
            segs,
            key_head,
            dirty_tail,
            key_tail,
            info,
            info_slot,
            dirty_bytes: 0,
            kset: KVec::with_capacity(KSET_KEYS_MAX as usize, GFP_KERNEL)?,
            kset_buf: KVec::from_elem(0u8, KSET_ONMEDIA_SIZE_MAX, GFP_KERNEL)?,
            data_head: None,
        })
    }

    /// Stores `cache_info` durably in its other slot.
    pub(crate) fn write_info(&mut self, dev: &CacheDev) -> Result {
        let mut info = self.info;
        self.info_slot.write(&dev.pmem, &mut info)?;
        self.info = info;
        Ok(())
    }

    /// Allocates up to `want` bytes of data space (`cache_data_alloc()`):
    /// never across a segment's end, so it may return less. Takes a
    /// reference on the segment for the key the space is for. `EBUSY` if no
    /// segment is free.
    pub(crate) fn alloc_data(&mut self, dev: &CacheDev, want: u32) -> Result<(Pos, u32)> {
        let head = match self.data_head {
            Some(head) => head,
            None => {
                let seg = self.segs.alloc()?;
                // The head's own reference: the segment is not freed while
                // new data may still go into it.
                self.segs.get(seg);
                Pos { seg, off: 0 }
            }
        };
        let remain = (SEG_DATA_SIZE as u32).saturating_sub(head.off);
        self.segs.get(head.seg);
        if remain > want {
            self.data_head = Some(Pos {
                seg: head.seg,
                off: head.off + want,
            });
            Ok((head, want))
        } else {
            self.data_head = None;
            // Cannot free it: the key's reference was taken above.
            self.segs.put(dev, head.seg)?;
            Ok((head, remain))
        }
    }

    /// Whether the open kset is full (the next key needs a close first).
    pub(crate) fn kset_full(&self) -> bool {
        self.kset.len() >= KSET_KEYS_MAX as usize
    }

    pub(crate) fn kset_len(&self) -> usize {
        self.kset.len()
    }

    /// Appends an inserted key to the open kset (`cache_key_append()`).
    /// The caller made room ([`Core::kset_full`]).
    pub(crate) fn append(&mut self, key: &Key, data_crc: u32) -> Result {
        self.kset
            .push_within_capacity(key.encode(data_crc))
            .map_err(|_| ENOSPC)?;
        if !key.clean {
            self.dirty_bytes += u64::from(key.len);
        }
        Ok(())
    }

    /// Whether write-back must not wait for the cache to be idle: dirty
    /// keys fill half of what GC keeps (`gc_percent`) of the data space,
    /// or GC would collect but has nothing behind `dirty_tail`.
    pub(crate) fn writeback_due(&self) -> bool {
        let space = u64::from(self.segs.n_segs()) * SEG_DATA_SIZE;
        let percent = u64::from(self.info.gc_percent());
        let gc_wants = u64::from(self.segs.used()) * 100 >= u64::from(self.segs.n_segs()) * percent;
        self.dirty_bytes * 200 >= space * percent
            || (gc_wants && self.key_tail.pos == self.dirty_tail.pos)
    }

    /// Writes the open kset at the key head (`cache_kset_close()`); `EBUSY`
    /// if the head's segment is full and no segment is free (the kset stays
    /// open).
    pub(crate) fn close_kset(&mut self, dev: &CacheDev) -> Result {
        if self.kset.is_empty() {
            return Ok(());
        }
        let size = KSET_HEADER + self.kset.len() as u32 * 40;
        // Room is kept behind every kset for the last kset that links the
        // log to its next segment.
        if (SEG_DATA_SIZE as u32).saturating_sub(self.key_head.off) < size + KSET_HEADER {
            let next = self.segs.alloc()?;
            let next_start = dev.addr(Pos { seg: next, off: 0 })?;
            let mut w = dev.pmem.writes()?;
            // The new segment may hold ksets of an earlier use: its start
            // must read as the end of the log before anything links to it.
            w.write(next_start, &ZERO_HEADER)?;
            w.persist();
            let mut last = [0u8; KSET_HEADER as usize];
            encode_last(next, &mut last).ok_or(EINVAL)?;
            let mut w = dev.pmem.writes()?;
            w.write(dev.addr(self.key_head)?, &last)?;
            w.persist();
            self.key_head = Pos { seg: next, off: 0 };
        }
        let n = encode_keys(&self.kset, &mut self.kset_buf).ok_or(EINVAL)?;
        let at = dev.addr(self.key_head)?;
        let bytes = self.kset_buf.get(..n).ok_or(EINVAL)?;
        // The terminator first, fenced: until the kset itself is durable,
        // the log still ends where it did (upstream writes both under one
        // fence, so a torn close can leave an old kset readable past the
        // new one).
        let mut w = dev.pmem.writes()?;
        w.write(at + u64::from(size), &ZERO_HEADER)?;
        w.persist();
        let mut w = dev.pmem.writes()?;
        w.write(at, bytes)?;
        w.persist();
        self.key_head.off += size;
        self.kset.clear();
        Ok(())
    }
}
