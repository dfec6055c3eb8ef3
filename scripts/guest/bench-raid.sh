#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# fio: raid_rs vs upstream dm-raid (md raid1/raid10) on the same RAM-disk
# legs in the same boot, and a recovery benchmark on dm-dust legs. Runs
# inside the VM (scripts/bench-raid.sh). Not a test.
#
# Configurations (each side runs what it can):
#   raid1  2 legs: both without metadata devices, `nosync` for md.
#   raid10 4 legs near 2 copies: raid_rs without metadata devices; md's
#          dm-raid in 7.2 refuses that, so md gets 4 MiB metadata devices
#          (superblock + write-intent bitmap) and `nosync`.
# Recovery: raid1 over dust(ram0) + ram1, N bad 4 KiB blocks on leg 0,
# two random 4 KiB readers; reports the time until dm-dust's list is
# empty (every bad block rewritten) and the worst read latency.
set -euo pipefail
. /rdm/selftests/ktap.sh
RT=${RT:-5}
ROUNDS=${ROUNDS:-1}
LEG_MB=64
LEG=$((LEG_MB * 2048))
META=8192 # sectors of each md metadata device (4 MiB)
JOBS=("rand-read-4K:randread:4k" "rand-write-4K:randwrite:4k" "seq-read-1M:read:1M" "seq-write-1M:write:1M")
declare -A RES

load_kmod brd rd_nr=5 rd_size=$((LEG_MB * 1024))
# md's personalities by hand: the VM has no modprobe for request_module().
load_kmod raid1
load_kmod raid10
load_kmod dm-raid
load_kmod dm-dust
load_ours dm_raid_rs
# brd allocates pages on first write: fill every leg once.
for i in 0 1 2 3 4; do
	dd if=/dev/zero of=/dev/ram$i bs=1M count=$LEG_MB oflag=direct status=none
done
# md's raid10 metadata devices: slices of ram4.
for i in 0 1 2 3; do
	dmsetup create meta$i --table "0 $META linear /dev/ram4 $((i * META))"
done

fio_iops() {
	local dev=$1 rw=$2 bs=$3 jobs=$4 size=$5 out
	out=$(fio --name=b --filename="$dev" --rw="$rw" --bs="$bs" --size="${size}M" \
		--direct=1 --ioengine=psync --numjobs="$jobs" --group_reporting --time_based \
		--runtime="$RT" --offset_increment="$((size / jobs))M" --minimal)
	case $rw in
	*read) echo "$out" | cut -d';' -f8 ;;
	*) echo "$out" | cut -d';' -f49 ;;
	esac
}

legs2="2 - /dev/ram0 - /dev/ram1"
legs4="4 - /dev/ram0 - /dev/ram1 - /dev/ram2 - /dev/ram3"
mlegs4="4 /dev/mapper/meta0 /dev/ram0 /dev/mapper/meta1 /dev/ram1 /dev/mapper/meta2 /dev/ram2 /dev/mapper/meta3 /dev/ram3"

# All four arrays at once, on the same legs (dm shares them; only one runs
# I/O at a time), so that each workload runs on each array back to back:
# TCG's speed drifts over minutes, and ratios of neighbours drift least.
for i in 0 1 2 3; do dd if=/dev/zero of=/dev/mapper/meta$i bs=1M count=4 oflag=direct status=none; done
dmsetup create r1-rust --table "0 $LEG raid_rs raid1 1 0 $legs2"
dmsetup create r1-md --table "0 $LEG raid raid1 2 0 nosync $legs2"
dmsetup create r10-rust --table "0 $((2 * LEG)) raid_rs raid10 3 128 raid10_copies 2 $legs4"
dmsetup create r10-md --table "0 $((2 * (LEG - META))) raid raid10 4 128 raid10_copies 2 nosync $mlegs4"
dmsetup mknodes
declare -A DEV=([r1-rust]=/dev/mapper/r1-rust [r1-md]=/dev/mapper/r1-md [r10-rust]=/dev/mapper/r10-rust
	[r10-md]=/dev/mapper/r10-md [raw-brd]=/dev/ram0)
declare -A SIZE=([r1-rust]=64 [r1-md]=64 [r10-rust]=120 [r10-md]=120 [raw-brd]=64)
for l in "${!DEV[@]}"; do [ -b "${DEV[$l]}" ] || { echo "no device node for $l"; exit 1; }; done

median() { tr ' ' '\n' | grep . | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

echo "# fio psync, O_DIRECT, ${RT}s per job, brd legs of ${LEG_MB} MiB, $(nproc) vCPUs (TCG), $ROUNDS round(s)"
echo "# raid1: both without metadata (md: nosync). raid10 near 2 copies: raid_rs without metadata,"
echo "# md with 4 MiB metadata devices (superblock + write-intent bitmap: it refuses '-'), nosync."
for round in $(seq "$ROUNDS"); do
	order=(r1-rust r1-md r10-rust r10-md raw-brd)
	[ $((round % 2)) = 1 ] || order=(raw-brd r10-md r10-rust r1-md r1-rust)
	for job in "${JOBS[@]}"; do
		IFS=: read -r name rw bs <<<"$job"
		for jobs in 1 2; do
			for label in "${order[@]}"; do
				iops=$(fio_iops "${DEV[$label]}" "$rw" "$bs" "$jobs" "${SIZE[$label]}")
				RES[$label,$name,$jobs]+="$iops "
				printf '  %-10s %-14s %s job(s) %8s IOPS\n' "$label" "$name" "$jobs" "$iops"
			done
		done
	done
done
for l in r1-rust r1-md r10-rust r10-md; do
	echo "  $l status: $(dmsetup status "$l")"
	dmsetup remove "$l"
done

echo
echo "# medians (IOPS); ratios are raid_rs / md"
printf '%-14s %4s %9s %9s %6s %9s %9s %6s %9s\n' job jobs r1-rust r1-md ratio r10-rust r10-md ratio raw-brd
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
for job in "${JOBS[@]}"; do
	name=${job%%:*}
	for jobs in 1 2; do
		a=$(median <<<"${RES[r1-rust,$name,$jobs]}")
		b=$(median <<<"${RES[r1-md,$name,$jobs]}")
		c=$(median <<<"${RES[r10-rust,$name,$jobs]}")
		d=$(median <<<"${RES[r10-md,$name,$jobs]}")
		e=$(median <<<"${RES[raw-brd,$name,$jobs]}")
		printf '%-14s %4s %9s %9s %6s %9s %9s %6s %9s\n' "$name" "$jobs" "$a" "$b" "$(ratio "$a" "$b")" \
			"$c" "$d" "$(ratio "$c" "$d")" "$e"
	done
done

# --- recovery: N bad blocks on leg 0 under two random readers ---
# Milliseconds since boot (busybox date has no %N).
now_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }

count() {
	dmsetup message d0 0 countbadblocks 2>&1 | sed -n 's/.*countbadblocks: \([0-9]*\) badblock.*/\1/p'
}

# recovery LABEL TARGET_ARGS N: prints repair time, worst read latency,
# blocks left and the status.
recovery() {
	local label=$1 args=$2 n=$3 start t left lat
	dmsetup create d0 --table "0 $LEG dust /dev/ram0 0 4096"
	dmsetup create bench --table "0 $((32 * 2048)) $args"
	dd if=/dev/urandom of=/dev/mapper/bench bs=1M count=32 oflag=direct status=none
	dmsetup message d0 0 quiet >/dev/null 2>&1 || true
	for b in $(seq 7 $((8192 / n)) 8191 | head -n "$n"); do dmsetup message d0 0 addbadblock "$b"; done
	dmsetup message d0 0 enable
	fio --name=r --filename=/dev/mapper/bench --rw=randread --bs=4k --size=32M --direct=1 \
		--ioengine=psync --numjobs=2 --group_reporting --time_based --runtime=30 --minimal \
		>/tmp/recovery.out 2>/dev/null &
	local fio=$!
	start=$(now_ms)
	t=timeout
	while kill -0 "$fio" 2>/dev/null; do
		if [ "$(count)" = 0 ]; then
			t=$(($(now_ms) - start))ms
			break
		fi
		sleep 0.05
	done
	wait "$fio" || true
	left=$(count)
	# Field 39: the worst total read latency (usec).
	lat=$(cut -d';' -f39 /tmp/recovery.out)
	printf '  %-10s %3s bad: all repaired after %8s, worst read latency %6s us, %3s left; %s\n' \
		"$label" "$n" "$t" "$lat" "$left" "$(dmsetup status bench | cut -d' ' -f4-)"
	dmsetup remove bench
	dmsetup remove d0
}

echo
echo "# recovery: raid1 over dust(ram0) + ram1 (32 MiB), two fio randread 4K readers (30 s at most)"
for n in 16 64; do
	recovery rust "raid_rs raid1 1 0 2 - /dev/mapper/d0 - /dev/ram1" "$n"
	recovery md "raid raid1 2 0 nosync 2 - /dev/mapper/d0 - /dev/ram1" "$n"
done
