// SPDX-License-Identifier: GPL-2.0

//! Resolving a read against one subtree (`cache_read()`'s walk): each part
//! of the range is a hit (data in the cache), a miss (nothing cached: read
//! the backing device and insert a placeholder, which the fill replaces) or
//! pending (a placeholder of a miss already in flight: read the backing
//! device for this request only, without a second placeholder).
//!
//! The walk keeps only its position, not a borrow of the store, so the
//! caller may change the subtree between pieces (insert a miss's
//! placeholder, drop a key found stale and [`ReadWalk::rewind`]).

use super::insert::gap;
use super::key::{CacheKey, KeyStore, Range};

/// One part of a read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadPiece {
    /// `range` is cached by the key at `key_off`, starting `skip` bytes
    /// into that key's data.
    Hit {
        range: Range,
        key_off: u64,
        skip: u32,
    },
    /// `range` is not cached.
    Miss(Range),
    /// `range` lies in the placeholder of a miss in flight.
    Pending(Range),
}

impl ReadPiece {
    pub fn range(&self) -> Range {
        match *self {
            ReadPiece::Hit { range, .. } | ReadPiece::Miss(range) | ReadPiece::Pending(range) => {
                range
            }
        }
    }
}

/// A read being resolved, piece by piece, in order.
#[derive(Clone, Copy, Debug)]
pub struct ReadWalk {
    pos: u64,
    end: u64,
}

impl ReadWalk {
    pub fn new(range: Range) -> Self {
        Self {
            pos: range.off,
            end: range.end(),
        }
    }

    /// Where the next piece starts.
    pub fn pos(&self) -> u64 {
        self.pos
    }

    /// The next piece, or `None` once the range is resolved.
    pub fn next<S: KeyStore>(&mut self, store: &S) -> Option<ReadPiece> {
        if self.pos >= self.end {
            return None;
        }
        let piece = match store.floor(self.pos) {
            Some(k) if k.range().end() > self.pos => {
                let key = k.range();
                let range = Range::new(self.pos, gap(key.end().min(self.end), self.pos));
                if k.is_placeholder() {
                    ReadPiece::Pending(range)
                } else {
                    ReadPiece::Hit {
                        range,
                        key_off: key.off,
                        skip: gap(self.pos, key.off),
                    }
                }
            }
            _ => {
                let stop = store
                    .next_after(self.pos)
                    .map_or(self.end, |k| k.range().off.min(self.end));
                ReadPiece::Miss(Range::new(self.pos, gap(stop, self.pos)))
            }
        };
        // Every piece is at least one byte long: the walk always advances.
        self.pos = piece.range().end();
        Some(piece)
    }

    /// Resolves again from `to` (at most the current position), e.g. after
    /// the caller removed the key of a hit that turned out stale (its
    /// segment was reclaimed).
    pub fn rewind(&mut self, to: u64) {
        self.pos = self.pos.min(to);
    }
}
