// expect: no method named `kill` found
//
// Hole 1: once a chained clone is in flight, the bio cannot be killed (dm core
// would free it under the clone).

#[allow(unused_imports)]
use super::rdm::{
    Bio, BlkStatus, CtrError, EndIo, EndingBio, IoInfo, Mapped, Target, TargetCtx, TargetInfo,
};
use kernel::prelude::*;

super::fixture::case_target! {
    fn map<'a>(&'a self, _ti: &IoInfo<'a>, bio: Bio<'a>) -> Mapped<'a> {
        match bio.clone_chained(&self.fx.dev, 0, &self.fx.bs) {
            Ok(chained) => chained.kill(),
            Err(bio) => bio.kill(),
        }
    }
}
