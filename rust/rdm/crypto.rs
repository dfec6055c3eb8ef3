// SPDX-License-Identifier: GPL-2.0

//! blk-crypto keys and their use on a device.

use super::keybuf::KeyType;
use super::{bindings, DmDev};
use kernel::error::to_result;
use kernel::prelude::*;
use kernel::types::Opaque;

/// The largest key blk-crypto takes, raw or hardware-wrapped.
pub(crate) const MAX_ANY_KEY_SIZE: usize = bindings::BLK_CRYPTO_MAX_ANY_KEY_SIZE;

/// An encryption mode of blk-crypto.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Mode {
    Aes256Xts,
}

/// An initialised `struct blk_crypto_key`, at a stable address (bios in
/// flight point at it), wiped when dropped.
///
/// # Invariants
///
/// `inner` was initialised by a successful `blk_crypto_init_key()`.
pub(crate) struct BlkCryptoKey {
    inner: Pin<KBox<Opaque<bindings::blk_crypto_key>>>,
}

// SAFETY: the key is not modified after initialisation; blk-crypto reads it
// from any CPU.
unsafe impl Send for BlkCryptoKey {}
// SAFETY: as above: shared access only reads.
unsafe impl Sync for BlkCryptoKey {}

impl BlkCryptoKey {
    pub(crate) fn new(
        bytes: &[u8],
        key_type: KeyType,
        mode: Mode,
        dun_bytes: u32,
        data_unit_size: u32,
    ) -> Result<Self> {
        let inner = KBox::pin(Opaque::<bindings::blk_crypto_key>::uninit(), GFP_KERNEL)?;
        let key_type = match key_type {
            KeyType::Raw => bindings::blk_crypto_key_type_BLK_CRYPTO_KEY_TYPE_RAW,
            KeyType::HwWrapped => bindings::blk_crypto_key_type_BLK_CRYPTO_KEY_TYPE_HW_WRAPPED,
        };
        let mode = match mode {
            Mode::Aes256Xts => bindings::blk_crypto_mode_num_BLK_ENCRYPTION_MODE_AES_256_XTS,
        };
        // SAFETY: `inner` is writable memory for a `blk_crypto_key`, which
        // blk_crypto_init_key() fully initialises (it memsets it first);
        // `bytes` is valid for `bytes.len()` bytes.
        to_result(unsafe {
            bindings::blk_crypto_init_key(
                inner.get(),
                bytes.as_ptr(),
                bytes.len(),
                key_type,
                mode,
                dun_bytes,
                data_unit_size,
            )
        })?;
        // INVARIANT: blk_crypto_init_key() succeeded.
        Ok(Self { inner })
    }

    pub(super) fn as_raw(&self) -> *const bindings::blk_crypto_key {
        self.inner.get()
    }

    /// The key bytes: what a table line that must reload prints.
    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: by the type invariant the key is initialised, and it is not
        // modified while shared.
        let key = unsafe { &*self.inner.get() };
        key.bytes.get(..key.size as usize).unwrap_or(&key.bytes)
    }
}

impl Drop for BlkCryptoKey {
    fn drop(&mut self) {
        // SAFETY: the key is ours. Bios only use a key through the
        // `KeyedDev` it was started on, borrowed for the target's lifetime
        // (`Bio::submit_encrypted_with`), so none is in flight; a key never
        // started on a device was never used by one. Wiping it keeps key
        // material out of freed memory, like kfree_sensitive().
        unsafe {
            bindings::rdm_memzero_explicit(
                self.inner.get().cast(),
                core::mem::size_of::<bindings::blk_crypto_key>(),
            )
        };
    }
}

/// A device on which a key has been prepared with
/// `blk_crypto_start_using_key()`; the key is evicted from the device's
/// keyslots (or the fallback's) when this is dropped. The only way to
/// encrypt a bio is through one ([`super::Bio::submit_encrypted_with`]),
/// which also sends the bio to this device: a key is only ever used on the
/// device it was started on.
///
/// # Invariants
///
/// `key` was started on `dev` and is evicted from it only by `drop`.
pub(crate) struct KeyedDev {
    key: BlkCryptoKey,
    dev: DmDev,
}

impl KeyedDev {
    pub(crate) fn new(dev: DmDev, key: BlkCryptoKey) -> Result<Self> {
        // SAFETY: `dev` holds its block device and `key` is initialised.
        to_result(unsafe { bindings::blk_crypto_start_using_key(dev.bdev(), key.as_raw()) })?;
        // INVARIANT: started above.
        Ok(Self { key, dev })
    }

    pub(crate) fn dev(&self) -> &DmDev {
        &self.dev
    }

    pub(crate) fn key(&self) -> &BlkCryptoKey {
        &self.key
    }
}

impl Drop for KeyedDev {
    fn drop(&mut self) {
        // SAFETY: the device is held (its handle drops after this), the key
        // was started on it, and no bio uses it any more: bios borrow a
        // `KeyedDev` for the target's lifetime, and all of them complete
        // before the target is destroyed. Evicting before the device is put
        // matches upstream.
        unsafe { bindings::blk_crypto_evict_key(self.dev.bdev(), self.key.as_raw()) };
    }
}
