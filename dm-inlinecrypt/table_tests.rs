// SPDX-License-Identifier: GPL-2.0

//! Tests of the table logic, in userspace.

use crate::keybuf::KeyBuf;
use crate::table::*;
use std::boxed::Box;
use std::ops::Deref;
use std::string::{String, ToString};
use std::vec::Vec;

/// 64 bytes whose halves differ: 00 01 02 .. 3f.
fn key_hex() -> String {
    (0u8..64).map(|b| format!("{b:02x}")).collect()
}

fn words(s: &str) -> Vec<&str> {
    s.split_whitespace().collect()
}

/// A parsed table with the buffer its hex key was decoded into.
struct Parsed {
    t: Table<'static>,
    keybuf: &'static KeyBuf,
}

impl Deref for Parsed {
    type Target = Table<'static>;

    fn deref(&self) -> &Table<'static> {
        &self.t
    }
}

fn parse_line(line: &str, len: u64) -> Result<Parsed, String> {
    let args = words(line);
    // `Table` borrows the argument strings; leak them for the test's life.
    let args: &'static [&str] =
        Vec::leak(args.iter().map(|a| &*String::leak(a.to_string())).collect());
    let keybuf = Box::leak(Box::new(KeyBuf::new()));
    let t = parse(args, len, keybuf).map_err(|e| e.to_str().unwrap().to_string())?;
    Ok(Parsed { t, keybuf })
}

fn err(line: &str, len: u64) -> String {
    match parse_line(line, len) {
        Ok(_) => panic!("accepted: {line}"),
        Err(e) => e,
    }
}

fn line_of(t: &Parsed, dev: &str) -> String {
    let key = match &t.key {
        KeySpec::Hex => KeyDisplay::Hex(t.keybuf.as_slice()),
        KeySpec::Logon { .. } => KeyDisplay::Keyring(t.key_arg),
    };
    TableLine {
        key,
        iv_offset: t.iv_offset,
        dev,
        start: t.start,
        key_type: t.key_type,
        allow_discards: t.allow_discards,
        sector_size: t.sector_size,
    }
    .to_string()
}

#[test]
fn minimal_table() {
    let k = key_hex();
    let t = parse_line(&format!("aes-xts-plain64 {k} 0 /dev/vdb 0"), 2048).unwrap();
    assert_eq!(t.sector_size, 512);
    assert_eq!(t.key_type, KeyType::Raw);
    assert!(!t.allow_discards);
    assert_eq!(t.dev_path, "/dev/vdb");
    assert_eq!(t.dun.max_dun(), 2047);
    assert_eq!(t.dun.dun_bytes(), 2);
    match &t.key {
        KeySpec::Hex => assert_eq!(t.keybuf.as_slice(), &(0u8..64).collect::<Vec<_>>()[..]),
        _ => panic!("not hex"),
    }
}

#[test]
fn every_option_form() {
    let k = key_hex();
    let cases = [
        ("0", 512, false, KeyType::Raw),
        ("1 allow_discards", 512, true, KeyType::Raw),
        (
            "2 sector_size:4096 iv_large_sectors",
            4096,
            false,
            KeyType::Raw,
        ),
        (
            "2 iv_large_sectors sector_size:1024",
            1024,
            false,
            KeyType::Raw,
        ),
        (
            "2 sector_size:512 iv_large_sectors",
            512,
            false,
            KeyType::Raw,
        ),
        ("1 iv_large_sectors", 512, false, KeyType::Raw),
        ("1 keytype:raw", 512, false, KeyType::Raw),
        (
            "4 allow_discards sector_size:2048 iv_large_sectors keytype:raw",
            2048,
            true,
            KeyType::Raw,
        ),
    ];
    for (opts, ss, discards, kt) in cases {
        let t = parse_line(&format!("aes-xts-plain64 {k} 16 8:16 8 {opts}"), 4096).unwrap();
        assert_eq!(
            (t.sector_size, t.allow_discards, t.key_type),
            (ss, discards, kt),
            "{opts}"
        );
    }
    // hw-wrapped keys are opaque blobs of 32..=128 bytes.
    let wrapped: String = (0u8..100).map(|b| format!("{b:02X}")).collect();
    let t = parse_line(
        &format!("aes-xts-plain64 {wrapped} 0 8:16 0 1 keytype:hw-wrapped"),
        8,
    )
    .unwrap();
    assert_eq!(t.key_type, KeyType::HwWrapped);
}

#[test]
fn keyring_key() {
    let t = parse_line("aes-xts-plain64 :64:logon:dm:test 0 /dev/vdb 0", 8).unwrap();
    match t.key {
        KeySpec::Logon { size, desc } => assert_eq!((size, desc), (64, "dm:test")),
        _ => panic!("not a keyring key"),
    }
    assert_eq!(t.key_arg, ":64:logon:dm:test");
}

#[test]
fn invalid_tables() {
    let k = key_hex();
    let short = &k[..126];
    let same = "ab".repeat(64);
    let cases: &[(String, u64, &str)] = &[
        (
            format!("aes-xts-plain64 {k} 0 /dev/vdb"),
            8,
            "Not enough arguments",
        ),
        (
            format!("aes-cbc-essiv:sha256 {k} 0 /dev/vdb 0"),
            8,
            "Unsupported cipher",
        ),
        (
            format!("aes-xts-plain64 {short} 0 /dev/vdb 0"),
            8,
            "Invalid key size: aes-xts-plain64 takes a 64-byte raw key",
        ),
        (
            format!("aes-xts-plain64 {k}0 0 /dev/vdb 0"),
            8,
            "Cannot parse key size",
        ),
        (
            format!("aes-xts-plain64 {}zz 0 /dev/vdb 0", &k[..126]),
            8,
            "Malformed key string",
        ),
        (
            format!("aes-xts-plain64 {} 0 /dev/vdb 0", "00".repeat(129)),
            8,
            "Cannot parse key size",
        ),
        (
            format!("aes-xts-plain64 {same} 0 /dev/vdb 0"),
            8,
            "XTS key halves must differ",
        ),
        (
            "aes-xts-plain64 :64:user:desc 0 /dev/vdb 0".to_string(),
            8,
            "Unsupported key type: only logon keys",
        ),
        (
            "aes-xts-plain64 :64:logon: 0 /dev/vdb 0".to_string(),
            8,
            "Empty key description",
        ),
        (
            "aes-xts-plain64 :129:logon:d 0 /dev/vdb 0".to_string(),
            8,
            "Invalid key size",
        ),
        (
            "aes-xts-plain64 :x:logon:d 0 /dev/vdb 0".to_string(),
            8,
            "Cannot parse key size",
        ),
        (
            format!("aes-xts-plain64 {k} -1 /dev/vdb 0"),
            8,
            "Invalid iv_offset sector",
        ),
        (
            format!("aes-xts-plain64 {k} 0 /dev/vdb 1x"),
            8,
            "Invalid start sector",
        ),
        (
            format!("aes-xts-plain64 {k} 0 /dev/vdb 0 5 a b c d e"),
            8,
            "Invalid number of feature args",
        ),
        (
            format!("aes-xts-plain64 {k} 0 /dev/vdb 0 2 allow_discards"),
            8,
            "Invalid number of feature args",
        ),
        (
            format!("aes-xts-plain64 {k} 0 /dev/vdb 0 1 allow_discards extra"),
            8,
            "Too many arguments",
        ),
        (
            format!("aes-xts-plain64 {k} 0 /dev/vdb 0 1 frobnicate"),
            8,
            "Invalid feature arguments",
        ),
        (
            format!("aes-xts-plain64 {k} 0 /dev/vdb 0 1 keytype:"),
            8,
            "Invalid block key type",
        ),
        (
            format!("aes-xts-plain64 {k} 0 /dev/vdb 0 1 keytype:magic"),
            8,
            "Invalid block key type",
        ),
        (
            format!("aes-xts-plain64 {k} 0 /dev/vdb 0 2 sector_size:3000 iv_large_sectors"),
            8,
            "Invalid sector_size",
        ),
        (
            format!("aes-xts-plain64 {k} 0 /dev/vdb 0 2 sector_size:256 iv_large_sectors"),
            8,
            "Invalid sector_size",
        ),
        (
            format!("aes-xts-plain64 {k} 0 /dev/vdb 0 2 sector_size:8192 iv_large_sectors"),
            16,
            "Invalid sector_size",
        ),
        (
            format!("aes-xts-plain64 {k} 0 /dev/vdb 0 1 sector_size:4096"),
            8,
            "iv_large_sectors must be specified",
        ),
        (
            format!("aes-xts-plain64 {k} 0 /dev/vdb 0 2 sector_size:4096 iv_large_sectors"),
            12,
            "Device size is not a multiple of sector_size",
        ),
        (
            format!("aes-xts-plain64 {k} 4 /dev/vdb 0 2 sector_size:4096 iv_large_sectors"),
            16,
            "Wrong alignment of iv_offset sector",
        ),
        (
            format!("aes-xts-plain64 {k} 18446744073709551615 /dev/vdb 0"),
            8,
            "iv_offset too large for the target",
        ),
        (
            format!("aes-xts-plain64 {k} 0 /dev/vdb 0 1 keytype:hw-wrapped"),
            8,
            "Invalid key size for a hw-wrapped key",
        )
            .clone(),
    ];
    for (line, len, want) in cases {
        // The last case: a 64-byte hw-wrapped key is fine, so make it too short.
        let line = if want.contains("hw-wrapped") {
            line.replace(&k, &k[..62])
        } else {
            line.clone()
        };
        assert_eq!(err(&line, *len), *want, "{line}");
    }
}

#[test]
fn whitespace_in_keyring_description() {
    // dm core unescapes `\ ` in a table into a space inside one argument.
    for desc in [
        ":64:logon:a b",
        ":64:logon:a\tb",
        ":64:logon:a\x0bb",
        ":64:logon:ab\n",
    ] {
        let args = ["aes-xts-plain64", desc, "0", "/dev/vdb", "0"];
        let e = parse(&args, 8, &mut KeyBuf::new())
            .err()
            .expect("accepted whitespace");
        assert_eq!(e.to_str().unwrap(), "Whitespace not allowed in key string");
    }
}

#[test]
fn dun_mapping() {
    // 512-byte units: DUN = iv_offset + sector.
    let d = DunMap::new(100, 512, 1000).unwrap();
    assert_eq!(d.dun(0), Some(100));
    assert_eq!(d.dun(999), Some(1099));
    assert_eq!(d.dun(1000), None);
    // 4096-byte units with iv_large_sectors: DUN counts 4 KiB units.
    let d = DunMap::new(16, 4096, 64).unwrap();
    assert_eq!(d.max_dun(), (16 + 63) / 8);
    assert_eq!(d.dun(0), Some(2));
    assert_eq!(d.dun(8), Some(3));
    assert_eq!(d.dun(4), None, "not the start of a data unit");
    assert_eq!(d.dun(64), None, "past the target");
}

#[test]
fn dun_bytes_never_zero() {
    // Upstream computes DIV_ROUND_UP(fls64(0), 8) = 0 here and the table
    // fails in blk_crypto_init_key(); one 4 KiB unit at iv_offset 0 is valid.
    let d = DunMap::new(0, 4096, 8).unwrap();
    assert_eq!(d.max_dun(), 0);
    assert_eq!(d.dun_bytes(), 1);
    assert_eq!(DunMap::new(0, 512, 256).unwrap().dun_bytes(), 1);
    assert_eq!(DunMap::new(0, 512, 257).unwrap().dun_bytes(), 2);
    assert_eq!(DunMap::new(u64::MAX - 7, 512, 8).unwrap().dun_bytes(), 8);
}

#[test]
fn table_line_reloads() {
    let k = key_hex();
    for opts in [
        "",
        " 1 allow_discards",
        " 2 sector_size:4096 iv_large_sectors",
        " 4 allow_discards sector_size:1024 iv_large_sectors keytype:raw",
    ] {
        let t = parse_line(&format!("aes-xts-plain64 {k} 8 /dev/vdb 24{opts}"), 4096).unwrap();
        let line = line_of(&t, "254:16");
        let again = parse_line(&line, 4096).unwrap();
        assert_eq!(line_of(&again, "254:16"), line, "not a fixed point: {line}");
        assert!(
            line.starts_with(&format!("aes-xts-plain64 {k} 8 254:16 24")),
            "{line}"
        );
    }
    let t = parse_line(
        "aes-xts-plain64 :64:logon:dm:x 0 /dev/vdb 0 1 allow_discards",
        8,
    )
    .unwrap();
    assert_eq!(
        line_of(&t, "254:16"),
        "aes-xts-plain64 :64:logon:dm:x 0 254:16 0 1 allow_discards"
    );
    let wrapped = "ab".repeat(40);
    let t = parse_line(
        &format!("aes-xts-plain64 {wrapped} 0 /dev/vdb 0 1 keytype:hw-wrapped"),
        8,
    )
    .unwrap();
    let line = line_of(&t, "8:0");
    assert_eq!(
        line,
        format!("aes-xts-plain64 {wrapped} 0 8:0 0 1 keytype:hw-wrapped")
    );
    assert!(parse_line(&line, 8).is_ok());
}

#[test]
fn key_buffer_is_filled_in_place_and_wiped_on_refill() {
    let mut k = KeyBuf::new();
    assert!(k.as_slice().is_empty());
    k.fill(8).unwrap().copy_from_slice(&[0xaa; 8]);
    assert_eq!(k.as_slice(), &[0xaa; 8]);
    // A shorter refill must not expose the old bytes, nor keep them.
    assert_eq!(k.fill(4).unwrap(), &[0; 4]);
    assert_eq!(k.fill(8).unwrap(), &[0; 8]);
    assert!(k.fill(crate::keybuf::MAX_KEY_SIZE + 1).is_none());
}
