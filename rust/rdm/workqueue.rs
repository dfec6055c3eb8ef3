// SPDX-License-Identifier: GPL-2.0

//! A workqueue owned by a target.
//!
//! The `kernel` crate of 7.2 offers the system workqueues only, which a
//! module cannot drain before it unloads. A target that completes bios from
//! work items allocates its own queue here; dropping it waits for every
//! queued and running work item (`destroy_workqueue()`), so nothing runs
//! the module's code once the target is gone.
//!
//! Only immediate work can be queued: `destroy_workqueue()` does not wait
//! for the timer of delayed work, which would then queue onto a freed
//! queue. The `kernel` crate's `Queue` (which offers `enqueue_delayed`) is
//! therefore not handed out.

use super::bindings;
use core::ptr::NonNull;
use kernel::prelude::*;
use kernel::workqueue::{Queue, RawWorkItem};

/// # Invariants
///
/// `wq` came from a successful `alloc_workqueue()` and is destroyed only by
/// `drop`.
pub(crate) struct OwnedQueue {
    wq: NonNull<bindings::workqueue_struct>,
}

// SAFETY: a workqueue may be used and destroyed from any thread.
unsafe impl Send for OwnedQueue {}
// SAFETY: queueing work is thread-safe.
unsafe impl Sync for OwnedQueue {}

impl OwnedQueue {
    /// Allocates the queue. Process context.
    pub(crate) fn new(name: &'static CStr) -> Result<Self> {
        kernel::task::might_sleep();
        // SAFETY: `name` is NUL-terminated and static (the workqueue keeps
        // a copy of the formatted name anyway).
        let wq = unsafe { bindings::rdm_alloc_workqueue(name.as_char_ptr()) };
        // INVARIANT: checked for NULL here.
        Ok(Self {
            wq: NonNull::new(wq).ok_or(ENOMEM)?,
        })
    }

    /// The queue, for the layer's own raw work items (a clone's
    /// completion); valid as long as `self`.
    pub(super) fn as_ptr(&self) -> *mut bindings::workqueue_struct {
        self.wq.as_ptr()
    }

    fn queue(&self) -> &Queue {
        // SAFETY: by the type invariant the workqueue lives as long as
        // `self`, which the returned reference cannot outlive.
        unsafe { Queue::from_raw(self.wq.as_ptr().cast()) }
    }

    /// Queues a work item to run as soon as possible (`queue_work()`).
    pub(crate) fn enqueue<W, const ID: u64>(&self, w: W) -> W::EnqueueOutput
    where
        W: RawWorkItem<ID> + Send + 'static,
    {
        self.queue().enqueue(w)
    }

    /// Waits until every work item queued so far has run
    /// (`flush_workqueue()`). Process context only.
    pub(crate) fn flush(&self) {
        // Caught by CONFIG_DEBUG_ATOMIC_SLEEP when called from atomic context.
        kernel::task::might_sleep();
        // SAFETY: by the type invariant `wq` is live.
        unsafe { bindings::rdm_flush_workqueue(self.wq.as_ptr()) };
    }
}

impl Drop for OwnedQueue {
    fn drop(&mut self) {
        // SAFETY: by the type invariant `wq` is live and destroyed once;
        // destroy_workqueue() drains it first, and no delayed work (whose
        // timer it would not wait for) can have been queued on it.
        unsafe { bindings::destroy_workqueue(self.wq.as_ptr()) };
    }
}
