#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The guest side of one power-cut cycle (scripts/powercut.sh, which kills
# the VM at a random moment): reports what survived the previous cut, then
# writes until the power goes. Not a kselftest program of its own.
#
# Usage: powercut-guest.sh <first write generation> [format]
# Prints: CHECK <pcache check exit>, B <block> <header block> <generation>
# for every block, PC-WRITING, then W <block> <gen> before each write,
# A <block> <gen> once it is acknowledged, F after each completed flush.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../ktap.sh"

PMEM=/dev/pmem0
BACKING=/dev/pmem1
NBLK=${PC_BLOCKS:-256}
gen=$1

if [ "${2:-}" = format ]; then
	dd if=/dev/zero of="$PMEM" bs=1M count=1 oflag=direct status=none
	dd if=/dev/zero of="$BACKING" bs=1M count=64 oflag=direct status=none
	echo "CHECK new"
else
	rc=0
	pcache check "$PMEM" --backing-size "$(blockdev --getsize64 "$BACKING")" > /tmp/check 2>&1 || rc=$?
	echo "CHECK $rc"
	[ "$rc" -le 1 ] || sed 's/^/# /' /tmp/check
fi
load_ours dm_pcache_rs
dmsetup create pc --table "0 $(blockdev --getsz "$BACKING") pcache $PMEM $BACKING" || { echo "CREATE failed"; exit 1; }
[ -b /dev/mapper/pc ] || { echo "CREATE no device node"; exit 1; }
# PC_GC=0: write-back runs all the time (the dirty threshold is half of
# gc_percent) and GC collects every kset written back, so a block whose
# write-back was wrongly skipped reads stale from the backing device.
dmsetup message pc 0 gc_percent "${PC_GC:-70}" || { echo "GC_PERCENT failed"; exit 1; }

# Every block's header in one read: strings gives each header's byte
# offset, which names the block it was read from.
dd if=/dev/mapper/pc bs=4096 count="$NBLK" iflag=direct status=none > /tmp/blocks
strings -n 6 -t d /tmp/blocks | awk -v n="$NBLK" '
	$2 == "PCBLK" && $1 % 4096 == 0 { hdr[$1 / 4096] = $3 " " $4 }
	END { for (b = 0; b < n; b++) print "B", b, (b in hdr ? hdr[b] : "- 0") }'
echo "PC-WRITING"
i=0
while :; do
	for k in 1 2 3 4 5 6 7 8; do
		b=$((RANDOM % NBLK))
		g=$((gen + i))
		i=$((i + 1))
		echo "W $b $g"
		sync_flag=
		[ "$k" = 8 ] && sync_flag=,fsync
		printf 'PCBLK %d %d\n' "$b" "$g" |
			dd of=/dev/mapper/pc bs=4096 seek="$b" count=1 conv=sync,notrunc$sync_flag oflag=direct status=none ||
			{ echo "WRITE failed"; exit 1; }
		echo "A $b $g"
		[ "$k" = 8 ] && echo "F"
	done
done
