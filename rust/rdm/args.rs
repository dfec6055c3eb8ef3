// SPDX-License-Identifier: GPL-2.0

//! Table-argument parsing in the manner of `dm_shift_arg()` and
//! `dm_read_arg_group()`, over arguments already checked to be UTF-8.
//!
//! Pure `core` code: it is also compiled into the userspace test crates.

use core::ffi::CStr;

/// The constructor arguments not consumed yet.
pub(crate) struct ArgSet<'a, 'b> {
    args: &'b [&'a str],
}

impl<'a, 'b> ArgSet<'a, 'b> {
    pub(crate) fn new(args: &'b [&'a str]) -> Self {
        Self { args }
    }

    /// How many arguments are left.
    pub(crate) fn len(&self) -> usize {
        self.args.len()
    }

    /// Takes the next argument, like `dm_shift_arg()`.
    pub(crate) fn shift(&mut self) -> Option<&'a str> {
        let (first, rest) = self.args.split_first()?;
        self.args = rest;
        Some(first)
    }

    /// Takes the next argument or fails with `err`.
    pub(crate) fn next(&mut self, err: &'static CStr) -> Result<&'a str, &'static CStr> {
        self.shift().ok_or(err)
    }

    /// Reads the count that starts an optional argument group, like
    /// `dm_read_arg_group()`: it must lie in `min..=max` and that many
    /// arguments must follow.
    pub(crate) fn read_group(
        &mut self,
        min: u32,
        max: u32,
        err: &'static CStr,
    ) -> Result<u32, &'static CStr> {
        let n = parse_u32(self.next(err)?).ok_or(err)?;
        if n < min || n > max || n as usize > self.len() {
            return Err(err);
        }
        Ok(n)
    }
}

/// Parses an unsigned decimal number: digits only, no sign, no spaces, no
/// overflow. (The C targets use `sscanf("%llu%c")`, which also accepts a
/// leading `+` or whitespace; a table never needs those.)
pub(crate) fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    // Checked arithmetic by hand: `str::parse` would bring overflow-check
    // panic paths into the module.
    s.bytes().try_fold(0u64, |acc, b| {
        let digit = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        acc.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// As [`parse_u64`], for values that must fit 32 bits.
pub(crate) fn parse_u32(s: &str) -> Option<u32> {
    parse_u64(s).and_then(|v| u32::try_from(v).ok())
}
