// expect: no method named `sector` found
//
// Hole 6: a completing bio's iterator has been advanced: end_io cannot read
// its sector (record it in the per-bio data at map time).

use super::fixture::Fx;
#[allow(unused_imports)]
use super::rdm::{
    Bio, BlkStatus, CtrError, EndIo, EndingBio, IoInfo, Mapped, Target, TargetCtx, TargetInfo,
};
use kernel::prelude::*;

#[pin_data]
struct Case {
    #[pin]
    fx: Fx,
}

#[vtable]
impl Target for Case {
    const NAME: &'static CStr = c"cf_case";
    const VERSION: [u32; 3] = [0, 0, 0];
    type PerIo = ();

    fn ctr(
        ti: &mut TargetCtx<'_, Self>,
        _args: &[&str],
    ) -> Result<impl PinInit<Self, CtrError>, CtrError> {
        let fx = Fx::new(ti)?;
        Ok(try_pin_init!(Self { fx <- fx }? CtrError))
    }

    fn map<'a>(&'a self, _ti: &IoInfo<'a>, bio: Bio<'a>) -> Mapped<'a> {
        bio.remap()
    }

    fn end_io(
        &self,
        _ti: &IoInfo<'_>,
        bio: &EndingBio<'_>,
        _per_io: (),
        _status: &mut BlkStatus<'_>,
    ) -> EndIo {
        let _ = bio.sector();
        EndIo::Done
    }
}
