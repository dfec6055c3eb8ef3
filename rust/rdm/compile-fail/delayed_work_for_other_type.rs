// expect: E0308
//
// Delayed work runs its function with the target object the layer holds:
// the function must take that very type, not another target's.

use super::fixture::Fx;
use super::rdm::{Bio, CtrError, IoInfo, Mapped, Target, TargetCtx, TargetInfo};
use kernel::prelude::*;

#[pin_data]
struct Case {
    #[pin]
    fx: Fx,
}

struct Other;

impl Other {
    fn run(&self, _ti: &TargetInfo<'_>) {}
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
        let _work = ti.delayed_work(Other::run).map_err(|_| CtrError::oom())?;
        let fx = Fx::new(ti)?;
        Ok(try_pin_init!(Self { fx <- fx }? CtrError))
    }

    fn map<'a>(&'a self, _ti: &IoInfo<'a>, bio: Bio<'a>) -> Mapped<'a> {
        bio.remap()
    }
}
