// expect: lifetime may not live long enough
//
// The device of a retry is borrowed for as long as the recovery's `&'t`
// target: a device borrowed for any shorter lifetime (here one the
// recovery's caller does not know) cannot be handed to the layer.

#[allow(unused_imports)]
use super::rdm::{CloneData, CloneEnd, ClonePool, DmDev, Mapped, Recovery, Target, TargetCtx};
use kernel::prelude::*;

super::fixture::case_target! { @remap }

fn retry_on<'t, 'd>(dev: &'d DmDev, ctx: ()) -> Recovery<'t, ()> {
    Recovery::Retry(dev, 0, ctx)
}

fn first(_t: &Case, ctx: (), _r: Result) -> CloneEnd<()> {
    CloneEnd::Recover(ctx)
}

fn recover<'t>(t: &'t Case, ctx: (), _r: Result, _data: &CloneData<'_>) -> Recovery<'t, ()> {
    retry_on(&t.fx.dev, ctx)
}

fn pool(ti: &mut TargetCtx<'_, Case>) -> Result<ClonePool<()>> {
    ti.clone_pool_recover(first, recover)
}
