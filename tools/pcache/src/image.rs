// SPDX-License-Identifier: GPL-2.0

//! A cache device or an image file, read (and for `format`, written) at
//! byte offsets.

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::Path;

pub struct Image {
    file: File,
    size: u64,
}

impl Image {
    pub fn open(path: &Path, write: bool) -> io::Result<Self> {
        let mut file = OpenOptions::new().read(true).write(write).open(path)?;
        // Works for block devices too, where metadata().len() is 0.
        let size = file.seek(SeekFrom::End(0))?;
        Ok(Self { file, size })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn read_at(&self, off: u64, buf: &mut [u8]) -> io::Result<()> {
        let end = off.checked_add(buf.len() as u64);
        if end.is_none_or(|end| end > self.size) {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "read of {} bytes at {off} past the end ({})",
                    buf.len(),
                    self.size
                ),
            ));
        }
        self.file.read_exact_at(buf, off)
    }

    pub fn read_vec(&self, off: u64, len: usize) -> io::Result<Vec<u8>> {
        let mut buf = vec![0; len];
        self.read_at(off, &mut buf)?;
        Ok(buf)
    }

    pub fn write_at(&self, off: u64, buf: &[u8]) -> io::Result<()> {
        self.file.write_all_at(buf, off)
    }

    pub fn sync(&self) -> io::Result<()> {
        self.file.sync_all()
    }
}
