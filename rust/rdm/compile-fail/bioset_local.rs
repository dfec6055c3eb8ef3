// expect: does not live long enough
//
// Hole 2: a bio_set made and dropped inside map cannot serve a clone that
// is still in flight.

#[allow(unused_imports)]
use super::rdm::{
    Bio, BlkStatus, CtrError, EndIo, EndingBio, IoInfo, Mapped, Target, TargetCtx, TargetInfo,
};
use kernel::prelude::*;

super::fixture::case_target! {
    fn map<'a>(&'a self, _ti: &IoInfo<'a>, bio: Bio<'a>) -> Mapped<'a> {
        let Ok(bs) = super::rdm::BioSet::new() else {
            return bio.kill();
        };
        match bio.clone_chained(&self.fx.dev, 0, &bs) {
            Ok(chained) => chained.remap(),
            Err(bio) => bio.kill(),
        }
    }
}
