// SPDX-License-Identifier: GPL-2.0

//! Writing a new cache exactly as the Linux 7.2 kernel's first open of a
//! zeroed device does (`sb_init()`, `cache_info_init()`,
//! `cache_segs_init()`, `cache_tail_init()`, then `INIT_DONE`): the same
//! records in the same slots with the same sequence numbers. The `pcache`
//! tool formats images with it and the Rust target formats its cache device
//! with it, each through its own writer.
//!
//! Upstream fills the `version`/`res` bytes of the position and generation
//! headers from stack variables it never initialises (and covers them with
//! the CRC). Kernels built with `INIT_STACK_ALL_ZERO` (the default where the
//! compiler supports it) write zeros there, as we do: then the result is
//! byte-identical, which the tool's golden test checks against an image
//! captured from the C target.

use super::cache_ctrl::CacheCtrl;
use super::cache_info::CacheInfo;
use super::meta::MetaRecord;
use super::segment::{SegInfo, SEG_TYPE_CACHE_DATA};
use super::{
    seg_off, CacheMode, CachePos, SegGen, Superblock, CACHE_CTRL_OFF, CACHE_CTRL_SIZE,
    CACHE_INFO_OFF, CACHE_INFO_SIZE, META_INDEX_MAX, SB_OFF, SEG_CTRL_OFF, SEG_CTRL_SIZE,
    SEG_DATA_OFF, SEG_INFO_SIZE,
};
use zerocopy::IntoBytes;

/// Where the key_tail slots are (`cache_ctrl->key_tail_pos`).
pub const KEY_TAIL_OFF: u64 =
    CACHE_CTRL_OFF + core::mem::offset_of!(CacheCtrl, key_tail_pos) as u64;
/// Where the dirty_tail slots are (`cache_ctrl->dirty_tail_pos`).
pub const DIRTY_TAIL_OFF: u64 =
    CACHE_CTRL_OFF + core::mem::offset_of!(CacheCtrl, dirty_tail_pos) as u64;

/// Bytes `sb_init()` zeroes after the superblock, and bytes
/// `cache_seg_init()` zeroes at the start of each new segment: both 12 KiB.
const META_ZERO_LEN: usize = (CACHE_INFO_SIZE * META_INDEX_MAX as u64 + CACHE_CTRL_SIZE) as usize;
const _: () =
    assert!(META_ZERO_LEN == (SEG_INFO_SIZE * META_INDEX_MAX as u64 + SEG_CTRL_SIZE) as usize);
static ZEROS: [u8; META_ZERO_LEN] = [0; META_ZERO_LEN];

/// The options a new cache records in its `cache_info`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    pub mode: CacheMode,
    pub data_crc: bool,
}

/// Byte offset of slot `slot` of the dual-slot record `R` at `base`.
pub fn slot_off<R: MetaRecord>(base: u64, slot: usize) -> u64 {
    base + (slot * R::STRIDE) as u64
}

/// Writes a new cache over a device of `dev_size` bytes whose superblock
/// area holds `old` (its magic must be zero and the device large enough:
/// the caller checks both, with its own errors). `write(off, bytes)` stores
/// bytes; a writer that needs ordering gets it in the order of the calls:
/// the superblock is written last, so a cache is valid only once complete.
/// `progress` is told about each segment. Returns the number of segments.
pub fn write_new_cache<E>(
    old: &Superblock,
    dev_size: u64,
    opts: Options,
    mut write: impl FnMut(u64, &[u8]) -> Result<(), E>,
    mut progress: impl FnMut(u32, u32),
) -> Result<u32, E> {
    // sb_init(): the tail padding is kept as read, and covered by the CRC.
    let mut sb = Superblock::new(dev_size);
    sb.padding = old.padding;
    sb.crc.set(sb.compute_crc());
    let n = sb.seg_num.get();
    write(CACHE_INFO_OFF, &ZEROS)?;

    // cache_segs_init() on a new cache: segments 0, 1, ... chained in order.
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
            write(slot_off::<SegInfo>(seg_off(i - 1), 0), prev.as_bytes())?;
        }
        write(base, &ZEROS)?;
        // cache_seg_ctrl_init(): generation 0, seq 1, slot 1.
        let mut gen = SegGen::default();
        gen.seal(1);
        write(slot_off::<SegGen>(base + SEG_CTRL_OFF, 1), gen.as_bytes())?;
        // cache_seg_info_write(): seq 1, slot 1.
        let mut info = SegInfo::default();
        info.set_seg_type(SEG_TYPE_CACHE_DATA);
        info.seal(1);
        write(slot_off::<SegInfo>(base, 1), info.as_bytes())?;
        // The empty kset that ends the chain at the segment's start.
        write(base + SEG_DATA_OFF, &ZEROS[..24])?;
    }
    progress(n, n);

    // cache_tail_init(): dirty_tail then key_tail, both at segment 0 offset
    // 0, seq 1, written to slot 0.
    let mut pos = CachePos::new(0, 0);
    pos.seal(1);
    write(slot_off::<CachePos>(DIRTY_TAIL_OFF, 0), pos.as_bytes())?;
    write(slot_off::<CachePos>(KEY_TAIL_OFF, 0), pos.as_bytes())?;

    // INIT_DONE and cache_info_write(): seq 1, slot 1.
    let mut info = CacheInfo::new(n, opts.mode, opts.data_crc);
    info.set_init_done();
    info.seal(1);
    write(slot_off::<CacheInfo>(CACHE_INFO_OFF, 1), info.as_bytes())?;

    // cache_dev_start() writes the superblock last.
    write(SB_OFF, sb.as_bytes())?;
    Ok(n)
}
