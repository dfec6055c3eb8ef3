// SPDX-License-Identifier: GPL-2.0

//! `rdm_defects`: commits, on load, the defect its parameters ask for, so
//! that `make check` can prove every detector of the debug test kernel fires
//! and that the VM runner fails the run naming the detector and the test
//! (selftests/detectors, scripts/check-detectors.sh). With no parameter set
//! it loads and does nothing: the control case that must pass.
//!
//! A test fixture, never part of a release: the top-level Kbuild builds it
//! only with `RDM_TEST_ONLY=m`, which only the test scripts pass. Each defect
//! is one that target code could commit; all but the use-after-free are
//! written in safe Rust, because the detectors must catch what safe code can
//! still do wrong (leak, deadlock, sleep under a spinlock, overflow).

use core::hint::black_box;
use kernel::prelude::*;
use kernel::sync::{new_mutex, new_spinlock};

module! {
    type: RdmDefects,
    name: "rdm_defects",
    authors: ["The rust-dm authors"],
    description: "commits the defect it is asked for, to prove the debug kernel's detectors (tests only)",
    license: "GPL",
    params: {
        leak: u8 {
            default: 0,
            description: "1: leak a 512-byte allocation (kmemleak)",
        },
        use_after_free: u8 {
            default: 0,
            description: "1: read an allocation after freeing it (KASAN)",
        },
        lock_inversion: u8 {
            default: 0,
            description: "1: take two mutexes in both orders (lockdep)",
        },
        sleep_in_atomic: u8 {
            default: 0,
            description: "1: take a mutex while holding a spinlock (DEBUG_ATOMIC_SLEEP)",
        },
        overflow: u8 {
            default: 0,
            description: "1: overflow a u8 in safe Rust (RUST_OVERFLOW_CHECKS: a Rust panic)",
        },
    },
}

struct RdmDefects;

/// Allocates and forgets 512 bytes: no pointer to them survives the call.
fn leak_memory() -> Result {
    let buf = KBox::new([0xa5u8; 512], GFP_KERNEL)?;
    core::mem::forget(buf);
    Ok(())
}

/// Frees an allocation, then reads it.
fn read_after_free() -> Result {
    let ptr = KBox::into_raw(KBox::new([0x5au8; 64], GFP_KERNEL)?);
    // SAFETY: `ptr` comes from `KBox::into_raw` above and is not used as a
    // box again: ownership goes back to a box that frees it here.
    drop(unsafe { KBox::from_raw(ptr) });
    // SAFETY: this block is deliberately unsound: `ptr` was freed just above.
    // The fixture exists to make this read, which KASAN must report as a
    // slab-use-after-free; it is never built outside the test scripts.
    let byte = unsafe { core::ptr::read_volatile(ptr.cast::<u8>()) };
    pr_info!("read {byte:#x} after free\n");
    Ok(())
}

/// Takes mutex A then B, releases both, then B then A: a possible deadlock
/// lockdep reports although this single thread never blocks.
fn invert_lock_order() -> Result {
    let a = KBox::pin_init(new_mutex!(0u32, "rdm_defects_a"), GFP_KERNEL)?;
    let b = KBox::pin_init(new_mutex!(0u32, "rdm_defects_b"), GFP_KERNEL)?;
    {
        let _a = a.lock();
        let _b = b.lock();
    }
    {
        let _b = b.lock();
        let _a = a.lock();
    }
    Ok(())
}

/// Takes a mutex (which may sleep) while a spinlock is held.
fn sleep_in_atomic_context() -> Result {
    let spin = KBox::pin_init(new_spinlock!(0u32, "rdm_defects_spin"), GFP_KERNEL)?;
    let mutex = KBox::pin_init(new_mutex!(0u32, "rdm_defects_mutex"), GFP_KERNEL)?;
    let _spin = spin.lock();
    let _mutex = mutex.lock();
    Ok(())
}

/// Adds 1 to `u8::MAX` in safe code: a panic with overflow checks on.
fn overflow_u8() {
    let x: u8 = black_box(u8::MAX);
    let y = x + 1;
    pr_info!("{x} + 1 = {y}\n");
}

impl kernel::Module for RdmDefects {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        if *module_parameters::leak.value() != 0 {
            leak_memory()?;
        }
        if *module_parameters::use_after_free.value() != 0 {
            read_after_free()?;
        }
        if *module_parameters::lock_inversion.value() != 0 {
            invert_lock_order()?;
        }
        if *module_parameters::sleep_in_atomic.value() != 0 {
            sleep_in_atomic_context()?;
        }
        if *module_parameters::overflow.value() != 0 {
            overflow_u8();
        }
        Ok(Self)
    }
}
