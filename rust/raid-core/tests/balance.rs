// SPDX-License-Identifier: GPL-2.0

//! Read balancing.

use proptest::prelude::*;
use raid_core::{choose, Candidate, LegState};

fn cand(leg: u32) -> Candidate {
    Candidate {
        leg,
        state: LegState::InSync,
        phys: 1000,
        bad: false,
        pending: 0,
        head: 0,
        rotational: true,
    }
}

#[test]
fn rotational_picks_nearest_head_and_sequential_at_once() {
    let mut c = [cand(0), cand(1), cand(2)];
    c[0].head = 0;
    c[1].head = 990;
    c[2].head = 1020;
    assert_eq!(choose(&c, 8, 0), Some(1));
    c[2].head = 1000;
    assert_eq!(choose(&c, 8, 0), Some(2));
    // Ties go to the lowest index.
    c[0].head = 1010;
    c[1].head = 995;
    c[2].head = 1005;
    assert_eq!(choose(&c, 8, 0), Some(1));
    c[0].head = 995;
    assert_eq!(choose(&c, 8, 0), Some(0));
    c[0].head = 0;
    // Pending does not matter on rotational legs.
    c[1].pending = 100;
    assert_eq!(choose(&c, 8, 0), Some(1));
}

#[test]
fn non_rotational_picks_least_pending() {
    let mut c = [cand(0), cand(1), cand(2)];
    for x in &mut c {
        x.rotational = false;
    }
    c[0].pending = 3;
    c[1].pending = 1;
    c[2].pending = 1;
    c[2].head = 1000;
    assert_eq!(choose(&c, 8, 0), Some(1));
    // Mixed: one non-rotational leg makes it pending-based for all.
    c[0].rotational = true;
    c[0].pending = 0;
    assert_eq!(choose(&c, 8, 0), Some(0));
}

#[test]
fn skips_unreadable_copies() {
    let mut c = [cand(0), cand(1), cand(2), cand(3)];
    c[0].state = LegState::Faulty;
    c[1].state = LegState::Missing;
    c[2].bad = true;
    c[3].state = LegState::Recovering {
        recovery_offset: 1007,
    };
    assert_eq!(choose(&c, 8, 0), None);
    c[3].state = LegState::Recovering {
        recovery_offset: 1008,
    };
    assert_eq!(choose(&c, 8, 0), Some(3));
    assert_eq!(choose(&c, 8, 1 << 3), None);
    assert_eq!(choose(&[], 8, 0), None);
}

#[test]
fn exclude_mask_is_by_leg() {
    // raid10 copies on legs 5 and 2: excluding leg 5 leaves copy index 1.
    let mut c = [cand(5), cand(2)];
    c[0].head = 1000;
    assert_eq!(choose(&c, 8, 0), Some(0));
    assert_eq!(choose(&c, 8, 1 << 5), Some(1));
    assert_eq!(choose(&c, 8, (1 << 5) | (1 << 2)), None);
}

fn any_state() -> impl Strategy<Value = LegState> {
    prop_oneof![
        Just(LegState::Missing),
        Just(LegState::Faulty),
        Just(LegState::InSync),
        (0u64..2000).prop_map(|r| LegState::Recovering { recovery_offset: r }),
    ]
}

fn any_cand() -> impl Strategy<Value = Candidate> {
    (
        0u32..16,
        any_state(),
        0u64..1500,
        any::<bool>(),
        0u32..4,
        0u64..1500,
        any::<bool>(),
    )
        .prop_map(
            |(leg, state, phys, bad, pending, head, rotational)| Candidate {
                leg,
                state,
                phys,
                bad,
                pending,
                head,
                rotational,
            },
        )
}

proptest! {
    #[test]
    fn choice_is_readable_and_best(
        c in proptest::collection::vec(any_cand(), 0..8),
        sectors in 1u64..64,
        exclude in any::<u16>(),
    ) {
        let exclude = u64::from(exclude);
        let ok = |x: &Candidate| exclude & (1 << x.leg) == 0 && x.readable(sectors);
        match choose(&c, sectors, exclude) {
            None => prop_assert!(!c.iter().any(ok)),
            Some(i) => {
                let x = &c[i];
                prop_assert!(ok(x));
                let usable: Vec<(usize, &Candidate)> =
                    c.iter().enumerate().filter(|(_, y)| ok(y)).collect();
                if usable.iter().any(|(_, y)| !y.rotational) {
                    let min = usable.iter().map(|(_, y)| y.pending).min().unwrap();
                    let first = usable.iter().find(|(_, y)| y.pending == min).unwrap().0;
                    prop_assert_eq!(i, first);
                } else {
                    let d = |y: &Candidate| y.phys.abs_diff(y.head);
                    let min = usable.iter().map(|(_, y)| d(y)).min().unwrap();
                    let first = usable.iter().find(|(_, y)| d(y) == min).unwrap().0;
                    prop_assert_eq!(i, first);
                }
            }
        }
    }
}
