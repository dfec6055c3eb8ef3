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
use kernel::types::Opaque;

/// How many [`DmDev`] handles of one target exist, plus one for the layer.
///
/// The last holder's [`Handles::put`] wakes the destructor, which may then
/// free this count at once: `put` therefore works on raw pointers only, so
/// no reference to freed memory outlives the wake-up (the C helper touches
/// neither field after `complete_all()`, as completions on the stack rely on).
///
/// # Invariants
///
/// `count` is an initialised `refcount_t` and `idle` an initialised
/// `struct completion`; `idle` is completed exactly when `count` drops to
/// zero, which happens only after [`Handles::drain`] dropped the layer's own
/// reference.
#[pin_data]
pub(super) struct Handles {
    #[pin]
    count: Opaque<bindings::refcount_t>,
    #[pin]
    idle: Opaque<bindings::completion>,
}

// SAFETY: both fields are made for concurrent use (an atomic count and a
// completion with its own lock).
unsafe impl Send for Handles {}
// SAFETY: as above.
unsafe impl Sync for Handles {}

impl Handles {
    pub(super) fn new() -> impl PinInit<Self> {
        // INVARIANT: the count starts at the layer's reference and the
        // completion is initialised.
        pin_init!(Self {
            // SAFETY: `p` is pinned memory for a refcount_t.
            count <- Opaque::ffi_init(|p| unsafe { bindings::rdm_count_init(p) }),
            // SAFETY: `p` is pinned memory for a completion.
            idle <- Opaque::ffi_init(|p| unsafe { bindings::rdm_completion_init(p) }),
        })
    }

    pub(super) fn get(&self) {
        // SAFETY: by the type invariant `count` is initialised; the caller
        // holds a count or the layer's reference, so it is not zero.
        unsafe { bindings::rdm_count_get(self.count.get()) };
    }

    /// Takes one more count unless the count already drained to zero.
    pub(super) fn try_get(&self) -> bool {
        // SAFETY: by the type invariant `count` is initialised.
        unsafe { bindings::rdm_count_try_get(self.count.get()) }
    }

    /// How many counts are held (the layer's included), for messages.
    pub(super) fn held(&self) -> u32 {
        // SAFETY: by the type invariant `count` is initialised.
        unsafe { bindings::rdm_count_read(self.count.get()) }
    }

    /// Drops one count.
    ///
    /// # Safety
    ///
    /// `this` must point to a live `Handles` in which the caller holds a
    /// count it gives up here. `*this` may be freed as soon as this returns
    /// (or earlier, by another thread, once the count reached zero).
    pub(super) unsafe fn put(this: NonNull<Self>) {
        let this = this.as_ptr();
        // SAFETY: `this` is live on entry (the caller's count keeps it so);
        // the field pointers are formed without a reference to `*this`, and
        // the helper touches neither field after the `complete_all()` that
        // may let the destructor free them.
        unsafe {
            bindings::rdm_count_put(
                Opaque::cast_into(&raw const (*this).count),
                Opaque::cast_into(&raw const (*this).idle),
            )
        };
    }

    /// Drops the layer's reference and waits until no count is left.
    /// Process context only: it may sleep for as long as a count is held.
    pub(super) fn drain(&self) {
        // SAFETY: the layer's reference is given up here, once; `self` is
        // the destructor's, which frees it only after the wait below.
        unsafe { Self::put(NonNull::from(self)) };
        // SAFETY: `idle` is an initialised completion that lives until we return.
        unsafe { bindings::wait_for_completion(self.idle.get()) };
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
        if self.handles.held() > 1 {
            pr_warn!("rdm: waiting for device handles held outside the target object\n");
        }
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

    /// Another handle to the same device, counted like this one.
    pub(super) fn another(&self) -> DmDev {
        // SAFETY: by the type invariant the count is live, and this handle
        // holds a count, so it is not zero.
        unsafe { self.handles.as_ref() }.get();
        // INVARIANT: the same held device; the new handle is counted.
        DmDev {
            dev: self.dev,
            handles: self.handles,
        }
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

    /// Whether the table opened the device for writing (not `--readonly`).
    pub(crate) fn writable(&self) -> bool {
        // SAFETY: by the type invariant `dev` is a held `dm_dev`.
        unsafe { bindings::rdm_dev_writable(self.dev.as_ptr()) }
    }

    /// Discards `sectors` sectors at `sector` and waits for it
    /// (`blkdev_issue_discard()`). `EROFS` on a device the table opened
    /// read-only, `EOPNOTSUPP` on one without discard (which
    /// `blkdev_issue_discard()` itself would report as done). Process
    /// context, and not under `submit_bio()` (a target's `map`): refused
    /// there with `EDEADLK`, as [`super::SyncIo::io`].
    pub(crate) fn discard(&self, sector: Sector, sectors: Sector) -> Result {
        kernel::task::might_sleep();
        if !self.writable() {
            return Err(EROFS);
        }
        // SAFETY: `bdev()` is the live block device of a held `dm_dev`; the
        // helper sleeps only outside submit_bio().
        kernel::error::to_result(unsafe {
            bindings::rdm_discard_wait(self.bdev(), sector, sectors)
        })
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
        // counted in it and gives its count up once.
        unsafe { Handles::put(self.handles) };
    }
}

/// An exclusive claim on a table device among this module's targets: a
/// target that owns its media (a cache device) takes one in its
/// constructor, so that no second table (a `dmsetup reload` of the live
/// device, or another device naming the same media) can write it at the
/// same time. Released when dropped (process context: it takes a mutex).
/// Only this module's targets see the claim: another module (the C target
/// of the same name) is not stopped by it.
///
/// # Invariants
///
/// `claim` is the helper's claim, released only by `drop`.
pub(crate) struct DevClaim {
    claim: NonNull<core::ffi::c_void>,
}

// SAFETY: the claim is a list entry under a mutex; any thread may release it.
unsafe impl Send for DevClaim {}
// SAFETY: `&DevClaim` gives no access to the entry.
unsafe impl Sync for DevClaim {}

impl DevClaim {
    /// Claims `dev`; `EBUSY` if a target of this module holds it.
    pub(crate) fn new(dev: &DmDev) -> Result<Self> {
        let mut claim = core::ptr::null_mut();
        // SAFETY: `dev` is a held table device; `claim` is written on success.
        kernel::error::to_result(unsafe { bindings::rdm_claim_dev(dev.as_raw(), &mut claim) })?;
        let claim = NonNull::new(claim).ok_or(EINVAL)?;
        // INVARIANT: a fresh claim from the helper.
        Ok(Self { claim })
    }
}

impl Drop for DevClaim {
    fn drop(&mut self) {
        // SAFETY: by the type invariant the claim is live and released once.
        unsafe { bindings::rdm_release_claim(self.claim.as_ptr()) };
    }
}
