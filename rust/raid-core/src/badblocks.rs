// SPDX-License-Identifier: GPL-2.0

//! A leg's known bad sector ranges, in a fixed-capacity sorted table
//! (`block/badblocks.c` keeps up to 512 in a page:
//! [`MD_BADBLOCKS_PER_PAGE`]).
//!
//! Ranges are half-open `[start, start + len)`, kept sorted, and never
//! overlap nor touch: adding one merges it with every range it overlaps or
//! abuts. Unlike md there is no per-entry length limit and no
//! acknowledged bit. Every change is all or nothing: one that needs a slot
//! the table lacks returns [`Full`] and leaves the table as it was. Ends
//! saturate at `u64::MAX`.

/// md's entries per page (`MAX_BADBLOCKS`).
pub const MD_BADBLOCKS_PER_PAGE: usize = 512;

/// One bad range.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BadRange {
    /// First bad sector.
    pub start: u64,
    /// Sectors in the range, never 0 in a table.
    pub len: u64,
}

impl BadRange {
    /// The exclusive end.
    pub fn end(&self) -> u64 {
        self.start.saturating_add(self.len)
    }
}

/// The table has no free slot for the change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Full;

/// Up to `N` bad ranges of one leg.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadRanges<const N: usize> {
    ranges: [BadRange; N],
    len: usize,
}

impl<const N: usize> Default for BadRanges<N> {
    fn default() -> Self {
        Self::new()
    }
}

fn range(start: u64, end: u64) -> BadRange {
    BadRange {
        start,
        len: end.saturating_sub(start),
    }
}

impl<const N: usize> BadRanges<N> {
    /// An empty table.
    pub const fn new() -> Self {
        Self {
            ranges: [BadRange { start: 0, len: 0 }; N],
            len: 0,
        }
    }

    fn slice(&self) -> &[BadRange] {
        self.ranges.get(..self.len).unwrap_or(&[])
    }

    /// Number of ranges.
    pub fn len(&self) -> usize {
        self.len
    }

    /// No ranges.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every slot used.
    pub fn is_full(&self) -> bool {
        self.len >= N
    }

    /// The capacity `N`.
    pub const fn capacity(&self) -> usize {
        N
    }

    /// The ranges in order.
    pub fn iter(&self) -> core::iter::Copied<core::slice::Iter<'_, BadRange>> {
        self.slice().iter().copied()
    }

    /// Index of the first range ending after `s`.
    fn first_ending_after(&self, s: u64) -> usize {
        self.slice().partition_point(|r| r.end() <= s)
    }

    /// Removes ranges `a..b` and puts `new` (0 to 2 ranges) at `a`. The
    /// caller has checked that the result fits.
    fn splice(&mut self, a: usize, b: usize, new: &[BadRange]) {
        let len = self.len;
        let removed = b.saturating_sub(a);
        if let Some(tail) = self.ranges.get_mut(a..len) {
            if removed <= tail.len() {
                tail.rotate_left(removed);
            }
        }
        let len = len.saturating_sub(removed);
        let added = new.len();
        let new_len = len.saturating_add(added);
        if let Some(tail) = self.ranges.get_mut(a..new_len) {
            if added <= tail.len() {
                tail.rotate_right(added);
            }
            for (slot, r) in tail.iter_mut().zip(new) {
                *slot = *r;
            }
        }
        self.len = new_len.min(N);
    }

    /// Marks `[start, start + len)` bad, merging with overlapping and
    /// adjacent ranges.
    pub fn add(&mut self, start: u64, len: u64) -> Result<(), Full> {
        if len == 0 {
            return Ok(());
        }
        let end = start.saturating_add(len);
        // Ranges that overlap or touch: end >= start and start <= end.
        let a = self.slice().partition_point(|r| r.end() < start);
        let b = self.slice().partition_point(|r| r.start <= end);
        if a >= b {
            if self.is_full() {
                return Err(Full);
            }
            self.splice(a, a, &[range(start, end)]);
            return Ok(());
        }
        let first = self.slice().get(a).map_or(start, |r| r.start);
        let last = self.slice().get(b - 1).map_or(end, |r| r.end());
        self.splice(a, b, &[range(first.min(start), last.max(end))]);
        Ok(())
    }

    /// Marks `[start, start + len)` good again. Splitting a range needs a
    /// slot: without one, returns [`Full`] and changes nothing.
    pub fn clear(&mut self, start: u64, len: u64) -> Result<(), Full> {
        if len == 0 {
            return Ok(());
        }
        let end = start.saturating_add(len);
        let a = self.first_ending_after(start);
        let b = self.slice().partition_point(|r| r.start < end);
        if a >= b {
            return Ok(());
        }
        let mut keep = [BadRange::default(); 2];
        let mut n = 0usize;
        if let Some(r) = self.slice().get(a) {
            if r.start < start {
                if let Some(k) = keep.get_mut(n) {
                    *k = range(r.start, start);
                    n += 1;
                }
            }
        }
        if let Some(r) = self.slice().get(b - 1) {
            if r.end() > end {
                if let Some(k) = keep.get_mut(n) {
                    *k = range(end, r.end());
                    n += 1;
                }
            }
        }
        let new_len = self.len.saturating_sub(b - a).saturating_add(n);
        if new_len > N {
            return Err(Full);
        }
        self.splice(a, b, keep.get(..n).unwrap_or(&[]));
        Ok(())
    }

    /// Like md's `is_badblock()`: the first bad range overlapping
    /// `[start, start + len)`, whole (it may begin before `start`), as
    /// `(first_bad, bad_len)`.
    pub fn check(&self, start: u64, len: u64) -> Option<(u64, u64)> {
        if len == 0 {
            return None;
        }
        let end = start.saturating_add(len);
        let r = self.slice().get(self.first_ending_after(start))?;
        (r.start < end).then_some((r.start, r.len))
    }

    /// Removes every range.
    pub fn clear_all(&mut self) {
        self.len = 0;
    }
}
