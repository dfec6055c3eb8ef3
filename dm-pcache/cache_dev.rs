// SPDX-License-Identifier: GPL-2.0

//! The cache device (upstream cache_dev.c and the record helpers of
//! cache.c / cache_segment.c): the DAX mapping, the superblock, formatting
//! a new cache, and reading and writing the dual-slot metadata records.

use crate::pcache_format::format::{slot_off, write_new_cache, Options};
use crate::pcache_format::meta::MetaRecord;
use crate::pcache_format::{
    find_latest, seg_off, write_slot, Slot, Superblock, CACHE_DEV_SIZE_MIN, CACHE_SEGS_MAX,
    META_INDEX_MAX, SB_OFF, SEG_DATA_OFF,
};
use crate::rdm::{DmDev, PmemDev};
use kernel::prelude::*;
use kernel::sync::Arc;
use zerocopy::{FromBytes, Immutable, IntoBytes};

/// A position in the cache: a cache segment and a byte offset into its
/// data area (`struct pcache_cache_pos`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pos {
    pub(crate) seg: u32,
    pub(crate) off: u32,
}

/// The mapped cache device and where its segments are.
///
/// # Invariants
///
/// `dev_seg[i]` is the device segment of cache segment `i`, below
/// `seg_num`, for every `i < n_segs`; each lies inside the mapping.
pub(crate) struct CacheDev {
    /// Shared with write-back's requests in flight, which send its bytes.
    pub(crate) pmem: Arc<PmemDev>,
    pub(crate) sb_flags: u32,
    pub(crate) seg_num: u32,
    dev_seg: KVVec<u32>,
}

/// Reads a record of type `R` at `off`.
pub(crate) fn read_record<R: FromBytes + IntoBytes + Immutable>(
    pmem: &PmemDev,
    off: u64,
) -> Result<R> {
    let mut r = R::new_zeroed();
    pmem.read(off, r.as_mut_bytes())?;
    Ok(r)
}

/// The newest valid copy of the dual-slot record at `base`, and its slot.
pub(crate) fn read_latest<R: MetaRecord + Copy>(
    pmem: &PmemDev,
    base: u64,
) -> Result<Option<(usize, R)>> {
    let mut slots = [Slot::BadCrc; META_INDEX_MAX];
    for (i, slot) in slots.iter_mut().enumerate() {
        *slot = Slot::from_record(read_record::<R>(pmem, slot_off::<R>(base, i))?);
    }
    Ok(find_latest(&slots))
}

/// A dual-slot record as the writer keeps it: the newest copy's slot and
/// sequence number. Each update goes to the other slot with the next
/// sequence number, so the newest valid copy is never overwritten (upstream
/// `cache_pos_encode()` overwrites it on the first update after a load).
#[derive(Clone, Copy)]
pub(crate) struct SlotWriter {
    base: u64,
    latest: Option<usize>,
    seq: u8,
}

impl SlotWriter {
    pub(crate) fn new(base: u64, latest: Option<(usize, u8)>) -> Self {
        Self {
            base,
            latest: latest.map(|(slot, _)| slot),
            seq: latest.map_or(0, |(_, seq)| seq),
        }
    }

    /// Seals `rec` with the next sequence number and stores it durably in
    /// the slot that does not hold the newest copy.
    pub(crate) fn write<R: MetaRecord>(&mut self, pmem: &PmemDev, rec: &mut R) -> Result {
        let seq = self.seq.wrapping_add(1);
        let slot = write_slot(self.latest);
        rec.seal(seq);
        let mut w = pmem.writes()?;
        w.write(slot_off::<R>(self.base, slot), rec.as_bytes())?;
        // The record is durable before anything written after it that
        // depends on it (the caller's next step).
        w.persist();
        self.latest = Some(slot);
        self.seq = seq;
        Ok(())
    }
}

/// What opening the cache device found.
pub(crate) enum Opened {
    /// A cache formatted by this open.
    Formatted,
    /// An existing cache.
    Existing,
}

impl CacheDev {
    /// Maps `dev` and checks or writes its superblock (`cache_dev_start()`):
    /// a device whose superblock magic is zero gets a new cache with
    /// `opts`. Errors carry the constructor's message.
    pub(crate) fn open(
        dev: DmDev,
        opts: Options,
    ) -> Result<(Self, Opened), (&'static CStr, Error)> {
        let pmem = PmemDev::new(dev).map_err(|e| {
            // Not DAX-capable (or not whole pages) is a bad table.
            let e = if e == ENOMEM { e } else { EINVAL };
            (c"Cache device is not a DAX-capable pmem device", e)
        })?;
        let pmem = Arc::new(pmem, GFP_KERNEL).map_err(|_| (c"Out of memory", ENOMEM))?;
        let size = pmem.len() as u64;
        if size < CACHE_DEV_SIZE_MIN {
            return Err((c"Cache device is too small (512 MiB at least)", ENOSPC));
        }
        let bad_sb = |e| (c"Cannot read the cache superblock", e);
        let old: Superblock = read_record(&pmem, SB_OFF).map_err(bad_sb)?;
        let opened = if old.magic.get() == 0 {
            format(&pmem, &old, opts).map_err(|e| (c"Cannot format the cache device", e))?;
            Opened::Formatted
        } else {
            Opened::Existing
        };
        let sb: Superblock = read_record(&pmem, SB_OFF).map_err(bad_sb)?;
        let sb = Superblock::parse(sb.as_bytes(), size)
            .map_err(|_| (c"Invalid or corrupted cache superblock", EINVAL))?;
        let seg_num = sb.seg_num.get();
        if seg_num == 0 || seg_num > CACHE_SEGS_MAX {
            return Err((c"Invalid segment count in the cache superblock", EIO));
        }
        Ok((
            // INVARIANT: no segments are known yet.
            Self {
                pmem,
                sb_flags: sb.flags.get(),
                seg_num,
                dev_seg: KVVec::new(),
            },
            opened,
        ))
    }

    /// Writes a new cache over the existing superblock area (also used when
    /// a superblock exists but no valid `cache_info` does: upstream's first
    /// open died before it finished).
    pub(crate) fn reformat(&self, opts: Options) -> Result {
        let old: Superblock = read_record(&self.pmem, SB_OFF)?;
        format(&self.pmem, &old, opts)
    }

    /// Records the device segment of each cache segment, in order.
    pub(crate) fn set_segments(&mut self, dev_seg: KVVec<u32>) -> Result {
        if dev_seg.iter().any(|s| *s >= self.seg_num) {
            return Err(EIO);
        }
        // INVARIANT: each below `seg_num`, and `seg_num` segments fit the
        // device (checked by `Superblock::parse`).
        self.dev_seg = dev_seg;
        Ok(())
    }

    pub(crate) fn n_segs(&self) -> u32 {
        self.dev_seg.len() as u32
    }

    /// Where cache segment `seg` starts on the device.
    pub(crate) fn seg_base(&self, seg: u32) -> Result<u64> {
        let dev_seg = self.dev_seg.get(seg as usize).ok_or(EIO)?;
        Ok(seg_off(*dev_seg))
    }

    /// The device byte offset of position `pos`.
    pub(crate) fn addr(&self, pos: Pos) -> Result<u64> {
        Ok(self.seg_base(pos.seg)? + SEG_DATA_OFF + u64::from(pos.off))
    }
}

/// Formats with the shared crate's writer: each store is made durable in
/// the order the crate writes them, the superblock last.
fn format(pmem: &PmemDev, old: &Superblock, opts: Options) -> Result {
    let size = pmem.len() as u64;
    write_new_cache(
        old,
        size,
        opts,
        |off, bytes| {
            let mut w = pmem.writes()?;
            w.write(off, bytes)?;
            w.persist();
            Ok::<(), Error>(())
        },
        |_, _| {},
    )?;
    Ok(())
}
