// SPDX-License-Identifier: GPL-2.0

//! The superblock at 4 KiB (`struct pcache_sb`, cache_dev.c).

use super::crc::record_crc;
use super::layout::{segs_for_size, CACHE_SEGS_MAX, MAGIC};
use super::FormatError;
use zerocopy::byteorder::little_endian::{U32, U64};
use zerocopy::{FromBytes, IntoBytes};
use zerocopy_derive::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// `PCACHE_SB_F_BIGENDIAN`: formatted on a big-endian machine.
pub const SB_F_BIGENDIAN: u32 = 1 << 0;

/// `struct pcache_sb`: 20 bytes of fields and, as the C struct is 8-byte
/// aligned, 4 bytes of tail padding. The CRC covers bytes 4..24, padding
/// included, so the padding is kept as it was read.
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
pub struct Superblock {
    pub crc: U32,
    pub flags: U32,
    pub magic: U64,
    pub seg_num: U32,
    pub padding: [u8; 4],
}

const _: () = assert!(core::mem::size_of::<Superblock>() == 24);

impl Superblock {
    /// The superblock the kernel writes when it first opens a zeroed device
    /// of `dev_size` bytes (`sb_init()`).
    pub fn new(dev_size: u64) -> Self {
        let mut sb = Self {
            crc: U32::ZERO,
            flags: U32::ZERO,
            magic: U64::new(MAGIC),
            // As sb_init(): truncated to 32 bits; the loader bounds it.
            seg_num: U32::new(segs_for_size(dev_size) as u32),
            padding: [0; 4],
        };
        sb.crc.set(sb.compute_crc());
        sb
    }

    pub fn compute_crc(&self) -> u32 {
        record_crc(self.as_bytes())
    }

    /// Reads and validates the superblock from the front of `bytes` (the
    /// device from `SB_OFF` on), for a device of `dev_size` bytes, with the
    /// checks of `sb_validate()` and `cache_dev_start()` in their order.
    pub fn parse(bytes: &[u8], dev_size: u64) -> Result<Self, FormatError> {
        let (sb, _) = Self::read_from_prefix(bytes).map_err(|_| FormatError::Truncated {
            need: core::mem::size_of::<Self>(),
            got: bytes.len(),
        })?;
        if sb.magic.get() != MAGIC {
            return Err(FormatError::BadMagic {
                found: sb.magic.get(),
            });
        }
        let computed = sb.compute_crc();
        if computed != sb.crc.get() {
            return Err(FormatError::BadCrc {
                stored: sb.crc.get(),
                computed,
            });
        }
        if sb.flags.get() & SB_F_BIGENDIAN != 0 {
            return Err(FormatError::BigEndian);
        }
        let seg_num = sb.seg_num.get();
        let max = segs_for_size(dev_size);
        if seg_num == 0 || u64::from(seg_num) > max || seg_num > CACHE_SEGS_MAX {
            return Err(FormatError::SegNum { seg_num, max });
        }
        Ok(sb)
    }
}
