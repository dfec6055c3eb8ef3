// SPDX-License-Identifier: GPL-2.0

//! rdm: the safe device-mapper layer shared by the suite's targets.
//!
//! Every target module includes this directory as a module of its own crate
//! (`#[path = "../rust/rdm/mod.rs"] mod rdm;`): Kbuild builds one crate per
//! module, and Rust-for-Linux has no way to share an rlib between out-of-tree
//! modules. All `unsafe` code and every FFI call of the suite lives here; the
//! targets are safe Rust. See Documentation/rdm.rst.

// Each module compiles the whole layer into itself and uses a different
// part of it. Only the layer is exempt: a target's own code is linted.
#![allow(dead_code, reason = "each target uses a different part of the layer")]

pub(crate) mod args;
pub(crate) mod bindings;
pub(crate) mod bio;
pub(crate) mod clone;
pub(crate) mod crc;
pub(crate) mod crypto;
pub(crate) mod dax;
pub(crate) mod delayed;
pub(crate) mod dev;
pub(crate) mod io;
pub(crate) mod keybuf;
pub(crate) mod keyring;
pub(crate) mod noio;
pub(crate) mod registration;
pub(crate) mod status;
pub(crate) mod target;
pub(crate) mod workqueue;

// What targets name most, at the layer's root.
#[allow(
    unused_imports,
    reason = "each target uses a different part of the layer"
)]
pub(crate) use self::{
    bio::{
        Bio, BioData, BioList, BioPart, BioSet, BlkStatus, ChainedBio, DeferredBio, EndingBio,
        Mapped, Op,
    },
    clone::{CloneData, CloneEnd, ClonePool, Recovery, BOUNCE_MAX_BYTES},
    dax::{PmemDev, PmemWrites, PMEM_SRC_MAX_BYTES},
    delayed::DelayedWork,
    dev::{DevClaim, DmDev},
    io::{IoBuf, IoOp, IoPool, SyncIo, IO_MAX_BYTES},
    noio::noio,
    registration::Registration,
    status::{StatusType, StatusWriter},
    target::{
        ready, CtrError, DevIter, EndIo, Features, IoInfo, QueueLimits, Target, TargetCtx,
        TargetInfo,
    },
};

/// A 512-byte sector number or count, as `sector_t`.
pub(crate) type Sector = u64;

/// `SECTOR_SHIFT`: log2 of the 512-byte sector the block layer counts in.
pub(crate) const SECTOR_SHIFT: u32 = 9;
