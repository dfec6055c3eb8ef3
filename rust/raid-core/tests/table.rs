// SPDX-License-Identifier: GPL-2.0

//! The table parser: good lines, their canonical form, and malformed ones.

use raid_core::table::Param;
use raid_core::{
    FarRotation, Format, LayoutError, RaidTable, RaidType, SyncMode, TableError,
    DEFAULT_MAX_READ_ERRORS,
};

fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

fn parse(line: &str) -> Result<RaidTable<'_>, TableError> {
    let w = words(line);
    // The table borrows the words; leak them for the test's convenience.
    let w: &'static [&str] = Box::leak(
        w.into_iter()
            .map(|s| &*Box::leak(s.to_owned().into_boxed_str()))
            .collect::<Vec<&'static str>>()
            .into_boxed_slice(),
    );
    RaidTable::parse(w)
}

/// Parses, prints, parses the print and compares; returns the print.
fn round_trip(line: &str) -> String {
    let t = parse(line).unwrap_or_else(|e| panic!("{line}: {e:?}"));
    let printed = t.to_string();
    let again = parse(&printed).unwrap_or_else(|e| panic!("{printed}: {e:?}"));
    assert_eq!(t, again, "{line} -> {printed}");
    assert_eq!(again.to_string(), printed);
    let n: usize = words(&printed)[1].parse().unwrap();
    assert_eq!(words(&printed)[2 + n], t.legs().len().to_string());
    printed
}

#[test]
fn minimal_raid1() {
    let t = parse("raid1 1 0 2 - /dev/a - /dev/b").unwrap();
    assert_eq!(t.raid_type(), RaidType::Raid1);
    assert_eq!(t.legs(), &[Some("/dev/a"), Some("/dev/b")]);
    assert_eq!(t.chunk_sectors(), 0);
    assert_eq!(t.layout().copies(), 2);
    assert!(!t.layout().is_raid10());
    assert_eq!(t.max_read_errors(), DEFAULT_MAX_READ_ERRORS);
    assert_eq!(t.sync_mode(), None);
    assert_eq!(
        round_trip("raid1 1 0 2 - /dev/a - /dev/b"),
        "raid1 1 0 2 - /dev/a - /dev/b"
    );
}

#[test]
fn raid1_chunk_is_ignored_like_dm_raid() {
    let t = parse("raid1 1 64 2 - 8:1 - 8:2").unwrap();
    assert_eq!(t.chunk_sectors(), 0);
    assert_eq!(
        round_trip("raid1 1 64 2 - 8:1 - 8:2"),
        "raid1 1 0 2 - 8:1 - 8:2"
    );
}

#[test]
fn raid10_defaults() {
    let t = parse("raid10 1 128 4 - a - b - c - d").unwrap();
    let l = t.layout();
    assert!(l.is_raid10());
    assert_eq!(l.copies(), 2);
    assert_eq!(l.format(), Format::Near);
    assert_eq!(l.chunk_sectors(), 128);
    assert_eq!(t.raid10_copies(), None);
    assert_eq!(t.raid10_format(), None);
}

#[test]
fn raid10_far_uses_dm_raid_far_sets() {
    let t =
        parse("raid10 5 64 raid10_copies 3 raid10_format far 6 - a - b - c - d - e - f").unwrap();
    assert_eq!(t.layout().format(), Format::Far);
    assert_eq!(t.layout().copies(), 3);
    assert_eq!(t.layout().rotation(), FarRotation::Sets);
}

#[test]
fn canonical_order_follows_raid_status() {
    let line = "raid1 17 0 max_read_errors 5 region_size 1024 write_mostly 2 \
                max_recovery_rate 100 rebuild 1 min_recovery_rate 10 daemon_sleep 50 rebuild 0 \
                3 - a - b - c";
    assert_eq!(
        round_trip(line),
        "raid1 17 0 rebuild 0 rebuild 1 daemon_sleep 50 min_recovery_rate 10 \
         max_recovery_rate 100 write_mostly 2 region_size 1024 max_read_errors 5 3 - a - b - c"
    );
    let t = parse(line).unwrap();
    assert!(t.is_rebuild(0) && t.is_rebuild(1) && !t.is_rebuild(2));
    assert!(t.is_write_mostly(2) && !t.is_write_mostly(0));
    assert_eq!(t.rebuild_mask(), 0b11);
    assert_eq!(t.write_mostly_mask(), 0b100);
    assert_eq!(t.daemon_sleep_ms(), Some(50));
    assert_eq!(t.min_recovery_rate(), Some(10));
    assert_eq!(t.max_recovery_rate(), Some(100));
    assert_eq!(t.region_size(), Some(1024));
    assert_eq!(t.max_read_errors(), 5);
    assert_eq!(t.max_read_errors_param(), Some(5));
}

#[test]
fn more_good_tables_round_trip() {
    for line in [
        "raid1 2 0 nosync 2 - a - -",
        "raid1 2 0 SYNC 3 - a - b - c",
        "RAID10 5 8 raid10_format OFFSET raid10_copies 2 2 - a - b",
        "raid10 3 16 raid10_format near 3 - a - b - c",
        "raid10 5 64 raid10_copies 3 raid10_format far 6 - a - b - c - d - e - f",
        "raid10 3 64 rebuild 3 4 - a - b - c - d",
        "raid10 3 64 region_size 0 4 - a - - - c - d",
        "raid10 3 64 max_read_errors 0 4 - a - b - - - d",
        "raid1 5 0 min_recovery_rate 10 max_recovery_rate 0 16 - a - b - c - d - e - f - g - h \
         - i - j - k - l - m - n - o - p",
    ] {
        round_trip(line);
    }
    let t = parse("raid1 2 0 nosync 2 - a - -").unwrap();
    assert_eq!(t.sync_mode(), Some(SyncMode::NoSync));
    assert_eq!(t.legs(), &[Some("a"), None]);
    let t = parse("RAID10 5 8 raid10_format OFFSET raid10_copies 2 2 - a - b").unwrap();
    assert_eq!(
        t.to_string(),
        "raid10 5 8 raid10_copies 2 raid10_format offset 2 - a - b"
    );
}

#[test]
fn malformed_tables() {
    use TableError as E;
    let cases: &[(&str, TableError)] = &[
        ("", E::NoArguments),
        ("raid5 1 0 2 - a - b", E::UnknownRaidType),
        ("raid10_near 1 64 2 - a - b", E::UnknownRaidType),
        ("raid1", E::BadParamCount),
        ("raid1 x 0 2 - a - b", E::BadParamCount),
        ("raid1 0 2 - a - b", E::BadParamCount),
        ("raid1 9 0 2 - a", E::NotEnoughParams),
        ("raid1 1 0", E::BadDevCount),
        ("raid1 1 0 two - a - b", E::BadDevCount),
        ("raid1 1 0 0", E::InvalidDevCount),
        ("raid1 1 0 3 - a - b", E::DevCountMismatch),
        ("raid1 1 0 2 - a - b - c", E::DevCountMismatch),
        (
            "raid1 1 0 17 - a - b - c - d - e - f - g - h - i - j - k - l - m - n - o - p - q",
            E::TooManyDevs,
        ),
        ("raid1 1 abc 2 - a - b", E::BadChunkSize),
        ("raid1 1 -1 2 - a - b", E::BadChunkSize),
        ("raid10 1 12 2 - a - b", E::ChunkNotPowerOfTwo),
        ("raid10 1 0 2 - a - b", E::ChunkNotPowerOfTwo),
        ("raid10 1 4 2 - a - b", E::ChunkTooSmall),
        ("raid1 2 0 rebuild 2 - a - b", E::WrongParamCount),
        ("raid1 3 0 rebuild x 2 - a - b", E::BadNumber),
        ("raid1 3 0 daemon_sleep -5 2 - a - b", E::BadNumber),
        ("raid1 3 0 daemon_sleep 4294967295 2 - a - b", E::BadNumber),
        ("raid1 3 0 frobnicate 1 2 - a - b", E::UnknownParam),
        ("raid1 2 0 frobnicate 2 - a - b", E::WrongParamCount),
        (
            "raid1 3 0 max_write_behind 8 2 - a - b",
            E::UnsupportedParam,
        ),
        (
            "raid10 2 64 raid10_use_near_sets 2 - a - b",
            E::UnsupportedParam,
        ),
        ("raid1 3 0 sync sync 2 - a - b", E::Duplicate(Param::Sync)),
        (
            "raid1 3 0 nosync nosync 2 - a - b",
            E::Duplicate(Param::NoSync),
        ),
        (
            "raid1 5 0 daemon_sleep 1 daemon_sleep 2 2 - a - b",
            E::Duplicate(Param::DaemonSleep),
        ),
        (
            "raid1 5 0 region_size 8 region_size 8 2 - a - b",
            E::Duplicate(Param::RegionSize),
        ),
        (
            "raid1 5 0 max_read_errors 1 max_read_errors 2 2 - a - b",
            E::Duplicate(Param::MaxReadErrors),
        ),
        (
            "raid10 5 64 raid10_copies 2 raid10_copies 2 2 - a - b",
            E::Duplicate(Param::Raid10Copies),
        ),
        (
            "raid10 5 64 raid10_format far raid10_format far 2 - a - b",
            E::Duplicate(Param::Raid10Format),
        ),
        ("raid1 3 0 sync nosync 2 - a - b", E::SyncAndNoSync),
        ("raid1 4 0 rebuild 0 sync 2 - a - b", E::SyncAndRebuild),
        ("raid1 3 0 rebuild 2 2 - a - b", E::InvalidRebuildIndex),
        (
            "raid1 5 0 rebuild 1 rebuild 1 3 - a - b - c",
            E::DuplicateRebuild,
        ),
        (
            "raid10 3 64 write_mostly 0 2 - a - b",
            E::WriteMostlyNotRaid1,
        ),
        (
            "raid1 3 0 write_mostly 2 2 - a - b",
            E::InvalidWriteMostlyIndex,
        ),
        (
            "raid1 5 0 write_mostly 1 write_mostly 1 3 - a - b - c",
            E::DuplicateWriteMostly,
        ),
        (
            "raid1 5 0 write_mostly 0 write_mostly 1 2 - a - b",
            E::AllWriteMostly,
        ),
        (
            "raid1 5 0 min_recovery_rate 20 max_recovery_rate 10 2 - a - b",
            E::BogusRecoveryRates,
        ),
        (
            "raid1 3 0 raid10_format near 2 - a - b",
            E::Raid10FormatNotRaid10,
        ),
        (
            "raid1 3 0 raid10_copies 2 2 - a - b",
            E::InvalidFlagsCombination,
        ),
        (
            "raid10 3 64 raid10_format diagonal 2 - a - b",
            E::BadRaid10Format,
        ),
        ("raid10 3 64 raid10_copies 3 2 - a - b", E::BadRaid10Copies),
        ("raid10 3 64 raid10_copies 1 2 - a - b", E::BadRaid10Copies),
        (
            "raid10 3 64 raid10_copies 9 10 - a - b - c - d - e - f - g - h - i - j",
            E::BadRaid10Copies,
        ),
        (
            "raid1 3 0 region_size 1000 2 - a - b",
            E::RegionNotPowerOfTwo,
        ),
        (
            "raid10 3 64 region_size 32 2 - a - b",
            E::RegionSmallerThanChunk,
        ),
        ("raid1 1 0 2 /dev/meta /dev/a - b", E::MetadataUnsupported),
        ("raid1 1 0 2 8:0 - - b", E::MetadataUnsupported),
        ("raid1 3 0 rebuild 1 2 - a - -", E::RebuildMissingDrive),
        ("raid1 1 0 2 - - - -", E::NoDataDevs),
        ("raid1 1 0 1 - a", E::NotEnoughDevs),
        ("raid10 1 64 1 - a", E::NotEnoughDevs),
        ("raid10 1 64 4 - - - - - c - d", E::InsufficientRedundancy),
        (
            "raid10 5 64 rebuild 0 rebuild 1 2 - a - b",
            E::InsufficientRedundancy,
        ),
        (
            "raid10 3 64 rebuild 3 4 - a - b - - - d",
            E::InsufficientRedundancy,
        ),
        (
            "raid1 5 0 rebuild 0 rebuild 1 2 - a - b",
            E::InsufficientRedundancy,
        ),
    ];
    assert!(cases.len() >= 30);
    for (line, want) in cases {
        let got = parse(line);
        assert_eq!(got.err(), Some(*want), "{line}");
        assert!(!want.message().is_empty());
    }
    assert_eq!(
        E::MetadataUnsupported.message(),
        "metadata devices not supported, use -"
    );
    assert_eq!(
        E::Layout(LayoutError::ChunkTooSmall).message(),
        "Chunk size value is too small"
    );
}

#[test]
fn degraded_raid10_near_needs_one_leg_per_pair() {
    // Legs 0/1 and 2/3 hold the copies: one of each pair is enough.
    assert!(parse("raid10 1 64 4 - a - - - - - d").is_ok());
    assert_eq!(
        parse("raid10 1 64 4 - a - b - - - -").err(),
        Some(TableError::InsufficientRedundancy)
    );
}
