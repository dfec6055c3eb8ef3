// expect: borrow of moved value: `buf`
//
// Target-owned I/O: the buffer belongs to the request while the device
// fills it; the target gets it back only in the completion.

#[allow(unused_imports)]
use super::rdm::{
    Bio, BlkStatus, CtrError, EndIo, EndingBio, IoBuf, IoInfo, IoOp, Mapped, StatusWriter, Target,
    TargetCtx, TargetInfo,
};
use kernel::prelude::*;

super::fixture::case_target! { @remap
    fn message(&self, _ti: &TargetInfo<'_>, _args: &[&str], _out: &mut StatusWriter<'_>) -> Result {
        let mut buf = IoBuf::new(4096, GFP_KERNEL)?;
        let _ = self.fx.own.submit(&self.fx.dev, IoOp::Read, 0, buf, ());
        buf.write_at(0, &[1])
    }
}
