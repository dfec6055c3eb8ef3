// SPDX-License-Identifier: GPL-2.0

//! `dm-failnth`: load a device-mapper table with every kernel allocation of
//! the load failed in turn, then load it for real and resume the device.
//!
//! The kernel's fail-nth (`/proc/thread-self/fail-nth`, with FAILSLAB and
//! `ignore-gfp-wait` off) makes the N-th fault-injection site the calling
//! task reaches fail. Writing N right before the `DM_TABLE_LOAD` ioctl puts
//! every allocation of the target's constructor (and of dm core around it)
//! in reach, which `dmsetup` cannot do: its own exec and setup would eat the
//! count. After each ioctl the counter tells whether the fault was injected
//! (it reads 0) or the whole load ran without reaching the N-th site (still
//! non-zero): the first such N is the load that must succeed.
//!
//! Each injected failure must fail the load cleanly (an error, no oops, no
//! leak: the VM runner and kmemleak judge that) or be tolerated (the load
//! succeeds anyway: the table is then cleared and the loop goes on).
//!
//! Usage: `dm-failnth <name> <sectors> <target> <params> [max_n]`
//! Creates `<name>`, runs the loop, resumes the device and leaves it for the
//! caller to do I/O on and remove. Prints `# ...` diagnostics and ends with
//! `result: <failed> failed cleanly, <tolerated> tolerated, load <n> succeeded`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::process::ExitCode;

/// `struct dm_ioctl` of include/uapi/linux/dm-ioctl.h.
#[repr(C)]
#[derive(Clone, Copy)]
struct DmIoctl {
    version: [u32; 3],
    data_size: u32,
    data_start: u32,
    target_count: u32,
    open_count: i32,
    flags: u32,
    event_nr: u32,
    padding: u32,
    dev: u64,
    name: [u8; 128],
    uuid: [u8; 129],
    data: [u8; 7],
}

/// `struct dm_target_spec`; the parameter string follows it.
#[repr(C)]
#[derive(Clone, Copy)]
struct DmTargetSpec {
    sector_start: u64,
    length: u64,
    status: i32,
    next: u32,
    target_type: [u8; 16],
}

const _: () = assert!(size_of::<DmIoctl>() == 312);
const _: () = assert!(size_of::<DmTargetSpec>() == 40);

const DM_DEV_CREATE: u8 = 3;
const DM_DEV_REMOVE: u8 = 4;
const DM_DEV_SUSPEND: u8 = 6;
const DM_TABLE_LOAD: u8 = 9;
const DM_TABLE_CLEAR: u8 = 10;

/// `_IOWR(DM_IOCTL, nr, struct dm_ioctl)`.
const fn dm_ioctl_nr(nr: u8) -> libc::c_ulong {
    (3 << 30) | ((size_of::<DmIoctl>() as libc::c_ulong) << 16) | (0xfd << 8) | nr as libc::c_ulong
}

fn header(name: &str) -> Result<DmIoctl, String> {
    let mut io = DmIoctl {
        // Interface 4.0.0: any 4.x kernel accepts it.
        version: [4, 0, 0],
        // Set by `Buffer::new`.
        data_size: 0,
        data_start: size_of::<DmIoctl>() as u32,
        target_count: 0,
        open_count: 0,
        flags: 0,
        event_nr: 0,
        padding: 0,
        dev: 0,
        name: [0; 128],
        uuid: [0; 129],
        data: [0; 7],
    };
    if name.is_empty() || name.len() >= io.name.len() {
        return Err(format!("bad device name {name:?}"));
    }
    io.name[..name.len()].copy_from_slice(name.as_bytes());
    Ok(io)
}

/// An ioctl buffer: the header, then (for a table load) one target spec and
/// its NUL-terminated parameters, 8-byte aligned as dm core expects.
struct Buffer(Vec<u64>);

impl Buffer {
    fn new(mut io: DmIoctl, spec: Option<(DmTargetSpec, &[u8])>) -> Self {
        let payload = spec.map_or(0, |(_, params)| {
            size_of::<DmTargetSpec>() + params.len() + 1
        });
        let words = (size_of::<DmIoctl>() + payload).div_ceil(8);
        // data_size covers the whole (padded) buffer.
        io.data_size = (words * 8) as u32;
        let mut buf = vec![0u64; words];
        let dst = buf.as_mut_ptr().cast::<u8>();
        // SAFETY: `DmIoctl` and `DmTargetSpec` are `repr(C)` plain data with
        // no padding bytes (their sizes are checked above), and `buf` holds
        // `words * 8` bytes: room for the header, the spec and the
        // NUL-terminated parameters (the NUL is already there: zeroed).
        unsafe {
            std::ptr::copy_nonoverlapping((&raw const io).cast::<u8>(), dst, size_of::<DmIoctl>());
            if let Some((spec, params)) = spec {
                let dst = dst.add(size_of::<DmIoctl>());
                std::ptr::copy_nonoverlapping(
                    (&raw const spec).cast::<u8>(),
                    dst,
                    size_of::<DmTargetSpec>(),
                );
                let dst = dst.add(size_of::<DmTargetSpec>());
                std::ptr::copy_nonoverlapping(params.as_ptr(), dst, params.len());
            }
        }
        Self(buf)
    }
}

struct Control(File);

impl Control {
    fn open() -> Result<Self, String> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/mapper/control")
            .map(Self)
            .map_err(|e| format!("/dev/mapper/control: {e}"))
    }

    /// Runs one dm ioctl; `Err(errno)` when the kernel refused it.
    fn ioctl(&self, nr: u8, buf: &mut Buffer) -> Result<(), i32> {
        // SAFETY: `buf` starts with a `struct dm_ioctl` whose `data_size` is
        // the buffer's length, which is what the kernel reads and writes.
        let rc = unsafe { libc::ioctl(self.0.as_raw_fd(), dm_ioctl_nr(nr), buf.0.as_mut_ptr()) };
        if rc < 0 {
            Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
        } else {
            Ok(())
        }
    }

    fn simple(&self, nr: u8, name: &str) -> Result<(), String> {
        let mut buf = Buffer::new(header(name)?, None);
        self.ioctl(nr, &mut buf)
            .map_err(|e| format!("ioctl {nr} on {name}: {}", errno_name(e)))
    }
}

fn errno_name(e: i32) -> String {
    match e {
        libc::ENOMEM => "ENOMEM".into(),
        libc::EINVAL => "EINVAL".into(),
        libc::ENXIO => "ENXIO".into(),
        libc::EBUSY => "EBUSY".into(),
        libc::ENODEV => "ENODEV".into(),
        libc::ENOENT => "ENOENT".into(),
        libc::EIO => "EIO".into(),
        e => format!("errno {e}"),
    }
}

/// This thread's fail-nth counter.
///
/// Opened once, before any count is armed: opening a file allocates, and an
/// open while armed would take the fault meant for the ioctl. The procfs
/// file cannot seek; writes ignore the position and reads use `pread`.
struct FailNth(File);

impl FailNth {
    const PATH: &str = "/proc/thread-self/fail-nth";

    fn open() -> Result<Self, String> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .open(Self::PATH)
            .map(Self)
            .map_err(|e| format!("{} (CONFIG_FAULT_INJECTION): {e}", Self::PATH))
    }

    /// Makes the `n`-th fault-injection site this thread reaches fail.
    fn arm(&self, n: u32) -> Result<(), String> {
        (&self.0)
            .write_all(n.to_string().as_bytes())
            .map_err(|e| format!("fail-nth write: {e}"))
    }

    /// What is left of the count (0 once the fault was injected); disarms.
    fn left(&self) -> Result<u32, String> {
        let mut buf = [0u8; 16];
        let len = self
            .0
            .read_at(&mut buf, 0)
            .map_err(|e| format!("fail-nth read: {e}"))?;
        let s = String::from_utf8_lossy(&buf[..len]);
        let left = s
            .trim()
            .parse()
            .map_err(|_| format!("fail-nth reads {s:?}"))?;
        if left != 0 {
            self.arm(0)?;
        }
        Ok(left)
    }
}

/// The fail-nth loop over the table load of the already created `name`.
fn load_loop(
    ctl: &Control,
    name: &str,
    load_hdr: DmIoctl,
    spec: DmTargetSpec,
    params: &str,
    max_n: u32,
) -> Result<(), String> {
    let fail_nth = FailNth::open()?;
    let (mut failed, mut tolerated) = (0u32, 0u32);
    for n in 1..=max_n {
        let mut buf = Buffer::new(load_hdr, Some((spec, params.as_bytes())));
        fail_nth.arm(n)?;
        let rc = ctl.ioctl(DM_TABLE_LOAD, &mut buf);
        if fail_nth.left()? != 0 {
            // The load never reached the n-th site: nothing was injected.
            rc.map_err(|e| {
                format!(
                    "load {n} without an injected fault failed: {}",
                    errno_name(e)
                )
            })?;
            if failed + tolerated == 0 {
                return Err(format!(
                    "load {n}: no fault was ever injected (is failslab's ignore-gfp-wait off?)"
                ));
            }
            ctl.simple(DM_DEV_SUSPEND, name)
                .map_err(|e| format!("resume after the loop: {e}"))?;
            println!("result: {failed} failed cleanly, {tolerated} tolerated, load {n} succeeded");
            return Ok(());
        }
        match rc {
            Err(e) => {
                println!("# fail-nth {n}: load failed: {}", errno_name(e));
                failed += 1;
            }
            Ok(()) => {
                println!("# fail-nth {n}: allocation failure tolerated, load succeeded");
                tolerated += 1;
                ctl.simple(DM_TABLE_CLEAR, name)?;
            }
        }
    }
    Err(format!("still failing after {max_n} injected faults"))
}

fn run(args: &[String]) -> Result<(), String> {
    let [name, sectors, target, params, rest @ ..] = args else {
        return Err("usage: dm-failnth <name> <sectors> <target> <params> [max_n]".into());
    };
    let sectors: u64 = sectors
        .parse()
        .map_err(|_| format!("bad sector count {sectors}"))?;
    let max_n: u32 = match rest {
        [] => 5000,
        [m] => m.parse().map_err(|_| format!("bad max_n {m}"))?,
        _ => return Err("too many arguments".into()),
    };
    if target.is_empty() || target.len() >= 16 {
        return Err(format!("bad target type {target:?}"));
    }
    let mut spec = DmTargetSpec {
        sector_start: 0,
        length: sectors,
        status: 0,
        next: 0,
        target_type: [0; 16],
    };
    spec.target_type[..target.len()].copy_from_slice(target.as_bytes());
    if params.len() > 1 << 20 {
        return Err("parameters too long".into());
    }
    let mut load_hdr = header(name)?;
    load_hdr.target_count = 1;

    let ctl = Control::open()?;
    ctl.simple(DM_DEV_CREATE, name)?;
    let result = load_loop(&ctl, name, load_hdr, spec, params, max_n);
    if result.is_err() {
        // Leave nothing behind on failure; on success the caller uses it.
        let _ = ctl.simple(DM_DEV_REMOVE, name);
    }
    result
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dm-failnth: {e}");
            ExitCode::FAILURE
        }
    }
}
