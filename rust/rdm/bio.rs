// SPDX-License-Identifier: GPL-2.0

//! `Bio`: the view of a bio that dm core hands a target's `map`.

use super::crypto::BlkCryptoKey;
use super::{bindings, DmDev, MapResult, Sector, SECTOR_SHIFT};
use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::error::to_result;
use kernel::prelude::*;
use kernel::types::Opaque;

/// The operation of a bio (`bio_op()`), for the ops targets treat specially.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Op {
    Read,
    Write,
    Flush,
    Discard,
    /// Any other operation (write-zeroes, zone ops, ...).
    Other,
}

/// A bio being mapped by a target, or completing (in `end_io`, where the
/// target only gets `&Bio`).
///
/// # Invariants
///
/// `ptr` is a bio that dm core passed to the target's `map` (or `end_io`)
/// for the duration of `'a`; in `map` the target owns it until it returns a
/// [`MapResult`].
pub(crate) struct Bio<'a> {
    ptr: NonNull<bindings::bio>,
    _p: PhantomData<&'a mut bindings::bio>,
}

impl Bio<'_> {
    /// # Safety
    ///
    /// `ptr` must be a bio dm core passed to `map`, valid for the returned lifetime.
    pub(super) unsafe fn from_raw(ptr: NonNull<bindings::bio>) -> Self {
        // INVARIANT: guaranteed by the caller.
        Self {
            ptr,
            _p: PhantomData,
        }
    }

    fn raw(&self) -> &bindings::bio {
        // SAFETY: by the type invariant the bio is valid and owned by us.
        unsafe { self.ptr.as_ref() }
    }

    fn raw_mut(&mut self) -> &mut bindings::bio {
        // SAFETY: by the type invariant the bio is valid and owned by us.
        unsafe { self.ptr.as_mut() }
    }

    /// The first sector, in the dm device's address space until remapped.
    pub(crate) fn sector(&self) -> Sector {
        self.raw().bi_iter.bi_sector
    }

    pub(crate) fn set_sector(&mut self, sector: Sector) {
        self.raw_mut().bi_iter.bi_sector = sector;
    }

    /// The size in 512-byte sectors (`bio_sectors()`).
    pub(crate) fn sectors(&self) -> u32 {
        self.raw().bi_iter.bi_size >> SECTOR_SHIFT
    }

    pub(crate) fn op(&self) -> Op {
        match self.raw().bi_opf & bindings::REQ_OP_MASK {
            bindings::REQ_OP_READ => Op::Read,
            bindings::REQ_OP_WRITE => Op::Write,
            bindings::REQ_OP_FLUSH => Op::Flush,
            bindings::REQ_OP_DISCARD => Op::Discard,
            _ => Op::Other,
        }
    }

    /// Whether the bio asks for a cache flush before it (`REQ_PREFLUSH`).
    pub(crate) fn is_preflush(&self) -> bool {
        self.raw().bi_opf & bindings::REQ_PREFLUSH != 0
    }

    /// Whether the bio must be durable when it completes (`REQ_FUA`).
    pub(crate) fn is_fua(&self) -> bool {
        self.raw().bi_opf & bindings::REQ_FUA != 0
    }

    /// Whether the bio carries data pages (`bio_has_data()`).
    pub(crate) fn has_data(&self) -> bool {
        // SAFETY: by the type invariant the bio is valid.
        unsafe { bindings::rdm_bio_has_data(self.ptr.as_ptr()) }
    }

    /// Redirects the bio to `dev` (`bio_set_dev()`).
    pub(crate) fn set_dev(&mut self, dev: &DmDev) {
        // SAFETY: the bio is valid and ours; `dev` holds its block device.
        unsafe { bindings::rdm_bio_set_dev(self.ptr.as_ptr(), dev.bdev()) };
    }

    pub(crate) fn has_crypt_ctx(&self) -> bool {
        // SAFETY: by the type invariant the bio is valid.
        unsafe { bindings::rdm_bio_has_crypt_ctx(self.ptr.as_ptr()) }
    }

    /// Sends a copy of the bio to `dev` at `sector` as well (a mirror leg),
    /// chained so that this bio completes only once the copy has, and fails
    /// if the copy fails. Call before remapping and returning this bio.
    pub(crate) fn clone_chained(&mut self, dev: &DmDev, sector: Sector, bs: &BioSet) -> Result {
        // SAFETY: the bio is ours and live; `dev` holds its block device;
        // `bs` is an initialised bio_set that outlives the clone (a target
        // drops its `BioSet` only after all of its I/O has completed).
        to_result(unsafe {
            bindings::rdm_bio_clone_chained(self.ptr.as_ptr(), dev.bdev(), sector, bs.as_raw())
        })
    }

    /// Takes the bio over to finish it later, from any context (for
    /// example a workqueue): `map` must return the [`MapResult`] given
    /// with it. The returned bio must be submitted or ended; dropping it
    /// ends it with an I/O error rather than leak it.
    pub(crate) fn defer(self) -> (DeferredBio, MapResult) {
        // INVARIANT: dm core gave us the bio in `map`, and `map` returns
        // `Submitted`, so the target owns it until it submits or ends it.
        let bio = Bio {
            ptr: self.ptr,
            _p: PhantomData,
        };
        (DeferredBio { bio }, MapResult::Submitted)
    }

    /// Attaches an inline-encryption context (`bio_crypt_set_ctx()`) and
    /// submits the bio through blk-crypto, which uses the device's keyslots
    /// or, if it has none, blk-crypto-fallback.
    ///
    /// `key` must belong to the target mapping this bio: dm core destroys a
    /// target only after every bio it mapped has completed, so the key
    /// outlives the bio that points at it.
    ///
    /// A bio that already has a crypto context is failed: nothing above a
    /// target that does not pass the capability up (no
    /// `DM_TARGET_PASSES_CRYPTO`) can have set one, and overwriting it would
    /// leak it.
    pub(crate) fn submit_encrypted(self, key: &BlkCryptoKey, dun: u64) -> MapResult {
        if self.has_crypt_ctx() {
            kernel::pr_warn_once!("bio already has a crypto context\n");
            return MapResult::Kill;
        }
        // SAFETY: the bio is valid and ours, and carries no crypt context
        // (checked above); `key` is an initialised key that outlives the
        // bio, as argued above.
        unsafe { bindings::rdm_bio_crypt_set_ctx(self.ptr.as_ptr(), key.as_raw(), dun) };
        // SAFETY: the bio is valid, remapped by the caller and ours. When it
        // returns false, blk-crypto took it over (fallback path).
        if unsafe { bindings::__blk_crypto_submit_bio(self.ptr.as_ptr()) } {
            MapResult::Remapped
        } else {
            MapResult::Submitted
        }
    }
}

/// A bio a target took over in `map` ([`Bio::defer`]) and finishes later.
///
/// # Invariants
///
/// `bio` is a bio dm core passed to `map`, for which `map` returned
/// `DM_MAPIO_SUBMITTED`, and which has been neither submitted nor ended.
/// The `'static` only says the target owns it now; it is never handed out by
/// value, so nothing can submit it behind the owner's back.
pub(crate) struct DeferredBio {
    bio: Bio<'static>,
}

// SAFETY: a bio may be submitted or completed from any thread by its owner.
unsafe impl Send for DeferredBio {}

impl DeferredBio {
    /// The bio, to read or remap. Only by reference: the consuming methods
    /// of `Bio` (which submit it) need it by value.
    pub(crate) fn bio(&mut self) -> &mut Bio<'static> {
        &mut self.bio
    }

    /// Submits the remapped bio to its (new) device, with dm core's
    /// accounting (`dm_submit_bio_remap()`).
    pub(crate) fn submit_remapped(self) {
        let ptr = self.bio.ptr;
        core::mem::forget(self);
        // SAFETY: by the type invariant the bio is ours and live; after this
        // call it belongs to the block layer, and `self` was forgotten so it
        // is not ended again.
        unsafe { bindings::dm_submit_bio_remap(ptr.as_ptr(), core::ptr::null_mut()) };
    }

    /// Completes the bio, successfully or with an I/O error (`bio_endio()`).
    pub(crate) fn end(self, ok: bool) {
        let ptr = self.bio.ptr;
        core::mem::forget(self);
        end_bio(ptr, ok);
    }
}

impl Drop for DeferredBio {
    fn drop(&mut self) {
        // A deferred bio nobody finished: fail it rather than hang its
        // submitter.
        end_bio(self.bio.ptr, false);
    }
}

fn end_bio(ptr: NonNull<bindings::bio>, ok: bool) {
    let status = if ok {
        bindings::BLK_STS_OK
    } else {
        bindings::BLK_STS_IOERR
    };
    // SAFETY: callers pass a live bio they own and give up; bio_endio()
    // completes it exactly once.
    unsafe {
        (*ptr.as_ptr()).bi_status = status;
        bindings::bio_endio(ptr.as_ptr());
    }
}

/// A pool to allocate bio clones from (`struct bio_set`), for targets that
/// send one bio to several devices.
///
/// # Invariants
///
/// `bs` was initialised by `bioset_init()` and is exited only by `drop`.
pub(crate) struct BioSet {
    bs: Pin<KBox<Opaque<bindings::bio_set>>>,
}

// SAFETY: bio_set allocation is thread-safe (mempool-backed).
unsafe impl Send for BioSet {}
// SAFETY: as above; `&BioSet` only allocates from it.
unsafe impl Sync for BioSet {}

impl BioSet {
    pub(crate) fn new() -> Result<Self> {
        let bs = KBox::pin(Opaque::<bindings::bio_set>::zeroed(), GFP_KERNEL)?;
        // SAFETY: `bs` is zeroed memory for a bio_set at a stable address,
        // as bioset_init() expects.
        to_result(unsafe { bindings::rdm_bioset_init(bs.get()) })?;
        // INVARIANT: initialised above.
        Ok(Self { bs })
    }

    fn as_raw(&self) -> *mut bindings::bio_set {
        self.bs.get()
    }
}

impl Drop for BioSet {
    fn drop(&mut self) {
        // SAFETY: initialised by the type invariant; no clone from it is
        // alive, as its owner drops it only after its I/O has completed.
        unsafe { bindings::bioset_exit(self.bs.get()) };
    }
}
