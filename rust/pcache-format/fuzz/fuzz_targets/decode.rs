// SPDX-License-Identifier: GPL-2.0

//! Every decoder of the cache format, on arbitrary bytes: none may panic,
//! and whatever decodes must re-encode to the same bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pcache_format::cache_info::CacheInfo;
use pcache_format::kset::{decode, encode_keys, encode_last, Kset, KsetRead};
use pcache_format::meta::MetaRecord;
use pcache_format::segment::SegInfo;
use pcache_format::*;

fuzz_target!(|data: &[u8]| {
    let dev = data.get(..8).map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])));
    let body = data.get(8..).unwrap_or(&[]);

    let _ = Superblock::parse(body, dev);
    let _ = CacheInfo::read_slot(body).map(|i| (i.crc_ok(), i.cache_mode(), i.gc_percent()));
    let _ = SegInfo::read_slot(body).map(|s| (s.crc_ok(), s.next(), s.seg_type()));
    let _ = SegGen::read_slot(body).map(|g| g.crc_ok());
    if let (Ok(a), Ok(b)) = (CachePos::read_slot(body), CachePos::read_slot(body.get(16..).unwrap_or(&[]))) {
        let _ = a.check(dev as u32);
        let _ = find_latest(&[Slot::from_record(a), Slot::from_record(b)]);
    }

    // The writer sets flags to exactly 0 or LAST; the kernel (and decode)
    // look only at the LAST bit, so other bits cannot round-trip.
    let flags = body.get(16..24).map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])));
    match decode(body) {
        Ok(KsetRead::Found(Kset::Keys(keys))) => {
            for k in keys {
                let _ = k.check(dev, (dev >> 32) as u32);
                let _ = k.check_data(body);
            }
            // A zero-key kset is valid to read (the kernel replays it as
            // 24 bytes) but is never written (cache_kset_close() skips it).
            if !keys.is_empty() && flags == Some(0) {
                let mut out = vec![0u8; body.len()];
                let n = encode_keys(keys, &mut out).expect("a decoded kset re-encodes");
                assert_eq!(&out[..n], &body[..n]);
            }
        }
        Ok(KsetRead::Found(Kset::Last { next_cache_seg })) if flags == Some(KSET_FLAGS_LAST) => {
            let mut out = [0u8; 24];
            encode_last(next_cache_seg, &mut out).expect("room for a last kset");
            assert_eq!(&out[..], &body[..24]);
        }
        _ => {}
    }
});
