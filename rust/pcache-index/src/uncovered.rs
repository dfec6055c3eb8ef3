// SPDX-License-Identifier: GPL-2.0

//! What is left of a range once holes are taken out of it: the parts of a
//! dirty key that write-back still copies to the backing device once later
//! discards dropped some of it (upstream has no discard).

use super::insert::gap;
use super::key::Range;

/// The pieces of `range` that no hole covers, in order. Holes are half-open
/// `(start, end)` byte bounds, in any order, and may overlap.
pub fn uncovered<T>(range: Range, holes: &[T], bounds: fn(&T) -> (u64, u64)) -> Uncovered<'_, T> {
    Uncovered {
        pos: range.off,
        end: range.end(),
        holes,
        bounds,
    }
}

/// The iterator [`uncovered`] returns.
pub struct Uncovered<'h, T> {
    pos: u64,
    end: u64,
    holes: &'h [T],
    bounds: fn(&T) -> (u64, u64),
}

impl<T> Iterator for Uncovered<'_, T> {
    type Item = Range;

    fn next(&mut self) -> Option<Range> {
        let bounds = self.bounds;
        while self.pos < self.end {
            let pos = self.pos;
            // Past every hole that covers `pos` (each step moves forward).
            let covered = self
                .holes
                .iter()
                .map(bounds)
                .filter(|&(start, end)| start <= pos && pos < end)
                .map(|(_, end)| end)
                .max();
            if let Some(end) = covered {
                self.pos = end;
                continue;
            }
            let stop = self
                .holes
                .iter()
                .map(bounds)
                .filter(|&(start, end)| start > pos && start < self.end && start < end)
                .map(|(start, _)| start)
                .min()
                .unwrap_or(self.end);
            self.pos = stop;
            return Some(Range::new(pos, gap(stop, pos)));
        }
        None
    }
}
