// SPDX-License-Identifier: GPL-2.0

//! Writing a new cache exactly as the Linux 7.2 kernel's first open of a
//! zeroed device does (`sb_init()`, `cache_info_init()`,
//! `cache_segs_init()`, `cache_tail_init()`, then `INIT_DONE`): the same
//! records in the same slots with the same sequence numbers.
//!
//! Upstream fills the `version`/`res` bytes of the position and generation
//! headers from stack variables it never initialises (and covers them with
//! the CRC). Kernels built with `INIT_STACK_ALL_ZERO` (the default where the
//! compiler supports it) write zeros there, as we do: then the result is
//! byte-identical, which tests/golden.rs checks against an image captured
//! from the C target.

use crate::image::Image;
use crate::load::{DIRTY_TAIL_OFF, KEY_TAIL_OFF};
use pcache_format::cache_info::CacheInfo;
use pcache_format::meta::MetaRecord;
use pcache_format::segment::{SegInfo, SEG_TYPE_CACHE_DATA};
use pcache_format::*;
use std::io;
use zerocopy::IntoBytes;

pub struct Options {
    pub mode: CacheMode,
    pub data_crc: bool,
}

/// Writes `rec` into slot `slot` of the dual-slot record at `base`.
fn put_slot<R: MetaRecord>(img: &Image, base: u64, slot: usize, rec: &R) -> io::Result<()> {
    img.write_at(base + (slot * R::STRIDE) as u64, rec.as_bytes())
}

/// Formats `img`, which must not hold a pcache superblock; `progress` is
/// told about each segment. Returns the number of segments.
pub fn format(img: &Image, opts: &Options, mut progress: impl FnMut(u32, u32)) -> io::Result<u32> {
    let size = img.size();
    if size < CACHE_DEV_SIZE_MIN {
        return Err(io::Error::other(format!(
            "{size} bytes: a cache device needs at least {CACHE_DEV_SIZE_MIN}"
        )));
    }
    let mut old = Superblock::default();
    img.read_at(SB_OFF, old.as_mut_bytes())?;
    if old.magic.get() != 0 {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "already formatted (superblock magic is set)",
        ));
    }
    // sb_init(): the tail padding is kept as read, and covered by the CRC.
    let mut sb = Superblock::new(size);
    sb.padding = old.padding;
    sb.crc.set(sb.compute_crc());
    let n = sb.seg_num.get();
    img.write_at(
        CACHE_INFO_OFF,
        &vec![0; (CACHE_INFO_SIZE * META_INDEX_MAX as u64 + CACHE_CTRL_SIZE) as usize],
    )?;

    // cache_segs_init() on a new cache: segments 0, 1, ... chained in order.
    let zero_meta = vec![0u8; (SEG_INFO_SIZE * META_INDEX_MAX as u64 + SEG_CTRL_SIZE) as usize];
    for i in 0..n {
        progress(i, n);
        let base = seg_off(i);
        if i > 0 {
            // cache_seg_set_next_seg() on the previous segment: its info
            // goes from slot 1 (seq 1) to slot 0 (seq 2).
            let mut prev = SegInfo::default();
            prev.set_seg_type(SEG_TYPE_CACHE_DATA);
            prev.set_next(i);
            prev.seal(2);
            put_slot(img, seg_off(i - 1), 0, &prev)?;
        }
        img.write_at(base, &zero_meta)?;
        // cache_seg_ctrl_init(): generation 0, seq 1, slot 1.
        let mut gen = SegGen::default();
        gen.seal(1);
        put_slot(img, base + SEG_CTRL_OFF, 1, &gen)?;
        // cache_seg_info_write(): seq 1, slot 1.
        let mut info = SegInfo::default();
        info.set_seg_type(SEG_TYPE_CACHE_DATA);
        info.seal(1);
        put_slot(img, base, 1, &info)?;
        // The empty kset that ends the chain at the segment's start.
        img.write_at(base + SEG_DATA_OFF, &[0; 24])?;
    }
    progress(n, n);

    // cache_tail_init(): dirty_tail then key_tail, both at segment 0 offset
    // 0, seq 1, written to slot 0.
    let mut pos = CachePos::new(0, 0);
    pos.seal(1);
    put_slot(img, DIRTY_TAIL_OFF, 0, &pos)?;
    put_slot(img, KEY_TAIL_OFF, 0, &pos)?;

    // INIT_DONE and cache_info_write(): seq 1, slot 1.
    let mut info = CacheInfo::new(n, opts.mode, opts.data_crc);
    info.set_init_done();
    info.seal(1);
    put_slot(img, CACHE_INFO_OFF, 1, &info)?;

    // cache_dev_start() writes the superblock last.
    img.write_at(SB_OFF, sb.as_bytes())?;
    img.sync()?;
    Ok(n)
}
