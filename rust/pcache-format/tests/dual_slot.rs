// SPDX-License-Identifier: GPL-2.0

//! The dual-slot rule: reading the newest valid copy under every mix of
//! valid, CRC-bad and torn slots and sequence wrap-around; and writing the
//! slot that does not hold it -- which upstream's cache_pos_encode() does not.

use pcache_format::meta::upstream_pos_encode_slot;
use pcache_format::*;
use zerocopy::IntoBytes;

/// Two CachePos slots as they lie on the media.
#[derive(Clone)]
struct Media([u8; 32]);

impl Media {
    fn slots(&self) -> [Slot<CachePos>; 2] {
        [0, 1].map(|i| Slot::from_record(CachePos::read_slot(&self.0[i * 16..]).unwrap()))
    }

    fn latest(&self) -> Option<(usize, CachePos)> {
        find_latest(&self.slots())
    }

    /// Writes `rec` into `slot`; a torn write stops after `torn` bytes.
    fn write(&mut self, slot: usize, rec: &CachePos, torn: Option<usize>) {
        let n = torn.unwrap_or(16);
        self.0[slot * 16..slot * 16 + n].copy_from_slice(&rec.as_bytes()[..n]);
    }
}

fn pos(seq: u8, off: u32) -> CachePos {
    let mut p = CachePos::new(0, off);
    p.seal(seq);
    p
}

#[derive(Clone, Copy, Debug)]
enum State {
    Valid(u8),
    BadCrc(u8),
    /// The first half of a newer record over an older one.
    Torn(u8),
    Zero,
}

fn slot_bytes(state: State, off: u32) -> [u8; 16] {
    let mut b = [0u8; 16];
    match state {
        State::Valid(s) => b.copy_from_slice(pos(s, off).as_bytes()),
        State::BadCrc(s) => {
            b.copy_from_slice(pos(s, off).as_bytes());
            b[12] ^= 0xff;
        }
        State::Torn(s) => {
            b.copy_from_slice(pos(s.wrapping_sub(1), off).as_bytes());
            b[..8].copy_from_slice(&pos(s, off + 512).as_bytes()[..8]);
        }
        State::Zero => {}
    }
    b
}

#[test]
fn reader_takes_newest_valid_copy_in_every_combination() {
    let seqs = [0u8, 1, 2, 126, 127, 128, 129, 254, 255];
    let mut states = vec![State::Zero];
    for &s in &seqs {
        states.extend([State::Valid(s), State::BadCrc(s), State::Torn(s)]);
    }
    for &a in &states {
        for &b in &states {
            let mut m = Media([0; 32]);
            m.0[..16].copy_from_slice(&slot_bytes(a, 100));
            m.0[16..].copy_from_slice(&slot_bytes(b, 200));
            let got = m.latest().map(|(i, p)| (i, p.header.seq));
            let want = match (a, b) {
                (State::Valid(x), State::Valid(y)) => {
                    // Slot 1 only if strictly newer (a tie goes to slot 0).
                    if (y.wrapping_sub(x) as i8) > 0 {
                        Some((1, y))
                    } else {
                        Some((0, x))
                    }
                }
                (State::Valid(x), _) => Some((0, x)),
                (_, State::Valid(y)) => Some((1, y)),
                _ => None,
            };
            assert_eq!(got, want, "slot0 {a:?}, slot1 {b:?}");
        }
    }
}

#[test]
fn wrap_around_and_ties() {
    let mut m = Media([0; 32]);
    m.write(0, &pos(255, 1), None);
    m.write(1, &pos(0, 2), None);
    assert_eq!(m.latest().map(|(i, _)| i), Some(1), "0 follows 255");
    m.write(0, &pos(1, 3), None);
    assert_eq!(m.latest().map(|(i, _)| i), Some(0));
    m.write(1, &pos(1, 4), None);
    assert_eq!(
        m.latest().map(|(i, p)| (i, p.seg_off.get())),
        Some((0, 3)),
        "a tie goes to slot 0"
    );
}

/// Loads the newest copy, then makes `updates` updates, each first torn
/// (power lost mid-write) and then completed. Returns false as soon as a
/// torn write leaves the newest completed update unreadable.
fn survives_torn_writes(choose: fn(Option<usize>) -> usize, start: (u8, u8), updates: u32) -> bool {
    let mut m = Media([0; 32]);
    m.write(0, &pos(start.0, 1000), None);
    m.write(1, &pos(start.1, 2000), None);
    for n in 0..updates {
        let (idx, newest) = m.latest().expect("a valid copy");
        let next = pos(newest.header.seq.wrapping_add(1), 3000 + n);
        let slot = choose(Some(idx));
        let mut complete = m.clone();
        complete.write(slot, &next, None);
        for torn in 1..16 {
            let mut crashed = m.clone();
            crashed.write(slot, &next, Some(torn));
            // A tear whose unwritten tail already held the new bytes is a
            // complete write; any other must leave the newest copy readable.
            let expect = if crashed.0 == complete.0 {
                next
            } else {
                newest
            };
            if crashed.latest().map(|(_, p)| p) != Some(expect) {
                return false;
            }
        }
        m.write(slot, &next, None);
        if m.latest().map(|(_, p)| p) != Some(next) {
            return false;
        }
    }
    true
}

#[test]
fn writer_rule_never_overwrites_the_newest_copy() {
    for start in [(5, 4), (4, 5), (255, 0), (0, 255), (9, 9)] {
        assert!(survives_torn_writes(write_slot, start, 300), "{start:?}");
    }
    assert_eq!(write_slot(None), 0);
    assert_eq!(write_slot(Some(0)), 1);
    assert_eq!(write_slot(Some(1)), 0);
}

#[test]
fn upstream_cache_pos_encode_overwrites_the_newest_copy_after_a_load() {
    // cache_pos_decode() leaves the index at the newest slot and
    // cache_pos_encode() writes there before advancing: a crash during the
    // first update after a load leaves only the older copy.
    let upstream = |l: Option<usize>| upstream_pos_encode_slot(l.unwrap_or(0));
    assert!(!survives_torn_writes(upstream, (5, 4), 1));
    assert!(!survives_torn_writes(upstream, (4, 5), 1));
    // Concretely: newest is slot 0 (seq 5); upstream tears slot 0; the
    // reader falls back to seq 4, an older key_tail/dirty_tail.
    let mut m = Media([0; 32]);
    m.write(0, &pos(5, 1000), None);
    m.write(1, &pos(4, 500), None);
    let (idx, _) = m.latest().unwrap();
    m.write(upstream_pos_encode_slot(idx), &pos(6, 1500), Some(10));
    assert_eq!(m.latest().map(|(_, p)| p.header.seq), Some(4));
    // Ours tears slot 1 instead, and seq 5 survives.
    let mut m2 = Media([0; 32]);
    m2.write(0, &pos(5, 1000), None);
    m2.write(1, &pos(4, 500), None);
    m2.write(write_slot(Some(idx)), &pos(6, 1500), Some(10));
    assert_eq!(m2.latest().map(|(_, p)| p.header.seq), Some(5));
}
