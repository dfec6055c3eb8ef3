// SPDX-License-Identifier: GPL-2.0

//! The on-media format of dm-pcache, byte for byte as the Linux 7.2 C target
//! writes it (drivers/md/dm-pcache/: cache_dev.h, cache.h, segment.h,
//! pcache_internal.h), and the logic every reader and writer of it needs:
//! the metadata CRC, the dual-slot rule, and kset decoding with every bound
//! check.
//!
//! `no_std`, no allocation, no `unsafe`: the same source builds for the
//! kernel (with the zerocopy 0.8.54 the 7.2 tree vendors) and for userspace.
//!
//! Every multi-byte field is little-endian. The superblock is explicitly so
//! (`__le32`); the other records are written in CPU order, and a cache
//! formatted on a big-endian machine carries [`SB_F_BIGENDIAN`], which this
//! crate, like the kernel on little-endian machines, refuses.

//!
//! The modules refer to each other through `super::`, so that a kernel
//! crate can also include this file as a module of its own (Kbuild builds
//! one crate per module: see Documentation/rdm.rst).

#![no_std]
#![forbid(unsafe_code)]

pub mod cache_ctrl;
pub mod cache_info;
pub mod crc;
pub mod error;
pub mod format;
pub mod kset;
pub mod layout;
pub mod meta;
pub mod segment;
pub mod superblock;

pub use cache_ctrl::{CacheCtrl, CachePos};
pub use cache_info::{CacheInfo, CacheMode};
pub use crc::{crc32c, CRC_SEED};
pub use error::FormatError;
pub use kset::{KeyOnmedia, Kset, KsetEnd, KsetHeader, KsetRead};
pub use layout::*;
pub use meta::{find_latest, seq_after, write_slot, MetaHeader, MetaRecord, Slot};
pub use segment::{SegGen, SegInfo};
pub use superblock::{Superblock, SB_F_BIGENDIAN};

#[cfg(test)]
extern crate std;
