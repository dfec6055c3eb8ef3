// SPDX-License-Identifier: GPL-2.0

//! The layouts against md's own arithmetic, transliterated below from
//! `drivers/md/raid10.c` (`setup_geo()`, `calc_sectors()`, `raid10_size()`,
//! `__raid10_find_phys()`, `raid10_find_virt()`, `_enough()`).

use proptest::prelude::*;
use raid_core::{FarRotation, Format, Layout, LayoutError, Mapping, MAX_LEGS};
use std::collections::HashSet;

/// md's `struct geom` plus `conf->dev_sectors`.
#[derive(Debug)]
struct Md {
    raid_disks: i64,
    near_copies: i64,
    far_copies: i64,
    far_offset: bool,
    far_set_size: i64,
    chunk_shift: u32,
    chunk_mask: i64,
    stride: i64,
    copies: i64,
    dev_sectors: i64,
}

/// dm-raid's `raid10_format_to_md_layout()` (with `RAID10_USE_FAR_SETS`
/// unless `near_sets`).
fn md_layout(format: Format, copies: i64, near_sets: bool) -> i64 {
    let (n, f, mut r) = match format {
        Format::Near => (copies, 1, 0),
        Format::Offset => (1, copies, 1 << 16),
        Format::Far => (1, copies, 0),
    };
    if format != Format::Near && !near_sets {
        r |= 1 << 18;
    }
    r | (f << 8) | n
}

fn md_setup(layout: i64, chunk: i64, disks: i64, dev_size: i64) -> Md {
    let nc = layout & 255;
    let fc = (layout >> 8) & 255;
    let fo = layout & (1 << 16) != 0;
    let far_set_size = match layout >> 17 {
        0 => disks,
        1 => disks / fc,
        2 => fc * nc,
        _ => panic!("bad layout"),
    };
    let mut md = Md {
        raid_disks: disks,
        near_copies: nc,
        far_copies: fc,
        far_offset: fo,
        far_set_size,
        chunk_shift: chunk.trailing_zeros(),
        chunk_mask: chunk - 1,
        stride: 0,
        copies: nc * fc,
        dev_sectors: 0,
    };
    // calc_sectors()
    let mut size = dev_size >> md.chunk_shift;
    size /= md.far_copies;
    size *= md.raid_disks;
    size /= md.near_copies;
    size *= md.copies;
    size = (size + md.raid_disks - 1) / md.raid_disks;
    md.dev_sectors = size << md.chunk_shift;
    if md.far_offset {
        md.stride = 1 << md.chunk_shift;
    } else {
        size /= md.far_copies;
        md.stride = size << md.chunk_shift;
    }
    md
}

fn md_size(md: &Md) -> i64 {
    let mut size = md.dev_sectors >> md.chunk_shift;
    size /= md.far_copies;
    size *= md.raid_disks;
    size /= md.near_copies;
    size << md.chunk_shift
}

fn md_find_phys(geo: &Md, virt: i64) -> Vec<(i64, i64)> {
    let mut devs = Vec::new();
    let mut last_far_set_start = (geo.raid_disks / geo.far_set_size) - 1;
    last_far_set_start *= geo.far_set_size;
    let mut last_far_set_size = geo.far_set_size;
    last_far_set_size += geo.raid_disks % geo.far_set_size;

    let mut chunk = virt >> geo.chunk_shift;
    let mut sector = virt & geo.chunk_mask;
    chunk *= geo.near_copies;
    let mut stripe = chunk;
    let mut dev = stripe % geo.raid_disks;
    stripe /= geo.raid_disks;
    if geo.far_offset {
        stripe *= geo.far_copies;
    }
    sector += stripe << geo.chunk_shift;
    for _n in 0..geo.near_copies {
        let mut d = dev;
        let mut s = sector;
        devs.push((d, s));
        for _f in 1..geo.far_copies {
            let set = d / geo.far_set_size;
            d += geo.near_copies;
            if (geo.raid_disks % geo.far_set_size) != 0 && d > last_far_set_start {
                d -= last_far_set_start;
                d %= last_far_set_size;
                d += last_far_set_start;
            } else {
                d %= geo.far_set_size;
                d += geo.far_set_size * set;
            }
            s += geo.stride;
            devs.push((d, s));
        }
        dev += 1;
        if dev >= geo.raid_disks {
            dev = 0;
            sector += geo.chunk_mask + 1;
        }
    }
    devs
}

fn md_find_virt(geo: &Md, mut sector: i64, mut dev: i64) -> i64 {
    let mut far_set_start = (dev / geo.far_set_size) * geo.far_set_size;
    let mut far_set_size = geo.far_set_size;
    if geo.raid_disks % geo.far_set_size != 0 {
        let mut last_far_set_start = (geo.raid_disks / geo.far_set_size) - 1;
        last_far_set_start *= geo.far_set_size;
        if dev >= last_far_set_start {
            far_set_size = geo.far_set_size;
            far_set_size += geo.raid_disks % geo.far_set_size;
            far_set_start = last_far_set_start;
        }
    }
    let offset = sector & geo.chunk_mask;
    let chunk;
    if geo.far_offset {
        let mut c = sector >> geo.chunk_shift;
        let fc = c % geo.far_copies;
        c /= geo.far_copies;
        chunk = c;
        dev -= fc * geo.near_copies;
        if dev < far_set_start {
            dev += far_set_size;
        }
    } else {
        while sector >= geo.stride {
            sector -= geo.stride;
            if dev < (geo.near_copies + far_set_start) {
                dev += far_set_size - geo.near_copies;
            } else {
                dev -= geo.near_copies;
            }
        }
        chunk = sector >> geo.chunk_shift;
    }
    let vchunk = (chunk * geo.raid_disks + dev) / geo.near_copies;
    (vchunk << geo.chunk_shift) + offset
}

fn formats() -> [Format; 3] {
    [Format::Near, Format::Far, Format::Offset]
}

fn rotations() -> [FarRotation; 2] {
    [FarRotation::Sets, FarRotation::WholeArray]
}

fn ours(m: &Mapping, virt: u64) -> Vec<(i64, i64)> {
    m.map(virt)
        .expect("mapped")
        .iter()
        .map(|c| (i64::from(c.leg), c.phys as i64))
        .collect()
}

#[test]
fn near_examples_match_md_by_hand() {
    // 4 legs, near, 2 copies, chunk 8.
    let m = Mapping::new(Layout::raid10(4, 2, Format::Near, 8).unwrap(), 1024).unwrap();
    assert_eq!(ours(&m, 0), vec![(0, 0), (1, 0)]);
    assert_eq!(ours(&m, 3), vec![(0, 3), (1, 3)]);
    assert_eq!(ours(&m, 8), vec![(2, 0), (3, 0)]);
    assert_eq!(ours(&m, 16), vec![(0, 8), (1, 8)]);
    assert_eq!(ours(&m, 24 + 5), vec![(2, 13), (3, 13)]);
    assert_eq!(m.array_sectors(), 2048);
    // 3 legs near 2: A A B / B C C / D D E ...
    let m = Mapping::new(Layout::raid10(3, 2, Format::Near, 8).unwrap(), 1024).unwrap();
    assert_eq!(ours(&m, 0), vec![(0, 0), (1, 0)]);
    assert_eq!(ours(&m, 8), vec![(2, 0), (0, 8)]);
    assert_eq!(ours(&m, 16), vec![(1, 8), (2, 8)]);
}

#[test]
fn far_and_offset_examples_by_hand() {
    // 4 legs far 2, whole-array rotation, legs of 64 sectors, chunk 8:
    // stride 32; chunk c on leg c%4 at row c/4, copy on leg c%4+1 in zone 1.
    let l = Layout::raid10_with(4, 2, Format::Far, 8, FarRotation::WholeArray).unwrap();
    let m = Mapping::new(l, 64).unwrap();
    assert_eq!(m.stride(), 32);
    assert_eq!(m.array_sectors(), 128);
    assert_eq!(ours(&m, 0), vec![(0, 0), (1, 32)]);
    assert_eq!(ours(&m, 24), vec![(3, 0), (0, 32)]);
    assert_eq!(ours(&m, 40), vec![(1, 8), (2, 40)]);
    // Far sets (dm-raid): the copy rotates within {0,1} and {2,3}.
    let m = Mapping::new(Layout::raid10(4, 2, Format::Far, 8).unwrap(), 64).unwrap();
    assert_eq!(ours(&m, 8), vec![(1, 0), (0, 32)]);
    assert_eq!(ours(&m, 24), vec![(3, 0), (2, 32)]);
    // Offset: copy in the next chunk row.
    let l = Layout::raid10_with(4, 2, Format::Offset, 8, FarRotation::WholeArray).unwrap();
    let m = Mapping::new(l, 64).unwrap();
    assert_eq!(ours(&m, 0), vec![(0, 0), (1, 8)]);
    assert_eq!(ours(&m, 32), vec![(0, 16), (1, 24)]);
    assert_eq!(ours(&m, 24), vec![(3, 0), (0, 8)]);
}

#[test]
fn raid1_is_identity_on_every_leg() {
    let m = Mapping::new(Layout::raid1(3).unwrap(), 1000).unwrap();
    assert_eq!(m.array_sectors(), 1000);
    assert_eq!(ours(&m, 999), vec![(0, 999), (1, 999), (2, 999)]);
    assert!(m.map(1000).is_none());
    assert_eq!(m.virt_of(2, 5), Some(5));
    assert_eq!(m.virt_of(3, 5), None);
    assert_eq!(m.max_io_sectors(10), 990);
    assert_eq!(Layout::raid1(3).unwrap().chunk_sectors(), 0);
}

#[test]
fn constructor_rules() {
    assert_eq!(Layout::raid1(1), Err(LayoutError::TooFewLegs));
    assert_eq!(Layout::raid1(17), Err(LayoutError::TooManyLegs));
    assert!(Layout::raid1(16).is_ok());
    assert_eq!(
        Layout::raid10(4, 1, Format::Near, 8),
        Err(LayoutError::TooFewCopies)
    );
    assert_eq!(
        Layout::raid10(3, 4, Format::Near, 8),
        Err(LayoutError::TooFewLegs)
    );
    assert_eq!(
        Layout::raid10(16, 9, Format::Near, 8),
        Err(LayoutError::TooManyCopies)
    );
    assert_eq!(
        Layout::raid10(17, 2, Format::Near, 8),
        Err(LayoutError::TooManyLegs)
    );
    assert_eq!(
        Layout::raid10(4, 2, Format::Far, 12),
        Err(LayoutError::ChunkNotPowerOfTwo)
    );
    assert_eq!(
        Layout::raid10(4, 2, Format::Far, 0),
        Err(LayoutError::ChunkNotPowerOfTwo)
    );
    assert_eq!(
        Layout::raid10(4, 2, Format::Far, 4),
        Err(LayoutError::ChunkTooSmall)
    );
    let l = Layout::raid10(4, 2, Format::Near, 8).unwrap();
    assert_eq!(Mapping::new(l, 7), Err(LayoutError::LegTooSmall));
    assert_eq!(l.chunk_sectors(), 8);
}

#[test]
fn split_points() {
    let m = Mapping::new(Layout::raid10(4, 2, Format::Near, 16).unwrap(), 1 << 20).unwrap();
    assert_eq!(m.max_io_sectors(0), 16);
    assert_eq!(m.max_io_sectors(5), 11);
    assert_eq!(m.max_io_sectors(15), 1);
    assert_eq!(m.max_io_sectors(16), 16);
    let end = m.array_sectors();
    assert_eq!(m.max_io_sectors(end - 3), 3);
    assert_eq!(m.max_io_sectors(end), 0);
}

#[test]
fn dm_raid_target_length_rule() {
    let l = Layout::raid10(4, 2, Format::Near, 8).unwrap();
    assert_eq!(l.leg_sectors_for_len(2048), Some(1024));
    let l = Layout::raid10(3, 2, Format::Near, 8).unwrap();
    assert_eq!(l.leg_sectors_for_len(100), None);
    assert_eq!(l.leg_sectors_for_len(300), Some(200));
    assert_eq!(Layout::raid1(2).unwrap().leg_sectors_for_len(77), Some(77));
}

/// Checks every property of one geometry, sector by sector.
fn check_exhaustively(l: Layout, leg_sectors: u64) {
    let m = match Mapping::new(l, leg_sectors) {
        Ok(m) => m,
        Err(LayoutError::LegTooSmall) => return,
        Err(e) => panic!("{e:?}"),
    };
    let md = md_setup(
        md_layout(
            l.format(),
            i64::from(l.copies()),
            l.rotation() == FarRotation::WholeArray,
        ),
        i64::from(l.chunk_sectors()),
        i64::from(l.legs()),
        leg_sectors as i64,
    );
    assert_eq!(
        m.array_sectors() as i64,
        md_size(&md),
        "{l:?} {leg_sectors}"
    );
    assert_eq!(m.dev_sectors() as i64, md.dev_sectors);
    assert!(m.dev_sectors() <= leg_sectors);
    let mut used = HashSet::new();
    for virt in 0..m.array_sectors() {
        let copies = m.map(virt).unwrap();
        assert_eq!(copies.len() as u32, l.copies());
        assert_eq!(
            ours(&m, virt),
            md_find_phys(&md, virt as i64),
            "{l:?} virt {virt}"
        );
        let legs: HashSet<u32> = copies.iter().map(|c| c.leg).collect();
        assert_eq!(legs.len(), copies.len(), "{l:?} virt {virt}: legs repeat");
        for c in &copies {
            assert!(c.leg < l.legs());
            assert!(c.phys < m.dev_sectors(), "{l:?} virt {virt} {c:?}");
            assert!(used.insert((c.leg, c.phys)), "{l:?}: {c:?} used twice");
            assert_eq!(m.virt_of(c.leg, c.phys), Some(virt), "{l:?} {c:?}");
            assert_eq!(
                md_find_virt(&md, c.phys as i64, i64::from(c.leg)),
                virt as i64
            );
        }
    }
    assert!(m.map(m.array_sectors()).is_none());
    // Every other leg sector holds no data.
    for leg in 0..l.legs() {
        for phys in 0..leg_sectors + 2 {
            if !used.contains(&(leg, phys)) {
                assert_eq!(m.virt_of(leg, phys), None, "{l:?} leg {leg} phys {phys}");
            }
        }
    }
    assert_eq!(m.virt_of(l.legs(), 0), None);
    // A rebuild copies a chunk of a leg as one run of the array: within a
    // leg's chunk the sectors hold consecutive array sectors, or none does.
    if l.is_raid10() {
        let chunk = u64::from(l.chunk_sectors());
        for leg in 0..l.legs() {
            for phys in 0..leg_sectors {
                let start = phys - phys % chunk;
                let first = m.virt_of(leg, start);
                assert_eq!(
                    m.virt_of(leg, phys),
                    first.map(|v| v + (phys - start)),
                    "{l:?} leg {leg} phys {phys}"
                );
            }
        }
    }
}

#[test]
fn small_geometries_exhaustively() {
    for legs in 2..=8u32 {
        for copies in 2..=legs {
            for format in formats() {
                for rotation in rotations() {
                    for chunk in [8u32, 16, 32] {
                        let l = Layout::raid10_with(legs, copies, format, chunk, rotation).unwrap();
                        // Sizes that are and are not multiples of chunks and
                        // of copies.
                        for leg_chunks in [1u64, 2, 3, 5, 7] {
                            check_exhaustively(l, leg_chunks * u64::from(chunk) + 3);
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn raid1_exhaustively() {
    for legs in 2..=MAX_LEGS as u32 {
        let l = Layout::raid1(legs).unwrap();
        let m = Mapping::new(l, 50).unwrap();
        for v in 0..50 {
            let c = m.map(v).unwrap();
            assert_eq!(c.len() as u32, legs);
            for (i, cp) in c.iter().enumerate() {
                assert_eq!((cp.leg, cp.phys), (i as u32, v));
                assert_eq!(m.virt_of(cp.leg, cp.phys), Some(v));
            }
        }
    }
}

/// md's `_enough()` for near layouts (exact there) and brute force from
/// the mapping for every layout.
fn md_enough_near(disks: u32, copies: u32, readable: u64) -> bool {
    let mut first = 0u32;
    loop {
        let mut cnt = 0;
        let mut this = first;
        for _ in 0..copies {
            if readable & (1 << this) != 0 {
                cnt += 1;
            }
            this = (this + 1) % disks;
        }
        if cnt == 0 {
            return false;
        }
        first = (first + copies) % disks;
        if first == 0 {
            return true;
        }
    }
}

#[test]
fn has_enough_matches_the_mapping() {
    for legs in 2..=6u32 {
        for copies in 2..=legs {
            for format in formats() {
                for rotation in rotations() {
                    let l = Layout::raid10_with(legs, copies, format, 8, rotation).unwrap();
                    let m = Mapping::new(l, 8 * 64).unwrap();
                    for mask in 0..(1u64 << legs) {
                        let brute = (0..m.array_sectors())
                            .step_by(8)
                            .all(|v| m.map(v).unwrap().iter().any(|c| mask & (1 << c.leg) != 0));
                        assert_eq!(l.has_enough(mask), brute, "{l:?} {mask:b}");
                        if format == Format::Near {
                            assert_eq!(brute, md_enough_near(legs, copies, mask));
                        }
                    }
                }
            }
        }
    }
    let r1 = Layout::raid1(3).unwrap();
    assert!(r1.has_enough(0b100));
    assert!(!r1.has_enough(0));
}

fn any_format() -> impl Strategy<Value = Format> {
    prop_oneof![Just(Format::Near), Just(Format::Far), Just(Format::Offset)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_geometries_match_md(
        legs in 2u32..=16,
        copies_seed in 0u32..100,
        format in any_format(),
        whole in any::<bool>(),
        shift in 3u32..=10,
        leg_sectors in 1u64..(1 << 34),
        virts in proptest::collection::vec(any::<u64>(), 16),
    ) {
        let copies = 2 + copies_seed % (legs.min(8) - 1);
        let rotation = if whole { FarRotation::WholeArray } else { FarRotation::Sets };
        let l = Layout::raid10_with(legs, copies, format, 1 << shift, rotation).unwrap();
        let md = md_setup(
            md_layout(format, i64::from(copies), whole),
            1 << shift,
            i64::from(legs),
            leg_sectors as i64,
        );
        prop_assert_eq!(l.array_sectors(leg_sectors) as i64, md_size(&md));
        let Ok(m) = Mapping::new(l, leg_sectors) else {
            prop_assert_eq!(md_size(&md), 0);
            return Ok(());
        };
        prop_assert_eq!(m.stride() as i64, md.stride);
        for v in virts {
            let virt = v % m.array_sectors();
            let got = ours(&m, virt);
            prop_assert_eq!(&got, &md_find_phys(&md, virt as i64));
            let legs_used: HashSet<i64> = got.iter().map(|c| c.0).collect();
            prop_assert_eq!(legs_used.len(), got.len());
            for (leg, phys) in got {
                prop_assert!((phys as u64) < m.dev_sectors());
                prop_assert_eq!(m.virt_of(leg as u32, phys as u64), Some(virt));
                prop_assert_eq!(md_find_virt(&md, phys, leg), virt as i64);
            }
        }
    }
}
