// SPDX-License-Identifier: GPL-2.0

//! dm-inlinecrypt in Rust: a device-mapper target that encrypts through
//! blk-crypto, using the device's inline-encryption keyslots or, where it has
//! none, blk-crypto-fallback. A drop-in for the upstream C target of Linux 7.2
//! (same name, table and on-disk result); see
//! Documentation/dm-inlinecrypt.rst for where it differs.

// Target code is safe Rust: `unsafe` and FFI live in the rdm layer only.
#![deny(unsafe_code)]

use core::fmt::Write;
use kernel::prelude::*;
use kernel::str::CString;

#[path = "../rust/rdm/mod.rs"]
#[expect(
    unsafe_code,
    reason = "the rdm layer holds all of the crate's unsafe code"
)]
mod rdm;
mod table;

use rdm::crypto::{self, BlkCryptoKey, KeyedDev};
use rdm::keybuf::KeyBuf;
use rdm::{
    Bio, CtrError, DevIter, DmDev, IoInfo, Mapped, QueueLimits, Registration, StatusType,
    StatusWriter, Target, TargetCtx, TargetInfo,
};
// `table` is shared with the userspace tests, where these are crate modules.
use rdm::{args, keybuf};
use table::{DunMap, KeyDisplay, KeySpec, KeyType, TableLine};

module! {
    type: InlineCryptModule,
    name: "dm_inlinecrypt_rs",
    authors: ["The rust-dm authors"],
    description: "device-mapper target for inline encryption (Rust)",
    license: "GPL",
}

const _: () = assert!(keybuf::MAX_KEY_SIZE == crypto::MAX_ANY_KEY_SIZE);

struct InlineCryptModule {
    _target: Registration<InlineCrypt>,
}

impl kernel::Module for InlineCryptModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        Ok(Self {
            _target: Registration::new(module)?,
        })
    }
}

/// One inlinecrypt target.
struct InlineCrypt {
    /// The underlying device with the key in use on it.
    dev: KeyedDev,
    /// Where the target starts on `dev`.
    start: u64,
    dun: DunMap,
    iv_offset: u64,
    sector_size: u32,
    key_type: KeyType,
    allow_discards: bool,
    /// The `:<size>:logon:<desc>` argument of a keyring key, for status.
    keyring_ref: Option<CString>,
}

impl InlineCrypt {
    /// Reads a keyring key into `key`, in place.
    fn load_logon_key(
        key: &mut KeyBuf,
        size: usize,
        desc: &str,
        key_type: KeyType,
    ) -> Result<(), CtrError> {
        let bytes = key.fill(size).ok_or(c"Invalid key size")?;
        let desc = CString::try_from_fmt(fmt!("{desc}")).map_err(|err| CtrError {
            msg: c"Out of memory",
            err,
        })?;
        rdm::keyring::read_logon_key(&desc, bytes).map_err(|err| CtrError {
            msg: c"Cannot read logon key of that size",
            err,
        })?;
        if key_type == KeyType::Raw {
            table::check_raw_key(key.as_slice())?;
        }
        Ok(())
    }
}

#[vtable]
impl Target for InlineCrypt {
    const NAME: &'static CStr = c"inlinecrypt";
    const VERSION: [u32; 3] = [1, 0, 0];

    type PerIo = ();

    fn ctr(
        ti: &mut TargetCtx<'_, Self>,
        args: &[&str],
    ) -> Result<impl PinInit<Self, CtrError>, CtrError> {
        // The key is decoded or read into this buffer in place and wiped
        // when ctr returns; blk-crypto keeps its own copy.
        let mut key = KeyBuf::new();
        let t = table::parse(args, ti.info().len(), &mut key)?;
        let keyring_ref = match t.key {
            KeySpec::Hex => None,
            KeySpec::Logon { .. } => Some(CString::try_from_fmt(fmt!("{}", t.key_arg)).map_err(
                |e| CtrError {
                    msg: c"Out of memory",
                    err: e,
                },
            )?),
        };

        if let KeySpec::Logon { size, desc } = t.key {
            Self::load_logon_key(&mut key, size, desc, t.key_type)?;
        }

        let dev = ti.get_device(t.dev_path).map_err(|err| CtrError {
            msg: c"Device lookup failed",
            err,
        })?;
        let key = BlkCryptoKey::new(
            key.as_slice(),
            t.key_type,
            crypto::Mode::Aes256Xts,
            t.dun.dun_bytes(),
            t.sector_size,
        )
        .map_err(|err| CtrError {
            msg: c"Error initializing blk-crypto key",
            err,
        })?;
        let dev = KeyedDev::new(dev, key).map_err(|err| CtrError {
            msg: c"Error starting to use blk-crypto",
            err,
        })?;

        ti.set_num_flush_bios(1);
        if t.allow_discards {
            ti.set_num_discard_bios(1);
        }
        Ok(rdm::ready(Self {
            dev,
            start: t.start,
            dun: t.dun,
            iv_offset: t.iv_offset,
            sector_size: t.sector_size,
            key_type: t.key_type,
            allow_discards: t.allow_discards,
            keyring_ref,
        }))
    }

    fn map<'a>(&'a self, ti: &IoInfo<'a>, mut bio: Bio<'a>) -> Mapped<'a> {
        bio.set_dev(self.dev.dev());
        // Device-level requests (empty flushes) target no sector.
        if bio.sectors() == 0 {
            return bio.remap();
        }
        let offset = ti.offset(bio.sector());
        // In range: dm core checked start + len against the device.
        bio.set_sector(self.start.wrapping_add(offset));
        // Discards carry no data to encrypt.
        if !bio.has_data() {
            return bio.remap();
        }
        match self.dun.dun(offset) {
            Some(dun) => bio.submit_encrypted(&self.dev, dun),
            // Not aligned to a data unit: dm core split it at the logical
            // block size we set, so only a bug gets here.
            None => bio.kill(),
        }
    }

    fn status(&self, _ti: &TargetInfo<'_>, ty: StatusType, out: &mut StatusWriter<'_>) {
        if ty != StatusType::Table {
            return;
        }
        let key_bytes = self.dev.key().bytes();
        let key = match &self.keyring_ref {
            Some(r) => KeyDisplay::Keyring(r.to_str().unwrap_or("")),
            None => KeyDisplay::Hex(key_bytes),
        };
        let line = TableLine {
            key,
            iv_offset: self.iv_offset,
            dev: self.dev.dev().name(),
            start: self.start,
            key_type: self.key_type,
            allow_discards: self.allow_discards,
            sector_size: self.sector_size,
        };
        // Truncation is reported to dm core through the full buffer.
        let _ = write!(out, "{line}");
    }

    fn io_hints(&self, _ti: &TargetInfo<'_>, limits: &mut QueueLimits<'_>) {
        let size = self.sector_size;
        limits.set_logical_block_size(limits.logical_block_size().max(size));
        limits.set_physical_block_size(limits.physical_block_size().max(size));
        limits.set_io_min(limits.io_min().max(size));
        limits.set_dma_alignment(limits.logical_block_size().saturating_sub(1));
    }

    fn iterate_devices(&self, ti: &TargetInfo<'_>, it: &mut DevIter<'_>) -> i32 {
        it.visit(self.dev.dev(), self.start, ti.len())
    }

    fn prepare_ioctl<'a>(&'a self, ti: &TargetInfo<'a>) -> (&'a DmDev, bool) {
        let dev = self.dev.dev();
        (dev, self.start == 0 && ti.len() == dev.nr_sectors())
    }
}
