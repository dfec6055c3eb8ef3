// SPDX-License-Identifier: GPL-2.0

//! Inserting a key: the newer key always wins, older keys are cut to what
//! it leaves of them (`cache_key_insert()` with `fixup`, and its callbacks
//! `fixup_overlap_{tail,contain,contained,head}()`).
//!
//! The same insert serves writes, miss placeholders, miss fills and replay:
//! replay inserts the logged keys in log order, so applying the same rule
//! rebuilds the index the writes left. Placeholders (a miss in flight) are
//! never cut at the front: the miss completion copies from the start of
//! its request, so a placeholder that loses its front is dropped instead,
//! and one that a newer key splits keeps only its front part.

use super::key::{classify, CacheKey, KeyStore, Overlap, Range};

/// The distance from `b` up to `a` as a key length (0 if `a <= b`).
pub(crate) fn gap(a: u64, b: u64) -> u32 {
    u32::try_from(a.saturating_sub(b)).unwrap_or(u32::MAX)
}

/// How many fresh nodes inserting `new` takes ([`KeyStore::insert`] calls):
/// one for itself, and one for the back half of an older key it splits
/// (only a key that starts before `new` can contain it, so only the floor
/// key). The kernel reserves that many before it locks the subtree.
pub fn nodes_needed<S: KeyStore>(store: &S, new: Range) -> usize {
    match store.floor(new.off) {
        Some(k) if !k.is_placeholder() && classify(k.range(), new) == Overlap::Contained => 2,
        _ => 1,
    }
}

/// Inserts `new`, cutting, splitting or removing the older keys it overlaps.
/// A key of length 0 is not inserted, nor a placeholder that overlaps a key
/// (placeholders go into gaps only; upstream BUG()s): both return `false`
/// with the store unchanged.
pub fn insert<S: KeyStore>(store: &mut S, new: S::Key) -> bool {
    let r = new.range();
    if r.len == 0 || !cut(store, r, new.is_placeholder()) {
        return false;
    }
    store.insert(new);
    true
}

/// How many fresh nodes [`remove_range`] takes: one if a key covers the
/// range with room on both sides (its back half), else none.
pub fn nodes_needed_to_remove<S: KeyStore>(store: &S, r: Range) -> usize {
    match nodes_needed(store, r) {
        2 => 1,
        _ => 0,
    }
}

/// Removes whatever the index holds of `r` (a discard): keys inside it go,
/// keys across its ends are cut (or split), placeholders lose what they
/// would lose to a write over `r`, so a miss in flight never fills it.
pub fn remove_range<S: KeyStore>(store: &mut S, r: Range) {
    if r.len > 0 {
        cut(store, r, false);
    }
}

/// Cuts the older keys that overlap `r` to what `r` leaves of them; with
/// `placeholder` (a placeholder goes into `r`), refuses (`false`, nothing
/// changed) if any key overlaps it.
fn cut<S: KeyStore>(store: &mut S, r: Range, placeholder_new: bool) -> bool {
    let mut cur = match store.floor(r.off) {
        Some(k) => Some(k.range().off),
        None => store.next_after(r.off).map(|k| k.range().off),
    };
    while let Some(off) = cur {
        let Some((old, placeholder)) = store.floor(off).map(|k| (k.range(), k.is_placeholder()))
        else {
            break;
        };
        let overlap = classify(old, r);
        if placeholder_new && !matches!(overlap, Overlap::Before | Overlap::After) {
            // Nothing changed yet: only `Before` keys were passed.
            return false;
        }
        match overlap {
            Overlap::Before => cur = store.next_after(off).map(|k| k.range().off),
            Overlap::After => break,
            Overlap::Tail => {
                // What is left starts where `r` ends; nothing further can
                // overlap `r`.
                let cut = gap(r.end(), old.off);
                if placeholder || cut >= old.len {
                    store.remove(off);
                } else {
                    store.cut_front(off, cut);
                }
                break;
            }
            Overlap::Contain => {
                store.remove(off);
                cur = store.next_after(off).map(|k| k.range().off);
            }
            Overlap::Contained => {
                let back = store.floor(off).cloned();
                store.update(off, |k| k.cut_back(gap(old.end(), r.off)));
                if let (false, Some(mut back)) = (placeholder, back) {
                    back.cut_front(gap(r.end(), old.off));
                    store.insert(back);
                }
                break;
            }
            Overlap::Head => {
                store.update(off, |k| k.cut_back(gap(old.end(), r.off)));
                cur = store.next_after(off).map(|k| k.range().off);
            }
        }
    }
    true
}
