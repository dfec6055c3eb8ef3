// SPDX-License-Identifier: GPL-2.0

//! Walking kset chains the way the kernel does (`cache_replay()`,
//! `cache_verify_dirty_tail()`, writeback), and the resulting index of
//! cached extents.

use crate::image::Image;
use crate::load::Cache;
use pcache_format::kset::{decode, Kset, KsetEnd, KsetRead};
use pcache_format::{FormatError, KeyOnmedia, KSET_ONMEDIA_SIZE_MAX, SEG_DATA_SIZE};
use pcache_index::{CacheKey, KeyStore, Range};
use serde::Serialize;
use std::collections::BTreeMap;

/// One kset found on a walk.
#[derive(Clone, Debug, Serialize)]
pub struct KsetAt {
    pub cache_seg: u32,
    pub seg_off: u32,
    /// `None` for a last kset, which links to `next`.
    pub keys: Option<Vec<Key>>,
    pub next: Option<u32>,
}

/// A key as decoded, with where its data is: the fields for reports, and the
/// on-media key they came from for the crate's checks.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub struct Key {
    #[serde(skip)]
    pub raw: KeyOnmedia,
    pub off: u64,
    pub len: u32,
    pub flags: u32,
    pub cache_seg: u32,
    pub seg_off: u32,
    pub seg_gen: u64,
    pub data_crc: u32,
}

impl From<&KeyOnmedia> for Key {
    fn from(k: &KeyOnmedia) -> Self {
        Self {
            raw: *k,
            off: k.off.get(),
            len: k.len.get(),
            flags: k.flags.get(),
            cache_seg: k.cache_seg_id.get(),
            seg_off: k.cache_seg_off.get(),
            seg_gen: k.seg_gen.get(),
            data_crc: k.data_crc.get(),
        }
    }
}

impl Key {
    pub fn is_clean(&self) -> bool {
        self.flags & pcache_format::kset::KEY_FLAG_CLEAN != 0
    }
}

/// A chain walked from a position until the first place with no valid kset.
#[derive(Debug, Serialize)]
pub struct Walk {
    pub ksets: Vec<KsetAt>,
    /// Where the chain ended (for a walk from key_tail: the key head).
    pub end: (u32, u32),
    pub end_reason: String,
}

/// Walks the kset chain from `(cache_seg, seg_off)`. As the kernel: a
/// missing, torn or foreign kset ends the chain; a last kset jumps to offset
/// 0 of its next segment, at most `n_segs` times; a kset that overruns its
/// segment or names a segment out of range is an error.
pub fn walk(img: &Image, cache: &Cache, start: (u32, u32)) -> Result<Walk, FormatError> {
    let n_segs = cache.segs.len() as u32;
    let (mut seg, mut off) = start;
    let mut hops = 0u32;
    let mut ksets = Vec::new();
    loop {
        let remain = SEG_DATA_SIZE.saturating_sub(u64::from(off)) as usize;
        let addr = cache.data_addr(seg, off).ok_or(FormatError::SegId {
            id: seg,
            limit: n_segs,
        })?;
        let buf = img
            .read_vec(addr, remain.min(KSET_ONMEDIA_SIZE_MAX))
            .map_err(|_| FormatError::Truncated {
                need: remain.min(KSET_ONMEDIA_SIZE_MAX),
                got: 0,
            })?;
        // Only a kset that fits what remains of the segment can be valid.
        let found = match decode(&buf) {
            Err(FormatError::KsetPastSegment { size, .. }) => {
                return Err(FormatError::KsetPastSegment {
                    size,
                    remain: remain as u32,
                })
            }
            other => other?,
        };
        match found {
            KsetRead::End(why) => {
                let end_reason = match why {
                    KsetEnd::NoRoom => "end of segment".into(),
                    KsetEnd::NoMagic => "no kset magic".into(),
                    KsetEnd::TooManyKeys(n) => format!("key count {n} above 128"),
                    KsetEnd::BadCrc => "kset crc mismatch".into(),
                };
                return Ok(Walk {
                    ksets,
                    end: (seg, off),
                    end_reason,
                });
            }
            KsetRead::Found(Kset::Last { next_cache_seg }) => {
                hops += 1;
                if hops > n_segs {
                    return Err(FormatError::ChainLoop { hops });
                }
                if next_cache_seg >= n_segs {
                    return Err(FormatError::SegId {
                        id: next_cache_seg,
                        limit: n_segs,
                    });
                }
                ksets.push(KsetAt {
                    cache_seg: seg,
                    seg_off: off,
                    keys: None,
                    next: Some(next_cache_seg),
                });
                (seg, off) = (next_cache_seg, 0);
            }
            KsetRead::Found(k @ Kset::Keys(keys)) => {
                let size = k.size() as u32;
                ksets.push(KsetAt {
                    cache_seg: seg,
                    seg_off: off,
                    keys: Some(keys.iter().map(Key::from).collect()),
                    next: None,
                });
                off += size;
            }
        }
    }
}

/// A cached extent of the backing device: `len` bytes from `off`, held at
/// `data` (device byte offset) in the cache.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub struct Extent {
    pub off: u64,
    pub len: u64,
    pub data: u64,
    pub clean: bool,
}

/// Backing-device extents, non-overlapping; a newer insert cuts what it
/// covers out of older ones, by the very code the kernel target runs
/// (`pcache_index::insert`, upstream's `cache_key_insert(..., fixup = true)`).
#[derive(Default, Debug)]
pub struct ExtentMap {
    map: BTreeMap<u64, Extent>,
}

impl CacheKey for Extent {
    fn range(&self) -> Range {
        // On-media key lengths are `u32`.
        Range::new(self.off, u32::try_from(self.len).unwrap_or(u32::MAX))
    }
    fn is_placeholder(&self) -> bool {
        false
    }
    fn cut_front(&mut self, n: u32) {
        let n = u64::from(n).min(self.len);
        self.off += n;
        self.data += n;
        self.len -= n;
    }
    fn cut_back(&mut self, n: u32) {
        self.len -= u64::from(n).min(self.len);
    }
}

impl KeyStore for ExtentMap {
    type Key = Extent;
    fn floor(&self, off: u64) -> Option<&Extent> {
        self.map.range(..=off).next_back().map(|(_, e)| e)
    }
    fn next_after(&self, off: u64) -> Option<&Extent> {
        self.map.range(off.checked_add(1)?..).next().map(|(_, e)| e)
    }
    fn update(&mut self, off: u64, f: impl FnOnce(&mut Extent)) {
        if let Some(e) = self.map.get_mut(&off) {
            f(e);
        }
    }
    fn cut_front(&mut self, off: u64, n: u32) {
        if let Some(mut e) = self.map.remove(&off) {
            CacheKey::cut_front(&mut e, n);
            self.map.insert(e.off, e);
        }
    }
    fn remove(&mut self, off: u64) -> Option<Extent> {
        self.map.remove(&off)
    }
    fn insert(&mut self, e: Extent) {
        self.map.insert(e.off, e);
    }
}

impl ExtentMap {
    pub fn insert(&mut self, new: Extent) {
        pcache_index::insert(self, new);
    }

    #[cfg(test)]
    pub fn iter(&self) -> impl Iterator<Item = &Extent> {
        self.map.values()
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn bytes(&self) -> u64 {
        self.map.values().map(|e| e.len).sum()
    }
}

/// Merges touching or overlapping `(off, len)` ranges.
pub fn merge_ranges(mut r: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    r.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::new();
    for (off, len) in r {
        match out.last_mut() {
            Some((o, l)) if off <= *o + *l => *l = (*l).max(off + len - *o),
            _ => out.push((off, len)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(off: u64, len: u64, data: u64) -> Extent {
        Extent {
            off,
            len,
            data,
            clean: false,
        }
    }

    #[test]
    fn newer_extents_cut_older_ones() {
        let mut m = ExtentMap::default();
        m.insert(e(0, 100, 1000));
        m.insert(e(40, 20, 5000)); // inside: splits
        let v: Vec<_> = m.iter().copied().collect();
        assert_eq!(v, vec![e(0, 40, 1000), e(40, 20, 5000), e(60, 40, 1060)]);
        m.insert(e(30, 50, 9000)); // covers the middle and both edges
        let v: Vec<_> = m.iter().copied().collect();
        assert_eq!(v, vec![e(0, 30, 1000), e(30, 50, 9000), e(80, 20, 1080)]);
        m.insert(e(0, 200, 1)); // covers all
        assert_eq!(m.iter().copied().collect::<Vec<_>>(), vec![e(0, 200, 1)]);
        m.insert(e(200, 10, 7)); // adjacent: untouched
        assert_eq!(m.len(), 2);
        assert_eq!(m.bytes(), 210);
    }

    #[test]
    fn merge() {
        assert_eq!(
            merge_ranges(vec![(10, 5), (0, 10), (30, 1), (12, 10)]),
            vec![(0, 22), (30, 1)]
        );
    }
}
