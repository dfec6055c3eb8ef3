// expect: no method named `sector` found
//
// Hole 6: a completing bio's iterator has been advanced: end_io cannot read
// its sector (record it in the per-bio data at map time).

#[allow(unused_imports)]
use super::rdm::{
    Bio, BlkStatus, CtrError, EndIo, EndingBio, IoInfo, Mapped, Target, TargetCtx, TargetInfo,
};
use kernel::prelude::*;

super::fixture::case_target! {
    @remap
    fn end_io(
        &self,
        _ti: &IoInfo<'_>,
        bio: &EndingBio<'_>,
        _per_io: (),
        _status: &mut BlkStatus<'_>,
    ) -> EndIo {
        let _ = bio.sector();
        EndIo::Done
    }
}
