// expect: cannot be shared between threads safely
//
// The data view of a completed clone belongs to the completion running on
// the pool's queue: it cannot be handed to another thread.

#[allow(unused_imports)]
use super::rdm::{CloneData, ClonePool, Mapped, Target, TargetCtx};
use kernel::prelude::*;

super::fixture::case_target! { @remap }

fn elsewhere<T: Send>(_v: T) {}

fn done(_t: &Case, _ctx: (), r: Result, data: &CloneData<'_>) -> Result {
    elsewhere(data);
    r
}

fn pool(ti: &mut TargetCtx<'_, Case>) -> Result<ClonePool<()>> {
    ti.clone_pool_task(done)
}
