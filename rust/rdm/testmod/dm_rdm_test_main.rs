// SPDX-License-Identifier: GPL-2.0

//! `rdm_test`: a linear target that exercises every optional hook and every
//! piece of the rdm layer, for selftests/rdm. Not for production use.
//!
//! Table: `<dev_path> <offset> [<mirror_path> <mirror_offset>]
//! [max_io_len <sectors>]`; with a mirror, writes are also cloned to it
//! (`Bio::clone_chained`); with `max_io_len`, dm core splits bios at every
//! multiple of it (`TargetCtx::set_max_io_len`) and `map` counts any that
//! still crosses one (`crossed`). Status
//! (INFO) and `dmsetup message <dev> 0 stats` print its counters. Messages
//! (all `<0|1>` unless said otherwise):
//!
//! - `swallow_errors`: `end_io` completes failed bios successfully, which
//!   shows that the layer hands `end_io` the real status and honours a
//!   changed one;
//! - `defer`: `map` takes every bio over and submits it later from the
//!   target's own workqueue (`DeferredBio`, `BioList`);
//! - `absorb`: deferred writes are ended (successfully, 50 ms later, so that
//!   chained legs complete first) instead of submitted, as a cache that
//!   absorbed them would: with a mirror, a failing leg must still fail them;
//! - `parts <0-4>`: each deferred bio is split into that many extra
//!   completion parts (`DeferredBio::part`), ended by the work item;
//! - `fail_part`: the last but one part ends with `-ENOSPC` and the last
//!   with `-EIO` (a single part: `-ENOSPC`); the submitter must see "No
//!   space left on device" (first error wins);
//! - `split <sectors>`: `map` accepts only that many sectors of each data
//!   bio (`dm_accept_partial_bio`; 0: off);
//! - `hold_dev <ms>`: a spare handle of the device goes to a work item on
//!   the *system* workqueue that sleeps, reads the device size and drops
//!   it: `dmsetup remove` meanwhile must wait for it, not free the table;
//! - `tick <ms>`: arms the target's delayed work, which counts a tick and
//!   raises a dm event from process context (`DelayedWork`); the layer
//!   cancels a pending tick when the device is removed;
//! - `owned_legs`: writes go to both legs as target-owned clones
//!   (`ClonePool`) instead of remap + chained clone; the target's
//!   completion lets a failing mirror leg pass (counted in `leg_errors`),
//!   as RAID does while a copy remains, but not a failing primary;
//! - `own_copy <src> <dst> <sectors>`: copies with the target's own I/O
//!   (`IoPool`): reads `src` into an `IoBuf`, copies it through a second
//!   buffer in 1000-byte steps (across page boundaries), writes it to `dst`
//!   and flushes, waiting for each; errors reach the message;
//! - `own_read_async <sector>`: submits an own 4 KiB read and returns; its
//!   completion logs `rdm_test: own read done` (removing the device must
//!   wait for it);
//! - `pmem_write <off> <byte> <len>`, `pmem_read <off> <len>`: on a
//!   DAX-capable device (mapped whole with `PmemDev` at construction), stores
//!   `len` (up to 4096) bytes of `byte` at byte `off` of the target through
//!   the mapping and persists them, or prints `len` (up to 64) bytes there in
//!   hex; `EINVAL` without DAX or outside the target;
//! - `pmem_send <off> <len> <sector>`: writes `len` bytes at byte `off` of
//!   the target's mapping to the target's device at `sector`, zero-copy
//!   (`PmemDev::write_source`), and waits; `pmem_recv` with the same
//!   arguments tries to read into them, which the layer refuses;
//! - `event`: raises a dm event.
//!
//! Per-bio data records each bio's size at map time; `end_io` sums it
//! (`per_io_sectors`), since the completed bio's iterator is advanced.

// Target code is safe Rust: `unsafe` and FFI live in the rdm layer only.
#![deny(unsafe_code)]

use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering::Relaxed};
use kernel::prelude::*;
use kernel::sync::{new_spinlock, Arc, Completion, SpinLock};
use kernel::time::{delay::fsleep, Delta};
use kernel::workqueue::{self, impl_has_work, new_work, Work, WorkItem};

#[path = "../mod.rs"]
#[expect(
    unsafe_code,
    reason = "the rdm layer holds all of the crate's unsafe code"
)]
mod rdm;

use rdm::args::{parse_u64, ArgSet};
use rdm::workqueue::OwnedQueue;
use rdm::{
    Bio, BioList, BioSet, BlkStatus, ClonePool, CtrError, DelayedWork, DevIter, DmDev, EndIo,
    EndingBio, IoBuf, IoInfo, IoOp, IoPool, Mapped, Op, PmemDev, Registration, StatusType,
    StatusWriter, Target, TargetCtx, TargetInfo,
};

module! {
    type: RdmTestModule,
    name: "dm_rdm_test",
    authors: ["The rust-dm authors"],
    description: "device-mapper target exercising the rdm layer (tests only)",
    license: "GPL",
}

struct RdmTestModule {
    _target: Registration<RdmTest>,
}

impl kernel::Module for RdmTestModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        Ok(Self {
            _target: Registration::new(module)?,
        })
    }
}

/// What the hooks saw.
#[derive(Default)]
struct Counters {
    reads: AtomicU64,
    writes: AtomicU64,
    flushes: AtomicU64,
    fua: AtomicU64,
    discards: AtomicU64,
    errors: AtomicU64,
    swallowed: AtomicU64,
    deferred: AtomicU64,
    mirrored: AtomicU64,
    partial: AtomicU64,
    ended: AtomicU64,
    per_io_sectors: AtomicU64,
    ticks: AtomicU64,
    leg_errors: AtomicU64,
    crossed: AtomicU64,
    own_done: AtomicU64,
    own_errors: AtomicU64,
    presuspends: AtomicU64,
    postsuspends: AtomicU64,
    preresumes: AtomicU64,
    resumes: AtomicU64,
}

/// How `map` treats bios, set by messages.
#[derive(Clone, Copy, Default)]
struct Config {
    defer: bool,
    owned_legs: bool,
    split: u32,
}

/// Where the outcome of one own request `own_copy` waits for goes. The
/// lock is taken in the completion and, after the wait, in process context:
/// never both at once, but a device completing in hard IRQ would make
/// lockdep flag the plain spinlock (7.2 has no IRQ-saving one in Rust); the
/// devices of the selftests complete in process or softirq context.
#[pin_data]
struct OwnWait {
    #[pin]
    done: Completion,
    #[pin]
    result: SpinLock<Option<(IoBuf, Result)>>,
}

/// The context of the target's own requests.
enum Own {
    /// `own_copy` waits for it.
    Wait(Arc<OwnWait>),
    /// `own_read_async`: nobody waits.
    Async,
}

/// The context of a target-owned clone: which leg it went to.
struct Leg {
    mirror: bool,
}

/// Bios `map` took over, waiting for the work item to finish them.
#[pin_data]
struct Deferred {
    #[pin]
    bios: SpinLock<BioList>,
    #[pin]
    work: Work<Deferred>,
    absorb: AtomicBool,
    parts: AtomicU8,
    fail_part: AtomicBool,
}

impl_has_work! {
    impl HasWork<Self> for Deferred { self.work }
}

impl WorkItem for Deferred {
    type Pointer = Arc<Deferred>;

    fn run(this: Arc<Deferred>) {
        // Finish outside the lock; map may be adding more meanwhile, and
        // queues the work again for those.
        let mut bios = this.bios.lock().take();
        let absorb = this.absorb.load(Relaxed);
        if absorb {
            // Let chained legs complete first: ending the bio successfully
            // after a leg failed is the order that must keep the error.
            fsleep(Delta::from_millis(50));
        }
        while let Some(bio) = bios.pop() {
            match bio.op() {
                // A test target "supports" discards by dropping them.
                Op::Discard => bio.end(Ok(())),
                Op::Write if absorb => bio.end(Ok(())),
                _ => Self::submit(&this, bio),
            }
        }
    }
}

impl Deferred {
    fn submit(this: &Deferred, mut bio: rdm::DeferredBio) {
        let n = this.parts.load(Relaxed);
        let fail = this.fail_part.load(Relaxed);
        // Parts are ended before the bio is submitted, so that the bio
        // completes when the device below completes it.
        for i in 0..n {
            let part = bio.part();
            // Two failing parts, -ENOSPC first: the bio must fail with it,
            // not with the later -EIO (first error wins).
            part.end(match (fail, n - i) {
                (true, 2) => Err(ENOSPC),
                (true, 1) if n >= 2 => Err(EIO),
                (true, 1) => Err(ENOSPC),
                _ => Ok(()),
            });
        }
        bio.submit();
    }
}

/// A second leg that receives a copy of every write.
struct Mirror {
    dev: DmDev,
    start: u64,
    clones: BioSet,
}

/// Carries a spare device handle on the system workqueue (`hold_dev`).
#[pin_data]
struct Holder {
    dev: DmDev,
    ms: u32,
    #[pin]
    work: Work<Holder>,
}

impl_has_work! {
    impl HasWork<Self> for Holder { self.work }
}

impl WorkItem for Holder {
    type Pointer = Arc<Holder>;

    fn run(this: Arc<Holder>) {
        fsleep(Delta::from_millis(i64::from(this.ms)));
        // The table may have been removed meanwhile: the handle keeps the
        // device (and the table's teardown) waiting, so this reads live data.
        pr_info!(
            "rdm_test: held device {} ({} sectors) released\n",
            this.dev.name(),
            this.dev.nr_sectors()
        );
    }
}

/// What `map` records per bio for `end_io`.
struct Note {
    sectors: u32,
}

#[pin_data]
struct RdmTest {
    dev: DmDev,
    start: u64,
    mirror: Option<Mirror>,
    /// The table's `max_io_len` (0: none).
    max_io_len: u64,
    /// A second handle to `dev`, for `hold_dev`.
    #[pin]
    spare: SpinLock<Option<DmDev>>,
    /// Held inline: the target object is pinned.
    #[pin]
    cfg: SpinLock<Config>,
    swallow_errors: AtomicBool,
    deferred: Arc<Deferred>,
    /// Dropped with the target: drains the work before the module can go.
    queue: OwnedQueue,
    /// Runs `on_tick`; the layer stops it before the target goes.
    tick: DelayedWork,
    /// Clones to the legs in `owned_legs` mode, completed by `leg_done`.
    legs: ClonePool<Leg>,
    /// The target's own reads and writes (`own_copy`, `own_read_async`).
    own: IoPool<Own>,
    /// `dev` mapped whole, when it is DAX-capable.
    pmem: Option<Arc<PmemDev>>,
    n: Counters,
}

impl RdmTest {
    fn write_counters(&self, out: &mut StatusWriter<'_>) {
        let n = &self.n;
        let _ = write!(
            out,
            "reads {} writes {} flushes {} fua {} discards {} errors {} swallowed {} deferred {} \
             mirrored {} partial {} ended {} per_io_sectors {} ticks {} leg_errors {} \
             presuspends {} postsuspends {} preresumes {} resumes {} crossed {} \
             own_done {} own_errors {} pmem_bytes {}",
            n.reads.load(Relaxed),
            n.writes.load(Relaxed),
            n.flushes.load(Relaxed),
            n.fua.load(Relaxed),
            n.discards.load(Relaxed),
            n.errors.load(Relaxed),
            n.swallowed.load(Relaxed),
            n.deferred.load(Relaxed),
            n.mirrored.load(Relaxed),
            n.partial.load(Relaxed),
            n.ended.load(Relaxed),
            n.per_io_sectors.load(Relaxed),
            n.ticks.load(Relaxed),
            n.leg_errors.load(Relaxed),
            n.presuspends.load(Relaxed),
            n.postsuspends.load(Relaxed),
            n.preresumes.load(Relaxed),
            n.resumes.load(Relaxed),
            n.crossed.load(Relaxed),
            n.own_done.load(Relaxed),
            n.own_errors.load(Relaxed),
            self.pmem.as_ref().map_or(0, |p| p.len()),
        );
    }

    fn count(&self, bio: &Bio<'_, Note>) {
        let n = &self.n;
        if bio.is_preflush() {
            n.flushes.fetch_add(1, Relaxed);
        }
        if bio.is_fua() {
            n.fua.fetch_add(1, Relaxed);
        }
        match bio.op() {
            Op::Read => n.reads.fetch_add(1, Relaxed),
            Op::Write => n.writes.fetch_add(1, Relaxed),
            Op::Discard => n.discards.fetch_add(1, Relaxed),
            _ => 0,
        };
    }

    /// The delayed work: runs in process context, so it may raise an event.
    fn on_tick(&self, ti: &TargetInfo<'_>) {
        self.n.ticks.fetch_add(1, Relaxed);
        pr_info!("rdm_test: tick\n");
        ti.raise_event();
    }

    /// A leg's clone completed: a failing mirror leg does not fail the
    /// write while the primary holds it (may run in interrupt context).
    fn leg_done(&self, leg: Leg, status: Result) -> Result {
        if status.is_err() {
            self.n.leg_errors.fetch_add(1, Relaxed);
            if leg.mirror {
                return Ok(());
            }
        }
        status
    }

    /// Writes to both legs as target-owned clones; the bio itself is only
    /// completed, once both clones are.
    fn map_owned_legs<'a>(
        &'a self,
        m: &'a Mirror,
        offset: u64,
        bio: Bio<'a, Note>,
        note: Note,
    ) -> Mapped<'a> {
        let primary = self.start.wrapping_add(offset);
        let bio = match self
            .legs
            .clone_bio(bio, &self.dev, primary, Leg { mirror: false })
        {
            Ok(bio) => bio,
            Err((bio, _)) => return bio.kill(),
        };
        let sector = m.start.wrapping_add(offset);
        let (bio, err) =
            match self
                .legs
                .clone_chained_bio(bio, &m.dev, sector, Leg { mirror: true })
            {
                Ok(bio) => (bio, Ok(())),
                Err((bio, _)) => (bio, Err(ENOMEM)),
            };
        self.n.mirrored.fetch_add(1, Relaxed);
        // The legs' parts decide; this one only fails if the mirror clone
        // could not be made.
        let (deferred, mapped) = bio.defer_with(note);
        deferred.end(err);
        mapped
    }

    /// Hands a spare device handle to the system workqueue for `ms`.
    /// Completes an own request; may run in interrupt context.
    fn own_done(&self, own: Own, buf: IoBuf, status: Result) {
        self.n.own_done.fetch_add(1, Relaxed);
        if status.is_err() {
            self.n.own_errors.fetch_add(1, Relaxed);
        }
        match own {
            Own::Wait(w) => {
                *w.result.lock() = Some((buf, status));
                w.done.complete_all();
            }
            Own::Async => pr_info!("rdm_test: own read done\n"),
        }
    }

    /// One own request, waited for.
    fn own_io(&self, op: IoOp, sector: u64, buf: IoBuf) -> Result<IoBuf> {
        let w = Arc::pin_init(
            pin_init!(OwnWait {
                done <- Completion::new(),
                result <- new_spinlock!(None),
            }),
            GFP_KERNEL,
        )?;
        self.own
            .submit(&self.dev, op, sector, buf, Own::Wait(w.clone()))
            .map_err(|(_, _, err)| err)?;
        w.done.wait_for_completion();
        let (buf, status) = w.result.lock().take().ok_or(EIO)?;
        status.map(|()| buf)
    }

    fn own_copy(&self, src: u64, dst: u64, sectors: u64) -> Result {
        let len = usize::try_from(sectors)
            .ok()
            .and_then(|n| n.checked_mul(512))
            .ok_or(EINVAL)?;
        let at = |s: u64| self.start.checked_add(s).ok_or(EINVAL);
        let read = self.own_io(IoOp::Read, at(src)?, IoBuf::new(len, GFP_KERNEL)?)?;
        let mut copy = IoBuf::new(len, GFP_KERNEL)?;
        let mut step = [0u8; 1000];
        let mut off = 0;
        while off < len {
            let n = step.len().min(len - off);
            read.read_at(off, &mut step[..n])?;
            copy.write_at(off, &step[..n])?;
            off += n;
        }
        drop(read);
        self.own_io(IoOp::Write, at(dst)?, copy)?;
        self.own_io(IoOp::Flush, 0, IoBuf::empty())?;
        Ok(())
    }

    /// The pmem mapping and the byte offset in it of `len` bytes at byte
    /// `off` of the target, if they lie inside the target.
    fn pmem_at(&self, ti: &TargetInfo<'_>, off: u64, len: u64) -> Result<(&Arc<PmemDev>, u64)> {
        let pmem = self.pmem.as_ref().ok_or(EINVAL)?;
        match off.checked_add(len) {
            Some(end) if end <= ti.len() << rdm::SECTOR_SHIFT => Ok((
                pmem,
                (self.start << rdm::SECTOR_SHIFT)
                    .checked_add(off)
                    .ok_or(EINVAL)?,
            )),
            _ => Err(EINVAL),
        }
    }

    fn hold_dev(&self, ms: u32) -> Result {
        let dev = self.spare.lock().take().ok_or(EBUSY)?;
        let holder = Arc::pin_init(
            pin_init!(Holder {
                dev,
                ms,
                work <- new_work!("rdm_test::hold_dev"),
            }),
            GFP_KERNEL,
        )?;
        // Freshly made, so it cannot be queued already. The system queue is
        // used on purpose, to hold the handle outside anything the target
        // owns; a real target keeps its work on its own `OwnedQueue`, which
        // is drained before the module can go (see Documentation/rdm.rst).
        let _ = workqueue::system().enqueue(holder);
        Ok(())
    }
}

/// `0` or `1` as a flag.
fn flag(v: &str) -> Result<bool> {
    match v {
        "0" => Ok(false),
        "1" => Ok(true),
        _ => Err(EINVAL),
    }
}

#[vtable]
impl Target for RdmTest {
    const NAME: &'static CStr = c"rdm_test";
    const VERSION: [u32; 3] = [0, 2, 0];
    const ACCOUNTS_REMAPPED_IO: bool = true;
    type PerIo = Note;

    fn ctr(
        ti: &mut TargetCtx<'_, Self>,
        args: &[&str],
    ) -> Result<impl PinInit<Self, CtrError>, CtrError> {
        const USAGE: &CStr = c"Usage: <dev_path> <offset> [<mirror_path> <mirror_offset>] \
            [max_io_len <sectors>]";
        let mut args = ArgSet::new(args);
        let path = args.next(USAGE)?;
        let start = parse_u64(args.next(USAGE)?).ok_or(c"Invalid offset")?;
        let rest = [
            args.shift(),
            args.shift(),
            args.shift(),
            args.shift(),
            args.shift(),
        ];
        let (mirror_args, max_io_len) = match rest {
            [None, ..] => (None, None),
            [Some("max_io_len"), Some(n), None, ..] => (None, Some(n)),
            [Some("max_io_len"), ..] => return Err(USAGE.into()),
            [Some(path), Some(start), None, ..] => (Some((path, start)), None),
            [Some(path), Some(start), Some("max_io_len"), Some(n), None] => {
                (Some((path, start)), Some(n))
            }
            _ => return Err(USAGE.into()),
        };
        let max_io_len = match max_io_len {
            None => 0,
            Some(n) => {
                let n = parse_u64(n)
                    .filter(|n| *n > 0)
                    .ok_or(c"Invalid max_io_len")?;
                ti.set_max_io_len(n).map_err(|err| CtrError {
                    msg: c"Invalid max_io_len",
                    err,
                })?;
                n
            }
        };
        let lookup = |err| CtrError {
            msg: c"Device lookup failed",
            err,
        };
        let dev = ti.get_device(path).map_err(lookup)?;
        let spare = ti.get_device(path).map_err(lookup)?;
        let mirror = match mirror_args {
            None => None,
            Some((path, start)) => Some(Mirror {
                start: parse_u64(start).ok_or(c"Invalid mirror offset")?,
                dev: ti.get_device(path).map_err(lookup)?,
                clones: BioSet::new().map_err(|_| CtrError::oom())?,
            }),
        };
        let deferred = Arc::pin_init(
            pin_init!(Deferred {
                bios <- new_spinlock!(BioList::new()),
                work <- new_work!("rdm_test::deferred"),
                absorb: AtomicBool::new(false),
                parts: AtomicU8::new(0),
                fail_part: AtomicBool::new(false),
            }),
            GFP_KERNEL,
        )
        .map_err(|_| CtrError::oom())?;
        let queue = OwnedQueue::new(c"rdm_test").map_err(|_| CtrError::oom())?;
        let tick = ti
            .delayed_work(Self::on_tick)
            .map_err(|_| CtrError::oom())?;
        let legs = ti.clone_pool(Self::leg_done).map_err(|_| CtrError::oom())?;
        let own = ti.io_pool(Self::own_done).map_err(|_| CtrError::oom())?;
        // Not DAX-capable (or not mappable) is fine: `pmem_*` then fail.
        let pmem = match PmemDev::new(ti.get_device(path).map_err(lookup)?) {
            Ok(pmem) => Some(Arc::new(pmem, GFP_KERNEL).map_err(|_| CtrError::oom())?),
            Err(_) => None,
        };
        ti.set_num_flush_bios(1);
        ti.set_num_discard_bios(1);
        // Flushes and discards reach the target whatever the devices below
        // support: a write-back cache needs both.
        ti.set_flush_supported();
        ti.set_discards_supported();
        Ok(try_pin_init!(Self {
            dev,
            start,
            mirror,
            max_io_len,
            spare <- new_spinlock!(Some(spare)),
            cfg <- new_spinlock!(Config::default()),
            swallow_errors: AtomicBool::new(false),
            deferred,
            queue,
            tick,
            legs,
            own,
            pmem,
            n: Counters::default(),
        }? CtrError))
    }

    fn map<'a>(&'a self, ti: &IoInfo<'a>, mut bio: Bio<'a, Note>) -> Mapped<'a> {
        self.count(&bio);
        let cfg = *self.cfg.lock();
        if cfg.split > 0 && cfg.split < bio.sectors() && bio.accept_partial(cfg.split).is_ok() {
            self.n.partial.fetch_add(1, Relaxed);
        }
        let offset = ti.offset(bio.sector());
        if self.max_io_len > 0
            && offset % self.max_io_len + u64::from(bio.sectors()) > self.max_io_len
        {
            self.n.crossed.fetch_add(1, Relaxed);
        }
        let note = Note {
            sectors: bio.sectors(),
        };
        if bio.op() == Op::Discard {
            // Completed by the work item without reaching the device.
            let (bio, mapped) = bio.defer_with(note);
            self.defer(bio);
            return mapped;
        }
        if let (true, Some(m), Op::Write, true) =
            (cfg.owned_legs, &self.mirror, bio.op(), bio.sectors() > 0)
        {
            return self.map_owned_legs(m, offset, bio, note);
        }
        bio.set_dev(&self.dev);
        if bio.sectors() > 0 {
            bio.set_sector(self.start.wrapping_add(offset));
        }
        let (Some(m), Op::Write) = (&self.mirror, bio.op()) else {
            return if cfg.defer {
                let (bio, mapped) = bio.defer_with(note);
                self.defer(bio);
                mapped
            } else {
                bio.remap_with(note)
            };
        };
        // Every write, empty flushes included, also goes to the mirror.
        let sector = if bio.sectors() > 0 {
            m.start.wrapping_add(offset)
        } else {
            0
        };
        let bio = match bio.clone_chained(&m.dev, sector, &m.clones) {
            Ok(bio) => bio,
            Err(bio) => return bio.kill(),
        };
        self.n.mirrored.fetch_add(1, Relaxed);
        if cfg.defer {
            let (bio, mapped) = bio.defer_with(note);
            self.defer(bio);
            mapped
        } else {
            bio.remap_with(note)
        }
    }

    fn end_io(
        &self,
        _ti: &IoInfo<'_>,
        _bio: &EndingBio<'_>,
        note: Note,
        status: &mut BlkStatus<'_>,
    ) -> EndIo {
        self.n.ended.fetch_add(1, Relaxed);
        self.n
            .per_io_sectors
            .fetch_add(u64::from(note.sectors), Relaxed);
        if !status.is_ok() {
            self.n.errors.fetch_add(1, Relaxed);
            if self.swallow_errors.load(Relaxed) {
                self.n.swallowed.fetch_add(1, Relaxed);
                status.set(Ok(()));
            }
        }
        EndIo::Done
    }

    fn status(&self, _ti: &TargetInfo<'_>, ty: StatusType, out: &mut StatusWriter<'_>) {
        match ty {
            StatusType::Info => self.write_counters(out),
            StatusType::Table => {
                let _ = write!(out, "{} {}", self.dev.name(), self.start);
                if let Some(m) = &self.mirror {
                    let _ = write!(out, " {} {}", m.dev.name(), m.start);
                }
                if self.max_io_len > 0 {
                    let _ = write!(out, " max_io_len {}", self.max_io_len);
                }
            }
            StatusType::Ima => {}
        }
    }

    fn message(&self, ti: &TargetInfo<'_>, args: &[&str], out: &mut StatusWriter<'_>) -> Result {
        let d = &self.deferred;
        match args {
            ["stats"] => self.write_counters(out),
            ["swallow_errors", v] => self.swallow_errors.store(flag(v)?, Relaxed),
            ["event"] => ti.raise_event(),
            ["defer", v] => self.cfg.lock().defer = flag(v)?,
            ["owned_legs", v] => self.cfg.lock().owned_legs = flag(v)?,
            ["absorb", v] => d.absorb.store(flag(v)?, Relaxed),
            ["fail_part", v] => d.fail_part.store(flag(v)?, Relaxed),
            ["parts", v] => match parse_u64(v) {
                Some(n @ 0..=4) => d.parts.store(n as u8, Relaxed),
                _ => return Err(EINVAL),
            },
            ["split", v] => {
                let v = parse_u64(v).ok_or(EINVAL)?;
                self.cfg.lock().split = u32::try_from(v).map_err(|_| EINVAL)?;
            }
            ["tick", ms] => {
                let ms = parse_u64(ms).ok_or(EINVAL)?;
                self.tick
                    .schedule(u32::try_from(ms.min(60_000)).map_err(|_| EINVAL)?);
            }
            ["own_copy", src, dst, n] => {
                let arg = |v: &str| parse_u64(v).ok_or(EINVAL);
                self.own_copy(arg(src)?, arg(dst)?, arg(n)?)?;
            }
            ["own_read_async", sector] => {
                let sector = parse_u64(sector)
                    .and_then(|s| self.start.checked_add(s))
                    .ok_or(EINVAL)?;
                let buf = IoBuf::new(4096, GFP_KERNEL)?;
                self.own
                    .submit(&self.dev, IoOp::Read, sector, buf, Own::Async)
                    .map_err(|(_, _, err)| err)?;
            }
            ["pmem_write", off, byte, len] => {
                let (off, len) = (parse_u64(off).ok_or(EINVAL)?, parse_u64(len).ok_or(EINVAL)?);
                let byte = u8::try_from(parse_u64(byte).ok_or(EINVAL)?).map_err(|_| EINVAL)?;
                let buf = [byte; 4096];
                let src = buf.get(..usize::try_from(len)?).ok_or(EINVAL)?;
                let (pmem, at) = self.pmem_at(ti, off, len)?;
                let mut w = pmem.writes()?;
                w.write(at, src)?;
                w.persist();
            }
            ["pmem_read", off, len] => {
                let (off, len) = (parse_u64(off).ok_or(EINVAL)?, parse_u64(len).ok_or(EINVAL)?);
                let mut buf = [0u8; 64];
                let dst = buf.get_mut(..usize::try_from(len)?).ok_or(EINVAL)?;
                let (pmem, at) = self.pmem_at(ti, off, len)?;
                pmem.read(at, dst)?;
                for b in dst.iter() {
                    let _ = write!(out, "{b:02x}");
                }
            }
            [dir @ ("pmem_send" | "pmem_recv"), off, len, sector] => {
                let (off, len) = (parse_u64(off).ok_or(EINVAL)?, parse_u64(len).ok_or(EINVAL)?);
                let sector = parse_u64(sector).ok_or(EINVAL)?;
                let (pmem, at) = self.pmem_at(ti, off, len)?;
                let buf = pmem.write_source(at, usize::try_from(len)?)?;
                let op = if *dir == "pmem_send" {
                    IoOp::Write
                } else {
                    IoOp::Read
                };
                let to = self.start.checked_add(sector).ok_or(EINVAL)?;
                self.own_io(op, to, buf)?;
            }
            ["hold_dev", ms] => {
                let ms = parse_u64(ms).ok_or(EINVAL)?;
                self.hold_dev(u32::try_from(ms.min(60_000)).map_err(|_| EINVAL)?)?;
            }
            _ => return Err(EINVAL),
        }
        Ok(())
    }

    fn iterate_devices(&self, ti: &TargetInfo<'_>, it: &mut DevIter<'_>) -> i32 {
        match it.visit(&self.dev, self.start, ti.len()) {
            0 => match &self.mirror {
                Some(m) => it.visit(&m.dev, m.start, ti.len()),
                None => 0,
            },
            stop => stop,
        }
    }

    fn presuspend(&self, _ti: &TargetInfo<'_>) {
        self.n.presuspends.fetch_add(1, Relaxed);
    }

    fn presuspend_undo(&self, _ti: &TargetInfo<'_>) {
        self.n.presuspends.fetch_sub(1, Relaxed);
    }

    fn postsuspend(&self, _ti: &TargetInfo<'_>) {
        self.n.postsuspends.fetch_add(1, Relaxed);
    }

    fn preresume(&self, _ti: &TargetInfo<'_>) -> Result {
        self.n.preresumes.fetch_add(1, Relaxed);
        Ok(())
    }

    fn resume(&self, _ti: &TargetInfo<'_>) {
        self.n.resumes.fetch_add(1, Relaxed);
    }

    fn stopped(&self, _ti: &TargetInfo<'_>) {
        pr_info!(
            "rdm_test: stopped after {} ticks\n",
            self.n.ticks.load(Relaxed)
        );
    }
}

impl RdmTest {
    fn defer(&self, bio: rdm::DeferredBio) {
        self.n.deferred.fetch_add(1, Relaxed);
        self.deferred.bios.lock().push(bio);
        // Already queued is fine: the pending run will take this bio too.
        let _ = self.queue.enqueue(self.deferred.clone());
    }
}
