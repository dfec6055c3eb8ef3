// expect: borrowed data escapes outside of function
//
// A process-context clone completion reads the clone's data (its pages are
// the original bio's, which completes right after): the view cannot be
// kept beyond the call.

#[allow(unused_imports)]
use super::rdm::{CloneData, ClonePool, Mapped, Target, TargetCtx};
use kernel::prelude::*;

super::fixture::case_target! { @remap }

fn keep(_data: &'static CloneData<'static>) {}

fn done(_t: &Case, _ctx: (), r: Result, data: &CloneData<'_>) -> Result {
    keep(data);
    r
}

fn pool(ti: &mut TargetCtx<'_, Case>) -> Result<ClonePool<()>> {
    ti.clone_pool_task(done)
}
