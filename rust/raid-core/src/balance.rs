// SPDX-License-Identifier: GPL-2.0

//! Which copy a read goes to: a simplified `read_balance()` of
//! `drivers/md/raid1.c` (`choose_best_rdev()`), used for raid1 and raid10.
//!
//! A copy is skipped when its leg is missing, faulty, excluded (already
//! tried by this read), holds a known bad range in the read, or is being
//! rebuilt and the read does not end at or below its `recovery_offset`
//! (md: `addr + sectors > recovery_offset`). Of the others:
//!
//! * if every candidate is rotational, the one whose head (where its last
//!   I/O ended) is nearest to the read wins, a sequential one (distance 0)
//!   at once;
//! * if any is non-rotational, the one with the fewest pending I/Os wins
//!   (md does the same for mixed arrays).
//!
//! Ties go to the lowest copy index. md's partial reads around bad blocks
//! and its "far copies read the lowest address" rule are left out: a copy
//! with a bad range in the read is simply not a candidate, so the caller
//! splits or retries.

/// A leg's state as the read path sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LegState {
    /// No device in this slot.
    Missing,
    /// Failed.
    Faulty,
    /// In sync.
    InSync,
    /// Being rebuilt: sectors below `recovery_offset` are valid.
    Recovering {
        /// First leg sector not rebuilt yet.
        recovery_offset: u64,
    },
}

/// One copy of the read, with what the balancer needs to know of its leg.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The leg (bit `leg` of the exclude mask).
    pub leg: u32,
    /// The leg's state.
    pub state: LegState,
    /// Where the read starts on the leg.
    pub phys: u64,
    /// Whether the read's range overlaps a bad range of the leg.
    pub bad: bool,
    /// I/Os in flight on the leg.
    pub pending: u32,
    /// Sector where the leg's last I/O ended.
    pub head: u64,
    /// Whether the leg is a rotational disk.
    pub rotational: bool,
}

impl Candidate {
    /// Whether `sectors` can be read from this copy at all.
    pub fn readable(&self, sectors: u64) -> bool {
        if self.bad {
            return false;
        }
        match self.state {
            LegState::Missing | LegState::Faulty => false,
            LegState::InSync => true,
            LegState::Recovering { recovery_offset } => {
                self.phys.saturating_add(sectors) <= recovery_offset
            }
        }
    }
}

fn excluded(exclude: u64, leg: u32) -> bool {
    exclude & 1u64.checked_shl(leg).unwrap_or(0) != 0
}

/// The index in `copies` of the copy to read `sectors` from, skipping legs
/// whose bit is set in `exclude`; `None` when no copy is readable.
pub fn choose(copies: &[Candidate], sectors: u64, exclude: u64) -> Option<usize> {
    let usable = || {
        copies
            .iter()
            .enumerate()
            .filter(move |(_, c)| !excluded(exclude, c.leg) && c.readable(sectors))
    };
    let any_nonrot = usable().any(|(_, c)| !c.rotational);
    if any_nonrot {
        // min_by_key keeps the first minimum: lowest index wins ties.
        return usable().min_by_key(|(_, c)| c.pending).map(|(i, _)| i);
    }
    let mut best: Option<(usize, u64)> = None;
    for (i, c) in usable() {
        let dist = c.phys.abs_diff(c.head);
        if dist == 0 {
            return Some(i);
        }
        if best.is_none_or(|(_, d)| dist < d) {
            best = Some((i, dist));
        }
    }
    best.map(|(i, _)| i)
}
