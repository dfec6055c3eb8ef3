// SPDX-License-Identifier: GPL-2.0

//! The `pcache` tool's logic, as a library for its tests.

pub mod check;
pub mod format;
pub mod image;
pub mod load;
pub mod replay;
pub mod sparse;
