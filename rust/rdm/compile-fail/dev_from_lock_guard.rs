// expect: does not live long enough
//
// Hole 2: nor can a device handle lent from a lock guard.

#[allow(unused_imports)]
use super::rdm::{
    Bio, BlkStatus, CtrError, EndIo, EndingBio, IoInfo, Mapped, Target, TargetCtx, TargetInfo,
};
use kernel::prelude::*;

super::fixture::case_target! {
    fn map<'a>(&'a self, _ti: &IoInfo<'a>, mut bio: Bio<'a>) -> Mapped<'a> {
        let guard = self.fx.locked.lock();
        if let Some((dev, _)) = &*guard {
            bio.set_dev(dev);
        }
        drop(guard);
        bio.remap()
    }
}
