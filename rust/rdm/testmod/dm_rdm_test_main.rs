// SPDX-License-Identifier: GPL-2.0

//! `rdm_test`: a linear target that exercises every optional hook of the rdm
//! layer, for selftests/rdm. Not for production use.
//!
//! Table: `<dev_path> <offset> [<mirror_path> <mirror_offset>]`; with a
//! mirror, writes are also cloned to it (`Bio::clone_chained`). Status (INFO) and `dmsetup message <dev> 0
//! stats` print its counters; `dmsetup message <dev> 0 swallow_errors <0|1>`
//! makes `end_io` complete failed bios successfully, which shows that the
//! layer hands `end_io` the real status and honours a changed one;
//! `dmsetup message <dev> 0 defer <0|1>` makes `map` take every bio over and
//! submit it later from the target's own workqueue (`DeferredBio`);
//! `dmsetup message <dev> 0 event` raises a dm event.

// Target code is safe Rust: `unsafe` and FFI live in the rdm layer only.
#![deny(unsafe_code)]

use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use kernel::prelude::*;
use kernel::sync::{new_spinlock, Arc, SpinLock};
use kernel::workqueue::{impl_has_work, new_work, Work, WorkItem};

#[path = "../mod.rs"]
#[expect(
    unsafe_code,
    reason = "the rdm layer holds all of the crate's unsafe code"
)]
// Each target uses a different part of the shared layer.
#[allow(dead_code, unused_imports)]
mod rdm;

use rdm::args::{parse_u64, ArgSet};
use rdm::workqueue::OwnedQueue;
use rdm::{
    Bio, BioSet, BlkStatus, CtrError, DeferredBio, DevIter, DmDev, EndIo, MapResult, Op,
    Registration, StatusType, StatusWriter, Target, TargetCtx, TargetInfo,
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
    errors: AtomicU64,
    swallowed: AtomicU64,
    deferred: AtomicU64,
    mirrored: AtomicU64,
    presuspends: AtomicU64,
    postsuspends: AtomicU64,
    resumes: AtomicU64,
}

/// Bios `map` took over, waiting for the work item to submit them.
#[pin_data]
struct Deferred {
    #[pin]
    bios: SpinLock<KVec<DeferredBio>>,
    #[pin]
    work: Work<Deferred>,
}

impl_has_work! {
    impl HasWork<Self> for Deferred { self.work }
}

impl WorkItem for Deferred {
    type Pointer = Arc<Deferred>;

    fn run(this: Arc<Deferred>) {
        // Submit outside the lock; map may be adding more meanwhile, and
        // queues the work again for those.
        let bios = core::mem::replace(&mut *this.bios.lock(), KVec::new());
        for bio in bios {
            bio.submit_remapped();
        }
    }
}

/// A second leg that receives a copy of every write.
struct Mirror {
    dev: DmDev,
    start: u64,
    clones: BioSet,
}

struct RdmTest {
    dev: DmDev,
    start: u64,
    mirror: Option<Mirror>,
    swallow_errors: AtomicBool,
    defer: AtomicBool,
    deferred: Arc<Deferred>,
    /// Dropped with the target: drains the work before the module can go.
    queue: OwnedQueue,
    n: Counters,
}

impl RdmTest {
    fn write_counters(&self, out: &mut StatusWriter<'_>) {
        let n = &self.n;
        let _ = write!(
            out,
            "reads {} writes {} flushes {} fua {} errors {} swallowed {} deferred {} mirrored {} presuspends {} postsuspends {} resumes {}",
            n.reads.load(Relaxed),
            n.writes.load(Relaxed),
            n.flushes.load(Relaxed),
            n.fua.load(Relaxed),
            n.errors.load(Relaxed),
            n.swallowed.load(Relaxed),
            n.deferred.load(Relaxed),
            n.mirrored.load(Relaxed),
            n.presuspends.load(Relaxed),
            n.postsuspends.load(Relaxed),
            n.resumes.load(Relaxed),
        );
    }
}

#[vtable]
impl Target for RdmTest {
    const NAME: &'static CStr = c"rdm_test";
    const VERSION: [u32; 3] = [0, 1, 0];

    fn ctr(ti: &mut TargetCtx<'_>, args: &[&str]) -> Result<KBox<Self>, CtrError> {
        const USAGE: &CStr = c"Usage: <dev_path> <offset> [<mirror_path> <mirror_offset>]";
        let mut args = ArgSet::new(args);
        let path = args.next(USAGE)?;
        let start = parse_u64(args.next(USAGE)?).ok_or(c"Invalid offset")?;
        let mirror_args = match args.len() {
            0 => None,
            2 => Some((args.next(USAGE)?, args.next(USAGE)?)),
            _ => return Err(USAGE.into()),
        };
        let oom = |_| CtrError {
            msg: c"Out of memory",
            err: ENOMEM,
        };
        let lookup = |err| CtrError {
            msg: c"Device lookup failed",
            err,
        };
        let dev = ti.get_device(path).map_err(lookup)?;
        let mirror = match mirror_args {
            None => None,
            Some((path, start)) => Some(Mirror {
                start: parse_u64(start).ok_or(c"Invalid mirror offset")?,
                dev: ti.get_device(path).map_err(lookup)?,
                clones: BioSet::new().map_err(oom)?,
            }),
        };
        let deferred = Arc::pin_init(
            pin_init!(Deferred {
                bios <- new_spinlock!(KVec::new()),
                work <- new_work!("rdm_test::deferred"),
            }),
            GFP_KERNEL,
        )
        .map_err(oom)?;
        let queue = OwnedQueue::new(c"rdm_test").map_err(oom)?;
        ti.set_num_flush_bios(1);
        ti.set_accounts_remapped_io();
        KBox::new(
            Self {
                dev,
                start,
                mirror,
                swallow_errors: AtomicBool::new(false),
                defer: AtomicBool::new(false),
                deferred,
                queue,
                n: Counters::default(),
            },
            GFP_KERNEL,
        )
        .map_err(|_| CtrError {
            msg: c"Out of memory",
            err: ENOMEM,
        })
    }

    fn map(&self, ti: &TargetInfo<'_>, mut bio: Bio<'_>) -> MapResult {
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
            _ => 0,
        };
        let offset = ti.offset(bio.sector());
        if let (Some(m), Op::Write) = (&self.mirror, bio.op()) {
            // Every write, empty flushes included, also goes to the mirror.
            let sector = if bio.sectors() > 0 {
                m.start.wrapping_add(offset)
            } else {
                0
            };
            if bio.clone_chained(&m.dev, sector, &m.clones).is_err() {
                return MapResult::Kill;
            }
            n.mirrored.fetch_add(1, Relaxed);
        }
        bio.set_dev(&self.dev);
        if bio.sectors() > 0 {
            bio.set_sector(self.start.wrapping_add(offset));
        }
        if !self.defer.load(Relaxed) {
            return MapResult::Remapped;
        }
        let (bio, result) = bio.defer();
        n.deferred.fetch_add(1, Relaxed);
        // On allocation failure the bio is dropped, which fails it.
        let _ = self.deferred.bios.lock().push(bio, GFP_ATOMIC);
        // Already queued is fine: the pending run will take this bio too.
        let _ = self.queue.queue().enqueue(self.deferred.clone());
        result
    }

    fn end_io(&self, _ti: &TargetInfo<'_>, _bio: &Bio<'_>, status: &mut BlkStatus<'_>) -> EndIo {
        if !status.is_ok() {
            self.n.errors.fetch_add(1, Relaxed);
            if self.swallow_errors.load(Relaxed) {
                self.n.swallowed.fetch_add(1, Relaxed);
                status.set_ok();
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
            }
            StatusType::Ima => {}
        }
    }

    fn message(&self, ti: &TargetInfo<'_>, args: &[&str], out: &mut StatusWriter<'_>) -> Result {
        match args {
            ["stats"] => {
                self.write_counters(out);
                Ok(())
            }
            ["swallow_errors", v @ ("0" | "1")] => {
                self.swallow_errors.store(*v == "1", Relaxed);
                Ok(())
            }
            ["event"] => {
                ti.raise_event();
                Ok(())
            }
            ["defer", v @ ("0" | "1")] => {
                self.defer.store(*v == "1", Relaxed);
                Ok(())
            }
            _ => Err(EINVAL),
        }
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

    fn postsuspend(&self, _ti: &TargetInfo<'_>) {
        self.n.postsuspends.fetch_add(1, Relaxed);
    }

    fn resume(&self, _ti: &TargetInfo<'_>) {
        self.n.resumes.fetch_add(1, Relaxed);
    }
}
