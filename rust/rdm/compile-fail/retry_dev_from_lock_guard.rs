// expect: cannot return value referencing local variable `guard`
//
// A recovery retries a clone on another device of the target's: the device
// must live as long as the target object, so one lent from a lock guard
// (which the target could drop while the retry is in flight) is refused.

#[allow(unused_imports)]
use super::rdm::{CloneData, CloneEnd, ClonePool, Mapped, Recovery, Target, TargetCtx};
use kernel::prelude::*;

super::fixture::case_target! { @remap }

fn first(_t: &Case, ctx: (), _r: Result) -> CloneEnd<()> {
    CloneEnd::Recover(ctx)
}

fn recover<'t>(t: &'t Case, ctx: (), _r: Result, _data: &CloneData<'_>) -> Recovery<'t, ()> {
    let guard = t.fx.locked.lock();
    match &*guard {
        Some((dev, _)) => Recovery::Retry(dev, 0, ctx),
        None => Recovery::Done(Ok(())),
    }
}

fn pool(ti: &mut TargetCtx<'_, Case>) -> Result<ClonePool<()>> {
    ti.clone_pool_recover(first, recover)
}
