// SPDX-License-Identifier: GPL-2.0

//! Userspace build of dm-inlinecrypt's pure logic, for `cargo test`. The
//! kernel module includes the very same `table.rs`, `args.rs` and `keybuf.rs`.

#![cfg_attr(not(test), no_std)]
// The kernel module uses all of it; this crate only exists for the tests.
#![allow(dead_code)]

#[path = "../rust/rdm/args.rs"]
mod args;
#[path = "../rust/rdm/keybuf.rs"]
mod keybuf;
mod table;

#[cfg(test)]
mod table_tests;
