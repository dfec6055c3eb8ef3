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
        self.buf.get(..self.len).unwrap_or(&[])
    }
}

impl fmt::Write for StatusWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // Byte by byte into what is left, keeping the last byte for the NUL;
        // no arithmetic or indexing that could panic.
        let room = self.buf.len().saturating_sub(1);
        for (dst, src) in self.buf.iter_mut().take(room).skip(self.len).zip(s.bytes()) {
            *dst = src;
            self.len = self.len.saturating_add(1);
        }
        if let Some(nul) = self.buf.get_mut(self.len) {
            *nul = 0;
        }
        // Like scnprintf(), truncation is not an error: dm core sees the
        // full buffer and asks again with a larger one.
        Ok(())
    }
}
