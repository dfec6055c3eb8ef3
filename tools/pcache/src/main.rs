// SPDX-License-Identifier: GPL-2.0

//! `pcache`: inspect, check and format dm-pcache cache devices or images
//! (the Linux 7.2 on-media format, via the pcache-format crate).

use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use pcache::image::Image;
use pcache::{check, format, sparse};
use pcache_format::CacheMode;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Print the superblock, cache_info, tails, segment chain and ksets.
    Dump {
        /// Cache device or image file.
        path: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Verify every CRC and chain, replay keys as the kernel does, report
    /// dirty data not yet written back.
    ///
    /// Exit status (bits, as fsck): 0 consistent and clean; 1 consistent,
    /// dirty data pending writeback; 4 inconsistent (the kernel would refuse
    /// the cache or lose keys); 8 could not be checked (I/O error, not a
    /// pcache device).
    Check {
        path: PathBuf,
        #[arg(long)]
        json: bool,
        /// Size of the backing device in bytes, to check key ranges against.
        #[arg(long)]
        backing_size: Option<u64>,
    },
    /// Format an image or device as the kernel's first open of a zeroed
    /// device does.
    Format {
        path: PathBuf,
        /// Create or extend an image file to this many bytes (K/M/G suffix).
        #[arg(long, value_parser = parse_size)]
        size: Option<u64>,
        #[arg(long, value_enum, default_value = "writeback")]
        cache_mode: Mode,
        #[arg(long)]
        data_crc: bool,
    },
    /// Pack an image's non-zero blocks into a compact .pcs.gz file.
    Pack { image: PathBuf, packed: PathBuf },
    /// Unpack a .pcs.gz file into a sparse image file.
    Unpack { packed: PathBuf, image: PathBuf },
}

#[derive(Clone, Copy, ValueEnum)]
enum Mode {
    Writeback,
    Writethrough,
    Writearound,
    Writeonly,
}

fn parse_size(s: &str) -> Result<u64, String> {
    let (num, mult) = match s.as_bytes().last() {
        Some(b'K' | b'k') => (&s[..s.len() - 1], 1 << 10),
        Some(b'M' | b'm') => (&s[..s.len() - 1], 1 << 20),
        Some(b'G' | b'g') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("invalid size: {s}"))
}

/// A progress bar on stderr, hidden when stderr is not a terminal.
fn progress(what: &'static str) -> impl FnMut(u32, u32) {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} segments")
            .expect("static template"),
    );
    bar.set_message(what);
    move |done, total| {
        bar.set_length(u64::from(total));
        bar.set_position(u64::from(done));
        if done == total {
            bar.finish_and_clear();
        }
    }
}

/// Reports an operational error: exit status 8, as `check` documents.
fn fail(what: &dyn std::fmt::Display, e: impl std::fmt::Display) -> ExitCode {
    eprintln!("pcache: {what}: {e}");
    ExitCode::from(check::EXIT_OPERATIONAL)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Dump { path, json } => match Image::open(&path, false) {
            Ok(img) => check::dump(&img, json, progress("loading")),
            Err(e) => fail(&path.display(), e),
        },
        Cmd::Check {
            path,
            json,
            backing_size,
        } => match Image::open(&path, false) {
            Ok(img) => check::check(&img, json, backing_size, progress("checking")),
            Err(e) => fail(&path.display(), e),
        },
        Cmd::Pack { image, packed } => {
            match Image::open(&image, false).and_then(|img| sparse::pack(&img, &packed)) {
                Ok(kept) => {
                    println!("{}: {kept} non-zero bytes kept", packed.display());
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&image.display(), e),
            }
        }
        Cmd::Unpack { packed, image } => match sparse::unpack(&packed, &image) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&packed.display(), e),
        },
        Cmd::Format {
            path,
            size,
            cache_mode,
            data_crc,
        } => {
            let mode = match cache_mode {
                Mode::Writeback => CacheMode::Writeback,
                Mode::Writethrough => CacheMode::Writethrough,
                Mode::Writearound => CacheMode::Writearound,
                Mode::Writeonly => CacheMode::Writeonly,
            };
            let result = (|| {
                if let Some(size) = size {
                    let f = std::fs::OpenOptions::new()
                        .create(true)
                        .truncate(false)
                        .write(true)
                        .open(&path)?;
                    let meta = f.metadata()?;
                    if meta.file_type().is_file() && meta.len() < size {
                        f.set_len(size)?;
                    }
                }
                let img = Image::open(&path, true)?;
                format::format(
                    &img,
                    &format::Options { mode, data_crc },
                    progress("formatting"),
                )
            })();
            match result {
                Ok(n) => {
                    println!("{}: formatted, {n} segments of 16 MiB", path.display());
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&path.display(), e),
            }
        }
    }
}
