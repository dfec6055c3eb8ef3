// SPDX-License-Identifier: GPL-2.0

//! Table devices: the layer holds every `dm_get_device()` reference of a
//! target; the target holds counted [`DmDev`] handles.
//!
//! A handle is `Send + 'static`, so a target may move one anywhere, a
//! workqueue item included. That must not let it outlive the table the
//! reference belongs to (`dm_put_device()` walks `ti->table`). So the layer,
//! not the handle, puts the references, in the destructor trampoline, after
//! the target object is dropped and after every handle is gone: it waits
//! for handles held elsewhere. A handle therefore always points at a held
//! device, and dropping one anywhere (even in interrupt context) only drops
//! a count.

use super::{bindings, Sector};
use core::ptr::NonNull;
use kernel::prelude::*;
use kernel::sync::{Completion, Refcount};

/// How many [`DmDev`] handles of one target exist, plus one for the layer.
///
/// # Invariants
///
/// `idle` is completed exactly when `count` drops to zero, which happens
/// only after [`Handles::drain`] dropped the layer's own reference.
#[pin_data]
pub(super) struct Handles {
    count: Refcount,
    #[pin]
    idle: Completion,
}

impl Handles {
    pub(super) fn new() -> impl PinInit<Self> {
        // INVARIANT: the count starts at the layer's reference.
        pin_init!(Self {
            count: Refcount::new(1),
            idle <- Completion::new(),
        })
    }

    pub(super) fn get(&self) {
        self.count.inc();
    }

    pub(super) fn put(&self) {
        if self.count.dec_and_test() {
            self.idle.complete_all();
        }
    }

    /// Drops the layer's reference and waits until no handle is left.
    /// Process context only: it may sleep for as long as a handle is held.
    fn drain(&self) {
        if self.count.as_atomic().load(kernel::sync::atomic::Relaxed) > 1 {
            pr_warn!("rdm: waiting for device handles held outside the target object\n");
        }
        self.put();
        self.idle.wait_for_completion();
    }
}

/// The `dm_get_device()` references of one target, owned by the layer.
///
/// # Invariants
///
/// Every entry of `devs` is a reference from a successful
/// `dm_get_device(ti, ...)` of the target this table belongs to, not yet
/// put; each [`DmDev`] handle made from it counts in `*handles`, which stays
/// at a stable address until [`DevTable::put_all`] has drained it.
pub(super) struct DevTable {
    devs: KVec<NonNull<bindings::dm_dev>>,
    handles: Pin<KBox<Handles>>,
}

impl DevTable {
    pub(super) fn new() -> Result<Self> {
        Ok(Self {
            devs: KVec::new(),
            handles: KBox::pin_init(Handles::new(), GFP_KERNEL)?,
        })
    }

    /// The count every handle of the target is counted in (device handles,
    /// delayed-work handles).
    pub(super) fn handles(&self) -> &Handles {
        &self.handles
    }

    /// Makes room for one more reference, so that [`DevTable::add`] cannot fail.
    pub(super) fn reserve(&mut self) -> Result {
        self.devs.reserve(1, GFP_KERNEL)?;
        Ok(())
    }

    /// Records a reference and returns a handle to it.
    ///
    /// # Safety
    ///
    /// `dev` must come from a successful `dm_get_device()` of this table's
    /// target, and the caller hands its reference over; [`DevTable::reserve`]
    /// must have made room for it.
    pub(super) unsafe fn add(&mut self, dev: NonNull<bindings::dm_dev>) -> DmDev {
        // Cannot fail: room was reserved. Should it, the reference is
        // still put by dm core's table teardown (with a warning).
        let _ = self.devs.push_within_capacity(dev);
        self.handles.get();
        // INVARIANT: `dev` is recorded and the handle is counted.
        DmDev {
            dev,
            handles: NonNull::from(&*self.handles),
        }
    }

    /// Waits for every handle, then puts every reference.
    ///
    /// # Safety
    ///
    /// `ti` must be the live target the references were taken for, and the
    /// target object (which holds handles) must already be dropped or never
    /// have been built. Process context.
    pub(super) unsafe fn put_all(self, ti: *mut bindings::dm_target) {
        self.handles.drain();
        for dev in self.devs.iter() {
            // SAFETY: by the type invariant each entry is a held reference of
            // `ti`, put once here; no handle to it is left.
            unsafe { bindings::dm_put_device(ti, dev.as_ptr()) };
        }
    }
}

/// A handle to a table device the layer holds for a target.
///
/// # Invariants
///
/// `dev` is held (not put) for as long as this handle lives, and `handles`
/// points to the live count this handle is counted in (see [`DevTable`]).
pub(crate) struct DmDev {
    dev: NonNull<bindings::dm_dev>,
    handles: NonNull<Handles>,
}

// SAFETY: a `dm_dev` is not changed after `dm_get_device()` returns, and the
// count is atomic; dropping a handle on any thread only drops the count.
unsafe impl Send for DmDev {}
// SAFETY: `&DmDev` only reads fields that are immutable while the device is held.
unsafe impl Sync for DmDev {}

impl DmDev {
    pub(super) fn as_raw(&self) -> *mut bindings::dm_dev {
        self.dev.as_ptr()
    }

    pub(super) fn bdev(&self) -> *mut bindings::block_device {
        // SAFETY: by the type invariant `dev` is a held `dm_dev`.
        unsafe { (*self.dev.as_ptr()).bdev }
    }

    /// The device's name as dm core prints it: `major:minor`.
    pub(crate) fn name(&self) -> &str {
        // SAFETY: by the type invariant `dev` is held; dm core fills `name`
        // with a NUL-terminated `major:minor` string and never changes it.
        let name = unsafe { CStr::from_char_ptr((*self.dev.as_ptr()).name.as_ptr()) };
        name.to_str().unwrap_or("?")
    }

    /// The device's size in 512-byte sectors.
    pub(crate) fn nr_sectors(&self) -> Sector {
        // SAFETY: `bdev()` is the live block device of a held `dm_dev`.
        unsafe { bindings::rdm_bdev_nr_sectors(self.bdev()) }
    }
}

impl Drop for DmDev {
    fn drop(&mut self) {
        // SAFETY: by the type invariant the count is live; this handle was
        // counted in it and is dropped once.
        unsafe { self.handles.as_ref() }.put();
    }
}
