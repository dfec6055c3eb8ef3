// SPDX-License-Identifier: GPL-2.0

//! Packed sparse images (`.pcs.gz`): a cache device is mostly zeros, so
//! golden images and bug reports keep only its non-zero 4 KiB blocks.
//!
//! Format, gzip-compressed: `PCSPARS1`, the image size (u64 LE), then
//! records of offset (u64 LE), length (u32 LE) and data, ended by an offset
//! of `u64::MAX`.

use crate::image::Image;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;

const MAGIC: &[u8; 8] = b"PCSPARS1";
const BLOCK: usize = 4096;
const CHUNK: usize = 1 << 20;

/// Packs `img` into `out`; returns the number of non-zero bytes kept.
pub fn pack(img: &Image, out: &Path) -> io::Result<u64> {
    let mut w = GzEncoder::new(BufWriter::new(File::create(out)?), Compression::best());
    w.write_all(MAGIC)?;
    w.write_all(&img.size().to_le_bytes())?;
    let mut kept = 0u64;
    let mut buf = vec![0u8; CHUNK];
    let mut off = 0u64;
    while off < img.size() {
        let n = CHUNK.min((img.size() - off) as usize);
        img.read_at(off, &mut buf[..n])?;
        // Runs of non-zero blocks become one record.
        let mut i = 0;
        while i < n {
            let end = (i + BLOCK).min(n);
            if buf[i..end].iter().all(|&b| b == 0) {
                i = end;
                continue;
            }
            let start = i;
            while i < n && buf[i..(i + BLOCK).min(n)].iter().any(|&b| b != 0) {
                i = (i + BLOCK).min(n);
            }
            w.write_all(&(off + start as u64).to_le_bytes())?;
            w.write_all(&((i - start) as u32).to_le_bytes())?;
            w.write_all(&buf[start..i])?;
            kept += (i - start) as u64;
        }
        off += n as u64;
    }
    w.write_all(&u64::MAX.to_le_bytes())?;
    w.finish()?.flush()?;
    Ok(kept)
}

/// Unpacks `packed` into a new sparse file at `out`.
pub fn unpack(packed: &Path, out: &Path) -> io::Result<()> {
    let mut r = BufReader::new(GzDecoder::new(File::open(packed)?));
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic)?;
    if &magic != MAGIC {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a packed pcache image",
        ));
    }
    let size = read_u64(&mut r)?;
    let f = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .read(true)
        .open(out)?;
    f.set_len(size)?;
    let img = Image::open(out, true)?;
    loop {
        let off = read_u64(&mut r)?;
        if off == u64::MAX {
            break;
        }
        let mut len = [0u8; 4];
        r.read_exact(&mut len)?;
        let len = u32::from_le_bytes(len) as u64;
        if off.checked_add(len).is_none_or(|end| end > size) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "record past the image end",
            ));
        }
        let mut data = vec![0u8; len as usize];
        r.read_exact(&mut data)?;
        img.write_at(off, &data)?;
    }
    Ok(())
}

fn read_u64(r: &mut impl Read) -> io::Result<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}
