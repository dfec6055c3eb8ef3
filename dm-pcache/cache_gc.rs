// SPDX-License-Identifier: GPL-2.0

//! Garbage collection (upstream cache_gc.c): once more than `gc_percent`
//! of the segments are in use, the ksets from `key_tail` up to
//! `dirty_tail` (all written back) are collected in log order: each key
//! drops its segment's reference, the last one frees the segment (its
//! generation raised first), and `key_tail` moves past the kset.

use crate::cache_dev::Pos;
use crate::cache_key::{read_kset, Key};
use crate::pcache_format::kset::{decode, Kset, KsetRead};
use crate::pcache_index::CacheKey;
use crate::Pcache;
use core::sync::atomic::Ordering::Relaxed;
use kernel::prelude::*;

/// How often GC looks (ms), as upstream's `PCACHE_CACHE_GC_INTERVAL`.
const GC_INTERVAL_MS: u32 = 5000;
/// Keys looked at per lock hold when stale keys are swept out.
const SWEEP_BATCH: usize = 256;

impl Pcache {
    /// The GC work item (`pcache_cache_gc_fn()`).
    pub(crate) fn gc_work(&self) {
        if self.gc_failed.load(Relaxed) {
            return;
        }
        let mut buf = self.gc_buf.lock();
        let mut freed = false;
        let r = loop {
            match self.gc_one(&mut buf, &mut freed) {
                Ok(true) => continue,
                Ok(false) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        if freed {
            // Keys still naming freed segments can never be hits again:
            // dropped a batch per lock hold (as upstream's clean_fn).
            let mut from = Some(0);
            while let Some(start) = from {
                let mut guard = self.core.lock();
                let core = &mut *guard;
                let segs = &core.segs;
                from = core.tree.sweep(start, SWEEP_BATCH, |k| {
                    !k.is_placeholder() && segs.gen(k.pos.seg) != Some(k.gen)
                });
                drop(guard);
            }
            self.retry.reschedule(0);
        }
        match r {
            Ok(()) => {
                self.gc.schedule(GC_INTERVAL_MS);
            }
            Err(e) => {
                // As upstream: a kset GC cannot collect is not tried
                // again; GC stops and the error is counted.
                self.gc_failed.store(true, Relaxed);
                self.stats.gc_errors.fetch_add(1, Relaxed);
                pr_err!("dm-pcache: gc stopped: {:?}\n", e);
            }
        }
    }

    /// Collects the kset at `key_tail`; `Ok(false)` when there is nothing
    /// to collect now.
    fn gc_one(&self, buf: &mut KVec<u8>, freed: &mut bool) -> Result<bool> {
        let mut core = self.core.lock();
        let tail = core.key_tail.pos;
        if tail == core.dirty_tail.pos {
            return Ok(false);
        }
        let threshold = u64::from(core.segs.n_segs()) * u64::from(core.info.gc_percent()) / 100;
        if u64::from(core.segs.used()) < threshold {
            return Ok(false);
        }
        let bytes = read_kset(&self.dev, tail, buf)?;
        match decode(bytes).map_err(|_| EIO)? {
            KsetRead::End(_) => Err(EIO),
            KsetRead::Found(Kset::Last { next_cache_seg }) => {
                // The segment holds no more ksets to write back only once
                // dirty_tail left it.
                if core.dirty_tail.pos.seg == tail.seg {
                    return Ok(false);
                }
                if next_cache_seg >= self.dev.n_segs() {
                    return Err(EIO);
                }
                let next = Pos {
                    seg: next_cache_seg,
                    off: 0,
                };
                core.key_tail.set(&self.dev, next)?;
                core.segs.release(tail.seg);
                Ok(true)
            }
            KsetRead::Found(k @ Kset::Keys(keys)) => {
                // Every key is checked before any reference is dropped: a
                // kset is collected whole or not at all.
                for on_media in keys {
                    Key::decode(on_media, self.dev_bytes, self.dev.n_segs())?;
                }
                for on_media in keys {
                    let key = Key::decode(on_media, self.dev_bytes, self.dev.n_segs())?;
                    // A stale key (its segment was freed before a crash
                    // let key_tail move) holds no reference.
                    if core.segs.gen(key.pos.seg) == Some(key.gen) {
                        *freed |= core.segs.put(&self.dev, key.pos.seg)?;
                    }
                }
                // Step 3: the freed segments' generations are durable
                // before key_tail moves past the keys that held them.
                let next = Pos {
                    seg: tail.seg,
                    off: tail.off + k.size() as u32,
                };
                core.key_tail.set(&self.dev, next)?;
                Ok(true)
            }
        }
    }
}
