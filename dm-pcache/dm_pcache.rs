// SPDX-License-Identifier: GPL-2.0

//! dm-pcache in Rust: a write-back cache on persistent memory (DAX) in
//! front of a block device. A drop-in for the upstream C target of Linux
//! 7.2 (same target name, table, status and on-media format, through the
//! shared `pcache-format` crate); see Documentation/dm-pcache.rst for
//! where it differs.
//!
//! The files follow upstream's split: `cache_dev` (the pmem device,
//! superblock, metadata records), `cache_segment`, `cache_key` (keys, the
//! index, replay), `cache` (the state under the lock, the key log),
//! `cache_req` (reads and writes), `cache_writeback`, `cache_gc`,
//! `cache_discard` (ours: upstream has no discard) and this file (the
//! target).

// Target code is safe Rust: `unsafe` and FFI live in the rdm layer only.
#![deny(unsafe_code)]

use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};
use kernel::prelude::*;
use kernel::sync::{new_mutex, new_spinlock, Mutex, SpinLock};

#[path = "../rust/rdm/mod.rs"]
#[expect(
    unsafe_code,
    reason = "the rdm layer holds all of the crate's unsafe code"
)]
mod rdm;

#[path = "../rust/pcache-format/src/lib.rs"]
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

#[path = "../rust/pcache-index/src/lib.rs"]
#[allow(
    unreachable_pub,
    unused_attributes,
    unused_imports,
    dead_code,
    missing_docs
)]
mod pcache_index;

mod cache;
mod cache_dev;
mod cache_discard;
mod cache_gc;
mod cache_key;
mod cache_req;
mod cache_segment;
mod cache_writeback;
mod table;

use cache::{Core, Tail};
use cache_dev::{read_latest, CacheDev, Opened, Pos, SlotWriter};
use cache_key::{replay, KeyTree};
use cache_req::{Fill, WriteReq};
use cache_segment::Segments;
use cache_writeback::WbState;
use pcache_format::cache_info::CacheInfo;
use pcache_format::format::{Options, DIRTY_TAIL_OFF, KEY_TAIL_OFF};
use pcache_format::segment::SegInfo;
use pcache_format::{CacheMode, CachePos, CACHE_INFO_OFF, GC_PERCENT_MAX, KSET_ONMEDIA_SIZE_MAX};
use rdm::{
    Bio, BioList, ClonePool, CtrError, DelayedWork, DevClaim, DevIter, DmDev, Features, IoInfo,
    IoPool, Mapped, Op, Registration, StatusType, StatusWriter, Target, TargetCtx, TargetInfo,
    SECTOR_SHIFT,
};

module! {
    type: PcacheModule,
    name: "dm_pcache_rs",
    authors: ["The rust-dm authors"],
    description: "device-mapper persistent memory cache (Rust)",
    license: "GPL",
}

struct PcacheModule {
    _target: Registration<Pcache>,
}

impl kernel::Module for PcacheModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        Ok(Self {
            _target: Registration::new(module)?,
        })
    }
}

/// Counters appended to the status line after upstream's fields.
#[derive(Default)]
pub(crate) struct Stats {
    pub(crate) hit_bytes: AtomicU64,
    pub(crate) miss_bytes: AtomicU64,
    pub(crate) write_bytes: AtomicU64,
    pub(crate) crc_errors: AtomicU64,
    pub(crate) writeback_ksets: AtomicU64,
    pub(crate) writeback_errors: AtomicU64,
    pub(crate) gc_errors: AtomicU64,
    pub(crate) fill_bytes: AtomicU64,
    /// Writes and flushes that had to wait for room in the cache.
    pub(crate) room_waits: AtomicU64,
    pub(crate) discard_bytes: AtomicU64,
    /// What write-back did not copy because a newer key or a discard
    /// took it over (cache_writeback).
    pub(crate) wb_skipped_bytes: AtomicU64,
}

/// One pcache target.
#[pin_data]
pub(crate) struct Pcache {
    pub(crate) dev: CacheDev,
    pub(crate) backing: DmDev,
    /// The backing device's size in bytes: keys must lie inside it.
    pub(crate) dev_bytes: u64,
    pub(crate) data_crc: bool,
    #[pin]
    pub(crate) core: SpinLock<Core>,
    /// Writes and flushes waiting for cache space, retried in order.
    #[pin]
    pub(crate) deferred: SpinLock<BioList>,
    /// Discards waiting for the write-back work to be between ksets.
    #[pin]
    pub(crate) discards: SpinLock<BioList>,
    #[pin]
    pub(crate) wb: Mutex<WbState>,
    /// Requests of the writeback step in flight (plus one while submitting).
    pub(crate) wb_pending: AtomicU32,
    pub(crate) wb_failed: AtomicBool,
    /// Asks write-back to write back everything ([`Pcache::wb_drain`]).
    pub(crate) wb_drain_req: AtomicBool,
    /// GC met a kset it cannot collect: it stops for good (as upstream's
    /// `gc_errors`), since references must not be dropped twice.
    pub(crate) gc_failed: AtomicBool,
    #[pin]
    pub(crate) gc_buf: Mutex<KVec<u8>>,
    pub(crate) wb_io: IoPool<()>,
    /// Clones of reads' gaps to the backing device, completed in process
    /// context (where a fill copies their data into the cache).
    pub(crate) misses: ClonePool<Option<Fill>>,
    pub(crate) writeback: DelayedWork,
    pub(crate) gc: DelayedWork,
    pub(crate) kset_flush: DelayedWork,
    pub(crate) retry: DelayedWork,
    pub(crate) stats: Stats,
    /// Held for the target's lifetime (released last): no other pcache
    /// target uses `dev`.
    _claim: DevClaim,
}

/// Loads the cache after the superblock (`pcache_cache_start()`): the
/// cache_info, the segment chain and generations, the tails, then replays
/// the key log. Returns the state and whether `cache_info` is still to be
/// written (an existing cache records each open, as upstream).
fn load_cache(
    dev: &mut CacheDev,
    opts: Options,
    dev_bytes: u64,
    opened: Opened,
) -> Result<Core, CtrError> {
    let fail = |msg: &'static CStr, err| CtrError { msg, err };
    let mut latest = read_latest::<CacheInfo>(&dev.pmem, CACHE_INFO_OFF)
        .map_err(|e| fail(c"Cannot read cache_info", e))?;
    if latest.is_none() {
        // A superblock without cache_info: upstream's first open died
        // before it finished. Start over, as upstream does.
        dev.reformat(opts)
            .map_err(|e| fail(c"Cannot format the cache device", e))?;
        latest = read_latest::<CacheInfo>(&dev.pmem, CACHE_INFO_OFF)
            .map_err(|e| fail(c"Cannot read cache_info", e))?;
    }
    let Some((info_slot, info)) = latest else {
        return Err(fail(c"No valid cache_info", EIO));
    };
    if info.data_crc() != opts.data_crc {
        return Err(fail(c"data_crc does not match the cache", EINVAL));
    }
    if info.cache_mode() != CacheMode::Writeback {
        return Err(fail(c"Unsupported cache mode on the cache device", EINVAL));
    }
    let n_segs = info.n_segs.get();
    if n_segs == 0 || n_segs > dev.seg_num {
        return Err(fail(c"Invalid segment count in cache_info", EIO));
    }
    // The segment chain (`cache_segs_init()`): cache_info names the first
    // device segment, each segment's info the next.
    let mut chain =
        KVVec::with_capacity(n_segs as usize, GFP_KERNEL).map_err(|_| CtrError::oom())?;
    let mut dev_seg = info.seg_id.get();
    // Device segments seen: a chain that names one twice would alias two
    // cache segments (a crafted image; upstream does not check).
    let mut seen =
        KVVec::from_elem(false, dev.seg_num as usize, GFP_KERNEL).map_err(|_| CtrError::oom())?;
    for i in 0..n_segs {
        match seen.get_mut(dev_seg as usize) {
            Some(s) if !*s => *s = true,
            _ => return Err(fail(c"Invalid segment chain", EIO)),
        }
        chain
            .push(dev_seg, GFP_KERNEL)
            .map_err(|_| CtrError::oom())?;
        // Every segment's info must be valid, the last one's too (as
        // `cache_seg_meta_load()`), and each but the last names the next.
        let base = pcache_format::seg_off(dev_seg);
        let seg_info = read_latest::<SegInfo>(&dev.pmem, base)
            .map_err(|e| fail(c"Cannot read segment info", e))?
            .ok_or(fail(c"Invalid segment info", EIO))?;
        if i + 1 < n_segs {
            dev_seg = seg_info
                .1
                .next()
                .ok_or(fail(c"Invalid segment chain", EIO))?;
        }
    }
    dev.set_segments(chain)
        .map_err(|e| fail(c"Invalid segment chain", e))?;
    let mut segs = Segments::load(dev).map_err(|e| fail(c"Cannot read segment generations", e))?;

    let tail = |base: u64| -> Result<Tail, CtrError> {
        let bad = |e| fail(c"Corrupted key tail or dirty tail", e);
        let (slot, pos) = read_latest::<CachePos>(&dev.pmem, base)
            .map_err(bad)?
            .ok_or(bad(EIO))?;
        pos.check(n_segs).map_err(|_| bad(EIO))?;
        let p = Pos {
            seg: pos.cache_seg_id.get(),
            off: pos.seg_off.get(),
        };
        Ok(Tail::new(
            p,
            SlotWriter::new(base, Some((slot, pos.header.seq))),
        ))
    };
    let key_tail = tail(KEY_TAIL_OFF)?;
    let dirty_tail = tail(DIRTY_TAIL_OFF)?;

    let mut tree = KeyTree::new();
    let replayed = replay(
        dev,
        &mut segs,
        &mut tree,
        key_tail.pos,
        dirty_tail.pos,
        dev_bytes,
        opts.data_crc,
    )
    .map_err(|e| fail(c"Failed to replay keys (corrupt key log or data)", e))?;
    if !replayed.dirty_tail_seen {
        // Upstream only bounds the dirty tail's chain; a dirty tail off the
        // log would write back (and free) what it must not.
        return Err(fail(c"Dirty tail is not on the key log", EIO));
    }
    let info_writer = SlotWriter::new(CACHE_INFO_OFF, Some((info_slot, info.header.seq)));
    let mut core = Core::new(
        tree,
        segs,
        replayed.key_head,
        dirty_tail,
        key_tail,
        info,
        info_writer,
    )
    .map_err(|_| CtrError::oom())?;
    core.dirty_bytes = replayed.dirty_bytes;
    if let Opened::Existing = opened {
        core.info.set_init_done();
        core.write_info(dev)
            .map_err(|e| fail(c"Cannot write cache_info", e))?;
    }
    pr_info!(
        "dm-pcache: {} segments, {} keys replayed, {} in the index\n",
        n_segs,
        replayed.keys,
        core.tree.len()
    );
    Ok(core)
}

impl Pcache {
    fn defer_write(&self, bio: rdm::DeferredBio) {
        self.stats.room_waits.fetch_add(1, Relaxed);
        self.deferred.lock().push(bio);
        // Space comes from writing back and collecting.
        self.wb_drain();
        self.gc.reschedule(0);
        self.retry.schedule(100);
    }

    /// Retries the deferred writes and flushes in order (`defered_req_fn()`).
    fn retry_work(&self, ti: &TargetInfo<'_>) {
        let mut list = self.deferred.lock().take();
        while let Some(bio) = list.pop() {
            let req = WriteReq {
                off: ti.offset(bio.sector()) << SECTOR_SHIFT,
                preflush: bio.is_preflush() || bio.op() == Op::Flush,
                fua: bio.is_fua(),
                has_data: bio.has_data(),
            };
            match self.write(&bio, req) {
                Err(e) if e == EBUSY => {
                    // Still no room: this one and the rest wait, in order.
                    self.deferred.lock().requeue_front(bio, list);
                    self.retry.schedule(100);
                    return;
                }
                r => bio.end(r),
            }
        }
    }

    /// The `flush` message (ours): closes the open kset and waits until
    /// everything is written back to the backing device (and flushed
    /// there), e.g. before the cache device is taken away. `EIO` if
    /// write-back fails meanwhile, `EBUSY` if the kset cannot be closed.
    fn flush_all(&self) -> Result {
        let errors = self.stats.writeback_errors.load(Relaxed);
        let mut closed = false;
        loop {
            {
                let mut core = self.core.lock();
                if !closed {
                    closed = core.close_kset(&self.dev).is_ok();
                }
                if closed && core.dirty_tail.pos == core.key_head {
                    return Ok(());
                }
            }
            if self.stats.writeback_errors.load(Relaxed) != errors {
                return Err(EIO);
            }
            if kernel::current!().signal_pending() {
                return Err(if closed { EINTR } else { EBUSY });
            }
            self.wb_drain();
            kernel::time::delay::fsleep(kernel::time::Delta::from_millis(10));
        }
    }

    fn kset_flush_work(&self, _ti: &TargetInfo<'_>) {
        if self.core.lock().close_kset(&self.dev).is_err() {
            // No room for the kset yet: try again shortly.
            self.kset_flush.schedule(100);
        }
    }
}

#[vtable]
impl Target for Pcache {
    const NAME: &'static CStr = c"pcache";
    const VERSION: [u32; 3] = [0, 1, 0];
    const FEATURES: Features = Features::SINGLETON;

    type PerIo = ();

    fn ctr(
        ti: &mut TargetCtx<'_, Self>,
        args: &[&str],
    ) -> Result<impl PinInit<Self, CtrError>, CtrError> {
        let t = table::parse(args)?;
        let cache = ti.get_device(t.cache_dev).map_err(|err| CtrError {
            msg: c"Error opening cache device",
            err,
        })?;
        // Upstream refuses a reload of a live device (two targets would
        // write one cache); the claim also covers two devices naming the
        // same cache.
        let claim = DevClaim::new(&cache).map_err(|err| CtrError {
            msg: c"Cache device is in use by another pcache target",
            err,
        })?;
        let backing = ti.get_device(t.backing_dev).map_err(|err| CtrError {
            msg: c"Error opening backing device",
            err,
        })?;
        if ti.info().len() > backing.nr_sectors() {
            return Err(CtrError {
                msg: c"Device is larger than the backing device",
                err: EINVAL,
            });
        }
        let dev_bytes = backing.nr_sectors() << SECTOR_SHIFT;
        let opts = Options {
            mode: CacheMode::Writeback,
            data_crc: t.data_crc,
        };
        let (mut dev, opened) =
            CacheDev::open(cache, opts).map_err(|(msg, err)| CtrError { msg, err })?;
        let core = load_cache(&mut dev, opts, dev_bytes, opened)?;

        let oom = |_: Error| CtrError::oom();
        let wb_io = ti.io_pool(Self::wb_done).map_err(oom)?;
        let misses = ti.clone_pool_task(Self::miss_done).map_err(oom)?;
        let writeback = ti.delayed_work(Self::writeback_work).map_err(oom)?;
        let gc = ti.delayed_work(|t, _| t.gc_work()).map_err(oom)?;
        let kset_flush = ti.delayed_work(Self::kset_flush_work).map_err(oom)?;
        let retry = ti.delayed_work(Self::retry_work).map_err(oom)?;
        let wb = WbState::new().map_err(oom)?;
        let gc_buf =
            KVec::from_elem(0u8, KSET_ONMEDIA_SIZE_MAX, GFP_KERNEL).map_err(|_| CtrError::oom())?;
        ti.set_num_flush_bios(1);
        ti.set_flush_supported();
        // Discards pass to the backing device (where it has them) and drop
        // what the cache holds of the range (cache_discard).
        ti.set_num_discard_bios(1);
        Ok(try_pin_init!(Self {
            dev,
            backing,
            dev_bytes,
            data_crc: t.data_crc,
            core <- new_spinlock!(core),
            deferred <- new_spinlock!(BioList::new()),
            discards <- new_spinlock!(BioList::new()),
            wb <- new_mutex!(wb),
            wb_pending: AtomicU32::new(0),
            wb_failed: AtomicBool::new(false),
            wb_drain_req: AtomicBool::new(false),
            gc_failed: AtomicBool::new(false),
            gc_buf <- new_mutex!(gc_buf),
            wb_io,
            misses,
            writeback,
            gc,
            kset_flush,
            retry,
            stats: Stats::default(),
            _claim: claim,
        }? CtrError))
    }

    fn map<'a>(&'a self, ti: &IoInfo<'a>, bio: Bio<'a>) -> Mapped<'a> {
        let off = ti.offset(bio.sector()) << SECTOR_SHIFT;
        match bio.op() {
            Op::Read if bio.has_data() => self.read(bio, off),
            Op::Write | Op::Flush => {
                let req = WriteReq {
                    off,
                    preflush: bio.is_preflush() || bio.op() == Op::Flush,
                    fua: bio.is_fua(),
                    has_data: bio.has_data(),
                };
                let r = self.write(&bio, req);
                let (bio, mapped) = bio.defer();
                match r {
                    Err(e) if e == EBUSY => self.defer_write(bio),
                    r => bio.end(r),
                }
                mapped
            }
            Op::Discard => {
                let (bio, mapped) = bio.defer();
                self.defer_discard(bio);
                mapped
            }
            // Write-zeroes is not enabled for this target.
            _ => bio.kill(),
        }
    }

    fn status(&self, _ti: &TargetInfo<'_>, ty: StatusType, out: &mut StatusWriter<'_>) {
        match ty {
            StatusType::Info => {
                let core = self.core.lock();
                let (h, d, k) = (core.key_head, core.dirty_tail.pos, core.key_tail.pos);
                let _ = write!(
                    out,
                    "{:x} {} {} {} {} {:x} {}:{} {}:{} {}:{}",
                    self.dev.sb_flags,
                    self.dev.seg_num,
                    core.segs.n_segs(),
                    core.segs.used(),
                    core.info.gc_percent(),
                    core.info.flags.get(),
                    h.seg,
                    h.off,
                    d.seg,
                    d.off,
                    k.seg,
                    k.off
                );
                let (keys, dirty) = (core.tree.len(), core.dirty_bytes);
                drop(core);
                let s = &self.stats;
                let _ = write!(
                    out,
                    " {} {} {} {} {} {} {} {} {} {} {} {} {}",
                    keys,
                    s.hit_bytes.load(Relaxed) >> SECTOR_SHIFT,
                    s.miss_bytes.load(Relaxed) >> SECTOR_SHIFT,
                    s.write_bytes.load(Relaxed) >> SECTOR_SHIFT,
                    s.writeback_ksets.load(Relaxed),
                    s.crc_errors.load(Relaxed),
                    s.writeback_errors.load(Relaxed),
                    s.gc_errors.load(Relaxed),
                    s.fill_bytes.load(Relaxed) >> SECTOR_SHIFT,
                    s.room_waits.load(Relaxed),
                    s.discard_bytes.load(Relaxed) >> SECTOR_SHIFT,
                    dirty >> SECTOR_SHIFT,
                    s.wb_skipped_bytes.load(Relaxed) >> SECTOR_SHIFT
                );
            }
            StatusType::Table => {
                let _ = write!(
                    out,
                    "{} {} 4 cache_mode writeback data_crc {}",
                    self.dev.pmem.dev().name(),
                    self.backing.name(),
                    if self.data_crc { "true" } else { "false" }
                );
            }
            _ => {}
        }
    }

    fn message(&self, _ti: &TargetInfo<'_>, args: &[&str], _out: &mut StatusWriter<'_>) -> Result {
        match args {
            [name, value] if name.eq_ignore_ascii_case("gc_percent") => {
                let percent = rdm::args::parse_u32(value)
                    .filter(|p| *p <= u32::from(GC_PERCENT_MAX))
                    .ok_or(EINVAL)?;
                let mut core = self.core.lock();
                core.info.set_gc_percent(percent as u8);
                core.write_info(&self.dev)?;
                drop(core);
                self.gc.reschedule(0);
                Ok(())
            }
            [name] if name.eq_ignore_ascii_case("flush") => self.flush_all(),
            _ => Err(EINVAL),
        }
    }

    fn iterate_devices(&self, ti: &TargetInfo<'_>, it: &mut DevIter<'_>) -> i32 {
        it.visit(&self.backing, 0, ti.len())
    }

    fn postsuspend(&self, _ti: &TargetInfo<'_>) {
        // Nothing acknowledged stays only in memory while suspended (the
        // destructor closes it once more, after the work items stopped).
        if let Err(e) = self.core.lock().close_kset(&self.dev) {
            pr_err!("dm-pcache: could not write the last keys: {:?}\n", e);
        }
    }

    fn stopped(&self, _ti: &TargetInfo<'_>) {
        // The work items are stopped and write-back I/O drained: nothing
        // can add keys any more. Deferred requests left (none, normally:
        // dm core completes every bio first) fail; the open kset is made
        // durable (`pcache_cache_stop()`).
        let left = (self.deferred.lock().take(), self.discards.lock().take());
        drop(left);
        if let Err(e) = self.core.lock().close_kset(&self.dev) {
            pr_err!("dm-pcache: could not write the last keys: {:?}\n", e);
        }
    }

    fn resume(&self, _ti: &TargetInfo<'_>) {
        self.writeback.reschedule(0);
        self.gc.reschedule(0);
        self.retry.reschedule(0);
    }
}
