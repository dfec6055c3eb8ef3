// SPDX-License-Identifier: GPL-2.0

//! Allocations that must not recurse into I/O: in a device's I/O path (or
//! on a work queue that I/O waits for), reclaim that writes pages back
//! could wait on the very device and deadlock. The kernel crate has no
//! `GFP_NOIO`; the scoped API is the kernel's preferred form anyway
//! (Documentation/core-api/gfp_mask-from-fs-io.rst).

use super::bindings;

/// Runs `f` with `memalloc_noio_save()` in force: every allocation in it
/// (`GFP_KERNEL` included) behaves as `GFP_NOIO`.
pub(crate) fn noio<R>(f: impl FnOnce() -> R) -> R {
    // SAFETY: saves and sets a flag of the current task; restored below.
    let flags = unsafe { bindings::rdm_noio_save() };
    let r = f();
    // SAFETY: restores what the save above returned, on the same task.
    unsafe { bindings::rdm_noio_restore(flags) };
    r
}
