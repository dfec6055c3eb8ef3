// SPDX-License-Identifier: GPL-2.0

//! CRC32C exactly as the kernel's `crc32c(seed, data, len)` computes it: the
//! Castagnoli polynomial, reflected, starting from `seed` as given, with no
//! final inversion. (The `crc32c` of iSCSI/ext4 checksums is this function
//! started from `!0` and inverted at the end.)

/// `PCACHE_CRC_SEED`: every dm-pcache CRC starts here.
pub const CRC_SEED: u32 = 0x3B15A;

const POLY: u32 = 0x82F6_3B78; // 0x1EDC6F41 reflected

const TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ POLY
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// Continues a CRC32C over `data` from `crc`, like the kernel's `crc32c()`.
pub fn crc32c(crc: u32, data: &[u8]) -> u32 {
    data.iter().fold(crc, |crc, &b| {
        // The index is the low byte: always < 256.
        TABLE[((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8)
    })
}

/// The CRC every dm-pcache record carries in its first 4 bytes: seeded
/// CRC32C over the rest of the record (`pcache_meta_crc()`, `sb_init()`,
/// `cache_kset_crc()`).
pub fn record_crc(record: &[u8]) -> u32 {
    crc32c(CRC_SEED, record.get(4..).unwrap_or(&[]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_check_value() {
        // CRC-32C of "123456789" with the usual init/xorout of !0.
        assert_eq!(!crc32c(!0, b"123456789"), 0xE306_9283);
    }

    #[test]
    fn seeded_and_incremental() {
        let data = b"dm-pcache metadata";
        let (a, b) = data.split_at(7);
        assert_eq!(crc32c(crc32c(CRC_SEED, a), b), crc32c(CRC_SEED, data));
        assert_ne!(crc32c(CRC_SEED, data), crc32c(0, data));
        assert_eq!(crc32c(CRC_SEED, &[]), CRC_SEED);
    }
}
