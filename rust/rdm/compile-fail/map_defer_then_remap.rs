// expect: E0382
//
// Hole 1: a bio deferred (and its DeferredBio dropped, which ends it) cannot
// also be returned as remapped: dm core would submit a completed bio.

#[allow(unused_imports)]
use super::rdm::{
    Bio, BlkStatus, CtrError, EndIo, EndingBio, IoInfo, Mapped, Target, TargetCtx, TargetInfo,
};
use kernel::prelude::*;

super::fixture::case_target! {
    fn map<'a>(&'a self, _ti: &IoInfo<'a>, bio: Bio<'a>) -> Mapped<'a> {
        let (deferred, _submitted) = bio.defer();
        drop(deferred);
        bio.remap()
    }
}
