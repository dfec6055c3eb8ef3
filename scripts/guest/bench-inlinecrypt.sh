#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# fio: the Rust inlinecrypt target vs the upstream C one (and dm-crypt for
# scale) on the same RAM disk in the same boot. Both inlinecrypt modules
# register the target name "inlinecrypt", so one is loaded at a time.
# Runs inside the VM (scripts/bench-inlinecrypt.sh). Not a test.
set -euo pipefail
. /rdm/selftests/ktap.sh
RT=${RT:-5}
ROUNDS=${ROUNDS:-3}
LEN=$((512 * 2048)) # 512 MiB
KEY=$(for i in $(seq 0 63); do printf %02x "$i"; done)
JOBS=("seq-write-1M:write:1M" "rand-write-4K:randwrite:4k" "rand-read-4K:randread:4k" "seq-read-1M:read:1M")
declare -A RES # label,job -> space-separated IOPS of each round

load_kmod brd rd_nr=1 rd_size=$((LEN / 2))
load_kmod dm-crypt
# brd allocates pages on first write: fill it once so no run pays for that.
dd if=/dev/zero of=/dev/ram0 bs=1M count=$((LEN / 2048)) oflag=direct status=none

# run_set LABEL TABLE: fio over a fresh device; records IOPS and MB/s.
run_set() {
	local label=$1 table=$2 job name rw bs out iops bw
	dmsetup create bench --table "$table"
	[ -b /dev/mapper/bench ] || { echo "no device node"; exit 1; }
	for job in "${JOBS[@]}"; do
		IFS=: read -r name rw bs <<<"$job"
		out=$(fio --name="$name" --filename=/dev/mapper/bench --rw="$rw" --bs="$bs" \
			--direct=1 --ioengine=psync --numjobs=1 --size=256M --time_based \
			--runtime="$RT" --minimal)
		case $rw in
		*read) iops=$(echo "$out" | cut -d';' -f8); bw=$(echo "$out" | cut -d';' -f7) ;;
		*) iops=$(echo "$out" | cut -d';' -f49); bw=$(echo "$out" | cut -d';' -f48) ;;
		esac
		RES[$label,$name]+="$iops "
		printf '  %-8s %-14s %8s IOPS %6s MB/s\n' "$label" "$name" "$iops" "$((bw / 1024))"
	done
	dmsetup remove bench
}

median() { tr ' ' '\n' | grep . | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

echo "# fio psync, 1 job, O_DIRECT, ${RT}s per job, brd 512 MiB, $(nproc) vCPUs (TCG), $ROUNDS alternating rounds"
for round in $(seq "$ROUNDS"); do
	# Alternate which target goes first, so neither always runs warm.
	order=(rust c)
	[ $((round % 2)) = 1 ] || order=(c rust)
	for t in "${order[@]}"; do
		if [ "$t" = rust ]; then
			insmod /rdm/modules/dm_inlinecrypt_rs.ko
			run_set rust "0 $LEN inlinecrypt aes-xts-plain64 $KEY 0 /dev/ram0 0"
			rmmod dm_inlinecrypt_rs
		else
			load_kmod dm-inlinecrypt
			run_set c "0 $LEN inlinecrypt aes-xts-plain64 $KEY 0 /dev/ram0 0"
			rmmod dm_inlinecrypt
		fi
	done
done
run_set dmcrypt "0 $LEN crypt aes-xts-plain64 $KEY 0 /dev/ram0 0"

echo
echo "# medians over $ROUNDS rounds (IOPS; 1M jobs: IOPS = MB/s)"
printf '%-14s %10s %10s %10s %14s\n' job rust c dm-crypt "rust/c ratio"
for job in "${JOBS[@]}"; do
	name=${job%%:*}
	ri=$(median <<<"${RES[rust,$name]}")
	ci=$(median <<<"${RES[c,$name]}")
	di=$(median <<<"${RES[dmcrypt,$name]}")
	printf '%-14s %10s %10s %10s %14s\n' "$name" "$ri" "$ci" "$di" "$(awk -v a="$ri" -v b="$ci" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')"
done
