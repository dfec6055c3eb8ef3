// SPDX-License-Identifier: GPL-2.0

//! Target-owned clones: copies of a deferred bio sent to the target's
//! devices, each carrying a typed context `C` in its front pad and completed
//! through the target's own function, which decides what the clone's
//! outcome means for the original (a RAID leg that fails need not fail the
//! write while another copy holds it).
//!
//! A clone shares the original's data pages, so the original must not
//! complete while a clone is in flight: each clone owns a [`BioPart`] of
//! the original's completion, ended with what the completion function
//! returns, and the original becomes a [`ChainedBio`] (no kill, no
//! requeue). A pool's completion runs where the clone completes (any
//! context), or, for a pool made with [`super::TargetCtx::clone_pool_task`],
//! in process context (on the pool's own queue, or where the clone
//! completed if that is inside a `submit_bio()` call stack in a task that
//! may sleep), with the clone's data to
//! read ([`CloneData`]) while the original still waits for it: a cache
//! keeps the bytes a read miss brought in. Clones are made in `map` from
//! the bio being mapped, by a pool of the same target, to a device borrowed
//! for the target's lifetime: the original completes before the target's
//! destructor, which frees the pool.

use super::bio::{data, op_of, BeingMapped, Bio, BioData, BioPart, ChainedBio};
use super::dev::{DmDev, Handles};
use super::workqueue::OwnedQueue;
use super::Op;
use super::{bindings, Sector, Target, SECTOR_SHIFT};
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::error::to_result;
use kernel::prelude::*;
use kernel::types::Opaque;

/// What the completion of a clone with context `C` runs: the target object,
/// the context and the clone's status; it returns how the clone's part of
/// the original ends. May run in interrupt context.
pub(crate) type CloneDone<T, C> = fn(&T, C, Result) -> Result;

/// What the completion of a clone from a process-context pool runs: as
/// [`CloneDone`], plus the data the clone carried. Process context: on a
/// reclaim-safe queue of the pool's, or right where the clone completed
/// when that is inside a `submit_bio()` call stack in a task that may
/// sleep (a device that completes in its submitter's context). It must not
/// wait for I/O: synchronous I/O is refused there (`EDEADLK`, see
/// [`super::SyncIo`]). May sleep for memory (allocations in it should be
/// `noio`: the target's own I/O may wait on them).
pub(crate) type CloneDoneTask<T, C> = fn(&T, C, Result, &CloneData<'_>) -> Result;

/// What the first completion of a clone from a pool with recovery decides
/// ([`super::TargetCtx::clone_pool_recover`]).
pub(crate) enum CloneEnd<C> {
    /// End the clone's part of the original with this result.
    Done(Result),
    /// Hand the clone, with this context, to the pool's recovery, in
    /// process context (a RAID read that failed on one leg).
    Recover(C),
}

/// What the recovery of a clone decides.
pub(crate) enum Recovery<'t, C> {
    /// End the clone's part of the original with this result.
    Done(Result),
    /// Send the same range again, as a fresh clone with this context, to a
    /// device of the target's at a sector there (another copy); it completes
    /// through the pool's first completion again. The device is borrowed
    /// from the target object, which outlives every clone.
    Retry(&'t DmDev, Sector, C),
}

/// The first completion of a clone from a pool with recovery: may run in
/// interrupt context.
pub(crate) type CloneDoneFirst<T, C> = fn(&T, C, Result) -> CloneEnd<C>;

/// The recovery of a clone: process context, on a reclaim-safe queue of the
/// pool's, with the data the clone carried; it may sleep and do the
/// target's own synchronous I/O to its devices ([`super::SyncIo`]) before
/// it decides, while the original waits.
pub(crate) type CloneRecover<T, C> =
    for<'t> fn(&'t T, C, Result, &CloneData<'_>) -> Recovery<'t, C>;

/// How a pool completes its clones.
enum Done<T, C> {
    /// In the clone's end_io, in whatever context the device completes it.
    Irq(CloneDone<T, C>),
    /// In a work item on the pool's queue, which the pool drains before it
    /// is freed; or, when the clone completes inside a `submit_bio()` call
    /// stack in a task that may sleep, right there (then, as for `Irq`,
    /// only the return from the end_io is left after the part ended).
    Task(CloneDoneTask<T, C>, OwnedQueue),
    /// In end_io first; clones that need it then in a work item on the
    /// pool's queue, which may send them again.
    Recover(CloneDoneFirst<T, C>, CloneRecover<T, C>, OwnedQueue),
}

impl<T, C> Done<T, C> {
    fn queue(&self) -> Option<&OwnedQueue> {
        match self {
            Self::Irq(_) => None,
            Self::Task(_, wq) | Self::Recover(_, _, wq) => Some(wq),
        }
    }
}

/// The data of a completed clone, read-only, for a [`CloneDoneTask`]: the
/// original's pages (which cannot complete before the completion function
/// returns), or for a bounced clone ([`ClonePool::clone_range_bounced`])
/// pages of the clone's own, which only the device wrote.
///
/// # Invariants
///
/// `bio` is a completed clone the running completion owns, not yet put,
/// with its iterator as it was at submission; the original it shares pages
/// with, or that its bounce pages are copied to, is still in flight. Borrowed only for the completion function's
/// call (the lifetime), and neither `Send` nor `Sync`.
pub(crate) struct CloneData<'a> {
    bio: NonNull<bindings::bio>,
    _call: PhantomData<&'a ()>,
}

impl data::Sealed for CloneData<'_> {
    fn data_bio(&self) -> NonNull<bindings::bio> {
        self.bio
    }
}

impl BioData for CloneData<'_> {}

/// The front pad of a clone: `front_pad` bytes right below its `struct bio`.
#[repr(C)]
struct Pad<T: Target, C> {
    /// First: a process-context completion finds the pad from it.
    work: Opaque<bindings::work_struct>,
    /// The clone's iterator at submission (the device below may advance
    /// the clone's own), so a completion can read the data.
    iter: MaybeUninit<bindings::bvec_iter>,
    /// The clone's status, kept for a process-context completion.
    status: i32,
    /// For a bounced clone, the original whose range (`bounce_range`) gets
    /// a copy of the clone's own pages once it completes; NULL otherwise.
    bounce_of: *mut bindings::bio,
    bounce_range: MaybeUninit<bindings::bvec_iter>,
    ctx: MaybeUninit<C>,
    part: MaybeUninit<BioPart>,
    pool: *const Pool<T, C>,
}

/// The bio_set of a clone pool and what its completions need.
///
/// # Invariants
///
/// `bs` was initialised by `bioset_init()` with a front pad for `Pad<T, C>`
/// and is exited only by `drop`, after every clone from it completed;
/// `target` is NULL or the live target object the pool belongs to.
#[pin_data(PinnedDrop)]
struct Pool<T: Target, C> {
    #[pin]
    bs: Opaque<bindings::bio_set>,
    target: AtomicPtr<T>,
    done: Done<T, C>,
}

// SAFETY: the pool is only read after construction; bio_set allocation is
// thread-safe; `target` is atomic; contexts move between threads with their
// clones, so they must be `Send`.
unsafe impl<T: Target, C: Send> Send for Pool<T, C> {}
// SAFETY: as above.
unsafe impl<T: Target, C: Send> Sync for Pool<T, C> {}

#[pinned_drop]
impl<T: Target, C> PinnedDrop for Pool<T, C> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: by the type invariant `bs` is initialised, and the pool is
        // dropped in the destructor trampoline, after the target's bios
        // (whose parts the clones held) all completed. A process-context
        // completion puts its clone before it ends the part, so none is
        // left; its queue (dropped with `done`, after this) then waits for
        // a queued completion that is only returning (one run inline is
        // only returning from the clone's end_io, as an `Irq` one).
        unsafe { bindings::bioset_exit(self.bs.get()) };
    }
}

/// The pools of one target, type-erased over their contexts.
pub(super) trait PoolSlot<T>: Send + Sync {
    /// Gives the pool the target object, once it exists.
    fn start(&self, target: &T);
    /// Takes it back before the target object is dropped (every clone has
    /// completed by then: they complete before the bios they came from).
    fn stop(&self);
}

impl<T: Target, C: Send> PoolSlot<T> for Pool<T, C> {
    fn start(&self, target: &T) {
        // INVARIANT: the pinned target object, alive until `stop`.
        self.target
            .store(core::ptr::from_ref(target).cast_mut(), Ordering::Release);
    }

    fn stop(&self) {
        self.target.store(core::ptr::null_mut(), Ordering::Release);
    }
}

/// The clone pools the layer holds for a target, freed in its destructor.
/// Each is pinned in fact: the list never moves one out of its box, it only
/// drops it (`Pin<KBox<dyn ..>>` cannot be made by unsizing on stable).
pub(super) type Pools<T> = KVec<KBox<dyn PoolSlot<T>>>;

/// Initialises a pinned, zeroed `bio_set` with `init` (one of the
/// `rdm_bioset_init_*` helpers) and `front_pad`, for the pools of a target.
pub(super) fn bioset_with(
    init: unsafe extern "C" fn(*mut bindings::bio_set, kernel::ffi::c_uint) -> kernel::ffi::c_int,
    front_pad: u32,
) -> impl PinInit<Opaque<bindings::bio_set>, Error> {
    Opaque::try_ffi_init(move |bs: *mut bindings::bio_set| {
        // SAFETY: `bs` is pinned memory for a bio_set, zeroed first as
        // bioset_init() (which every `rdm_bioset_init_*` helper calls) expects.
        unsafe {
            core::ptr::write_bytes(bs, 0, 1);
            to_result(init(bs, front_pad))
        }
    })
}

/// Hands a built pool to the target's list, which frees it in the
/// destructor, and counts the handle about to be made to it in `handles`;
/// `pools` must have room reserved. Returns where the pool stays.
pub(super) fn adopt<T, P: PoolSlot<T> + 'static>(
    pools: &mut Pools<T>,
    pool: Pin<KBox<P>>,
    handles: &Handles,
) -> NonNull<P> {
    let raw = NonNull::from(&*pool);
    // SAFETY: the pool stays in its box until the list drops it (see `Pools`).
    let pool: KBox<P> = unsafe { Pin::into_inner_unchecked(pool) };
    let erased: KBox<dyn PoolSlot<T>> = pool;
    // Cannot fail: room was reserved.
    let _ = pools.push_within_capacity(erased);
    handles.get();
    raw
}

/// Makes a pool for clones with context `C`, completed by `done` in their
/// end_io, for the target `ti` is constructing.
pub(super) fn new_pool<T: Target, C: Send + 'static>(
    pools: &mut Pools<T>,
    ti: NonNull<bindings::dm_target>,
    done: CloneDone<T, C>,
    handles: &Handles,
) -> Result<ClonePool<C>> {
    new_pool_with(pools, ti, Done::Irq(done), handles)
}

/// Makes a pool for clones with context `C`, completed by `done` in process
/// context on a queue of the pool's, for the target `ti` is constructing.
pub(super) fn new_task_pool<T: Target, C: Send + 'static>(
    pools: &mut Pools<T>,
    ti: NonNull<bindings::dm_target>,
    done: CloneDoneTask<T, C>,
    handles: &Handles,
) -> Result<ClonePool<C>> {
    let wq = OwnedQueue::new(c"rdm_clone_done")?;
    new_pool_with(pools, ti, Done::Task(done, wq), handles)
}

/// The most a bounced clone reads ([`ClonePool::clone_range_bounced`]): one
/// bio of `BIO_MAX_VECS` pages of its own.
pub(crate) const BOUNCE_MAX_BYTES: u32 = 256 * kernel::page::PAGE_SIZE as u32;

/// Where a clone's data goes: the original's pages, or pages of the
/// clone's own copied into the original's range (`bvec_iter`) when the
/// clone completes.
#[derive(Clone, Copy)]
enum Bounce {
    No,
    Into(NonNull<bindings::bio>, bindings::bvec_iter),
}

/// Makes a pool for clones with context `C` whose completion runs `first`
/// in end_io and, for the clones it hands over, `recover` in process
/// context, for the target `ti` is constructing.
pub(super) fn new_recover_pool<T: Target, C: Send + 'static>(
    pools: &mut Pools<T>,
    ti: NonNull<bindings::dm_target>,
    first: CloneDoneFirst<T, C>,
    recover: CloneRecover<T, C>,
    handles: &Handles,
) -> Result<ClonePool<C>> {
    let wq = OwnedQueue::new(c"rdm_clone_recover")?;
    new_pool_with(pools, ti, Done::Recover(first, recover, wq), handles)
}

fn new_pool_with<T: Target, C: Send + 'static>(
    pools: &mut Pools<T>,
    ti: NonNull<bindings::dm_target>,
    done: Done<T, C>,
    handles: &Handles,
) -> Result<ClonePool<C>> {
    const {
        assert!(
            core::mem::align_of::<C>() <= 8,
            "a clone's front pad is 8-byte aligned"
        )
    };
    pools.reserve(1, GFP_KERNEL)?;
    let front_pad = u32::try_from(front_pad::<T, C>()).map_err(|_| EINVAL)?;
    // Only process-context completions may read their data, and so only
    // their pools bounce: those need bvecs for the bounce pages.
    let bounces = matches!(done, Done::Task(..));
    let init = if bounces {
        bindings::rdm_bioset_init_own
    } else {
        bindings::rdm_bioset_init_pad
    };
    let pool = KBox::try_pin_init(
        try_pin_init!(Pool::<T, C> {
            bs <- bioset_with(init, front_pad),
            target: AtomicPtr::new(core::ptr::null_mut()),
            done,
        }),
        GFP_KERNEL,
    )?;
    let bs = NonNull::new(pool.bs.get()).ok_or(EINVAL)?;
    let raw = adopt(pools, pool, handles);
    // INVARIANT: the pool lives until every handle is gone (the destructor
    // drains them before it frees the pools); this handle is counted.
    Ok(ClonePool {
        pool: raw.cast(),
        bs,
        ti,
        end_io: Some(clone_endio::<T, C>),
        fill: fill_pad::<T, C>,
        bounces,
        handles: NonNull::from(handles),
        _c: PhantomData,
    })
}

const fn front_pad<T: Target, C>() -> usize {
    core::mem::size_of::<Pad<T, C>>().next_multiple_of(8)
}

/// The front pad of a clone from a `Pool<T, C>`.
///
/// # Safety
///
/// `clone` must have been allocated from such a pool.
unsafe fn pad_of<T: Target, C>(clone: NonNull<bindings::bio>) -> *mut Pad<T, C> {
    // SAFETY: the bio_set allocated the pad in front of the bio.
    unsafe { clone.as_ptr().cast::<u8>().sub(front_pad::<T, C>()).cast() }
}

/// Fills a fresh clone's front pad.
///
/// # Safety
///
/// `pool` must be a live `Pool<T, C>` and `clone` a bio allocated from it,
/// not yet submitted. A bounce must be into the bio `part` belongs to, and
/// only from a pool with a process-context completion.
unsafe fn fill_pad<T: Target, C>(
    pool: NonNull<()>,
    clone: NonNull<bindings::bio>,
    part: BioPart,
    bounce: Bounce,
    ctx: C,
) {
    // SAFETY: the pad lies right below the clone, sized and aligned for
    // `Pad<T, C>` by the bio_set; nothing else uses it. The clone is live.
    unsafe {
        let pad = pad_of::<T, C>(clone);
        match bounce {
            Bounce::No => (*pad).bounce_of = core::ptr::null_mut(),
            Bounce::Into(orig, range) => {
                (*pad).bounce_of = orig.as_ptr();
                (*pad).bounce_range.write(range);
            }
        }
        (*pad).iter.write((*clone.as_ptr()).bi_iter);
        (*pad).ctx.write(ctx);
        (*pad).part.write(part);
        (*pad).pool = pool.cast::<Pool<T, C>>().as_ptr();
    }
}

/// # Safety
///
/// Only the block layer calls this, once, when a clone from a `Pool<T, C>`
/// completes.
unsafe extern "C" fn clone_endio<T: Target, C>(clone: *mut bindings::bio) {
    let Some(clone) = NonNull::new(clone) else {
        return;
    };
    // SAFETY: the clone came from a `Pool<T, C>` whose pointer `fill_pad`
    // stored in its pad; the pool outlives the clone (see below).
    let pad = unsafe { pad_of::<T, C>(clone) };
    // SAFETY: as above; the pool and its target object live until the bio
    // the clone was made from, which waits for the clone's part, has
    // completed.
    let (pool, status) = unsafe {
        (
            &*(*pad).pool,
            bindings::blk_status_to_errno((*clone.as_ptr()).bi_status),
        )
    };
    let target = pool.target.load(Ordering::Acquire);
    let end = match &pool.done {
        Done::Task(..) => None,
        _ if target.is_null() => {
            // No target object yet, so no bio was mapped: cannot happen.
            // Fail the part rather than guess.
            // SAFETY: filled by `fill_pad`, read once.
            drop(unsafe { (*pad).ctx.assume_init_read() });
            Some(Err(EIO))
        }
        Done::Irq(done) => {
            // SAFETY: filled by `fill_pad`, read once; non-NULL `target` is
            // the live target object (type invariant of `Pool`).
            let ctx = unsafe { (*pad).ctx.assume_init_read() };
            // SAFETY: as above.
            Some(done(unsafe { &*target }, ctx, to_result(status)))
        }
        Done::Recover(first, _, _) => {
            // SAFETY: as for `Irq`.
            let ctx = unsafe { (*pad).ctx.assume_init_read() };
            // SAFETY: as above.
            match first(unsafe { &*target }, ctx, to_result(status)) {
                CloneEnd::Done(r) => Some(r),
                CloneEnd::Recover(ctx) => {
                    // SAFETY: the context slot was read out just above:
                    // the recovery reads this one.
                    unsafe { (*pad).ctx.write(ctx) };
                    None
                }
            }
        }
    };
    match (end, pool.done.queue()) {
        (Some(result), _) => {
            // SAFETY: filled by `fill_pad`, read once, before the clone is
            // freed; the clone is ours and put once.
            let part = unsafe {
                let part = (*pad).part.assume_init_read();
                bindings::bio_put(clone.as_ptr());
                part
            };
            // Last: once the part ends, the original may complete and the
            // target go.
            part.end(result);
        }
        // A plain process-context completion where the clone completed
        // inside a submit_bio() call stack, in a task that may sleep (a
        // device that completes in its submitter's context): run now,
        // saving two wake-ups per clone. Clones are dispatched after the
        // dm device's submit_bio() returned, so no lock of the target is
        // held here; synchronous I/O is refused here (`SyncIo`), and bio
        // allocations are rescued (`current->bio_list`).
        (None, Some(_)) if matches!(pool.done, Done::Task(..)) && may_sleep_here() => {
            // SAFETY: the pad is ours until `clone_work` puts the clone; it
            // reads the status stored here and the rest `fill_pad` filled,
            // once. Its work item is not used: only its address, to find
            // the pad.
            unsafe {
                (*pad).status = status;
                clone_work::<T, C>((*pad).work.get());
            }
        }
        (None, Some(wq)) => {
            // SAFETY: the pad is ours until the work puts the clone, and
            // the queue outlives the pool. The work item is not pending: a
            // pad's memory may be reused from the bio_set's mempool while
            // an earlier item there still runs its last lines, after its
            // own put (idle by then), and INIT_WORK re-initialises an idle
            // item, as dm-crypt's end_io does.
            unsafe {
                (*pad).status = status;
                bindings::rdm_queue_work_fn(
                    wq.as_ptr(),
                    (*pad).work.get(),
                    Some(clone_work::<T, C>),
                );
            }
        }
        // A queue-less pool always ends above.
        (None, None) => {}
    }
}

/// Whether the current task may sleep (see `rdm_may_sleep_here()`).
fn may_sleep_here() -> bool {
    // SAFETY: a plain query of the current context.
    unsafe { bindings::rdm_may_sleep_here() }
}

/// What a process-context completion decided.
enum Step<'t, C> {
    End(Result),
    Retry(&'t DmDev, Sector, C),
}

/// # Safety
///
/// Called once per completed clone from a `Pool<T, C>` with a
/// process-context completion, with the work item in its pad: by the
/// pool's queue, or by `clone_endio` in a task that may sleep.
unsafe extern "C" fn clone_work<T: Target, C>(work: *mut bindings::work_struct) {
    // The work item is the first field of the `repr(C)` pad, which lies
    // `front_pad` bytes below its clone.
    let pad = work.cast::<Pad<T, C>>();
    // SAFETY: the bio_set allocated the pad and the clone as one block,
    // `front_pad` bytes of pad first, so the offset stays inside it.
    let clone = unsafe { pad.cast::<u8>().add(front_pad::<T, C>()) }.cast::<bindings::bio>();
    // SAFETY: `fill_pad` filled the pad before submission and `clone_endio`
    // stored the status; each is read once, before the clone is put. The
    // pool and its target object live until the original, which waits for
    // the part, has completed. Restoring the iterator lets the completion
    // read what the clone carried (the original's bvecs, or its own).
    let (ctx, part, pool, status, sent, bounce) = unsafe {
        let sent = (*pad).iter.assume_init_read();
        (*clone).bi_iter = sent;
        let bounce = match NonNull::new((*pad).bounce_of) {
            Some(orig) => Bounce::Into(orig, (*pad).bounce_range.assume_init_read()),
            None => Bounce::No,
        };
        (
            (*pad).ctx.assume_init_read(),
            (*pad).part.assume_init_read(),
            &*(*pad).pool,
            to_result((*pad).status),
            sent,
            bounce,
        )
    };
    let target = pool.target.load(Ordering::Acquire);
    let step = match NonNull::new(clone) {
        Some(bio) if !target.is_null() => {
            // INVARIANT: the completed clone, owned here until the put
            // below, its iterator restored; the original waits for `part`.
            let data = CloneData {
                bio,
                _call: PhantomData,
            };
            // SAFETY: non-NULL: the live target object (type invariant of
            // `Pool`). Work runs in process context.
            let target = unsafe { &*target };
            match &pool.done {
                Done::Task(done, _) => Step::End(done(target, ctx, status, &data)),
                Done::Recover(_, recover, _) => match recover(target, ctx, status, &data) {
                    Recovery::Done(r) => Step::End(r),
                    Recovery::Retry(dev, sector, ctx) => Step::Retry(dev, sector, ctx),
                },
                Done::Irq(_) => {
                    drop(ctx);
                    Step::End(Err(EIO))
                }
            }
        }
        // No target object (no bio was mapped): cannot happen. Fail the
        // part rather than guess.
        _ => {
            drop(ctx);
            Step::End(Err(EIO))
        }
    };
    let mut result = match step {
        Step::End(r) => r,
        Step::Retry(dev, sector, ctx) => {
            // The old clone goes back to the mempool before the new one is
            // taken from it (a waiting allocation then always has one to
            // get). The new one is cloned from the original, not from the
            // old clone: flags the layers below set on that one (a
            // partition's BIO_REMAPPED, FUA stripped for a device without a
            // write cache) must not carry over to another device.
            // SAFETY: the clone is ours, put once, and not touched after;
            // only recovery pools retry, and they never bounce, so no pages
            // of its own are freed with it.
            unsafe { bindings::bio_put(clone) };
            // SAFETY: the original waits for `part`, so it and its bvec
            // table are live; `sent` (the old clone's iterator at
            // submission) indexes into that very table; `dev` is the
            // target's, live until the original completes; the bio_set
            // has the pad `fill_pad` writes.
            let again = unsafe {
                bindings::rdm_bio_clone_iter_to(
                    part.bio().as_ptr(),
                    dev.bdev(),
                    sector,
                    &sent,
                    pool.bs.get(),
                    Some(clone_endio::<T, C>),
                )
            };
            match NonNull::new(again) {
                Some(again) => {
                    // SAFETY: `again` is fresh from this pool; the part
                    // moves to it; once filled, it is the block layer's.
                    unsafe {
                        fill_pad::<T, C>(NonNull::from(pool).cast(), again, part, Bounce::No, ctx);
                        bindings::submit_bio_noacct(again.as_ptr());
                    }
                    return;
                }
                None => {
                    // As if the retry had failed at once: the target's
                    // first completion sees it (and keeps its counts); the
                    // range was not read, so the part fails whatever it says.
                    if let Done::Recover(first, _, _) = &pool.done {
                        // SAFETY: `target` is non-NULL here (a retry comes
                        // from a recovery, which only runs with a target).
                        drop(first(unsafe { &*target }, ctx, Err(ENOMEM)));
                    }
                    part.end(Err(ENOMEM));
                    return;
                }
            }
        }
    };
    if let (Bounce::Into(..), Err(e)) = (bounce, status) {
        // The original's range was never filled: it must not complete as
        // if it had been, whatever the completion said.
        result = result.and(Err(e));
    }
    if let Bounce::Into(orig, range) = bounce {
        // What the device read reaches the original only now, after the
        // completion took what it keeps from pages nobody else can write.
        // SAFETY: the original waits for `part`, so it and its pages are
        // live, and `range` lies inside it (`fill_pad`'s contract); the
        // clone is a completed bounce with its iterator at submission, ours.
        unsafe {
            bindings::rdm_bio_bounce_end(orig.as_ptr(), &range, clone, &sent, status.is_ok())
        };
    }
    // SAFETY: the clone is ours and put once; nothing reads it after.
    unsafe { bindings::bio_put(clone) };
    // Last: once the part ends, the original may complete and the target
    // go; what is left only returns (to the pool's queue, drained before
    // the pool is freed, or to the clone's end_io).
    part.end(result);
}

/// A handle to a pool of target-owned clones with context `C`
/// ([`super::TargetCtx::clone_pool`]).
///
/// # Invariants
///
/// `pool` is a live `Pool<T, C>` of the target `ti`, `bs` its bio_set, and
/// `end_io` and `fill` are `clone_endio::<T, C>` and `fill_pad::<T, C>` for
/// that `T`; all live as long as this handle, which is counted in
/// `*handles`. `bounces` says whether the pool completes in process context
/// (and its bio_set has bvecs).
pub(crate) struct ClonePool<C> {
    pool: NonNull<()>,
    bs: NonNull<bindings::bio_set>,
    ti: NonNull<bindings::dm_target>,
    end_io: bindings::bio_end_io_t,
    fill: unsafe fn(NonNull<()>, NonNull<bindings::bio>, BioPart, Bounce, C),
    bounces: bool,
    handles: NonNull<Handles>,
    _c: PhantomData<fn(C)>,
}

// SAFETY: submitting clones is thread-safe; the count is atomic.
unsafe impl<C: Send> Send for ClonePool<C> {}
// SAFETY: as above.
unsafe impl<C: Send> Sync for ClonePool<C> {}

impl<C> ClonePool<C> {
    /// Allocates a clone of `src` (or of the byte range `range` of it) for
    /// `dev` at `sector`, or NULL; with `bounce`, a read of the range into
    /// pages of the clone's own, and where in `src` they go.
    fn alloc(
        &self,
        src: NonNull<bindings::bio>,
        dev: &DmDev,
        sector: Sector,
        range: Option<(u32, u32)>,
        bounce: bool,
    ) -> (*mut bindings::bio, Bounce) {
        // SAFETY: `src` is a live bio being mapped; `dev` holds its block
        // device; `bs` has the front pad `fill` writes (and bvecs for a
        // bounce: only task pools bounce); `end_io` matches it. A range was
        // checked by the caller to lie inside `src` in whole sectors.
        unsafe {
            match (range, bounce) {
                (None, _) => (
                    bindings::rdm_bio_clone_to(
                        src.as_ptr(),
                        dev.bdev(),
                        sector,
                        self.bs.as_ptr(),
                        self.end_io,
                    ),
                    Bounce::No,
                ),
                (Some((off, len)), false) => (
                    bindings::rdm_bio_clone_range_to(
                        src.as_ptr(),
                        dev.bdev(),
                        sector,
                        off,
                        len,
                        self.bs.as_ptr(),
                        self.end_io,
                    ),
                    Bounce::No,
                ),
                (Some((off, len)), true) => {
                    let mut into = bindings::bvec_iter::default();
                    let clone = bindings::rdm_bio_bounce_range_to(
                        src.as_ptr(),
                        dev.bdev(),
                        sector,
                        off,
                        len,
                        self.bs.as_ptr(),
                        self.end_io,
                        &mut into,
                    );
                    (clone, Bounce::Into(src, into))
                }
            }
        }
    }

    /// Fills and submits a clone that owns `part`.
    fn launch(&self, clone: NonNull<bindings::bio>, part: BioPart, bounce: Bounce, ctx: C) {
        // SAFETY: by the type invariant `fill` belongs to `pool`, from which
        // `clone` was allocated; a bounce (only from a task pool, see
        // `clone_with`) goes into the bio `part` belongs to. Once filled, the
        // clone is the block layer's.
        unsafe {
            (self.fill)(self.pool, clone, part, bounce, ctx);
            bindings::submit_bio_noacct(clone.as_ptr());
        }
    }

    /// Sends a copy of `bio` (being mapped by this pool's target) to `dev`
    /// at `sector`, with context `ctx`. `bio` then completes only once the
    /// copy has, as the pool's completion function decides, and can no
    /// longer be killed or requeued. A bio of another target (or on
    /// allocation failure) comes back with `ctx`.
    pub(crate) fn clone_bio<'a, P>(
        &self,
        bio: Bio<'a, P>,
        dev: &'a DmDev,
        sector: Sector,
        ctx: C,
    ) -> Result<ChainedBio<'a, P>, (Bio<'a, P>, C)> {
        self.clone_any(bio, dev, sector, None, ctx)
    }

    /// [`ClonePool::clone_bio`] for a bio that is chained already.
    pub(crate) fn clone_chained_bio<'a, P>(
        &self,
        bio: ChainedBio<'a, P>,
        dev: &'a DmDev,
        sector: Sector,
        ctx: C,
    ) -> Result<ChainedBio<'a, P>, (ChainedBio<'a, P>, C)> {
        self.clone_any(bio, dev, sector, None, ctx)
    }

    /// [`ClonePool::clone_bio`] for the `len` bytes `bio_off` into `bio`
    /// only (a cache sending the misses of a read to the backing device).
    /// The range must be non-empty, in whole sectors and inside the bio;
    /// otherwise the bio comes back with `ctx`.
    pub(crate) fn clone_range<'a, P>(
        &self,
        bio: Bio<'a, P>,
        dev: &'a DmDev,
        sector: Sector,
        (bio_off, len): (u32, u32),
        ctx: C,
    ) -> Result<ChainedBio<'a, P>, (Bio<'a, P>, C)> {
        self.clone_any(bio, dev, sector, Some((bio_off, len)), ctx)
    }

    /// [`ClonePool::clone_range`] for a bio that is chained already.
    pub(crate) fn clone_chained_range<'a, P>(
        &self,
        bio: ChainedBio<'a, P>,
        dev: &'a DmDev,
        sector: Sector,
        range: (u32, u32),
        ctx: C,
    ) -> Result<ChainedBio<'a, P>, (ChainedBio<'a, P>, C)> {
        self.clone_any(bio, dev, sector, Some(range), ctx)
    }

    /// [`ClonePool::clone_range`] for a read whose data the completion
    /// keeps (a cache filling on a miss): the device reads into pages of
    /// the clone's own, which the completion's [`CloneData`] shows and the
    /// layer copies into `bio` after it. The reader's pages (user memory
    /// under `O_DIRECT`, which another thread may rewrite while the read is
    /// in flight) are never what the completion reads. Only for reads, from
    /// a pool made with [`super::TargetCtx::clone_pool_task`]; the bio also
    /// comes back if the bounce pages cannot be had (the caller may then
    /// read into the bio's own pages, keeping nothing).
    pub(crate) fn clone_range_bounced<'a, P>(
        &self,
        bio: Bio<'a, P>,
        dev: &'a DmDev,
        sector: Sector,
        range: (u32, u32),
        ctx: C,
    ) -> Result<ChainedBio<'a, P>, (Bio<'a, P>, C)> {
        self.clone_with(bio, dev, sector, Some(range), true, ctx)
    }

    /// [`ClonePool::clone_range_bounced`] for a bio that is chained already.
    pub(crate) fn clone_chained_range_bounced<'a, P>(
        &self,
        bio: ChainedBio<'a, P>,
        dev: &'a DmDev,
        sector: Sector,
        range: (u32, u32),
        ctx: C,
    ) -> Result<ChainedBio<'a, P>, (ChainedBio<'a, P>, C)> {
        self.clone_with(bio, dev, sector, Some(range), true, ctx)
    }

    fn clone_any<'a, P, B: BeingMapped<'a, P> + BioData>(
        &self,
        bio: B,
        dev: &'a DmDev,
        sector: Sector,
        range: Option<(u32, u32)>,
        ctx: C,
    ) -> Result<ChainedBio<'a, P>, (B, C)> {
        self.clone_with(bio, dev, sector, range, false, ctx)
    }

    fn clone_with<'a, P, B: BeingMapped<'a, P> + BioData>(
        &self,
        bio: B,
        dev: &'a DmDev,
        sector: Sector,
        range: Option<(u32, u32)>,
        bounce: bool,
        ctx: C,
    ) -> Result<ChainedBio<'a, P>, (B, C)> {
        if bio.target() != self.ti {
            return Err((bio, ctx));
        }
        // A bounce is copied into the bio: a read's pages only (a write's
        // are the writer's data), and only by a process-context completion.
        if bounce && (!self.bounces || op_of(bio.raw()) != Op::Read) {
            return Err((bio, ctx));
        }
        if let Some((off, len)) = range {
            let sectors_ok = (off | len) % (1 << SECTOR_SHIFT) == 0;
            if len == 0 || !sectors_ok || !bio.data_range_ok(off, len) {
                return Err((bio, ctx));
            }
        }
        let (clone, into) = self.alloc(bio.raw(), dev, sector, range, bounce);
        let Some(clone) = NonNull::new(clone) else {
            return Err((bio, ctx));
        };
        // The part is of the bio a bounce goes into (`fill_pad`'s contract).
        let (chained, part) = bio.take_part();
        self.launch(clone, part, into, ctx);
        Ok(chained)
    }
}

impl<C> Drop for ClonePool<C> {
    fn drop(&mut self) {
        // SAFETY: by the type invariant the count is live; this handle was
        // counted in it.
        unsafe { Handles::put(self.handles) };
    }
}
