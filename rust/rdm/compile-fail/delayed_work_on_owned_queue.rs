// expect: E0624
//
// Hole 3: the owned queue does not hand out the kernel crate's `Queue`,
// whose `enqueue_delayed` would leave a timer behind destroy_workqueue().

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

    fn message(
        &self,
        _ti: &TargetInfo<'_>,
        _args: &[&str],
        _out: &mut super::rdm::StatusWriter<'_>,
    ) -> Result {
        let _q: &kernel::workqueue::Queue = self.fx.queue.queue();
        Ok(())
    }
}
