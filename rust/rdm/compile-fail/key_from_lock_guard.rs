// expect: cannot return value referencing local variable `guard`
//
// Hole 2: a key (and its device) lent from a lock guard could be swapped and
// freed while bios use it; only what lives as long as the target can be lent.

#[allow(unused_imports)]
use super::rdm::{
    Bio, BlkStatus, CtrError, EndIo, EndingBio, IoInfo, Mapped, Target, TargetCtx, TargetInfo,
};
use kernel::prelude::*;

super::fixture::case_target! {
    fn map<'a>(&'a self, _ti: &IoInfo<'a>, bio: Bio<'a>) -> Mapped<'a> {
        let guard = self.fx.locked.lock();
        match &*guard {
            Some((_, keyed)) => bio.submit_encrypted(keyed, 0),
            None => bio.kill(),
        }
    }
}
