// SPDX-License-Identifier: GPL-2.0

//! Where the copies of a virtual sector live: raid1 (every leg a full copy,
//! identity mapping) and md's raid10 near / far / offset layouts
//! (`__raid10_find_phys()`, `raid10_find_virt()`, `setup_geo()`,
//! `calc_sectors()` and `raid10_size()` in `drivers/md/raid10.c`).
//!
//! A [`Layout`] is the validated geometry alone, as a table line gives it.
//! A [`Mapping`] adds the per-leg size: md's far layout places copy `k` at
//! `k` times a stride that depends on the leg size, so the mapping needs it.
//!
//! md terms: near copies `nc`, far copies `fc`, far offset `fo`. dm-raid's
//! `raid10_format near` is `nc = copies, fc = 1`; `far` is `nc = 1,
//! fc = copies`; `offset` is `nc = 1, fc = copies, fo = 1`.
//!
//! Far and offset copies rotate either over the whole array (md layout
//! version 0, what mdadm creates and dm-raid's `raid10_use_near_sets` asks
//! for: [`FarRotation::WholeArray`]) or within sets of `copies` legs (md
//! layout version 2, `RAID10_USE_FAR_SETS`, what dm-raid asks for by
//! default: [`FarRotation::Sets`]). A table line gets [`FarRotation::Sets`]
//! so the data sits where dm-raid would put it.
//!
//! Limits: at most [`MAX_LEGS`] legs (raid1 and raid10), raid10 at most
//! [`MAX_COPIES`] copies. Chunks are powers of two of at least
//! [`MIN_CHUNK_SECTORS`] (md's `PAGE_SIZE >> 9`).

use core::ffi::CStr;

/// Most legs of an array.
pub const MAX_LEGS: usize = 16;
/// Most raid10 copies (`raid10_copies`). raid1 keeps one copy per leg, up
/// to [`MAX_LEGS`].
pub const MAX_COPIES: usize = 8;
/// The smallest raid10 chunk: md requires at least a page.
pub const MIN_CHUNK_SECTORS: u32 = 8;

/// dm-raid's `raid10_format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Copies of a chunk on adjacent legs of the same stripe.
    Near,
    /// Copy `k` in zone `k` of every leg, rotated by `k` legs.
    Far,
    /// Copy `k` in the `k`-th next chunk row, rotated by `k` legs.
    Offset,
}

impl Format {
    /// The name dm-raid uses in `raid10_format`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Near => "near",
            Format::Far => "far",
            Format::Offset => "offset",
        }
    }

    /// Parses a `raid10_format` value, case-insensitively like dm-raid.
    pub fn parse(s: &str) -> Option<Self> {
        [Format::Near, Format::Far, Format::Offset]
            .into_iter()
            .find(|f| s.eq_ignore_ascii_case(f.name()))
    }
}

/// How far and offset copies rotate over the legs (md's layout version).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FarRotation {
    /// md layout version 0: rotate over all legs.
    WholeArray,
    /// md layout version 2 (`far_set_size = copies`): rotate within sets of
    /// `copies` adjacent legs, the last set taking the remainder. dm-raid's
    /// default.
    Sets,
}

/// Why a geometry or a mapping is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutError {
    /// raid1 needs 2 legs, raid10 at least `copies`.
    TooFewLegs,
    /// More than [`MAX_LEGS`].
    TooManyLegs,
    /// raid10 needs at least 2 copies.
    TooFewCopies,
    /// More copies than legs or than [`MAX_COPIES`].
    TooManyCopies,
    /// The chunk is not a power of two.
    ChunkNotPowerOfTwo,
    /// The chunk is below [`MIN_CHUNK_SECTORS`].
    ChunkTooSmall,
    /// The legs are too small to hold a single chunk of the array.
    LegTooSmall,
}

impl LayoutError {
    /// A message for `DMERR` / `ti->error`.
    /// The message, as dm-raid's `ti->error` gives it.
    pub fn message(&self) -> &'static str {
        self.c_message().to_str().unwrap_or("")
    }

    /// [`Self::message`] as a C string (what a kernel target's constructor
    /// reports).
    pub fn c_message(&self) -> &'static CStr {
        match self {
            LayoutError::TooFewLegs => c"Not enough devices to satisfy specification",
            LayoutError::TooManyLegs => c"Too many raid devices",
            LayoutError::TooFewCopies => c"Bad value for 'raid10_copies'",
            LayoutError::TooManyCopies => c"Bad value for 'raid10_copies'",
            LayoutError::ChunkNotPowerOfTwo => c"Chunk size must be a power of 2",
            LayoutError::ChunkTooSmall => c"Chunk size value is too small",
            LayoutError::LegTooSmall => c"Component device(s) too small",
        }
    }
}

/// A validated array geometry, without sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    raid10: bool,
    legs: u32,
    copies: u32,
    format: Format,
    chunk_shift: u32,
    rotation: FarRotation,
}

/// One copy of a sector: the leg and the sector on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct LegSector {
    /// Leg index, `0..legs`.
    pub leg: u32,
    /// Sector on that leg (before any data offset).
    pub phys: u64,
}

/// The copies of one virtual sector, in md's slot order (`r10bio->devs[]`):
/// up to [`MAX_LEGS`] entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Copies {
    items: [LegSector; MAX_LEGS],
    len: usize,
}

impl Copies {
    const fn empty() -> Self {
        Self {
            items: [LegSector { leg: 0, phys: 0 }; MAX_LEGS],
            len: 0,
        }
    }

    fn push(&mut self, c: LegSector) {
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = c;
            self.len = self.len.saturating_add(1);
        }
    }

    /// The copies as a slice.
    pub fn as_slice(&self) -> &[LegSector] {
        self.items.get(..self.len).unwrap_or(&[])
    }

    /// How many copies.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Never true for a mapped sector.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Copy `i` (slot order).
    pub fn get(&self, i: usize) -> Option<LegSector> {
        self.as_slice().get(i).copied()
    }

    /// The copies in slot order.
    pub fn iter(&self) -> core::iter::Copied<core::slice::Iter<'_, LegSector>> {
        self.as_slice().iter().copied()
    }

    /// The copy on `leg`, if any.
    pub fn on_leg(&self, leg: u32) -> Option<LegSector> {
        self.iter().find(|c| c.leg == leg)
    }
}

impl<'a> IntoIterator for &'a Copies {
    type Item = LegSector;
    type IntoIter = core::iter::Copied<core::slice::Iter<'a, LegSector>>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl Layout {
    /// raid1 over `legs` legs, `2..=MAX_LEGS`.
    pub fn raid1(legs: u32) -> Result<Self, LayoutError> {
        if legs < 2 {
            return Err(LayoutError::TooFewLegs);
        }
        if legs as usize > MAX_LEGS {
            return Err(LayoutError::TooManyLegs);
        }
        Ok(Self {
            raid10: false,
            legs,
            copies: legs,
            format: Format::Near,
            chunk_shift: 0,
            rotation: FarRotation::WholeArray,
        })
    }

    /// raid10 as dm-raid sets it up: far and offset copies rotate in sets
    /// ([`FarRotation::Sets`]).
    pub fn raid10(
        legs: u32,
        copies: u32,
        format: Format,
        chunk_sectors: u32,
    ) -> Result<Self, LayoutError> {
        Self::raid10_with(legs, copies, format, chunk_sectors, FarRotation::Sets)
    }

    /// raid10 with an explicit far rotation (ignored for near).
    pub fn raid10_with(
        legs: u32,
        copies: u32,
        format: Format,
        chunk_sectors: u32,
        rotation: FarRotation,
    ) -> Result<Self, LayoutError> {
        if copies < 2 {
            return Err(LayoutError::TooFewCopies);
        }
        if copies as usize > MAX_COPIES {
            return Err(LayoutError::TooManyCopies);
        }
        if legs as usize > MAX_LEGS {
            return Err(LayoutError::TooManyLegs);
        }
        if legs < copies {
            return Err(LayoutError::TooFewLegs);
        }
        if !chunk_sectors.is_power_of_two() {
            return Err(LayoutError::ChunkNotPowerOfTwo);
        }
        if chunk_sectors < MIN_CHUNK_SECTORS {
            return Err(LayoutError::ChunkTooSmall);
        }
        let rotation = match format {
            Format::Near => FarRotation::WholeArray,
            _ => rotation,
        };
        Ok(Self {
            raid10: true,
            legs,
            copies,
            format,
            chunk_shift: chunk_sectors.trailing_zeros(),
            rotation,
        })
    }

    /// True for raid10.
    pub fn is_raid10(&self) -> bool {
        self.raid10
    }

    /// Number of legs.
    pub fn legs(&self) -> u32 {
        self.legs
    }

    /// Copies of every sector (raid1: the leg count).
    pub fn copies(&self) -> u32 {
        self.copies
    }

    /// The raid10 format (raid1 reports [`Format::Near`]).
    pub fn format(&self) -> Format {
        self.format
    }

    /// The far rotation in use ([`FarRotation::WholeArray`] for near and
    /// raid1).
    pub fn rotation(&self) -> FarRotation {
        self.rotation
    }

    /// Chunk size in sectors; 0 for raid1.
    pub fn chunk_sectors(&self) -> u32 {
        if self.raid10 {
            1u32.checked_shl(self.chunk_shift).unwrap_or(0)
        } else {
            0
        }
    }

    fn near(&self) -> u32 {
        match self.format {
            Format::Near => self.copies,
            _ => 1,
        }
    }

    fn far(&self) -> u32 {
        match self.format {
            Format::Near => 1,
            _ => self.copies,
        }
    }

    fn far_set_size(&self) -> u32 {
        match self.rotation {
            FarRotation::WholeArray => self.legs,
            FarRotation::Sets => self.far().saturating_mul(self.near()),
        }
    }

    fn chunk(&self) -> u64 {
        1u64.checked_shl(self.chunk_shift).unwrap_or(0)
    }

    /// Array chunks of `dev_chunks` chunks per leg: `raid10_size()`.
    fn array_chunks(&self, dev_chunks: u64) -> u64 {
        // No u128: the kernel has no 128-bit division. Overflow needs legs of
        // 2^60 chunks.
        (dev_chunks / u64::from(self.far().max(1))).saturating_mul(u64::from(self.legs))
            / u64::from(self.near().max(1))
    }

    /// Per-leg sectors md uses of legs of `leg_sectors` (`calc_sectors()`):
    /// the chunks of the array times the copies, spread over the legs,
    /// rounded up. raid1 uses the whole leg.
    pub fn dev_sectors(&self, leg_sectors: u64) -> u64 {
        if !self.raid10 {
            return leg_sectors;
        }
        let chunks = self.array_chunks(leg_sectors >> self.chunk_shift);
        let used = chunks
            .saturating_mul(u64::from(self.copies))
            .div_ceil(u64::from(self.legs.max(1)));
        used.saturating_mul(self.chunk())
    }

    /// The usable array size of legs of `leg_sectors` each, as md computes
    /// it: `raid10_size(calc_sectors(leg_sectors))`; raid1: the leg size.
    pub fn array_sectors(&self, leg_sectors: u64) -> u64 {
        if !self.raid10 {
            return leg_sectors;
        }
        let dev_chunks = self.dev_sectors(leg_sectors) >> self.chunk_shift;
        self.array_chunks(dev_chunks).saturating_mul(self.chunk())
    }

    /// The per-leg size dm-raid derives from a target length `len`
    /// (`rs_set_dev_and_array_sectors()`): raid1 `len`, raid10
    /// `len * copies / legs`; `None` when that division is not exact
    /// ("Target length not divisible by number of data devices").
    pub fn leg_sectors_for_len(&self, len: u64) -> Option<u64> {
        if !self.raid10 {
            return Some(len);
        }
        let dev = len.checked_mul(u64::from(self.copies))?;
        let legs = u64::from(self.legs.max(1));
        if dev % legs != 0 {
            return None;
        }
        Some(dev / legs)
    }

    /// Sectors from `virt` to the next chunk boundary (raid10), where an
    /// I/O must be split; `u64::MAX` for raid1 (no chunking).
    pub fn chunk_room(&self, virt: u64) -> u64 {
        if !self.raid10 {
            return u64::MAX;
        }
        let chunk = self.chunk();
        chunk.saturating_sub(virt & chunk.saturating_sub(1))
    }

    /// `__raid10_find_phys()` with the stride given; no bounds checks.
    fn place(&self, virt: u64, stride: u64) -> Copies {
        let mut out = Copies::empty();
        if !self.raid10 {
            for leg in 0..self.legs {
                out.push(LegSector { leg, phys: virt });
            }
            return out;
        }
        let disks = u64::from(self.legs.max(1));
        let nc = u64::from(self.near());
        let fc = self.far();
        let fss = u64::from(self.far_set_size().max(1));
        let last_start = (disks / fss).saturating_sub(1).saturating_mul(fss);
        let last_size = fss.saturating_add(disks % fss);
        let chunk_len = self.chunk();

        let chunk = (virt >> self.chunk_shift).saturating_mul(nc);
        let mut stripe = chunk / disks;
        let mut dev = chunk % disks;
        if self.format == Format::Offset {
            stripe = stripe.saturating_mul(u64::from(fc));
        }
        let mut sector = (virt & chunk_len.saturating_sub(1))
            .saturating_add(stripe.checked_shl(self.chunk_shift).unwrap_or(u64::MAX));

        for _ in 0..nc {
            let mut d = dev;
            let mut s = sector;
            out.push(LegSector {
                leg: u32::try_from(d).unwrap_or(0),
                phys: s,
            });
            for _ in 1..fc {
                let set = d / fss;
                d = d.saturating_add(nc);
                if disks % fss != 0 && d > last_start {
                    d = (d - last_start) % last_size.max(1) + last_start;
                } else {
                    d = d % fss + fss.saturating_mul(set);
                }
                s = s.saturating_add(stride);
                out.push(LegSector {
                    leg: u32::try_from(d).unwrap_or(0),
                    phys: s,
                });
            }
            dev = dev.saturating_add(1);
            if dev >= disks {
                dev = 0;
                sector = sector.saturating_add(chunk_len);
            }
        }
        out
    }

    /// Whether every sector keeps a readable copy when only the legs in
    /// `readable` (bit `i` = leg `i`) can be read: md's `enough()`, computed
    /// exactly from the layout rather than with md's conservative windows.
    pub fn has_enough(&self, readable: u64) -> bool {
        if !self.raid10 {
            return (0..self.legs).any(|l| readable & 1u64.checked_shl(l).unwrap_or(0) != 0);
        }
        // The legs of a chunk repeat with a period dividing `legs` chunks.
        (0..u64::from(self.legs)).all(|c| {
            self.place(c << self.chunk_shift, 0)
                .iter()
                .any(|cp| readable & 1u64.checked_shl(cp.leg).unwrap_or(0) != 0)
        })
    }
}

/// A [`Layout`] applied to legs of a given size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapping {
    layout: Layout,
    dev_sectors: u64,
    stride: u64,
    array_sectors: u64,
}

impl Mapping {
    /// The mapping of `layout` over legs of `leg_sectors` each (the smallest
    /// leg). Fails when the array would be empty.
    pub fn new(layout: Layout, leg_sectors: u64) -> Result<Self, LayoutError> {
        let dev_sectors = layout.dev_sectors(leg_sectors);
        let array_sectors = layout.array_sectors(leg_sectors);
        if array_sectors == 0 {
            return Err(LayoutError::LegTooSmall);
        }
        let stride = match layout.format {
            _ if !layout.raid10 => 0,
            Format::Offset => layout.chunk(),
            _ => {
                let dev_chunks = dev_sectors >> layout.chunk_shift;
                (dev_chunks / u64::from(layout.far().max(1)))
                    .checked_shl(layout.chunk_shift)
                    .unwrap_or(u64::MAX)
            }
        };
        Ok(Self {
            layout,
            dev_sectors,
            stride,
            array_sectors,
        })
    }

    /// The geometry.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The array size in sectors.
    pub fn array_sectors(&self) -> u64 {
        self.array_sectors
    }

    /// The sectors of each leg in use (md's `conf->dev_sectors`): every
    /// mapped physical sector is below it.
    pub fn dev_sectors(&self) -> u64 {
        self.dev_sectors
    }

    /// md's `geo->stride`: the distance between far copies on a leg (the
    /// chunk for offset, 0 for raid1).
    pub fn stride(&self) -> u64 {
        self.stride
    }

    /// Every copy of `virt`; `None` past the end of the array.
    pub fn map(&self, virt: u64) -> Option<Copies> {
        if virt >= self.array_sectors {
            return None;
        }
        Some(self.layout.place(virt, self.stride))
    }

    /// The virtual sector stored at `phys` on `leg` (`raid10_find_virt()`),
    /// `None` for sectors that hold no array data.
    pub fn virt_of(&self, leg: u32, phys: u64) -> Option<u64> {
        let l = &self.layout;
        if leg >= l.legs || phys >= self.dev_sectors {
            return None;
        }
        if !l.raid10 {
            return (phys < self.array_sectors).then_some(phys);
        }
        let disks = u64::from(l.legs);
        let nc = u64::from(l.near());
        let fc = u64::from(l.far());
        let fss = u64::from(l.far_set_size().max(1));
        let mut dev = u64::from(leg);
        let mut far_set_start = (dev / fss) * fss;
        let mut far_set_size = fss;
        if disks % fss != 0 {
            let last_start = (disks / fss).saturating_sub(1).saturating_mul(fss);
            if dev >= last_start {
                far_set_size = fss.saturating_add(disks % fss);
                far_set_start = last_start;
            }
        }
        let offset = phys & l.chunk().saturating_sub(1);
        let mut sector = phys;
        let chunk;
        if l.format == Format::Offset {
            let c = sector >> l.chunk_shift;
            let f = c % fc.max(1);
            chunk = c / fc.max(1);
            // dev -= f * nc; if (dev < far_set_start) dev += far_set_size;
            let back = f.saturating_mul(nc);
            dev = if dev >= far_set_start.saturating_add(back) {
                dev - back
            } else {
                dev.saturating_add(far_set_size).checked_sub(back)?
            };
        } else {
            let mut zones = 0u64;
            while self.stride > 0 && sector >= self.stride {
                zones = zones.saturating_add(1);
                if zones >= fc {
                    return None;
                }
                sector -= self.stride;
                if dev < nc.saturating_add(far_set_start) {
                    dev = dev.saturating_add(far_set_size).checked_sub(nc)?;
                } else {
                    dev -= nc;
                }
            }
            chunk = sector >> l.chunk_shift;
        }
        let vchunk = chunk.checked_mul(disks)?.checked_add(dev)? / nc.max(1);
        let virt = vchunk.checked_mul(l.chunk())?.checked_add(offset)?;
        // Sectors of no chunk (the tail of a leg) decode to something that
        // does not map back: only a sector that maps back is data.
        let copies = self.map(virt)?;
        copies
            .iter()
            .any(|c| c.leg == leg && c.phys == phys)
            .then_some(virt)
    }

    /// Sectors from `virt` until the I/O must be split: the next chunk
    /// boundary (raid10) or the end of the array; 0 past the end.
    pub fn max_io_sectors(&self, virt: u64) -> u64 {
        let left = self.array_sectors.saturating_sub(virt);
        self.layout.chunk_room(virt).min(left)
    }
}
