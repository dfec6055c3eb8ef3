// SPDX-License-Identifier: GPL-2.0

//! Target-owned I/O: reads, writes and flushes a target makes on its own
//! devices with its own memory, not on behalf of a bio it was given (a RAID
//! rebuild copying a chunk between legs, a cache writing dirty data back).
//!
//! Nothing in dm core waits for such I/O, so the layer does: each request
//! counts in its pool's in-flight count, and the destructor trampoline
//! closes the pool and waits for that count to drain before it drops the
//! target object. A request owns everything it uses while in flight: its
//! [`IoBuf`] (the target gets it back in the completion), a counted handle
//! to the device, and the context `C`.

use super::clone::{adopt, bioset_with};
use super::dev::{DmDev, Handles};
use super::{bindings, PmemDev, Sector, Target, SECTOR_SHIFT};
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use kernel::error::to_result;
use kernel::page::{Page, PAGE_SIZE};
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::types::Opaque;

/// The most one request moves: one bio of `BIO_MAX_VECS` pages.
pub(crate) const IO_MAX_BYTES: usize = 256 * PAGE_SIZE;

/// Memory a target reads into or writes from, never holding stale kernel
/// memory: pages of its own, zeroed, or the bytes of a persistent-memory
/// mapping that a write sends as they are ([`PmemDev::write_source`]).
///
/// # Invariants
///
/// `len` is a multiple of 512 and at most [`IO_MAX_BYTES`].
///
/// With [`Mem::Pages`], `pages` holds exactly `len.div_ceil(PAGE_SIZE)`
/// pages, owned by this buffer alone (in flight, the buffer is owned by the
/// request, so nothing else reads or writes the pages while the device
/// does). Each byte of the pages was written since they were allocated
/// (zeroed then).
///
/// With [`Mem::Pmem`], `[off, off + len)` lies inside `pmem`'s mapping,
/// `off` is a multiple of 512, the range spans at most `BIO_MAX_VECS`
/// pages, and no media error is known in it.
/// Such a buffer is only ever written to a device (nothing reads into it):
/// the layer never lends it out as memory, so that stores the target makes
/// to those bytes meanwhile are races on device memory that the target
/// must order (as for every pmem access), not undefined behaviour.
///
/// [`PmemDev::write_source`]: super::PmemDev::write_source
pub(crate) struct IoBuf {
    mem: Mem,
    len: usize,
}

enum Mem {
    Pages(KVec<Page>),
    /// Bytes at `off` of `pmem`, which the reference keeps mapped.
    Pmem {
        pmem: Arc<PmemDev>,
        off: usize,
    },
}

impl IoBuf {
    /// A buffer of `len` bytes, zero-filled (never stale kernel memory, which
    /// a write would put on disk), allocated with `flags` (`GFP_KERNEL` in
    /// the constructor; in the I/O path, `GFP_NOWAIT` and a fallback, since
    /// reclaim may wait on this very device). `len` must be a non-zero
    /// multiple of 512 up to [`IO_MAX_BYTES`].
    pub(crate) fn new(len: usize, flags: kernel::alloc::Flags) -> Result<Self> {
        if len == 0 || len % 512 != 0 || len > IO_MAX_BYTES {
            return Err(EINVAL);
        }
        let n = len.div_ceil(PAGE_SIZE);
        let mut pages = KVec::with_capacity(n, flags)?;
        for _ in 0..n {
            pages.push(Page::alloc_page(flags | __GFP_ZERO)?, flags)?;
        }
        // INVARIANT: checked above; the pages are fresh and ours.
        Ok(Self {
            mem: Mem::Pages(pages),
            len,
        })
    }

    /// The buffer of a flush: no data.
    pub(crate) fn empty() -> Self {
        // INVARIANT: zero bytes in zero pages.
        Self {
            mem: Mem::Pages(KVec::new()),
            len: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// `len` bytes at `off` of `pmem`, to be written to a device as they
    /// are.
    ///
    /// # Safety
    ///
    /// `[off, off + len)` lies inside `pmem`'s mapping, `off` and `len` are
    /// multiples of 512, `len` is at most [`IO_MAX_BYTES`], the range spans
    /// at most `BIO_MAX_VECS` pages and no media error is known in it.
    pub(super) unsafe fn pmem(pmem: Arc<PmemDev>, off: usize, len: usize) -> Self {
        // INVARIANT: the caller's contract.
        Self {
            mem: Mem::Pmem { pmem, off },
            len,
        }
    }

    /// Whether a device may fill the buffer (not one of pmem, which only a
    /// write sends).
    fn may_read_into(&self) -> bool {
        matches!(self.mem, Mem::Pages(_))
    }

    /// The vecs a bio for the buffer needs: at most `BIO_MAX_VECS` (type
    /// invariant), so it fits `unsigned short`.
    fn nr_vecs(&self) -> u16 {
        let n = match &self.mem {
            Mem::Pages(pages) => pages.len(),
            Mem::Pmem { off, .. } => (off % PAGE_SIZE + self.len).div_ceil(PAGE_SIZE),
        };
        n as u16
    }

    /// Adds the buffer's memory to `bio`.
    ///
    /// # Safety
    ///
    /// `bio` is a bio being built, with room for [`Self::nr_vecs`] more
    /// vecs, and the buffer (which keeps its memory) outlives its I/O.
    unsafe fn add_to(&self, bio: NonNull<bindings::bio>) {
        match &self.mem {
            Mem::Pages(pages) => {
                let mut left = self.len;
                for page in pages.iter() {
                    let n = left.min(PAGE_SIZE);
                    // SAFETY: one vec per page (the caller's room); the
                    // page is the buffer's, which outlives the I/O.
                    unsafe {
                        bindings::rdm_bio_add_page(bio.as_ptr(), page.as_ptr().cast(), n as u32)
                    };
                    left -= n;
                }
            }
            Mem::Pmem { pmem, off } => {
                let (mut at, end) = (*off, *off + self.len);
                while at < end {
                    let n = (PAGE_SIZE - at % PAGE_SIZE).min(end - at);
                    // SAFETY: `[at, at + n)` lies inside one page of the
                    // mapping (type invariant), which the buffer's
                    // reference keeps mapped through the I/O; one vec per
                    // page the range spans (the caller's room).
                    unsafe {
                        bindings::rdm_bio_add_kaddr(bio.as_ptr(), pmem.kaddr(at).cast(), n as u32)
                    };
                    at += n;
                }
            }
        }
    }

    /// Each page with the range `offset..offset + len` of the buffer it holds,
    /// as (page, offset in page, length); `EINVAL` for a range outside the
    /// buffer or a buffer of pmem (which is not lent out).
    fn chunks(
        &self,
        offset: usize,
        len: usize,
    ) -> Result<impl Iterator<Item = (&Page, usize, usize)>> {
        let end = offset.checked_add(len).ok_or(EINVAL)?;
        let Mem::Pages(pages) = &self.mem else {
            return Err(EINVAL);
        };
        if end > self.len {
            return Err(EINVAL);
        }
        Ok(pages.iter().enumerate().filter_map(move |(i, page)| {
            let start = (i * PAGE_SIZE).max(offset);
            let stop = ((i + 1) * PAGE_SIZE).min(end);
            (start < stop).then(|| (page, start - i * PAGE_SIZE, stop - start))
        }))
    }

    /// Copies `src` into the buffer at `offset`.
    pub(crate) fn write_at(&mut self, offset: usize, src: &[u8]) -> Result {
        let mut done = 0;
        for (page, at, n) in self.chunks(offset, src.len())? {
            // SAFETY: `src[done..done + n]` is in bounds (the chunks cover
            // `src.len()` bytes in order); `&mut self` excludes any other
            // access to the pages (type invariant).
            unsafe { page.write_raw(src.as_ptr().add(done), at, n)? };
            done += n;
        }
        Ok(())
    }

    /// Copies the buffer at `offset` into `dst`.
    pub(crate) fn read_at(&self, offset: usize, dst: &mut [u8]) -> Result {
        let mut done = 0;
        for (page, at, n) in self.chunks(offset, dst.len())? {
            // SAFETY: as in `write_at`; only `&self` readers exist.
            unsafe { page.read_raw(dst.as_mut_ptr().add(done), at, n)? };
            done += n;
        }
        Ok(())
    }
}

/// What a request does.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum IoOp {
    /// Fills the buffer from the device.
    Read,
    /// Writes the buffer.
    Write,
    /// Writes the buffer with FUA: on stable media when it completes.
    WriteFua,
    /// An empty flush (`REQ_PREFLUSH`): everything completed before is on
    /// stable media when it completes. Takes [`IoBuf::empty`].
    Flush,
}

/// What the completion of a request with context `C` runs: the target
/// object, the context, the buffer back and the request's status. May run in
/// interrupt context: it must not sleep, so it cannot submit (hand follow-up
/// I/O to a work item).
pub(crate) type IoDone<T, C> = fn(&T, C, IoBuf, Result);

/// The front pad of a request's bio.
#[repr(C)]
struct Pad<T: Target, C> {
    ctx: MaybeUninit<C>,
    buf: MaybeUninit<IoBuf>,
    dev: MaybeUninit<DmDev>,
    pool: *const Pool<T, C>,
}

const fn front_pad<T: Target, C>() -> usize {
    core::mem::size_of::<Pad<T, C>>().next_multiple_of(8)
}

/// The bio_set of one I/O pool, its in-flight count and its completion.
///
/// # Invariants
///
/// `bs` was initialised by `bioset_init()` with bvecs and a front pad for
/// `Pad<T, C>`, and is exited only by `drop`, after `stop` drained
/// `inflight`. `target` is NULL until `start`, then the live target object
/// until `stop` returns. While `open`, `target` is non-NULL; every request
/// in flight holds a count of `inflight`.
#[pin_data(PinnedDrop)]
pub(super) struct Pool<T: Target, C> {
    #[pin]
    bs: Opaque<bindings::bio_set>,
    #[pin]
    inflight: Handles,
    open: AtomicBool,
    target: AtomicPtr<T>,
    done: IoDone<T, C>,
}

// SAFETY: after construction only atomics and the bio_set (thread-safe
// allocation) are used; contexts move between threads with their requests.
unsafe impl<T: Target, C: Send> Send for Pool<T, C> {}
// SAFETY: as above.
unsafe impl<T: Target, C: Send> Sync for Pool<T, C> {}

#[pinned_drop]
impl<T: Target, C> PinnedDrop for Pool<T, C> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: by the type invariant `bs` is initialised; the pool is
        // dropped by the destructor trampoline after `stop` drained every
        // request, or without having been opened.
        unsafe { bindings::bioset_exit(self.bs.get()) };
    }
}

impl<T: Target, C: Send> super::clone::PoolSlot<T> for Pool<T, C> {
    fn start(&self, target: &T) {
        // INVARIANT: the pinned target object, alive until `stop` returns;
        // set before the pool opens.
        self.target
            .store(core::ptr::from_ref(target).cast_mut(), Ordering::Release);
        self.open.store(true, Ordering::Release);
    }

    fn stop(&self) {
        // Refuse new requests, then wait for those in flight: their
        // completions call the target object, which is dropped next.
        self.open.store(false, Ordering::Release);
        self.inflight.drain();
        self.target.store(core::ptr::null_mut(), Ordering::Release);
    }
}

/// Makes a pool for requests with context `C`, completed by `done`.
pub(super) fn new_io_pool<T: Target, C: Send + 'static>(
    pools: &mut super::clone::Pools<T>,
    done: IoDone<T, C>,
    handles: &Handles,
) -> Result<IoPool<C>> {
    const {
        assert!(
            core::mem::align_of::<C>() <= 8,
            "a request's front pad is 8-byte aligned"
        )
    };
    pools.reserve(1, GFP_KERNEL)?;
    let front_pad = u32::try_from(front_pad::<T, C>()).map_err(|_| EINVAL)?;
    let pool = KBox::try_pin_init(
        try_pin_init!(Pool::<T, C> {
            bs <- bioset_with(bindings::rdm_bioset_init_own, front_pad),
            inflight <- Handles::new(),
            open: AtomicBool::new(false),
            target: AtomicPtr::new(core::ptr::null_mut()),
            done,
        }),
        GFP_KERNEL,
    )?;
    let raw = adopt(pools, pool, handles);
    // INVARIANT: the pool lives until every handle is gone (the destructor
    // drains them before it frees the pools); this handle is counted.
    Ok(IoPool {
        pool: raw.cast(),
        submit: submit_raw::<T, C>,
        handles: NonNull::from(handles),
        _c: PhantomData,
    })
}

/// Allocates, fills and submits one request.
///
/// # Safety
///
/// `pool` must be a live `Pool<T, C>`.
unsafe fn submit_raw<T: Target, C: Send>(
    pool: NonNull<()>,
    dev: &DmDev,
    op: IoOp,
    sector: Sector,
    buf: IoBuf,
    ctx: C,
) -> Result<(), (IoBuf, C, Error)> {
    // SAFETY: the caller guarantees a live `Pool<T, C>`.
    let pool = unsafe { pool.cast::<Pool<T, C>>().as_ref() };
    let opf = match (op, buf.len()) {
        (IoOp::Flush, 0) => bindings::REQ_OP_WRITE | bindings::REQ_PREFLUSH,
        (IoOp::Read, 1..) => bindings::REQ_OP_READ,
        (IoOp::Write, 1..) => bindings::REQ_OP_WRITE,
        (IoOp::WriteFua, 1..) => bindings::REQ_OP_WRITE | bindings::REQ_FUA,
        _ => return Err((buf, ctx, EINVAL)),
    };
    if op != IoOp::Read && !dev.writable() {
        return Err((buf, ctx, EROFS));
    }
    // Counted before the pool is seen open, so that `stop` either waits for
    // this request or this request sees the pool closed (or drained: then
    // the count is zero and stays so).
    if !pool.inflight.try_get() {
        return Err((buf, ctx, ENODEV));
    }
    if !pool.open.load(Ordering::Acquire) {
        // SAFETY: the count taken just above, given back.
        unsafe { Handles::put(NonNull::from(&pool.inflight)) };
        return Err((buf, ctx, ENODEV));
    }
    if op == IoOp::Read && !buf.may_read_into() {
        // SAFETY: the count taken above, given back.
        unsafe { Handles::put(NonNull::from(&pool.inflight)) };
        return Err((buf, ctx, EINVAL));
    }
    // SAFETY: `dev` holds its block device; `bs` has bvecs and the front pad
    // `Pad<T, C>`; GFP_NOIO from the bio_set's mempool does not fail.
    let bio = unsafe {
        bindings::rdm_bio_alloc_own(
            dev.bdev(),
            buf.nr_vecs(),
            opf,
            sector,
            pool.bs.get(),
            Some(endio::<T, C>),
        )
    };
    let Some(bio) = NonNull::new(bio) else {
        // SAFETY: the count taken above, given back.
        unsafe { Handles::put(NonNull::from(&pool.inflight)) };
        return Err((buf, ctx, ENOMEM));
    };
    // SAFETY: the bio was made with room for `buf.nr_vecs()` vecs; `buf` is
    // owned by the request until it completes.
    unsafe { buf.add_to(bio) };
    // SAFETY: the pad lies right below the bio, sized and aligned for
    // `Pad<T, C>`. The bio is complete (device, sector, pages, `endio` for
    // this pool's `Pad<T, C>`) and counted in flight; once filled, it is the
    // block layer's, which calls `endio` once.
    unsafe {
        let pad = bio
            .as_ptr()
            .cast::<u8>()
            .sub(front_pad::<T, C>())
            .cast::<Pad<T, C>>();
        (*pad).ctx.write(ctx);
        (*pad).buf.write(buf);
        (*pad).dev.write(dev.another());
        (*pad).pool = pool;
        bindings::submit_bio_noacct(bio.as_ptr());
    }
    Ok(())
}

/// # Safety
///
/// Only the block layer calls this, once, when a request's bio from a
/// `Pool<T, C>` completes.
unsafe extern "C" fn endio<T: Target, C>(bio: *mut bindings::bio) {
    let Some(bio) = NonNull::new(bio) else {
        return;
    };
    // SAFETY: the bio came from a `Pool<T, C>` and `submit_raw` filled its
    // pad; it is read once, before the bio is freed. The pool lives while
    // the request holds its in-flight count, and so does the target object
    // (`stop` waits for the count before the target is dropped).
    let (ctx, buf, dev, pool, status) = unsafe {
        let pad = bio
            .as_ptr()
            .cast::<u8>()
            .sub(front_pad::<T, C>())
            .cast::<Pad<T, C>>();
        let status = bindings::blk_status_to_errno((*bio.as_ptr()).bi_status);
        let r = (
            (*pad).ctx.assume_init_read(),
            (*pad).buf.assume_init_read(),
            (*pad).dev.assume_init_read(),
            (*pad).pool,
            to_result(status),
        );
        bindings::bio_put(bio.as_ptr());
        r
    };
    // SAFETY: see above: live while this request's count is held.
    let pool_ref = unsafe { &*pool };
    let target = pool_ref.target.load(Ordering::Acquire);
    if !target.is_null() {
        // SAFETY: non-NULL while the pool holds requests (type invariant
        // of `Pool`): the live target object.
        (pool_ref.done)(unsafe { &*target }, ctx, buf, status);
    }
    drop(dev);
    let inflight = NonNull::from(&pool_ref.inflight);
    // SAFETY: the request's count, given up last: `stop` may free the pool
    // once it is, and nothing of the pool is touched after.
    unsafe { Handles::put(inflight) };
}

/// A handle to a pool of target-owned requests with context `C`
/// ([`super::TargetCtx::io_pool`]).
///
/// # Invariants
///
/// `pool` is a live `Pool<T, C>` of this handle's target and `submit` is
/// `submit_raw::<T, C>` for that `T`; the pool lives as long as this
/// handle, which is counted in `*handles`.
pub(crate) struct IoPool<C> {
    pool: NonNull<()>,
    #[expect(clippy::type_complexity, reason = "one monomorphised function pointer")]
    submit: unsafe fn(NonNull<()>, &DmDev, IoOp, Sector, IoBuf, C) -> Result<(), (IoBuf, C, Error)>,
    handles: NonNull<Handles>,
    _c: PhantomData<fn(C)>,
}

// SAFETY: submitting is thread-safe; the count is atomic.
unsafe impl<C: Send> Send for IoPool<C> {}
// SAFETY: as above.
unsafe impl<C: Send> Sync for IoPool<C> {}

impl<C> IoPool<C> {
    /// Sends `op` on `buf` to `dev` at `sector`; the pool's completion gets
    /// `ctx` and `buf` back. Refused with the buffer and context back
    /// (`ENODEV`) before the target object exists and once its teardown
    /// began, (`EROFS`) for a write to a device the table opened read-only,
    /// or (`EINVAL`) for a flush with data or data I/O without. Process
    /// context: it may sleep for the bio allocation. The completion may run
    /// before `submit` returns (a request the block layer fails at once),
    /// so the caller must not hold a lock the completion takes.
    pub(crate) fn submit(
        &self,
        dev: &DmDev,
        op: IoOp,
        sector: Sector,
        buf: IoBuf,
        ctx: C,
    ) -> Result<(), (IoBuf, C, Error)> {
        kernel::task::might_sleep();
        // SAFETY: by the type invariant `pool` is live and `submit` matches it.
        unsafe { (self.submit)(self.pool, dev, op, sector, buf, ctx) }
    }

    /// The sectors `len` bytes of I/O take.
    pub(crate) fn sectors(len: usize) -> Sector {
        (len >> SECTOR_SHIFT) as Sector
    }
}

impl<C> Drop for IoPool<C> {
    fn drop(&mut self) {
        // SAFETY: by the type invariant the count is live; this handle was
        // counted in it.
        unsafe { Handles::put(self.handles) };
    }
}

/// Synchronous target-owned I/O, for process-context work that needs the
/// answer before it goes on: a RAID rewriting a bad range from another copy
/// and reading it back, as md's `fix_read_error()` does with
/// `sync_page_io()`. The request borrows the device, the buffer and this
/// bio_set until it completed, so none can go away under it.
///
/// # Invariants
///
/// `bs` was initialised by `bioset_init()` with bvecs and a rescuer, and is
/// exited only by `drop`; no request is in flight then (each borrows
/// `self` until it completed).
pub(crate) struct SyncIo {
    bs: Pin<KBox<Opaque<bindings::bio_set>>>,
}

// SAFETY: bio_set allocation is thread-safe (mempool-backed).
unsafe impl Send for SyncIo {}
// SAFETY: as above; `&SyncIo` only allocates from it.
unsafe impl Sync for SyncIo {}

impl SyncIo {
    /// Process context.
    pub(crate) fn new() -> Result<Self> {
        let bs = KBox::pin(Opaque::<bindings::bio_set>::zeroed(), GFP_KERNEL)?;
        // SAFETY: `bs` is zeroed memory for a bio_set at a stable address,
        // as bioset_init() expects.
        to_result(unsafe { bindings::rdm_bioset_init_own(bs.get(), 0) })?;
        // INVARIANT: initialised above.
        Ok(Self { bs })
    }

    /// Does `op` on `buf` at `sector` of `dev` and waits for it. Process
    /// context, and not under `submit_bio()` (a target's `map`): there the
    /// request would only be issued after the caller returns, so it is
    /// refused with `EDEADLK` (and a warning, once). `EROFS` for a write to a device the table
    /// opened read-only; `EINVAL` for a flush with data or data I/O without.
    pub(crate) fn io(&self, dev: &DmDev, op: IoOp, sector: Sector, buf: &mut IoBuf) -> Result {
        kernel::task::might_sleep();
        let opf = match (op, buf.len()) {
            (IoOp::Flush, 0) => bindings::REQ_OP_WRITE | bindings::REQ_PREFLUSH,
            (IoOp::Read, 1..) => bindings::REQ_OP_READ,
            (IoOp::Write, 1..) => bindings::REQ_OP_WRITE,
            (IoOp::WriteFua, 1..) => bindings::REQ_OP_WRITE | bindings::REQ_FUA,
            _ => return Err(EINVAL),
        } | bindings::REQ_SYNC;
        if op != IoOp::Read && !dev.writable() {
            return Err(EROFS);
        }
        if op == IoOp::Read && !buf.may_read_into() {
            return Err(EINVAL);
        }
        // SAFETY: `dev` holds its block device; `bs` has bvecs; GFP_NOIO
        // from the bio_set's mempool does not fail. No end_io: the wait
        // below sets its own.
        let bio = unsafe {
            bindings::rdm_bio_alloc_own(dev.bdev(), buf.nr_vecs(), opf, sector, self.bs.get(), None)
        };
        let bio = NonNull::new(bio).ok_or(ENOMEM)?;
        // SAFETY: the bio was made with room for `buf.nr_vecs()` vecs; `buf`
        // is borrowed mutably until the request completed.
        unsafe { buf.add_to(bio) };
        // SAFETY: the bio is complete and ours; the helper submits it, waits
        // for it and puts it (or only puts it, under submit_bio()).
        to_result(unsafe { bindings::rdm_bio_submit_wait(bio.as_ptr()) })
    }
}

impl Drop for SyncIo {
    fn drop(&mut self) {
        // SAFETY: initialised by the type invariant; no request in flight.
        unsafe { bindings::bioset_exit(self.bs.get()) };
    }
}
