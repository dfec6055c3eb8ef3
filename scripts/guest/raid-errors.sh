#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Inside the test VM: inject N read errors across both legs of a raid_rs
# raid1 (dm-dust on RAM disks) while two readers compare every byte they
# read with the data written, and print
#   errors injected N, corrected C, wrong bytes W
# (also uncorrectable reads and failed legs, which must stay 0).
#
# Three legs. Each round marks ROUND_ERRORS distinct blocks bad on one leg,
# leg 0 and leg 1 in turn, then reads the whole array with two concurrent
# readers until dm-dust's list is empty, i.e. until every bad block was met
# and rewritten from another copy. Reads go to the least busy leg, the
# lowest first (md's rule), so for leg 1's rounds leg 0 is failed with the
# `fail` message (the readers write nothing, and repairs only write to the
# leg that erred, so leg 0 misses nothing) and taken back after with
# `recover`, which rebuilds it; the next round waits for the rebuild. Run by
# scripts/raid-errors.sh.
set -uo pipefail
cd "$(dirname "$0")/.."
. selftests/ktap.sh

errors=${ERRORS:-10000}
per_round=${ROUND_ERRORS:-1000}
blocks=4096 # 16 MiB of 4 KiB blocks
sectors=$((blocks * 8))

load_kmod brd rd_nr=3 rd_size=$((blocks * 4))
load_kmod dm-dust
load_ours dm_raid_rs
head -c $((blocks * 4096)) /dev/urandom > /tmp/data
for i in 0 1 2; do
	dmsetup create d$i --table "0 $sectors dust /dev/ram$i 0 4096"
done
# Corrected errors never fail a leg here (8 x max_read_errors is far above
# what a round brings): the point is repair, not the burst guard.
dmsetup create r --table "0 $sectors raid_rs raid1 3 0 max_read_errors 1000000 3 - /dev/mapper/d0 - /dev/mapper/d1 - /dev/mapper/d2"
dmsetup mknodes
[ -b /dev/mapper/r ] || { echo "no /dev/mapper/r"; exit 1; }
dd if=/tmp/data of=/dev/mapper/r bs=1M oflag=direct status=none
for d in d0 d1 d2; do
	dmsetup message $d 0 quiet >/dev/null 2>&1 || true
	dmsetup message $d 0 enable
done

count() {
	dmsetup message "$1" 0 countbadblocks 2>&1 | sed -n 's/.*countbadblocks: \([0-9]*\) badblock.*/\1/p'
}

# reader N: read the array in N-th order and count differing bytes.
reader() {
	dd if=/dev/mapper/r bs=4k iflag=direct status=none | cmp -l - /tmp/data 2>/dev/null | wc -l > "/tmp/wrong.$1"
}

injected=0 wrong=0 passes=0 round=0
start=$(date +%s)
while [ "$injected" -lt "$errors" ]; do
	round=$((round + 1))
	n=$((errors - injected < per_round ? errors - injected : per_round))
	# n distinct blocks: a random start and a stride coprime to 4096.
	first=$(( $(od -An -N2 -tu2 /dev/urandom) % blocks ))
	stride=$(( ($(od -An -N2 -tu2 /dev/urandom) % 1000) * 2 + 1 ))
	leg=$(((round - 1) % 2))
	for i in $(seq 0 $((n - 1))); do
		dmsetup message d$leg 0 addbadblock $(( (first + i * stride) % blocks )) >/dev/null 2>&1
	done
	injected=$((injected + n))
	[ "$leg" = 0 ] || dmsetup message r 0 fail 0
	while [ "$(count d$leg)" != 0 ]; do
		passes=$((passes + 1))
		reader 1 & r1=$!
		reader 2 & r2=$!
		wait "$r1" "$r2"
		wrong=$((wrong + $(cat /tmp/wrong.1) + $(cat /tmp/wrong.2)))
		if [ "$passes" -gt $((round * 10)) ]; then
			echo "# round $round: bad blocks not met after many passes: $(count d$leg) left on leg $leg"
			break 2
		fi
	done
	if [ "$leg" != 0 ]; then
		dmsetup message r 0 recover 0
		# The rebuild writes leg 0: the next round's bad blocks come after.
		while [ "$(dmsetup status r | awk '{print $8}')" != idle ]; do sleep 0.2; done
	fi
	echo "# round $round: $injected injected, $passes passes, $(($(date +%s) - start)) s"
done
stats=$(dmsetup message r 0 stats)
echo "# $(dmsetup status r)"
echo "# $stats"
corrected=$(echo "$stats" | awk '{for (i = 1; i <= NF; i++) if ($i ~ /^leg[0-9]+$/) {split($(i + 1), a, ":"); c += a[1]}} END {print c + 0}')
# Failed by this harness (leg 0, for leg 1's rounds) is not failed by errors.
failed_by_hand=$((round / 2))
uncorrectable=$(echo "$stats" | sed -n 's/.*uncorrectable_reads \([0-9]*\).*/\1/p')
failed=$(( $(echo "$stats" | sed -n 's/.*legs_failed \([0-9]*\).*/\1/p') - failed_by_hand ))
left=$(($(count d0) + $(count d1) + $(count d2)))
echo "# uncorrectable reads $uncorrectable, legs failed $failed, bad blocks never met $left"
# A block read by both readers at once is corrected twice: corrected >= injected.
echo "errors injected $injected, corrected $corrected, wrong bytes $wrong"
dmsetup remove r d0 d1 d2
[ "$wrong" = 0 ] && [ "$uncorrectable" = 0 ] && [ "$failed" = 0 ] && [ "$left" = 0 ] && [ "$corrected" -ge "$injected" ]
