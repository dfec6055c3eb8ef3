#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Capture cache devices written by the upstream C dm-pcache (run inside the
# VM by scripts/capture-pcache-golden.sh). Three states of one cache, each a
# 600 MiB copy of /dev/pmem0 laid one after another on /dev/vda:
#   0: fresh: the first open of a zeroed device (data_crc on)
#   1: dirty: after writes, removed before writeback ran
#   2: clean: the same writes, after writeback caught up
set -euo pipefail
. /rdm/selftests/ktap.sh
load_kmod brd rd_nr=1 rd_size=65536
load_kmod dm-pcache
[ -b /dev/pmem0 ] && [ -b /dev/vda ] || { echo "need /dev/pmem0 and /dev/vda"; exit 1; }
PMEM_MB=$(( $(blockdev --getsize64 /dev/pmem0) >> 20 ))
SZ=$(blockdev --getsz /dev/ram0)
TABLE="0 $SZ pcache /dev/pmem0 /dev/ram0 4 cache_mode writeback data_crc true"

capture() {
	echo "# capture $1: $(dmsetup status pc 2>/dev/null || echo removed)"
	dd if=/dev/pmem0 of=/dev/vda bs=1M seek=$(($1 * PMEM_MB)) count="$PMEM_MB" status=none
}

# pattern OFF LEN: distinct, compressible data for a write at OFF.
pattern() { { yes "rust-dm pcache golden image, offset $1 " || true; } | head -c "$2"; }

write_at() {
	pattern "$1" "$2" > /tmp/w
	dd if=/tmp/w of=/dev/mapper/pc bs="$2" seek="$1" oflag=direct,seek_bytes status=none
}

dd if=/dev/zero of=/dev/pmem0 bs=1M count="$PMEM_MB" status=none
dmsetup create pc --table "$TABLE"
dmsetup remove pc
capture 0

dmsetup create pc --table "$TABLE"
write_at 0 4096
write_at 1048576 4096
write_at 8388608 65536
write_at 0 4096      # again: a newer key over the first
write_at 12288 8192
dmsetup status pc
dmsetup remove pc
capture 1

dmsetup create pc --table "$TABLE"
sleep 15             # writeback runs every 5 s
dmsetup status pc
dmsetup remove pc
capture 2
echo "# captured 3 states of $PMEM_MB MiB"
