// SPDX-License-Identifier: GPL-2.0

//! Requests (upstream cache_req.c): writes go into the cache and the key
//! log, reads are served from cached extents with the gaps read from the
//! backing device (and kept in the cache: the read-miss fill), flushes close
//! the open kset.

use crate::cache::Core;
use crate::cache_dev::{CacheDev, Pos};
use crate::cache_key::{Key, KeyTree, Nodes};
use crate::pcache_format::CRC_SEED;
use crate::pcache_index::{chunk_len, Range, ReadPiece, ReadWalk};
use crate::rdm::{
    noio, Bio, BioData, ChainedBio, CloneData, Mapped, BOUNCE_MAX_BYTES, SECTOR_SHIFT,
};
use crate::Pcache;
use core::sync::atomic::Ordering::Relaxed;
use kernel::prelude::*;
use kernel::rbtree::RBTreeNodeReservation;

/// What a write request asks for, taken from its bio.
#[derive(Clone, Copy)]
pub(crate) struct WriteReq {
    /// Byte offset on the backing device.
    pub(crate) off: u64,
    pub(crate) preflush: bool,
    pub(crate) fua: bool,
    pub(crate) has_data: bool,
}

/// Gaps of a read collected under the lock and sent to the backing device
/// after it: at most this many per round.
const MISSES_PER_ROUND: usize = 8;

/// A gap of a read: `len` bytes `bio_off` into the bio, and the placeholder
/// its fill completes, if it got one.
#[derive(Clone, Copy, Default)]
struct Miss {
    bio_off: u32,
    len: u32,
    fill: Option<Fill>,
}

/// The placeholder a read miss put in the index (`cache_miss_req_init()`
/// with `insert_key`): the backing read's completion stores its bytes in
/// the cache and turns the placeholder into a clean key, unless a write
/// replaced it meanwhile.
#[derive(Clone, Copy)]
pub(crate) struct Fill {
    off: u64,
    id: u32,
}

/// A read bio before and after its first clone to the backing device.
enum ReadBio<'a> {
    Plain(Bio<'a>),
    Chained(ChainedBio<'a>),
}

impl<'a> ReadBio<'a> {
    fn read_from_cache(&mut self, pc: &Pcache, addr: u64, bio_off: u32, len: u32) -> Result {
        match self {
            Self::Plain(b) => pc.dev.pmem.read_into_bio(addr, b, bio_off, len),
            Self::Chained(b) => pc.dev.pmem.read_into_bio(addr, b, bio_off, len),
        }
    }

    /// Sends a gap of the bio to the backing device. A gap with a
    /// placeholder is read into pages of the clone's own (bounced), so that
    /// what its fill keeps for every later reader is what the backing
    /// device returned, not what this reader's pages hold by the time the
    /// fill copies them (user memory under O_DIRECT, which another thread
    /// of the reader may rewrite meanwhile: upstream's
    /// `cache_copy_from_req_bio()` in `miss_read_end_req()` has that hole).
    /// Without memory for the bounce the gap is read into the bio's own
    /// pages and not kept.
    fn read_from_backing(self, pc: &'a Pcache, off: u64, miss: Miss) -> Result<Self, Mapped<'a>> {
        let sector = (off + u64::from(miss.bio_off)) >> SECTOR_SHIFT;
        let range = (miss.bio_off, miss.len);
        let bio = match (self, miss.fill) {
            (bio, None) => bio,
            (Self::Plain(b), fill @ Some(_)) => {
                match pc
                    .misses
                    .clone_range_bounced(b, &pc.backing, sector, range, fill)
                {
                    Ok(b) => return Ok(Self::Chained(b)),
                    Err((b, fill)) => {
                        pc.drop_fill(fill);
                        Self::Plain(b)
                    }
                }
            }
            (Self::Chained(b), fill @ Some(_)) => {
                match pc
                    .misses
                    .clone_chained_range_bounced(b, &pc.backing, sector, range, fill)
                {
                    Ok(b) => return Ok(Self::Chained(b)),
                    Err((b, fill)) => {
                        pc.drop_fill(fill);
                        Self::Chained(b)
                    }
                }
            }
        };
        let r = match bio {
            Self::Plain(b) => pc
                .misses
                .clone_range(b, &pc.backing, sector, range, None)
                .map_err(|(b, _)| b.kill()),
            Self::Chained(b) => pc
                .misses
                .clone_chained_range(b, &pc.backing, sector, range, None)
                .map_err(|(b, _)| {
                    let (d, m) = b.defer();
                    d.end(Err(ENOMEM));
                    m
                }),
        };
        r.map(Self::Chained)
    }

    fn end(self, result: Result) -> Mapped<'a> {
        let (d, m) = match self {
            Self::Plain(b) => b.defer(),
            Self::Chained(b) => b.defer(),
        };
        d.end(result);
        m
    }
}

impl Pcache {
    /// Serves a read (`cache_read()`): cached pieces are copied from the
    /// cache under the lock (so a segment cannot be reclaimed under the
    /// copy), gaps are sent to the backing device as clones of their range,
    /// each new gap with a placeholder for its fill. A read that is all one
    /// gap without a placeholder (no memory for one) is remapped as it is.
    pub(crate) fn read<'a>(&'a self, bio: Bio<'a>, off: u64) -> Mapped<'a> {
        let len = bio.data_len();
        let end = off + u64::from(len);
        let mut bio = ReadBio::Plain(bio);
        let mut from = off;
        loop {
            let mut misses = [Miss::default(); MISSES_PER_ROUND];
            let mut n = 0;
            let mut more = None;
            if let Err(e) = self.copy_hits(&mut bio, off, from, end, &mut misses, &mut n, &mut more)
            {
                for m in misses.iter().take(n) {
                    self.drop_fill(m.fill);
                }
                return bio.end(Err(e));
            }
            // One gap of the whole bio, not to be kept.
            if more.is_none() && n == 1 && misses[0].fill.is_none() && misses[0].len == len {
                if let ReadBio::Plain(mut b) = bio {
                    self.stats.miss_bytes.fetch_add(u64::from(len), Relaxed);
                    b.set_dev(&self.backing);
                    b.set_sector(off >> SECTOR_SHIFT);
                    return b.remap();
                }
            }
            let mut sent = 0;
            for &miss in misses.iter().take(n) {
                self.stats
                    .miss_bytes
                    .fetch_add(u64::from(miss.len), Relaxed);
                sent += 1;
                bio = match bio.read_from_backing(self, off, miss) {
                    Ok(b) => b,
                    Err(mapped) => {
                        for m in misses.iter().take(n).skip(sent) {
                            self.drop_fill(m.fill);
                        }
                        return mapped;
                    }
                };
            }
            match more {
                Some(next) => from = next,
                None => return bio.end(Ok(())),
            }
        }
    }

    /// One round of a read under the lock: copies the hits from `from` on
    /// and collects up to [`MISSES_PER_ROUND`] gaps (as bio offset and
    /// length); `more` is where the next round starts if this one stopped
    /// early (at a gap there was no room for).
    #[expect(
        clippy::too_many_arguments,
        reason = "one round's in and out parameters"
    )]
    fn copy_hits(
        &self,
        bio: &mut ReadBio<'_>,
        off: u64,
        from: u64,
        end: u64,
        misses: &mut [Miss; MISSES_PER_ROUND],
        n: &mut usize,
        more: &mut Option<u64>,
    ) -> Result {
        let mut core = self.core.lock();
        let mut walk = ReadWalk::new(Range::new(from, (end - from) as u32));
        while let Some(piece) = walk.next(&core.tree) {
            match piece {
                ReadPiece::Hit {
                    range,
                    key_off,
                    skip,
                } => {
                    let Some(key) = core.tree.get(key_off).copied() else {
                        return Err(EIO);
                    };
                    if core.segs.gen(key.pos.seg) != Some(key.gen) {
                        // Its segment was reclaimed: the bytes are gone
                        // from the cache (written back first), read them
                        // from the backing device.
                        core.tree.delete(key_off);
                        walk.rewind(range.off);
                        continue;
                    }
                    self.verify(&key)?;
                    let addr = self.dev.addr(Pos {
                        seg: key.pos.seg,
                        off: key.pos.off + skip,
                    })?;
                    bio.read_from_cache(self, addr, (range.off - off) as u32, range.len)?;
                    self.stats
                        .hit_bytes
                        .fetch_add(u64::from(range.len), Relaxed);
                }
                ReadPiece::Miss(range) => {
                    // One placeholder per index chunk (a key never crosses
                    // a subtree boundary) and per bounced read.
                    let mut at = range.off;
                    while at < range.end() {
                        let len = chunk_len(at, (range.end() - at) as u32).min(BOUNCE_MAX_BYTES);
                        let Some(slot) = misses.get_mut(*n) else {
                            // The next round starts here.
                            *more = Some(at);
                            return Ok(());
                        };
                        // Never sleeps: without memory the miss is read
                        // but not kept.
                        let fill = RBTreeNodeReservation::new(GFP_NOWAIT)
                            .ok()
                            .and_then(|node| core.tree.insert_placeholder(at, len, node))
                            .map(|id| Fill { off: at, id });
                        *slot = Miss {
                            bio_off: (at - off) as u32,
                            len,
                            fill,
                        };
                        *n += 1;
                        at += u64::from(len);
                    }
                }
                ReadPiece::Pending(range) => {
                    // Another read's fill is in flight: read the backing
                    // device for this request only.
                    let bio_off = (range.off - off) as u32;
                    if let Some(last) = n.checked_sub(1).and_then(|i| misses.get_mut(i)) {
                        if last.fill.is_none() && last.bio_off + last.len == bio_off {
                            last.len += range.len;
                            continue;
                        }
                    }
                    let Some(slot) = misses.get_mut(*n) else {
                        *more = Some(range.off);
                        return Ok(());
                    };
                    *slot = Miss {
                        bio_off,
                        len: range.len,
                        fill: None,
                    };
                    *n += 1;
                }
            }
        }
        Ok(())
    }

    /// Drops the placeholder of a miss that will not be read.
    fn drop_fill(&self, fill: Option<Fill>) {
        if let Some(f) = fill {
            self.core.lock().tree.drop_placeholder(f.off, f.id);
        }
    }

    /// Completes a gap's read from the backing device, in process context
    /// with the bytes read (`miss_read_end_req()`): a placeholder still in
    /// place gets space in the cache and the data, and becomes a clean key
    /// appended to the key log. The read's own result is what the request
    /// gets: a fill that cannot be done only leaves the range uncached.
    pub(crate) fn miss_done(&self, fill: Option<Fill>, r: Result, data: &CloneData<'_>) -> Result {
        if let Some(f) = fill {
            match r.and_then(|()| self.fill(f, data)) {
                Ok(filled) => {
                    self.stats.fill_bytes.fetch_add(u64::from(filled), Relaxed);
                }
                Err(_) => self.drop_fill(fill),
            }
        }
        r
    }

    /// Stores what a miss read in the cache (or part of it, up to the end
    /// of the data head's segment) and replaces its placeholder by a clean
    /// key; returns how many bytes it kept. An error leaves the placeholder
    /// for the caller to drop.
    fn fill(&self, f: Fill, data: &CloneData<'_>) -> Result<u32> {
        // Space under the lock, as for a write; the key's segment reference
        // comes with it.
        let (pos, got, gen) = {
            let mut core = self.core.lock();
            let len = core.tree.placeholder(f.off, f.id).ok_or(ENOENT)?.len;
            let (pos, got) = core.alloc_data(&self.dev, len.min(data.data_len()))?;
            // The rest of the range stays uncached.
            core.tree.shorten_placeholder(f.off, f.id, got);
            (pos, got, core.segs.gen(pos.seg).unwrap_or(0))
        };
        let stored = self.store(data, pos, 0, got);
        let mut core = self.core.lock();
        let key = Key {
            off: f.off,
            len: got,
            pos,
            gen,
            clean: true,
            crc_pos: pos,
            crc_len: got,
            crc: 0,
            fill: 0,
        };
        let added = stored.and_then(|crc| {
            Self::log_key(&mut core, &self.dev, Key { crc, ..key }, |tree, key| {
                // A write that replaced or cut the placeholder meanwhile
                // wins: nothing is filled then (the CRC covers `got` bytes).
                if tree.fill_placeholder(f.id, key) {
                    Ok(())
                } else {
                    Err(ENOENT)
                }
            })
        });
        if let Err(e) = added {
            // Nothing names the space: give the reference back.
            core.segs.put(&self.dev, pos.seg)?;
            return Err(e);
        }
        let first = core.kset_len() == 1;
        drop(core);
        if first {
            self.kset_flush.schedule(1000);
        }
        Ok(got)
    }

    /// With `data_crc`, checks a key's data against its CRC before any of
    /// it is returned: a mismatch is an I/O error and a counter, never
    /// corrupt data (upstream checks CRCs only on replay, GC and writeback).
    fn verify(&self, key: &Key) -> Result {
        if !self.data_crc {
            return Ok(());
        }
        let addr = self.dev.addr(key.crc_pos)?;
        if self.dev.pmem.crc32c(CRC_SEED, addr, key.crc_len as usize)? != key.crc {
            self.stats.crc_errors.fetch_add(1, Relaxed);
            return Err(EIO);
        }
        Ok(())
    }

    /// Handles a write or flush (`cache_write()`, `pcache_cache_flush()`):
    /// `EBUSY` means the cache has no room now and the request must be
    /// retried from the start once space is freed (upstream does the same:
    /// the newest copy of a range wins, so rewriting is harmless).
    pub(crate) fn write<B: BioData>(&self, bio: &B, req: WriteReq) -> Result {
        if req.preflush {
            self.core.lock().close_kset(&self.dev)?;
        }
        if req.has_data {
            self.write_data(bio, req.off)?;
            if req.fua {
                self.core.lock().close_kset(&self.dev)?;
            }
        }
        Ok(())
    }

    fn write_data<B: BioData>(&self, bio: &B, off: u64) -> Result {
        let len = bio.data_len();
        let mut done = 0;
        while done < len {
            let nodes = noio(|| Nodes::new(GFP_KERNEL))?;
            let at = off + u64::from(done);
            // Space first, under the lock: the key's reference taken with it
            // keeps the segment from being freed while the data is copied.
            let (pos, got, gen) = {
                let mut core = self.core.lock();
                let (pos, got) = core.alloc_data(&self.dev, chunk_len(at, len - done))?;
                (pos, got, core.segs.gen(pos.seg).unwrap_or(0))
            };
            // The copy and its CRC outside the lock (as upstream: only the
            // index and the kset are under it). Writes that overlap and are
            // in flight together have no order to keep.
            let stored = self.store(bio, pos, done, got);
            let mut core = self.core.lock();
            let key = Key {
                off: at,
                len: got,
                pos,
                gen,
                clean: false,
                crc_pos: pos,
                crc_len: got,
                crc: 0,
                fill: 0,
            };
            let added = stored.and_then(|crc| {
                core.tree.refill(nodes);
                Self::log_key(&mut core, &self.dev, Key { crc, ..key }, KeyTree::insert)
            });
            if let Err(e) = added {
                // Nothing names the space: give the reference back.
                core.segs.put(&self.dev, pos.seg)?;
                return Err(e);
            }
            let first = core.kset_len() == 1;
            drop(core);
            if first {
                // Closed within a second, as upstream's kset flush work.
                self.kset_flush.schedule(1000);
            }
            done += got;
        }
        self.stats.write_bytes.fetch_add(u64::from(len), Relaxed);
        Ok(())
    }

    /// Puts a stored key in the index with `index` (a write's insert, a
    /// fill's placeholder replaced) and appends it to the open kset
    /// (`cache_key_insert()` + `cache_key_append()`), closing a full kset
    /// first: `EBUSY` (and nothing changed) if it cannot be written yet.
    fn log_key(
        core: &mut Core,
        dev: &CacheDev,
        key: Key,
        index: impl FnOnce(&mut KeyTree, Key) -> Result,
    ) -> Result {
        if core.kset_full() {
            core.close_kset(dev)?;
        }
        index(&mut core.tree, key)?;
        // Cannot fail: the kset has room (checked above, under the lock).
        core.append(&key, key.crc)?;
        if core.kset_full() {
            // On EBUSY the kset stays open and the next write closes it.
            let _ = core.close_kset(dev);
        }
        Ok(())
    }

    /// Stores `len` bytes of `bio` at `bio_off` in the data space at `pos`;
    /// returns their CRC if the cache keeps data CRCs.
    fn store<B: BioData>(&self, bio: &B, pos: Pos, bio_off: u32, len: u32) -> Result<u32> {
        let addr = self.dev.addr(pos)?;
        let mut w = self.dev.pmem.writes()?;
        w.write_from_bio(addr, bio, bio_off, len)?;
        // Step 1: the data is durable before the kset naming it is written
        // (at close, always after this fence).
        w.persist();
        if self.data_crc {
            self.dev.pmem.crc32c(CRC_SEED, addr, len as usize)
        } else {
            Ok(0)
        }
    }
}
