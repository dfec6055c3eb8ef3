// SPDX-License-Identifier: GPL-2.0

//! Cache keys (upstream cache_key.c): the in-memory key, the index that
//! holds them (one red-black tree ordered by logical offset; the overlap
//! rules are the shared `pcache-index` crate's), their on-media encoding,
//! and replay of the key log on open.

use crate::cache_dev::{CacheDev, Pos};
use crate::cache_segment::Segments;
use crate::pcache_format::kset::{decode, Kset, KsetRead, KEY_FLAG_CLEAN, KEY_FLAG_EMPTY};
use crate::pcache_format::{KeyOnmedia, CRC_SEED, KSET_ONMEDIA_SIZE_MAX, SEG_DATA_SIZE};
use crate::pcache_index::{self, CacheKey, KeyStore, Range, SUBTREE_SHIFT};
use kernel::alloc::Flags;
use kernel::prelude::*;
use kernel::rbtree::{RBTree, RBTreeNodeReservation};

/// A cached extent: `len` bytes of the backing device at `off`, whose data
/// is at `pos` in the cache, written while that segment was at generation
/// `gen`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Key {
    pub(crate) off: u64,
    pub(crate) len: u32,
    pub(crate) pos: Pos,
    pub(crate) gen: u64,
    /// Read from the backing device (a miss fill), so nothing to write back.
    pub(crate) clean: bool,
    /// The extent the data CRC covers: the key as written, before any
    /// newer key cut it (the bytes stay where they are in the cache).
    pub(crate) crc_pos: Pos,
    pub(crate) crc_len: u32,
    pub(crate) crc: u32,
    /// Non-zero for the placeholder of a read miss in flight (upstream's
    /// `PCACHE_CACHE_KEY_FLAGS_EMPTY`): its id, so that a fill completes
    /// only its own placeholder, never one put there after it was dropped.
    /// A placeholder has no data, holds no segment and is never written.
    pub(crate) fill: u32,
}

impl CacheKey for Key {
    fn range(&self) -> Range {
        Range::new(self.off, self.len)
    }

    fn is_placeholder(&self) -> bool {
        self.fill != 0
    }

    fn cut_front(&mut self, n: u32) {
        self.off = self.off.wrapping_add(u64::from(n));
        self.pos.off = self.pos.off.wrapping_add(n);
        self.len = self.len.saturating_sub(n);
    }

    fn cut_back(&mut self, n: u32) {
        self.len = self.len.saturating_sub(n);
    }
}

impl Key {
    /// The part `range` (inside the key) as a key of its own, naming the
    /// same bytes of the same data.
    pub(crate) fn part(&self, range: Range) -> Self {
        let mut part = *self;
        // Inside the key: both cuts are less than its (u32) length.
        part.cut_front(range.off.wrapping_sub(self.off) as u32);
        part.cut_back(self.range().end().wrapping_sub(range.end()) as u32);
        part
    }

    /// The on-media form (`cache_key_encode()`), with `data_crc` as given.
    pub(crate) fn encode(&self, data_crc: u32) -> KeyOnmedia {
        let mut k = KeyOnmedia::default();
        k.off.set(self.off);
        k.len.set(self.len);
        k.flags.set(if self.clean { KEY_FLAG_CLEAN } else { 0 });
        k.cache_seg_id.set(self.pos.seg);
        k.cache_seg_off.set(self.pos.off);
        k.seg_gen.set(self.gen);
        k.data_crc.set(data_crc);
        k
    }

    /// A key read from the media, with every check `cache_key_decode()`
    /// makes and those it misses: no placeholder flag (an in-flight miss is
    /// never written), sectors only, and no key across a 4 MiB index
    /// boundary (the C target looks a key up in the subtree of its start).
    pub(crate) fn decode(k: &KeyOnmedia, dev_bytes: u64, n_segs: u32) -> Result<Self> {
        k.check(dev_bytes, n_segs).map_err(|_| EIO)?;
        let (off, len) = (k.off.get(), k.len.get());
        let flags = k.flags.get();
        if flags & KEY_FLAG_EMPTY != 0 || (off | u64::from(len)) % 512 != 0 {
            return Err(EIO);
        }
        if off >> SUBTREE_SHIFT != (off + u64::from(len) - 1) >> SUBTREE_SHIFT {
            return Err(EIO);
        }
        let pos = Pos {
            seg: k.cache_seg_id.get(),
            off: k.cache_seg_off.get(),
        };
        Ok(Self {
            off,
            len,
            pos,
            gen: k.seg_gen.get(),
            clean: flags & KEY_FLAG_CLEAN != 0,
            crc_pos: pos,
            crc_len: len,
            crc: k.data_crc.get(),
            fill: 0,
        })
    }
}

/// Spare tree nodes taken before the lock, so that inserting under it never
/// allocates: a key insert needs at most two (a split).
pub(crate) struct Nodes([Option<RBTreeNodeReservation<u64, Key>>; 2]);

impl Nodes {
    pub(crate) fn new(flags: Flags) -> Result<Self> {
        Ok(Self([
            Some(RBTreeNodeReservation::new(flags)?),
            Some(RBTreeNodeReservation::new(flags)?),
        ]))
    }
}

/// The index of cached extents: non-overlapping keys by logical offset.
pub(crate) struct KeyTree {
    tree: RBTree<u64, Key>,
    spare: Nodes,
    count: usize,
    /// The id of the last placeholder.
    last_fill: u32,
}

impl KeyTree {
    pub(crate) fn new() -> Self {
        Self {
            tree: RBTree::new(),
            spare: Nodes([None, None]),
            count: 0,
            last_fill: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// How many spare nodes are at hand.
    fn spares(&self) -> usize {
        self.spare.0.iter().filter(|n| n.is_some()).count()
    }

    /// Tops the spare nodes up from `nodes` (what is left over is freed).
    pub(crate) fn refill(&mut self, nodes: Nodes) {
        for (slot, node) in self.spare.0.iter_mut().zip(nodes.0) {
            if slot.is_none() {
                *slot = node;
            }
        }
    }

    /// Inserts `key` with upstream's overlap fixup of older keys;
    /// `ENOMEM` (and nothing changed) if the spare nodes do not cover it.
    pub(crate) fn insert(&mut self, key: Key) -> Result {
        if pcache_index::nodes_needed(self, key.range()) > self.spares() {
            return Err(ENOMEM);
        }
        if pcache_index::insert(self, key) {
            Ok(())
        } else {
            Err(EINVAL)
        }
    }

    /// Removes what the index holds of `len` bytes at `off` (a discard);
    /// `ENOMEM` (and nothing changed) if the spare nodes do not cover it.
    pub(crate) fn remove_range(&mut self, off: u64, len: u32) -> Result {
        let r = Range::new(off, len);
        if pcache_index::nodes_needed_to_remove(self, r) > self.spares() {
            return Err(ENOMEM);
        }
        pcache_index::remove_range(self, r);
        Ok(())
    }

    /// Puts the placeholder of a read miss over `len` bytes at `off`, a gap
    /// of the index, in `node` (taken under the lock without sleeping):
    /// returns its id, or `None` if it cannot be placed (not a gap).
    pub(crate) fn insert_placeholder(
        &mut self,
        off: u64,
        len: u32,
        node: RBTreeNodeReservation<u64, Key>,
    ) -> Option<u32> {
        if let Some(slot) = self.spare.0.iter_mut().find(|n| n.is_none()) {
            *slot = Some(node);
        }
        let fill = match self.last_fill.wrapping_add(1) {
            0 => 1,
            id => id,
        };
        let key = Key {
            off,
            len,
            pos: Pos { seg: 0, off: 0 },
            gen: 0,
            clean: true,
            crc_pos: Pos { seg: 0, off: 0 },
            crc_len: 0,
            crc: 0,
            fill,
        };
        self.insert(key).ok()?;
        self.last_fill = fill;
        Some(fill)
    }

    /// The placeholder `fill` at `off`, if it is still there (no write
    /// replaced it; a write may have cut its back off).
    pub(crate) fn placeholder(&self, off: u64, fill: u32) -> Option<&Key> {
        self.tree.get(&off).filter(|k| k.fill == fill)
    }

    /// Keeps only the first `len` bytes of the placeholder `fill` at `off`
    /// (what the fill found room for; the rest stays a gap).
    pub(crate) fn shorten_placeholder(&mut self, off: u64, fill: u32, len: u32) {
        if let Some(k) = self.tree.get_mut(&off).filter(|k| k.fill == fill) {
            k.len = k.len.min(len);
        }
    }

    /// Drops the placeholder `fill` at `off`, if it is still there.
    pub(crate) fn drop_placeholder(&mut self, off: u64, fill: u32) {
        if self.placeholder(off, fill).is_some() {
            self.delete(off);
        }
    }

    /// Turns the placeholder at `off` into `key` in place (same offset, no
    /// node needed), if it is still the placeholder `fill` of `key.len`
    /// bytes.
    pub(crate) fn fill_placeholder(&mut self, fill: u32, key: Key) -> bool {
        match self.tree.get_mut(&key.off) {
            Some(k) if k.fill == fill && k.len == key.len => {
                *k = key;
                true
            }
            _ => false,
        }
    }

    /// The keys in offset order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Key> {
        self.tree.values()
    }

    pub(crate) fn get(&self, off: u64) -> Option<&Key> {
        self.tree.get(&off)
    }

    pub(crate) fn delete(&mut self, off: u64) {
        KeyStore::remove(self, off);
    }

    /// Removes the keys `stale` says are stale (after segments were
    /// reclaimed) among at most `budget` keys from offset `from` on,
    /// without allocating; returns where to go on, if keys are left.
    pub(crate) fn sweep(
        &mut self,
        from: u64,
        budget: usize,
        mut stale: impl FnMut(&Key) -> bool,
    ) -> Option<u64> {
        let mut cursor = self.tree.cursor_lower_bound_mut(&from);
        for _ in 0..budget {
            let c = cursor?;
            cursor = if stale(c.current().1) {
                let (next, _node) = c.remove_current();
                self.count -= 1;
                next
            } else {
                c.move_next()
            };
        }
        cursor.map(|c| *c.current().0)
    }
}

impl KeyStore for KeyTree {
    type Key = Key;

    fn floor(&self, off: u64) -> Option<&Key> {
        if let Some(k) = self.tree.get(&off) {
            return Some(k);
        }
        let below = match self.tree.cursor_lower_bound(&off) {
            Some(c) => c.peek_prev().map(|(k, _)| *k),
            None => self.tree.cursor_back().map(|c| *c.current().0),
        };
        self.tree.get(&below?)
    }

    fn next_after(&self, off: u64) -> Option<&Key> {
        let c = self.tree.cursor_lower_bound(&off.checked_add(1)?)?;
        let above = *c.current().0;
        self.tree.get(&above)
    }

    fn update(&mut self, off: u64, f: impl FnOnce(&mut Key)) {
        if let Some(k) = self.tree.get_mut(&off) {
            f(k);
        }
    }

    fn cut_front(&mut self, off: u64, n: u32) {
        // Re-sorted in its own node: no allocation under the lock.
        let (Some(mut key), Some(node)) =
            (self.tree.get(&off).copied(), self.tree.remove_node(&off))
        else {
            return;
        };
        key.cut_front(n);
        self.tree
            .insert(node.into_reservation().into_node(key.off, key));
    }

    fn remove(&mut self, off: u64) -> Option<Key> {
        let k = self.tree.remove(&off);
        if k.is_some() {
            self.count -= 1;
        }
        k
    }

    fn insert(&mut self, key: Key) {
        let Some(node) = self.spare.0.iter_mut().find_map(Option::take) else {
            // Cannot happen: `KeyTree::insert` checked the spare nodes.
            return;
        };
        self.tree.insert(node.into_node(key.off, key));
        self.count += 1;
    }
}

/// Reads the kset at `pos` into `buf` (which holds the largest one):
/// at most what is left of the segment.
pub(crate) fn read_kset<'b>(dev: &CacheDev, pos: Pos, buf: &'b mut [u8]) -> Result<&'b [u8]> {
    let remain = (SEG_DATA_SIZE as usize).saturating_sub(pos.off as usize);
    let n = remain.min(KSET_ONMEDIA_SIZE_MAX).min(buf.len());
    let bytes = buf.get_mut(..n).ok_or(EINVAL)?;
    dev.pmem.read(dev.addr(pos)?, bytes)?;
    Ok(bytes)
}

/// What replay found.
pub(crate) struct Replayed {
    pub(crate) key_head: Pos,
    /// Whether `dirty_tail` lies on the chain from `key_tail` to the head.
    pub(crate) dirty_tail_seen: bool,
    pub(crate) keys: u64,
    /// Bytes of the dirty keys from `dirty_tail` on ([`Core::dirty_bytes`]).
    ///
    /// [`Core::dirty_bytes`]: crate::cache::Core::dirty_bytes
    pub(crate) dirty_bytes: u64,
}

/// Replays the key log from `key_tail` (`cache_replay()`): each valid kset
/// in order, keys inserted with the overlap fixup (so newer keys win), a
/// last kset jumping to the next segment at most `n_segs` times, the first
/// invalid kset ending the log there (the key head). Stale keys (their
/// segment was reclaimed since) are skipped before their data CRC is
/// checked; a key that fails a check fails the open with `EIO`.
pub(crate) fn replay(
    dev: &CacheDev,
    segs: &mut Segments,
    tree: &mut KeyTree,
    key_tail: Pos,
    dirty_tail: Pos,
    dev_bytes: u64,
    data_crc: bool,
) -> Result<Replayed> {
    let mut buf = KVec::from_elem(0u8, KSET_ONMEDIA_SIZE_MAX, GFP_KERNEL)?;
    let n_segs = segs.n_segs();
    let mut pos = key_tail;
    let mut hops = 0u32;
    let mut keys = 0;
    let mut dirty_tail_seen = false;
    let mut dirty_bytes = 0u64;
    segs.mark_used(pos.seg);
    loop {
        dirty_tail_seen |= pos == dirty_tail;
        let bytes = read_kset(dev, pos, &mut buf)?;
        let kset = match decode(bytes).map_err(|_| EIO)? {
            KsetRead::End(_) => break,
            KsetRead::Found(k) => k,
        };
        match kset {
            Kset::Last { next_cache_seg } => {
                hops += 1;
                if next_cache_seg >= n_segs || hops > n_segs {
                    return Err(EIO);
                }
                pos = Pos {
                    seg: next_cache_seg,
                    off: 0,
                };
                segs.mark_used(pos.seg);
            }
            Kset::Keys(on_media) => {
                let size = kset.size() as u32;
                for k in on_media {
                    let key = Key::decode(k, dev_bytes, n_segs)?;
                    if segs.gen(key.pos.seg) != Some(key.gen) {
                        continue;
                    }
                    if data_crc {
                        let addr = dev.addr(key.pos)?;
                        if dev.pmem.crc32c(CRC_SEED, addr, key.len as usize)? != key.crc {
                            return Err(EIO);
                        }
                    }
                    tree.refill(Nodes::new(GFP_KERNEL)?);
                    tree.insert(key)?;
                    segs.mark_used(key.pos.seg);
                    segs.get(key.pos.seg);
                    keys += 1u64;
                    if dirty_tail_seen && !key.clean {
                        dirty_bytes += u64::from(key.len);
                    }
                }
                pos.off += size;
            }
        }
    }
    Ok(Replayed {
        key_head: pos,
        dirty_tail_seen,
        keys,
        dirty_bytes,
    })
}
