// SPDX-License-Identifier: GPL-2.0

//! `struct pcache_cache_ctrl` at 16 KiB: the key_tail and dirty_tail
//! positions, two slots each (`struct pcache_cache_pos_onmedia`).

use super::layout::{META_INDEX_MAX, SEG_DATA_SIZE};
use super::meta::{meta_record, MetaHeader};
use super::FormatError;
use zerocopy::byteorder::little_endian::U32;
use zerocopy_derive::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// A position in the cache: a cache segment (index in the chain, not a
/// device segment id) and a byte offset into its data area.
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
pub struct CachePos {
    pub header: MetaHeader,
    pub cache_seg_id: U32,
    pub seg_off: U32,
}

const _: () = assert!(core::mem::size_of::<CachePos>() == 16);

// The two copies are adjacent.
meta_record!(CachePos, stride: core::mem::size_of::<CachePos>());

impl CachePos {
    pub fn new(cache_seg_id: u32, seg_off: u32) -> Self {
        Self {
            header: MetaHeader::default(),
            cache_seg_id: U32::new(cache_seg_id),
            seg_off: U32::new(seg_off),
        }
    }

    /// The checks `cache_pos_decode()` makes on the newest copy.
    pub fn check(&self, n_segs: u32) -> Result<(), FormatError> {
        let id = self.cache_seg_id.get();
        if id >= n_segs {
            return Err(FormatError::SegId { id, limit: n_segs });
        }
        let off = self.seg_off.get();
        if u64::from(off) >= SEG_DATA_SIZE {
            return Err(FormatError::SegOff { off });
        }
        Ok(())
    }
}

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
pub struct CacheCtrl {
    /// Updated by garbage collection.
    pub key_tail_pos: [CachePos; META_INDEX_MAX],
    /// Updated by writeback.
    pub dirty_tail_pos: [CachePos; META_INDEX_MAX],
}

const _: () = assert!(core::mem::size_of::<CacheCtrl>() == 64);
