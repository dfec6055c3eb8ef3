// SPDX-License-Identifier: GPL-2.0

//! The kernel's CRC helpers.

use super::bindings;

/// The kernel's `crc32c(crc, data, len)`: CRC32C continued from `crc`, with
/// no inversion (the architecture-optimised implementation where one exists).
pub(crate) fn crc32c(crc: u32, data: &[u8]) -> u32 {
    // SAFETY: `data` is valid for reads of `data.len()` bytes; crc32c() only
    // reads them.
    unsafe { bindings::crc32c(crc, data.as_ptr().cast(), data.len()) }
}
