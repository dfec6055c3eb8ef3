// SPDX-License-Identifier: GPL-2.0

//! The dm-inlinecrypt table: parsing and validation, the data unit number
//! (DUN) arithmetic, and the table line `dmsetup table` prints.
//!
//! Pure `core` code, shared by the kernel module and the userspace tests
//! (`cargo test -p dm-inlinecrypt-table`). Error messages are what dm core
//! logs for a rejected table; every rejection is `-EINVAL`.
//!
//! ```text
//! <cipher> <key> <iv_offset> <dev_path> <start> [<#opt_params> <opt_params>...]
//! key:        <hex> | :<key_size>:logon:<key_description>
//! opt_params: allow_discards | sector_size:<bytes> | iv_large_sectors
//!             | keytype:raw | keytype:hw-wrapped
//! ```

use crate::args::{parse_u32, parse_u64, ArgSet};
pub(crate) use crate::keybuf::KeyType;
use crate::keybuf::{KeyBuf, MAX_KEY_SIZE};
use core::ffi::CStr;
use core::fmt;

/// The only cipher blk-crypto offers dm-inlinecrypt.
pub(crate) const CIPHER: &str = "aes-xts-plain64";
/// Raw key size of AES-256-XTS (two AES-256 keys).
pub(crate) const AES_256_XTS_KEY_SIZE: usize = 64;
/// Smallest hardware-wrapped key: the mode's security strength.
pub(crate) const HW_WRAPPED_MIN_KEY_SIZE: usize = 32;
const SECTOR_SIZE: u32 = 512;
const SECTOR_SHIFT: u32 = 9;
const MAX_FEATURE_ARGS: u32 = 4;

/// Where the key comes from.
pub(crate) enum KeySpec<'a> {
    /// Given in the table as hex, decoded into the caller's [`KeyBuf`].
    Hex,
    /// A `logon` key of `size` bytes in the kernel keyring, named `desc`.
    Logon { size: usize, desc: &'a str },
}

/// A parsed, validated table line.
pub(crate) struct Table<'a> {
    pub(crate) key: KeySpec<'a>,
    /// The key argument as given: what status prints for a keyring key.
    pub(crate) key_arg: &'a str,
    pub(crate) iv_offset: u64,
    pub(crate) dev_path: &'a str,
    pub(crate) start: u64,
    pub(crate) key_type: KeyType,
    pub(crate) allow_discards: bool,
    pub(crate) sector_size: u32,
    pub(crate) dun: DunMap,
}

type ParseResult<T> = Result<T, &'static CStr>;

/// Parses and validates a table for a target of `target_len` sectors. A hex
/// key is decoded into `key`, in place: key material is never moved (each
/// move would leave an unwiped copy behind).
pub(crate) fn parse<'a>(
    args: &[&'a str],
    target_len: u64,
    key: &mut KeyBuf,
) -> ParseResult<Table<'a>> {
    if args.len() < 5 {
        return Err(c"Not enough arguments");
    }
    let mut args = ArgSet::new(args);
    let missing = c"Not enough arguments";

    if args.next(missing)? != CIPHER {
        return Err(c"Unsupported cipher");
    }
    let key_arg = args.next(missing)?;
    let key_spec = parse_key(key_arg, key)?;
    let iv_offset = parse_u64(args.next(missing)?).ok_or(c"Invalid iv_offset sector")?;
    let dev_path = args.next(missing)?;
    let start = parse_u64(args.next(missing)?).ok_or(c"Invalid start sector")?;

    let mut key_type = KeyType::Raw;
    let mut allow_discards = false;
    let mut sector_size = SECTOR_SIZE;
    let mut iv_large_sectors = false;
    if args.len() > 0 {
        let n = args.read_group(0, MAX_FEATURE_ARGS, c"Invalid number of feature args")?;
        for _ in 0..n {
            let opt = args.next(c"Not enough feature arguments")?;
            if let Some(val) = opt.strip_prefix("keytype:") {
                key_type = match val {
                    "raw" => KeyType::Raw,
                    "hw-wrapped" => KeyType::HwWrapped,
                    _ => return Err(c"Invalid block key type"),
                };
            } else if opt == "allow_discards" {
                allow_discards = true;
            } else if let Some(val) = opt.strip_prefix("sector_size:") {
                sector_size = parse_u32(val).ok_or(c"Invalid sector_size")?;
                if !(SECTOR_SIZE..=4096).contains(&sector_size) || !sector_size.is_power_of_two() {
                    return Err(c"Invalid sector_size");
                }
            } else if opt == "iv_large_sectors" {
                iv_large_sectors = true;
            } else {
                return Err(c"Invalid feature arguments");
            }
        }
        // Upstream ignores what follows the group; a typo there would
        // silently lose an option, so reject it.
        if args.len() > 0 {
            return Err(c"Too many arguments");
        }
    }
    // Like upstream, only iv_large_sectors semantics are implemented.
    if sector_size != SECTOR_SIZE && !iv_large_sectors {
        return Err(c"iv_large_sectors must be specified");
    }

    let unit_sectors = u64::from(sector_size >> SECTOR_SHIFT);
    if !is_aligned(target_len, unit_sectors) {
        return Err(c"Device size is not a multiple of sector_size");
    }
    if !is_aligned(iv_offset, unit_sectors) {
        return Err(c"Wrong alignment of iv_offset sector");
    }
    check_key_size(key_len(&key_spec, key), key_type)?;
    if let (KeySpec::Hex, KeyType::Raw) = (&key_spec, key_type) {
        check_raw_key(key.as_slice())?;
    }
    let dun = DunMap::new(iv_offset, sector_size, target_len)?;

    Ok(Table {
        key: key_spec,
        key_arg,
        iv_offset,
        dev_path,
        start,
        key_type,
        allow_discards,
        sector_size,
        dun,
    })
}

/// Whether `v` is a multiple of `unit`, a power of two (the C targets'
/// `v & (unit - 1)`, without a panic path for `unit == 0`).
fn is_aligned(v: u64, unit: u64) -> bool {
    v & unit.wrapping_sub(1) == 0
}

fn key_len(spec: &KeySpec<'_>, key: &KeyBuf) -> usize {
    match spec {
        KeySpec::Hex => key.as_slice().len(),
        KeySpec::Logon { size, .. } => *size,
    }
}

/// `<hex>` (decoded into `key`) or `:<key_size>:logon:<key_description>`.
fn parse_key<'a>(arg: &'a str, key: &mut KeyBuf) -> ParseResult<KeySpec<'a>> {
    let Some(rest) = arg.strip_prefix(':') else {
        if arg.is_empty() || arg.len() % 2 != 0 || arg.len() > 2 * MAX_KEY_SIZE {
            return Err(c"Cannot parse key size");
        }
        let bytes = key.fill(arg.len() / 2).ok_or(c"Cannot parse key size")?;
        hex_decode(arg.as_bytes(), bytes).ok_or(c"Malformed key string")?;
        return Ok(KeySpec::Hex);
    };
    let (size, spec) = rest.split_once(':').ok_or(c"Cannot parse key size")?;
    let size = parse_u32(size).ok_or(c"Cannot parse key size")? as usize;
    if size == 0 || size > MAX_KEY_SIZE {
        return Err(c"Invalid key size");
    }
    // dm core cannot escape whitespace on the table status path, so a
    // description with whitespace could not be reloaded. (The kernel's
    // isspace() also counts `\v`, which Rust's ASCII whitespace does not.)
    if spec.bytes().any(|b| b.is_ascii_whitespace() || b == 0x0b) {
        return Err(c"Whitespace not allowed in key string");
    }
    let (ty, desc) = spec.split_once(':').ok_or(c"Malformed key string")?;
    if ty != "logon" {
        return Err(c"Unsupported key type: only logon keys");
    }
    if desc.is_empty() {
        return Err(c"Empty key description");
    }
    Ok(KeySpec::Logon { size, desc })
}

/// Decodes hex digits (either case) into `out`, which is half as long.
fn hex_decode(hex: &[u8], out: &mut [u8]) -> Option<()> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        let &[hi, lo] = pair else { return None };
        *byte = (nibble(hi)? << 4) | nibble(lo)?;
    }
    Some(())
}

/// The sizes blk_crypto_init_key() takes for AES-256-XTS, checked early for
/// a clear message.
pub(crate) fn check_key_size(len: usize, key_type: KeyType) -> ParseResult<()> {
    let ok = match key_type {
        KeyType::Raw => len == AES_256_XTS_KEY_SIZE,
        KeyType::HwWrapped => (HW_WRAPPED_MIN_KEY_SIZE..=MAX_KEY_SIZE).contains(&len),
    };
    if ok {
        Ok(())
    } else if key_type == KeyType::Raw {
        Err(c"Invalid key size: aes-xts-plain64 takes a 64-byte raw key")
    } else {
        Err(c"Invalid key size for a hw-wrapped key")
    }
}

/// Rejects a raw XTS key whose halves are equal. blk-crypto-fallback's
/// xts(aes) refuses it (weak key) only when the first bio is encrypted, so
/// upstream's table loads and then every I/O fails; refuse the table instead.
pub(crate) fn check_raw_key(key: &[u8]) -> ParseResult<()> {
    let (k1, k2) = key.split_at(key.len() / 2);
    if k1 == k2 {
        return Err(c"XTS key halves must differ");
    }
    Ok(())
}

/// Maps target sectors to data unit numbers.
///
/// The DUN of a data unit is its index counted from `iv_offset` in units of
/// `sector_size` (iv_large_sectors): what dm-crypt's plain64 IV is with
/// `sector_size:<n> iv_large_sectors`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DunMap {
    iv_offset: u64,
    /// log2(sector_size / 512).
    unit_shift: u32,
    /// sector_size / 512 - 1.
    unit_mask: u64,
    max_dun: u64,
}

impl DunMap {
    pub(crate) fn new(iv_offset: u64, sector_size: u32, target_len: u64) -> ParseResult<Self> {
        let unit_shift = sector_size.trailing_zeros().saturating_sub(SECTOR_SHIFT);
        let unit_mask = u64::from(sector_size >> SECTOR_SHIFT).wrapping_sub(1);
        let last = target_len
            .checked_sub(1)
            .and_then(|l| iv_offset.checked_add(l))
            .ok_or(c"iv_offset too large for the target")?;
        let max_dun = last.checked_shr(unit_shift).ok_or(c"Invalid sector_size")?;
        Ok(Self {
            iv_offset,
            unit_shift,
            unit_mask,
            max_dun,
        })
    }

    #[cfg(test)]
    pub(crate) fn max_dun(&self) -> u64 {
        self.max_dun
    }

    /// Bytes of DUN the key must be set up for. Upstream computes 0 when
    /// `max_dun` is 0 (a one-unit target at iv_offset 0), which
    /// blk_crypto_init_key() rejects; at least one byte is needed.
    pub(crate) fn dun_bytes(&self) -> u32 {
        let bits = u64::BITS.saturating_sub(self.max_dun.leading_zeros());
        bits.div_ceil(8).max(1)
    }

    /// The DUN of the data unit starting at `sector` (512-byte sectors into
    /// the target), or `None` if `sector` does not start a data unit or lies
    /// past the target.
    pub(crate) fn dun(&self, sector: u64) -> Option<u64> {
        let pos = self.iv_offset.checked_add(sector)?;
        if pos & self.unit_mask != 0 {
            return None;
        }
        let dun = pos.checked_shr(self.unit_shift)?;
        (dun <= self.max_dun).then_some(dun)
    }
}

/// The key as the table line shows it.
pub(crate) enum KeyDisplay<'a> {
    /// A key given as hex is printed as hex, as dm-crypt does: the line must
    /// reload, and `dmsetup table --showkeys` is how userspace asks for it.
    Hex(&'a [u8]),
    /// A keyring key is printed as its reference, never its bytes.
    Keyring(&'a str),
}

/// The line `dmsetup table` prints, which `dmsetup load` accepts unchanged
/// (upstream prints the key type as an integer after the key, which does
/// not parse, and a keyring key's bytes).
pub(crate) struct TableLine<'a> {
    pub(crate) key: KeyDisplay<'a>,
    pub(crate) iv_offset: u64,
    pub(crate) dev: &'a str,
    pub(crate) start: u64,
    pub(crate) key_type: KeyType,
    pub(crate) allow_discards: bool,
    pub(crate) sector_size: u32,
}

impl fmt::Display for TableLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{CIPHER} ")?;
        match self.key {
            KeyDisplay::Hex(bytes) => bytes.iter().try_for_each(|b| write!(f, "{b:02x}"))?,
            KeyDisplay::Keyring(arg) => f.write_str(arg)?,
        }
        write!(f, " {} {} {}", self.iv_offset, self.dev, self.start)?;

        let large = self.sector_size != SECTOR_SIZE;
        let wrapped = self.key_type == KeyType::HwWrapped;
        let n = [self.allow_discards, large, large, wrapped]
            .iter()
            .filter(|b| **b)
            .count();
        if n > 0 {
            write!(f, " {n}")?;
        }
        if self.allow_discards {
            f.write_str(" allow_discards")?;
        }
        if large {
            write!(f, " sector_size:{} iv_large_sectors", self.sector_size)?;
        }
        if wrapped {
            f.write_str(" keytype:hw-wrapped")?;
        }
        Ok(())
    }
}
