// SPDX-License-Identifier: GPL-2.0

//! The table line: dm-raid's (`raid_ctr()`, `parse_raid_params()`,
//! `parse_dev_params()` in `drivers/md/dm-raid.c`) restricted to raid1 and
//! raid10 without metadata devices.
//!
//! ```text
//! <raid_type> <#raid_params> <chunk_size> [<param>...] <#raid_devs> <meta_dev> <data_dev>...
//! ```
//!
//! `<#raid_params>` counts `<chunk_size>` and every word of the optional
//! parameters (a parameter with a value is two words). Accepted, in any
//! order (names case-insensitive, as dm-raid's `strcasecmp`):
//!
//! | parameter | rule |
//! | --- | --- |
//! | `sync` / `nosync` | at most once each, not both, not with `rebuild` |
//! | `rebuild <idx>` | repeatable, `idx < #raid_devs`, no index twice, the leg must have a device |
//! | `daemon_sleep <ms>` | once |
//! | `min_recovery_rate <kB/s>` | once, not above a non-zero max |
//! | `max_recovery_rate <kB/s>` | once |
//! | `write_mostly <idx>` | raid1 only, repeatable, no index twice, not every leg |
//! | `region_size <sectors>` | once; 0 (default) or a power of two not below the chunk |
//! | `raid10_copies <n>` | raid10 only, once, `2..=#raid_devs` (and at most [`MAX_COPIES`]) |
//! | `raid10_format <near\|far\|offset>` | raid10 only, once |
//! | `max_read_errors <n>` | once; this target's extension (md's `max_corr_read_errors`) |
//!
//! Numbers are decimal `0..=i32::MAX` (dm-raid reads them with `kstrtoint`
//! and refuses negative values), without sign. `<chunk_size>` is ignored
//! (stored as 0) for raid1, as dm-raid does; raid10 needs a power of two of
//! at least 8. Every `<meta_dev>` must be `-`: this target keeps no
//! metadata. A `<data_dev>` of `-` is a missing leg (the array runs
//! degraded); at least one leg must have a device, and the legs present and
//! not being rebuilt must hold a copy of every chunk. At most [`MAX_LEGS`]
//! legs; raid1 needs 2. Any other parameter is an error; dm-raid's ones this
//! target does not implement get [`TableError::UnsupportedParam`].
//!
//! [`fmt::Display`] prints the canonical line as `dmsetup table` shows
//! dm-raid's (`raid_status()`, `STATUSTYPE_TABLE`): type, count, chunk, then
//! `sync`/`nosync`, `rebuild`s by index, `daemon_sleep`,
//! `min_recovery_rate`, `max_recovery_rate`, `write_mostly`s by index,
//! `region_size`, `raid10_copies`, `raid10_format` (each only when given),
//! then `max_read_errors`, then the devices. Parsing the printed line gives
//! an equal table.

use super::layout::{Format, Layout, LayoutError, MAX_COPIES, MAX_LEGS};
use super::read_errors::DEFAULT_MAX_READ_ERRORS;
use core::ffi::CStr;
use core::fmt;

/// `raid1` or `raid10`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RaidType {
    /// Mirroring.
    Raid1,
    /// Striped mirrors.
    Raid10,
}

impl RaidType {
    /// The table name.
    pub fn name(self) -> &'static str {
        match self {
            RaidType::Raid1 => "raid1",
            RaidType::Raid10 => "raid10",
        }
    }
}

/// `sync` or `nosync`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncMode {
    /// Force a full resync.
    Sync,
    /// Assume the legs are in sync.
    NoSync,
}

/// A single-valued parameter, for [`TableError::Duplicate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Param {
    /// `sync`.
    Sync,
    /// `nosync`.
    NoSync,
    /// `daemon_sleep`.
    DaemonSleep,
    /// `min_recovery_rate`.
    MinRecoveryRate,
    /// `max_recovery_rate`.
    MaxRecoveryRate,
    /// `region_size`.
    RegionSize,
    /// `raid10_copies`.
    Raid10Copies,
    /// `raid10_format`.
    Raid10Format,
    /// `max_read_errors`.
    MaxReadErrors,
}

/// Why a table line is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableError {
    /// Empty line.
    NoArguments,
    /// Not `raid1` nor `raid10`.
    UnknownRaidType,
    /// `<#raid_params>` missing, not a number, or 0.
    BadParamCount,
    /// Fewer words than `<#raid_params>` says.
    NotEnoughParams,
    /// `<#raid_devs>` missing or not a number.
    BadDevCount,
    /// `<#raid_devs>` is 0.
    InvalidDevCount,
    /// More legs than [`MAX_LEGS`].
    TooManyDevs,
    /// The device words are not `2 * <#raid_devs>`.
    DevCountMismatch,
    /// `<chunk_size>` is not a number.
    BadChunkSize,
    /// raid10 chunk not a power of two.
    ChunkNotPowerOfTwo,
    /// raid10 chunk below 8 sectors.
    ChunkTooSmall,
    /// A parameter lacks its value inside `<#raid_params>`.
    WrongParamCount,
    /// A value is not a number.
    BadNumber,
    /// Unknown parameter.
    UnknownParam,
    /// A dm-raid parameter this target does not implement.
    UnsupportedParam,
    /// A single-valued parameter given twice.
    Duplicate(Param),
    /// `sync` with `nosync`.
    SyncAndNoSync,
    /// `rebuild` with `sync` or `nosync`.
    SyncAndRebuild,
    /// `rebuild` index out of range.
    InvalidRebuildIndex,
    /// `rebuild` index given twice.
    DuplicateRebuild,
    /// `write_mostly` on raid10.
    WriteMostlyNotRaid1,
    /// `write_mostly` index out of range.
    InvalidWriteMostlyIndex,
    /// `write_mostly` index given twice.
    DuplicateWriteMostly,
    /// Every leg `write_mostly`.
    AllWriteMostly,
    /// `min_recovery_rate` above a non-zero `max_recovery_rate`.
    BogusRecoveryRates,
    /// `raid10_format` on raid1.
    Raid10FormatNotRaid10,
    /// `raid10_copies` on raid1 (dm-raid's flag check).
    InvalidFlagsCombination,
    /// `raid10_format` value unknown.
    BadRaid10Format,
    /// `raid10_copies` outside `2..=#raid_devs` or above [`MAX_COPIES`].
    BadRaid10Copies,
    /// `region_size` not a power of two.
    RegionNotPowerOfTwo,
    /// `region_size` below the chunk.
    RegionSmallerThanChunk,
    /// A `<meta_dev>` other than `-`.
    MetadataUnsupported,
    /// A `rebuild` index whose leg is `-`.
    RebuildMissingDrive,
    /// Every `<data_dev>` is `-`.
    NoDataDevs,
    /// Too few legs for the type (raid1 2, raid10 `copies`).
    NotEnoughDevs,
    /// Some chunk has no leg present and not rebuilt.
    InsufficientRedundancy,
    /// The geometry is refused otherwise.
    Layout(LayoutError),
}

impl TableError {
    /// The message for `ti->error` / `DMERR` (dm-raid's where it has one).
    /// The message, as dm-raid's `ti->error` gives it.
    pub fn message(&self) -> &'static str {
        self.c_message().to_str().unwrap_or("")
    }

    /// [`Self::message`] as a C string (what a kernel target's constructor
    /// reports).
    pub fn c_message(&self) -> &'static CStr {
        match self {
            TableError::NoArguments => c"No arguments",
            TableError::UnknownRaidType => c"Unrecognised raid_type",
            TableError::BadParamCount => c"Cannot understand number of RAID parameters",
            TableError::NotEnoughParams => c"Not enough raid parameters given",
            TableError::BadDevCount => c"Cannot understand number of raid devices parameters",
            TableError::InvalidDevCount => c"Invalid number of supplied raid devices",
            TableError::TooManyDevs => c"Too many raid devices (max 16)",
            TableError::DevCountMismatch => c"Supplied RAID devices does not match the count given",
            TableError::BadChunkSize => c"Bad numerical argument given for chunk_size",
            TableError::ChunkNotPowerOfTwo => c"Chunk size must be a power of 2",
            TableError::ChunkTooSmall => c"Chunk size value is too small",
            TableError::WrongParamCount => c"Wrong number of raid parameters given",
            TableError::BadNumber => c"Bad numerical argument given in raid params",
            TableError::UnknownParam => c"Unable to parse RAID parameter",
            TableError::UnsupportedParam => c"RAID parameter not supported by this target",
            TableError::Duplicate(p) => match p {
                Param::Sync => c"Only one 'sync' argument allowed",
                Param::NoSync => c"Only one 'nosync' argument allowed",
                Param::DaemonSleep => c"Only one daemon_sleep argument pair allowed",
                Param::MinRecoveryRate => c"Only one min_recovery_rate argument pair allowed",
                Param::MaxRecoveryRate => c"Only one max_recovery_rate argument pair allowed",
                Param::RegionSize => c"Only one region_size argument pair allowed",
                Param::Raid10Copies => c"Only one raid10_copies argument pair allowed",
                Param::Raid10Format => c"Only one 'raid10_format' argument pair allowed",
                Param::MaxReadErrors => c"Only one max_read_errors argument pair allowed",
            },
            TableError::SyncAndNoSync => c"sync and nosync are mutually exclusive",
            TableError::SyncAndRebuild => c"sync/nosync and rebuild are mutually exclusive",
            TableError::InvalidRebuildIndex => c"Invalid rebuild index given",
            TableError::DuplicateRebuild => c"rebuild for this index already given",
            TableError::WriteMostlyNotRaid1 => c"write_mostly option is only valid for RAID1",
            TableError::InvalidWriteMostlyIndex => c"Invalid write_mostly index given",
            TableError::DuplicateWriteMostly => c"write_mostly for this index already given",
            TableError::AllWriteMostly => c"Can't set all raid1 devices to write_mostly",
            TableError::BogusRecoveryRates => c"Bogus recovery rates",
            TableError::Raid10FormatNotRaid10 => {
                c"'raid10_format' is an invalid parameter for this RAID type"
            }
            TableError::InvalidFlagsCombination => c"Invalid flags combination",
            TableError::BadRaid10Format => c"Invalid 'raid10_format' value given",
            TableError::BadRaid10Copies => c"Bad value for 'raid10_copies'",
            TableError::RegionNotPowerOfTwo => c"Region size is not a power of 2",
            TableError::RegionSmallerThanChunk => c"Region size is smaller than the chunk size",
            TableError::MetadataUnsupported => c"metadata devices not supported, use -",
            TableError::RebuildMissingDrive => c"Drive designated for rebuild not specified",
            TableError::NoDataDevs => c"No data device given",
            TableError::NotEnoughDevs => c"Not enough devices to satisfy specification",
            TableError::InsufficientRedundancy => c"Insufficient redundancy to activate array",
            TableError::Layout(e) => e.c_message(),
        }
    }
}

impl From<LayoutError> for TableError {
    fn from(e: LayoutError) -> Self {
        TableError::Layout(e)
    }
}

/// A parsed table line. The legs borrow the constructor's arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RaidTable<'a> {
    raid_type: RaidType,
    chunk_sectors: u32,
    sync: Option<SyncMode>,
    rebuild: u64,
    write_mostly: u64,
    daemon_sleep: Option<u32>,
    min_recovery_rate: Option<u32>,
    max_recovery_rate: Option<u32>,
    region_size: Option<u32>,
    raid10_copies: Option<u32>,
    raid10_format: Option<Format>,
    max_read_errors: Option<u32>,
    legs: [Option<&'a str>; MAX_LEGS],
    nr_legs: usize,
    layout: Layout,
}

/// A decimal `0..=i32::MAX`, like `kstrtoint` less the sign.
fn number(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u32>().ok().filter(|v| i32::try_from(*v).is_ok())
}

fn bit(i: u32) -> u64 {
    1u64.checked_shl(i).unwrap_or(0)
}

const UNSUPPORTED: [&str; 7] = [
    "max_write_behind",
    "stripe_cache",
    "data_offset",
    "delta_disks",
    "raid10_use_near_sets",
    "journal_dev",
    "journal_mode",
];

fn set_once(slot: &mut Option<u32>, v: u32, p: Param) -> Result<(), TableError> {
    if slot.is_some() {
        return Err(TableError::Duplicate(p));
    }
    *slot = Some(v);
    Ok(())
}

impl<'a> RaidTable<'a> {
    /// Parses the constructor arguments.
    pub fn parse(args: &[&'a str]) -> Result<Self, TableError> {
        let (&type_arg, rest) = args.split_first().ok_or(TableError::NoArguments)?;
        let raid_type = if type_arg.eq_ignore_ascii_case("raid1") {
            RaidType::Raid1
        } else if type_arg.eq_ignore_ascii_case("raid10") {
            RaidType::Raid10
        } else {
            return Err(TableError::UnknownRaidType);
        };
        let (&count_arg, rest) = rest.split_first().ok_or(TableError::BadParamCount)?;
        let nparams = number(count_arg)
            .filter(|n| *n > 0)
            .ok_or(TableError::BadParamCount)? as usize;
        let params = rest.get(..nparams).ok_or(TableError::NotEnoughParams)?;
        let devs = rest.get(nparams..).unwrap_or(&[]);
        let (&ndev_arg, dev_words) = devs.split_first().ok_or(TableError::BadDevCount)?;
        let ndevs = number(ndev_arg).ok_or(TableError::BadDevCount)?;
        if ndevs == 0 {
            return Err(TableError::InvalidDevCount);
        }
        if ndevs as usize > MAX_LEGS {
            return Err(TableError::TooManyDevs);
        }
        if dev_words.len() != (ndevs as usize).saturating_mul(2) {
            return Err(TableError::DevCountMismatch);
        }

        let (&chunk_arg, opts) = params.split_first().ok_or(TableError::BadParamCount)?;
        let chunk = number(chunk_arg).ok_or(TableError::BadChunkSize)?;
        let chunk_sectors = match raid_type {
            // dm-raid: "Ignoring chunk size parameter for RAID 1".
            RaidType::Raid1 => 0,
            RaidType::Raid10 => {
                if !chunk.is_power_of_two() {
                    return Err(TableError::ChunkNotPowerOfTwo);
                }
                if chunk < 8 {
                    return Err(TableError::ChunkTooSmall);
                }
                chunk
            }
        };

        let mut t = RaidTable {
            raid_type,
            chunk_sectors,
            sync: None,
            rebuild: 0,
            write_mostly: 0,
            daemon_sleep: None,
            min_recovery_rate: None,
            max_recovery_rate: None,
            region_size: None,
            raid10_copies: None,
            raid10_format: None,
            max_read_errors: None,
            legs: [None; MAX_LEGS],
            nr_legs: ndevs as usize,
            // Replaced below once the parameters are known.
            layout: Layout::raid1(2)?,
        };
        let mut seen_sync = false;
        let mut seen_nosync = false;
        let mut words = opts.iter();
        while let Some(&key) = words.next() {
            if key.eq_ignore_ascii_case("sync") {
                if seen_sync {
                    return Err(TableError::Duplicate(Param::Sync));
                }
                seen_sync = true;
                continue;
            }
            if key.eq_ignore_ascii_case("nosync") {
                if seen_nosync {
                    return Err(TableError::Duplicate(Param::NoSync));
                }
                seen_nosync = true;
                continue;
            }
            if UNSUPPORTED.iter().any(|u| key.eq_ignore_ascii_case(u)) {
                return Err(TableError::UnsupportedParam);
            }
            let &value = words.next().ok_or(TableError::WrongParamCount)?;
            if key.eq_ignore_ascii_case("raid10_format") {
                if t.raid10_format.is_some() {
                    return Err(TableError::Duplicate(Param::Raid10Format));
                }
                if raid_type != RaidType::Raid10 {
                    return Err(TableError::Raid10FormatNotRaid10);
                }
                t.raid10_format = Some(Format::parse(value).ok_or(TableError::BadRaid10Format)?);
                continue;
            }
            let v = number(value).ok_or(TableError::BadNumber)?;
            let is = |name: &str| key.eq_ignore_ascii_case(name);
            if is("rebuild") {
                if v >= ndevs {
                    return Err(TableError::InvalidRebuildIndex);
                }
                if t.rebuild & bit(v) != 0 {
                    return Err(TableError::DuplicateRebuild);
                }
                t.rebuild |= bit(v);
            } else if is("write_mostly") {
                if raid_type != RaidType::Raid1 {
                    return Err(TableError::WriteMostlyNotRaid1);
                }
                if v >= ndevs {
                    return Err(TableError::InvalidWriteMostlyIndex);
                }
                if t.write_mostly & bit(v) != 0 {
                    return Err(TableError::DuplicateWriteMostly);
                }
                t.write_mostly |= bit(v);
            } else if is("daemon_sleep") {
                set_once(&mut t.daemon_sleep, v, Param::DaemonSleep)?;
            } else if is("min_recovery_rate") {
                set_once(&mut t.min_recovery_rate, v, Param::MinRecoveryRate)?;
            } else if is("max_recovery_rate") {
                set_once(&mut t.max_recovery_rate, v, Param::MaxRecoveryRate)?;
            } else if is("region_size") {
                set_once(&mut t.region_size, v, Param::RegionSize)?;
            } else if is("max_read_errors") {
                set_once(&mut t.max_read_errors, v, Param::MaxReadErrors)?;
            } else if is("raid10_copies") {
                if t.raid10_copies.is_some() {
                    return Err(TableError::Duplicate(Param::Raid10Copies));
                }
                if v < 2 || v > ndevs || v as usize > MAX_COPIES {
                    return Err(TableError::BadRaid10Copies);
                }
                t.raid10_copies = Some(v);
            } else {
                return Err(TableError::UnknownParam);
            }
        }

        t.sync = match (seen_sync, seen_nosync) {
            (true, true) => return Err(TableError::SyncAndNoSync),
            (true, false) => Some(SyncMode::Sync),
            (false, true) => Some(SyncMode::NoSync),
            (false, false) => None,
        };
        if t.rebuild != 0 && t.sync.is_some() {
            return Err(TableError::SyncAndRebuild);
        }
        if t.write_mostly.count_ones() >= ndevs {
            return Err(TableError::AllWriteMostly);
        }
        if let (Some(min), Some(max)) = (t.min_recovery_rate, t.max_recovery_rate) {
            if max != 0 && min > max {
                return Err(TableError::BogusRecoveryRates);
            }
        }
        if let Some(r) = t.region_size.filter(|r| *r != 0) {
            if !r.is_power_of_two() {
                return Err(TableError::RegionNotPowerOfTwo);
            }
            if r < chunk_sectors {
                return Err(TableError::RegionSmallerThanChunk);
            }
        }
        t.layout = match raid_type {
            RaidType::Raid1 => {
                if t.raid10_copies.is_some() {
                    return Err(TableError::InvalidFlagsCombination);
                }
                if ndevs < 2 {
                    return Err(TableError::NotEnoughDevs);
                }
                Layout::raid1(ndevs)?
            }
            RaidType::Raid10 => {
                let copies = t.raid10_copies.unwrap_or(2);
                if copies > ndevs {
                    return Err(TableError::NotEnoughDevs);
                }
                Layout::raid10(
                    ndevs,
                    copies,
                    t.raid10_format.unwrap_or(Format::Near),
                    chunk_sectors,
                )?
            }
        };

        let mut present = 0u64;
        for (i, pair) in (0u32..).zip(dev_words.chunks_exact(2)) {
            let (meta, data) = match pair {
                [m, d] => (*m, *d),
                _ => return Err(TableError::DevCountMismatch),
            };
            if meta != "-" {
                return Err(TableError::MetadataUnsupported);
            }
            if data == "-" {
                if t.rebuild & bit(i) != 0 {
                    return Err(TableError::RebuildMissingDrive);
                }
                continue;
            }
            if let Some(slot) = t.legs.get_mut(i as usize) {
                *slot = Some(data);
            }
            present |= bit(i);
        }
        if present == 0 {
            return Err(TableError::NoDataDevs);
        }
        if !t.layout.has_enough(present & !t.rebuild) {
            return Err(TableError::InsufficientRedundancy);
        }
        Ok(t)
    }

    /// `raid1` or `raid10`.
    pub fn raid_type(&self) -> RaidType {
        self.raid_type
    }

    /// The geometry the table asks for (dm-raid's far sets for raid10
    /// far/offset).
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The chunk in sectors, 0 for raid1.
    pub fn chunk_sectors(&self) -> u32 {
        self.chunk_sectors
    }

    /// One entry per leg: the device, or `None` for `-`.
    pub fn legs(&self) -> &[Option<&'a str>] {
        self.legs.get(..self.nr_legs).unwrap_or(&[])
    }

    /// `sync` / `nosync`, if given.
    pub fn sync_mode(&self) -> Option<SyncMode> {
        self.sync
    }

    /// Bit `i` set: leg `i` is to be rebuilt.
    pub fn rebuild_mask(&self) -> u64 {
        self.rebuild
    }

    /// Whether leg `leg` is to be rebuilt.
    pub fn is_rebuild(&self, leg: u32) -> bool {
        self.rebuild & bit(leg) != 0
    }

    /// Bit `i` set: leg `i` is write-mostly.
    pub fn write_mostly_mask(&self) -> u64 {
        self.write_mostly
    }

    /// Whether leg `leg` is write-mostly.
    pub fn is_write_mostly(&self, leg: u32) -> bool {
        self.write_mostly & bit(leg) != 0
    }

    /// `daemon_sleep` in ms, if given.
    pub fn daemon_sleep_ms(&self) -> Option<u32> {
        self.daemon_sleep
    }

    /// `min_recovery_rate` in kB/s per leg, if given.
    pub fn min_recovery_rate(&self) -> Option<u32> {
        self.min_recovery_rate
    }

    /// `max_recovery_rate` in kB/s per leg, if given.
    pub fn max_recovery_rate(&self) -> Option<u32> {
        self.max_recovery_rate
    }

    /// `region_size` in sectors, if given (0: choose the default).
    pub fn region_size(&self) -> Option<u32> {
        self.region_size
    }

    /// `raid10_copies`, if given.
    pub fn raid10_copies(&self) -> Option<u32> {
        self.raid10_copies
    }

    /// `raid10_format`, if given.
    pub fn raid10_format(&self) -> Option<Format> {
        self.raid10_format
    }

    /// `max_read_errors`, if given.
    pub fn max_read_errors_param(&self) -> Option<u32> {
        self.max_read_errors
    }

    /// The read-error threshold in force: `max_read_errors` or md's
    /// default.
    pub fn max_read_errors(&self) -> u32 {
        self.max_read_errors.unwrap_or(DEFAULT_MAX_READ_ERRORS)
    }

    /// The `<#raid_params>` the canonical line has.
    pub fn param_count(&self) -> u32 {
        let singles: u32 = [
            self.daemon_sleep,
            self.min_recovery_rate,
            self.max_recovery_rate,
            self.region_size,
            self.raid10_copies,
            self.max_read_errors,
        ]
        .iter()
        .map(|v| u32::from(v.is_some()))
        .sum::<u32>()
            + u32::from(self.raid10_format.is_some());
        1 + u32::from(self.sync.is_some())
            + 2 * (self.rebuild.count_ones() + self.write_mostly.count_ones() + singles)
    }
}

fn opt(f: &mut fmt::Formatter<'_>, name: &str, v: Option<u32>) -> fmt::Result {
    match v {
        Some(v) => write!(f, " {name} {v}"),
        None => Ok(()),
    }
}

impl fmt::Display for RaidTable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.raid_type.name(),
            self.param_count(),
            self.chunk_sectors
        )?;
        match self.sync {
            Some(SyncMode::Sync) => write!(f, " sync")?,
            Some(SyncMode::NoSync) => write!(f, " nosync")?,
            None => {}
        }
        for i in (0..u64::BITS).filter(|i| self.rebuild & bit(*i) != 0) {
            write!(f, " rebuild {i}")?;
        }
        opt(f, "daemon_sleep", self.daemon_sleep)?;
        opt(f, "min_recovery_rate", self.min_recovery_rate)?;
        opt(f, "max_recovery_rate", self.max_recovery_rate)?;
        for i in (0..u64::BITS).filter(|i| self.write_mostly & bit(*i) != 0) {
            write!(f, " write_mostly {i}")?;
        }
        opt(f, "region_size", self.region_size)?;
        opt(f, "raid10_copies", self.raid10_copies)?;
        if let Some(fmt_) = self.raid10_format {
            write!(f, " raid10_format {}", fmt_.name())?;
        }
        opt(f, "max_read_errors", self.max_read_errors)?;
        write!(f, " {}", self.nr_legs)?;
        for leg in self.legs() {
            write!(f, " - {}", leg.unwrap_or("-"))?;
        }
        Ok(())
    }
}
