// SPDX-License-Identifier: GPL-2.0

//! Writing a target's status or message result into dm core's buffer.

use core::fmt;

/// Which status dm core asks for (`status_type_t`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum StatusType {
    /// `dmsetup status`: runtime state.
    Info,
    /// `dmsetup table`: the table line, which must reload unchanged.
    Table,
    /// The IMA measurement record.
    Ima,
}

/// A `fmt::Write` sink over dm core's `result` buffer, with the semantics of
/// `DMEMIT()`: output that does not fit is cut, and the buffer always stays
/// NUL-terminated. dm core notices a full buffer and retries with a larger one.
///
/// # Invariants
///
/// `len < buf.len()` whenever `buf` is not empty, and `buf[len] == 0`.
pub(crate) struct StatusWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> StatusWriter<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        if let Some(first) = buf.first_mut() {
            *first = 0;
        }
        // INVARIANT: `len` is 0 and `buf[0]` is NUL (or `buf` is empty).
        Self { buf, len: 0 }
    }

    /// What has been written so far.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl fmt::Write for StatusWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.buf.len().saturating_sub(self.len + 1);
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        if let Some(nul) = self.buf.get_mut(self.len) {
            *nul = 0;
        }
        // Like scnprintf(), truncation is not an error: dm core sees the
        // full buffer and asks again with a larger one.
        Ok(())
    }
}
