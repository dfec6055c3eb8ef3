// expect: no method named `requeue` found
//
// Hole 1: nor requeued.

#[allow(unused_imports)]
use super::rdm::{
    Bio, BlkStatus, CtrError, EndIo, EndingBio, IoInfo, Mapped, Target, TargetCtx, TargetInfo,
};
use kernel::prelude::*;

super::fixture::case_target! {
    fn map<'a>(&'a self, _ti: &IoInfo<'a>, bio: Bio<'a>) -> Mapped<'a> {
        match bio.clone_chained(&self.fx.dev, 0, &self.fx.bs) {
            Ok(chained) => chained.requeue(),
            Err(bio) => bio.kill(),
        }
    }
}
