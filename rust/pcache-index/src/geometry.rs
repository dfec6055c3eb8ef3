// SPDX-License-Identifier: GPL-2.0

//! Where a logical offset lives: its subtree (one per 4 MiB of the backing
//! device, `PCACHE_CACHE_SUBTREE_SIZE`) and its kset (`get_kset_id()`).
//!
//! No key crosses a subtree boundary: the request paths cut every read and
//! write at the next boundary ([`chunk_len`]). Since every key of a 4 MiB
//! region also goes to the same kset, overlapping keys reach the log in the
//! order they were inserted, which is what lets replay rebuild the index by
//! inserting the logged keys in log order.

/// log2 of a subtree's span.
pub const SUBTREE_SHIFT: u32 = 22;
/// A subtree's span in bytes: 4 MiB.
pub const SUBTREE_SIZE: u64 = 1 << SUBTREE_SHIFT;

/// The subtree holding `off`.
pub fn subtree_of(off: u64) -> u64 {
    off >> SUBTREE_SHIFT
}

/// How many of `len` bytes at `off` one request chunk takes: up to the next
/// subtree boundary.
pub fn chunk_len(off: u64, len: u32) -> u32 {
    let room = SUBTREE_SIZE - (off & (SUBTREE_SIZE - 1));
    // `room` is at most 4 MiB, so the smaller of the two fits `u32`.
    u32::try_from(room.min(u64::from(len))).unwrap_or(len)
}

/// The kset a key at `off` is appended to, of `n_ksets` (one per online CPU
/// in upstream); 0 when there are none.
pub fn kset_of(off: u64, n_ksets: u32) -> u32 {
    match u64::from(n_ksets) {
        0 => 0,
        n => u32::try_from(subtree_of(off) % n).unwrap_or(0),
    }
}
