// SPDX-License-Identifier: GPL-2.0

//! Registration of a [`Target`] type with dm core, and the C trampolines
//! that turn dm core's callbacks into safe calls.
//!
//! `ti->private` holds an [`Instance`]: the pinned target object and the
//! table devices the layer holds for it. The destructor trampoline drops
//! the target object first, then puts the devices (after every device
//! handle is gone), so nothing the target holds can outlive what dm core
//! lends it.

use super::bio::{per_io_size, take_per_io, Bio, BlkStatus, EndingBio};
use super::clone::Pools;
use super::delayed::Timers;
use super::dev::DevTable;
use super::target::{CtrError, DevIter, EndIo, IoInfo, QueueLimits, Target, TargetCtx, TargetInfo};
use super::{bindings, StatusType, StatusWriter};
use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::error::to_result;
use kernel::ffi::{c_char, c_int, c_uint, c_void};
use kernel::prelude::*;
use kernel::types::Opaque;

/// What the layer keeps per target, in `ti->private`.
struct Instance<T: Target> {
    target: Pin<KBox<T>>,
    devs: DevTable,
    timers: Timers<T>,
    pools: Pools<T>,
}

/// A target type registered with dm core for as long as this lives.
///
/// # Invariants
///
/// `tt` points to a `target_type` registered with `dm_register_target()`,
/// allocated by `KBox`, unregistered and (when no target can use it) freed
/// on drop.
pub(crate) struct Registration<T: Target> {
    tt: NonNull<Opaque<bindings::target_type>>,
    module: &'static ThisModule,
    _t: PhantomData<T>,
}

// SAFETY: after registration only dm core touches `tt`, under its own lock.
unsafe impl<T: Target> Send for Registration<T> {}
// SAFETY: `&Registration` gives no access to `tt`.
unsafe impl<T: Target> Sync for Registration<T> {}

/// `Some(f)` if the target implements the hook (a macro, so that the
/// function item coerces to the field's function pointer type).
macro_rules! hook {
    ($has:expr, $f:expr $(,)?) => {
        if $has {
            Some($f)
        } else {
            None
        }
    };
}

impl<T: Target> Registration<T> {
    pub(crate) fn new(module: &'static ThisModule) -> Result<Self> {
        let tt = bindings::target_type {
            features: T::FEATURES.bits(),
            name: T::NAME.as_char_ptr(),
            module: module.as_ptr().cast(),
            version: T::VERSION,
            ctr: Some(ctr_callback::<T>),
            dtr: Some(dtr_callback::<T>),
            map: Some(map_callback::<T>),
            // Per-bio data must be dropped even if the target ignores it.
            end_io: hook!(
                T::HAS_END_IO || core::mem::needs_drop::<T::PerIo>(),
                end_io_callback::<T>,
            ),
            status: hook!(T::HAS_STATUS, status_callback::<T>),
            message: hook!(T::HAS_MESSAGE, message_callback::<T>),
            io_hints: hook!(T::HAS_IO_HINTS, io_hints_callback::<T>),
            iterate_devices: hook!(T::HAS_ITERATE_DEVICES, iterate_devices_callback::<T>),
            prepare_ioctl: hook!(T::HAS_PREPARE_IOCTL, prepare_ioctl_callback::<T>),
            presuspend: hook!(T::HAS_PRESUSPEND, presuspend_callback::<T>),
            presuspend_undo: hook!(T::HAS_PRESUSPEND_UNDO, presuspend_undo_callback::<T>),
            postsuspend: hook!(T::HAS_POSTSUSPEND, postsuspend_callback::<T>),
            preresume: hook!(T::HAS_PRERESUME, preresume_callback::<T>),
            resume: hook!(T::HAS_RESUME, resume_callback::<T>),
            ..Default::default()
        };
        let tt = KBox::new(Opaque::new(tt), GFP_KERNEL)?;
        // SAFETY: `tt` is a fully initialised target_type at a stable address
        // (the box is not moved out of) that stays valid until `drop`.
        to_result(unsafe { bindings::dm_register_target(tt.get()) })?;
        // INVARIANT: registered above; from here on freed only by `drop`.
        Ok(Self {
            tt: NonNull::from(KBox::leak(tt)),
            module,
            _t: PhantomData,
        })
    }
}

impl<T: Target> Drop for Registration<T> {
    fn drop(&mut self) {
        let tt = self.tt.as_ptr();
        // SAFETY: by the type invariant `tt` is registered; afterwards no
        // new target of the type can be made.
        unsafe { bindings::dm_unregister_target(Opaque::cast_into(tt)) };
        // Targets of the type point at `tt` until they are destroyed, and
        // each holds a module reference. While the module is being
        // unloaded none exist (and none is being made: try_module_get()
        // fails from then on), so `tt` may go. A registration dropped
        // earlier leaks it instead of freeing it under live targets.
        // SAFETY: `module` is this module, which is loaded while it runs.
        if unsafe { bindings::rdm_module_going(self.module.as_ptr().cast()) } {
            // SAFETY: unregistered and unused, allocated by `KBox`.
            drop(unsafe { KBox::from_raw(tt) });
        } else {
            pr_err!("rdm: target type unregistered before module exit; leaking it\n");
        }
    }
}

/// The target object `ctr_callback` stored in `ti->private`, and the view of
/// `ti` a callback in context `C` gets.
///
/// # Safety
///
/// `ti` must be a live target of type `T`, for `'a`, whose constructor
/// succeeded and whose destructor has not run, and the caller must run in
/// context `C`.
unsafe fn target<'a, T: Target, C>(ti: *mut bindings::dm_target) -> (&'a T, TargetInfo<'a, C>) {
    // SAFETY: `ti` is live and not NULL (guaranteed by the caller);
    // `ctr_callback` stored an `Instance<T>` in `private`, freed only by
    // `dtr_callback`; the target object in it is pinned and only shared.
    unsafe {
        let inst = &*(*ti).private.cast::<Instance<T>>();
        let t: &'a T = &inst.target;
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
    let mut v = KVec::with_capacity(argc as usize, GFP_KERNEL).map_err(|_| CtrError::oom())?;
    for i in 0..argc as usize {
        // SAFETY: the caller guarantees `argc` valid strings in `argv`.
        let arg = unsafe { CStr::from_char_ptr(*argv.add(i)) };
        let arg = arg
            .to_str()
            .map_err(|_| CtrError::from(c"Arguments must be UTF-8"))?;
        v.push(arg, GFP_KERNEL).map_err(|_| CtrError::oom())?;
    }
    Ok(v)
}

/// Builds the target object; on failure everything taken is given back.
///
/// # Safety
///
/// `ti` must be a target dm core is constructing, and `argv` must hold
/// `argc` strings that live through the call.
unsafe fn construct<T: Target>(
    ti: NonNull<bindings::dm_target>,
    argc: c_uint,
    argv: *mut *mut c_char,
) -> Result<KBox<Instance<T>>, CtrError> {
    const {
        assert!(
            core::mem::align_of::<T::PerIo>() <= 8,
            "per-bio data is 8-byte aligned"
        )
    };
    // Allocated first, so that nothing can fail once the target is built.
    let slot = KBox::<Instance<T>>::new_uninit(GFP_KERNEL).map_err(|_| CtrError::oom())?;
    let mut devs = DevTable::new().map_err(|_| CtrError::oom())?;
    let mut timers = Timers::<T>::new();
    let mut pools = Pools::<T>::new();
    let mut build = || {
        // SAFETY: dm core passes `argc` argument strings that live through ctr.
        let args = unsafe { args(argc, argv) }?;
        // SAFETY: `ti` is being constructed and is ours during the call.
        let mut ctx = unsafe { TargetCtx::new(ti, &mut devs, &mut timers, &mut pools) };
        let init = T::ctr(&mut ctx, &args)?;
        KBox::try_pin_init(init, GFP_KERNEL)
    };
    let built = build();
    match built {
        Ok(target) => {
            // Pools first: delayed work armed in ctr may submit at once.
            for pool in pools.iter() {
                pool.start(&target);
            }
            timers.start(&target);
            Ok(slot.write(Instance {
                target,
                devs,
                timers,
                pools,
            }))
        }
        Err(e) => {
            // The initializer dropped whatever it had built, handles
            // included; delayed work never saw a target object.
            // SAFETY: `ti` is the target the devices were taken for; no
            // target object exists.
            unsafe { devs.put_all(ti.as_ptr()) };
            drop(timers);
            drop(pools);
            Err(e)
        }
    }
}

/// `ti->per_io_data_size` for `T`, checked to fit at build time.
const fn per_io_size_c<T: Target>() -> c_uint {
    let size = per_io_size::<T::PerIo>();
    assert!(size <= c_uint::MAX as usize, "per-bio data too large");
    size as c_uint
}

// `KBox::try_pin_init` reports its own allocation failure as `AllocError`
// converted into the initializer's error type.
impl From<kernel::alloc::AllocError> for CtrError {
    fn from(_: kernel::alloc::AllocError) -> Self {
        CtrError::oom()
    }
}

/// # Safety
///
/// Only dm core calls this, through the `target_type` built by
/// [`Registration::new`], for a target it is constructing.
unsafe extern "C" fn ctr_callback<T: Target>(
    ti: *mut bindings::dm_target,
    argc: c_uint,
    argv: *mut *mut c_char,
) -> c_int {
    let Some(ti) = NonNull::new(ti) else {
        return EINVAL.to_errno();
    };
    // SAFETY: `ti` is being constructed; dm core passes `argc` strings.
    match unsafe { construct::<T>(ti, argc, argv) } {
        Ok(inst) => {
            // SAFETY: `ti` is live and ours during ctr.
            unsafe {
                (*ti.as_ptr()).per_io_data_size = const { per_io_size_c::<T>() };
                (*ti.as_ptr()).set_accounts_remapped_io(T::ACCOUNTS_REMAPPED_IO);
                (*ti.as_ptr()).private = KBox::into_raw(inst).cast();
            }
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
/// Only dm core calls this, once, for a target whose constructor succeeded,
/// with no I/O in flight, in process context.
unsafe extern "C" fn dtr_callback<T: Target>(ti: *mut bindings::dm_target) {
    // SAFETY: `private` holds the `Instance<T>` ctr stored; dtr runs once.
    let inst = unsafe { KBox::from_raw((*ti).private.cast::<Instance<T>>()) };
    let Instance {
        target,
        devs,
        timers,
        pools,
    } = KBox::into_inner(inst);
    // Delayed work first: its callbacks use the target object.
    timers.stop();
    for pool in pools.iter() {
        pool.stop();
    }
    if let (true, Some(ti)) = (T::HAS_STOPPED, NonNull::new(ti)) {
        // SAFETY: `ti` is live until dtr returns; dtr runs in process context.
        let info = unsafe { TargetInfo::<super::target::Process>::from_raw(ti) };
        target.stopped(&info);
    }
    drop(target);
    // SAFETY: the target object is gone; `ti` is still live. This waits for
    // every handle, delayed-work handles included.
    unsafe { devs.put_all(ti) };
    // No handle is left to re-arm work: cancel what one re-armed, free it.
    drop(timers);
    // Every clone completed before the bios it was made from.
    drop(pools);
}

/// # Safety
///
/// Only dm core calls this, for a live, constructed target and a bio it
/// hands the target until the callback returns.
unsafe extern "C" fn map_callback<T: Target>(
    ti: *mut bindings::dm_target,
    bio: *mut bindings::bio,
) -> c_int {
    let (false, Some(bio)) = (ti.is_null(), NonNull::new(bio)) else {
        return bindings::DM_MAPIO_KILL as c_int;
    };
    // SAFETY: dm core maps bios only on constructed, live targets (`ti` is
    // not NULL, checked above), in I/O context; the target object outlives
    // every bio it maps; the bio's per-bio data was sized for `T::PerIo` by
    // the constructor.
    let ((t, info), bio) = unsafe {
        (
            target::<T, super::target::Io>(ti),
            Bio::<T::PerIo>::from_raw(bio, NonNull::new_unchecked(ti), T::ACCOUNTS_REMAPPED_IO),
        )
    };
    t.map(&info, bio).to_c()
}

/// # Safety
///
/// Only dm core calls this, for a bio this live, constructed target
/// remapped, deferred or submitted in `map`, with a status it may change.
unsafe extern "C" fn end_io_callback<T: Target>(
    ti: *mut bindings::dm_target,
    bio: *mut bindings::bio,
    error: *mut bindings::blk_status_t,
) -> c_int {
    let (false, Some(bio), false) = (ti.is_null(), NonNull::new(bio), error.is_null()) else {
        return EndIo::Done.to_c();
    };
    // SAFETY: every bio that reaches end_io got its per-bio data in `map`
    // (only killed and requeued bios did not, and they never get here); it
    // is taken once, here.
    let per_io = unsafe { take_per_io::<T::PerIo>(bio) };
    if !T::HAS_END_IO {
        drop(per_io);
        return EndIo::Done.to_c();
    }
    // SAFETY: a live, constructed target; the bio is in its end_io call;
    // `error` is dm core's status for it, ours to change during the call.
    let ((t, info), ending, mut status) = unsafe {
        (
            target::<T, super::target::Io>(ti),
            EndingBio::from_raw(bio),
            BlkStatus(&mut *error),
        )
    };
    let info: IoInfo<'_> = info;
    t.end_io(&info, &ending, per_io, &mut status).to_c()
}

/// # Safety
///
/// Only dm core calls this, for a live, constructed target, in process
/// context, with a writable buffer of `maxlen` bytes.
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
    let (t, info) = unsafe { target::<T, super::target::Process>(ti) };
    t.status(&info, ty, &mut out);
}

/// # Safety
///
/// Only dm core calls this, for a live, constructed target, in process
/// context, with `argc` strings and a writable buffer of `maxlen` bytes.
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
    let (t, info) = unsafe { target::<T, super::target::Process>(ti) };
    match t.message(&info, &args, &mut out) {
        // dm core: 1 means "result holds output".
        Ok(()) => c_int::from(!out.as_bytes().is_empty()),
        Err(e) => e.to_errno(),
    }
}

/// # Safety
///
/// Only dm core calls this, for a live, constructed target and its limits,
/// which it lets us modify for the duration of the call.
unsafe extern "C" fn io_hints_callback<T: Target>(
    ti: *mut bindings::dm_target,
    limits: *mut bindings::queue_limits,
) {
    // SAFETY: as above; table loading runs in process context.
    let ((t, info), limits) = unsafe { (target::<T, super::target::Process>(ti), &mut *limits) };
    t.io_hints(&info, &mut QueueLimits(limits));
}

/// # Safety
///
/// Only dm core calls this, for a live, constructed target, with its
/// callout and the callout's data.
unsafe extern "C" fn iterate_devices_callback<T: Target>(
    ti: *mut bindings::dm_target,
    f: bindings::iterate_devices_callout_fn,
    data: *mut c_void,
) -> c_int {
    // SAFETY: dm core passes a live, constructed target.
    let (t, info) = unsafe { target::<T, super::target::Process>(ti) };
    let Some(ti) = NonNull::new(ti) else {
        return 0;
    };
    let mut it = DevIter {
        ti,
        f,
        data,
        _p: PhantomData,
    };
    t.iterate_devices(&info, &mut it)
}

/// # Safety
///
/// Only dm core calls this, for a live, constructed target, with its
/// out-parameter for the block device.
unsafe extern "C" fn prepare_ioctl_callback<T: Target>(
    ti: *mut bindings::dm_target,
    bdev: *mut *mut bindings::block_device,
    _cmd: c_uint,
    _arg: kernel::ffi::c_ulong,
    _forward: *mut bool,
) -> c_int {
    // SAFETY: dm core passes a live, constructed target.
    let (t, info) = unsafe { target::<T, super::target::Process>(ti) };
    let (dev, whole) = t.prepare_ioctl(&info);
    // SAFETY: `bdev` is dm core's out-parameter; the device is borrowed from
    // the target, which dm core keeps alive (live-table SRCU) while it
    // uses the bdev.
    unsafe { *bdev = dev.bdev() };
    c_int::from(!whole)
}

macro_rules! suspend_hook {
    ($cb:ident, $method:ident) => {
        /// # Safety
        ///
        /// Only dm core calls this, with a live, constructed target, in
        /// process context.
        unsafe extern "C" fn $cb<T: Target>(ti: *mut bindings::dm_target) {
            // SAFETY: dm core passes a live, constructed target.
            let (t, info) = unsafe { target::<T, super::target::Process>(ti) };
            t.$method(&info);
        }
    };
}

suspend_hook!(presuspend_callback, presuspend);
suspend_hook!(presuspend_undo_callback, presuspend_undo);
suspend_hook!(postsuspend_callback, postsuspend);
suspend_hook!(resume_callback, resume);

/// # Safety
///
/// Only dm core calls this, with a live, constructed target, in process
/// context.
unsafe extern "C" fn preresume_callback<T: Target>(ti: *mut bindings::dm_target) -> c_int {
    // SAFETY: dm core passes a live, constructed target.
    let (t, info) = unsafe { target::<T, super::target::Process>(ti) };
    match t.preresume(&info) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}
