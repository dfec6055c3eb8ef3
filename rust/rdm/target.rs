// SPDX-License-Identifier: GPL-2.0

//! The `Target` trait and the views of `struct dm_target` its hooks get.
//!
//! Who owns what (Documentation/rdm.rst states it once for all types):
//! dm core owns the `dm_target`; the layer owns the target object (pinned,
//! built by `ctr`'s initializer, dropped in the destructor trampoline) and
//! every table device (`DmDev` is a counted handle to one). Views such as
//! [`TargetInfo`] borrow the `dm_target` for one callback only.

use super::bio::{Bio, BlkStatus, EndingBio, Mapped};
use super::clone::{
    new_pool, new_recover_pool, new_task_pool, CloneDone, CloneDoneFirst, CloneDoneTask, ClonePool,
    CloneRecover, Pools,
};
use super::delayed::{DelayedWork, Timers};
use super::dev::{DevTable, DmDev};
use super::io::{new_io_pool, IoDone, IoPool};
use super::{bindings, Sector, StatusType, StatusWriter};
use core::convert::Infallible;
use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::error::{to_result, VTABLE_DEFAULT_ERROR};
use kernel::ffi::c_void;
use kernel::prelude::*;
use kernel::str::CString;

/// What `end_io` decided (`DM_ENDIO_*`).
///
/// There is no `DM_ENDIO_INCOMPLETE`: a target that keeps a bio in `end_io`
/// must be able to finish it later, and the layer has no type for that yet
/// (read retry arrives with the RAID target, with `dm_bio_record`-style
/// restore). Without one, a kept bio would hang the device on suspend.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum EndIo {
    /// Complete the bio with its (possibly changed) status.
    Done,
    /// Push the bio back to dm core. For bio-based targets dm core only
    /// honours this during a noflush suspend (multipath's use); otherwise
    /// the bio fails.
    Requeue,
}

impl EndIo {
    pub(super) fn to_c(self) -> kernel::ffi::c_int {
        (match self {
            Self::Done => bindings::DM_ENDIO_DONE,
            Self::Requeue => bindings::DM_ENDIO_REQUEUE,
        }) as kernel::ffi::c_int
    }
}

/// A constructor failure: the message dm core logs (as `ti->error`, with the
/// device and target name) and the error code returned to userspace.
#[derive(Debug)]
pub(crate) struct CtrError {
    pub(crate) msg: &'static CStr,
    pub(crate) err: Error,
}

impl CtrError {
    /// An allocation failed: `-ENOMEM`.
    pub(crate) fn oom() -> Self {
        Self {
            msg: c"Out of memory",
            err: ENOMEM,
        }
    }
}

impl From<&'static CStr> for CtrError {
    /// A bad table: `-EINVAL` with `msg`.
    fn from(msg: &'static CStr) -> Self {
        Self { msg, err: EINVAL }
    }
}

impl From<Infallible> for CtrError {
    /// Lets infallible initializers (`new_mutex!`, `new_spinlock!`) take part
    /// in a `try_pin_init!` whose error is `CtrError`.
    fn from(e: Infallible) -> Self {
        match e {}
    }
}

/// The `DM_TARGET_*` flags a target type may declare: only those whose
/// contract the layer keeps. (`NOWAIT` would need a `map` that never blocks,
/// zoned and integrity flags hooks the layer does not have.)
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Features(u64);

impl Features {
    pub(crate) const NONE: Self = Self(0);
    /// The target must be the only one in its table.
    pub(crate) const SINGLETON: Self = Self(bindings::DM_TARGET_SINGLETON as u64);
    /// The device stays writable even when a device below is read-only.
    pub(crate) const ALWAYS_WRITEABLE: Self = Self(bindings::DM_TARGET_ALWAYS_WRITEABLE as u64);

    /// Both sets of flags.
    pub(crate) const fn with(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    pub(super) const fn bits(self) -> u64 {
        self.0
    }
}

/// The initializer of a target object built by value, without pinned
/// fields of its own, for [`Target::ctr`].
pub(crate) fn ready<T>(value: T) -> impl PinInit<T, CtrError> {
    Ok::<T, CtrError>(value)
}

/// The context of a hook that runs in process context and may sleep: the
/// constructor, status, message, the suspend/resume hooks.
pub(crate) enum Process {}

/// The context of the I/O hooks: `map` (submission context: it may block
/// on a mempool, but must not wait for other I/O) and `end_io` (which may
/// run in interrupt context). Only process-context hooks get what always
/// sleeps (`raise_event`); layer calls that sleep say so and call
/// `might_sleep()`, which `CONFIG_DEBUG_ATOMIC_SLEEP` turns into a report.
pub(crate) enum Io {}

/// A read-only view of the `dm_target` a callback runs for. `C` says which
/// context the callback runs in; what may sleep exists only for [`Process`].
///
/// # Invariants
///
/// `ti` is a live `dm_target` for `'a`, and the callback holding this view
/// runs in context `C`.
pub(crate) struct TargetInfo<'a, C = Process> {
    ti: NonNull<bindings::dm_target>,
    _p: PhantomData<(&'a bindings::dm_target, C)>,
}

/// The view `map` and `end_io` get.
pub(crate) type IoInfo<'a> = TargetInfo<'a, Io>;

impl<C> TargetInfo<'_, C> {
    /// # Safety
    ///
    /// `ti` must be a live `dm_target` for the returned lifetime, and the
    /// caller must run in context `C`.
    pub(super) unsafe fn from_raw(ti: NonNull<bindings::dm_target>) -> Self {
        // INVARIANT: guaranteed by the caller.
        Self {
            ti,
            _p: PhantomData,
        }
    }

    pub(super) fn as_ptr(&self) -> *mut bindings::dm_target {
        self.ti.as_ptr()
    }

    // Fields are read through the raw pointer: dm core may write other
    // fields of the struct while a callback runs, so no reference to the
    // whole of it is formed.

    /// The target's first sector in the dm device.
    pub(crate) fn begin(&self) -> Sector {
        // SAFETY: by the type invariant `ti` is live; dm core sets `begin`
        // before the target is constructed and never changes it.
        unsafe { (*self.ti.as_ptr()).begin }
    }

    /// The target's length in 512-byte sectors.
    pub(crate) fn len(&self) -> Sector {
        // SAFETY: as for `begin`.
        unsafe { (*self.ti.as_ptr()).len }
    }

    /// A dm-device sector as an offset into this target (`dm_target_offset()`).
    /// dm core only maps sectors inside the target; wrapping like C keeps
    /// a panic path out of the I/O path.
    pub(crate) fn offset(&self, sector: Sector) -> Sector {
        sector.wrapping_sub(self.begin())
    }
}

impl TargetInfo<'_, Process> {
    /// Signals a dm event (`dm_table_event()`): the device's event number
    /// goes up and `dmsetup wait` returns, so userspace (dmeventd, lvm)
    /// looks at the status again, e.g. after a RAID leg failed.
    ///
    /// Only in process context: `dm_table_event()` takes a mutex. The I/O
    /// hooks get an [`IoInfo`], which has no such method; they hand the
    /// event to a work item instead.
    pub(crate) fn raise_event(&self) {
        // SAFETY: by the type invariant `ti` is live and we may sleep; the
        // table of a live target is live.
        unsafe { bindings::dm_table_event((*self.ti.as_ptr()).table) };
    }
}

/// The `dm_target` being constructed, for a target of type `T`: what `ctr`
/// may read and set, and the resources the layer holds for the target.
pub(crate) struct TargetCtx<'a, T: Target> {
    info: TargetInfo<'a, Process>,
    devs: &'a mut DevTable,
    timers: &'a mut Timers<T>,
    pools: &'a mut Pools<T>,
}

impl<'a, T: Target> TargetCtx<'a, T> {
    /// # Safety
    ///
    /// `ti` must be a `dm_target` dm core is constructing, exclusively ours
    /// for `'a`, whose devices, delayed work and clone pools are `devs`,
    /// `timers` and `pools`.
    pub(super) unsafe fn new(
        ti: NonNull<bindings::dm_target>,
        devs: &'a mut DevTable,
        timers: &'a mut Timers<T>,
        pools: &'a mut Pools<T>,
    ) -> Self {
        Self {
            // SAFETY: `ti` is live for `'a` and `ctr` runs in process context.
            info: unsafe { TargetInfo::from_raw(ti) },
            devs,
            timers,
            pools,
        }
    }

    /// Makes a pool of target-owned clones with context `C`, completed by
    /// `done` (see [`ClonePool`]).
    pub(crate) fn clone_pool<C: Send + 'static>(
        &mut self,
        done: CloneDone<T, C>,
    ) -> Result<ClonePool<C>> {
        let ti = self.info.ti;
        new_pool(self.pools, ti, done, self.devs.handles())
    }

    /// Makes a pool of target-owned clones with context `C` whose
    /// completion `done` runs in process context (on a queue of the pool's,
    /// or inline where that is safe: see [`super::clone::CloneDoneTask`])
    /// and may read the data each clone carried (see [`ClonePool`]).
    pub(crate) fn clone_pool_task<C: Send + 'static>(
        &mut self,
        done: CloneDoneTask<T, C>,
    ) -> Result<ClonePool<C>> {
        let ti = self.info.ti;
        new_task_pool(self.pools, ti, done, self.devs.handles())
    }

    /// Makes a pool of target-owned clones with context `C` whose
    /// completion `first` runs where the clone completes and may hand the
    /// clone to `recover`, which runs in process context on a queue of the
    /// pool's and may send it again to another device (see [`ClonePool`]).
    pub(crate) fn clone_pool_recover<C: Send + 'static>(
        &mut self,
        first: CloneDoneFirst<T, C>,
        recover: CloneRecover<T, C>,
    ) -> Result<ClonePool<C>> {
        let ti = self.info.ti;
        new_recover_pool(self.pools, ti, first, recover, self.devs.handles())
    }

    /// Makes a pool for the target's own reads, writes and flushes with
    /// context `C`, completed by `done` (see [`IoPool`]). The destructor
    /// waits for every request before it drops the target object.
    pub(crate) fn io_pool<C: Send + 'static>(&mut self, done: IoDone<T, C>) -> Result<IoPool<C>> {
        new_io_pool(self.pools, done, self.devs.handles())
    }

    pub(crate) fn info(&self) -> &TargetInfo<'a, Process> {
        &self.info
    }

    fn raw_mut(&mut self) -> &mut bindings::dm_target {
        // SAFETY: by `new`'s contract `ti` is live and, during `ctr`, ours
        // alone.
        unsafe { &mut *self.info.as_ptr() }
    }

    /// Opens a table device with the table's mode (`dm_get_device()`).
    ///
    /// The layer keeps the reference and puts it after the target object is
    /// gone; the returned handle may go anywhere, and the destructor waits
    /// for every handle before it puts the device (see [`DmDev`]).
    pub(crate) fn get_device(&mut self, path: &str) -> Result<DmDev> {
        let path = CString::try_from_fmt(fmt!("{path}"))?;
        let ti = self.info.as_ptr();
        // Room first: once dm_get_device() succeeded, the reference must be
        // recorded, or it would leak.
        self.devs.reserve()?;
        // SAFETY: `ti` is live and its table is set during `ctr`.
        let mode = unsafe { bindings::dm_table_get_mode((*ti).table) };
        let mut dev: *mut bindings::dm_dev = core::ptr::null_mut();
        // SAFETY: `ti` is live, `path` is NUL-terminated, `dev` is writable.
        to_result(unsafe { bindings::dm_get_device(ti, path.as_char_ptr(), mode, &mut dev) })?;
        let dev = NonNull::new(dev).ok_or(EINVAL)?;
        // SAFETY: dm_get_device() succeeded for `ti` and handed us `dev`.
        Ok(unsafe { self.devs.add(dev) })
    }

    /// Makes a delayed work item that runs `run` with the target object, in
    /// process context, when armed through the returned handle. The layer
    /// stops it before the target object is dropped; until the constructor
    /// has returned, an armed run does nothing.
    pub(crate) fn delayed_work(&mut self, run: fn(&T, &TargetInfo<'_>)) -> Result<DelayedWork> {
        let ti = self.info.ti;
        self.timers.add(ti, run, self.devs.handles())
    }

    /// How many flush bios (empty `REQ_PREFLUSH`) each flush sends the target.
    pub(crate) fn set_num_flush_bios(&mut self, n: u32) {
        self.raw_mut().num_flush_bios = n;
    }

    /// How many discard bios each discard sends the target (0: none).
    pub(crate) fn set_num_discard_bios(&mut self, n: u32) {
        self.raw_mut().num_discard_bios = n;
    }

    /// The target handles flushes itself, even if no device below has a
    /// volatile cache (a write-back cache must see every flush).
    pub(crate) fn set_flush_supported(&mut self) {
        self.raw_mut().set_flush_supported(true);
    }

    /// The target handles discards itself, whether or not its devices do.
    pub(crate) fn set_discards_supported(&mut self) {
        self.raw_mut().set_discards_supported(true);
    }

    /// dm core splits bios so that none crosses a `len`-sector boundary of
    /// the target (`dm_set_target_max_io_len()`).
    pub(crate) fn set_max_io_len(&mut self, len: Sector) -> Result {
        let ti = self.info.as_ptr();
        // SAFETY: `ti` is live and being constructed.
        to_result(unsafe { bindings::dm_set_target_max_io_len(ti, len) })
    }
}

/// The queue limits a target may raise in `io_hints`.
pub(crate) struct QueueLimits<'a>(pub(super) &'a mut bindings::queue_limits);

impl QueueLimits<'_> {
    pub(crate) fn logical_block_size(&self) -> u32 {
        self.0.logical_block_size
    }

    pub(crate) fn set_logical_block_size(&mut self, v: u32) {
        self.0.logical_block_size = v;
    }

    pub(crate) fn physical_block_size(&self) -> u32 {
        self.0.physical_block_size
    }

    pub(crate) fn set_physical_block_size(&mut self, v: u32) {
        self.0.physical_block_size = v;
    }

    pub(crate) fn io_min(&self) -> u32 {
        self.0.io_min
    }

    pub(crate) fn set_io_min(&mut self, v: u32) {
        self.0.io_min = v;
    }

    pub(crate) fn set_dma_alignment(&mut self, v: u32) {
        self.0.dma_alignment = v;
    }
}

/// The callout dm core passes to `iterate_devices`.
pub(crate) struct DevIter<'a> {
    pub(super) ti: NonNull<bindings::dm_target>,
    pub(super) f: bindings::iterate_devices_callout_fn,
    pub(super) data: *mut c_void,
    pub(super) _p: PhantomData<&'a ()>,
}

impl DevIter<'_> {
    /// Reports that the target maps `len` sectors of `dev` from `start`.
    /// A non-zero result stops the iteration and must be returned.
    pub(crate) fn visit(&mut self, dev: &DmDev, start: Sector, len: Sector) -> i32 {
        match self.f {
            // SAFETY: dm core's callout with its own `data`, for a live `ti`;
            // `dev` is held while its handle lives.
            Some(f) => unsafe { f(self.ti.as_ptr(), dev.as_raw(), start, len, self.data) },
            None => 0,
        }
    }
}

/// A device-mapper target type. Optional operations are detected by
/// `#[vtable]`: only those a target implements are given to dm core.
///
/// The hooks borrow the target for `'a`, the lifetime of the target object
/// as dm core keeps it: every bio a target maps completes before its
/// destructor runs, so whatever a bio is given to use while in flight (a
/// device, a key, a bio_set) is borrowed for `'a` from the target itself.
#[vtable]
pub(crate) trait Target: Sized + Send + Sync + 'static {
    /// The name tables use (`dmsetup create ... <name> ...`).
    const NAME: &'static CStr;
    /// major, minor, patch, as `dmsetup targets` prints.
    const VERSION: [u32; 3];
    /// `DM_TARGET_*` flags, among those the layer supports.
    const FEATURES: Features = Features::NONE;
    /// Whether bios `map` takes over ([`Bio::defer_with`]) are accounted
    /// when the target submits them (`ti->accounts_remapped_io`), rather
    /// than when `map` returns. The layer picks the matching submission
    /// call, so the two cannot disagree.
    const ACCOUNTS_REMAPPED_IO: bool = false;

    /// What the target keeps per bio from `map` to `end_io`
    /// (`ti->per_io_data_size`): given to `map`'s outcome, handed back by
    /// value to `end_io`, dropped by the layer if the target has no
    /// `end_io`. Bios that `map` kills or requeues never get one. Dropped
    /// in completion (possibly interrupt) context: its `Drop` must not
    /// sleep.
    type PerIo: Send;

    /// Builds the target from its table arguments: checks them and returns
    /// the initializer of the (pinned) target object.
    fn ctr(
        ti: &mut TargetCtx<'_, Self>,
        args: &[&str],
    ) -> Result<impl PinInit<Self, CtrError>, CtrError>;

    /// Maps one bio. The only way to make the result is to consume the bio
    /// (remap, kill, requeue, defer, submit through blk-crypto).
    fn map<'a>(&'a self, ti: &IoInfo<'a>, bio: Bio<'a, Self::PerIo>) -> Mapped<'a>;

    /// Sees each bio that `map` remapped, deferred or submitted complete,
    /// before its submitter does. May run in interrupt context.
    fn end_io(
        &self,
        _ti: &IoInfo<'_>,
        _bio: &EndingBio<'_>,
        _per_io: Self::PerIo,
        _status: &mut BlkStatus<'_>,
    ) -> EndIo {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Writes `dmsetup status` / `dmsetup table` output.
    fn status(&self, _ti: &TargetInfo<'_>, _ty: StatusType, _out: &mut StatusWriter<'_>) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Handles `dmsetup message`.
    fn message(&self, _ti: &TargetInfo<'_>, _args: &[&str], _out: &mut StatusWriter<'_>) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Raises queue limits above the underlying devices'.
    fn io_hints(&self, _ti: &TargetInfo<'_>, _limits: &mut QueueLimits<'_>) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Calls `it.visit()` for every device range the target maps.
    fn iterate_devices(&self, _ti: &TargetInfo<'_>, _it: &mut DevIter<'_>) -> i32 {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// The device ioctls go to, and whether the target maps all of it
    /// (ioctls on a part of a device need CAP_SYS_RAWIO).
    fn prepare_ioctl<'a>(&'a self, _ti: &TargetInfo<'a>) -> (&'a DmDev, bool) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Called before I/O is stopped for a suspend.
    fn presuspend(&self, _ti: &TargetInfo<'_>) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Called when a suspend fails after `presuspend` ran (another target
    /// of the table refused), to undo what `presuspend` did.
    fn presuspend_undo(&self, _ti: &TargetInfo<'_>) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Called once the device is suspended and no I/O is in flight.
    fn postsuspend(&self, _ti: &TargetInfo<'_>) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Called before the device resumes; an error keeps it suspended.
    fn preresume(&self, _ti: &TargetInfo<'_>) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Called when the device resumes.
    fn resume(&self, _ti: &TargetInfo<'_>) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Called in the destructor once the target's delayed work is stopped
    /// (no callback runs or will run) and its own I/O has drained, right
    /// before the target object is dropped: the place for a last write of
    /// state that work items might otherwise still change (a cache's open
    /// log). Process context.
    fn stopped(&self, _ti: &TargetInfo<'_>) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}
