// SPDX-License-Identifier: GPL-2.0

//! `pcache dump` and `pcache check`: one analysis, two reports.

use crate::image::Image;
use crate::load::{load, Cache, DualSlot, LoadError};
use crate::replay::{merge_ranges, walk, Extent, ExtentMap, KsetAt};
use pcache_format::meta::MetaRecord;
use pcache_format::{CachePos, FormatError};
use serde::Serialize;
use std::process::ExitCode;

pub const EXIT_DIRTY: u8 = 1;
pub const EXIT_CORRUPT: u8 = 4;
pub const EXIT_OPERATIONAL: u8 = 8;

#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The kernel would refuse the cache or lose keys.
    Error,
    /// Consistent, but worth knowing.
    Note,
}

#[derive(Serialize, Debug)]
pub struct Finding {
    pub severity: Severity,
    pub what: String,
}

#[derive(Serialize, Debug, Default)]
pub struct Analysis {
    pub device_bytes: u64,
    pub seg_num: u32,
    pub n_segs: u32,
    pub cache_mode: String,
    pub data_crc: bool,
    pub init_done: bool,
    pub gc_percent: u8,
    pub cache_info_slot: Option<usize>,
    pub key_tail: Option<(u32, u32)>,
    pub dirty_tail: Option<(u32, u32)>,
    pub segments: Vec<SegView>,
    /// Ksets from key_tail, as the kernel replays them (listed by `dump`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ksets: Vec<KsetAt>,
    /// Where the key chain ends: the key head after replay.
    pub key_head: Option<(u32, u32)>,
    pub chain_end: Option<String>,
    pub keys_replayed: u64,
    pub keys_stale: u64,
    pub cached_extents: usize,
    pub cached_bytes: u64,
    /// Backing-device ranges writeback still has to write.
    pub dirty: Vec<(u64, u64)>,
    pub dirty_bytes: u64,
    pub findings: Vec<Finding>,
}

#[derive(Serialize, Debug)]
pub struct SegView {
    pub cache_seg: u32,
    pub dev_seg: u32,
    /// Sequence of each info slot, `None` where its CRC fails.
    pub info_seq: [Option<u8>; 2],
    pub next: Option<u32>,
    pub gen: u64,
    pub gen_seq: [Option<u8>; 2],
}

fn seqs<R: MetaRecord + Copy>(d: &DualSlot<R>) -> [Option<u8>; 2] {
    d.slots.map(|s| s.map(|r| r.header().seq))
}

fn pos(d: &DualSlot<CachePos>) -> Option<(u32, u32)> {
    d.get().map(|p| (p.cache_seg_id.get(), p.seg_off.get()))
}

impl Analysis {
    fn error(&mut self, what: impl Into<String>) {
        self.findings.push(Finding {
            severity: Severity::Error,
            what: what.into(),
        });
    }

    fn note(&mut self, what: impl Into<String>) {
        self.findings.push(Finding {
            severity: Severity::Note,
            what: what.into(),
        });
    }

    pub fn exit_bits(&self) -> u8 {
        let mut bits = 0;
        if self.findings.iter().any(|f| f.severity == Severity::Error) {
            bits |= EXIT_CORRUPT;
        }
        if self.dirty_bytes > 0 {
            bits |= EXIT_DIRTY;
        }
        bits
    }
}

/// Loads and replays the cache; what the kernel would reject becomes an
/// error finding. `Err` only for I/O errors and non-pcache devices.
pub fn analyze(
    img: &Image,
    backing_bytes: Option<u64>,
    progress: impl FnMut(u32, u32),
) -> Result<Analysis, LoadError> {
    let mut a = Analysis {
        device_bytes: img.size(),
        ..Default::default()
    };
    let cache = match load(img, progress) {
        Ok(c) => c,
        Err(LoadError::Format {
            what: "superblock",
            err: FormatError::BadMagic { found },
        }) => {
            return Err(LoadError::Format {
                what: "superblock",
                err: FormatError::BadMagic { found },
            })
        }
        Err(LoadError::Format { what, err }) => {
            a.error(format!("{what}: {err}"));
            return Ok(a);
        }
        Err(e) => return Err(e),
    };
    describe(&mut a, &cache);
    if !cache.cache_info.init_done() {
        a.note("cache_info: init_done not set: the kernel sets the cache up again on next load");
        return Ok(a);
    }
    replay(&mut a, img, &cache, backing_bytes.unwrap_or(u64::MAX));
    Ok(a)
}

fn describe(a: &mut Analysis, c: &Cache) {
    a.seg_num = c.sb.seg_num.get();
    a.n_segs = c.cache_info.n_segs.get();
    a.cache_mode = c.cache_info.cache_mode().name().into();
    a.data_crc = c.cache_info.data_crc();
    a.init_done = c.cache_info.init_done();
    a.gc_percent = c.cache_info.gc_percent();
    a.cache_info_slot = c.info.latest;
    a.key_tail = pos(&c.key_tail);
    a.dirty_tail = pos(&c.dirty_tail);
    for s in &c.segs {
        a.segments.push(SegView {
            cache_seg: s.cache_seg,
            dev_seg: s.dev_seg,
            info_seq: seqs(&s.info),
            next: s.info.get().and_then(|i| i.next()),
            gen: s.gen,
            gen_seq: seqs(&s.gen_slots),
        });
    }
    if c.cache_info.gc_percent() > pcache_format::GC_PERCENT_MAX {
        a.note(format!(
            "gc_percent {} above the kernel's maximum",
            c.cache_info.gc_percent()
        ));
    }
}

fn replay(a: &mut Analysis, img: &Image, c: &Cache, backing_bytes: u64) {
    let (Some(key_tail), Some(dirty_tail)) = (a.key_tail, a.dirty_tail) else {
        return;
    };
    let n_segs = c.segs.len() as u32;
    let walked = match walk(img, c, key_tail) {
        Ok(w) => w,
        Err(e) => {
            a.error(format!(
                "key chain from key_tail {}:{}: {e}",
                key_tail.0, key_tail.1
            ));
            return;
        }
    };
    let mut extents = ExtentMap::default();
    'ksets: for kset in &walked.ksets {
        for k in kset.keys.iter().flatten() {
            if let Err(e) = k.raw.check(backing_bytes, n_segs) {
                // cache_key_decode() fails the whole replay.
                a.error(format!(
                    "kset at {}:{}: key {}+{}: {e}",
                    kset.cache_seg, kset.seg_off, k.off, k.len
                ));
                break 'ksets;
            }
            let data = c.data_addr(k.cache_seg, k.seg_off).unwrap_or(0);
            if c.cache_info.data_crc() {
                match img.read_vec(data, k.len as usize) {
                    Ok(bytes) => {
                        if let Err(e) = k.raw.check_data(&bytes) {
                            a.error(format!(
                                "key {}+{} at {}:{}: {e}",
                                k.off, k.len, k.cache_seg, k.seg_off
                            ));
                            break 'ksets;
                        }
                    }
                    Err(e) => {
                        a.error(format!("key {}+{}: data unreadable: {e}", k.off, k.len));
                        break 'ksets;
                    }
                }
            }
            // Keys older than their segment's generation were reclaimed by GC.
            if k.seg_gen < c.segs[k.cache_seg as usize].gen {
                a.keys_stale += 1;
                continue;
            }
            a.keys_replayed += 1;
            extents.insert(Extent {
                off: k.off,
                len: u64::from(k.len),
                data,
                clean: k.is_clean(),
            });
        }
    }
    a.cached_extents = extents.len();
    a.cached_bytes = extents.bytes();
    a.key_head = Some(walked.end);
    a.chain_end = Some(walked.end_reason);
    a.ksets = walked.ksets;

    // Writeback walks from dirty_tail; it must reach the same chain.
    let from_dirty = a
        .ksets
        .iter()
        .position(|k| (k.cache_seg, k.seg_off) == dirty_tail);
    let at_head = a.key_head == Some(dirty_tail);
    if from_dirty.is_none() && !at_head {
        a.error(format!(
            "dirty_tail {}:{} is not a kset position of the key chain",
            dirty_tail.0, dirty_tail.1
        ));
    }
    // On the chain, writeback's walk is the rest of the one just made;
    // elsewhere it has to be walked on its own.
    let ranges = match from_dirty {
        Some(i) => dirty_ranges(&a.ksets[i..]),
        None if at_head => Vec::new(),
        None => match walk(img, c, dirty_tail) {
            Ok(w) => dirty_ranges(&w.ksets),
            Err(e) => {
                a.error(format!(
                    "chain from dirty_tail {}:{}: {e}",
                    dirty_tail.0, dirty_tail.1
                ));
                return;
            }
        },
    };
    a.dirty = merge_ranges(ranges);
    a.dirty_bytes = a.dirty.iter().map(|(_, l)| l).sum();
}

/// The backing-device ranges of the keys writeback still has to write.
fn dirty_ranges(ksets: &[KsetAt]) -> Vec<(u64, u64)> {
    ksets
        .iter()
        .flat_map(|k| k.keys.iter().flatten())
        .filter(|k| !k.is_clean())
        .map(|k| (k.off, u64::from(k.len)))
        .collect()
}

fn slot(s: Option<u8>) -> String {
    s.map_or("bad-crc".into(), |q| format!("seq {q}"))
}

fn print_human(a: &Analysis, with_keys: bool) {
    println!(
        "device: {} bytes, {} segments (superblock seg_num)",
        a.device_bytes, a.seg_num
    );
    println!(
        "cache_info (slot {}): n_segs {}, mode {}, data_crc {}, gc {}%, init_done {}",
        a.cache_info_slot.map_or("-".into(), |s| s.to_string()),
        a.n_segs,
        a.cache_mode,
        a.data_crc,
        a.gc_percent,
        a.init_done
    );
    let p = |x: Option<(u32, u32)>| x.map_or("-".into(), |(s, o)| format!("{s}:{o}"));
    println!(
        "key_tail {}  dirty_tail {}  key_head {}",
        p(a.key_tail),
        p(a.dirty_tail),
        p(a.key_head)
    );
    if with_keys {
        println!("segments:");
        for s in &a.segments {
            println!(
                "  cache_seg {:>5} = dev seg {:>7}  gen {} ({} | {})  info ({} | {})  next {}",
                s.cache_seg,
                s.dev_seg,
                s.gen,
                slot(s.gen_seq[0]),
                slot(s.gen_seq[1]),
                slot(s.info_seq[0]),
                slot(s.info_seq[1]),
                s.next.map_or("-".into(), |n| n.to_string())
            );
        }
        println!("ksets from key_tail:");
        for k in &a.ksets {
            match (&k.keys, k.next) {
                (Some(keys), _) => {
                    println!("  {}:{}  {} keys", k.cache_seg, k.seg_off, keys.len());
                    for key in keys {
                        println!(
                            "    {:>14}+{:<8} at {}:{}  gen {}  {}  crc {:#010x}",
                            key.off,
                            key.len,
                            key.cache_seg,
                            key.seg_off,
                            key.seg_gen,
                            if key.is_clean() { "clean" } else { "dirty" },
                            key.data_crc
                        );
                    }
                }
                (None, next) => println!(
                    "  {}:{}  last kset -> cache_seg {}",
                    k.cache_seg,
                    k.seg_off,
                    next.unwrap_or(0)
                ),
            }
        }
        if let Some(why) = &a.chain_end {
            println!("  chain ends at {} ({why})", p(a.key_head));
        }
    }
    println!(
        "keys: {} replayed, {} stale; {} cached extents, {} bytes; {} dirty bytes in {} ranges",
        a.keys_replayed,
        a.keys_stale,
        a.cached_extents,
        a.cached_bytes,
        a.dirty_bytes,
        a.dirty.len()
    );
    for (off, len) in &a.dirty {
        println!("  dirty {off}+{len}");
    }
    for f in &a.findings {
        println!(
            "{}: {}",
            if f.severity == Severity::Error {
                "ERROR"
            } else {
                "note"
            },
            f.what
        );
    }
}

fn run(
    img: &Image,
    json: bool,
    backing: Option<u64>,
    with_keys: bool,
    progress: impl FnMut(u32, u32),
) -> Result<Analysis, ExitCode> {
    match analyze(img, backing, progress) {
        Ok(mut a) => {
            if !with_keys {
                a.ksets.clear();
            }
            if json {
                match serde_json::to_string_pretty(&a) {
                    Ok(s) => println!("{s}"),
                    Err(e) => {
                        eprintln!("pcache: {e}");
                        return Err(ExitCode::from(EXIT_OPERATIONAL));
                    }
                }
            } else {
                print_human(&a, with_keys);
            }
            Ok(a)
        }
        Err(e) => {
            eprintln!("pcache: {e}");
            Err(ExitCode::from(EXIT_OPERATIONAL))
        }
    }
}

pub fn dump(img: &Image, json: bool, progress: impl FnMut(u32, u32)) -> ExitCode {
    match run(img, json, None, true, progress) {
        Ok(_) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}

pub fn check(
    img: &Image,
    json: bool,
    backing: Option<u64>,
    progress: impl FnMut(u32, u32),
) -> ExitCode {
    match run(img, json, backing, false, progress) {
        Ok(a) => ExitCode::from(a.exit_bits()),
        Err(code) => code,
    }
}
