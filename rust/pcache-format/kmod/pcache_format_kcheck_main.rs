// SPDX-License-Identifier: GPL-2.0

//! Builds the pcache-format crate inside the kernel, with the zerocopy the
//! 7.2 tree vendors, and checks it there at load time: its CRC32C against
//! the kernel's own `crc32c()` over many lengths, seeds and alignments, and
//! a round trip through every record type; and the pcache-index crate over
//! the kernel's red-black tree (the store the target keeps its keys in),
//! against a sector model under a pseudo-random write sequence. Loading
//! fails with -EINVAL on any mismatch; selftests/pcache-format runs it in
//! the test VM.

// Target code is safe Rust: `unsafe` and FFI live in the rdm layer only.
#![deny(unsafe_code)]

use kernel::prelude::*;

#[path = "../../rdm/mod.rs"]
#[expect(
    unsafe_code,
    reason = "the rdm layer holds all of the crate's unsafe code"
)]
mod rdm;

#[path = "../src/lib.rs"]
// A userspace library API: `pub` items, crate attributes and docs that
// only apply where it is its own crate.
#[allow(
    unreachable_pub,
    unused_attributes,
    unused_imports,
    dead_code,
    missing_docs
)]
mod pcache_format;

#[path = "../../pcache-index/src/lib.rs"]
#[allow(
    unreachable_pub,
    unused_attributes,
    unused_imports,
    dead_code,
    missing_docs
)]
mod pcache_index;

use kernel::rbtree::{RBTree, RBTreeNodeReservation};
use pcache_format::cache_info::CacheInfo;
use pcache_format::kset::{decode, encode_keys, Kset, KsetRead};
use pcache_format::meta::MetaRecord;
use pcache_format::{find_latest, CacheMode, CachePos, KeyOnmedia, Slot, Superblock, CRC_SEED};
use pcache_index::{insert, nodes_needed, CacheKey, KeyStore, Range, ReadPiece, ReadWalk};
use zerocopy::IntoBytes;

module! {
    type: PcacheFormatCheck,
    name: "pcache_format_kcheck",
    authors: ["The rust-dm authors"],
    description: "in-kernel checks of the dm-pcache on-media format crate",
    license: "GPL",
}

struct PcacheFormatCheck;

fn check_crc() -> Result<u32> {
    let mut buf = KVec::with_capacity(4200, GFP_KERNEL)?;
    for i in 0..4200u32 {
        buf.push((i.wrapping_mul(131).wrapping_add(7) >> 1) as u8, GFP_KERNEL)?;
    }
    let mut n = 0;
    for seed in [0, CRC_SEED, !0, 0x1234_5678] {
        for align in 0..8 {
            for len in [
                0usize, 1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 31, 64, 100, 511, 512, 4095, 4096,
            ] {
                let data = buf.get(align..align + len).ok_or(EINVAL)?;
                let (ours, kernel) = (
                    pcache_format::crc32c(seed, data),
                    rdm::crc::crc32c(seed, data),
                );
                if ours != kernel {
                    pr_err!("crc32c mismatch: seed {seed:#x} align {align} len {len}: {ours:#x} != {kernel:#x}\n");
                    return Err(EINVAL);
                }
                n += 1;
            }
        }
    }
    Ok(n)
}

fn check_records() -> Result {
    let sb = Superblock::new(600 << 20);
    if Superblock::parse(sb.as_bytes(), 600 << 20) != Ok(sb) || sb.seg_num.get() != 37 {
        pr_err!("superblock round trip failed\n");
        return Err(EINVAL);
    }
    let mut info = CacheInfo::new(37, CacheMode::Writeback, true);
    info.seal(1);
    let mut old = CachePos::new(0, 0);
    old.seal(1);
    let mut new = CachePos::new(0, 224);
    new.seal(2);
    let latest = find_latest(&[Slot::from_record(old), Slot::from_record(new)]).map(|(i, _)| i);
    if !info.crc_ok() || latest != Some(1) {
        pr_err!("metadata record checks failed\n");
        return Err(EINVAL);
    }
    let key = KeyOnmedia::default();
    let mut kset = [0u8; 24 + 2 * 40];
    let size = encode_keys(&[key, key], &mut kset).ok_or(EINVAL)?;
    match decode(&kset) {
        Ok(KsetRead::Found(Kset::Keys(keys))) if keys.len() == 2 && size == kset.len() => Ok(()),
        _ => {
            pr_err!("kset round trip failed\n");
            Err(EINVAL)
        }
    }
}

/// A key as the index check needs it: which write made it and where its
/// data would be.
#[derive(Clone, Copy)]
struct TestKey {
    off: u64,
    len: u32,
    data: u64,
    id: u32,
}

impl CacheKey for TestKey {
    fn range(&self) -> Range {
        Range::new(self.off, self.len)
    }
    fn is_placeholder(&self) -> bool {
        false
    }
    fn cut_front(&mut self, n: u32) {
        self.off = self.off.wrapping_add(u64::from(n));
        self.data = self.data.wrapping_add(u64::from(n));
        self.len = self.len.saturating_sub(n);
    }
    fn cut_back(&mut self, n: u32) {
        self.len = self.len.saturating_sub(n);
    }
}

/// One subtree's keys in an `RBTree`, with nodes reserved before each
/// insert as the target does before it takes the subtree lock.
struct TreeStore {
    tree: RBTree<u64, TestKey>,
    spare: KVec<RBTreeNodeReservation<u64, TestKey>>,
    lost: u32,
}

impl TreeStore {
    fn key_at(&self, off: Option<u64>) -> Option<&TestKey> {
        self.tree.get(&off?)
    }
}

impl KeyStore for TreeStore {
    type Key = TestKey;
    fn floor(&self, off: u64) -> Option<&TestKey> {
        if let Some(k) = self.tree.get(&off) {
            return Some(k);
        }
        let below = match self.tree.cursor_lower_bound(&off) {
            Some(c) => c.peek_prev().map(|(k, _)| *k),
            None => self.tree.cursor_back().map(|c| *c.current().0),
        };
        self.key_at(below)
    }
    fn next_after(&self, off: u64) -> Option<&TestKey> {
        let above = self
            .tree
            .cursor_lower_bound(&off.checked_add(1)?)
            .map(|c| *c.current().0);
        self.key_at(above)
    }
    fn update(&mut self, off: u64, f: impl FnOnce(&mut TestKey)) {
        if let Some(k) = self.tree.get_mut(&off) {
            f(k);
        }
    }
    fn cut_front(&mut self, off: u64, n: u32) {
        // Re-sorted in its own node: no allocation, as under the lock.
        let (Some(mut key), Some(node)) =
            (self.tree.get(&off).copied(), self.tree.remove_node(&off))
        else {
            return;
        };
        key.cut_front(n);
        self.tree
            .insert(node.into_reservation().into_node(key.off, key));
    }
    fn remove(&mut self, off: u64) -> Option<TestKey> {
        self.tree.remove(&off)
    }
    fn insert(&mut self, key: TestKey) {
        match self.spare.pop() {
            Some(r) => {
                self.tree.insert(r.into_node(key.off, key));
            }
            None => self.lost += 1,
        }
    }
}

/// 2000 pseudo-random writes over 128 sectors into an `RBTree` store, then
/// every sector read back through the walk, both against a sector model.
fn check_index() -> Result<u32> {
    const SECTORS: u64 = 128;
    let mut store = TreeStore {
        tree: RBTree::new(),
        spare: KVec::new(),
        lost: 0,
    };
    let mut model = [None::<(u32, u64)>; SECTORS as usize];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for id in 1..=2000u32 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let first = x % SECTORS;
        let sectors = (x >> 8) % 40 + 1;
        let sectors = sectors.min(SECTORS - first);
        let key = TestKey {
            off: first * 512,
            len: u32::try_from(sectors * 512)?,
            data: u64::from(id) << 32,
            id,
        };
        while store.spare.len() < nodes_needed(&store, key.range()) {
            store
                .spare
                .push(RBTreeNodeReservation::new(GFP_KERNEL)?, GFP_KERNEL)?;
        }
        insert(&mut store, key);
        for s in first..first + sectors {
            let cell = model.get_mut(usize::try_from(s)?).ok_or(EINVAL)?;
            *cell = Some((id, key.data + (s - first) * 512));
        }
    }
    let mut walk = ReadWalk::new(Range::new(0, u32::try_from(SECTORS * 512)?));
    let mut pieces = 0;
    while let Some(piece) = walk.next(&store) {
        pieces += 1;
        let r = piece.range();
        for b in (r.off..r.end()).step_by(512) {
            let want = *model.get(usize::try_from(b / 512)?).ok_or(EINVAL)?;
            let got = match piece {
                ReadPiece::Hit { key_off, skip, .. } => store
                    .tree
                    .get(&key_off)
                    .map(|k| (k.id, k.data + u64::from(skip) + (b - r.off))),
                _ => None,
            };
            if got != want {
                pr_err!(
                    "index: sector {} reads {:?}, not {:?}\n",
                    b / 512,
                    got,
                    want
                );
                return Err(EINVAL);
            }
        }
    }
    if store.lost != 0 {
        pr_err!("index: {} inserts found no reserved node\n", store.lost);
        return Err(EINVAL);
    }
    Ok(pieces)
}

impl kernel::Module for PcacheFormatCheck {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let n = check_crc()?;
        check_records()?;
        let pieces = check_index()?;
        pr_info!(
            "pcache-format: {n} crc32c comparisons with the kernel and record round trips passed\n"
        );
        pr_info!(
            "pcache-index: 2000 writes into an rbtree matched the model ({pieces} read pieces)\n"
        );
        Ok(Self)
    }
}
