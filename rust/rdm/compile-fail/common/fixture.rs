// SPDX-License-Identifier: GPL-2.0

//! What the compile-fail cases share: the resources a target usually holds,
//! so that each case differs from valid code by its misuse only.

use super::rdm::crypto::{BlkCryptoKey, KeyedDev, Mode};
use super::rdm::keybuf::KeyType;
use super::rdm::workqueue::OwnedQueue;
use super::rdm::{BioSet, CtrError, DmDev, IoPool, Target, TargetCtx};
use kernel::prelude::*;
use kernel::sync::{new_spinlock, SpinLock};

/// A target's usual resources.
#[pin_data]
pub(crate) struct Fx {
    pub(crate) dev: DmDev,
    pub(crate) keyed: KeyedDev,
    pub(crate) bs: BioSet,
    pub(crate) queue: OwnedQueue,
    /// The target's own I/O, completed by a function that does nothing.
    pub(crate) own: IoPool<()>,
    /// A device and a key behind a lock, to try lending them from a guard.
    #[pin]
    pub(crate) locked: SpinLock<Option<(DmDev, KeyedDev)>>,
}

impl Fx {
    pub(crate) fn new<T: Target>(
        ti: &mut TargetCtx<'_, T>,
    ) -> Result<impl PinInit<Self, CtrError>, CtrError> {
        let e = |err| CtrError {
            msg: c"fixture",
            err,
        };
        let key = || BlkCryptoKey::new(&[1; 64], KeyType::Raw, Mode::Aes256Xts, 8, 512).map_err(e);
        let dev = ti.get_device("/dev/ram0").map_err(e)?;
        let keyed = KeyedDev::new(ti.get_device("/dev/ram1").map_err(e)?, key()?).map_err(e)?;
        let spare = ti.get_device("/dev/ram0").map_err(e)?;
        let spare_keyed =
            KeyedDev::new(ti.get_device("/dev/ram1").map_err(e)?, key()?).map_err(e)?;
        let bs = BioSet::new().map_err(e)?;
        let queue = OwnedQueue::new(c"cf").map_err(e)?;
        let own = ti.io_pool(|_, (), _, _| {}).map_err(e)?;
        Ok(try_pin_init!(Self {
            dev,
            keyed,
            bs,
            queue,
            own,
            locked <- new_spinlock!(Some((spare, spare_keyed))),
        }? CtrError))
    }
}

/// The target every misuse case is: `Case`, holding an [`Fx`], with the
/// hooks given (the constructor is always the same).
macro_rules! case_target {
    // With the plain `map` (remap), for cases about the other hooks.
    (@remap $($hooks:tt)*) => {
        $crate::fixture::case_target! {
            fn map<'a>(
                &'a self,
                _ti: &$crate::rdm::IoInfo<'a>,
                bio: $crate::rdm::Bio<'a>,
            ) -> $crate::rdm::Mapped<'a> {
                bio.remap()
            }

            $($hooks)*
        }
    };
    ($($hooks:tt)*) => {
        #[pin_data]
        struct Case {
            #[pin]
            fx: $crate::fixture::Fx,
        }

        #[vtable]
        impl $crate::rdm::Target for Case {
            const NAME: &'static CStr = c"cf_case";
            const VERSION: [u32; 3] = [0, 0, 0];
            type PerIo = ();

            fn ctr(
                ti: &mut $crate::rdm::TargetCtx<'_, Self>,
                _args: &[&str],
            ) -> Result<impl PinInit<Self, $crate::rdm::CtrError>, $crate::rdm::CtrError> {
                let fx = $crate::fixture::Fx::new(ti)?;
                Ok(try_pin_init!(Self { fx <- fx }? $crate::rdm::CtrError))
            }

            $($hooks)*
        }
    };
}
pub(crate) use case_target;
