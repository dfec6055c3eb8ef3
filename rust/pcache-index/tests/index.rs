// SPDX-License-Identifier: GPL-2.0

//! The index against upstream's fixup cases and against a sector model.

mod common;

use common::{cells, Cell, Store, TKey, SECTOR};
use pcache_index::{
    chunk_len, insert, kset_of, nodes_needed, nodes_needed_to_remove, remove_range, subtree_of,
    uncovered, CacheKey, Range, ReadPiece, ReadWalk, SUBTREE_SIZE,
};
use proptest::prelude::*;

fn data(id: u32, off: u64, len: u32) -> TKey {
    TKey {
        off,
        len,
        data: 1_000_000 * u64::from(id),
        placeholder: false,
        id,
    }
}

fn placeholder(id: u32, off: u64, len: u32) -> TKey {
    TKey {
        placeholder: true,
        ..data(id, off, len)
    }
}

fn store(keys: &[TKey]) -> Store {
    let mut s = Store::default();
    for k in keys {
        assert!(insert(&mut s, *k));
    }
    s.check();
    s
}

fn keys(s: &Store) -> Vec<TKey> {
    s.0.values().copied().collect()
}

#[test]
fn tail_overlap_cuts_the_older_key_front() {
    let mut s = store(&[data(1, 4096, 8192)]);
    insert(&mut s, data(2, 0, 8192));
    let mut old = data(1, 4096, 8192);
    old.off = 8192;
    old.len = 4096;
    old.data += 4096;
    assert_eq!(keys(&s), vec![data(2, 0, 8192), old]);
}

#[test]
fn tail_overlap_to_the_same_end_removes_the_older_key() {
    let mut s = store(&[data(1, 4096, 4096)]);
    insert(&mut s, data(2, 0, 8192));
    assert_eq!(keys(&s), vec![data(2, 0, 8192)]);
}

#[test]
fn contained_key_is_removed_and_the_walk_goes_on() {
    let mut s = store(&[data(1, 1024, 512), data(3, 2048, 512), data(4, 3072, 2048)]);
    insert(&mut s, data(2, 512, 4096));
    let mut last = data(4, 3072, 2048);
    last.off = 4608;
    last.len = 512;
    last.data += 1536;
    assert_eq!(keys(&s), vec![data(2, 512, 4096), last]);
}

#[test]
fn key_covering_the_new_one_is_split() {
    let mut s = store(&[data(1, 0, 16384)]);
    assert_eq!(nodes_needed(&s, Range::new(4096, 4096)), 2);
    insert(&mut s, data(2, 4096, 4096));
    let mut front = data(1, 0, 16384);
    front.len = 4096;
    let mut back = data(1, 0, 16384);
    back.off = 8192;
    back.len = 8192;
    back.data += 8192;
    assert_eq!(keys(&s), vec![front, data(2, 4096, 4096), back]);
}

#[test]
fn head_overlap_cuts_the_older_key_back() {
    let mut s = store(&[data(1, 0, 8192)]);
    assert_eq!(nodes_needed(&s, Range::new(4096, 8192)), 1);
    insert(&mut s, data(2, 4096, 8192));
    let mut old = data(1, 0, 8192);
    old.len = 4096;
    assert_eq!(keys(&s), vec![old, data(2, 4096, 8192)]);
}

#[test]
fn placeholders_are_never_cut_at_the_front() {
    // Tail: the placeholder goes entirely.
    let mut s = store(&[placeholder(1, 4096, 8192)]);
    insert(&mut s, data(2, 0, 8192));
    assert_eq!(keys(&s), vec![data(2, 0, 8192)]);
    // Contained: only the front part stays, no split (and no extra node).
    let mut s = store(&[placeholder(1, 0, 16384)]);
    assert_eq!(nodes_needed(&s, Range::new(4096, 4096)), 1);
    insert(&mut s, data(2, 4096, 4096));
    assert_eq!(keys(&s), vec![placeholder(1, 0, 4096), data(2, 4096, 4096)]);
}

#[test]
fn placeholder_over_a_key_is_refused() {
    let mut s = store(&[data(1, 4096, 4096)]);
    assert!(!insert(&mut s, placeholder(2, 0, 8192)));
    assert!(!insert(&mut s, placeholder(2, 6144, 512)));
    assert_eq!(keys(&s), vec![data(1, 4096, 4096)]);
    assert!(insert(&mut s, placeholder(3, 0, 4096)));
}

#[test]
fn empty_key_is_not_inserted() {
    let mut s = store(&[data(1, 0, 4096)]);
    assert!(!insert(&mut s, data(2, 0, 0)));
    assert_eq!(keys(&s), vec![data(1, 0, 4096)]);
}

#[test]
fn read_resolves_into_hits_misses_and_pending() {
    let s = store(&[data(1, 4096, 4096), placeholder(2, 12288, 4096)]);
    let mut w = ReadWalk::new(Range::new(2048, 16384));
    let mut got = vec![];
    while let Some(p) = w.next(&s) {
        got.push(p);
    }
    assert_eq!(
        got,
        vec![
            ReadPiece::Miss(Range::new(2048, 2048)),
            ReadPiece::Hit {
                range: Range::new(4096, 4096),
                key_off: 4096,
                skip: 0
            },
            ReadPiece::Miss(Range::new(8192, 4096)),
            ReadPiece::Pending(Range::new(12288, 4096)),
            ReadPiece::Miss(Range::new(16384, 2048)),
        ]
    );
    // Starting inside a key: the hit skips into its data.
    let mut w = ReadWalk::new(Range::new(5120, 1024));
    assert_eq!(
        w.next(&s),
        Some(ReadPiece::Hit {
            range: Range::new(5120, 1024),
            key_off: 4096,
            skip: 1024
        })
    );
    assert_eq!(w.next(&s), None);
}

#[test]
fn rewind_after_a_stale_key_resolves_the_range_as_a_miss() {
    let mut s = store(&[data(1, 0, 8192)]);
    let mut w = ReadWalk::new(Range::new(0, 8192));
    let Some(ReadPiece::Hit { range, key_off, .. }) = w.next(&s) else {
        panic!("no hit");
    };
    s.0.remove(&key_off);
    w.rewind(range.off);
    assert_eq!(w.next(&s), Some(ReadPiece::Miss(Range::new(0, 8192))));
}

#[test]
fn geometry_matches_upstream() {
    assert_eq!(subtree_of(SUBTREE_SIZE - 1), 0);
    assert_eq!(subtree_of(SUBTREE_SIZE), 1);
    assert_eq!(chunk_len(SUBTREE_SIZE - 4096, 65536), 4096);
    assert_eq!(chunk_len(SUBTREE_SIZE, 65536), 65536);
    assert_eq!(chunk_len(0, u32::MAX), 1 << 22);
    assert_eq!(kset_of(5 * SUBTREE_SIZE + 7, 2), 1);
    assert_eq!(kset_of(5 * SUBTREE_SIZE, 0), 0);
}

#[test]
fn discard_splits_a_covering_key_and_drops_what_it_covers() {
    let mut s = store(&[data(1, 0, 16384), placeholder(3, 20480, 8192)]);
    let r = Range::new(4096, 4096);
    assert_eq!(nodes_needed_to_remove(&s, r), 1);
    s.1 = 0;
    remove_range(&mut s, r);
    s.check();
    assert_eq!(s.1, 1);
    let back = TKey {
        off: 8192,
        len: 8192,
        data: data(1, 0, 0).data + 8192,
        ..data(1, 0, 0)
    };
    assert_eq!(
        keys(&s),
        vec![data(1, 0, 4096), back, placeholder(3, 20480, 8192)]
    );
    // Over the back half's end and the placeholder's front: the back half
    // is cut, the placeholder dropped (its fill copies from its start).
    let r = Range::new(12288, 12288);
    assert_eq!(nodes_needed_to_remove(&s, r), 0);
    remove_range(&mut s, r);
    s.check();
    assert_eq!(keys(&s), vec![data(1, 0, 4096), TKey { len: 4096, ..back }]);
}

#[test]
fn uncovered_pieces_skip_every_hole() {
    let holes = [
        (8192u64, 12288u64),
        (0, 1024),
        (10240, 16384),
        (20480, 20480),
    ];
    let pieces: Vec<Range> = uncovered(Range::new(0, 24576), &holes, |h| *h).collect();
    assert_eq!(
        pieces,
        vec![Range::new(1024, 7168), Range::new(16384, 8192)]
    );
    assert_eq!(uncovered(Range::new(9000, 1000), &holes, |h| *h).count(), 0);
    let none: [(u64, u64); 0] = [];
    let all: Vec<Range> = uncovered(Range::new(512, 512), &none, |h| *h).collect();
    assert_eq!(all, vec![Range::new(512, 512)]);
}

/// One operation on a 128-sector space.
#[derive(Clone, Copy, Debug)]
struct Op {
    first: u64,
    sectors: u32,
    placeholder: bool,
}

fn op() -> impl Strategy<Value = Op> {
    (0u64..128, 1u32..48, prop::bool::weighted(0.25)).prop_map(|(first, sectors, placeholder)| Op {
        first,
        sectors: sectors.min(u32::try_from(128 - first).unwrap()),
        placeholder,
    })
}

const N: usize = 128;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Data inserts against the sector model: the newest write owns every
    /// sector it covers, each at its own data position; nothing else moves.
    /// Placeholders only ever shrink or vanish, never gain a sector, and
    /// keep their offset. Every read resolves exactly as the model says.
    #[test]
    fn index_matches_the_sector_model(ops in prop::collection::vec(op(), 1..40)) {
        let mut s = Store::default();
        let mut model = vec![Cell::None; N];
        for (i, op) in ops.iter().enumerate() {
            let id = u32::try_from(i).unwrap() + 1;
            let off = op.first * SECTOR;
            let len = op.sectors * u32::try_from(SECTOR).unwrap();
            let before = cells(&s, N);
            let starts: Vec<u64> = s.0.values().filter(|k| k.placeholder).map(|k| k.off).collect();
            let key = if op.placeholder { placeholder(id, off, len) } else { data(id, off, len) };
            let need = nodes_needed(&s, key.range());
            s.1 = 0;
            let range = op.first as usize..op.first as usize + op.sectors as usize;
            let gap = before[range.clone()].iter().all(|c| *c == Cell::None);
            let inserted = insert(&mut s, key);
            s.check();
            if op.placeholder && !gap {
                // Placeholders go into gaps only: refused, nothing changed.
                prop_assert!(!inserted);
                prop_assert_eq!(cells(&s, N), before);
                continue;
            }
            prop_assert!(inserted);
            // Exactly the fresh nodes reserved for it, no more.
            prop_assert!(s.1 <= need, "{} fresh nodes, {} reserved", s.1, need);
            let now = cells(&s, N);
            for sec in 0..N {
                let inside = (op.first as usize..op.first as usize + op.sectors as usize).contains(&sec);
                if inside {
                    model[sec] = if op.placeholder {
                        Cell::Pending { id }
                    } else {
                        Cell::Data { id, data: key.data + (sec as u64 - op.first) * SECTOR }
                    };
                    prop_assert_eq!(now[sec], model[sec]);
                } else {
                    match (before[sec], now[sec]) {
                        // A pending sector may be given up; nothing else changes.
                        (Cell::Pending { .. }, Cell::None) => model[sec] = Cell::None,
                        (b, n) => prop_assert_eq!(b, n, "sector {} changed outside the insert", sec),
                    }
                }
            }
            for k in s.0.values().filter(|k| k.placeholder && k.id != id) {
                prop_assert!(starts.contains(&k.off), "placeholder moved to {}", k.off);
            }
        }
        // Every read of every range resolves as the model says.
        for first in (0..N).step_by(7) {
            for n in [1usize, 5, 33, N - first] {
                let n = n.min(N - first);
                let mut w = ReadWalk::new(Range::new(first as u64 * SECTOR, u32::try_from(n as u64 * SECTOR).unwrap()));
                let mut pos = first as u64 * SECTOR;
                while let Some(p) = w.next(&s) {
                    let r = p.range();
                    prop_assert_eq!(r.off, pos);
                    prop_assert!(r.len > 0);
                    for b in (r.off..r.end()).step_by(SECTOR as usize) {
                        let cell = model[(b / SECTOR) as usize];
                        match p {
                            ReadPiece::Hit { key_off, skip, range } => {
                                let k = s.0[&key_off];
                                prop_assert_eq!(cell, Cell::Data { id: k.id, data: k.data + u64::from(skip) + (b - range.off) });
                            }
                            ReadPiece::Miss(_) => prop_assert_eq!(cell, Cell::None),
                            ReadPiece::Pending(_) => { let pending = matches!(cell, Cell::Pending { .. }); prop_assert!(pending, "not pending: {:?}", cell) },
                        }
                    }
                    pos = r.end();
                }
                prop_assert_eq!(pos, (first + n) as u64 * SECTOR);
            }
        }
    }

    /// Writes cut at subtree boundaries never leave a key across one.
    #[test]
    fn chunked_writes_stay_in_their_subtree(off in 0u64..(3 << 22), len in 1u32..(9 << 20)) {
        let (mut off, mut left) = (off, len);
        while left > 0 {
            let n = chunk_len(off, left);
            prop_assert!(n > 0 && n <= left);
            prop_assert_eq!(subtree_of(off), subtree_of(off + u64::from(n) - 1));
            off += u64::from(n);
            left -= n;
        }
    }

    /// A discard against the sector model: nothing is left inside the
    /// range, a placeholder outside it may only give sectors up, everything
    /// else is unchanged, within the nodes reserved for it.
    #[test]
    fn remove_range_matches_the_sector_model(
        ops in prop::collection::vec(op(), 1..30),
        first in 0u64..128,
        sectors in 1u32..64,
    ) {
        let mut s = Store::default();
        for (i, op) in ops.iter().enumerate() {
            let id = u32::try_from(i).unwrap() + 1;
            let (off, len) = (op.first * SECTOR, op.sectors * u32::try_from(SECTOR).unwrap());
            let key = if op.placeholder { placeholder(id, off, len) } else { data(id, off, len) };
            insert(&mut s, key);
        }
        let sectors = sectors.min(u32::try_from(128 - first).unwrap());
        let r = Range::new(first * SECTOR, sectors * u32::try_from(SECTOR).unwrap());
        let before = cells(&s, N);
        let need = nodes_needed_to_remove(&s, r);
        s.1 = 0;
        remove_range(&mut s, r);
        s.check();
        prop_assert!(s.1 <= need, "{} fresh nodes, {} reserved", s.1, need);
        let now = cells(&s, N);
        for sec in 0..N {
            if (first as usize..first as usize + sectors as usize).contains(&sec) {
                prop_assert_eq!(now[sec], Cell::None);
            } else {
                match (before[sec], now[sec]) {
                    (Cell::Pending { .. }, Cell::None) => {}
                    (b, n) => prop_assert_eq!(b, n, "sector {} changed outside the discard", sec),
                }
            }
        }
    }

    /// The uncovered pieces are exactly the sectors no hole covers, in
    /// order, each as long as it can be.
    #[test]
    fn uncovered_matches_a_sector_map(
        first in 0u64..64,
        sectors in 1u32..64,
        holes in prop::collection::vec((0u64..128, 0u64..40), 0..6),
    ) {
        let holes: Vec<(u64, u64)> = holes.iter().map(|&(a, n)| (a * SECTOR, (a + n) * SECTOR)).collect();
        let r = Range::new(first * SECTOR, sectors * u32::try_from(SECTOR).unwrap());
        let mut want = Vec::new();
        let mut sec = first;
        while sec < first + u64::from(sectors) {
            let hole = |b: u64| holes.iter().any(|&(a, e)| a <= b * SECTOR && b * SECTOR < e);
            if hole(sec) {
                sec += 1;
                continue;
            }
            let start = sec;
            while sec < first + u64::from(sectors) && !hole(sec) {
                sec += 1;
            }
            want.push(Range::new(start * SECTOR, u32::try_from((sec - start) * SECTOR).unwrap()));
        }
        let got: Vec<Range> = uncovered(r, &holes, |h| *h).collect();
        prop_assert_eq!(got, want);
    }
}
