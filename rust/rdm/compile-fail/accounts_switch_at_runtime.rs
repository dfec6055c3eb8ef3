// expect: no method named `set_accounts_remapped_io`
//
// Hole 4: accounting of deferred bios is a constant of the target type
// (`ACCOUNTS_REMAPPED_IO`), from which the layer picks the submission call;
// there is no run-time switch to get out of step with it.

#[allow(unused_imports)]
use super::rdm::{
    Bio, BlkStatus, CtrError, EndIo, EndingBio, IoInfo, Mapped, Target, TargetCtx, TargetInfo,
};
use kernel::prelude::*;

super::fixture::case_target! {
    @remap
}

#[allow(dead_code)]
fn switch(ti: &mut TargetCtx<'_, Case>) {
    ti.set_accounts_remapped_io();
}
