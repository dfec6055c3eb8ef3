// SPDX-License-Identifier: GPL-2.0

//! The table line: `<cache_dev> <backing_dev> [<#opt_args> [cache_mode
//! writeback] [data_crc true|false]]`, with upstream's messages for what it
//! refuses (`pcache_parse_args()`), and arguments after the option group
//! refused too (upstream ignores them).

use crate::rdm::args::ArgSet;
use kernel::prelude::*;

/// A parsed table line.
pub(crate) struct Table<'a> {
    pub(crate) cache_dev: &'a str,
    pub(crate) backing_dev: &'a str,
    pub(crate) data_crc: bool,
}

pub(crate) fn parse<'a>(args: &[&'a str]) -> Result<Table<'a>, &'static CStr> {
    let mut args = ArgSet::new(args);
    let cache_dev = args.next(c"Insufficient args")?;
    let backing_dev = args.next(c"Insufficient args")?;
    let mut data_crc = false;
    if args.len() > 0 {
        let mut n = args.read_group(0, 4, c"Invalid number of cache option arguments")?;
        while n > 0 {
            let opt = args.next(c"Insufficient args")?;
            n -= 1;
            if n == 0 {
                return Err(match opt {
                    "cache_mode" => c"Missing value for cache_mode",
                    "data_crc" => c"Missing value for data_crc",
                    _ => c"Unrecognised cache option requested",
                });
            }
            let value = args.next(c"Insufficient args")?;
            n -= 1;
            match (opt, value) {
                ("cache_mode", "writeback") => {}
                ("cache_mode", _) => return Err(c"Invalid cache mode parameter"),
                ("data_crc", "true") => data_crc = true,
                ("data_crc", "false") => data_crc = false,
                ("data_crc", _) => return Err(c"Invalid data crc parameter"),
                _ => return Err(c"Unrecognised cache option requested"),
            }
        }
    }
    if args.len() > 0 {
        return Err(c"Too many arguments");
    }
    Ok(Table {
        cache_dev,
        backing_dev,
        data_crc,
    })
}
