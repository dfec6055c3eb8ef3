// SPDX-License-Identifier: GPL-2.0

//! Bios as a target's I/O hooks see them.
//!
//! `map` gets a [`Bio`] and must return a [`Mapped`]; the only way to make
//! one is to consume the bio (remap, kill, requeue, defer, submit through
//! blk-crypto), so what `map` tells dm core always matches what it did with
//! the bio. A bio that got a chained clone becomes a [`ChainedBio`], which
//! can no longer be killed or requeued (dm core would free it while the
//! clone is in flight). A bio taken over is a [`DeferredBio`], finished
//! exactly once: submitted, ended, or failed when dropped.
//!
//! The `struct bio` is only ever accessed through its raw pointer, one field
//! at a time: completions of chained clones write `bi_status` and
//! `__bi_remaining` of a bio concurrently with its owner, so no reference to
//! the whole struct is formed.

use super::crypto::KeyedDev;
use super::{bindings, DmDev, Sector, SECTOR_SHIFT};
use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::error::to_result;
use kernel::ffi::c_int;
use kernel::prelude::*;
use kernel::types::Opaque;

/// Makes a lifetime invariant: a [`Mapped`] of one `map` call cannot be
/// passed off as another's.
type Invariant<'a> = PhantomData<fn(&'a ()) -> &'a ()>;

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

/// The outcome of one `map` call (`DM_MAPIO_*`), made only by consuming
/// that call's [`Bio`].
///
/// # Invariants
///
/// `code` is `DM_MAPIO_REMAPPED` or `DM_MAPIO_SUBMITTED` only if the bio's
/// per-bio data was stored (so `end_io` may take it); otherwise it is
/// `DM_MAPIO_KILL` or `DM_MAPIO_REQUEUE`.
#[must_use = "map must return what consuming the bio produced"]
pub(crate) struct Mapped<'a> {
    code: u32,
    _p: Invariant<'a>,
}

impl Mapped<'_> {
    fn new(code: u32) -> Self {
        Self {
            code,
            _p: PhantomData,
        }
    }

    pub(super) fn to_c(&self) -> c_int {
        self.code as c_int
    }
}

/// The size the layer asks dm core to reserve per bio for `P`
/// (`ti->per_io_data_size`): rounded up so that the slot, which dm core
/// places right below its `struct dm_target_io` (or the `struct dm_io` that
/// embeds it), is aligned: both contain a `struct bio`, so they are at
/// least as aligned as a bio, which the assertion below pins at 8.
const _: () = assert!(core::mem::align_of::<bindings::bio>() >= 8);

pub(super) const fn per_io_size<P>() -> usize {
    core::mem::size_of::<P>().next_multiple_of(8)
}

/// Where `P` lives for `bio`.
///
/// # Safety
///
/// `bio` must be a bio dm core passed to a target whose
/// `per_io_data_size` is `per_io_size::<P>()`.
unsafe fn per_io_slot<P>(bio: NonNull<bindings::bio>) -> *mut P {
    if core::mem::size_of::<P>() == 0 {
        return NonNull::dangling().as_ptr();
    }
    // SAFETY: by the caller's contract dm core reserved `per_io_size::<P>()`
    // bytes in front of the bio's `dm_target_io`, aligned to 8, which is
    // enough for `P` (the constructor trampoline checks `P`'s alignment).
    unsafe { bindings::dm_per_bio_data(bio.as_ptr(), per_io_size::<P>()).cast() }
}

/// Takes the per-bio value back in `end_io`.
///
/// # Safety
///
/// As for [`per_io_slot`]; `map` must have stored a `P` for `bio` (it did
/// for every bio that reaches `end_io`), and it is taken once.
pub(super) unsafe fn take_per_io<P>(bio: NonNull<bindings::bio>) -> P {
    // SAFETY: the slot holds the `P` stored by `map`, read once.
    unsafe { per_io_slot::<P>(bio).read() }
}

/// The read accessors every bio view has, through the raw pointer.
macro_rules! bio_reads {
    ($ty:ident $(<$($g:tt),*>)?) => {
        impl $(<$($g),*>)? $ty $(<$($g),*>)? {
            /// The first sector, in the dm device's address space until remapped.
            pub(crate) fn sector(&self) -> Sector {
                // SAFETY: by the type invariant the bio is live and ours.
                unsafe { (*self.raw().as_ptr()).bi_iter.bi_sector }
            }

            /// The size in 512-byte sectors (`bio_sectors()`).
            pub(crate) fn sectors(&self) -> u32 {
                // SAFETY: as above.
                unsafe { (*self.raw().as_ptr()).bi_iter.bi_size >> SECTOR_SHIFT }
            }

            /// Whether the bio carries data pages (`bio_has_data()`).
            pub(crate) fn has_data(&self) -> bool {
                // SAFETY: as above.
                unsafe { bindings::rdm_bio_has_data(self.raw().as_ptr()) }
            }

            pub(crate) fn op(&self) -> Op {
                op(self.raw())
            }

            /// Whether the bio asks for a cache flush before it (`REQ_PREFLUSH`).
            pub(crate) fn is_preflush(&self) -> bool {
                opf(self.raw()) & bindings::REQ_PREFLUSH != 0
            }

            /// Whether the bio must be durable when it completes (`REQ_FUA`).
            pub(crate) fn is_fua(&self) -> bool {
                opf(self.raw()) & bindings::REQ_FUA != 0
            }
        }
    };
}

fn opf(bio: NonNull<bindings::bio>) -> bindings::blk_opf_t {
    // SAFETY: callers pass the live bio of a view; `bi_opf` is not written
    // while a target holds the bio.
    unsafe { (*bio.as_ptr()).bi_opf }
}

pub(super) fn op_of(bio: NonNull<bindings::bio>) -> Op {
    op(bio)
}

fn op(bio: NonNull<bindings::bio>) -> Op {
    match opf(bio) & bindings::REQ_OP_MASK {
        bindings::REQ_OP_READ => Op::Read,
        bindings::REQ_OP_WRITE => Op::Write,
        bindings::REQ_OP_FLUSH => Op::Flush,
        bindings::REQ_OP_DISCARD => Op::Discard,
        _ => Op::Other,
    }
}

/// A bio being mapped: `map` owns it until it consumes it into the
/// [`Mapped`] it returns. `P` is the target's per-bio data, given to the
/// outcomes after which `end_io` runs.
///
/// # Invariants
///
/// `ptr` is the bio dm core passed to the `map` call that made this value,
/// for a target whose per-bio data is `P` and whose
/// `accounts_remapped_io` is `accounts`; nothing else has used it yet.
/// `ti` is that target. `'a` is the lifetime of the target object, which
/// outlives the bio.
pub(crate) struct Bio<'a, P = ()> {
    ptr: NonNull<bindings::bio>,
    ti: NonNull<bindings::dm_target>,
    accounts: bool,
    /// Whether `set_dev` sent the bio to a device below: dm core hands the
    /// target a bio that points at the dm device itself, and submitting it
    /// as it is would map it again, forever.
    remapped: bool,
    _p: (Invariant<'a>, PhantomData<fn(P)>),
}

bio_reads!(Bio<'a, P>);

impl<'a, P> Bio<'a, P> {
    /// # Safety
    ///
    /// `ptr` must be the bio of a `map` call of a target whose per-bio data
    /// is `P` and `accounts_remapped_io` is `accounts`, and the target object
    /// must live for `'a`; `ti` must be that target.
    pub(super) unsafe fn from_raw(
        ptr: NonNull<bindings::bio>,
        ti: NonNull<bindings::dm_target>,
        accounts: bool,
    ) -> Self {
        // INVARIANT: guaranteed by the caller.
        Self {
            ptr,
            ti,
            accounts,
            remapped: false,
            _p: (PhantomData, PhantomData),
        }
    }

    /// Redirects the bio to `dev` (`bio_set_dev()`); `dev` is borrowed for
    /// as long as the target lives, which covers the bio's flight.
    pub(crate) fn set_dev(&mut self, dev: &'a DmDev) {
        // SAFETY: the bio is live and ours; `dev` holds its block device.
        unsafe { bindings::rdm_bio_set_dev(self.ptr.as_ptr(), dev.bdev()) };
        self.remapped = true;
    }

    pub(crate) fn set_sector(&mut self, sector: Sector) {
        // SAFETY: the bio is live and ours.
        unsafe { (*self.ptr.as_ptr()).bi_iter.bi_sector = sector };
    }

    /// Maps only the first `sectors` of the bio (`dm_accept_partial_bio()`);
    /// dm core sends the rest in another bio. Only for reads and writes with
    /// data and `0 < sectors <= self.sectors()`; otherwise `EINVAL`.
    pub(crate) fn accept_partial(&mut self, sectors: u32) -> Result {
        // SAFETY: the bio is live, ours, and in `map`; the helper checks
        // what dm_accept_partial_bio() would BUG_ON.
        if unsafe { bindings::rdm_accept_partial_bio(self.ptr.as_ptr(), sectors) } {
            Ok(())
        } else {
            Err(EINVAL)
        }
    }

    fn store_per_io(&mut self, per_io: P) {
        // SAFETY: by the type invariant the bio is a `map` bio of a target
        // with per-bio data `P`; the slot is written once, before the bio
        // can complete.
        unsafe { per_io_slot::<P>(self.ptr).write(per_io) };
    }

    /// Hands the remapped bio back for dm core to submit. A bio never sent
    /// to a device below ([`Bio::set_dev`]) would come back to this very
    /// target: it is failed instead, with a warning (ended, not killed: it
    /// may have chained clones in flight).
    pub(crate) fn remap_with(self, per_io: P) -> Mapped<'a> {
        if !self.remapped {
            kernel::pr_warn_once!("rdm: remap of a bio without set_dev: failed\n");
            let (bio, mapped) = self.defer_with(per_io);
            bio.end(Err(EIO));
            return mapped;
        }
        let mut bio = self;
        bio.store_per_io(per_io);
        Mapped::new(bindings::DM_MAPIO_REMAPPED)
    }

    /// Fails the bio with an I/O error; `end_io` does not run for it.
    pub(crate) fn kill(self) -> Mapped<'a> {
        Mapped::new(bindings::DM_MAPIO_KILL)
    }

    /// Asks dm core to requeue the bio; `end_io` does not run for it.
    pub(crate) fn requeue(self) -> Mapped<'a> {
        Mapped::new(bindings::DM_MAPIO_REQUEUE)
    }

    /// Takes the (remapped) bio over to finish it later, from any context.
    /// Remap it first: a deferred bio can be submitted or ended, not changed.
    pub(crate) fn defer_with(mut self, per_io: P) -> (DeferredBio, Mapped<'a>) {
        self.store_per_io(per_io);
        // INVARIANT: `map` returns `DM_MAPIO_SUBMITTED` for the bio, so the
        // target owns it until it submits or ends it.
        let bio = DeferredBio {
            ptr: self.ptr,
            accounts: self.accounts,
            remapped: self.remapped,
        };
        (bio, Mapped::new(bindings::DM_MAPIO_SUBMITTED))
    }

    /// Sends the bio to `dev`'s device with `dev`'s key as its inline
    /// encryption context (`bio_crypt_set_ctx()`), through blk-crypto, which
    /// uses the device's keyslots or, if it has none, blk-crypto-fallback.
    ///
    /// The key is the one started on that very device, and borrowed for as
    /// long as the target lives: blk-crypto finds keyslots by the key's
    /// address, so a key must not be freed (and another allocated at its
    /// address) while a bio or a keyslot still refers to it.
    ///
    /// A bio that already has a crypto context is failed: nothing above a
    /// target that does not pass the capability up (no
    /// `DM_TARGET_PASSES_CRYPTO`) can have set one, and overwriting it would
    /// leak it.
    pub(crate) fn submit_encrypted_with(
        mut self,
        dev: &'a KeyedDev,
        dun: u64,
        per_io: P,
    ) -> Mapped<'a> {
        // SAFETY: the bio is live and ours.
        if unsafe { bindings::rdm_bio_has_crypt_ctx(self.ptr.as_ptr()) } {
            kernel::pr_warn_once!("bio already has a crypto context\n");
            return self.kill();
        }
        self.set_dev(dev.dev());
        // No data, nothing to encrypt (and blk-crypto warns on such bios):
        // flushes and discards go to the device as they are.
        if !self.has_data() {
            return self.remap_with(per_io);
        }
        // SAFETY: the bio is live, ours, and has no crypto context (checked
        // above); the key is initialised and outlives the bio ('a).
        unsafe { bindings::rdm_bio_crypt_set_ctx(self.ptr.as_ptr(), dev.key().as_raw(), dun) };
        self.store_per_io(per_io);
        // SAFETY: the bio is live, remapped and ours. When this returns
        // false, blk-crypto took the bio over (fallback path) and may
        // already have completed it; we do not touch it again.
        if unsafe { bindings::__blk_crypto_submit_bio(self.ptr.as_ptr()) } {
            Mapped::new(bindings::DM_MAPIO_REMAPPED)
        } else {
            Mapped::new(bindings::DM_MAPIO_SUBMITTED)
        }
    }

    /// Sends a copy of the bio to `dev` at `sector` as well (a mirror leg),
    /// chained so that this bio completes only once the copy has, and fails
    /// if the copy fails. The device and the clone pool are borrowed for as
    /// long as the target lives. On allocation failure the bio comes back
    /// unchanged in `Err`.
    pub(crate) fn clone_chained(
        self,
        dev: &'a DmDev,
        sector: Sector,
        bs: &'a BioSet,
    ) -> Result<ChainedBio<'a, P>, Self> {
        // SAFETY: the bio is live and ours; `dev` holds its block device and
        // `bs` is an initialised bio_set, both for as long as the target
        // lives, which is longer than the clone's flight (the clone
        // completes before this bio does).
        let r = unsafe {
            bindings::rdm_bio_clone_chained(self.ptr.as_ptr(), dev.bdev(), sector, bs.as_raw())
        };
        if r == 0 {
            Ok(ChainedBio { bio: self })
        } else {
            Err(self)
        }
    }
}

impl<'a> Bio<'a, ()> {
    /// [`Bio::remap_with`] for targets without per-bio data.
    pub(crate) fn remap(self) -> Mapped<'a> {
        self.remap_with(())
    }

    /// [`Bio::defer_with`] for targets without per-bio data.
    pub(crate) fn defer(self) -> (DeferredBio, Mapped<'a>) {
        self.defer_with(())
    }

    /// [`Bio::submit_encrypted_with`] for targets without per-bio data.
    pub(crate) fn submit_encrypted(self, dev: &'a KeyedDev, dun: u64) -> Mapped<'a> {
        self.submit_encrypted_with(dev, dun, ())
    }
}

/// A bio being mapped that has chained clones in flight: it can still be
/// remapped, deferred or cloned again, but no longer killed or requeued.
///
/// # Invariants
///
/// `bio` owes at least one completion to a clone in flight (or to a part
/// such a clone owns), so dm core must not free it before those complete.
pub(crate) struct ChainedBio<'a, P = ()> {
    bio: Bio<'a, P>,
}

bio_reads!(ChainedBio<'a, P>);

impl<'a, P> ChainedBio<'a, P> {
    /// See [`Bio::set_dev`].
    pub(crate) fn set_dev(&mut self, dev: &'a DmDev) {
        self.bio.set_dev(dev);
    }

    /// See [`Bio::set_sector`].
    pub(crate) fn set_sector(&mut self, sector: Sector) {
        self.bio.set_sector(sector);
    }

    /// See [`Bio::clone_chained`].
    pub(crate) fn clone_chained(
        self,
        dev: &'a DmDev,
        sector: Sector,
        bs: &'a BioSet,
    ) -> Result<Self, Self> {
        self.bio
            .clone_chained(dev, sector, bs)
            .map_err(|bio| Self { bio })
    }

    /// See [`Bio::remap_with`].
    pub(crate) fn remap_with(self, per_io: P) -> Mapped<'a> {
        self.bio.remap_with(per_io)
    }

    /// See [`Bio::defer_with`]. Ending the deferred bio successfully keeps
    /// an error a chained clone reported.
    pub(crate) fn defer_with(self, per_io: P) -> (DeferredBio, Mapped<'a>) {
        self.bio.defer_with(per_io)
    }
}

impl<'a> ChainedBio<'a, ()> {
    /// [`ChainedBio::remap_with`] for targets without per-bio data.
    pub(crate) fn remap(self) -> Mapped<'a> {
        self.remap_with(())
    }

    /// [`ChainedBio::defer_with`] for targets without per-bio data.
    pub(crate) fn defer(self) -> (DeferredBio, Mapped<'a>) {
        self.defer_with(())
    }
}

/// A bio `map` still holds, chained or not: what target-owned clones
/// ([`super::ClonePool`]) are made from.
pub(super) trait BeingMapped<'a, P> {
    fn raw(&self) -> NonNull<bindings::bio>;
    /// The target mapping the bio.
    fn target(&self) -> NonNull<bindings::dm_target>;
    /// Owes one more completion, to a part the caller keeps; from then on
    /// the bio is chained.
    fn take_part(self) -> (ChainedBio<'a, P>, BioPart);
}

impl<'a, P> BeingMapped<'a, P> for Bio<'a, P> {
    fn raw(&self) -> NonNull<bindings::bio> {
        self.ptr
    }

    fn target(&self) -> NonNull<bindings::dm_target> {
        self.ti
    }

    fn take_part(self) -> (ChainedBio<'a, P>, BioPart) {
        // SAFETY: by the type invariant the bio is live and ours, not yet
        // ended; the chained bio it becomes cannot be killed or requeued,
        // so the part ends it.
        let part = unsafe { BioPart::owed_by(self.ptr) };
        (ChainedBio { bio: self }, part)
    }
}

impl<'a, P> BeingMapped<'a, P> for ChainedBio<'a, P> {
    fn raw(&self) -> NonNull<bindings::bio> {
        self.bio.ptr
    }

    fn target(&self) -> NonNull<bindings::dm_target> {
        self.bio.ti
    }

    fn take_part(self) -> (ChainedBio<'a, P>, BioPart) {
        self.bio.take_part()
    }
}

/// A bio whose data pages a target may copy to or from while it owns the
/// bio: one being mapped, chained or deferred, or a completed clone during
/// its pool's process-context completion ([`super::CloneData`]); never one
/// in flight. The data is addressed by byte offset into the bio's current
/// iterator, which the layer checks against its size.
pub(crate) trait BioData: data::Sealed {
    /// The bytes of data the bio carries: its size (`bi_iter.bi_size`) for
    /// a read or write with data pages, 0 for anything else (a discard or
    /// write-zeroes has a size but no pages to copy).
    fn data_len(&self) -> u32 {
        let bio = self.data_bio();
        // SAFETY: by the implementors' invariants the bio is live and owned.
        let has_pages = unsafe { bindings::rdm_bio_has_data(bio.as_ptr()) };
        if !has_pages || !matches!(op(bio), Op::Read | Op::Write) {
            return 0;
        }
        // SAFETY: as above.
        unsafe { (*bio.as_ptr()).bi_iter.bi_size }
    }

    /// Whether `off..off + len` lies inside the bio's data.
    fn data_range_ok(&self, off: u32, len: u32) -> bool {
        off.checked_add(len)
            .is_some_and(|end| end <= self.data_len())
    }
}

pub(super) mod data {
    use super::*;

    /// Only the layer's owned bio views carry data a target may copy.
    pub(crate) trait Sealed {
        /// The live bio the view owns.
        fn data_bio(&self) -> NonNull<bindings::bio>;
    }

    impl<P> Sealed for Bio<'_, P> {
        fn data_bio(&self) -> NonNull<bindings::bio> {
            self.ptr
        }
    }

    impl<P> Sealed for ChainedBio<'_, P> {
        fn data_bio(&self) -> NonNull<bindings::bio> {
            self.bio.ptr
        }
    }

    impl Sealed for DeferredBio {
        fn data_bio(&self) -> NonNull<bindings::bio> {
            self.ptr
        }
    }
}

impl<P> BioData for Bio<'_, P> {}
impl<P> BioData for ChainedBio<'_, P> {}
impl BioData for DeferredBio {}

/// Completes a bio, keeping an error already recorded (first error wins).
fn end_bio(ptr: NonNull<bindings::bio>, result: Result) {
    let err = match result {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    };
    // SAFETY: callers pass a live bio whose completion they own and give up.
    unsafe { bindings::rdm_bio_end(ptr.as_ptr(), err) };
}

/// A bio a target took over in `map` ([`Bio::defer_with`]) and finishes
/// later, from any context.
///
/// # Invariants
///
/// `ptr` is a bio dm core passed to `map`, which `map` took over (it
/// returns, or has returned, `DM_MAPIO_SUBMITTED`), and which has been
/// neither submitted nor ended; `accounts` is its target's
/// `accounts_remapped_io`; `remapped` says whether it was sent to a device
/// below.
pub(crate) struct DeferredBio {
    ptr: NonNull<bindings::bio>,
    accounts: bool,
    remapped: bool,
}

// SAFETY: a bio may be submitted or completed from any thread by its owner.
unsafe impl Send for DeferredBio {}

bio_reads!(DeferredBio);

impl DeferredBio {
    fn raw(&self) -> NonNull<bindings::bio> {
        self.ptr
    }

    fn into_raw(self) -> NonNull<bindings::bio> {
        let ptr = self.ptr;
        core::mem::forget(self);
        ptr
    }

    /// Submits the bio to the device `map` remapped it to. With
    /// [`super::Target::ACCOUNTS_REMAPPED_IO`] dm core accounts it now
    /// (`dm_submit_bio_remap()`); otherwise it did when `map` returned, and
    /// the bio goes down with `submit_bio_noacct()`.
    ///
    /// A bio `map` did not remap ([`Bio::set_dev`]) would come back to this
    /// very target: it is failed instead (with a warning).
    pub(crate) fn submit(self) {
        if !self.remapped {
            kernel::pr_warn_once!("rdm: submit of a bio without set_dev: failed\n");
            return self.end(Err(EIO));
        }
        let accounts = self.accounts;
        let ptr = self.into_raw();
        // SAFETY: by the type invariant the bio is ours and live; after this
        // call it belongs to the block layer. dm_submit_bio_remap() is only
        // used when the target set `accounts_remapped_io`, as dm core wants.
        unsafe {
            if accounts {
                bindings::dm_submit_bio_remap(ptr.as_ptr(), core::ptr::null_mut());
            } else {
                bindings::submit_bio_noacct(ptr.as_ptr());
            }
        }
    }

    /// Completes the bio (`bio_endio()`): with `Err`, fails it with that
    /// error; with `Ok`, keeps an error a chained clone or a part reported.
    pub(crate) fn end(self, result: Result) {
        end_bio(self.into_raw(), result);
    }

    /// Splits off a part of the completion (`bio_inc_remaining()`): the bio
    /// completes once it and every part are ended, with the first error.
    pub(crate) fn part(&mut self) -> BioPart {
        // SAFETY: by the type invariant the bio is live, ours, not yet ended.
        unsafe { BioPart::owed_by(self.ptr) }
    }
}

impl Drop for DeferredBio {
    fn drop(&mut self) {
        // A deferred bio nobody finished: fail it rather than hang its
        // submitter.
        end_bio(self.ptr, Err(EIO));
    }
}

/// One part of a [`DeferredBio`]'s completion ([`DeferredBio::part`]).
///
/// # Invariants
///
/// `ptr` is a live bio that owes this part one `bio_endio()`.
pub(crate) struct BioPart {
    ptr: NonNull<bindings::bio>,
}

// SAFETY: a part may be ended from any thread.
unsafe impl Send for BioPart {}

impl BioPart {
    /// Makes `bio` owe one more completion (`bio_inc_remaining()`), to the
    /// returned part.
    ///
    /// # Safety
    ///
    /// `bio` must be live and not yet ended, and its owner must let the
    /// part end it.
    unsafe fn owed_by(bio: NonNull<bindings::bio>) -> Self {
        // SAFETY: guaranteed by the caller.
        unsafe { bindings::rdm_bio_inc_remaining(bio.as_ptr()) };
        // INVARIANT: one more completion is owed, owned by the part.
        Self { ptr: bio }
    }

    /// The bio that owes this part (live while the part is).
    pub(super) fn bio(&self) -> NonNull<bindings::bio> {
        self.ptr
    }

    /// Ends this part; see [`DeferredBio::end`].
    pub(crate) fn end(self, result: Result) {
        let ptr = self.ptr;
        core::mem::forget(self);
        end_bio(ptr, result);
    }
}

impl Drop for BioPart {
    fn drop(&mut self) {
        end_bio(self.ptr, Err(EIO));
    }
}

/// A FIFO of deferred bios linked through their own `bi_next` (C's
/// `bio_list`): queueing a bio never allocates, so it cannot fail.
///
/// Bios of targets that account remapped I/O and of targets that do not
/// may share a list: each link (`head`, or the predecessor's `bi_next`)
/// carries the linked bio's two flags in its low bits, which are free since
/// bios are at least 8-byte aligned.
///
/// # Invariants
///
/// `head` .. `tail`, linked by `bi_next` (tagged as above), are the bios of
/// [`DeferredBio`]s pushed and not popped; `tail` is untagged.
pub(crate) struct BioList {
    head: *mut bindings::bio,
    tail: Option<NonNull<bindings::bio>>,
}

// SAFETY: the list owns its bios, which may be finished from any thread.
unsafe impl Send for BioList {}

const _: () = assert!(core::mem::align_of::<bindings::bio>() >= 4);

/// The link to `bio`, carrying its flags.
fn tag(bio: &DeferredBio) -> *mut bindings::bio {
    let flags = usize::from(bio.accounts) | usize::from(bio.remapped) << 1;
    bio.ptr.as_ptr().map_addr(|a| a | flags)
}

/// The bio a link points to, with its flags.
fn untag(link: *mut bindings::bio) -> Option<DeferredBio> {
    let ptr = NonNull::new(link.map_addr(|a| a & !3))?;
    Some(DeferredBio {
        ptr,
        accounts: link.addr() & 1 != 0,
        remapped: link.addr() & 2 != 0,
    })
}

impl BioList {
    pub(crate) const fn new() -> Self {
        Self {
            head: core::ptr::null_mut(),
            tail: None,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.head.is_null()
    }

    pub(crate) fn push(&mut self, bio: DeferredBio) {
        let link = tag(&bio);
        let ptr = bio.into_raw();
        // SAFETY: the bio is ours; a bio that is neither submitted nor ended
        // leaves `bi_next` to its owner, as C's bio_list does.
        unsafe { (*ptr.as_ptr()).bi_next = core::ptr::null_mut() };
        match self.tail {
            // SAFETY: `tail` is a bio of the list, ours by the invariant.
            Some(tail) => unsafe { (*tail.as_ptr()).bi_next = link },
            None => self.head = link,
        }
        // INVARIANT: `ptr` is linked at the tail.
        self.tail = Some(ptr);
    }

    pub(crate) fn pop(&mut self) -> Option<DeferredBio> {
        // INVARIANT: the head is unlinked below and owned by the result.
        let bio = untag(self.head)?;
        // SAFETY: the bio is the list's head, ours by the invariant.
        self.head =
            unsafe { core::mem::replace(&mut (*bio.ptr.as_ptr()).bi_next, core::ptr::null_mut()) };
        if self.head.is_null() {
            self.tail = None;
        }
        Some(bio)
    }

    /// Takes every bio, leaving the list empty (to finish them outside a lock).
    pub(crate) fn take(&mut self) -> Self {
        core::mem::take(self)
    }

    /// Puts `bio`, then the bios of `rest`, in front of this list's (a
    /// request taken off the list to be retried, and those behind it, go
    /// back before any that came since).
    pub(crate) fn requeue_front(&mut self, bio: DeferredBio, mut rest: BioList) {
        let mut newer = self.take();
        self.push(bio);
        while let Some(b) = rest.pop() {
            self.push(b);
        }
        while let Some(b) = newer.pop() {
            self.push(b);
        }
    }
}

impl Default for BioList {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for BioList {
    fn drop(&mut self) {
        // Each popped bio is failed as it drops.
        while self.pop().is_some() {}
    }
}

/// A bio completing, as `end_io` sees it. Its iterator has been advanced
/// by the completion, so it has no sector or size: a target records what
/// `end_io` needs in its per-bio data at map time.
///
/// # Invariants
///
/// `ptr` is a live bio in its `end_io` call for `'a`.
pub(crate) struct EndingBio<'a> {
    ptr: NonNull<bindings::bio>,
    _p: PhantomData<&'a ()>,
}

impl EndingBio<'_> {
    /// # Safety
    ///
    /// `ptr` must be the bio of an `end_io` call that lasts for the returned
    /// lifetime.
    pub(super) unsafe fn from_raw(ptr: NonNull<bindings::bio>) -> Self {
        // INVARIANT: guaranteed by the caller.
        Self {
            ptr,
            _p: PhantomData,
        }
    }

    pub(crate) fn op(&self) -> Op {
        op(self.ptr)
    }

    /// Whether the bio asked for a cache flush before it (`REQ_PREFLUSH`).
    pub(crate) fn is_preflush(&self) -> bool {
        opf(self.ptr) & bindings::REQ_PREFLUSH != 0
    }
}

/// The completion status of a bio, which `end_io` may change.
pub(crate) struct BlkStatus<'a>(pub(super) &'a mut bindings::blk_status_t);

impl BlkStatus<'_> {
    pub(crate) fn is_ok(&self) -> bool {
        *self.0 == bindings::BLK_STS_OK
    }

    /// The status as a kernel error (`blk_status_to_errno()`).
    pub(crate) fn to_result(&self) -> Result {
        // SAFETY: a plain conversion of a status value.
        to_result(unsafe { bindings::blk_status_to_errno(*self.0) })
    }

    /// Sets the status: success, or the block status for `Err`'s errno
    /// (`errno_to_blk_status()`; unknown errnos become `BLK_STS_IOERR`).
    pub(crate) fn set(&mut self, result: Result) {
        *self.0 = match result {
            Ok(()) => bindings::BLK_STS_OK,
            // SAFETY: a plain conversion of an errno value.
            Err(e) => unsafe { bindings::errno_to_blk_status(e.to_errno()) },
        };
    }
}

/// A pool to allocate bio clones from (`struct bio_set`), for targets that
/// send one bio to several devices. Bios borrow it for as long as the
/// target lives ([`Bio::clone_chained`]), so it is exited only after every
/// clone from it has completed.
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
        // SAFETY: initialised by the type invariant. Clones borrow the set
        // for the target's lifetime and complete before the target is
        // destroyed; a set dropped earlier was never lent to a clone.
        unsafe { bindings::bioset_exit(self.bs.get()) };
    }
}
