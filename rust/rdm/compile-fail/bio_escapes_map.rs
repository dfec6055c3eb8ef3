// expect: E0521
//
// Hole 1/2: a bio cannot be kept past its map call without being deferred.

#[allow(unused_imports)]
use super::rdm::{
    Bio, BlkStatus, CtrError, EndIo, EndingBio, IoInfo, Mapped, Target, TargetCtx, TargetInfo,
};
use kernel::prelude::*;

super::fixture::case_target! {
    @remap
}

#[allow(dead_code)]
fn stash<'a>(list: &mut KVec<Bio<'static>>, bio: Bio<'a>) {
    let _ = list.push(bio, GFP_ATOMIC);
}
