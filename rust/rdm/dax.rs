// SPDX-License-Identifier: GPL-2.0

//! Persistent memory: a whole DAX-capable table device mapped into the
//! kernel's address space, as dm-pcache's cache device is.
//!
//! Persistence needs two things a plain `memcpy` does not give: the stores
//! must leave the CPU cache (`memcpy_flushcache()`), and a later store that
//! depends on them (a kset that names the data, a position that names the
//! kset) must not become durable first (`pmem_wmb()` between the two). The
//! types say where those steps are: stores go through a [`PmemWrites`]
//! batch, and only [`PmemWrites::persist`] (or dropping the batch) ends it
//! with the barrier. Reads use `copy_mc_to_kernel()`, so a media error
//! (poison) is an `EIO`, not a machine check.
//!
//! The mapped memory is never lent out as a Rust reference: every access
//! copies through the C helpers, so concurrent stores to the same bytes
//! from other CPUs (or the block interface of the same pmem device) are
//! races on device memory that the target must order, not undefined
//! behaviour in Rust.

use super::bio::{BioData, Op};
use super::io::{IoBuf, IO_MAX_BYTES};
use super::{bindings, DmDev};
use core::ptr::NonNull;
use kernel::page::PAGE_SIZE;
use kernel::prelude::*;
use kernel::sync::Arc;

/// The most [`PmemDev::write_source`] sends in one write: one bio, from
/// any offset.
pub(crate) const PMEM_SRC_MAX_BYTES: usize = IO_MAX_BYTES - PAGE_SIZE;

/// A table device's DAX mapping.
///
/// # Invariants
///
/// `base` maps `len` bytes of `dev`'s memory for reads and writes (a direct
/// mapping, or a vmap of its pages when `vmapped`), for as long as `dev` is
/// held, which is as long as this object lives.
pub(crate) struct PmemDev {
    dev: DmDev,
    base: NonNull<u8>,
    len: usize,
    vmapped: bool,
}

// SAFETY: the mapping is plain memory; all access copies through helpers
// that are safe to call from any thread (see the module documentation for
// why concurrent access is not a Rust data race).
unsafe impl Send for PmemDev {}
// SAFETY: as above; `&PmemDev` only reads the immutable fields.
unsafe impl Sync for PmemDev {}

impl PmemDev {
    /// Maps the whole of `dev`, which must be DAX-capable (`EOPNOTSUPP`
    /// otherwise) and a whole number of pages that starts on a page
    /// (`EINVAL` otherwise); a partition is mapped from its own start.
    /// Process context (it may sleep building a vmap).
    pub(crate) fn new(dev: DmDev) -> Result<Self> {
        let bytes = dev.nr_sectors() << super::SECTOR_SHIFT;
        let len = usize::try_from(bytes).map_err(|_| EINVAL)?;
        let mut vaddr: *mut core::ffi::c_void = core::ptr::null_mut();
        let mut vmapped = false;
        // SAFETY: `dev` is a held table device; the out-parameters are
        // valid for writes and read only if the helper succeeded.
        kernel::error::to_result(unsafe {
            bindings::rdm_dax_map(dev.as_raw(), bytes, &mut vaddr, &mut vmapped)
        })?;
        let base = NonNull::new(vaddr.cast::<u8>()).ok_or(EINVAL)?;
        // INVARIANT: on success the helper mapped all `bytes` (checked to be
        // whole pages) of the held `dev`, from the device's own start.
        Ok(Self {
            dev,
            base,
            len,
            vmapped,
        })
    }

    /// The device mapped.
    pub(crate) fn dev(&self) -> &DmDev {
        &self.dev
    }

    /// The mapping's size in bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// A pointer to `n` bytes at `off`, if they lie inside the mapping.
    fn at(&self, off: u64, n: usize) -> Result<*mut u8> {
        let off = usize::try_from(off).map_err(|_| EINVAL)?;
        match off.checked_add(n) {
            // SAFETY: `off + n <= len`: inside the mapping (type invariant).
            Some(end) if end <= self.len => Ok(unsafe { self.base.as_ptr().add(off) }),
            _ => Err(EINVAL),
        }
    }

    /// Starts a batch of stores, made durable together by
    /// [`PmemWrites::persist`]; `EROFS` if the table opened the device
    /// read-only.
    pub(crate) fn writes(&self) -> Result<PmemWrites<'_>> {
        if !self.dev.writable() {
            return Err(EROFS);
        }
        Ok(PmemWrites { pmem: self })
    }

    /// Copies `dst.len()` bytes at `off` into `dst`; a media error in the
    /// range is `EIO` (`dst` then holds what could be read).
    pub(crate) fn read(&self, off: u64, dst: &mut [u8]) -> Result {
        let src = self.at(off, dst.len())?;
        // SAFETY: `src` is valid for `dst.len()` bytes of the mapping (checked
        // by `at`); `dst` is a distinct, writable kernel buffer.
        let left =
            unsafe { bindings::rdm_pmem_read(dst.as_mut_ptr().cast(), src.cast(), dst.len()) };
        if left != 0 {
            return Err(EIO);
        }
        Ok(())
    }
}

impl PmemDev {
    /// Copies `len` bytes at `off` into `bio`'s data at `bio_off`, which
    /// must be a read's (its pages are the reader's buffer; a write's belong
    /// to the writer and must not change). `EINVAL` for a range outside
    /// either, `EIO` for a media error.
    pub(crate) fn read_into_bio<B: BioData>(
        &self,
        off: u64,
        bio: &mut B,
        bio_off: u32,
        len: u32,
    ) -> Result {
        let raw = bio.data_bio();
        if super::bio::op_of(raw) != Op::Read || !bio.data_range_ok(bio_off, len) {
            return Err(EINVAL);
        }
        let src = self.at(off, len as usize)?;
        // SAFETY: the bio is live and owned by `bio` (`BioData`), and the
        // range lies inside its data (checked); `src` is valid for `len`
        // bytes of the mapping (checked by `at`).
        kernel::error::to_result(unsafe {
            bindings::rdm_bio_pmem_copy(raw.as_ptr(), bio_off, src.cast(), len, false)
        })
    }

    /// The `len` bytes at `off` as the source of a device write, without a
    /// copy (write-back out of a cache, as upstream dm-pcache and
    /// dm-writecache send their pmem pages): the buffer keeps the mapping
    /// alive, and the target keeps the bytes unchanged until the write
    /// completes. The device's driver reads the pmem itself, so only a
    /// media error the driver already knows of (a bad block) is seen
    /// here, as `EIO` (as upstream, a media error the driver does not know
    /// of is its machine check: it reads without `copy_mc`); `EINVAL` for a
    /// range outside the mapping, an offset or a length that is not a
    /// multiple of 512, or more than [`PMEM_SRC_MAX_BYTES`].
    pub(crate) fn write_source(self: &Arc<Self>, off: u64, len: usize) -> Result<IoBuf> {
        if len == 0 || len % 512 != 0 || len > PMEM_SRC_MAX_BYTES || off % 512 != 0 {
            return Err(EINVAL);
        }
        self.at(off, len)?;
        // In the mapping (checked): fits `usize`.
        let off = off as usize;
        // SAFETY: `dev` is held (type invariant); the range lies inside it.
        kernel::error::to_result(unsafe {
            bindings::rdm_dax_range_good(self.dev.as_raw(), off as u64, len as u64)
        })?;
        // SAFETY: inside the mapping and 512-aligned (checked); a multiple
        // of 512 of at most `IO_MAX_BYTES - PAGE_SIZE` bytes spans at most
        // `BIO_MAX_VECS` pages; the driver knows of no media error in it (checked).
        Ok(unsafe { IoBuf::pmem(self.clone(), off, len) })
    }

    /// The address of the byte at `off` of the mapping (not checked: the
    /// caller keeps it inside before using it).
    pub(super) fn kaddr(&self, off: usize) -> *mut u8 {
        self.base.as_ptr().wrapping_add(off)
    }

    /// The kernel's raw `crc32c(seed, ..)` over `len` bytes at `off`;
    /// `EINVAL` outside the mapping, `EIO` for a media error.
    pub(crate) fn crc32c(&self, seed: u32, off: u64, len: usize) -> Result<u32> {
        let src = self.at(off, len)?;
        let mut crc = 0;
        // SAFETY: `src` is valid for `len` bytes of the mapping (checked);
        // `crc` is written on success.
        kernel::error::to_result(unsafe {
            bindings::rdm_pmem_crc32c(seed, src.cast(), len, &mut crc)
        })?;
        Ok(crc)
    }
}

impl Drop for PmemDev {
    fn drop(&mut self) {
        // SAFETY: by the type invariant `base` is the helper's mapping,
        // unmapped once here; nothing borrows it any more. In interrupt
        // context the helper leaks a vmap instead (vunmap() would BUG).
        unsafe { bindings::rdm_dax_unmap(self.base.as_ptr().cast(), self.vmapped) };
    }
}

/// A batch of stores to persistent memory: each leaves the CPU cache as it
/// is made, and all of them are ordered before any store made after
/// [`PmemWrites::persist`] (dropping the batch persists it too).
#[must_use = "stores are ordered only by PmemWrites::persist()"]
pub(crate) struct PmemWrites<'a> {
    pmem: &'a PmemDev,
}

impl PmemWrites<'_> {
    /// Stores `src` at `off` (`memcpy_flushcache()`).
    pub(crate) fn write(&mut self, off: u64, src: &[u8]) -> Result {
        let dst = self.pmem.at(off, src.len())?;
        // SAFETY: `dst` is valid for `src.len()` bytes of the mapping
        // (checked by `at`); `src` is a distinct kernel buffer.
        unsafe { bindings::rdm_pmem_write(dst.cast(), src.as_ptr().cast(), src.len()) };
        Ok(())
    }

    /// Stores `len` bytes of `bio`'s data at `bio_off` at `off`; `EINVAL`
    /// for a range outside either.
    pub(crate) fn write_from_bio<B: BioData>(
        &mut self,
        off: u64,
        bio: &B,
        bio_off: u32,
        len: u32,
    ) -> Result {
        if !bio.data_range_ok(bio_off, len) {
            return Err(EINVAL);
        }
        let dst = self.pmem.at(off, len as usize)?;
        // SAFETY: the bio is live and owned by `bio`, the range lies inside
        // its data (checked); `dst` is valid for `len` bytes of the mapping.
        kernel::error::to_result(unsafe {
            bindings::rdm_bio_pmem_copy(bio.data_bio().as_ptr(), bio_off, dst.cast(), len, true)
        })
    }

    /// Ends the batch with `pmem_wmb()`: its stores are durable before any
    /// later one.
    pub(crate) fn persist(self) {
        // The barrier runs in `drop`.
    }
}

impl Drop for PmemWrites<'_> {
    fn drop(&mut self) {
        // SAFETY: a store barrier; no memory is touched.
        unsafe { bindings::rdm_pmem_wmb() };
    }
}
