// expect: lifetime may not live long enough
//
// Hole 1: the outcome of one map call cannot be passed off as another's: its
// lifetime is invariant, so it cannot even be shortened.

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

// Invariance: not even a shorter lifetime (which a covariant type allows).
#[allow(dead_code)]
fn keep<'a: 'b, 'b>(m: Mapped<'a>) -> Mapped<'b> {
    m
}
