// SPDX-License-Identifier: GPL-2.0

//! Why a piece of the cache device was refused.

use core::fmt;

/// A decoding failure. Every check of the kernel's loader has a variant, so
/// a tool can say exactly what is wrong and the kernel can map it to -EIO
/// or -EINVAL as upstream does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatError {
    /// Fewer bytes than the record needs.
    Truncated { need: usize, got: usize },
    /// The superblock's magic is not `PCACHE_MAGIC` (0: never formatted).
    BadMagic { found: u64 },
    /// A stored CRC does not match the record.
    BadCrc { stored: u32, computed: u32 },
    /// Formatted on a big-endian machine.
    BigEndian,
    /// `seg_num` is 0, larger than the device holds, or above `PCACHE_CACHE_SEGS_MAX`.
    SegNum { seg_num: u32, max: u64 },
    /// Neither slot of a dual-slot record holds a valid copy.
    NoValidCopy,
    /// `cache_info.n_segs` exceeds the superblock's `seg_num`.
    NSegs { n_segs: u32, seg_num: u32 },
    /// A segment id at or beyond the number of segments it indexes.
    SegId { id: u32, limit: u32 },
    /// A segment of the chain has no next segment where one is needed.
    ChainEnd { cache_seg: u32 },
    /// A position's offset lies outside the segment's data area.
    SegOff { off: u32 },
    /// A kset's keys run past the end of its segment.
    KsetPastSegment { size: u32, remain: u32 },
    /// A chain of ksets links more segments than the cache has.
    ChainLoop { hops: u32 },
    /// A key with zero length, or past the end of the backing device.
    KeyRange { off: u64, len: u32 },
    /// A key's data runs past the end of its segment.
    KeyPastSegment { seg_off: u32, len: u32 },
    /// A key's data does not match its `data_crc`.
    DataCrc { stored: u32, computed: u32 },
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Truncated { need, got } => write!(f, "truncated: need {need} bytes, got {got}"),
            Self::BadMagic { found } => write!(f, "bad magic {found:#018x}"),
            Self::BadCrc { stored, computed } => {
                write!(
                    f,
                    "crc mismatch: stored {stored:#010x}, computed {computed:#010x}"
                )
            }
            Self::BigEndian => f.write_str("formatted on a big-endian machine"),
            Self::SegNum { seg_num, max } => {
                write!(f, "seg_num {seg_num} invalid (device holds {max})")
            }
            Self::NoValidCopy => f.write_str("no valid copy in either slot"),
            Self::NSegs { n_segs, seg_num } => {
                write!(f, "n_segs {n_segs} exceeds seg_num {seg_num}")
            }
            Self::SegId { id, limit } => write!(f, "segment id {id} out of range (< {limit})"),
            Self::ChainEnd { cache_seg } => {
                write!(f, "cache segment {cache_seg} has no next segment")
            }
            Self::SegOff { off } => write!(f, "segment offset {off} outside the data area"),
            Self::KsetPastSegment { size, remain } => {
                write!(f, "kset of {size} bytes with {remain} left in the segment")
            }
            Self::ChainLoop { hops } => write!(f, "kset chain does not end after {hops} segments"),
            Self::KeyRange { off, len } => write!(f, "key {off}+{len} outside the backing device"),
            Self::KeyPastSegment { seg_off, len } => {
                write!(f, "key data {seg_off}+{len} past the segment end")
            }
            Self::DataCrc { stored, computed } => {
                write!(
                    f,
                    "data crc mismatch: stored {stored:#010x}, computed {computed:#010x}"
                )
            }
        }
    }
}
