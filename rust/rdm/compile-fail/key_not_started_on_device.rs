// expect: E0308
//
// Hole 2: a bare key (not started on the device the bio goes to) cannot
// encrypt a bio.

#[allow(unused_imports)]
use super::rdm::{
    Bio, BlkStatus, CtrError, EndIo, EndingBio, IoInfo, Mapped, Target, TargetCtx, TargetInfo,
};
use kernel::prelude::*;

super::fixture::case_target! {
    fn map<'a>(&'a self, _ti: &IoInfo<'a>, bio: Bio<'a>) -> Mapped<'a> {
        bio.submit_encrypted(self.fx.keyed.key(), 0)
    }
}
