// SPDX-License-Identifier: GPL-2.0

//! `DmDev`: a device a target holds through `dm_get_device()`.

use super::{bindings, Sector};
use core::ptr::NonNull;
use kernel::prelude::*;

/// A reference on a table device, dropped with `dm_put_device()`.
///
/// # Invariants
///
/// `dev` came from a successful `dm_get_device(ti, ...)` and has not been put;
/// `ti` is the target that got it, which outlives this value because targets
/// drop their devices in their destructor, before dm core frees `ti`.
pub(crate) struct DmDev {
    ti: NonNull<bindings::dm_target>,
    dev: NonNull<bindings::dm_dev>,
}

// SAFETY: a `dm_dev` is not changed after `dm_get_device()` returns, and
// `dm_put_device()` may be called from any thread that owns the reference.
unsafe impl Send for DmDev {}
// SAFETY: `&DmDev` only reads fields that are immutable while the reference is held.
unsafe impl Sync for DmDev {}

impl DmDev {
    /// # Safety
    ///
    /// `dev` must have come from a successful `dm_get_device(ti, ...)`, and
    /// the caller passes its reference to the new value.
    pub(super) unsafe fn from_raw(
        ti: NonNull<bindings::dm_target>,
        dev: NonNull<bindings::dm_dev>,
    ) -> Self {
        // INVARIANT: guaranteed by the caller.
        Self { ti, dev }
    }

    pub(super) fn as_raw(&self) -> *mut bindings::dm_dev {
        self.dev.as_ptr()
    }

    pub(super) fn bdev(&self) -> *mut bindings::block_device {
        // SAFETY: by the type invariant `dev` is a live `dm_dev`.
        unsafe { (*self.dev.as_ptr()).bdev }
    }

    /// The device's name as dm core prints it: `major:minor`.
    pub(crate) fn name(&self) -> &str {
        // SAFETY: by the type invariant `dev` is live; dm core fills `name`
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
        // SAFETY: by the type invariant the reference is held and `ti` is live.
        unsafe { bindings::dm_put_device(self.ti.as_ptr(), self.dev.as_ptr()) };
    }
}
