// expect: no method named `set_dev` found
//
// Hole 2: a deferred bio is remapped in map, where the device is borrowed for
// the target's lifetime, not later from wherever the deferred bio went.

#[allow(unused_imports)]
use super::rdm::{
    Bio, BlkStatus, CtrError, EndIo, EndingBio, IoInfo, Mapped, Target, TargetCtx, TargetInfo,
};
use kernel::prelude::*;

super::fixture::case_target! {
    fn map<'a>(&'a self, _ti: &IoInfo<'a>, bio: Bio<'a>) -> Mapped<'a> {
        let (mut deferred, mapped) = bio.defer();
        deferred.set_dev(&self.fx.dev);
        deferred.submit();
        mapped
    }
}
