#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Selftests of the Rust RAID1/RAID10 target `raid_rs` (runs inside the test
# VM): table errors, round trips and where the copies land, degraded
# arrays, read errors on one copy (retried, rewritten, verified, counted:
# dm-dust below the legs), on every copy (EIO for that range only), an
# error burst that fails a leg, the decay of the counts on an injected
# clock, write errors (dm-flakey), fail/recover messages with events,
# rebuild (raid1 and each raid10 layout, with a suspend and writes in the
# middle), check/repair, and recovery under concurrent verifying readers
# and writers with a suspend/resume and a remove in the middle.
#
# Legs are RAM disks (brd, 4 x 64 MiB), with dm-dust or dm-flakey on top
# where a test injects faults.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../ktap.sh"

LEG_SECTORS=131072

setup() {
	# Four 64 MiB RAM disks: an earlier test program may have loaded brd
	# with fewer or other sizes.
	if grep -q '^brd ' /proc/modules; then
		rmmod brd || return 1
	fi
	load_kmod brd rd_nr=4 rd_size=65536
	load_kmod dm-dust
	load_kmod dm-flakey
	load_ours dm_raid_rs
	head -c $((16 << 20)) /dev/urandom > /tmp/raid-data
}

cleanup() {
	dmsetup remove_all >/dev/null 2>&1
	true
}

zero_legs() {
	local i
	for i in 0 1 2 3; do
		dd if=/dev/zero of=/dev/ram$i bs=1M count=64 oflag=direct status=none
	done
}

# raid1 NAME LEG0 LEG1 [PARAMS...]: a 2-leg raid1 of the legs' size.
raid1() {
	local name=$1 a=$2 b=$3
	shift 3
	mkdev "$name" "0 $LEG_SECTORS raid_rs raid1 $((1 + $#)) 128 $* 2 - $a - $b"
}

# field DEV N: the Nth field of the status line after the target name.
field() {
	dmsetup status "$1" | awk -v n="$2" '{print $(n + 3)}'
}

events() {
	dmsetup info -c --noheadings -o events "$1" | tr -d ' '
}

iostat() {
	local minor
	minor=$(dmsetup info -c --noheadings -o minor "$1")
	awk '{print $1 + $5}' "/sys/block/dm-$minor/stat"
}

# writes_of DEV: writes completed by DEV (its /sys/block stat).
writes_of() {
	local minor
	minor=$(dmsetup info -c --noheadings -o minor "$1")
	awk '{print $5}' "/sys/block/dm-$minor/stat"
}

# put DEV OFFSET_MB SIZE_MB: the test data through DEV.
put() {
	dd if=/tmp/raid-data of="$1" bs=1M seek="$2" count="$3" oflag=direct status=none ||
		fail "write to $1 failed"
}

# same DEV OFFSET_MB SIZE_MB: DEV holds the test data there (4 KiB reads).
same() {
	cmp <(dd if="$1" bs=4k skip=$(($2 * 256)) count=$(($3 * 256)) iflag=direct status=none) \
		<(head -c $(($3 << 20)) /tmp/raid-data) || fail "$1 at $2 MiB does not hold the data"
}

# legs_equal A B: RAM disks A and B hold the same bytes, read around the
# page cache (the target writes them with bios: cached pages of an earlier
# buffered read would be stale).
legs_equal() {
	cmp -s <(dd if=/dev/ram$1 bs=1M iflag=direct status=none) <(dd if=/dev/ram$2 bs=1M iflag=direct status=none)
}

# sync_wait DEV: waits (up to 2 minutes) until no sync action runs.
sync_wait() {
	local i
	for i in $(seq 1 600); do
		[ "$(field "$1" 5)" = idle ] && return 0
		sleep 0.2
	done
	fail "$1: the sync did not end: $(dmsetup status "$1")"
}

# done_sectors DEV: how far the sync action has come.
done_sectors() {
	field "$1" 4 | cut -d/ -f1
}

dust_count() {
	dmsetup message "$1" 0 countbadblocks 2>&1 | sed -n 's/.*countbadblocks: \([0-9]*\) badblock.*/\1/p'
}

test_table_errors() {
	local bad
	for bad in "raid5 1 128 2 - /dev/ram0 - /dev/ram1" "raid1 1 128 2 /dev/ram2 /dev/ram0 - /dev/ram1" \
		"raid10 1 100 4 - /dev/ram0 - /dev/ram1 - /dev/ram2 - /dev/ram3" "raid1 1 128 1 - /dev/ram0" \
		"raid1 3 128 max_read_errors x 2 - /dev/ram0 - /dev/ram1" \
		"raid1 3 128 rebuild 2 2 - /dev/ram0 - /dev/ram1" "raid1 1 128 3 - /dev/ram0 - /dev/ram1" \
		"raid1 5 128 rebuild 0 rebuild 1 2 - /dev/ram0 - /dev/ram1" \
		"raid1 5 128 min_recovery_rate 10 max_recovery_rate 5 2 - /dev/ram0 - /dev/ram1" \
		"raid1 1 128 2 - - - -" "raid10 3 128 raid10_copies 3 2 - /dev/ram0 - /dev/ram1" \
		"raid1 1 128 2 - /dev/ram0 - /dev/nonexistent" "raid1 1 128 2 - /dev/ram0 - /dev/ram1 extra"; do
		! dmsetup create bad --table "0 $LEG_SECTORS raid_rs $bad" 2>/dev/null || fail "accepted: $bad"
	done
	! dmsetup create bad --table "0 $((LEG_SECTORS + 8)) raid_rs raid1 1 128 2 - /dev/ram0 - /dev/ram1" \
		2>/dev/null || fail "accepted a device larger than the array"
	dmesg | grep -q 'Unrecognised raid_type\|raid_rs.*raid_type' || fail "no error message for raid5"
	raid1 r /dev/ram0 /dev/ram1 max_read_errors 7
	line=$(dmsetup table r)
	# dm-raid prints a raid1's chunk size as 0 (it ignores the parameter).
	echo "$line" | grep -Eq "raid_rs raid1 3 0 max_read_errors 7 2 - [0-9]+:[0-9]+ - [0-9]+:[0-9]+$" ||
		fail "table: $line"
	# What dmsetup table prints loads again.
	dmsetup reload r --table "$line" || fail "the printed table does not reload: $line"
	dmsetup resume r
	dmsetup remove r
}

test_raid1_round_trip() {
	zero_legs
	raid1 r /dev/ram0 /dev/ram1
	[ "$(field r 1) $(field r 2) $(field r 3)" = "raid1 2 AA" ] || fail "status: $(dmsetup status r)"
	before=$(iostat r)
	put /dev/mapper/r 3 8
	same /dev/mapper/r 3 8
	[ "$(iostat r)" -gt "$before" ] || fail "dm stat did not move"
	# Both legs hold the copy.
	same /dev/ram0 3 8
	same /dev/ram1 3 8
	[ "$(field r 9) $(field r 10)" = "0:0 0:0" ] || fail "error counts: $(dmsetup status r)"
	dmsetup remove r
}

# raid10 near, 4 legs, 2 copies, 64 KiB chunks: chunk c sits on legs 2c
# and 2c+1 (mod 4) at (c / 2) chunks in: legs 0 and 1 hold the same bytes,
# as do legs 2 and 3, and each pair holds every other chunk.
test_raid10_near_layout_and_degraded() {
	zero_legs
	size=$((2 * LEG_SECTORS))
	mkdev r10 "0 $size raid_rs raid10 3 128 raid10_copies 2 4 - /dev/ram0 - /dev/ram1 - /dev/ram2 - /dev/ram3"
	[ "$(field r10 1) $(field r10 3)" = "raid10 AAAA" ] || fail "status: $(dmsetup status r10)"
	put /dev/mapper/r10 0 16
	same /dev/mapper/r10 0 16
	legs_equal 0 1 || fail "legs 0 and 1 differ"
	legs_equal 2 3 || fail "legs 2 and 3 differ"
	# Chunk 1 (the second 64 KiB) is the first chunk of legs 2/3.
	cmp <(dd if=/dev/ram2 bs=64k count=1 status=none) <(dd if=/tmp/raid-data bs=64k skip=1 count=1 status=none) ||
		fail "chunk 1 is not at the start of leg 2"
	dmsetup remove r10
	# md's dm-raid refuses raid10 without metadata devices in 7.2; ours runs
	# it, also with a leg missing.
	mkdev r10 "0 $size raid_rs raid10 3 128 raid10_copies 2 4 - /dev/ram0 - - - /dev/ram2 - /dev/ram3"
	[ "$(field r10 3)" = "A-AA" ] || fail "degraded status: $(dmsetup status r10)"
	same /dev/mapper/r10 0 16
	put /dev/mapper/r10 0 4
	same /dev/mapper/r10 0 4
	dmsetup remove r10
	# Two missing legs of one pair leave chunks without a copy: refused.
	! dmsetup create bad --table "0 $size raid_rs raid10 3 128 raid10_copies 2 4 - - - - - /dev/ram2 - /dev/ram3" \
		2>/dev/null || fail "raid10 without a copy of every chunk accepted"
	# raid1 with a missing leg.
	put /dev/ram0 0 4
	mkdev r "0 $LEG_SECTORS raid_rs raid1 1 128 2 - /dev/ram0 - -"
	[ "$(field r 3)" = "A-" ] || fail "degraded raid1 status: $(dmsetup status r)"
	same /dev/mapper/r 0 4
	dmsetup remove r
}

# 16 bad 4 KiB blocks on leg 0: every read returns the right bytes, each
# block is rewritten from leg 1 (dm-dust drops a block from its list when
# it is written) and counted as corrected, and the leg stays in.
test_read_errors_corrected() {
	zero_legs
	mkdev d0 "0 $LEG_SECTORS dust /dev/ram0 0 4096"
	mkdev d1 "0 $LEG_SECTORS dust /dev/ram1 0 4096"
	raid1 r /dev/mapper/d0 /dev/mapper/d1
	put /dev/mapper/r 0 8
	dmsetup message d0 0 quiet >/dev/null 2>&1 || true
	for b in $(seq 10 37 600); do dmsetup message d0 0 addbadblock "$b"; done
	[ "$(dust_count d0)" = 16 ] || fail "dust has $(dust_count d0) bad blocks, not 16"
	dmsetup message d0 0 enable
	# One reader, 4 KiB at a time: ties go to leg 0, so every bad block is met.
	same /dev/mapper/r 0 8
	[ "$(dust_count d0)" = 0 ] || fail "$(dust_count d0) bad blocks were not rewritten"
	[ "$(field r 3)" = AA ] || fail "a leg was failed: $(dmsetup status r)"
	[ "$(field r 9)" = "16:0" ] || fail "corrected count: $(dmsetup status r)"
	echo "info: $(dmsetup message r 0 stats)"
	# Rewritten in place: leg 0 itself holds the data again.
	dmsetup message d0 0 disable
	same /dev/ram0 0 8
	dmsetup remove r
	dmsetup remove d0 d1
}

# The same block bad on both copies: that range reads as EIO, the rest
# serves; a write of the range makes it readable again.
test_bad_on_every_copy() {
	zero_legs
	mkdev d0 "0 $LEG_SECTORS dust /dev/ram0 0 4096"
	mkdev d1 "0 $LEG_SECTORS dust /dev/ram1 0 4096"
	raid1 r /dev/mapper/d0 /dev/mapper/d1
	put /dev/mapper/r 0 4
	for d in d0 d1; do
		dmsetup message $d 0 quiet >/dev/null 2>&1 || true
		dmsetup message $d 0 addbadblock 100
		dmsetup message $d 0 enable
	done
	# A 64 KiB read over it fails: once both copies failed it, only the
	# bad block is marked (each leg's blocks probed one by one).
	! dd if=/dev/mapper/r of=/dev/null bs=64k skip=6 count=1 iflag=direct status=none 2>/dev/null ||
		fail "a block bad on every copy read fine"
	dd if=/dev/mapper/r of=/dev/null bs=4k skip=97 count=1 iflag=direct status=none ||
		fail "a good block next to the bad one fails (the whole read was marked bad)"
	dd if=/dev/mapper/r of=/dev/null bs=64k skip=7 count=1 iflag=direct status=none ||
		fail "the next 64 KiB fail"
	cmp <(dd if=/dev/mapper/r bs=4k count=100 iflag=direct status=none) \
		<(head -c $((100 * 4096)) /tmp/raid-data) || fail "the blocks before the bad one"
	cmp <(dd if=/dev/mapper/r bs=4k skip=101 count=100 iflag=direct status=none) \
		<(dd if=/tmp/raid-data bs=4k skip=101 count=100 status=none) || fail "the blocks after the bad one"
	[ "$(field r 3)" = AA ] || fail "a leg was failed: $(dmsetup status r)"
	[ "$(field r 9) $(field r 10)" = "0:1 0:1" ] || fail "uncorrectable counts: $(dmsetup status r)"
	# Known bad now: the next read fails at once, still EIO.
	! dd if=/dev/mapper/r of=/dev/null bs=4k skip=100 count=1 iflag=direct status=none 2>/dev/null ||
		fail "the bad block read fine the second time"
	dd if=/tmp/raid-data of=/dev/mapper/r bs=4k seek=100 skip=100 count=1 oflag=direct status=none ||
		fail "write over the bad block"
	same /dev/mapper/r 0 4
	dmsetup remove r
	dmsetup remove d0 d1
}

# A burst of 64 bad blocks with max_read_errors 2: corrected errors do not
# count against max_read_errors (md's would fail the leg at the third), but
# the burst guard (8 x 2 = 16) fails the leg at the 17th, with an event; the
# array goes on serving every byte from leg 1.
test_error_burst_fails_the_leg() {
	zero_legs
	mkdev d0 "0 $LEG_SECTORS dust /dev/ram0 0 4096"
	raid1 r /dev/mapper/d0 /dev/ram1 max_read_errors 2
	put /dev/mapper/r 0 4
	dmsetup message d0 0 quiet >/dev/null 2>&1 || true
	for b in $(seq 1 64); do dmsetup message d0 0 addbadblock "$b"; done
	dmsetup message d0 0 enable
	ev=$(events r)
	same /dev/mapper/r 0 4
	[ "$(field r 3)" = DA ] || fail "leg 0 not failed: $(dmsetup status r)"
	[ "$(field r 9)" = "17:0" ] || fail "corrected count: $(dmsetup status r)"
	left=$(dust_count d0)
	[ "$left" = 47 ] || fail "$left bad blocks left, expected 47 (17 rewritten)"
	[ "$(events r)" -gt "$ev" ] || fail "no event for the failed leg"
	dmesg | grep -q 'raid_rs: leg 0: read errors exceeded the threshold \[cur 17:max 16\]' ||
		fail "no threshold message"
	# The last copy is never failed.
	! dmsetup message r 0 fail 1 2>/dev/null || fail "the last copy was failed"
	same /dev/mapper/r 0 4
	dmsetup remove r
	dmsetup remove d0
}

# md's decay on the injected clock: the count halves per whole hour since
# the last error and is forgotten after 32 hours.
test_error_decay() {
	zero_legs
	mkdev d0 "0 $LEG_SECTORS dust /dev/ram0 0 4096"
	raid1 r /dev/mapper/d0 /dev/ram1
	put /dev/mapper/r 0 4
	dmsetup message d0 0 quiet >/dev/null 2>&1 || true
	for b in $(seq 1 10); do dmsetup message d0 0 addbadblock "$b"; done
	dmsetup message d0 0 enable
	same /dev/mapper/r 0 4
	[ "$(field r 9)" = "10:0" ] || fail "count: $(dmsetup status r)"
	dmsetup message r 0 clock_advance 3600
	[ "$(field r 9)" = "5:0" ] || fail "not halved after an hour: $(dmsetup status r)"
	dmsetup message r 0 clock_advance 7200
	[ "$(field r 9)" = "1:0" ] || fail "not halved twice more: $(dmsetup status r)"
	# One more error decays from there: 10 >> 3 = 1, then + 1.
	dmsetup message d0 0 addbadblock 200
	dd if=/dev/mapper/r of=/dev/null bs=4k skip=200 count=1 iflag=direct status=none || fail "read"
	[ "$(field r 9)" = "2:0" ] || fail "decay before the new error: $(dmsetup status r)"
	dmsetup message r 0 clock_advance $((32 * 3600))
	[ "$(field r 9)" = "0:0" ] || fail "not forgotten after 32 hours: $(dmsetup status r)"
	dmsetup remove r
	dmsetup remove d0
}

# Writes that fail on one leg (dm-flakey) fail the leg, with an event, and
# the writes succeed on the other copy.
test_write_errors_fail_the_leg() {
	zero_legs
	mkdev f1 "0 $LEG_SECTORS flakey /dev/ram1 0 0 5 1 error_writes"
	raid1 r /dev/ram0 /dev/mapper/f1
	ev=$(events r)
	put /dev/mapper/r 0 4
	[ "$(field r 3)" = AD ] || fail "leg 1 not failed: $(dmsetup status r)"
	[ "$(events r)" -gt "$ev" ] || fail "no event for the failed leg"
	same /dev/mapper/r 0 4
	dmsetup message r 0 stats | grep -q 'write_errors [1-9]' || fail "stats: $(dmsetup message r 0 stats)"
	dmsetup remove r
	# Both legs failing: the write fails, the last copy stays in.
	mkdev f0 "0 $LEG_SECTORS flakey /dev/ram0 0 0 5 1 error_writes"
	raid1 r /dev/mapper/f0 /dev/mapper/f1
	! dd if=/tmp/raid-data of=/dev/mapper/r bs=4k count=1 oflag=direct status=none 2>/dev/null ||
		fail "a write no copy took succeeded"
	[ "$(field r 3)" = DA ] || [ "$(field r 3)" = AD ] || fail "status: $(dmsetup status r)"
	dmsetup remove r
	dmsetup remove f0 f1
}

# raid10 near, 3 legs: chunk c on legs 2c and 2c+1 (mod 3). With leg 2
# failed, leg 0 holds the last copy of chunk 1 and cannot go. A write to
# chunk 0 that fails on leg 0 and lands on leg 1 succeeds (md's rule: one
# copy took it), and chunk 0 is marked bad on leg 0, whose copy is stale:
# reads must return the new bytes, and chunk 1 still reads from leg 0.
test_raid10_write_error_on_a_leg_that_cannot_fail() {
	zero_legs
	mkdev f0 "0 $LEG_SECTORS flakey /dev/ram0 0 1000 0"
	mkdev r10 "0 $LEG_SECTORS raid_rs raid10 3 128 raid10_copies 2 3 - /dev/mapper/f0 - /dev/ram1 - /dev/ram2"
	put /dev/mapper/r10 0 1
	dmsetup message r10 0 fail 2
	[ "$(field r10 3)" = AAD ] || fail "status: $(dmsetup status r10)"
	dmsetup load f0 --table "0 $LEG_SECTORS flakey /dev/ram0 0 0 5 1 error_writes"
	dmsetup suspend f0
	dmsetup resume f0
	dd if=/tmp/raid-data of=/dev/mapper/r10 bs=64k skip=4 count=1 oflag=direct status=none ||
		fail "a write one copy took failed"
	[ "$(field r10 3)" = AAD ] || fail "leg 0 was failed (it holds the last copy of chunk 1): $(dmsetup status r10)"
	cmp <(dd if=/dev/mapper/r10 bs=64k count=1 iflag=direct status=none) \
		<(dd if=/tmp/raid-data bs=64k skip=4 count=1 status=none) || fail "chunk 0 reads stale data"
	cmp <(dd if=/dev/mapper/r10 bs=64k skip=1 count=1 iflag=direct status=none) \
		<(dd if=/tmp/raid-data bs=64k skip=1 count=1 status=none) || fail "chunk 1"
	dmsetup remove r10
	dmsetup remove f0
}

test_fail_and_recover_messages() {
	zero_legs
	raid1 r /dev/ram0 /dev/ram1
	put /dev/mapper/r 0 2
	ev=$(events r)
	dmsetup message r 0 fail 0 || fail "fail 0 refused"
	[ "$(field r 3)" = DA ] || fail "status: $(dmsetup status r)"
	[ "$(events r)" -gt "$ev" ] || fail "no event"
	! dmsetup message r 0 fail 1 2>/dev/null || fail "the last copy was failed"
	! dmsetup message r 0 fail 2 2>/dev/null || fail "leg 2 of 2 accepted"
	! dmsetup message r 0 recover 1 2>/dev/null || fail "recover of a leg in service accepted"
	same /dev/mapper/r 0 2
	# Written while leg 0 is out: only a rebuild puts it there.
	put /dev/mapper/r 8 4
	ev=$(events r)
	dmsetup message r 0 recover 0 || fail "recover refused"
	sync_wait r
	[ "$(field r 3)" = AA ] || fail "status after recover: $(dmsetup status r)"
	[ "$(events r)" -gt "$ev" ] || fail "no event for the recover"
	legs_equal 0 1 || fail "leg 0 was not rebuilt"
	! dmsetup message r 0 recover 2>/dev/null || fail "recover without a leg accepted"
	! dmsetup message r 0 reshape 2>/dev/null || fail "reshape accepted"
	dmsetup remove r
}

# A replaced leg is rebuilt from the other (table: rebuild 0), slowly
# (4 MiB/s). Leg 0 holds other bytes everywhere (random), so every read
# sent to it before the rebuild reached the range returns wrong data (and
# ties between the legs go to leg 0). Meanwhile the status shows the leg
# `a`, the action `recover` and its progress; a suspend and `frozen` stop
# the rebuild where it is, a resume and `idle` go on; writes go on, with
# the rebuild's copies held 100 ms between read and write so that writes
# overtake some. At the end the legs are equal.
test_rebuild_a_replaced_leg() {
	zero_legs
	raid1 r /dev/ram0 /dev/ram1
	put /dev/mapper/r 48 16
	dmsetup remove r
	dd if=/dev/urandom of=/dev/ram0 bs=1M count=64 oflag=direct status=none
	raid1 r /dev/ram0 /dev/ram1 rebuild 0 max_recovery_rate 4096
	[ "$(field r 3) $(field r 5)" = "aA recover" ] || fail "status in the rebuild: $(dmsetup status r)"
	same /dev/mapper/r 48 16
	dmsetup suspend r
	p1=$(done_sectors r)
	! dmsetup message r 0 check 2>/dev/null || fail "check accepted while suspended"
	sleep 1
	p2=$(done_sectors r)
	dmsetup resume r
	[ "$p1" = "$p2" ] || fail "the rebuild went on while suspended: $p1, then $p2"
	[ "$p1" -gt 0 ] && [ "$p1" -lt "$LEG_SECTORS" ] || fail "progress $p1 of $LEG_SECTORS"
	dmsetup message r 0 frozen
	[ "$(field r 5)" = frozen ] || fail "not frozen: $(dmsetup status r)"
	p1=$(done_sectors r)
	sleep 1
	[ "$(done_sectors r)" = "$p1" ] || fail "the rebuild went on while frozen"
	ev0=$(events r)
	# Random writes over the 8 MiB the rebuild copies next, verified as
	# they go (verify_backlog), for 8 s. The rebuild thaws only once they
	# reach the array, so it copies into them, behind and ahead of them and
	# into the piece it holds: its copies wait 100 ms between read and
	# write, and each sees writes of its piece. A rebuild started before the
	# writes could pass the range before fio gets going (it did, once).
	at=$(($(done_sectors r) / 2048))
	dmsetup message r 0 repair_delay 100
	w0=$(writes_of r)
	fio --name=writer --filename=/dev/mapper/r --direct=1 --ioengine=psync --rw=randwrite --bs=4k \
		--offset=${at}M --size=8M --time_based --runtime=8 --verify=crc32c --verify_backlog=64 \
		--verify_fatal=1 --output=/tmp/raid-fio-w >/dev/null 2>&1 &
	writer=$!
	for _ in $(seq 1 100); do
		[ "$(writes_of r)" -gt "$w0" ] && break
		sleep 0.1
	done
	[ "$(writes_of r)" -gt "$w0" ] || fail "the writes did not start"
	dmsetup message r 0 idle
	wait "$writer" || { tail -n 20 /tmp/raid-fio-w; fail "writes during the rebuild"; }
	dmsetup message r 0 repair_delay 0
	echo "info: after the writes: $(dmsetup status r), $(dmsetup message r 0 stats)"
	[ "$(done_sectors r)" -gt $(((at + 1) * 2048)) ] || fail "the rebuild did not go on into the writes"
	dmsetup message r 0 stats | grep -q 'repair_races [1-9]' || fail "no write overtook a copy"
	sync_wait r
	[ "$(field r 3)" = AA ] || fail "status after the rebuild: $(dmsetup status r)"
	[ "$(events r)" -gt "$ev0" ] || fail "no event at the end of the rebuild"
	legs_equal 0 1 || fail "the legs differ after the rebuild"
	same /dev/mapper/r 48 16
	dmsetup remove r
}

# Rebuild in every raid10 layout: a leg's sectors map to other array
# sectors in each. Reads during the rebuild (8 MiB/s) avoid what the leg
# does not hold yet; a check afterwards compares every copy of every chunk.
test_raid10_rebuild_each_layout() {
	local fmt size=$((2 * LEG_SECTORS)) legs="4 - /dev/ram0 - /dev/ram1 - /dev/ram2 - /dev/ram3"
	for fmt in near far offset; do
		zero_legs
		mkdev r10 "0 $size raid_rs raid10 5 128 raid10_copies 2 raid10_format $fmt $legs"
		put /dev/mapper/r10 0 16
		put /dev/mapper/r10 100 16
		dmsetup remove r10
		dd if=/dev/zero of=/dev/ram2 bs=1M count=64 oflag=direct status=none
		mkdev r10 "0 $size raid_rs raid10 9 128 raid10_copies 2 raid10_format $fmt rebuild 2 max_recovery_rate 8192 $legs"
		# Leg 2 is zeros: reads the rebuild has not reached avoid it.
		same /dev/mapper/r10 100 16
		sync_wait r10
		[ "$(field r10 3)" = AAAA ] || fail "$fmt: status after the rebuild: $(dmsetup status r10)"
		dmsetup message r10 0 check
		sync_wait r10
		[ "$(field r10 6)" = 0 ] || fail "$fmt: copies differ after the rebuild: $(dmsetup status r10)"
		same /dev/mapper/r10 0 16
		same /dev/mapper/r10 100 16
		dmsetup remove r10
	done
}

# check counts the sectors where the copies differ and changes nothing;
# repair counts (in `stats`: dm-raid's status shows a check's count only)
# and fixes them; frozen stops sync actions, a new one thaws them; the
# table's `sync` resyncs the legs from the first.
test_check_and_repair_mismatches() {
	zero_legs
	raid1 r /dev/ram0 /dev/ram1
	put /dev/mapper/r 0 16
	dmsetup remove r
	# Three 4 KiB blocks of leg 1 change behind the array's back.
	dd if=/dev/urandom of=/dev/ram1 bs=4k seek=10 count=1 oflag=direct conv=notrunc status=none
	dd if=/dev/urandom of=/dev/ram1 bs=4k seek=1000 count=2 oflag=direct conv=notrunc status=none
	raid1 r /dev/ram0 /dev/ram1
	dmsetup message r 0 check || fail "check refused"
	sync_wait r
	[ "$(field r 6)" = 24 ] || fail "mismatch_cnt after check: $(dmsetup status r)"
	! legs_equal 0 1 || fail "check changed a leg"
	dmsetup message r 0 frozen
	[ "$(field r 5)" = frozen ] || fail "not frozen: $(dmsetup status r)"
	dmsetup message r 0 repair || fail "repair refused"
	sync_wait r
	[ "$(field r 6)" = 0 ] || fail "mismatch_cnt after repair: $(dmsetup status r)"
	dmsetup message r 0 stats | grep -q 'mismatches 24 ' || fail "repair's count: $(dmsetup message r 0 stats)"
	legs_equal 0 1 || fail "repair left the legs different"
	dmsetup message r 0 check
	sync_wait r
	[ "$(field r 6)" = 0 ] || fail "mismatch_cnt after the repair's check: $(dmsetup status r)"
	same /dev/mapper/r 0 16
	dmsetup remove r
	# Leg 1 all other bytes: `sync` in the table makes it leg 0's copy.
	dd if=/dev/urandom of=/dev/ram1 bs=1M count=64 oflag=direct status=none
	raid1 r /dev/ram0 /dev/ram1 sync
	sync_wait r
	legs_equal 0 1 || fail "the table's sync left the legs different"
	same /dev/mapper/r 0 16
	dmsetup remove r
}

# Recovery under load: 2 verifying fio readers and a verifying writer on
# another range while 200 bad blocks on leg 0 are met; a suspend/resume in
# the middle, then a remove while reads are still being repaired. No hang
# (the VM's timeout), no lockdep report, no wrong byte.
test_recovery_under_load_suspend_and_remove() {
	zero_legs
	mkdev d0 "0 $LEG_SECTORS dust /dev/ram0 0 4096"
	# 200 corrected errors in a burst would trip the guard (8 x 20): allow
	# more here, this test is about concurrency.
	raid1 r /dev/mapper/d0 /dev/ram1 max_read_errors 100
	# Each 4 KiB block carries fio's verify header; the readers replay the
	# fill (verify_only) and check every block, both at once, three times.
	fio --name=fill --filename=/dev/mapper/r --direct=1 --ioengine=psync --rw=write --bs=4k \
		--size=32M --verify=crc32c --do_verify=0 --output=/tmp/raid-fio >/dev/null 2>&1 || fail "fill failed"
	dmsetup message d0 0 quiet >/dev/null 2>&1 || true
	for b in $(seq 3 41 8191); do dmsetup message d0 0 addbadblock "$b"; done
	dmsetup message d0 0 enable
	fio --name=fill --filename=/dev/mapper/r --direct=1 --ioengine=psync --rw=write --bs=4k \
		--size=32M --numjobs=2 --loops=3 --verify=crc32c --verify_only --verify_fatal=1 \
		--output=/tmp/raid-fio-r >/dev/null 2>&1 &
	readers=$!
	fio --name=writer --filename=/dev/mapper/r --direct=1 --ioengine=psync --rw=randwrite --bs=16k \
		--offset=32M --size=16M --verify=crc32c --verify_fatal=1 \
		--output=/tmp/raid-fio-w >/dev/null 2>&1 &
	writer=$!
	# Repairs held open 300 ms each: the suspend meets some in flight.
	dmsetup message r 0 repair_delay 300
	sleep 2
	kill -0 "$readers" || fail "the readers were done before the suspend"
	dmsetup suspend r || fail "suspend during recovery"
	sleep 1
	dmsetup resume r || fail "resume"
	dmsetup message r 0 repair_delay 0
	wait "$readers" || { tail -n 20 /tmp/raid-fio-r; fail "readers' verify failed"; }
	wait "$writer" || { tail -n 20 /tmp/raid-fio-w; fail "writer's verify failed"; }
	[ "$(field r 3)" = AA ] || fail "a leg was failed: $(dmsetup status r)"
	dmsetup message r 0 stats | grep -Eq 'read_errors [1-9][0-9]{2}' || fail "few repairs: $(dmsetup message r 0 stats)"
	echo "info: $(dmsetup status r) / $(dmsetup message r 0 stats) / $(dust_count d0) bad blocks left"
	# Remove with repairs in flight: reads meet new bad blocks while the
	# device goes away (dmsetup remove retries while it is open).
	for b in $(seq 5 13 8191); do dmsetup message d0 0 addbadblock "$b" >/dev/null 2>&1 || true; done
	dd if=/dev/mapper/r of=/dev/null bs=4k count=4096 iflag=direct status=none &
	reader=$!
	sleep 0.5
	dmsetup remove --retry r >/dev/null 2>&1 || true
	wait "$reader" || true
	dmsetup remove --retry r >/dev/null 2>&1 || true
	! dmsetup info r >/dev/null 2>&1 || fail "the array could not be removed"
	dmsetup remove d0
}

# A repair racing a write of the same block: a repair copies leg 1 to leg
# 0; a write that lands between its read of leg 1 and its write of leg 0
# would be undone on leg 0 alone, and the legs would differ for good. The
# `repair_delay` hook holds the repair 1 s in that window while a write of
# the block goes through; the repair must notice and copy again.
test_repair_racing_a_write_keeps_the_legs_equal() {
	zero_legs
	mkdev d0 "0 $LEG_SECTORS dust /dev/ram0 0 4096"
	raid1 r /dev/mapper/d0 /dev/ram1
	put /dev/mapper/r 0 1
	dmsetup message r 0 repair_delay 1000
	dmsetup message d0 0 quiet >/dev/null 2>&1 || true
	dmsetup message d0 0 addbadblock 5
	dmsetup message d0 0 enable
	dd if=/dev/mapper/r of=/tmp/raid-read bs=4k skip=5 count=1 iflag=direct status=none &
	reader=$!
	sleep 0.5
	dd if=/dev/urandom of=/tmp/raid-new bs=4k count=1 status=none
	dd if=/tmp/raid-new of=/dev/mapper/r bs=4k seek=5 count=1 oflag=direct status=none || fail "write"
	wait "$reader" || fail "the read of the bad block failed"
	cmp /tmp/raid-read <(dd if=/tmp/raid-data bs=4k skip=5 count=1 status=none) ||
		fail "the read returned other bytes than the ones before the write"
	dmsetup message d0 0 disable
	cmp <(dd if=/dev/ram0 bs=4k skip=5 count=1 iflag=direct status=none) /tmp/raid-new ||
		fail "leg 0 lost the write (the repair undid it)"
	cmp <(dd if=/dev/ram1 bs=4k skip=5 count=1 iflag=direct status=none) /tmp/raid-new || fail "leg 1"
	dmsetup message r 0 stats | grep -q 'repair_races [1-9]' || fail "no race seen: $(dmsetup message r 0 stats)"
	[ "$(field r 9)" = "1:0" ] || fail "corrected count: $(dmsetup status r)"
	dmsetup remove r
	dmsetup remove d0
}

setup || exit 1
ktap_run test_table_errors test_raid1_round_trip test_raid10_near_layout_and_degraded \
	test_read_errors_corrected test_bad_on_every_copy test_error_burst_fails_the_leg test_error_decay \
	test_write_errors_fail_the_leg test_raid10_write_error_on_a_leg_that_cannot_fail \
	test_fail_and_recover_messages test_rebuild_a_replaced_leg test_raid10_rebuild_each_layout \
	test_check_and_repair_mismatches test_recovery_under_load_suspend_and_remove test_repair_racing_a_write_keeps_the_legs_equal
