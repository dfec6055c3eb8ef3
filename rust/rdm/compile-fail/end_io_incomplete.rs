// expect: no variant, associated function, or constant named `Incomplete`
//
// Hole 6: end_io cannot keep a bio it has no way to finish (a device would
// hang on suspend).

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
        _bio: &EndingBio<'_>,
        _per_io: (),
        _status: &mut BlkStatus<'_>,
    ) -> EndIo {
        EndIo::Incomplete
    }
}
