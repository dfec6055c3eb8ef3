// SPDX-License-Identifier: GPL-2.0

//! The in-memory index of dm-pcache (Linux 7.2 `drivers/md/dm-pcache`):
//! which subtree and kset a logical offset belongs to, what inserting a key
//! does to the older keys it overlaps (`cache_key_insert()` and its fixup
//! callbacks) and how a read resolves into cache hits, misses and ranges
//! whose miss is already in flight (`cache_read()`'s walk), and what a
//! discard removes from it and from the write-back of older keys.
//!
//! The logic is generic over the sorted store that holds the keys of one
//! subtree ([`KeyStore`]): the kernel target keeps them in a
//! `kernel::rbtree::RBTree`, the tests and the `pcache` tool in a
//! `BTreeMap`. All offsets and lengths are bytes; ranges are half-open.
//!
//! Pure `core` code without panics: the kernel target includes these very
//! files.

#![no_std]

pub mod geometry;
pub mod insert;
pub mod key;
pub mod read;
pub mod uncovered;

pub use geometry::{chunk_len, kset_of, subtree_of, SUBTREE_SHIFT, SUBTREE_SIZE};
pub use insert::{insert, nodes_needed, nodes_needed_to_remove, remove_range};
pub use key::{classify, CacheKey, KeyStore, Overlap, Range};
pub use read::{ReadPiece, ReadWalk};
pub use uncovered::{uncovered, Uncovered};
