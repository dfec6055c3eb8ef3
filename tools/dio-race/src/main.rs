// SPDX-License-Identifier: GPL-2.0

//! `dio-race`: read ranges of a block device with `O_DIRECT` while a second
//! thread keeps overwriting the buffer being read into.
//!
//! Under `O_DIRECT` the device writes straight into the reader's memory, so
//! a cache that keeps what a read miss brought in must not take it from that
//! memory: by the time its fill copies the pages, another thread of the
//! reader may have rewritten them, and every later reader of the range would
//! be served those bytes. This tool is that other thread. What the buffer
//! holds after a racing read is the reader's own business (it raced itself);
//! what matters is what the device returns afterwards, which the selftest
//! reads back with a plain read and compares with the backing device.
//!
//! Usage: `dio-race <device> <offset> <length> <count> [<byte>]`
//! Reads `count` consecutive ranges of `length` bytes from `offset` (both
//! multiples of 4096), each while the scribbler writes `byte` (default 0xa5)
//! over the whole buffer in a loop. Prints `# ...` diagnostics and exits 0
//! once every read returned `length` bytes.

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::fs::OpenOptions;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::thread;

/// A page-aligned buffer, written by the kernel (the read) and the
/// scribbler at once: only ever touched through atomics and the syscall.
struct Buf {
    ptr: *mut AtomicU64,
    layout: Layout,
}

// SAFETY: the memory is only accessed through atomics (and by the kernel).
unsafe impl Sync for Buf {}

impl Buf {
    fn new(len: usize) -> Option<Self> {
        let layout = Layout::from_size_align(len, 4096).ok()?;
        // SAFETY: `len` is non-zero (checked by the caller).
        let ptr = unsafe { alloc_zeroed(layout) }.cast::<AtomicU64>();
        (!ptr.is_null()).then_some(Self { ptr, layout })
    }

    fn words(&self) -> &[AtomicU64] {
        // SAFETY: `layout.size()` bytes, 4096-aligned, zeroed: valid
        // `AtomicU64`s for the buffer's lifetime.
        unsafe { std::slice::from_raw_parts(self.ptr, self.layout.size() / 8) }
    }
}

impl Drop for Buf {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { dealloc(self.ptr.cast(), self.layout) };
    }
}

fn parse(s: &str) -> Option<u64> {
    match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let [dev, off, len, count, rest @ ..] = args else {
        return Err("usage: dio-race <device> <offset> <length> <count> [<byte>]".into());
    };
    let num = |s: &str| parse(s).ok_or_else(|| format!("not a number: {s}"));
    let (off, len, count) = (num(off)?, num(len)?, num(count)?);
    let byte = match rest {
        [] => 0xa5,
        [b] => u8::try_from(num(b)?).map_err(|_| "byte > 255".to_string())?,
        _ => return Err("too many arguments".into()),
    };
    if len == 0 || off % 4096 != 0 || len % 4096 != 0 {
        return Err("offset and length must be multiples of 4096, length > 0".into());
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECT)
        .open(dev)
        .map_err(|e| format!("{dev}: {e}"))?;
    let len = usize::try_from(len).map_err(|_| "length too large")?;
    let buf = Buf::new(len).ok_or("out of memory")?;
    let pattern = u64::from_ne_bytes([byte; 8]);
    let mut scribbles = 0u64;
    for i in 0..count {
        let at = off + i * len as u64;
        let stop = AtomicBool::new(false);
        let passes = AtomicU64::new(0);
        let (got, during) = thread::scope(|s| {
            let scribbler = s.spawn(|| {
                while !stop.load(Relaxed) {
                    for w in buf.words() {
                        w.store(pattern, Relaxed);
                    }
                    passes.fetch_add(1, Relaxed);
                }
            });
            // The read starts once the scribbler runs, so that it writes
            // while the read is in flight, not only before or after.
            while passes.load(Relaxed) == 0 {
                std::hint::spin_loop();
            }
            let before = passes.load(Relaxed);
            // SAFETY: the buffer is `len` bytes, 4096-aligned, live until
            // the scope ends; the kernel writes it, the scribbler only
            // through atomics.
            let got =
                unsafe { libc::pread(file.as_raw_fd(), buf.ptr.cast(), len, at as libc::off_t) };
            let during = passes.load(Relaxed) - before;
            stop.store(true, Relaxed);
            let _ = scribbler.join();
            (got, during)
        });
        if got != len as isize {
            return Err(format!(
                "read of {len} bytes at {at}: {}",
                if got < 0 {
                    std::io::Error::last_os_error().to_string()
                } else {
                    format!("short read ({got})")
                }
            ));
        }
        scribbles += during;
    }
    println!("# dio-race: {count} reads of {len} bytes from {off}, {scribbles} scribbler passes during them");
    if scribbles == 0 {
        return Err("the scribbler never ran while a read was in flight: no race was tried".into());
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dio-race: {e}");
            ExitCode::FAILURE
        }
    }
}
