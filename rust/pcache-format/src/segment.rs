// SPDX-License-Identifier: GPL-2.0

//! Per-segment metadata: two `pcache_segment_info` slots at the segment's
//! start (4 KiB stride) and two `pcache_cache_seg_gen` slots at 8 KiB.

use super::layout::SEG_INFO_SIZE;
use super::meta::{meta_record, MetaHeader};
use zerocopy::byteorder::little_endian::{U32, U64};
use zerocopy_derive::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// `PCACHE_SEG_INFO_FLAGS_HAS_NEXT`.
pub const SEG_FLAG_HAS_NEXT: u32 = 1 << 0;
/// `PCACHE_SEG_INFO_FLAGS_TYPE_MASK`: GENMASK(4, 1).
pub const SEG_TYPE_SHIFT: u32 = 1;
pub const SEG_TYPE_MASK: u32 = 0xf << SEG_TYPE_SHIFT;
/// `PCACHE_SEGMENT_TYPE_CACHE_DATA`.
pub const SEG_TYPE_CACHE_DATA: u8 = 1;

#[derive(
    FromBytes,
    IntoBytes,
    KnownLayout,
    Immutable,
    Unaligned,
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
)]
#[repr(C)]
pub struct SegInfo {
    pub header: MetaHeader,
    pub flags: U32,
    /// The device segment of the next cache segment, if `has_next()`.
    pub next_seg: U32,
}

const _: () = assert!(core::mem::size_of::<SegInfo>() == 16);

meta_record!(SegInfo, stride: SEG_INFO_SIZE as usize);

impl SegInfo {
    pub fn has_next(&self) -> bool {
        self.flags.get() & SEG_FLAG_HAS_NEXT != 0
    }

    pub fn next(&self) -> Option<u32> {
        self.has_next().then(|| self.next_seg.get())
    }

    pub fn set_next(&mut self, seg_id: u32) {
        self.flags.set(self.flags.get() | SEG_FLAG_HAS_NEXT);
        self.next_seg.set(seg_id);
    }

    pub fn seg_type(&self) -> u8 {
        // Masked to 4 bits: fits u8.
        ((self.flags.get() & SEG_TYPE_MASK) >> SEG_TYPE_SHIFT) as u8
    }

    pub fn set_seg_type(&mut self, ty: u8) {
        let v = (u32::from(ty) << SEG_TYPE_SHIFT) & SEG_TYPE_MASK;
        self.flags.set((self.flags.get() & !SEG_TYPE_MASK) | v);
    }
}

/// A segment's generation: bumped by GC when the segment is reclaimed; keys
/// with an older `seg_gen` are stale.
#[derive(
    FromBytes,
    IntoBytes,
    KnownLayout,
    Immutable,
    Unaligned,
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
)]
#[repr(C)]
pub struct SegGen {
    pub header: MetaHeader,
    pub gen: U64,
}

const _: () = assert!(core::mem::size_of::<SegGen>() == 16);

// The two copies are adjacent (`struct pcache_cache_seg_ctrl`).
meta_record!(SegGen, stride: core::mem::size_of::<SegGen>());
