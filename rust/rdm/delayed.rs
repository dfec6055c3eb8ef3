// SPDX-License-Identifier: GPL-2.0

//! Delayed work of a target, owned by the layer.
//!
//! A target asks for one in its constructor ([`super::TargetCtx::delayed_work`])
//! with the function to run; it gets a [`DelayedWork`] handle to arm,
//! re-arm or cancel it, from any context. The callback runs in process
//! context on a reclaim-safe queue of the layer's and gets the target object
//! and a [`TargetInfo`]. A target's delayed work therefore cannot outlive
//! it: the destructor trampoline stops every callback (and waits for a
//! running one) before it drops the target object, and cancels them again
//! (a handle held elsewhere may have re-armed one) before it frees them.

use super::dev::Handles;
use super::target::TargetInfo;
use super::{bindings, Target};
use core::ptr::NonNull;
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::prelude::*;
use kernel::types::Opaque;

/// One delayed work item of a target of type `T`.
///
/// # Invariants
///
/// `work` was initialised with [`run_slot::<T>`] as its function; `target`
/// is NULL or points to the live, pinned target object of `ti`; `ti` lives
/// as long as the slot.
#[repr(C)]
struct Slot<T: Target> {
    /// First, so that the callback finds the slot from the work pointer.
    work: Opaque<bindings::delayed_work>,
    target: AtomicPtr<T>,
    ti: NonNull<bindings::dm_target>,
    run: fn(&T, &TargetInfo<'_>),
}

/// # Safety
///
/// Only the workqueue calls this, for the `work_struct` of a live [`Slot<T>`].
unsafe extern "C" fn run_slot<T: Target>(work: *mut bindings::work_struct) {
    // `work_struct` is the first field of `delayed_work`, which is the first
    // field of the `repr(C)` slot.
    let slot = work.cast::<Slot<T>>();
    // SAFETY: the slot is live while its work can run (see `Timers`).
    let (target, ti, run) = unsafe {
        (
            (*slot).target.load(Ordering::Acquire),
            (*slot).ti,
            (*slot).run,
        )
    };
    if target.is_null() {
        // Before the target object exists or once its teardown began.
        return;
    }
    // SAFETY: a non-NULL `target` is the live target object: teardown clears
    // it and then waits for a running callback (cancel_delayed_work_sync())
    // before it drops the object. Work runs in process context.
    let (t, info) = unsafe { (&*target, TargetInfo::from_raw(ti)) };
    run(t, &info);
}

/// The delayed work items of one target and the queue they run on.
///
/// # Invariants
///
/// `wq`, once set, came from `alloc_workqueue()` and is destroyed only by
/// `drop`, after every slot was cancelled; slots are freed only by `drop`.
pub(super) struct Timers<T: Target> {
    wq: Option<NonNull<bindings::workqueue_struct>>,
    slots: KVec<Pin<KBox<Slot<T>>>>,
}

impl<T: Target> Timers<T> {
    pub(super) fn new() -> Self {
        Self {
            wq: None,
            slots: KVec::new(),
        }
    }

    /// Makes a delayed work item of the target `ti` is constructing.
    pub(super) fn add(
        &mut self,
        ti: NonNull<bindings::dm_target>,
        run: fn(&T, &TargetInfo<'_>),
        handles: &Handles,
    ) -> Result<DelayedWork> {
        let wq = match self.wq {
            Some(wq) => wq,
            None => {
                // SAFETY: a static NUL-terminated name.
                let wq = unsafe { bindings::rdm_alloc_workqueue(c"rdm_delayed".as_char_ptr()) };
                let wq = NonNull::new(wq).ok_or(ENOMEM)?;
                // INVARIANT: allocated above, destroyed by `drop`.
                self.wq = Some(wq);
                wq
            }
        };
        self.slots.reserve(1, GFP_KERNEL)?;
        let slot = KBox::pin(
            Slot {
                work: Opaque::uninit(),
                target: AtomicPtr::new(core::ptr::null_mut()),
                ti,
                run,
            },
            GFP_KERNEL,
        )?;
        // SAFETY: `work` is pinned memory for a `delayed_work`, initialised
        // here before anything can queue it.
        unsafe { bindings::rdm_init_delayed_work(slot.work.get(), Some(run_slot::<T>)) };
        let dw = NonNull::new(slot.work.get()).ok_or(EINVAL)?;
        // Cannot fail: room was reserved.
        let _ = self.slots.push_within_capacity(slot);
        handles.get();
        // INVARIANT: the slot and the queue live until every handle is gone
        // (the destructor drains the handles before it drops `Timers`), and
        // this handle is counted.
        Ok(DelayedWork {
            dw,
            wq,
            handles: NonNull::from(handles),
        })
    }

    /// Lets the callbacks run: the target object exists now.
    pub(super) fn start(&self, target: &T) {
        let ptr = core::ptr::from_ref(target).cast_mut();
        for slot in self.slots.iter() {
            // INVARIANT: `target` is the pinned target object of `ti`, which
            // lives until `stop` clears this again.
            slot.target.store(ptr, Ordering::Release);
        }
    }

    /// Stops the callbacks before the target object is dropped: none runs
    /// on after this returns, and none that starts later calls the target.
    /// Process context.
    pub(super) fn stop(&self) {
        for slot in self.slots.iter() {
            slot.target.store(core::ptr::null_mut(), Ordering::Release);
            // SAFETY: the work was initialised in `add`.
            unsafe { bindings::cancel_delayed_work_sync(slot.work.get()) };
        }
    }
}

impl<T: Target> Drop for Timers<T> {
    fn drop(&mut self) {
        // Handles held elsewhere may have re-armed work after `stop`;
        // they are gone now (the destructor drained them first).
        for slot in self.slots.iter() {
            // SAFETY: the work was initialised in `add`.
            unsafe { bindings::cancel_delayed_work_sync(slot.work.get()) };
        }
        if let Some(wq) = self.wq {
            // SAFETY: by the type invariant `wq` is live and destroyed once,
            // with no work pending on it.
            unsafe { bindings::destroy_workqueue(wq.as_ptr()) };
        }
    }
}

/// A handle to a delayed work item of a target ([`super::TargetCtx::delayed_work`]).
///
/// # Invariants
///
/// `dw` is the initialised work of a slot and `wq` the queue it runs on;
/// both live as long as this handle, which is counted in `*handles`.
pub(crate) struct DelayedWork {
    dw: NonNull<bindings::delayed_work>,
    wq: NonNull<bindings::workqueue_struct>,
    handles: NonNull<Handles>,
}

// SAFETY: the workqueue calls may be made from any thread; the count is atomic.
unsafe impl Send for DelayedWork {}
// SAFETY: as above; all methods take `&self` and are thread-safe in C.
unsafe impl Sync for DelayedWork {}

impl DelayedWork {
    /// Runs the work once `ms` milliseconds from now, unless it is pending
    /// already (`queue_delayed_work()`); returns whether it was queued.
    /// Any context.
    pub(crate) fn schedule(&self, ms: u32) -> bool {
        // SAFETY: by the type invariant both are live and initialised.
        unsafe { bindings::rdm_queue_delayed_work(self.wq.as_ptr(), self.dw.as_ptr(), ms) }
    }

    /// Runs the work `ms` milliseconds from now, whether or not it is
    /// pending (`mod_delayed_work()`). Any context.
    pub(crate) fn reschedule(&self, ms: u32) {
        // SAFETY: as for `schedule`.
        unsafe { bindings::rdm_mod_delayed_work(self.wq.as_ptr(), self.dw.as_ptr(), ms) };
    }

    /// Cancels a pending run (one already running goes on); returns whether
    /// one was pending (`cancel_delayed_work()`). Any context.
    pub(crate) fn cancel(&self) -> bool {
        // SAFETY: by the type invariant the work is live and initialised.
        unsafe { bindings::cancel_delayed_work(self.dw.as_ptr()) }
    }

    /// Cancels a pending run and waits for a running one to return
    /// (`cancel_delayed_work_sync()`; also stops a callback that re-arms
    /// itself). Process context. From the work's own callback, where
    /// waiting would never end, it only cancels, and warns once.
    pub(crate) fn cancel_sync(&self) -> bool {
        // SAFETY: `current_work()` only reads the current task's worker.
        let current = unsafe { bindings::current_work() };
        if core::ptr::eq(current, self.dw.as_ptr().cast()) {
            kernel::pr_warn_once!("rdm: delayed work cancelled from itself, not waited for\n");
            return self.cancel();
        }
        // SAFETY: by the type invariant the work is live and initialised;
        // the caller is not this work's callback (checked above).
        unsafe { bindings::cancel_delayed_work_sync(self.dw.as_ptr()) }
    }
}

impl Drop for DelayedWork {
    fn drop(&mut self) {
        // SAFETY: by the type invariant the count is live and this handle
        // was counted in it.
        unsafe { Handles::put(self.handles) };
    }
}
