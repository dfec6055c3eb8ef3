// expect: no method named `set_accounts_remapped_io`
//
// Hole 4: accounting of deferred bios is a constant of the target type
// (`ACCOUNTS_REMAPPED_IO`), from which the layer picks the submission call;
// there is no run-time switch to get out of step with it.

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
}

#[allow(dead_code)]
fn switch(ti: &mut TargetCtx<'_, Case>) {
    ti.set_accounts_remapped_io();
}
