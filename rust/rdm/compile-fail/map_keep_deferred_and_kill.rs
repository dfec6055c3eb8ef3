// expect: E0382
//
// Hole 1: a bio kept as deferred cannot also be killed (double completion).

#[allow(unused_imports)]
use super::rdm::{
    Bio, BlkStatus, CtrError, EndIo, EndingBio, IoInfo, Mapped, Target, TargetCtx, TargetInfo,
};
use kernel::prelude::*;

super::fixture::case_target! {
    fn map<'a>(&'a self, _ti: &IoInfo<'a>, bio: Bio<'a>) -> Mapped<'a> {
        let (deferred, _submitted) = bio.defer();
        self.fx.queue.flush();
        core::mem::forget(deferred);
        bio.kill()
    }
}
