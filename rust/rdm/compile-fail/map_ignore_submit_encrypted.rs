// expect: E0382
//
// Hole 1: submit_encrypted's outcome cannot be ignored for another one.

#[allow(unused_imports)]
use super::rdm::{
    Bio, BlkStatus, CtrError, EndIo, EndingBio, IoInfo, Mapped, Target, TargetCtx, TargetInfo,
};
use kernel::prelude::*;

super::fixture::case_target! {
    fn map<'a>(&'a self, _ti: &IoInfo<'a>, bio: Bio<'a>) -> Mapped<'a> {
        let _ = bio.submit_encrypted(&self.fx.keyed, 0);
        bio.remap()
    }
}
