// SPDX-License-Identifier: GPL-2.0

//! Loading a cache as the kernel's `cache_dev_start()` and
//! `pcache_cache_start()` do: superblock, cache_info, the segment chain
//! with each segment's info and generation, the key_tail and dirty_tail.

use crate::image::Image;
use pcache_format::cache_info::CacheInfo;
use pcache_format::meta::MetaRecord;
use pcache_format::segment::SegInfo;
use pcache_format::*;
use std::io;

pub use pcache_format::format::{DIRTY_TAIL_OFF, KEY_TAIL_OFF};

/// Both slots of a dual-slot record and the one the kernel would use.
#[derive(Clone, Debug)]
pub struct DualSlot<R> {
    /// `None`: the slot's CRC does not match.
    pub slots: [Option<R>; 2],
    /// Index of the newest valid copy.
    pub latest: Option<usize>,
}

impl<R: MetaRecord + Copy> DualSlot<R> {
    pub fn read(img: &Image, off: u64) -> io::Result<Self> {
        let bytes = img.read_vec(off, R::STRIDE + core::mem::size_of::<R>())?;
        let slot = |i: usize| R::read_slot(&bytes[i * R::STRIDE..]).map(Slot::from_record);
        let raw = [slot(0), slot(1)].map(|s| s.unwrap_or(Slot::BadCrc));
        let latest = find_latest(&raw).map(|(i, _)| i);
        Ok(Self {
            slots: raw.map(|s| match s {
                Slot::Valid(r) => Some(r),
                Slot::BadCrc => None,
            }),
            latest,
        })
    }

    pub fn get(&self) -> Option<R> {
        self.latest.and_then(|i| self.slots[i])
    }
}

/// One cache segment of the chain.
#[derive(Clone, Debug)]
pub struct CacheSeg {
    /// Index in the chain (what keys and positions name).
    pub cache_seg: u32,
    /// Segment number on the device.
    pub dev_seg: u32,
    pub info: DualSlot<SegInfo>,
    pub gen_slots: DualSlot<SegGen>,
    /// The generation: 0 when neither slot is valid, as the kernel.
    pub gen: u64,
}

#[derive(Debug)]
pub struct Cache {
    pub sb: Superblock,
    pub info: DualSlot<CacheInfo>,
    pub cache_info: CacheInfo,
    pub segs: Vec<CacheSeg>,
    pub key_tail: DualSlot<CachePos>,
    pub dirty_tail: DualSlot<CachePos>,
}

/// A reason the cache cannot be loaded at all.
#[derive(Debug)]
pub enum LoadError {
    Io(io::Error),
    Format {
        what: &'static str,
        err: FormatError,
    },
}

impl From<io::Error> for LoadError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(e) => write!(f, "I/O error: {e}"),
            Self::Format { what, err } => write!(f, "{what}: {err}"),
        }
    }
}

fn bad(what: &'static str) -> impl Fn(FormatError) -> LoadError {
    move |err| LoadError::Format { what, err }
}

/// Loads everything the kernel reads before replaying keys; `progress` is
/// told about each segment of the chain.
pub fn load(img: &Image, mut progress: impl FnMut(u32, u32)) -> Result<Cache, LoadError> {
    let sb_bytes = img.read_vec(SB_OFF, core::mem::size_of::<Superblock>())?;
    let sb = Superblock::parse(&sb_bytes, img.size()).map_err(bad("superblock"))?;
    let seg_num = sb.seg_num.get();

    let info = DualSlot::<CacheInfo>::read(img, CACHE_INFO_OFF)?;
    let cache_info = info
        .get()
        .ok_or(FormatError::NoValidCopy)
        .map_err(bad("cache_info"))?;
    let n_segs = cache_info.n_segs.get();
    if n_segs > seg_num {
        return Err(bad("cache_info")(FormatError::NSegs { n_segs, seg_num }));
    }

    // The chain: cache_info.seg_id, then each segment's next_seg.
    let mut segs = Vec::with_capacity(n_segs as usize);
    let mut dev_seg = cache_info.seg_id.get();
    for i in 0..n_segs {
        progress(i, n_segs);
        if dev_seg >= seg_num {
            return Err(bad("segment chain")(FormatError::SegId {
                id: dev_seg,
                limit: seg_num,
            }));
        }
        let base = seg_off(dev_seg);
        let seg_info = DualSlot::<SegInfo>::read(img, base)?;
        let si = seg_info
            .get()
            .ok_or(FormatError::NoValidCopy)
            .map_err(bad("segment info"))?;
        let gen_slots = DualSlot::<SegGen>::read(img, base + SEG_CTRL_OFF)?;
        let gen = gen_slots.get().map_or(0, |g| g.gen.get());
        segs.push(CacheSeg {
            cache_seg: i,
            dev_seg,
            info: seg_info,
            gen_slots,
            gen,
        });
        if i + 1 < n_segs {
            dev_seg = si
                .next()
                .ok_or(FormatError::ChainEnd { cache_seg: i })
                .map_err(bad("segment chain"))?;
        }
    }
    progress(n_segs, n_segs);

    let key_tail = DualSlot::<CachePos>::read(img, KEY_TAIL_OFF)?;
    let dirty_tail = DualSlot::<CachePos>::read(img, DIRTY_TAIL_OFF)?;
    if cache_info.init_done() {
        for (what, pos) in [("key_tail", &key_tail), ("dirty_tail", &dirty_tail)] {
            let p = pos
                .get()
                .ok_or(FormatError::NoValidCopy)
                .map_err(bad(what))?;
            p.check(n_segs).map_err(bad(what))?;
        }
    }
    Ok(Cache {
        sb,
        info,
        cache_info,
        segs,
        key_tail,
        dirty_tail,
    })
}

impl Cache {
    /// Byte offset on the device of `seg_off` in cache segment `cache_seg`'s data.
    pub fn data_addr(&self, cache_seg: u32, seg_off: u32) -> Option<u64> {
        let seg = self.segs.get(cache_seg as usize)?;
        Some(pcache_format::seg_off(seg.dev_seg) + SEG_DATA_OFF + u64::from(seg_off))
    }
}
