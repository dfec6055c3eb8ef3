// SPDX-License-Identifier: GPL-2.0

//! Where everything lives on the cache device, with upstream's names and
//! numbers (cache_dev.h, cache.h, segment.h); each checked at compile time.

const KB: u64 = 1024;
const MB: u64 = 1024 * KB;

/// Copies of every dual-slot record (`PCACHE_META_INDEX_MAX`).
pub const META_INDEX_MAX: usize = 2;

/// `PCACHE_MAGIC`.
pub const MAGIC: u64 = 0x65B0_5EFA_96C5_96EF;
/// `PCACHE_SB_OFF`, `PCACHE_SB_SIZE`.
pub const SB_OFF: u64 = 4 * KB;
pub const SB_SIZE: u64 = 4 * KB;
/// `PCACHE_CACHE_INFO_OFF`, `PCACHE_CACHE_INFO_SIZE`: two slots on a 4 KiB stride.
pub const CACHE_INFO_OFF: u64 = SB_OFF + SB_SIZE;
pub const CACHE_INFO_SIZE: u64 = 4 * KB;
/// `PCACHE_CACHE_CTRL_OFF`, `PCACHE_CACHE_CTRL_SIZE`.
pub const CACHE_CTRL_OFF: u64 = CACHE_INFO_OFF + CACHE_INFO_SIZE * META_INDEX_MAX as u64;
pub const CACHE_CTRL_SIZE: u64 = 4 * KB;
/// `PCACHE_SEGMENTS_OFF`: segment 0 starts here.
pub const SEGMENTS_OFF: u64 = CACHE_CTRL_OFF + CACHE_CTRL_SIZE;
/// `PCACHE_SEG_SIZE`.
pub const SEG_SIZE: u64 = 16 * MB;
/// `PCACHE_CACHE_DEV_SIZE_MIN`.
pub const CACHE_DEV_SIZE_MIN: u64 = 512 * MB;
/// `PCACHE_CACHE_SEGS_MAX`: 16 TiB of cache.
pub const CACHE_SEGS_MAX: u32 = 1024 * 1024;

/// `PCACHE_SEG_INFO_SIZE`: two segment-info slots on a 4 KiB stride at the
/// start of every segment.
pub const SEG_INFO_SIZE: u64 = 4 * KB;
/// `PCACHE_CACHE_SEG_CTRL_OFF`, `PCACHE_CACHE_SEG_CTRL_SIZE`: the
/// generation slots, inside the segment.
pub const SEG_CTRL_OFF: u64 = SEG_INFO_SIZE * META_INDEX_MAX as u64;
pub const SEG_CTRL_SIZE: u64 = 4 * KB;
/// Where cache data (ksets and cached blocks) starts inside a segment.
pub const SEG_DATA_OFF: u64 = SEG_CTRL_OFF + SEG_CTRL_SIZE;
/// Bytes of data a segment holds (`segment->data_size`).
pub const SEG_DATA_SIZE: u64 = SEG_SIZE - SEG_DATA_OFF;

/// `PCACHE_KSET_KEYS_MAX`.
pub const KSET_KEYS_MAX: u32 = 128;
/// `PCACHE_KSET_MAGIC`.
pub const KSET_MAGIC: u64 = 0x6768_94a6_4e16_4f1a;
/// `PCACHE_KSET_FLAGS_LAST`: the kset only links to the next segment.
pub const KSET_FLAGS_LAST: u64 = 1 << 0;
/// `PCACHE_KSET_ONMEDIA_SIZE_MAX`: header + 128 keys.
pub const KSET_ONMEDIA_SIZE_MAX: usize = core::mem::size_of::<super::KsetHeader>()
    + KSET_KEYS_MAX as usize * core::mem::size_of::<super::KeyOnmedia>();

/// `PCACHE_CACHE_GC_PERCENT_MAX`, `PCACHE_CACHE_GC_PERCENT_DEFAULT`.
pub const GC_PERCENT_MAX: u8 = 90;
pub const GC_PERCENT_DEFAULT: u8 = 70;

/// Byte offset of segment `seg_id` on the cache device.
pub const fn seg_off(seg_id: u32) -> u64 {
    SEGMENTS_OFF + seg_id as u64 * SEG_SIZE
}

/// Segments a cache device of `dev_size` bytes holds (as `sb_init()`).
pub const fn segs_for_size(dev_size: u64) -> u64 {
    dev_size.saturating_sub(SEGMENTS_OFF) / SEG_SIZE
}

// The numbers upstream's macros expand to.
const _: () = assert!(CACHE_INFO_OFF == 8192);
const _: () = assert!(CACHE_CTRL_OFF == 16384);
const _: () = assert!(SEGMENTS_OFF == 20480);
const _: () = assert!(SEG_CTRL_OFF == 8192);
const _: () = assert!(SEG_DATA_OFF == 12288);
const _: () = assert!(SEG_DATA_SIZE == 16 * 1024 * 1024 - 12288);
const _: () = assert!(KSET_ONMEDIA_SIZE_MAX == 24 + 128 * 40);
