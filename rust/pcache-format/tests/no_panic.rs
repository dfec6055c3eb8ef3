// SPDX-License-Identifier: GPL-2.0

//! No byte string makes a decoder panic.

use pcache_format::cache_info::CacheInfo;
use pcache_format::kset::decode;
use pcache_format::segment::SegInfo;
use pcache_format::*;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn superblock_parse(bytes in proptest::collection::vec(any::<u8>(), 0..64), dev in any::<u64>()) {
        let _ = Superblock::parse(&bytes, dev);
    }

    #[test]
    fn meta_slots(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = CacheInfo::read_slot(&bytes).map(|r| (r.crc_ok(), r.cache_mode(), r.gc_percent()));
        let _ = CachePos::read_slot(&bytes).map(|r| (r.crc_ok(), r.check(u32::MAX)));
        let _ = SegInfo::read_slot(&bytes).map(|r| (r.crc_ok(), r.next(), r.seg_type()));
        let _ = SegGen::read_slot(&bytes).map(|r| r.crc_ok());
        if let (Ok(a), Ok(b)) = (CachePos::read_slot(&bytes), CachePos::read_slot(bytes.get(16..).unwrap_or(&[]))) {
            let _ = find_latest(&[Slot::from_record(a), Slot::from_record(b)]);
        }
    }

    #[test]
    fn kset_decode(mut bytes in proptest::collection::vec(any::<u8>(), 0..6000), magic in any::<bool>(), n in any::<u32>(), last in any::<bool>(), dev in any::<u64>(), segs in any::<u32>()) {
        // Steer half the inputs past the magic and count checks.
        if magic && bytes.len() >= 24 {
            bytes[8..16].copy_from_slice(&KSET_MAGIC.to_le_bytes());
            bytes[4..8].copy_from_slice(&(n % 200).to_le_bytes());
            bytes[16..24].copy_from_slice(&u64::from(last).to_le_bytes());
            let crc = crc32c(CRC_SEED, &bytes[4..(24 + 40 * (n % 200) as usize).min(bytes.len())]);
            bytes[0..4].copy_from_slice(&crc.to_le_bytes());
        }
        if let Ok(KsetRead::Found(Kset::Keys(keys))) = decode(&bytes) {
            for k in keys {
                let _ = k.check(dev, segs);
                let _ = k.check_data(&bytes);
            }
        }
    }
}
