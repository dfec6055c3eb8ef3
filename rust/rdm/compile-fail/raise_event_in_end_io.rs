// expect: no method named `raise_event` found
//
// Hole 6: end_io may run in interrupt context, and raising a dm event takes
// a mutex: its view of the target has no such method.

#[allow(unused_imports)]
use super::rdm::{
    Bio, BlkStatus, CtrError, EndIo, EndingBio, IoInfo, Mapped, Target, TargetCtx, TargetInfo,
};
use kernel::prelude::*;

super::fixture::case_target! {
    @remap
    fn end_io(
        &self,
        ti: &IoInfo<'_>,
        _bio: &EndingBio<'_>,
        _per_io: (),
        _status: &mut BlkStatus<'_>,
    ) -> EndIo {
        ti.raise_event();
        EndIo::Done
    }
}
