// SPDX-License-Identifier: GPL-2.0

//! Bad ranges against a bitset model over a small sector space.

use proptest::prelude::*;
use raid_core::{BadRange, BadRanges, Full};

const SPACE: u64 = 256;

fn ranges<const N: usize>(b: &BadRanges<N>) -> Vec<(u64, u64)> {
    b.iter().map(|r| (r.start, r.len)).collect()
}

/// The maximal runs of a bitset.
fn runs(bits: &[bool]) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < bits.len() {
        if bits[i] {
            let s = i;
            while i < bits.len() && bits[i] {
                i += 1;
            }
            out.push((s as u64, (i - s) as u64));
        } else {
            i += 1;
        }
    }
    out
}

#[derive(Debug, Clone)]
enum Op {
    Add(u64, u64),
    Clear(u64, u64),
    Check(u64, u64),
}

fn op() -> impl Strategy<Value = Op> {
    let r = || (0..SPACE, 0u64..24);
    prop_oneof![
        3 => r().prop_map(|(s, l)| Op::Add(s, l.min(SPACE - s))),
        2 => r().prop_map(|(s, l)| Op::Clear(s, l.min(SPACE - s))),
        2 => r().prop_map(|(s, l)| Op::Check(s, l.min(SPACE - s))),
    ]
}

fn run_model<const N: usize>(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut b = BadRanges::<N>::new();
    let mut bits = vec![false; SPACE as usize];
    for op in ops {
        match op {
            Op::Add(s, l) => {
                let mut next = bits.clone();
                next[s as usize..(s + l) as usize].fill(true);
                let before = ranges(&b);
                match b.add(s, l) {
                    Ok(()) => bits = next,
                    Err(Full) => {
                        prop_assert!(runs(&next).len() > N);
                        prop_assert_eq!(ranges(&b), before);
                    }
                }
            }
            Op::Clear(s, l) => {
                let mut next = bits.clone();
                next[s as usize..(s + l) as usize].fill(false);
                let before = ranges(&b);
                match b.clear(s, l) {
                    Ok(()) => bits = next,
                    Err(Full) => {
                        prop_assert!(runs(&next).len() > N);
                        prop_assert_eq!(ranges(&b), before);
                    }
                }
            }
            Op::Check(s, l) => {
                let want = runs(&bits)
                    .into_iter()
                    .find(|&(rs, rl)| rs < s + l && rs + rl > s && l > 0);
                prop_assert_eq!(b.check(s, l), want);
            }
        }
        prop_assert_eq!(ranges(&b), runs(&bits));
        prop_assert_eq!(b.len(), runs(&bits).len());
        prop_assert!(b.len() <= N);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn matches_bitset_with_small_capacity(ops in proptest::collection::vec(op(), 1..80)) {
        run_model::<4>(ops)?;
    }

    #[test]
    fn matches_bitset_with_large_capacity(ops in proptest::collection::vec(op(), 1..200)) {
        run_model::<64>(ops)?;
    }
}

#[test]
fn merges_adjacent_and_overlapping() {
    let mut b = BadRanges::<8>::new();
    b.add(10, 5).unwrap();
    b.add(15, 5).unwrap();
    assert_eq!(ranges(&b), vec![(10, 10)]);
    b.add(30, 2).unwrap();
    b.add(40, 2).unwrap();
    b.add(5, 40).unwrap();
    assert_eq!(ranges(&b), vec![(5, 40)]);
    assert_eq!(b.check(44, 10), Some((5, 40)));
    assert_eq!(b.check(45, 10), None);
    assert_eq!(b.check(0, 5), None);
    assert_eq!(b.check(0, 6), Some((5, 40)));
    assert_eq!(b.check(7, 0), None);
}

#[test]
fn split_needs_a_slot() {
    let mut b = BadRanges::<2>::new();
    b.add(0, 10).unwrap();
    b.add(20, 10).unwrap();
    assert!(b.is_full());
    assert_eq!(b.add(50, 1), Err(Full));
    assert_eq!(b.clear(3, 2), Err(Full));
    assert_eq!(ranges(&b), vec![(0, 10), (20, 10)]);
    // Trimming an end needs none.
    b.clear(0, 2).unwrap();
    b.clear(28, 10).unwrap();
    assert_eq!(ranges(&b), vec![(2, 8), (20, 8)]);
    // Clearing across both frees one and then the split fits.
    b.clear(5, 20).unwrap();
    assert_eq!(ranges(&b), vec![(2, 3), (25, 3)]);
    b.clear(0, 100).unwrap();
    assert!(b.is_empty());
    // Merging into an existing range needs no slot even when full.
    let mut b = BadRanges::<1>::new();
    b.add(10, 1).unwrap();
    b.add(11, 1).unwrap();
    b.add(9, 1).unwrap();
    assert_eq!(ranges(&b), vec![(9, 3)]);
    assert_eq!(b.capacity(), 1);
}

#[test]
fn saturates_at_the_top() {
    let mut b = BadRanges::<4>::new();
    b.add(u64::MAX - 4, 100).unwrap();
    assert_eq!(
        b.iter().collect::<Vec<_>>(),
        vec![BadRange {
            start: u64::MAX - 4,
            len: 4
        }]
    );
    assert_eq!(b.check(u64::MAX - 1, 10), Some((u64::MAX - 4, 4)));
    b.clear(u64::MAX - 2, 50).unwrap();
    assert_eq!(ranges(&b), vec![(u64::MAX - 4, 2)]);
}

#[test]
fn md_page_capacity() {
    let mut b = BadRanges::<{ raid_core::MD_BADBLOCKS_PER_PAGE }>::new();
    for i in 0..512u64 {
        b.add(i * 2, 1).unwrap();
    }
    assert_eq!(b.add(5000, 1), Err(Full));
    assert_eq!(b.len(), 512);
}
