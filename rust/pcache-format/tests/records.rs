// SPDX-License-Identifier: GPL-2.0

//! Layout, round-trip and boundary tests of every record.

use pcache_format::cache_info::{CacheInfo, FLAG_DATA_CRC, FLAG_INIT_DONE};
use pcache_format::segment::{SegInfo, SEG_TYPE_CACHE_DATA};
use pcache_format::*;
use zerocopy::{FromBytes, IntoBytes};

#[test]
fn sizes_match_upstream_structs() {
    use core::mem::size_of;
    assert_eq!(size_of::<MetaHeader>(), 8);
    assert_eq!(size_of::<Superblock>(), 24); // 20 + tail padding
    assert_eq!(size_of::<CacheInfo>(), 24);
    assert_eq!(size_of::<CachePos>(), 16);
    assert_eq!(size_of::<CacheCtrl>(), 64);
    assert_eq!(size_of::<SegInfo>(), 16);
    assert_eq!(size_of::<SegGen>(), 16);
    assert_eq!(size_of::<KsetHeader>(), 24);
    assert_eq!(size_of::<KeyOnmedia>(), 40);
    assert_eq!(KSET_ONMEDIA_SIZE_MAX, 5144);
    assert_eq!(seg_off(0), 20480);
    assert_eq!(seg_off(2), 20480 + 2 * 16 * 1024 * 1024);
}

#[test]
fn superblock_new_parse_and_every_rejection() {
    let size = 600 << 20;
    let sb = Superblock::new(size);
    assert_eq!(sb.seg_num.get(), 37); // (600 MiB - 20 KiB) / 16 MiB, as seen upstream
    assert_eq!(Superblock::parse(sb.as_bytes(), size), Ok(sb));

    // Never formatted.
    assert_eq!(
        Superblock::parse(&[0; 24], size),
        Err(FormatError::BadMagic { found: 0 })
    );
    // Truncated.
    assert!(matches!(
        Superblock::parse(&sb.as_bytes()[..23], size),
        Err(FormatError::Truncated { .. })
    ));
    // Every byte after the crc field is covered, padding included.
    for i in 4..24 {
        let mut b = sb.as_bytes().to_vec();
        b[i] ^= 0x40;
        let r = Superblock::parse(&b, size);
        assert!(
            matches!(
                r,
                Err(FormatError::BadCrc { .. }) | Err(FormatError::BadMagic { .. })
            ),
            "byte {i}: {r:?}"
        );
    }
    // Big-endian flag, with a valid CRC.
    let mut be = sb;
    be.flags.set(SB_F_BIGENDIAN);
    be.crc.set(be.compute_crc());
    assert_eq!(
        Superblock::parse(be.as_bytes(), size),
        Err(FormatError::BigEndian)
    );
    // seg_num: 0, more than the device holds, more than the maximum.
    for (n, dev) in [(0u32, size), (38, size), (CACHE_SEGS_MAX + 1, u64::MAX)] {
        let mut s = sb;
        s.seg_num.set(n);
        s.crc.set(s.compute_crc());
        assert!(
            matches!(
                Superblock::parse(s.as_bytes(), dev),
                Err(FormatError::SegNum { .. })
            ),
            "{n}"
        );
    }
    // A device too small for any segment.
    assert!(matches!(
        Superblock::parse(sb.as_bytes(), 16 << 20),
        Err(FormatError::SegNum { .. })
    ));
}

#[test]
fn cache_info_flag_fields() {
    let mut info = CacheInfo::new(37, CacheMode::Writeback, true);
    assert_eq!(info.n_segs.get(), 37);
    assert_eq!(info.gc_percent(), GC_PERCENT_DEFAULT);
    assert_eq!(info.cache_mode(), CacheMode::Writeback);
    assert!(info.data_crc());
    assert!(!info.init_done());
    // 70 << 6 | data_crc, as upstream builds it.
    assert_eq!(info.flags.get(), (70 << 6) | FLAG_DATA_CRC);
    info.set_init_done();
    info.set_cache_mode(CacheMode::Writeonly);
    info.set_gc_percent(90);
    assert_eq!(
        info.flags.get(),
        (90 << 6) | (3 << 2) | FLAG_INIT_DONE | FLAG_DATA_CRC
    );
    // Out-of-field values are masked, not spilled into neighbours.
    info.set_gc_percent(0xff);
    assert_eq!(info.gc_percent(), 0x7f);
    assert_eq!(info.cache_mode(), CacheMode::Writeonly);
    info.set_cache_mode(CacheMode::Unknown(0x1f));
    assert_eq!(info.cache_mode(), CacheMode::Unknown(0xf));
    assert_eq!(info.gc_percent(), 0x7f);
    assert!(info.data_crc() && info.init_done());
}

#[test]
fn meta_records_round_trip_and_crc_covers_all_but_crc() {
    let mut info = CacheInfo::new(5, CacheMode::Writethrough, false);
    info.seal(9);
    let bytes = info.as_bytes().to_vec();
    let back = CacheInfo::read_slot(&bytes).unwrap();
    assert_eq!(back, info);
    assert!(back.crc_ok());
    for i in 4..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 1;
        assert!(
            !CacheInfo::read_slot(&b).unwrap().crc_ok(),
            "byte {i} not covered"
        );
    }
    // version and reserved fields (left uninitialised by some upstream
    // writers) are covered as stored.
    let mut pos = CachePos::new(1, 4096);
    pos.header.version = 0xAA;
    pos.header.res.set(0x5555);
    pos.seal(3);
    let back = CachePos::read_slot(pos.as_bytes()).unwrap();
    assert!(back.crc_ok());
    assert_eq!(back.header.version, 0xAA);

    let mut seg = SegInfo::default();
    seg.set_seg_type(SEG_TYPE_CACHE_DATA);
    assert_eq!(seg.next(), None);
    seg.set_next(7);
    assert_eq!((seg.seg_type(), seg.next()), (SEG_TYPE_CACHE_DATA, Some(7)));
    assert_eq!(seg.flags.get(), 0b11);

    assert!(matches!(
        SegGen::read_slot(&[0; 15]),
        Err(FormatError::Truncated { need: 16, got: 15 })
    ));
}

#[test]
fn cache_pos_bounds() {
    assert_eq!(CachePos::new(0, 0).check(1), Ok(()));
    assert_eq!(
        CachePos::new(1, 0).check(1),
        Err(FormatError::SegId { id: 1, limit: 1 })
    );
    let last = (SEG_DATA_SIZE - 1) as u32;
    assert_eq!(CachePos::new(0, last).check(1), Ok(()));
    assert_eq!(
        CachePos::new(0, last + 1).check(1),
        Err(FormatError::SegOff { off: last + 1 })
    );
}

#[test]
fn ctrl_layout_matches_slots() {
    let mut ctrl = CacheCtrl::default();
    ctrl.dirty_tail_pos[1] = CachePos::new(3, 48);
    let bytes = ctrl.as_bytes();
    // dirty_tail_pos[1] starts at byte 48 of the ctrl block.
    let pos = CachePos::read_from_bytes(&bytes[48..64]).unwrap();
    assert_eq!((pos.cache_seg_id.get(), pos.seg_off.get()), (3, 48));
}
