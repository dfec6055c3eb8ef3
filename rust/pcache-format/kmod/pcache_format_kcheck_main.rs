// SPDX-License-Identifier: GPL-2.0

//! Builds the pcache-format crate inside the kernel, with the zerocopy the
//! 7.2 tree vendors, and checks it there at load time: its CRC32C against
//! the kernel's own `crc32c()` over many lengths, seeds and alignments, and
//! a round trip through every record type. Loading fails with -EINVAL on
//! any mismatch; selftests/pcache-format runs it in the test VM.

// Target code is safe Rust: `unsafe` and FFI live in the rdm layer only.
#![deny(unsafe_code)]

use kernel::prelude::*;

#[path = "../../rdm/mod.rs"]
#[expect(
    unsafe_code,
    reason = "the rdm layer holds all of the crate's unsafe code"
)]
mod rdm;

#[path = "../src/lib.rs"]
// A userspace library API: `pub` items, crate attributes and docs that
// only apply where it is its own crate.
#[allow(
    unreachable_pub,
    unused_attributes,
    unused_imports,
    dead_code,
    missing_docs
)]
mod pcache_format;

use pcache_format::cache_info::CacheInfo;
use pcache_format::kset::{decode, encode_keys, Kset, KsetRead};
use pcache_format::meta::MetaRecord;
use pcache_format::{find_latest, CacheMode, CachePos, KeyOnmedia, Slot, Superblock, CRC_SEED};
use zerocopy::IntoBytes;

module! {
    type: PcacheFormatCheck,
    name: "pcache_format_kcheck",
    authors: ["The rust-dm authors"],
    description: "in-kernel checks of the dm-pcache on-media format crate",
    license: "GPL",
}

struct PcacheFormatCheck;

fn check_crc() -> Result<u32> {
    let mut buf = KVec::with_capacity(4200, GFP_KERNEL)?;
    for i in 0..4200u32 {
        buf.push((i.wrapping_mul(131).wrapping_add(7) >> 1) as u8, GFP_KERNEL)?;
    }
    let mut n = 0;
    for seed in [0, CRC_SEED, !0, 0x1234_5678] {
        for align in 0..8 {
            for len in [
                0usize, 1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 31, 64, 100, 511, 512, 4095, 4096,
            ] {
                let data = buf.get(align..align + len).ok_or(EINVAL)?;
                let (ours, kernel) = (
                    pcache_format::crc32c(seed, data),
                    rdm::crc::crc32c(seed, data),
                );
                if ours != kernel {
                    pr_err!("crc32c mismatch: seed {seed:#x} align {align} len {len}: {ours:#x} != {kernel:#x}\n");
                    return Err(EINVAL);
                }
                n += 1;
            }
        }
    }
    Ok(n)
}

fn check_records() -> Result {
    let sb = Superblock::new(600 << 20);
    if Superblock::parse(sb.as_bytes(), 600 << 20) != Ok(sb) || sb.seg_num.get() != 37 {
        pr_err!("superblock round trip failed\n");
        return Err(EINVAL);
    }
    let mut info = CacheInfo::new(37, CacheMode::Writeback, true);
    info.seal(1);
    let mut old = CachePos::new(0, 0);
    old.seal(1);
    let mut new = CachePos::new(0, 224);
    new.seal(2);
    let latest = find_latest(&[Slot::from_record(old), Slot::from_record(new)]).map(|(i, _)| i);
    if !info.crc_ok() || latest != Some(1) {
        pr_err!("metadata record checks failed\n");
        return Err(EINVAL);
    }
    let key = KeyOnmedia::default();
    let mut kset = [0u8; 24 + 2 * 40];
    let size = encode_keys(&[key, key], &mut kset).ok_or(EINVAL)?;
    match decode(&kset) {
        Ok(KsetRead::Found(Kset::Keys(keys))) if keys.len() == 2 && size == kset.len() => Ok(()),
        _ => {
            pr_err!("kset round trip failed\n");
            Err(EINVAL)
        }
    }
}

impl kernel::Module for PcacheFormatCheck {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let n = check_crc()?;
        check_records()?;
        pr_info!(
            "pcache-format: {n} crc32c comparisons with the kernel and record round trips passed\n"
        );
        Ok(Self)
    }
}
