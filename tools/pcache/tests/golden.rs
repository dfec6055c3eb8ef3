// SPDX-License-Identifier: GPL-2.0

//! Golden images captured from the upstream C dm-pcache in QEMU
//! (scripts/capture-pcache-golden.sh): our reader against the kernel's
//! writer, our writer against the kernel's first open, and damaged copies.

use pcache::check::{analyze, Analysis, Severity, EXIT_CORRUPT, EXIT_DIRTY};
use pcache::format::{format, Options};
use pcache::image::Image;
use pcache::load::DIRTY_TAIL_OFF;
use pcache::sparse::{pack, unpack};
use pcache_format::kset::encode_last;
use pcache_format::meta::MetaRecord;
use pcache_format::*;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use zerocopy::{FromBytes, IntoBytes};

const BACKING: u64 = 64 << 20; // the brd disk the images were written over

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("golden")
        .join(format!("{name}.pcs.gz"))
}

/// A scratch copy of a golden image.
struct Scratch {
    path: PathBuf,
}

impl Scratch {
    fn new(tag: &str) -> Self {
        // Tests run in parallel threads of one process: number the files.
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("pcache-test-{}-{n}-{tag}.img", std::process::id()));
        Self { path }
    }

    fn from_golden(name: &str) -> Self {
        let s = Self::new(name);
        unpack(&golden(name), &s.path).expect("unpack");
        s
    }

    fn image(&self, write: bool) -> Image {
        Image::open(&self.path, write).expect("open")
    }

    fn analyze(&self) -> Analysis {
        analyze(&self.image(false), Some(BACKING), |_, _| {}).expect("analyze")
    }

    fn patch(&self, off: u64, bytes: &[u8]) {
        self.image(true).write_at(off, bytes).unwrap();
    }

    fn read(&self, off: u64, len: usize) -> Vec<u8> {
        self.image(false).read_vec(off, len).unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn errors(a: &Analysis) -> Vec<&str> {
    a.findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.what.as_str())
        .collect()
}

#[test]
fn format_is_byte_identical_to_the_kernels_first_open() {
    let c = Scratch::from_golden("c-fresh");
    let ours = Scratch::new("ours-fresh");
    std::fs::File::create(&ours.path)
        .unwrap()
        .set_len(600 << 20)
        .unwrap();
    let n = format(
        &ours.image(true),
        &Options {
            mode: CacheMode::Writeback,
            data_crc: true,
        },
        |_, _| {},
    )
    .unwrap();
    assert_eq!(n, 37);
    let (a, b) = (
        std::fs::read(&c.path).unwrap(),
        std::fs::read(&ours.path).unwrap(),
    );
    assert_eq!(a.len(), b.len());
    let diff: Vec<usize> = a
        .iter()
        .zip(&b)
        .enumerate()
        .filter(|(_, (x, y))| x != y)
        .map(|(i, _)| i)
        .take(10)
        .collect();
    assert!(
        diff.is_empty(),
        "differs from the C target's image at {diff:?}"
    );
    // Formatting twice is refused, as the kernel keeps an existing superblock.
    assert!(format(
        &ours.image(true),
        &Options {
            mode: CacheMode::Writeback,
            data_crc: true
        },
        |_, _| {}
    )
    .is_err());
}

#[test]
fn fresh_cache_from_the_c_target() {
    let a = Scratch::from_golden("c-fresh").analyze();
    assert!(errors(&a).is_empty(), "{:?}", a.findings);
    assert_eq!((a.seg_num, a.n_segs, a.gc_percent), (37, 37, 70));
    assert!(a.data_crc && a.init_done);
    assert_eq!(a.cache_mode, "writeback");
    assert_eq!(
        (a.key_tail, a.dirty_tail, a.key_head),
        (Some((0, 0)), Some((0, 0)), Some((0, 0)))
    );
    assert_eq!(a.segments.len(), 37);
    // Segments chained in order, the last without a next.
    assert!(a
        .segments
        .iter()
        .enumerate()
        .all(|(i, s)| s.dev_seg == i as u32));
    assert_eq!(a.segments[36].next, None);
    assert_eq!(a.segments[0].next, Some(1));
    assert_eq!(a.exit_bits(), 0);
}

#[test]
fn dirty_cache_from_the_c_target() {
    let a = Scratch::from_golden("c-dirty").analyze();
    assert!(errors(&a).is_empty(), "{:?}", a.findings);
    // The guest wrote 4K@0, 4K@1M, 64K@8M, 4K@0 again, 8K@12K.
    assert_eq!(a.keys_replayed, 5);
    assert_eq!(
        a.cached_extents, 4,
        "the second write at 0 replaces the first"
    );
    assert_eq!(a.cached_bytes, 4096 + 4096 + 65536 + 8192);
    assert_eq!(
        a.dirty,
        vec![(0, 4096), (12288, 8192), (1 << 20, 4096), (8 << 20, 65536)]
    );
    assert_eq!(
        a.key_head,
        Some((0, 224)),
        "one kset of 5 keys: 24 + 5 * 40"
    );
    assert_eq!(a.exit_bits(), EXIT_DIRTY);
}

#[test]
fn written_back_cache_from_the_c_target() {
    let a = Scratch::from_golden("c-clean").analyze();
    assert!(errors(&a).is_empty(), "{:?}", a.findings);
    assert_eq!(
        a.dirty_tail,
        Some((0, 224)),
        "writeback advanced past the kset"
    );
    assert!(a.dirty.is_empty());
    assert_eq!(a.cached_extents, 4);
    assert_eq!(a.exit_bits(), 0);
}

/// The first kset of c-dirty lies at the start of cache segment 0's data.
const KSET0: u64 = SEGMENTS_OFF + SEG_DATA_OFF;

#[test]
fn cached_data_corruption_fails_data_crc() {
    let s = Scratch::from_golden("c-dirty");
    // The first key's data: cache segment 1 (device segment 1), offset 0.
    let data = seg_off(1) + SEG_DATA_OFF;
    let mut b = s.read(data, 1);
    b[0] ^= 1;
    s.patch(data, &b);
    let a = s.analyze();
    assert!(
        errors(&a).iter().any(|e| e.contains("data crc mismatch")),
        "{:?}",
        a.findings
    );
    assert_eq!(a.exit_bits() & EXIT_CORRUPT, EXIT_CORRUPT);
}

#[test]
fn torn_kset_ends_the_chain() {
    let s = Scratch::from_golden("c-dirty");
    let mut b = s.read(KSET0 + 100, 1);
    b[0] ^= 0x80;
    s.patch(KSET0 + 100, &b);
    let a = s.analyze();
    // As the kernel: a kset whose CRC fails is where the log ends; no error,
    // but the keys are gone.
    assert!(errors(&a).is_empty(), "{:?}", a.findings);
    assert_eq!((a.keys_replayed, a.key_head), (0, Some((0, 0))));
    assert_eq!(a.chain_end.as_deref(), Some("kset crc mismatch"));
}

/// Rewrites key `i` of the first kset with `f` and reseals the kset CRC, as
/// a crafted image would.
fn forge_key(s: &Scratch, i: usize, f: impl FnOnce(&mut KeyOnmedia)) {
    let mut kset = s.read(KSET0, 224);
    let at = 24 + i * 40;
    let mut key = KeyOnmedia::read_from_bytes(&kset[at..at + 40]).unwrap();
    f(&mut key);
    kset[at..at + 40].copy_from_slice(key.as_bytes());
    let crc = crc32c(CRC_SEED, &kset[4..]);
    kset[..4].copy_from_slice(&crc.to_le_bytes());
    s.patch(KSET0, &kset);
}

#[test]
fn forged_keys_are_rejected() {
    type Forge = fn(&mut KeyOnmedia);
    let cases: [(&str, Forge); 4] = [
        ("segment id 37 out of range", |k| k.cache_seg_id.set(37)),
        ("past the segment end", |k| {
            k.cache_seg_off.set(SEG_DATA_SIZE as u32 - 100)
        }),
        ("outside the backing device", |k| k.off.set(BACKING)),
        ("outside the backing device", |k| k.len.set(0)),
    ];
    for (want, f) in cases {
        let s = Scratch::from_golden("c-dirty");
        forge_key(&s, 2, f);
        let a = s.analyze();
        assert!(
            errors(&a).iter().any(|e| e.contains(want)),
            "{want}: {:?}",
            a.findings
        );
        assert_eq!(a.exit_bits() & EXIT_CORRUPT, EXIT_CORRUPT);
    }
}

#[test]
fn stale_generation_keys_are_skipped() {
    let s = Scratch::from_golden("c-dirty");
    // Bump segment 2's generation (both keys at 1M and 8M live there), as GC
    // does when it reclaims the segment.
    let mut gen = SegGen::default();
    gen.gen.set(1);
    gen.seal(2);
    s.patch(seg_off(2) + SEG_CTRL_OFF, gen.as_bytes());
    let a = s.analyze();
    assert!(errors(&a).is_empty(), "{:?}", a.findings);
    assert_eq!((a.keys_replayed, a.keys_stale), (2, 3));
}

#[test]
fn broken_metadata_is_reported() {
    // Both cache_info slots bad.
    let s = Scratch::from_golden("c-dirty");
    s.patch(CACHE_INFO_OFF, &[0xff; 8]);
    s.patch(CACHE_INFO_OFF + CACHE_INFO_SIZE, &[0xff; 8]);
    let a = s.analyze();
    assert_eq!(errors(&a), vec!["cache_info: no valid copy in either slot"]);

    // Only one bad: the other slot carries on.
    let s = Scratch::from_golden("c-dirty");
    s.patch(CACHE_INFO_OFF, &[0xff; 8]);
    assert!(errors(&s.analyze()).is_empty());

    // A dirty_tail in the middle of a kset (CRC resealed).
    let s = Scratch::from_golden("c-dirty");
    let mut p = CachePos::new(0, 64);
    p.seal(9);
    s.patch(DIRTY_TAIL_OFF, p.as_bytes());
    let a = s.analyze();
    assert!(
        errors(&a).iter().any(|e| e.contains("not a kset position")),
        "{:?}",
        a.findings
    );

    // A chain that loops: the kset head is replaced by a last kset pointing
    // back to its own segment.
    let s = Scratch::from_golden("c-dirty");
    let mut last = [0u8; 24];
    encode_last(0, &mut last).unwrap();
    s.patch(KSET0, &last);
    let a = s.analyze();
    assert!(
        errors(&a).iter().any(|e| e.contains("does not end")),
        "{:?}",
        a.findings
    );

    // A superblock seg_num larger than the device.
    let s = Scratch::from_golden("c-dirty");
    let mut sb = Superblock::read_from_bytes(&s.read(SB_OFF, 24)).unwrap();
    sb.seg_num.set(38);
    sb.crc.set(sb.compute_crc());
    s.patch(SB_OFF, sb.as_bytes());
    let a = s.analyze();
    assert!(
        errors(&a).iter().any(|e| e.contains("seg_num 38 invalid")),
        "{:?}",
        a.findings
    );
}

#[test]
fn not_a_cache_is_an_operational_error() {
    let s = Scratch::new("zero");
    std::fs::File::create(&s.path)
        .unwrap()
        .set_len(600 << 20)
        .unwrap();
    assert!(analyze(&s.image(false), None, |_, _| {}).is_err());
}

#[test]
fn pack_round_trip() {
    let s = Scratch::from_golden("c-dirty");
    let packed = Scratch::new("packed").path.with_extension("pcs.gz");
    pack(&s.image(false), &packed).unwrap();
    let back = Scratch::new("back");
    unpack(&packed, &back.path).unwrap();
    let _ = std::fs::remove_file(&packed);
    assert_eq!(
        std::fs::read(&s.path).unwrap(),
        std::fs::read(&back.path).unwrap()
    );
}

/// The writer-built goldens: a fresh cache from `format`, and one with three
/// keys and their data written with the crate's kset writer. Stored packed
/// beside the C-captured ones; set PCACHE_BLESS=1 to rewrite them.
fn writer_image(with_keys: bool) -> Scratch {
    let s = Scratch::new(if with_keys {
        "rust-dirty"
    } else {
        "rust-fresh"
    });
    std::fs::File::create(&s.path)
        .unwrap()
        .set_len(600 << 20)
        .unwrap();
    let img = s.image(true);
    format(
        &img,
        &Options {
            mode: CacheMode::Writeback,
            data_crc: true,
        },
        |_, _| {},
    )
    .unwrap();
    if with_keys {
        // Data in cache segment 1 (device segment 1), keys in segment 0.
        let mut keys = Vec::new();
        let mut seg_off_in = 0u32;
        for (off, len) in [(0u64, 4096u32), (1 << 20, 4096), (8 << 20, 8192)] {
            let data: Vec<u8> = (0..len).map(|i| (i as u64 ^ off >> 12) as u8).collect();
            img.write_at(seg_off(1) + SEG_DATA_OFF + u64::from(seg_off_in), &data)
                .unwrap();
            let mut k = KeyOnmedia::default();
            k.off.set(off);
            k.len.set(len);
            k.cache_seg_id.set(1);
            k.cache_seg_off.set(seg_off_in);
            k.data_crc.set(crc32c(CRC_SEED, &data));
            keys.push(k);
            seg_off_in += len;
        }
        let mut kset = vec![0u8; 24 + 40 * keys.len()];
        pcache_format::kset::encode_keys(&keys, &mut kset).unwrap();
        img.write_at(KSET0, &kset).unwrap();
    }
    s
}

#[test]
fn writer_goldens_are_stable() {
    for (name, with_keys) in [("rust-fresh", false), ("rust-dirty", true)] {
        let built = writer_image(with_keys);
        if std::env::var_os("PCACHE_BLESS").is_some() {
            pack(&built.image(false), &golden(name)).unwrap();
        }
        let stored = Scratch::from_golden(name);
        assert!(
            std::fs::read(&built.path).unwrap() == std::fs::read(&stored.path).unwrap(),
            "{name}: the writer's output changed (PCACHE_BLESS=1 to accept)"
        );
    }
}

#[test]
fn writer_dirty_golden_checks_out() {
    let a = Scratch::from_golden("rust-dirty").analyze();
    assert!(errors(&a).is_empty(), "{:?}", a.findings);
    assert_eq!(
        (a.keys_replayed, a.cached_extents, a.cached_bytes),
        (3, 3, 16384)
    );
    assert_eq!(a.dirty, vec![(0, 4096), (1 << 20, 4096), (8 << 20, 8192)]);
    assert_eq!(a.key_head, Some((0, 24 + 3 * 40)));
    assert_eq!(a.exit_bits(), EXIT_DIRTY);
}
