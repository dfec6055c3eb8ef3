// SPDX-License-Identifier: GPL-2.0

//! Reading key material from the kernel keyring.

use super::bindings;
use kernel::error::to_result;
use kernel::prelude::*;

/// Copies the payload of the `logon` key named `desc` into `out`; the
/// payload must be exactly `out.len()` bytes.
pub(crate) fn read_logon_key(desc: &CStr, out: &mut [u8]) -> Result {
    let len = u32::try_from(out.len()).map_err(|_| EINVAL)?;
    // SAFETY: `desc` is NUL-terminated; `out` is writable for `len` bytes.
    to_result(unsafe { bindings::rdm_read_logon_key(desc.as_char_ptr(), out.as_mut_ptr(), len) })
}
