// SPDX-License-Identifier: GPL-2.0

//! The `Target` trait, its registration with dm core, and the C trampolines
//! that turn dm core's callbacks into safe calls.

use super::{bindings, Bio, DmDev, Sector, StatusType, StatusWriter};
use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::error::{to_result, VTABLE_DEFAULT_ERROR};
use kernel::ffi::{c_char, c_int, c_uint, c_void};
use kernel::prelude::*;
use kernel::str::CString;
use kernel::types::Opaque;

/// What `map` did with a bio (`DM_MAPIO_*`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum MapResult {
    /// The bio was remapped; dm core submits it.
    Remapped,
    /// The target took the bio over and will complete it itself.
    Submitted,
    /// Fail the bio with an I/O error.
    Kill,
    /// Ask dm core to requeue the bio.
    Requeue,
}

impl MapResult {
    fn to_c(self) -> c_int {
        (match self {
            Self::Remapped => bindings::DM_MAPIO_REMAPPED,
            Self::Submitted => bindings::DM_MAPIO_SUBMITTED,
            Self::Kill => bindings::DM_MAPIO_KILL,
            Self::Requeue => bindings::DM_MAPIO_REQUEUE,
        }) as c_int
    }
}

/// What `end_io` decided (`DM_ENDIO_*`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum EndIo {
    /// Complete the bio with its (possibly changed) status.
    Done,
    /// Push the bio back to dm core. For bio-based targets dm core only
    /// honours this during a noflush suspend (multipath's use); otherwise
    /// the bio fails. Retrying another leg, as dm-raid1 does, is
    /// `Incomplete` plus resubmission by the target.
    Requeue,
    /// The target will complete the bio later itself.
    Incomplete,
}

impl EndIo {
    fn to_c(self) -> c_int {
        (match self {
            Self::Done => bindings::DM_ENDIO_DONE,
            Self::Requeue => bindings::DM_ENDIO_REQUEUE,
            Self::Incomplete => bindings::DM_ENDIO_INCOMPLETE,
        }) as c_int
    }
}

/// The completion status of a bio, which `end_io` may change.
pub(crate) struct BlkStatus<'a>(&'a mut bindings::blk_status_t);

impl BlkStatus<'_> {
    pub(crate) fn is_ok(&self) -> bool {
        *self.0 == bindings::BLK_STS_OK
    }

    /// Completes the bio successfully after all.
    pub(crate) fn set_ok(&mut self) {
        *self.0 = bindings::BLK_STS_OK;
    }

    pub(crate) fn set_ioerr(&mut self) {
        *self.0 = bindings::BLK_STS_IOERR;
    }
}

/// A constructor failure: the message dm core logs (as `ti->error`, with the
/// device and target name) and the error code returned to userspace.
#[derive(Debug)]
pub(crate) struct CtrError {
    pub(crate) msg: &'static CStr,
    pub(crate) err: Error,
}

impl From<&'static CStr> for CtrError {
    /// A bad table: `-EINVAL` with `msg`.
    fn from(msg: &'static CStr) -> Self {
        Self { msg, err: EINVAL }
    }
}

/// A read-only view of the `dm_target` a callback runs for.
///
/// # Invariants
///
/// `ti` is a live `dm_target` for `'a`.
pub(crate) struct TargetInfo<'a> {
    ti: NonNull<bindings::dm_target>,
    _p: PhantomData<&'a bindings::dm_target>,
}

impl TargetInfo<'_> {
    /// # Safety
    ///
    /// `ti` must be a live `dm_target` for the returned lifetime.
    unsafe fn from_raw(ti: NonNull<bindings::dm_target>) -> Self {
        // INVARIANT: guaranteed by the caller.
        Self {
            ti,
            _p: PhantomData,
        }
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

    /// Signals a dm event (`dm_table_event()`): the device's event number
    /// goes up and `dmsetup wait` returns, so userspace (dmeventd, lvm)
    /// looks at the status again, e.g. after a RAID leg failed.
    pub(crate) fn raise_event(&self) {
        // SAFETY: by the type invariant `ti` is live, and so is its table
        // while one of its targets runs a callback.
        unsafe { bindings::dm_table_event((*self.ti.as_ptr()).table) };
    }

    /// A dm-device sector as an offset into this target (`dm_target_offset()`).
    /// dm core only maps sectors inside the target; wrapping like C keeps
    /// a panic path out of the I/O path.
    pub(crate) fn offset(&self, sector: Sector) -> Sector {
        sector.wrapping_sub(self.begin())
    }
}

/// The `dm_target` being constructed: what `ctr` may read and set.
pub(crate) struct TargetCtx<'a> {
    info: TargetInfo<'a>,
}

impl<'a> TargetCtx<'a> {
    pub(crate) fn info(&self) -> &TargetInfo<'a> {
        &self.info
    }

    fn raw_mut(&mut self) -> &mut bindings::dm_target {
        // SAFETY: by `TargetInfo`'s invariant `ti` is live, and during `ctr`
        // dm core gives the target exclusive use of it.
        unsafe { self.info.ti.as_mut() }
    }

    /// Opens a table device with the table's mode (`dm_get_device()`).
    pub(crate) fn get_device(&mut self, path: &str) -> Result<DmDev> {
        let path = CString::try_from_fmt(fmt!("{path}"))?;
        let ti = self.info.ti;
        // SAFETY: `ti` is live and its table is set during `ctr`.
        let mode = unsafe { bindings::dm_table_get_mode((*ti.as_ptr()).table) };
        let mut dev: *mut bindings::dm_dev = core::ptr::null_mut();
        // SAFETY: `ti` is live, `path` is NUL-terminated, `dev` is writable.
        to_result(unsafe {
            bindings::dm_get_device(ti.as_ptr(), path.as_char_ptr(), mode, &mut dev)
        })?;
        let dev = NonNull::new(dev).ok_or(EINVAL)?;
        // SAFETY: dm_get_device() succeeded for `ti` and handed us `dev`.
        Ok(unsafe { DmDev::from_raw(ti, dev) })
    }

    /// How many flush bios (empty `REQ_PREFLUSH`) each flush sends the target.
    pub(crate) fn set_num_flush_bios(&mut self, n: u32) {
        self.raw_mut().num_flush_bios = n;
    }

    /// Declares that the target submits bios it took over in `map` with
    /// [`super::DeferredBio::submit_remapped`], so dm core accounts them then.
    pub(crate) fn set_accounts_remapped_io(&mut self) {
        self.raw_mut().set_accounts_remapped_io(true);
    }

    /// How many discard bios each discard sends the target (0: none).
    pub(crate) fn set_num_discard_bios(&mut self, n: u32) {
        self.raw_mut().num_discard_bios = n;
    }
}

/// The queue limits a target may raise in `io_hints`.
pub(crate) struct QueueLimits<'a>(&'a mut bindings::queue_limits);

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
    ti: NonNull<bindings::dm_target>,
    f: bindings::iterate_devices_callout_fn,
    data: *mut c_void,
    _p: PhantomData<&'a ()>,
}

impl DevIter<'_> {
    /// Reports that the target maps `len` sectors of `dev` from `start`.
    /// A non-zero result stops the iteration and must be returned.
    pub(crate) fn visit(&mut self, dev: &DmDev, start: Sector, len: Sector) -> i32 {
        match self.f {
            // SAFETY: dm core's callout with its own `data`, for a live `ti`
            // and a device of this target.
            Some(f) => unsafe { f(self.ti.as_ptr(), dev.as_raw(), start, len, self.data) },
            None => 0,
        }
    }
}

/// A device-mapper target type. Optional operations are detected by
/// `#[vtable]`: only those a target implements are given to dm core.
#[vtable]
pub(crate) trait Target: Sized + Send + Sync {
    /// The name tables use (`dmsetup create ... <name> ...`).
    const NAME: &'static CStr;
    /// major, minor, patch, as `dmsetup targets` prints.
    const VERSION: [u32; 3];
    /// `DM_TARGET_*` flags.
    const FEATURES: u64 = 0;

    /// Builds the target from its table arguments.
    fn ctr(ti: &mut TargetCtx<'_>, args: &[&str]) -> Result<KBox<Self>, CtrError>;

    /// Maps one bio.
    fn map(&self, ti: &TargetInfo<'_>, bio: Bio<'_>) -> MapResult;

    /// Sees each bio of the target complete, before its submitter does.
    fn end_io(&self, _ti: &TargetInfo<'_>, _bio: &Bio<'_>, _status: &mut BlkStatus<'_>) -> EndIo {
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
    fn prepare_ioctl(&self, _ti: &TargetInfo<'_>) -> (&DmDev, bool) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Called before I/O is stopped for a suspend.
    fn presuspend(&self, _ti: &TargetInfo<'_>) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Called once the device is suspended and no I/O is in flight.
    fn postsuspend(&self, _ti: &TargetInfo<'_>) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Called when the device resumes.
    fn resume(&self, _ti: &TargetInfo<'_>) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// A target type registered with dm core for as long as this lives.
///
/// # Invariants
///
/// `tt` was registered with `dm_register_target()` and is unregistered on drop.
pub(crate) struct Registration<T: Target> {
    tt: Pin<KBox<Opaque<bindings::target_type>>>,
    _t: PhantomData<T>,
}

// SAFETY: after registration only dm core touches `tt`, under its own lock.
unsafe impl<T: Target> Send for Registration<T> {}
// SAFETY: `&Registration` gives no access to `tt`.
unsafe impl<T: Target> Sync for Registration<T> {}

impl<T: Target> Registration<T> {
    pub(crate) fn new(module: &'static ThisModule) -> Result<Self> {
        let tt = bindings::target_type {
            features: T::FEATURES,
            name: T::NAME.as_char_ptr(),
            module: module.as_ptr().cast(),
            version: T::VERSION,
            ctr: Some(ctr_callback::<T>),
            dtr: Some(dtr_callback::<T>),
            map: Some(map_callback::<T>),
            end_io: if T::HAS_END_IO {
                Some(end_io_callback::<T>)
            } else {
                None
            },
            status: if T::HAS_STATUS {
                Some(status_callback::<T>)
            } else {
                None
            },
            message: if T::HAS_MESSAGE {
                Some(message_callback::<T>)
            } else {
                None
            },
            io_hints: if T::HAS_IO_HINTS {
                Some(io_hints_callback::<T>)
            } else {
                None
            },
            iterate_devices: if T::HAS_ITERATE_DEVICES {
                Some(iterate_devices_callback::<T>)
            } else {
                None
            },
            prepare_ioctl: if T::HAS_PREPARE_IOCTL {
                Some(prepare_ioctl_callback::<T>)
            } else {
                None
            },
            presuspend: if T::HAS_PRESUSPEND {
                Some(presuspend_callback::<T>)
            } else {
                None
            },
            postsuspend: if T::HAS_POSTSUSPEND {
                Some(postsuspend_callback::<T>)
            } else {
                None
            },
            resume: if T::HAS_RESUME {
                Some(resume_callback::<T>)
            } else {
                None
            },
            ..Default::default()
        };
        let tt = KBox::pin(Opaque::new(tt), GFP_KERNEL)?;
        // SAFETY: `tt` is a fully initialised target_type at a stable address
        // that stays registered until `drop` unregisters it.
        to_result(unsafe { bindings::dm_register_target(tt.get()) })?;
        // INVARIANT: registered above.
        Ok(Self {
            tt,
            _t: PhantomData,
        })
    }
}

impl<T: Target> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: by the type invariant `tt` is registered. dm core holds a
        // module reference for every live target of this type, so none exist.
        unsafe { bindings::dm_unregister_target(self.tt.get()) };
    }
}

/// The target object `ctr_callback` stored in `ti->private`, and the view of
/// `ti` every callback gets.
///
/// # Safety
///
/// `ti` must be a live target of type `T`, for `'a`, whose constructor
/// succeeded and whose destructor has not run.
unsafe fn target<'a, T: Target>(ti: *mut bindings::dm_target) -> (&'a T, TargetInfo<'a>) {
    // SAFETY: `ti` is live and not NULL (guaranteed by the caller);
    // `ctr_callback` stored a `KBox<T>` in `private`, freed only by
    // `dtr_callback`.
    unsafe {
        let t = &*(*ti).private.cast::<T>();
        (t, TargetInfo::from_raw(NonNull::new_unchecked(ti)))
    }
}

/// Collects `argv` as `&str`s; table arguments are plain ASCII in practice,
/// and non-UTF-8 is rejected rather than guessed at.
///
/// # Safety
///
/// `argv` must point to `argc` NUL-terminated strings that outlive `'a`.
unsafe fn args<'a>(argc: c_uint, argv: *mut *mut c_char) -> Result<KVec<&'a str>, CtrError> {
    let mut v = KVec::with_capacity(argc as usize, GFP_KERNEL).map_err(|_| CtrError {
        msg: c"Cannot allocate argument vector",
        err: ENOMEM,
    })?;
    for i in 0..argc as usize {
        // SAFETY: the caller guarantees `argc` valid strings in `argv`.
        let arg = unsafe { CStr::from_char_ptr(*argv.add(i)) };
        let arg = arg
            .to_str()
            .map_err(|_| CtrError::from(c"Arguments must be UTF-8"))?;
        v.push(arg, GFP_KERNEL).map_err(|_| CtrError {
            msg: c"Cannot allocate argument vector",
            err: ENOMEM,
        })?;
    }
    Ok(v)
}

/// # Safety
///
/// Only dm core calls this, through the `target_type` built by
/// [`Registration::new`], with the arguments its callback type documents
/// (a live `ti` whose constructor succeeded, except for `ctr` itself).
unsafe extern "C" fn ctr_callback<T: Target>(
    ti: *mut bindings::dm_target,
    argc: c_uint,
    argv: *mut *mut c_char,
) -> c_int {
    let Some(ti) = NonNull::new(ti) else {
        return EINVAL.to_errno();
    };
    // SAFETY: dm core passes `argc` argument strings that live through ctr.
    let result = unsafe { args(argc, argv) }.and_then(|args| {
        // SAFETY: dm core passes a live target it is constructing.
        let info = unsafe { TargetInfo::from_raw(ti) };
        T::ctr(&mut TargetCtx { info }, &args)
    });
    match result {
        Ok(target) => {
            // SAFETY: `ti` is live and ours during ctr.
            unsafe { (*ti.as_ptr()).private = KBox::into_raw(target).cast() };
            0
        }
        Err(e) => {
            // SAFETY: `ti` is live; `error` takes a static string, which dm
            // core logs with the device and target names.
            unsafe { (*ti.as_ptr()).error = e.msg.as_char_ptr().cast_mut() };
            e.err.to_errno()
        }
    }
}

/// # Safety
///
/// Only dm core calls this, through the `target_type` built by
/// [`Registration::new`], with the arguments its callback type documents
/// (a live `ti` whose constructor succeeded, except for `ctr` itself).
unsafe extern "C" fn dtr_callback<T: Target>(ti: *mut bindings::dm_target) {
    // SAFETY: dm core calls dtr once, for a target whose ctr succeeded and
    // with no I/O in flight; `private` holds the `KBox<T>` ctr stored.
    drop(unsafe { KBox::from_raw((*ti).private.cast::<T>()) });
}

/// # Safety
///
/// Only dm core calls this, through the `target_type` built by
/// [`Registration::new`], with the arguments its callback type documents
/// (a live `ti` whose constructor succeeded, except for `ctr` itself).
unsafe extern "C" fn map_callback<T: Target>(
    ti: *mut bindings::dm_target,
    bio: *mut bindings::bio,
) -> c_int {
    let (false, Some(bio)) = (ti.is_null(), NonNull::new(bio)) else {
        return MapResult::Kill.to_c();
    };
    // SAFETY: dm core maps bios only on constructed, live targets, and hands
    // us the bio until we return.
    let ((t, info), bio) = unsafe { (target::<T>(ti), Bio::from_raw(bio)) };
    t.map(&info, bio).to_c()
}

/// # Safety
///
/// Only dm core calls this, through the `target_type` built by
/// [`Registration::new`], with the arguments its callback type documents
/// (a live `ti` whose constructor succeeded, except for `ctr` itself).
unsafe extern "C" fn end_io_callback<T: Target>(
    ti: *mut bindings::dm_target,
    bio: *mut bindings::bio,
    error: *mut bindings::blk_status_t,
) -> c_int {
    let (false, Some(bio), false) = (ti.is_null(), NonNull::new(bio), error.is_null()) else {
        return EndIo::Done.to_c();
    };
    // SAFETY: dm core calls end_io for a bio this live, constructed target
    // mapped, with a valid status it lets us change, before completing it.
    let ((t, info), bio, mut status) =
        unsafe { (target::<T>(ti), Bio::from_raw(bio), BlkStatus(&mut *error)) };
    t.end_io(&info, &bio, &mut status).to_c()
}

/// # Safety
///
/// Only dm core calls this, through the `target_type` built by
/// [`Registration::new`], with the arguments its callback type documents
/// (a live `ti` whose constructor succeeded, except for `ctr` itself).
unsafe extern "C" fn status_callback<T: Target>(
    ti: *mut bindings::dm_target,
    ty: bindings::status_type_t,
    _flags: c_uint,
    result: *mut c_char,
    maxlen: c_uint,
) {
    let ty = match ty {
        bindings::status_type_t_STATUSTYPE_INFO => StatusType::Info,
        bindings::status_type_t_STATUSTYPE_TABLE => StatusType::Table,
        _ => StatusType::Ima,
    };
    if result.is_null() || maxlen == 0 {
        return;
    }
    // SAFETY: dm core passes a writable buffer of `maxlen` bytes.
    let buf = unsafe { core::slice::from_raw_parts_mut(result.cast::<u8>(), maxlen as usize) };
    let mut out = StatusWriter::new(buf);
    // SAFETY: status is only asked of constructed, live targets.
    let (t, info) = unsafe { target::<T>(ti) };
    t.status(&info, ty, &mut out);
}

/// # Safety
///
/// Only dm core calls this, through the `target_type` built by
/// [`Registration::new`], with the arguments its callback type documents
/// (a live `ti` whose constructor succeeded, except for `ctr` itself).
unsafe extern "C" fn message_callback<T: Target>(
    ti: *mut bindings::dm_target,
    argc: c_uint,
    argv: *mut *mut c_char,
    result: *mut c_char,
    maxlen: c_uint,
) -> c_int {
    // SAFETY: dm core passes `argc` strings that live through the call.
    let args = match unsafe { args(argc, argv) } {
        Ok(args) => args,
        Err(e) => return e.err.to_errno(),
    };
    let mut empty = [0u8; 1];
    let buf = if result.is_null() || maxlen == 0 {
        &mut empty[..]
    } else {
        // SAFETY: dm core passes a writable buffer of `maxlen` bytes.
        unsafe { core::slice::from_raw_parts_mut(result.cast::<u8>(), maxlen as usize) }
    };
    let mut out = StatusWriter::new(buf);
    // SAFETY: messages are only sent to constructed, live targets.
    let (t, info) = unsafe { target::<T>(ti) };
    match t.message(&info, &args, &mut out) {
        // dm core: 1 means "result holds output".
        Ok(()) => c_int::from(!out.as_bytes().is_empty()),
        Err(e) => e.to_errno(),
    }
}

/// # Safety
///
/// Only dm core calls this, through the `target_type` built by
/// [`Registration::new`], with the arguments its callback type documents
/// (a live `ti` whose constructor succeeded, except for `ctr` itself).
unsafe extern "C" fn io_hints_callback<T: Target>(
    ti: *mut bindings::dm_target,
    limits: *mut bindings::queue_limits,
) {
    // SAFETY: dm core passes a live, constructed target and its limits,
    // which it lets us modify for the duration of the call.
    let ((t, info), limits) = unsafe { (target::<T>(ti), &mut *limits) };
    t.io_hints(&info, &mut QueueLimits(limits));
}

/// # Safety
///
/// Only dm core calls this, through the `target_type` built by
/// [`Registration::new`], with the arguments its callback type documents
/// (a live `ti` whose constructor succeeded, except for `ctr` itself).
unsafe extern "C" fn iterate_devices_callback<T: Target>(
    ti: *mut bindings::dm_target,
    f: bindings::iterate_devices_callout_fn,
    data: *mut c_void,
) -> c_int {
    // SAFETY: dm core passes a live, constructed target.
    let (t, info) = unsafe { target::<T>(ti) };
    let mut it = DevIter {
        ti: info.ti,
        f,
        data,
        _p: PhantomData,
    };
    t.iterate_devices(&info, &mut it)
}

/// # Safety
///
/// Only dm core calls this, through the `target_type` built by
/// [`Registration::new`], with the arguments its callback type documents
/// (a live `ti` whose constructor succeeded, except for `ctr` itself).
unsafe extern "C" fn prepare_ioctl_callback<T: Target>(
    ti: *mut bindings::dm_target,
    bdev: *mut *mut bindings::block_device,
    _cmd: c_uint,
    _arg: kernel::ffi::c_ulong,
    _forward: *mut bool,
) -> c_int {
    // SAFETY: dm core passes a live, constructed target.
    let (t, info) = unsafe { target::<T>(ti) };
    let (dev, whole) = t.prepare_ioctl(&info);
    // SAFETY: `bdev` is dm core's out-parameter; the device stays held by
    // the target, which dm core keeps alive while it uses the bdev.
    unsafe { *bdev = dev.bdev() };
    c_int::from(!whole)
}

macro_rules! suspend_hook {
    ($cb:ident, $method:ident) => {
        /// # Safety
        ///
        /// Only dm core calls this, with a live, constructed target.
        unsafe extern "C" fn $cb<T: Target>(ti: *mut bindings::dm_target) {
            // SAFETY: dm core passes a live, constructed target.
            let (t, info) = unsafe { target::<T>(ti) };
            t.$method(&info);
        }
    };
}

suspend_hook!(presuspend_callback, presuspend);
suspend_hook!(postsuspend_callback, postsuspend);
suspend_hook!(resume_callback, resume);
