// SPDX-License-Identifier: GPL-2.0

//! A `BTreeMap` store and a sector-by-sector model of what the index must
//! hold, shared by the tests.

use pcache_index::{CacheKey, KeyStore, Range};
use std::collections::BTreeMap;

/// A key as the tests need it: which insert made it and where its data is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TKey {
    pub off: u64,
    pub len: u32,
    /// The cache position of the first byte.
    pub data: u64,
    pub placeholder: bool,
    pub id: u32,
}

impl CacheKey for TKey {
    fn range(&self) -> Range {
        Range::new(self.off, self.len)
    }
    fn is_placeholder(&self) -> bool {
        self.placeholder
    }
    fn cut_front(&mut self, n: u32) {
        assert!(!self.placeholder, "a placeholder was cut at the front");
        assert!(n < self.len, "cut_front({n}) of {self:?}");
        self.off += u64::from(n);
        self.data += u64::from(n);
        self.len -= n;
    }
    fn cut_back(&mut self, n: u32) {
        assert!(n < self.len, "cut_back({n}) of {self:?}");
        self.len -= n;
    }
}

/// The keys, and how many fresh nodes inserts took.
#[derive(Default, Debug)]
pub struct Store(pub BTreeMap<u64, TKey>, pub usize);

impl KeyStore for Store {
    type Key = TKey;
    fn floor(&self, off: u64) -> Option<&TKey> {
        self.0.range(..=off).next_back().map(|(_, k)| k)
    }
    fn next_after(&self, off: u64) -> Option<&TKey> {
        self.0.range(off + 1..).next().map(|(_, k)| k)
    }
    fn update(&mut self, off: u64, f: impl FnOnce(&mut TKey)) {
        let k = self.0.get_mut(&off).expect("update of a missing key");
        f(k);
        assert_eq!(k.off, off, "update moved a key");
    }
    fn cut_front(&mut self, off: u64, n: u32) {
        let mut k = self.0.remove(&off).expect("cut_front of a missing key");
        k.cut_front(n);
        assert!(
            self.0.insert(k.off, k).is_none(),
            "cut_front onto another key"
        );
    }
    fn remove(&mut self, off: u64) -> Option<TKey> {
        self.0.remove(&off)
    }
    fn insert(&mut self, key: TKey) {
        assert!(key.len > 0);
        // A fresh node: counted against what `nodes_needed*` reserved.
        self.1 += 1;
        assert!(
            self.0.insert(key.off, key).is_none(),
            "two keys at {}",
            key.off
        );
    }
}

impl Store {
    /// Keys sorted, non-empty, never overlapping.
    pub fn check(&self) {
        let mut end = 0;
        for (off, k) in &self.0 {
            assert_eq!(*off, k.off);
            assert!(k.len > 0);
            assert!(k.off >= end, "overlap at {}: {:?}", k.off, self.0);
            end = k.off + u64::from(k.len);
        }
    }
}

/// What one 512-byte sector must read as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cell {
    None,
    /// Data of insert `id` at cache position `data`.
    Data {
        id: u32,
        data: u64,
    },
    Pending {
        id: u32,
    },
}

pub const SECTOR: u64 = 512;

/// The cells the store holds.
pub fn cells(store: &Store, n: usize) -> Vec<Cell> {
    let mut out = vec![Cell::None; n];
    for k in store.0.values() {
        for s in 0..u64::from(k.len) / SECTOR {
            let i = usize::try_from(k.off / SECTOR + s).unwrap();
            out[i] = if k.placeholder {
                Cell::Pending { id: k.id }
            } else {
                Cell::Data {
                    id: k.id,
                    data: k.data + s * SECTOR,
                }
            };
        }
    }
    out
}
