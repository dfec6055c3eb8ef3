// SPDX-License-Identifier: GPL-2.0

//! `KeyBuf`: a fixed buffer for key material that is wiped when dropped,
//! and `KeyType`, how blk-crypto is to understand it.
//!
//! Pure `core` code: it is also compiled into the userspace test crates.

use core::sync::atomic::{compiler_fence, Ordering};

/// The largest key blk-crypto takes, raw or hardware-wrapped
/// (`BLK_CRYPTO_MAX_ANY_KEY_SIZE`).
pub(crate) const MAX_KEY_SIZE: usize = 128;

/// How the key bytes are to be understood (`enum blk_crypto_key_type`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum KeyType {
    Raw,
    HwWrapped,
}

/// Key bytes on the stack, wiped on drop like `memzero_explicit()`.
///
/// Made empty and filled in place (`fill` hands out the bytes to write):
/// every move of a filled buffer would leave an unwiped copy on the stack,
/// so the API gives no reason to move one: there is no constructor that
/// takes key bytes, and its users take `&mut KeyBuf`. (Moves are not
/// prevented by the type; callers keep the buffer in one place.)
///
/// # Invariants
///
/// `len <= MAX_KEY_SIZE`.
pub(crate) struct KeyBuf {
    buf: [u8; MAX_KEY_SIZE],
    len: usize,
}

impl KeyBuf {
    /// An empty buffer (no key material yet, so moving it is harmless).
    pub(crate) const fn new() -> Self {
        // INVARIANT: 0 <= MAX_KEY_SIZE.
        Self {
            buf: [0; MAX_KEY_SIZE],
            len: 0,
        }
    }

    /// Makes the key `len` zeroed bytes long and returns them to be filled
    /// in place, or `None` if `len` is too large.
    pub(crate) fn fill(&mut self, len: usize) -> Option<&mut [u8]> {
        if len > MAX_KEY_SIZE {
            return None;
        }
        self.wipe();
        // INVARIANT: checked above.
        self.len = len;
        Some(self.as_mut_slice())
    }

    // `get` rather than indexing: `len` is in bounds by the type invariant,
    // and this way no panic path is compiled into the module.
    pub(crate) fn as_slice(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [u8] {
        self.buf.get_mut(..self.len).unwrap_or(&mut [])
    }
}

impl KeyBuf {
    fn wipe(&mut self) {
        for b in self.buf.iter_mut() {
            // SAFETY: `b` is a valid, aligned `&mut u8`. The volatile write
            // keeps the compiler from dropping the wipe of a dead buffer.
            unsafe { core::ptr::write_volatile(b, 0) };
        }
        compiler_fence(Ordering::SeqCst);
    }
}

impl Default for KeyBuf {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for KeyBuf {
    fn drop(&mut self) {
        self.wipe();
    }
}
