#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# fio: the Rust pcache target vs the upstream C one on the same pmem and
# backing RAM disk in the same boot (one module loaded at a time: both
# register "pcache"), data_crc off and on, dm-writecache on the same pmem
# and backing (the other DAX write-back cache upstream), and raw /dev/pmem0
# as the ceiling. Runs inside the VM (scripts/bench-pcache.sh). Not a test.
set -euo pipefail
. /rdm/selftests/ktap.sh
RT=${RT:-5}
ROUNDS=${ROUNDS:-1}
LEN=$((512 * 2048)) # 512 MiB backing
WS=128              # working set, MiB: below gc_percent (70 % of 576 MiB)
PMEM=/dev/pmem0
# name:rw:offset of the region (MiB): hits are reads of the written set,
# misses reads of a region never written.
JOBS=("rand-write-4K:randwrite:0" "rand-read-hit-4K:randread:0" "rand-read-miss-4K:randread:256")
declare -A RES

load_kmod dm-writecache
load_kmod brd rd_nr=1 rd_size=$((LEN / 2))
# brd allocates pages on first write: fill it once so no run pays for that.
dd if=/dev/zero of=/dev/ram0 bs=1M count=$((LEN / 2048)) oflag=direct status=none

fio_iops() {
	local dev=$1 rw=$2 off=$3 jobs=$4 out
	out=$(fio --name=b --filename="$dev" --rw="$rw" --bs=4k --offset="${off}M" --size="${WS}M" \
		--direct=1 --ioengine=psync --numjobs="$jobs" --group_reporting --time_based \
		--runtime="$RT" --minimal)
	case $rw in
	*read) echo "$out" | cut -d';' -f8 ;;
	*) echo "$out" | cut -d';' -f49 ;;
	esac
}

# run_set LABEL DEV: every job at 1 and 2 jobs on DEV.
run_set() {
	local label=$1 dev=$2 job name rw off jobs iops
	# The working set in the cache first: later reads of it are hits.
	dd if=/dev/zero of="$dev" bs=1M count="$WS" oflag=direct status=none
	for job in "${JOBS[@]}"; do
		IFS=: read -r name rw off <<<"$job"
		for jobs in 1 2; do
			iops=$(fio_iops "$dev" "$rw" "$off" "$jobs")
			RES[$label,$name,$jobs]+="$iops "
			printf '  %-9s %-18s %s job(s) %8s IOPS\n' "$label" "$name" "$jobs" "$iops"
		done
	done
}

pcache_set() {
	local label=$1 module=$2 opts=$3
	dd if=/dev/zero of="$PMEM" bs=1M count=1 oflag=direct status=none
	dmsetup create bench --table "0 $LEN pcache $PMEM /dev/ram0 $opts"
	[ -b /dev/mapper/bench ] || { echo "no device node"; exit 1; }
	run_set "$label" /dev/mapper/bench
	echo "  $label status: $(dmsetup status bench)"
	dmsetup remove bench
}

writecache_set() {
	# An all-zero superblock makes dm-writecache format the cache.
	dd if=/dev/zero of="$PMEM" bs=1M count=1 oflag=direct status=none
	dmsetup create bench --table "0 $LEN writecache p /dev/ram0 $PMEM 4096 0"
	[ -b /dev/mapper/bench ] || { echo "no device node"; exit 1; }
	run_set wcache /dev/mapper/bench
	echo "  wcache status: $(dmsetup status bench)"
	dmsetup remove bench
}

use() {
	case $1 in
	rust) grep -q '^dm_pcache ' /proc/modules && rmmod dm_pcache; load_ours dm_pcache_rs ;;
	c) grep -q '^dm_pcache_rs ' /proc/modules && rmmod dm_pcache_rs; load_kmod dm-pcache ;;
	esac
}

median() { tr ' ' '\n' | grep . | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

echo "# fio psync 4K, O_DIRECT, ${RT}s per job, working set ${WS} MiB, pmem 600 MiB, brd 512 MiB, $(nproc) vCPUs (TCG), $ROUNDS round(s)"
for round in $(seq "$ROUNDS"); do
	order=(rust c)
	[ $((round % 2)) = 1 ] || order=(c rust)
	for t in "${order[@]}"; do
		use "$t"
		pcache_set "$t" "$t" ""
		pcache_set "$t-crc" "$t" "2 data_crc true"
	done
	writecache_set
done
run_set raw-pmem "$PMEM"

echo
echo "# medians (IOPS); ratios are Rust / C and Rust / dm-writecache"
printf '%-18s %4s %9s %9s %7s %9s %9s %7s %9s %7s %9s\n' job jobs rust c ratio rust-crc c-crc ratio wcache ratio raw-pmem
for job in "${JOBS[@]}"; do
	name=${job%%:*}
	for jobs in 1 2; do
		r=$(median <<<"${RES[rust,$name,$jobs]}")
		c=$(median <<<"${RES[c,$name,$jobs]}")
		rc=$(median <<<"${RES[rust-crc,$name,$jobs]}")
		cc=$(median <<<"${RES[c-crc,$name,$jobs]}")
		w=$(median <<<"${RES[wcache,$name,$jobs]}")
		p=$(median <<<"${RES[raw-pmem,$name,$jobs]}")
		printf '%-18s %4s %9s %9s %7s %9s %9s %7s %9s %7s %9s\n' "$name" "$jobs" "$r" "$c" \
			"$(awk -v a="$r" -v b="$c" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')" "$rc" "$cc" \
			"$(awk -v a="$rc" -v b="$cc" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')" "$w" \
			"$(awk -v a="$r" -v b="$w" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')" "$p"
	done
done
