// expect: E0624
//
// Hole 3: the owned queue does not hand out the kernel crate's `Queue`,
// whose `enqueue_delayed` would leave a timer behind destroy_workqueue().

#[allow(unused_imports)]
use super::rdm::{
    Bio, BlkStatus, CtrError, EndIo, EndingBio, IoInfo, Mapped, Target, TargetCtx, TargetInfo,
};
use kernel::prelude::*;

super::fixture::case_target! {
    @remap
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
