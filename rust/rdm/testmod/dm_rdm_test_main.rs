// SPDX-License-Identifier: GPL-2.0

//! `rdm_test`: a linear target that exercises every optional hook of the rdm
//! layer, for selftests/rdm. Not for production use.
//!
//! Table: `<dev_path> <offset>`. Status (INFO) and `dmsetup message <dev> 0
//! stats` print its counters; `dmsetup message <dev> 0 swallow_errors <0|1>`
//! makes `end_io` complete failed bios successfully, which shows that the
//! layer hands `end_io` the real status and honours a changed one.

use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use kernel::prelude::*;

#[path = "../mod.rs"]
// Each target uses a different part of the shared layer.
#[allow(dead_code, unused_imports)]
mod rdm;

use rdm::args::{parse_u64, ArgSet};
use rdm::{
    Bio, BlkStatus, CtrError, DevIter, DmDev, EndIo, MapResult, Op, Registration, StatusType,
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
    errors: AtomicU64,
    swallowed: AtomicU64,
    presuspends: AtomicU64,
    postsuspends: AtomicU64,
    resumes: AtomicU64,
}

struct RdmTest {
    dev: DmDev,
    start: u64,
    swallow_errors: AtomicBool,
    n: Counters,
}

impl RdmTest {
    fn write_counters(&self, out: &mut StatusWriter<'_>) {
        let n = &self.n;
        let _ = write!(
            out,
            "reads {} writes {} flushes {} fua {} errors {} swallowed {} presuspends {} postsuspends {} resumes {}",
            n.reads.load(Relaxed),
            n.writes.load(Relaxed),
            n.flushes.load(Relaxed),
            n.fua.load(Relaxed),
            n.errors.load(Relaxed),
            n.swallowed.load(Relaxed),
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
        let mut args = ArgSet::new(args);
        let path = args.next(c"Usage: <dev_path> <offset>")?;
        let start =
            parse_u64(args.next(c"Usage: <dev_path> <offset>")?).ok_or(c"Invalid offset")?;
        if args.len() > 0 {
            return Err(c"Too many arguments".into());
        }
        let dev = ti.get_device(path).map_err(|err| CtrError {
            msg: c"Device lookup failed",
            err,
        })?;
        ti.set_num_flush_bios(1);
        KBox::new(
            Self {
                dev,
                start,
                swallow_errors: AtomicBool::new(false),
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
        bio.set_dev(&self.dev);
        if bio.sectors() > 0 {
            let offset = ti.offset(bio.sector());
            bio.set_sector(self.start.wrapping_add(offset));
        }
        MapResult::Remapped
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
            }
            StatusType::Ima => {}
        }
    }

    fn message(&self, _ti: &TargetInfo<'_>, args: &[&str], out: &mut StatusWriter<'_>) -> Result {
        match args {
            ["stats"] => {
                self.write_counters(out);
                Ok(())
            }
            ["swallow_errors", v @ ("0" | "1")] => {
                self.swallow_errors.store(*v == "1", Relaxed);
                Ok(())
            }
            _ => Err(EINVAL),
        }
    }

    fn iterate_devices(&self, ti: &TargetInfo<'_>, it: &mut DevIter<'_>) -> i32 {
        it.visit(&self.dev, self.start, ti.len())
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
