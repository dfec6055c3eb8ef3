// expect: compiles
//
// The control case: a target that uses every piece the other cases misuse,
// correctly. It must build, so a failing case fails for its own reason, not
// because the harness or the fixture is broken.

use super::fixture::Fx;
use super::rdm::{
    BlkStatus, CtrError, EndIo, EndingBio, IoInfo, Mapped, Op, Target, TargetCtx, TargetInfo,
};
use kernel::prelude::*;

/// Per-bio data: what end_io needs, recorded at map time.
struct Note {
    sectors: u32,
}

#[pin_data]
struct Good {
    #[pin]
    fx: Fx,
    tick: super::rdm::DelayedWork,
    legs: super::rdm::ClonePool<u8>,
    fills: super::rdm::ClonePool<()>,
    reads: super::rdm::ClonePool<u8>,
    sync: super::rdm::SyncIo,
}

impl Good {
    fn leg_done(&self, _leg: u8, status: Result) -> Result {
        status
    }

    /// A process-context completion reads what the clone carried.
    fn fill_done(&self, (): (), status: Result, data: &super::rdm::CloneData<'_>) -> Result {
        use super::rdm::BioData;
        if data.data_len() == 0 {
            return Err(EIO);
        }
        status
    }

    fn read_first(&self, tries: u8, status: Result) -> super::rdm::CloneEnd<u8> {
        match status {
            Ok(()) => super::rdm::CloneEnd::Done(Ok(())),
            Err(_) => super::rdm::CloneEnd::Recover(tries),
        }
    }

    /// A recovery retries on a device of the target's, after its own
    /// synchronous I/O.
    fn read_recover<'t>(
        &'t self,
        tries: u8,
        status: Result,
        _data: &super::rdm::CloneData<'_>,
    ) -> super::rdm::Recovery<'t, u8> {
        if tries > 2 {
            return super::rdm::Recovery::Done(status);
        }
        if let Ok(mut buf) = super::rdm::IoBuf::new(512, GFP_KERNEL) {
            let _ = self
                .sync
                .io(&self.fx.dev, super::rdm::IoOp::Read, 0, &mut buf);
        }
        super::rdm::Recovery::Retry(&self.fx.dev, 0, tries + 1)
    }

    fn on_tick(&self, ti: &TargetInfo<'_>) {
        ti.raise_event();
        self.tick.schedule(1000);
    }
}

#[vtable]
impl Target for Good {
    const NAME: &'static CStr = c"cf_good";
    const VERSION: [u32; 3] = [0, 0, 0];
    type PerIo = Note;

    fn ctr(
        ti: &mut TargetCtx<'_, Self>,
        _args: &[&str],
    ) -> Result<impl PinInit<Self, CtrError>, CtrError> {
        let tick = ti
            .delayed_work(Self::on_tick)
            .map_err(|_| CtrError::oom())?;
        let legs = ti.clone_pool(Self::leg_done).map_err(|_| CtrError::oom())?;
        let fills = ti
            .clone_pool_task(Self::fill_done)
            .map_err(|_| CtrError::oom())?;
        let reads = ti
            .clone_pool_recover(Self::read_first, Self::read_recover)
            .map_err(|_| CtrError::oom())?;
        let sync = super::rdm::SyncIo::new().map_err(|_| CtrError::oom())?;
        let fx = Fx::new(ti)?;
        Ok(try_pin_init!(Self { fx <- fx, tick, legs, fills, reads, sync }? CtrError))
    }

    fn map<'a>(&'a self, _ti: &IoInfo<'a>, mut bio: super::rdm::Bio<'a, Note>) -> Mapped<'a> {
        let fx = &self.fx;
        let note = Note {
            sectors: bio.sectors(),
        };
        match bio.op() {
            Op::Read => bio.submit_encrypted_with(&fx.keyed, 0, note),
            Op::Write => match bio.clone_chained(&fx.dev, 0, &fx.bs) {
                Ok(mut chained) => {
                    chained.set_dev(&fx.dev);
                    let (deferred, mapped) = chained.defer_with(note);
                    deferred.end(Ok(()));
                    mapped
                }
                Err(bio) => bio.kill(),
            },
            Op::Other if note.sectors > 8 => match self.reads.clone_bio(bio, &fx.dev, 0, 0) {
                Ok(chained) => {
                    let (deferred, mapped) = chained.defer_with(note);
                    deferred.end(Ok(()));
                    mapped
                }
                Err((bio, _)) => bio.kill(),
            },
            Op::Discard if note.sectors > 8 => {
                match self
                    .fills
                    .clone_range_bounced(bio, &fx.dev, 0, (0, 512), ())
                {
                    Ok(chained) => {
                        let (deferred, mapped) = chained.defer_with(note);
                        deferred.end(Ok(()));
                        mapped
                    }
                    Err((bio, ())) => bio.kill(),
                }
            }
            Op::Discard => match self.fills.clone_range(bio, &fx.dev, 0, (0, 512), ()) {
                Ok(chained) => {
                    let (deferred, mapped) = chained.defer_with(note);
                    deferred.end(Ok(()));
                    mapped
                }
                Err((bio, ())) => bio.requeue(),
            },
            Op::Flush => match self.legs.clone_bio(bio, &fx.dev, 0, 1) {
                Ok(mut chained) => {
                    chained.set_dev(&fx.dev);
                    chained.remap_with(note)
                }
                Err((bio, _leg)) => bio.kill(),
            },
            _ => {
                bio.set_dev(&fx.dev);
                bio.remap_with(note)
            }
        }
    }

    fn end_io(
        &self,
        _ti: &IoInfo<'_>,
        bio: &EndingBio<'_>,
        note: Note,
        status: &mut BlkStatus<'_>,
    ) -> EndIo {
        if bio.op() == Op::Read && note.sectors > 0 && !status.is_ok() {
            status.set(Err(EIO));
        }
        EndIo::Done
    }

    fn message(
        &self,
        ti: &TargetInfo<'_>,
        _args: &[&str],
        _out: &mut super::rdm::StatusWriter<'_>,
    ) -> Result {
        ti.raise_event();
        Ok(())
    }
}
