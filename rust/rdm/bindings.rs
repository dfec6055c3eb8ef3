// SPDX-License-Identifier: GPL-2.0

//! bindgen output for `bindings_helper.h`, generated at build time with the
//! kernel's own bindgen flags (see `rdm.mk`).

#![allow(
    clippy::all,
    clippy::pedantic,
    clippy::undocumented_unsafe_blocks,
    dead_code,
    missing_docs,
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    improper_ctypes,
    unreachable_pub,
    unnecessary_transmutes,
    unsafe_op_in_unsafe_fn
)]

// Blocklisted by the kernel's bindgen parameters, mapped by hand as the
// kernel's bindings crate does.
type __kernel_size_t = usize;
type __kernel_ssize_t = isize;
type __kernel_ptrdiff_t = isize;

include!(env!("RDM_BINDINGS"));
