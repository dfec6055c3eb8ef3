// SPDX-License-Identifier: GPL-2.0

//! Cache segments (upstream cache_segment.c): which are in use, how many
//! on-media keys point into each, and each one's generation, which goes up
//! (durably) when the last key into it is collected, so that in-memory keys
//! still naming the old contents are recognised as stale.

use crate::cache_dev::{read_latest, CacheDev, SlotWriter};
use crate::pcache_format::{SegGen, SEG_CTRL_OFF};
use kernel::prelude::*;

/// One cache segment's state.
#[derive(Clone, Copy)]
pub(crate) struct Seg {
    pub(crate) gen: u64,
    gen_slot: SlotWriter,
    /// Keys (on media or in the open kset) and the data head using it.
    refs: u32,
    used: bool,
}

/// Every cache segment, and the allocation state.
pub(crate) struct Segments {
    segs: KVVec<Seg>,
    used: u32,
    hint: u32,
}

impl Segments {
    /// Loads each segment's generation (`cache_seg_ctrl_load()`): a
    /// segment with no valid copy is at generation 0.
    pub(crate) fn load(dev: &CacheDev) -> Result<Self> {
        let n = dev.n_segs();
        let mut segs = KVVec::with_capacity(n as usize, GFP_KERNEL)?;
        for seg in 0..n {
            let base = dev.seg_base(seg)? + SEG_CTRL_OFF;
            let latest = read_latest::<SegGen>(&dev.pmem, base)?;
            segs.push(
                Seg {
                    gen: latest.map_or(0, |(_, g)| g.gen.get()),
                    gen_slot: SlotWriter::new(base, latest.map(|(i, g)| (i, g.header.seq))),
                    refs: 0,
                    used: false,
                },
                GFP_KERNEL,
            )?;
        }
        Ok(Self {
            segs,
            used: 0,
            hint: 0,
        })
    }

    pub(crate) fn n_segs(&self) -> u32 {
        self.segs.len() as u32
    }

    pub(crate) fn used(&self) -> u32 {
        self.used
    }

    pub(crate) fn gen(&self, seg: u32) -> Option<u64> {
        self.segs.get(seg as usize).map(|s| s.gen)
    }

    /// Marks `seg` used (replay: it holds ksets or keyed data).
    pub(crate) fn mark_used(&mut self, seg: u32) {
        if let Some(s) = self.segs.get_mut(seg as usize) {
            if !s.used {
                s.used = true;
                self.used += 1;
            }
        }
    }

    /// Takes a free segment (`get_cache_segment()`), or `EBUSY`.
    pub(crate) fn alloc(&mut self) -> Result<u32> {
        let n = self.n_segs();
        for i in 0..n {
            let seg = (self.hint + i) % n;
            if let Some(s) = self.segs.get_mut(seg as usize) {
                if !s.used {
                    s.used = true;
                    self.used += 1;
                    self.hint = seg;
                    return Ok(seg);
                }
            }
        }
        Err(EBUSY)
    }

    /// Counts one more user of `seg` (`cache_seg_get()`).
    pub(crate) fn get(&mut self, seg: u32) {
        if let Some(s) = self.segs.get_mut(seg as usize) {
            s.refs = s.refs.saturating_add(1);
        }
    }

    /// Drops a user of `seg` (`cache_seg_put()`): the last one frees it,
    /// after its generation went up on the media, so that no key naming
    /// its old contents is taken for valid once it is reused. Returns
    /// whether the segment was freed.
    pub(crate) fn put(&mut self, dev: &CacheDev, seg: u32) -> Result<bool> {
        let Some(s) = self.segs.get_mut(seg as usize) else {
            return Err(EIO);
        };
        if s.refs == 0 {
            // A reference dropped twice: freeing now could reuse a segment
            // that dirty keys still point into. Refuse, loudly.
            kernel::pr_warn_once!("dm-pcache: segment {} reference dropped twice\n", seg);
            return Err(EIO);
        }
        s.refs -= 1;
        if s.refs > 0 {
            return Ok(false);
        }
        let mut rec = SegGen::default();
        rec.gen.set(s.gen.wrapping_add(1));
        s.gen_slot.write(&dev.pmem, &mut rec)?;
        s.gen = s.gen.wrapping_add(1);
        self.release(seg);
        Ok(true)
    }

    /// Frees a segment that held only ksets (`last_kset_gc()`): no key
    /// points into it, so its generation stays.
    pub(crate) fn release(&mut self, seg: u32) {
        if let Some(s) = self.segs.get_mut(seg as usize) {
            if s.used {
                s.used = false;
                self.used -= 1;
            }
        }
    }
}
