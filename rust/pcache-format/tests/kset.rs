// SPDX-License-Identifier: GPL-2.0

//! Kset decoding: every bound check, typed results, the writer's output.

use pcache_format::kset::{decode, encode_keys, encode_last, KEY_FLAG_CLEAN};
use pcache_format::*;
use zerocopy::byteorder::little_endian::{U32, U64};

fn key(off: u64, len: u32, seg: u32, seg_off: u32) -> KeyOnmedia {
    KeyOnmedia {
        off: U64::new(off),
        len: U32::new(len),
        cache_seg_id: U32::new(seg),
        cache_seg_off: U32::new(seg_off),
        ..Default::default()
    }
}

#[test]
fn keys_kset_round_trip() {
    let keys: Vec<_> = (0..128)
        .map(|i| key(i * 4096, 4096, 0, (i * 4096) as u32))
        .collect();
    let mut buf = vec![0u8; 8192];
    let n = encode_keys(&keys, &mut buf).unwrap();
    assert_eq!(n, 24 + 128 * 40);
    match decode(&buf).unwrap() {
        KsetRead::Found(k @ Kset::Keys(got)) => {
            assert_eq!(got, &keys[..]);
            assert_eq!(k.size(), n);
        }
        other => panic!("{other:?}"),
    }
    // Too many or no keys, or no room: the writer refuses.
    let many: Vec<_> = (0..129).map(|_| key(0, 512, 0, 0)).collect();
    assert_eq!(encode_keys(&many, &mut vec![0; 8192]), None);
    assert_eq!(encode_keys(&[], &mut buf), None);
    assert_eq!(encode_keys(&keys[..2], &mut [0u8; 100]), None);
}

#[test]
fn last_kset_round_trip() {
    let mut buf = [0u8; 64];
    assert_eq!(encode_last(12, &mut buf), Some(24));
    assert_eq!(
        decode(&buf),
        Ok(KsetRead::Found(Kset::Last { next_cache_seg: 12 }))
    );
    // A last kset's second word is the next segment, not a key count:
    // a large value is not "too many keys".
    encode_last(1_000_000, &mut buf).unwrap();
    assert_eq!(
        decode(&buf),
        Ok(KsetRead::Found(Kset::Last {
            next_cache_seg: 1_000_000
        }))
    );
}

#[test]
fn chain_ends() {
    assert_eq!(decode(&[0u8; 23]), Ok(KsetRead::End(KsetEnd::NoRoom)));
    assert_eq!(decode(&[0u8; 64]), Ok(KsetRead::End(KsetEnd::NoMagic)));
    let mut buf = vec![0u8; 8192];
    encode_keys(&[key(0, 512, 0, 0)], &mut buf).unwrap();
    // Any flipped byte of header or key ends the chain (CRC) or its magic.
    for i in 4..64 {
        let mut b = buf.clone();
        b[i] ^= 0x10;
        match decode(&b) {
            Ok(KsetRead::End(_)) => {}
            Err(FormatError::KsetPastSegment { .. }) if (4..8).contains(&i) => {}
            other => panic!("byte {i}: {other:?}"),
        }
    }
    // key_num above 128 is rejected before its size is used.
    let mut b = buf.clone();
    b[4..8].copy_from_slice(&129u32.to_le_bytes());
    assert_eq!(decode(&b), Ok(KsetRead::End(KsetEnd::TooManyKeys(129))));
    b[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(
        decode(&b),
        Ok(KsetRead::End(KsetEnd::TooManyKeys(u32::MAX)))
    );
}

#[test]
fn zero_key_kset_is_read_but_never_written() {
    // kset_onmedia_valid() accepts key_num 0 and replay steps over the
    // 24-byte header; cache_kset_close() never writes one.
    let mut buf = [0u8; 24];
    buf[8..16].copy_from_slice(&KSET_MAGIC.to_le_bytes());
    let crc = crc32c(CRC_SEED, &buf[4..]);
    buf[..4].copy_from_slice(&crc.to_le_bytes());
    match decode(&buf) {
        Ok(KsetRead::Found(k @ Kset::Keys(keys))) => assert_eq!((keys.len(), k.size()), (0, 24)),
        other => panic!("{other:?}"),
    }
    assert_eq!(encode_keys(&[], &mut [0u8; 24]), None);
}

#[test]
fn kset_past_segment_end_is_an_error() {
    let keys: Vec<_> = (0..3).map(|i| key(i * 512, 512, 0, 0)).collect();
    let mut buf = vec![0u8; 1024];
    let n = encode_keys(&keys, &mut buf).unwrap();
    assert_eq!(
        decode(&buf[..n]).map(|r| matches!(r, KsetRead::Found(_))),
        Ok(true)
    );
    assert_eq!(
        decode(&buf[..n - 1]),
        Err(FormatError::KsetPastSegment {
            size: n as u32,
            remain: n as u32 - 1
        })
    );
}

#[test]
fn key_checks() {
    let dev = 1 << 30;
    assert_eq!(key(0, 4096, 0, 0).check(dev, 1), Ok(()));
    assert_eq!(key(dev - 4096, 4096, 0, 0).check(dev, 1), Ok(()));
    assert!(matches!(
        key(0, 0, 0, 0).check(dev, 1),
        Err(FormatError::KeyRange { .. })
    ));
    assert!(matches!(
        key(dev - 4095, 4096, 0, 0).check(dev, 1),
        Err(FormatError::KeyRange { .. })
    ));
    assert!(matches!(
        key(u64::MAX, 4096, 0, 0).check(dev, 1),
        Err(FormatError::KeyRange { .. })
    ));
    assert!(matches!(
        key(0, u32::MAX, 0, 0).check(dev, 1),
        Err(FormatError::KeyRange { .. })
    ));
    assert_eq!(
        key(0, 512, 1, 0).check(dev, 1),
        Err(FormatError::SegId { id: 1, limit: 1 })
    );
    let end = SEG_DATA_SIZE as u32;
    assert_eq!(key(0, 512, 0, end - 512).check(dev, 1), Ok(()));
    assert_eq!(
        key(0, 512, 0, end - 511).check(dev, 1),
        Err(FormatError::KeyPastSegment {
            seg_off: end - 511,
            len: 512
        })
    );
    assert!(matches!(
        key(0, 512, 0, u32::MAX).check(dev, 1),
        Err(FormatError::KeyPastSegment { .. })
    ));

    let mut k = key(0, 3, 0, 0);
    k.data_crc.set(crc32c(CRC_SEED, b"abc"));
    assert_eq!(k.check_data(b"abc"), Ok(()));
    assert!(matches!(
        k.check_data(b"abd"),
        Err(FormatError::DataCrc { .. })
    ));
    k.flags.set(KEY_FLAG_CLEAN);
    assert!(k.is_clean() && !k.is_empty_key());
}
