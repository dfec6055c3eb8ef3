// SPDX-License-Identifier: GPL-2.0

//! The metadata header and the dual-slot rule (pcache_internal.h).
//!
//! Every mutable record is kept in two slots. A reader takes the newest copy
//! whose CRC holds; a writer must overwrite the *other* slot, so that a torn
//! write never destroys the newest valid copy.

use super::crc::record_crc;
use super::FormatError;
use zerocopy::byteorder::little_endian::{U16, U32};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};
use zerocopy_derive::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// `struct pcache_meta_header`.
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
pub struct MetaHeader {
    pub crc: U32,
    /// Compared modulo 256, see [`seq_after`].
    pub seq: u8,
    pub version: u8,
    pub res: U16,
}

const _: () = assert!(core::mem::size_of::<MetaHeader>() == 8);

/// A record that starts with a [`MetaHeader`] and whose CRC covers all of
/// it after the `crc` field (`pcache_meta_crc()`).
pub trait MetaRecord: FromBytes + IntoBytes + KnownLayout + Immutable + Sized {
    /// Bytes from one slot to the next on the media.
    const STRIDE: usize;

    fn header(&self) -> &MetaHeader;
    fn header_mut(&mut self) -> &mut MetaHeader;

    /// The CRC the record should carry.
    fn compute_crc(&self) -> u32 {
        record_crc(self.as_bytes())
    }

    fn crc_ok(&self) -> bool {
        self.header().crc.get() == self.compute_crc()
    }

    /// Sets `seq` and the CRC, ready to be written.
    fn seal(&mut self, seq: u8) {
        self.header_mut().seq = seq;
        let crc = self.compute_crc();
        self.header_mut().crc.set(crc);
    }

    /// Reads one slot from the front of `bytes`.
    fn read_slot(bytes: &[u8]) -> Result<Self, FormatError> {
        Self::read_from_prefix(bytes)
            .map(|(r, _)| r)
            .map_err(|_| FormatError::Truncated {
                need: core::mem::size_of::<Self>(),
                got: bytes.len(),
            })
    }
}

/// Implements [`MetaRecord`] for a record whose first field is `header`.
macro_rules! meta_record {
    ($ty:ty, stride: $stride:expr) => {
        impl super::meta::MetaRecord for $ty {
            const STRIDE: usize = $stride;

            fn header(&self) -> &super::meta::MetaHeader {
                &self.header
            }

            fn header_mut(&mut self) -> &mut super::meta::MetaHeader {
                &mut self.header
            }
        }
    };
}
pub(crate) use meta_record;

/// Whether `a` is newer than `b`, with wrap-around (`pcache_meta_seq_after()`).
pub fn seq_after(a: u8, b: u8) -> bool {
    // The signed distance, as (s8)(a - b) > 0 in C.
    i8::from_ne_bytes([a.wrapping_sub(b)]) > 0
}

/// What one slot of a dual-slot record holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot<R> {
    Valid(R),
    /// The CRC does not match: corrupt, torn, or never written.
    BadCrc,
}

impl<R: MetaRecord> Slot<R> {
    pub fn from_record(r: R) -> Self {
        if r.crc_ok() {
            Self::Valid(r)
        } else {
            Self::BadCrc
        }
    }
}

/// The newest valid copy and its slot index, chosen as
/// `pcache_meta_find_latest()` does: slots in order, CRC-bad ones skipped,
/// a later slot wins only if its sequence is strictly after (so a tie goes
/// to slot 0).
pub fn find_latest<R: MetaRecord + Copy>(slots: &[Slot<R>]) -> Option<(usize, R)> {
    let mut latest: Option<(usize, R)> = None;
    for (i, slot) in slots.iter().enumerate() {
        if let Slot::Valid(r) = slot {
            match latest {
                Some((_, l)) if !seq_after(r.header().seq, l.header().seq) => {}
                _ => latest = Some((i, *r)),
            }
        }
    }
    latest
}

/// The slot a writer must use next: never the one holding the newest valid
/// copy. With no valid copy, slot 0.
///
/// Upstream's `cache_info_write()`, `cache_seg_info_write()` and
/// `cache_seg_ctrl_write()` follow this rule. Its `cache_pos_encode()` (the
/// key_tail and dirty_tail positions) computes the address before advancing
/// the index, so the first update after a load overwrites the newest copy:
/// see [`upstream_pos_encode_slot`].
pub fn write_slot(latest: Option<usize>) -> usize {
    match latest {
        Some(i) => (i + 1) % super::META_INDEX_MAX,
        None => 0,
    }
}

/// The slot upstream 7.2's `cache_pos_encode()` writes, given the index it
/// loaded (`cache_pos_decode()` sets it to the newest copy's slot). Kept to
/// document and test the difference from [`write_slot`].
pub fn upstream_pos_encode_slot(index: usize) -> usize {
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_wraps() {
        assert!(seq_after(1, 0));
        assert!(seq_after(0, 255));
        assert!(seq_after(5, 250));
        assert!(!seq_after(250, 5));
        assert!(!seq_after(7, 7));
        assert!(seq_after(127, 0));
        // 128 apart: (s8)128 = -128, not after, either way.
        assert!(!seq_after(128, 0));
        assert!(!seq_after(0, 128));
    }
}
