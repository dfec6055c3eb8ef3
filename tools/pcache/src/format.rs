// SPDX-License-Identifier: GPL-2.0

//! `pcache format`: writes a new cache into an image or device with the
//! shared crate's `write_new_cache()` (the records and slots the 7.2 kernel
//! writes on its first open of a zeroed device; the Rust target formats with
//! the same function).

use crate::image::Image;
use pcache_format::format::write_new_cache;
pub use pcache_format::format::Options;
use pcache_format::{Superblock, CACHE_DEV_SIZE_MIN, SB_OFF};
use std::io;
use zerocopy::IntoBytes;

/// Formats `img`, which must not hold a pcache superblock; `progress` is
/// told about each segment. Returns the number of segments.
pub fn format(img: &Image, opts: &Options, progress: impl FnMut(u32, u32)) -> io::Result<u32> {
    let size = img.size();
    if size < CACHE_DEV_SIZE_MIN {
        return Err(io::Error::other(format!(
            "{size} bytes: a cache device needs at least {CACHE_DEV_SIZE_MIN}"
        )));
    }
    let mut old = Superblock::default();
    img.read_at(SB_OFF, old.as_mut_bytes())?;
    if old.magic.get() != 0 {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "already formatted (superblock magic is set)",
        ));
    }
    let n = write_new_cache(
        &old,
        size,
        *opts,
        |off, bytes| img.write_at(off, bytes),
        progress,
    )?;
    img.sync()?;
    Ok(n)
}
