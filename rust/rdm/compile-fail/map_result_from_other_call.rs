// expect: lifetime may not live long enough
//
// Hole 1: the outcome of one map call cannot be passed off as another's: its
// lifetime is invariant, so it cannot even be shortened.

#[allow(unused_imports)]
use super::rdm::{
    Bio, BlkStatus, CtrError, EndIo, EndingBio, IoInfo, Mapped, Target, TargetCtx, TargetInfo,
};
use kernel::prelude::*;

super::fixture::case_target! {
    @remap
}

// Invariance: not even a shorter lifetime (which a covariant type allows).
#[allow(dead_code)]
fn keep<'a: 'b, 'b>(m: Mapped<'a>) -> Mapped<'b> {
    m
}
