// SPDX-License-Identifier: GPL-2.0

//! The status line.

use raid_core::status::raid_type_name;
use raid_core::{leg_health, Format, Layout, LegHealth, Status, SyncAction};

#[test]
fn upstream_fields_in_order() {
    let l = Layout::raid1(2).unwrap();
    let s = Status {
        layout: &l,
        legs: &[LegHealth::InSync, LegHealth::InSync],
        sync_done: 1024,
        sync_total: 1024,
        action: SyncAction::Idle,
        mismatch_cnt: 0,
        data_offset: 0,
        errors: &[],
    };
    assert_eq!(s.to_string(), "raid1 2 AA 1024/1024 idle 0 0 -");
}

#[test]
fn extension_appends_one_field_per_leg() {
    let l = Layout::raid10(4, 2, Format::Far, 64).unwrap();
    let s = Status {
        layout: &l,
        legs: &[
            LegHealth::InSync,
            LegHealth::NotInSync,
            LegHealth::Dead,
            LegHealth::Missing,
        ],
        sync_done: 5000,
        sync_total: 4096,
        action: SyncAction::Recover,
        mismatch_cnt: 7,
        data_offset: 2048,
        errors: &[(3, 0), (0, 1), (12, 21), (0, 0)],
    };
    let line = s.to_string();
    assert_eq!(
        line,
        "raid10_far 4 AaD- 4096/4096 recover 7 2048 - 3:0 0:1 12:21 0:0"
    );
    let f: Vec<&str> = line.split(' ').collect();
    assert_eq!(f.len(), 8 + 4);
    assert_eq!(f[7], "-");
}

#[test]
fn type_names_follow_md() {
    assert_eq!(raid_type_name(&Layout::raid1(3).unwrap()), "raid1");
    assert_eq!(
        raid_type_name(&Layout::raid10(3, 2, Format::Near, 8).unwrap()),
        "raid10"
    );
    assert_eq!(
        raid_type_name(&Layout::raid10(3, 2, Format::Offset, 8).unwrap()),
        "raid10_offset"
    );
}

#[test]
fn health_rules_of_raid_dev_status() {
    assert_eq!(leg_health(false, true, true, false), LegHealth::Missing);
    assert_eq!(leg_health(true, true, true, false), LegHealth::Dead);
    assert_eq!(leg_health(true, false, false, false), LegHealth::NotInSync);
    assert_eq!(leg_health(true, false, true, true), LegHealth::NotInSync);
    assert_eq!(leg_health(true, false, true, false), LegHealth::InSync);
    let chars: String = [
        LegHealth::InSync,
        LegHealth::NotInSync,
        LegHealth::Dead,
        LegHealth::Missing,
    ]
    .iter()
    .map(|h| h.as_char())
    .collect();
    assert_eq!(chars, "AaD-");
}

#[test]
fn sync_action_words() {
    for a in [
        SyncAction::Idle,
        SyncAction::Frozen,
        SyncAction::Resync,
        SyncAction::Recover,
        SyncAction::Check,
        SyncAction::Repair,
    ] {
        assert_eq!(SyncAction::parse(a.name()), Some(a));
    }
    assert_eq!(SyncAction::parse("reshape"), None);
    // dm-raid compares message words with strcasecmp().
    assert_eq!(SyncAction::parse("Check"), Some(SyncAction::Check));
    assert_eq!(SyncAction::parse("FROZEN"), Some(SyncAction::Frozen));
    assert_eq!(SyncAction::Repair.name(), "repair");
}
