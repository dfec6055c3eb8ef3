// SPDX-License-Identifier: GPL-2.0

//! Keys, their ranges, how two ranges overlap, and the store of one subtree.

/// A byte range `[off, off + len)` of the backing device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub off: u64,
    pub len: u32,
}

impl Range {
    pub fn new(off: u64, len: u32) -> Self {
        Self { off, len }
    }

    /// The exclusive end. Keys are checked to end inside the device when
    /// decoded; saturating keeps a corrupt one from wrapping.
    pub fn end(&self) -> u64 {
        self.off.saturating_add(u64::from(self.len))
    }
}

/// How an older key `old` lies against a new range `new`, in the order
/// `cache_subtree_walk()` tests the cases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overlap {
    /// `old` ends at or before `new` starts.
    Before,
    /// `old` starts at or after `new` ends.
    After,
    /// `old` starts inside `new` and reaches its end or beyond.
    Tail,
    /// `old` lies inside `new` and ends before `new` does.
    Contain,
    /// `old` covers `new` with room on both sides.
    Contained,
    /// `old` starts before `new` and ends inside it (or at its end).
    Head,
}

pub fn classify(old: Range, new: Range) -> Overlap {
    if old.end() <= new.off {
        Overlap::Before
    } else if old.off >= new.end() {
        Overlap::After
    } else if old.off >= new.off {
        if old.end() >= new.end() {
            Overlap::Tail
        } else {
            Overlap::Contain
        }
    } else if old.end() > new.end() {
        Overlap::Contained
    } else {
        Overlap::Head
    }
}

/// A key of the index: a range with where its data is in the cache.
pub trait CacheKey: Clone {
    fn range(&self) -> Range;
    /// A placeholder for a miss whose backing read is in flight (`EMPTY`):
    /// it has no data in the cache yet.
    fn is_placeholder(&self) -> bool;
    /// Drops the first `n` bytes: the range starts `n` later and the data
    /// position advances with it. Never called on a placeholder (its miss
    /// completion copies from a fixed offset of the request).
    fn cut_front(&mut self, n: u32);
    /// Drops the last `n` bytes.
    fn cut_back(&mut self, n: u32);
}

/// The keys of one subtree, ordered by offset, never overlapping (so the
/// offset identifies a key). Implementations do no I/O and cannot fail: the
/// kernel's reserves the nodes an insert may need before it locks the
/// subtree ([`super::insert::nodes_needed`]).
pub trait KeyStore {
    type Key: CacheKey;
    /// The key with the greatest offset at or below `off`.
    fn floor(&self, off: u64) -> Option<&Self::Key>;
    /// The key with the smallest offset above `off`.
    fn next_after(&self, off: u64) -> Option<&Self::Key>;
    /// Changes the key at `off` in a way that keeps its offset.
    fn update(&mut self, off: u64, f: impl FnOnce(&mut Self::Key));
    /// Cuts `n` bytes off the front of the key at `off` ([`CacheKey::cut_front`]),
    /// which moves it: the store re-sorts it in its own node, without
    /// allocating.
    fn cut_front(&mut self, off: u64, n: u32);
    /// Removes and returns the key at `off`.
    fn remove(&mut self, off: u64) -> Option<Self::Key>;
    /// Adds a key that overlaps none in the store: the one operation that
    /// needs a fresh node.
    fn insert(&mut self, key: Self::Key);
}
