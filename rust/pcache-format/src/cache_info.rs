// SPDX-License-Identifier: GPL-2.0

//! `struct pcache_cache_info`: two slots at 8 KiB, on a 4 KiB stride.

use super::layout::{CACHE_INFO_SIZE, GC_PERCENT_DEFAULT};
use super::meta::{meta_record, MetaHeader};
use zerocopy::byteorder::little_endian::U32;
use zerocopy_derive::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// `PCACHE_CACHE_FLAGS_DATA_CRC`: keys carry a CRC of their data.
pub const FLAG_DATA_CRC: u32 = 1 << 0;
/// `PCACHE_CACHE_FLAGS_INIT_DONE`: the cache was fully set up once.
pub const FLAG_INIT_DONE: u32 = 1 << 1;
/// `PCACHE_CACHE_FLAGS_CACHE_MODE_MASK`: GENMASK(5, 2).
pub const CACHE_MODE_SHIFT: u32 = 2;
pub const CACHE_MODE_MASK: u32 = 0xf << CACHE_MODE_SHIFT;
/// `PCACHE_CACHE_FLAGS_GC_PERCENT_MASK`: GENMASK(12, 6).
pub const GC_PERCENT_SHIFT: u32 = 6;
pub const GC_PERCENT_MASK: u32 = 0x7f << GC_PERCENT_SHIFT;

/// `PCACHE_CACHE_MODE_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheMode {
    Writeback,
    Writethrough,
    Writearound,
    Writeonly,
    /// A value no 7.2 kernel writes.
    Unknown(u8),
}

impl CacheMode {
    pub fn from_bits(v: u8) -> Self {
        match v {
            0 => Self::Writeback,
            1 => Self::Writethrough,
            2 => Self::Writearound,
            3 => Self::Writeonly,
            v => Self::Unknown(v),
        }
    }

    pub fn bits(self) -> u8 {
        match self {
            Self::Writeback => 0,
            Self::Writethrough => 1,
            Self::Writearound => 2,
            Self::Writeonly => 3,
            Self::Unknown(v) => v,
        }
    }

    /// The name dm-pcache tables use.
    pub fn name(self) -> &'static str {
        match self {
            Self::Writeback => "writeback",
            Self::Writethrough => "writethrough",
            Self::Writearound => "writearound",
            Self::Writeonly => "writeonly",
            Self::Unknown(_) => "unknown",
        }
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
pub struct CacheInfo {
    pub header: MetaHeader,
    /// The device segment of cache segment 0: the start of the chain.
    pub seg_id: U32,
    pub n_segs: U32,
    pub flags: U32,
    pub reserved: U32,
}

const _: () = assert!(core::mem::size_of::<CacheInfo>() == 24);

meta_record!(CacheInfo, stride: CACHE_INFO_SIZE as usize);

impl CacheInfo {
    /// `cache_info_init_default()` plus the table's options, before sealing.
    pub fn new(n_segs: u32, mode: CacheMode, data_crc: bool) -> Self {
        let mut info = Self {
            n_segs: U32::new(n_segs),
            ..Self::default()
        };
        info.set_gc_percent(GC_PERCENT_DEFAULT);
        info.set_cache_mode(mode);
        if data_crc {
            info.flags.set(info.flags.get() | FLAG_DATA_CRC);
        }
        info
    }

    pub fn data_crc(&self) -> bool {
        self.flags.get() & FLAG_DATA_CRC != 0
    }

    pub fn init_done(&self) -> bool {
        self.flags.get() & FLAG_INIT_DONE != 0
    }

    pub fn set_init_done(&mut self) {
        self.flags.set(self.flags.get() | FLAG_INIT_DONE);
    }

    pub fn cache_mode(&self) -> CacheMode {
        // Masked to 4 bits: fits u8.
        CacheMode::from_bits(((self.flags.get() & CACHE_MODE_MASK) >> CACHE_MODE_SHIFT) as u8)
    }

    pub fn set_cache_mode(&mut self, mode: CacheMode) {
        let v = (u32::from(mode.bits()) << CACHE_MODE_SHIFT) & CACHE_MODE_MASK;
        self.flags.set((self.flags.get() & !CACHE_MODE_MASK) | v);
    }

    pub fn gc_percent(&self) -> u8 {
        // Masked to 7 bits: fits u8.
        ((self.flags.get() & GC_PERCENT_MASK) >> GC_PERCENT_SHIFT) as u8
    }

    pub fn set_gc_percent(&mut self, percent: u8) {
        let v = (u32::from(percent) << GC_PERCENT_SHIFT) & GC_PERCENT_MASK;
        self.flags.set((self.flags.get() & !GC_PERCENT_MASK) | v);
    }
}
