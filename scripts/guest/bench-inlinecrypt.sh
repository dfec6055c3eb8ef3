#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# fio: the Rust inlinecrypt target vs the upstream C one (and dm-crypt for
# scale) on the same RAM disk in the same boot. Both inlinecrypt modules
# register the target name "inlinecrypt", so one is loaded at a time.
# Runs inside the VM (scripts/bench-inlinecrypt.sh). Not a test.
set -euo pipefail
. /rdm/selftests/ktap.sh
RT=${RT:-8}
LEN=$((512 * 2048)) # 512 MiB
KEY=$(for i in $(seq 0 63); do printf %02x "$i"; done)
JOBS=("seq-write-1M:write:1M" "rand-write-4K:randwrite:4k" "rand-read-4K:randread:4k" "seq-read-1M:read:1M")
declare -A RES

load_kmod brd rd_nr=1 rd_size=$((LEN / 2))
load_kmod dm-crypt

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
		RES[$label,$name]="$iops $((bw / 1024))"
		printf '  %-8s %-14s %8s IOPS %6s MB/s\n' "$label" "$name" "$iops" "$((bw / 1024))"
	done
	dmsetup remove bench
}

echo "# fio psync, 1 job, O_DIRECT, ${RT}s per job, brd 512 MiB, $(nproc) vCPUs (TCG)"
insmod /rdm/modules/dm_inlinecrypt_rs.ko
run_set rust "0 $LEN inlinecrypt aes-xts-plain64 $KEY 0 /dev/ram0 0"
rmmod dm_inlinecrypt_rs
load_kmod dm-inlinecrypt
run_set c "0 $LEN inlinecrypt aes-xts-plain64 $KEY 0 /dev/ram0 0"
rmmod dm_inlinecrypt
run_set dmcrypt "0 $LEN crypt aes-xts-plain64 $KEY 0 /dev/ram0 0"

echo
printf '%-14s %12s %12s %14s\n' job "rust IOPS" "c IOPS" "rust/c ratio"
for job in "${JOBS[@]}"; do
	name=${job%%:*}
	read -r ri _ <<<"${RES[rust,$name]}"
	read -r ci _ <<<"${RES[c,$name]}"
	printf '%-14s %12s %12s %14s\n' "$name" "$ri" "$ci" "$(awk -v a="$ri" -v b="$ci" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')"
done
