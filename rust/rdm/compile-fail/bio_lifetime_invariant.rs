// expect: lifetime may not live long enough
//
// Hole 2: a bio's lifetime (the target's) is invariant: were it covariant,
// map could shorten it and lend the bio a local bio_set or device.

#[allow(unused_imports)]
use super::rdm::{
    Bio, BlkStatus, CtrError, EndIo, EndingBio, IoInfo, Mapped, Target, TargetCtx, TargetInfo,
};
use kernel::prelude::*;

super::fixture::case_target! {
    @remap
}

#[allow(dead_code)]
fn shrink<'a: 'b, 'b>(bio: Bio<'a>) -> Bio<'b> {
    bio
}
