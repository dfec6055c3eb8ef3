// SPDX-License-Identifier: GPL-2.0

//! Key sets (`struct pcache_cache_kset_onmedia`) and keys
//! (`struct pcache_cache_key_onmedia`), as laid out in segment data.
//!
//! A kset is a 24-byte header and `key_num` 40-byte keys. A *last* kset has
//! no keys; its second word is the cache segment where the chain goes on.
//! The chain ends at the first place that holds no valid kset.

use super::crc::{crc32c, record_crc, CRC_SEED};
use super::layout::{KSET_FLAGS_LAST, KSET_KEYS_MAX, KSET_MAGIC, SEG_DATA_SIZE};
use super::FormatError;
use core::mem::size_of;
use zerocopy::byteorder::little_endian::{U32, U64};
use zerocopy::{FromBytes, IntoBytes};
use zerocopy_derive::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// `PCACHE_CACHE_KEY_FLAGS_EMPTY`: a hole, no data in the cache.
pub const KEY_FLAG_EMPTY: u32 = 1 << 0;
/// `PCACHE_CACHE_KEY_FLAGS_CLEAN`: written back (or read in) already.
pub const KEY_FLAG_CLEAN: u32 = 1 << 1;

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
pub struct KsetHeader {
    pub crc: U32,
    /// `key_num`, or `next_cache_seg_id` in a last kset (a C union).
    pub key_num_or_next: U32,
    pub magic: U64,
    pub flags: U64,
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
pub struct KeyOnmedia {
    /// Byte offset on the backing device.
    pub off: U64,
    pub len: U32,
    pub flags: U32,
    /// Where the data is: cache segment (chain index) and offset in its data.
    pub cache_seg_id: U32,
    pub cache_seg_off: U32,
    /// The segment generation the key was written in.
    pub seg_gen: U64,
    /// CRC32C (seeded) of the data, if the cache has data_crc on.
    pub data_crc: U32,
    pub reserved: U32,
}

const HEADER_SIZE: usize = size_of::<KsetHeader>();
const KEY_SIZE: usize = size_of::<KeyOnmedia>();
const _: () = assert!(HEADER_SIZE == 24);
const _: () = assert!(KEY_SIZE == 40);

/// A valid kset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kset<'a> {
    /// Keys, in the order they were appended.
    Keys(&'a [KeyOnmedia]),
    /// The chain goes on at offset 0 of this cache segment.
    Last { next_cache_seg: u32 },
}

/// Why no kset was found where one could start: the normal end of a chain
/// (the kernel stops its replay there without an error).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KsetEnd {
    /// Not even a header's worth of bytes left in the segment.
    NoRoom,
    /// The magic is not `PCACHE_KSET_MAGIC` (zeroed or never written).
    NoMagic,
    /// A keys kset claiming more than `PCACHE_KSET_KEYS_MAX` keys.
    TooManyKeys(u32),
    /// The CRC does not match (a torn or stale kset).
    BadCrc,
}

/// The outcome of decoding at one position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KsetRead<'a> {
    Found(Kset<'a>),
    End(KsetEnd),
}

impl Kset<'_> {
    /// Bytes the kset takes in the segment (`get_kset_onmedia_size()`).
    pub fn size(&self) -> usize {
        match self {
            Self::Keys(keys) => HEADER_SIZE + keys.len() * KEY_SIZE,
            Self::Last { .. } => HEADER_SIZE,
        }
    }
}

/// Decodes the kset at the start of `seg_rest`: the segment's data from the
/// position to the end of the segment. Checks as `cache_replay()`: magic,
/// key count, CRC (over the header and keys after the `crc` field), then
/// that the keys fit in the segment. Never panics, whatever the bytes.
pub fn decode(seg_rest: &[u8]) -> Result<KsetRead<'_>, FormatError> {
    let Ok((header, _)) = KsetHeader::ref_from_prefix(seg_rest) else {
        return Ok(KsetRead::End(KsetEnd::NoRoom));
    };
    if header.magic.get() != KSET_MAGIC {
        return Ok(KsetRead::End(KsetEnd::NoMagic));
    }
    let last = header.flags.get() & KSET_FLAGS_LAST != 0;
    let n = header.key_num_or_next.get();
    if !last && n > KSET_KEYS_MAX {
        return Ok(KsetRead::End(KsetEnd::TooManyKeys(n)));
    }
    let size = if last {
        HEADER_SIZE
    } else {
        HEADER_SIZE + n as usize * KEY_SIZE
    };
    // The keys must lie inside the segment. (The kernel copies at most what
    // remains, checks the CRC, then fails with -EIO if the size does not fit.)
    let Some(bytes) = seg_rest.get(..size) else {
        return Err(FormatError::KsetPastSegment {
            size: size as u32,
            remain: seg_rest.len() as u32,
        });
    };
    let computed = record_crc(bytes);
    if computed != header.crc.get() {
        return Ok(KsetRead::End(KsetEnd::BadCrc));
    }
    if last {
        return Ok(KsetRead::Found(Kset::Last { next_cache_seg: n }));
    }
    let keys =
        <[KeyOnmedia]>::ref_from_bytes(bytes.get(HEADER_SIZE..).unwrap_or(&[])).map_err(|_| {
            FormatError::Truncated {
                need: size,
                got: bytes.len(),
            }
        })?;
    Ok(KsetRead::Found(Kset::Keys(keys)))
}

/// Writes a keys kset (as `cache_kset_close()`) into the front of `out`;
/// returns its size, or `None` if `keys` is empty, has more than
/// `PCACHE_KSET_KEYS_MAX` keys, or `out` is too small.
pub fn encode_keys(keys: &[KeyOnmedia], out: &mut [u8]) -> Option<usize> {
    let n = u32::try_from(keys.len())
        .ok()
        .filter(|n| (1..=KSET_KEYS_MAX).contains(n))?;
    let size = HEADER_SIZE + keys.len() * KEY_SIZE;
    let buf = out.get_mut(..size)?;
    let (head, body) = buf.split_at_mut(HEADER_SIZE);
    body.copy_from_slice(keys.as_bytes());
    let header = KsetHeader {
        crc: U32::ZERO,
        key_num_or_next: U32::new(n),
        magic: U64::new(KSET_MAGIC),
        flags: U64::ZERO,
    };
    head.copy_from_slice(header.as_bytes());
    seal(buf);
    Some(size)
}

/// Writes a last kset pointing at `next_cache_seg` (`append_last_kset()`).
pub fn encode_last(next_cache_seg: u32, out: &mut [u8]) -> Option<usize> {
    let buf = out.get_mut(..HEADER_SIZE)?;
    let header = KsetHeader {
        crc: U32::ZERO,
        key_num_or_next: U32::new(next_cache_seg),
        magic: U64::new(KSET_MAGIC),
        flags: U64::new(KSET_FLAGS_LAST),
    };
    buf.copy_from_slice(header.as_bytes());
    seal(buf);
    Some(HEADER_SIZE)
}

fn seal(kset: &mut [u8]) {
    let crc = record_crc(kset);
    if let Some(field) = kset.get_mut(..4) {
        field.copy_from_slice(&crc.to_le_bytes());
    }
}

impl KeyOnmedia {
    pub fn is_empty_key(&self) -> bool {
        self.flags.get() & KEY_FLAG_EMPTY != 0
    }

    pub fn is_clean(&self) -> bool {
        self.flags.get() & KEY_FLAG_CLEAN != 0
    }

    /// The checks of `cache_key_decode()` that need no data: a non-empty
    /// range inside a backing device of `dev_bytes`, a cache segment below
    /// `n_segs`, data inside that segment.
    pub fn check(&self, dev_bytes: u64, n_segs: u32) -> Result<(), FormatError> {
        let (off, len) = (self.off.get(), self.len.get());
        if len == 0 || u64::from(len) > dev_bytes || off > dev_bytes - u64::from(len) {
            return Err(FormatError::KeyRange { off, len });
        }
        let id = self.cache_seg_id.get();
        if id >= n_segs {
            return Err(FormatError::SegId { id, limit: n_segs });
        }
        let seg_off = self.cache_seg_off.get();
        if u64::from(seg_off) + u64::from(len) > SEG_DATA_SIZE {
            return Err(FormatError::KeyPastSegment { seg_off, len });
        }
        Ok(())
    }

    /// Checks `data_crc` against the key's data (`cache_key_data_crc()`).
    pub fn check_data(&self, data: &[u8]) -> Result<(), FormatError> {
        let computed = crc32c(CRC_SEED, data);
        if computed != self.data_crc.get() {
            return Err(FormatError::DataCrc {
                stored: self.data_crc.get(),
                computed,
            });
        }
        Ok(())
    }
}
