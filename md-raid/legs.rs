// SPDX-License-Identifier: GPL-2.0

//! The legs of the array and what the I/O paths need to know of them
//! (upstream: the `rdev` flags and counters of md's raid1/raid10 confs):
//! which are present and which faulty (atomics: a write's completion fails
//! a leg in interrupt context), which are being rebuilt and how far (md's
//! `In_sync` flag and `recovery_offset`), reads in flight per leg for the
//! balancer, and, under a lock taken in process context only, each leg's
//! decaying read-error counts and bad ranges.

use crate::raid_core::{
    choose, BadRanges, Candidate, LegErrors, LegSector, LegState, Mapping, MAX_LEGS,
};
use crate::rdm::DmDev;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use kernel::prelude::*;

/// Bad ranges kept per leg: a full table fails the leg (md does the same
/// when it cannot record a bad block).
pub(crate) const BAD_RANGES: usize = 64;

/// The bit of leg `leg` in a leg mask.
pub(crate) fn bit(leg: u32) -> u64 {
    1u64.checked_shl(leg).unwrap_or(0)
}

/// One slot of the table.
pub(crate) struct Leg {
    /// `None` for a `- -` slot: the array runs without it.
    pub(crate) dev: Option<DmDev>,
    /// Reads in flight on the leg, for the balancer.
    pub(crate) pending: AtomicU32,
    /// Lifetime read-error counts (never decayed, kept by `recover`).
    pub(crate) corrected: AtomicU64,
    pub(crate) uncorrectable: AtomicU64,
}

/// What the process-context paths keep per leg.
#[derive(Default)]
pub(crate) struct LegHealth {
    pub(crate) errors: LegErrors,
    pub(crate) bad: BadRanges<BAD_RANGES>,
}

/// The legs, their health bits and the geometry over them.
///
/// # Invariants
///
/// `legs.len()` is the layout's leg count (at most [`MAX_LEGS`]); `present`
/// has the bits of the slots with a device; `faulty` only ever gains bits
/// of present legs, and never the last in-sync bit that keeps a copy of
/// every chunk readable (`fail`), except through `start_rebuild`, which
/// moves a faulty leg to `rebuilding`. A usable leg in `rebuilding` holds
/// the array's data below `recovery_offset` (its own sectors) and is not
/// counted as a copy above it; a faulty one keeps its `rebuilding` bit
/// until it is taken back.
pub(crate) struct Legs {
    pub(crate) map: Mapping,
    pub(crate) legs: KVec<Leg>,
    pub(crate) present: u64,
    pub(crate) faulty: AtomicU64,
    /// Legs being rebuilt: they get every write, and serve reads only below
    /// `recovery_offset`, which they share (md rebuilds its spares in one
    /// pass too).
    pub(crate) rebuilding: AtomicU64,
    pub(crate) recovery_offset: AtomicU64,
    /// While a resync runs, the array sector it has reached (`u64::MAX`
    /// otherwise): above it the copies may differ, and reads go to the
    /// first readable copy so that two reads agree (md's
    /// `choose_first_rdev()` during a resync).
    pub(crate) resync_at: AtomicU64,
    /// Bumped on every change of `faulty` or `rebuilding`, for the event
    /// work.
    pub(crate) changes: AtomicU64,
}

impl Legs {
    /// The legs writes go to: present and not faulty (in sync or being
    /// rebuilt).
    pub(crate) fn usable(&self) -> u64 {
        // SeqCst: a write counts itself in flight, then looks here; a
        // rebuild takes a leg back here, then looks for writes in flight.
        // One of the two sees the other.
        self.present & !self.faulty.load(Ordering::SeqCst)
    }

    /// The legs that hold every copy the layout puts on them.
    pub(crate) fn in_sync(&self) -> u64 {
        self.usable() & !self.rebuilding.load(Ordering::Acquire)
    }

    /// Whether `leg` can serve `sectors` at its sector `phys` (bad ranges
    /// aside): usable, and rebuilt that far if it is being rebuilt.
    pub(crate) fn can_read(&self, leg: u32, phys: u64, sectors: u64) -> bool {
        match self.state(leg) {
            LegState::InSync => true,
            LegState::Recovering { recovery_offset } => {
                phys.saturating_add(sectors) <= recovery_offset
            }
            LegState::Missing | LegState::Faulty => false,
        }
    }

    /// The balancer's view of `leg`.
    fn state(&self, leg: u32) -> LegState {
        let b = bit(leg);
        if self.present & b == 0 {
            LegState::Missing
        } else if self.faulty.load(Ordering::Acquire) & b != 0 {
            LegState::Faulty
        } else if self.rebuilding.load(Ordering::Acquire) & b != 0 {
            LegState::Recovering {
                recovery_offset: self.recovery_offset.load(Ordering::Acquire),
            }
        } else {
            LegState::InSync
        }
    }

    /// Where the copy of `virt` on `leg` is, if the leg holds one.
    pub(crate) fn phys(&self, leg: u32, virt: u64) -> Option<u64> {
        Some(self.map.map(virt)?.on_leg(leg)?.phys)
    }

    pub(crate) fn dev(&self, leg: u32) -> Option<&DmDev> {
        self.legs.get(leg as usize)?.dev.as_ref()
    }

    /// Fails `leg` unless it is gone already or the array would lose the
    /// last readable copy of some chunk without it (md's `enough()` in
    /// `raid1_error()` / `raid10_error()`: the last good copy is never
    /// failed). Returns whether this call failed it. Any context.
    pub(crate) fn fail(&self, leg: u32) -> bool {
        let b = bit(leg);
        let layout = self.map.layout();
        let mut cur = self.faulty.load(Ordering::Acquire);
        loop {
            if cur & b != 0 || self.present & b == 0 {
                return false;
            }
            let rebuilding = self.rebuilding.load(Ordering::Acquire);
            if !layout.has_enough(self.present & !(cur | b | rebuilding)) {
                return false;
            }
            // INVARIANT: checked above: what is left in sync holds a copy
            // of every chunk.
            match self
                .faulty
                .compare_exchange(cur, cur | b, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    self.changes.fetch_add(1, Ordering::Release);
                    return true;
                }
                Err(now) => cur = now,
            }
        }
    }

    /// Takes the failed `leg` back as a leg to rebuild from its first
    /// sector (the `recover` message). Every leg being rebuilt starts over:
    /// they share one offset. Returns whether `leg` was failed. The caller
    /// serialises this against the sync work's updates of the offset.
    pub(crate) fn start_rebuild(&self, leg: u32) -> bool {
        let b = bit(leg);
        if self.present & b == 0 || self.faulty.load(Ordering::Acquire) & b == 0 {
            return false;
        }
        // In this order, so that no read sees the leg usable and in sync:
        // the offset first, then rebuilding, then no longer faulty.
        // INVARIANT: the leg holds nothing yet, and its offset is 0.
        self.recovery_offset.store(0, Ordering::SeqCst);
        self.rebuilding.fetch_or(b, Ordering::SeqCst);
        self.faulty.fetch_and(!b, Ordering::SeqCst);
        self.changes.fetch_add(1, Ordering::Release);
        true
    }

    /// The legs of `legs` still rebuilding are in sync now (their offset
    /// reached the end). Returns whether any was.
    pub(crate) fn end_rebuild(&self, legs: u64) -> bool {
        // INVARIANT: the caller saw the shared offset at the legs' end.
        let was = self.rebuilding.fetch_and(!legs, Ordering::AcqRel);
        if was & legs != 0 {
            self.changes.fetch_add(1, Ordering::Release);
        }
        was & legs != 0
    }

    /// The copy of `virt` to read `sectors` from, among the legs in
    /// `usable` not in `exclude`, and not holding a bad range in the read
    /// (`health` is `None` when no leg has any: the hot path skips the
    /// lock). Least pending reads wins (all legs count as non-rotational:
    /// md's choice for SSDs and RAM disks).
    pub(crate) fn choose(
        &self,
        virt: u64,
        sectors: u64,
        exclude: u64,
        health: Option<&[LegHealth]>,
    ) -> Option<LegSector> {
        let copies = self.map.map(virt)?;
        let mut cands = [Candidate {
            leg: 0,
            state: LegState::Missing,
            phys: 0,
            bad: false,
            pending: 0,
            head: 0,
            rotational: false,
        }; MAX_LEGS];
        let mut n = 0;
        for c in copies.iter() {
            let Some(slot) = cands.get_mut(n) else { break };
            let state = self.state(c.leg);
            let bad = health
                .and_then(|h| h.get(c.leg as usize))
                .is_some_and(|h| h.bad.check(c.phys, sectors).is_some());
            let pending = self
                .legs
                .get(c.leg as usize)
                .map_or(0, |l| l.pending.load(Ordering::Relaxed));
            *slot = Candidate {
                leg: c.leg,
                state,
                phys: c.phys,
                bad,
                pending,
                head: 0,
                rotational: false,
            };
            n += 1;
        }
        let cands = cands.get(..n)?;
        let i = if virt.saturating_add(sectors) > self.resync_at.load(Ordering::Acquire) {
            cands
                .iter()
                .position(|c| exclude & bit(c.leg) == 0 && c.readable(sectors))?
        } else {
            choose(cands, sectors, exclude)?
        };
        copies.get(i)
    }
}
