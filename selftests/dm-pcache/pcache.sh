#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Selftests of the Rust dm-pcache target (runs inside the test VM): table
# errors, format and round trips through the cache, persistence across
# remove/create (replay), write-back to the backing device, GC and
# write-back under pressure with fio verify, data CRCs, and media moved
# between the upstream C target and ours in both directions. `pcache
# check` (tools/pcache) checks the media after each test that leaves a
# cache behind.
#
# The cache is /dev/pmem0 (600 MiB: 37 segments of 16 MiB), the backing
# device a 64 MiB RAM disk. Both modules register the target name
# `pcache`, so only one of them is loaded at a time.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../ktap.sh"

PMEM=/dev/pmem0
BACKING=/dev/ram0
BACKING_SECTORS=131072
# Byte offset on pmem0 of the first data segment's data (segment 1: the
# key log starts in segment 0): 20 KiB of metadata, 16 MiB per segment,
# 12 KiB of segment metadata.
DATA_SEG1=$((20480 + 16777216 + 12288))

setup() {
	load_kmod brd rd_nr=2 rd_size=65536
	load_kmod dm-delay
	[ -b "$PMEM" ] || { echo "no $PMEM"; return 1; }
	head -c $((4 << 20)) /dev/urandom > /tmp/pc-data
}

cleanup() {
	dmsetup remove_all >/dev/null 2>&1
	true
}

use_rust() {
	grep -q '^dm_pcache ' /proc/modules && rmmod dm_pcache
	load_ours dm_pcache_rs
}

use_c() {
	grep -q '^dm_pcache_rs ' /proc/modules && rmmod dm_pcache_rs
	load_kmod dm-pcache
}

# fresh: zero what makes pmem0 a cache (the superblock area) and the backing.
fresh() {
	dd if=/dev/zero of="$PMEM" bs=1M count=1 oflag=direct status=none
	dd if=/dev/zero of="$BACKING" bs=1M count=64 oflag=direct status=none
}

create_pc() {
	mkdev "$1" "0 $BACKING_SECTORS pcache $PMEM ${PC_BACKING:-$BACKING} ${2:-}"
}

# field DEV N: the Nth field of the target's status (1: sb_flags).
field() {
	dmsetup status "$1" | awk -v n="$2" '{print $(n + 3)}'
}

iostat() {
	local minor
	minor=$(dmsetup info -c --noheadings -o minor "$1")
	awk '{print $1 + $5}' "/sys/block/dm-$minor/stat"
}

# wait_clean DEV: until everything is written back (dirty_tail == key_head).
wait_clean() {
	local i
	for i in $(seq 1 120); do
		[ "$(field "$1" 7)" = "$(field "$1" 8)" ] && return 0
		sleep 0.5
	done
	fail "write-back did not finish: key_head $(field "$1" 7) dirty_tail $(field "$1" 8)"
}

# check_media [clean]: the host tool finds the cache consistent (exit 0:
# clean, 1: dirty data pending; with `clean`, only 0); the page cache of
# pmem0 is dropped first, DAX stores bypass it.
check_media() {
	local rc=0 max=1
	[ "${1:-}" = clean ] && max=0
	echo 3 > /proc/sys/vm/drop_caches
	pcache check "$PMEM" --backing-size "${PC_BACKING_BYTES:-$((BACKING_SECTORS * 512))}" > /tmp/pc-check 2>&1 || rc=$?
	[ "$rc" -le "$max" ] || { cat /tmp/pc-check; fail "pcache check: exit $rc"; }
}

# put DEV OFFSET_MB SIZE_MB: the test data through DEV.
put() {
	dd if=/tmp/pc-data of="/dev/mapper/$1" bs=1M seek="$2" count="$3" oflag=direct status=none ||
		fail "write to $1 failed"
}

# same DEV OFFSET_MB SIZE_MB: DEV (a path) holds the test data there.
same() {
	cmp <(dd if="$1" bs=1M skip="$2" count="$3" iflag=direct status=none) \
		<(head -c $(($3 << 20)) /tmp/pc-data) || fail "$1 at $2 MiB does not hold the data"
}

# holds DATA DEV OFFSET_MB SIZE_MB DATA_MB: DEV holds the bytes of the file
# DATA from DATA_MB on there (the status; cmp says where they differ).
holds() {
	cmp <(dd if="$2" bs=1M skip="$3" count="$4" iflag=direct status=none) \
		<(dd if="$1" bs=1M skip="$5" count="$4" status=none)
}

# zeroes DEV OFFSET_MB SIZE_MB: DEV reads as zeroes there (the status).
zeroes() {
	cmp <(dd if="$1" bs=1M skip="$2" count="$3" iflag=direct status=none) <(head -c $(($3 << 20)) /dev/zero)
}

# same_at DEV OFFSET_MB SIZE_MB DATA_MB: DEV holds the test data from
# DATA_MB on there.
same_at() {
	holds /tmp/pc-data "$@" || fail "$1 at $2 MiB does not hold the data from $4 MiB on"
}

test_table_errors() {
	use_rust
	fresh
	local bad
	for bad in "$PMEM" "$PMEM $BACKING 1" "$PMEM $BACKING 5 cache_mode writeback data_crc true x" \
		"$PMEM $BACKING 2 cache_mode writethrough" "$PMEM $BACKING 1 data_crc" \
		"$PMEM $BACKING 2 data_crc yes" "$PMEM $BACKING 2 colour blue" "$PMEM $BACKING 0 extra" \
		"/dev/ram1 $BACKING" "$PMEM /dev/nonexistent"; do
		! dmsetup create bad --table "0 $BACKING_SECTORS pcache $bad" 2>/dev/null ||
			fail "accepted: $bad"
	done
	dmesg | grep -q 'pcache: Invalid cache mode parameter' || fail "no error message for the cache mode"
	! dmsetup create bad --table "0 $((BACKING_SECTORS + 8)) pcache $PMEM $BACKING" 2>/dev/null ||
		fail "accepted a device larger than the backing device"
	# One cache, one target: a second table on the same pmem is refused.
	create_pc a
	! dmsetup create b --table "0 $BACKING_SECTORS pcache $PMEM /dev/ram1" 2>/dev/null ||
		fail "a second target on the same cache device"
	! dmsetup reload a --table "0 $BACKING_SECTORS pcache $PMEM $BACKING" 2>/dev/null ||
		fail "reload of a live cache accepted"
	dmsetup remove a
}

test_format_status_and_round_trip() {
	use_rust
	fresh
	create_pc pc
	# sb_flags seg_num n_segs used gc_percent flags key_head dirty_tail key_tail
	[ "$(field pc 2) $(field pc 3) $(field pc 5)" = "37 37 70" ] || fail "status: $(dmsetup status pc)"
	[ "$(field pc 7)" = 0:0 ] || fail "a new cache's key head is not 0:0"
	dmsetup table pc | grep -q " 4 cache_mode writeback data_crc false$" ||
		fail "table: $(dmsetup table pc)"
	before=$(iostat pc)
	put pc 1 4
	same /dev/mapper/pc 1 4
	[ "$(iostat pc)" -gt "$before" ] || fail "dm stat did not move"
	[ "$(field pc 11)" -ge 8192 ] || fail "reads were not served from the cache: $(dmsetup status pc)"
	# A read half in the cache, half not: the gap comes from the backing device.
	cmp <(dd if=/dev/mapper/pc bs=1M skip=0 count=2 iflag=direct status=none | tail -c +$((1048576 + 1))) \
		<(head -c 1048576 /tmp/pc-data) || fail "a read across cached and uncached data"
	# Overwrites: the newest data wins, also inside older extents.
	dd if=/dev/zero of=/dev/mapper/pc bs=4k seek=$((256 + 3)) count=2 oflag=direct status=none
	cmp <(dd if=/dev/mapper/pc bs=4k skip=$((256 + 3)) count=2 iflag=direct status=none) \
		<(head -c 8192 /dev/zero) || fail "an overwrite inside a cached extent"
	dmsetup remove pc
	check_media
}

test_persists_across_remove_and_create() {
	use_rust
	fresh
	create_pc pc
	put pc 8 4
	dmsetup remove pc
	check_media
	create_pc pc
	[ "$(field pc 10)" -gt 0 ] || fail "no keys replayed: $(dmsetup status pc)"
	same /dev/mapper/pc 8 4
	dmsetup remove pc
}

test_writeback_reaches_the_backing_device() {
	use_rust
	fresh
	create_pc pc
	put pc 16 4
	# Keys reach the log within a second; write-back starts within 5 s.
	sleep 2
	wait_clean pc
	same "$BACKING" 16 4
	# The flush message returns once everything is written back.
	put pc 24 4
	dmsetup message pc 0 flush || fail "flush message failed"
	same "$BACKING" 24 4
	[ "$(field pc 7)" = "$(field pc 8)" ] || fail "dirty data left after flush: $(dmsetup status pc)"
	dmsetup remove pc
	check_media clean
}

# Write-back (ours, beyond upstream): it waits while writes come in and
# little is dirty, writes back everything once the cache is idle (1 s
# without writes), and copies only what is still current. Data overwritten
# by a newer durable key is skipped (skipped_sectors, field 22), the
# newest version reaches the backing device; dirty_sectors (field 21)
# counts what is left to write back, also after a reopen.
test_writeback_waits_for_idle_and_skips_overwritten_data() {
	local wb0
	use_rust
	fresh
	head -c $((4 << 20)) /dev/urandom > /tmp/pc-data-old
	mkdev slow "0 $BACKING_SECTORS linear $BACKING 0"
	PC_BACKING=/dev/mapper/slow create_pc pc
	# Two versions of 0-4 MiB, each made durable by its fsync (a flush
	# closes the kset), written within the 5 s before write-back looks.
	dd if=/tmp/pc-data-old of=/dev/mapper/pc bs=1M count=4 oflag=direct conv=fsync status=none ||
		fail "write of the old version failed"
	put pc 0 4
	[ "$(field pc 21)" = 16384 ] || fail "dirty_sectors is not 8 MiB: $(dmsetup status pc)"
	dmsetup message pc 0 flush || fail "flush message failed"
	[ "$(field pc 21)" = 0 ] || fail "dirty data left after the flush: $(dmsetup status pc)"
	[ "$(field pc 22)" -ge 8192 ] || fail "the overwritten version was written back: $(dmsetup status pc)"
	same "$BACKING" 0 4
	# Random 4 KiB writes, 20 MB/s for 2 s: far below gc_percent / 2 of the cache,
	# nothing is written back while they come in; all of it once they stop.
	wb0=$(field pc 14)
	fio --name=lazy --filename=/dev/mapper/pc --direct=1 --ioengine=psync --rw=randwrite \
		--bs=4k --offset=8M --size=16M --time_based --runtime=2 --rate=20m --numjobs=1 >/dev/null 2>&1 ||
		fail "fio failed"
	[ "$(field pc 14)" = "$wb0" ] && [ "$(field pc 21)" -gt 0 ] ||
		fail "write-back ran while writes came in: $(dmsetup status pc)"
	wait_clean pc
	[ "$(field pc 21)" = 0 ] || fail "dirty_sectors after write-back: $(dmsetup status pc)"
	cmp <(dd if=/dev/mapper/pc bs=1M skip=8 count=16 iflag=direct status=none) \
		<(dd if="$BACKING" bs=1M skip=8 count=16 iflag=direct status=none) ||
		fail "the backing device does not hold what the cache does"
	# Dirty data left in the cache is counted again when it is reopened
	# (write-back is held on the suspended backing device meanwhile).
	put pc 32 4
	dmsetup remove pc
	dmsetup suspend slow
	PC_BACKING=/dev/mapper/slow create_pc pc
	[ "$(field pc 21)" = 8192 ] || { dmsetup resume slow; fail "dirty_sectors after a reopen: $(dmsetup status pc)"; }
	dmsetup resume slow
	wait_clean pc
	same "$BACKING" 32 4
	dmsetup remove pc
	dmsetup remove slow
	check_media clean
}

# Write-back also runs, while writes come in and little is dirty, once GC
# would collect but nothing is written back to collect: here clean fills
# of a 64 MiB read fill more than gc_percent 10 of the segments while a
# slow writer never leaves the cache idle. Without it the log would fill
# and writes would wait for room.
test_writeback_runs_when_gc_has_nothing_to_collect() {
	local fio_pid i wb0
	use_rust
	fresh
	create_pc pc
	dmsetup message pc 0 gc_percent 10
	# 128 KB/s of 4 KiB writes into 4 MiB: far below the 5 % dirty threshold
	# (30 MiB) for as long as the test runs.
	fio --name=trickle --filename=/dev/mapper/pc --direct=1 --ioengine=psync --rw=randwrite \
		--bs=4k --offset=60M --size=4M --time_based --runtime=120 --rate=128k --numjobs=1 \
		>/dev/null 2>&1 &
	fio_pid=$!
	sleep 2
	wb0=$(field pc 14)
	dd if=/dev/mapper/pc of=/dev/null bs=1M count=56 iflag=direct status=none
	for i in $(seq 1 60); do
		[ "$(field pc 14)" -gt "$wb0" ] && break
		sleep 0.5
	done
	if ! kill -0 "$fio_pid" 2>/dev/null || [ "$(field pc 14)" = "$wb0" ]; then
		kill "$fio_pid" 2>/dev/null || true
		wait "$fio_pid" || true
		fail "no write-back while GC had nothing to collect (or the writer ended): $(dmsetup status pc)"
	fi
	echo "info: $(dmsetup status pc)"
	kill "$fio_pid"
	wait "$fio_pid" || true
	wait_clean pc
	dmsetup remove pc
	check_media clean
}

# A read miss is kept in the cache (upstream's miss fill): the next read
# of the range is a hit, served from the cache even after the backing
# device changed under it; the fill's keys are clean (never written back),
# persist, and the C target reads them from our media.
test_read_miss_fill() {
	use_rust
	fresh
	dd if=/tmp/pc-data of="$BACKING" bs=1M seek=32 count=4 oflag=direct status=none
	create_pc pc
	same /dev/mapper/pc 32 4
	[ "$(field pc 12)" -ge 8192 ] || fail "no miss counted: $(dmsetup status pc)"
	[ "$(field pc 18)" -ge 8192 ] || fail "the misses were not filled: $(dmsetup status pc)"
	hits=$(field pc 11)
	dd if=/dev/zero of="$BACKING" bs=1M seek=32 count=4 oflag=direct status=none
	same /dev/mapper/pc 32 4
	[ "$(field pc 11)" -ge $((hits + 8192)) ] || fail "a filled range was not a hit: $(dmsetup status pc)"
	# A write over part of a filled range wins over the fill.
	dd if=/dev/zero of=/dev/mapper/pc bs=4k seek=$((32 * 256 + 5)) count=3 oflag=direct status=none
	cmp <(dd if=/dev/mapper/pc bs=4k skip=$((32 * 256 + 4)) count=5 iflag=direct status=none) \
		<(dd if=/tmp/pc-data bs=4k skip=4 count=1 status=none; head -c 12288 /dev/zero
		dd if=/tmp/pc-data bs=4k skip=8 count=1 status=none) || fail "a write over a filled range"
	# Clean keys are not written back: the backing keeps its zeros.
	dmsetup message pc 0 flush || fail "flush message failed"
	cmp <(dd if="$BACKING" bs=1M skip=33 count=3 iflag=direct status=none) \
		<(head -c $((3 << 20)) /dev/zero) || fail "a clean (filled) key was written back"
	dmsetup remove pc
	check_media clean
	create_pc pc
	same_at /dev/mapper/pc 33 3 1
	dmsetup remove pc
	use_c
	create_pc c
	same_at /dev/mapper/c 33 3 1
	dmsetup remove c
	use_rust
	check_media
}

# A fill keeps what the backing device returned, not what the reader's
# buffer holds when the fill copies it: under O_DIRECT that buffer is the
# reader's own memory, and dio-race rewrites it from a second thread while
# each read is in flight. Every later read (the ranges are hits by then)
# must still return the backing device's bytes; with the fill copying from
# the reader's pages (upstream's miss_read_end_req()), they come back as the
# scribbler's pattern.
test_read_miss_fill_ignores_the_readers_buffer() {
	use_rust
	fresh
	dd if=/tmp/pc-data of="$BACKING" bs=1M seek=40 count=4 oflag=direct status=none
	create_pc pc
	# 64 reads of 64 KiB, each a miss with its own fill.
	dio-race /dev/mapper/pc $((40 << 20)) 65536 64 0xa5 || fail "dio-race failed"
	[ "$(field pc 18)" -ge 8192 ] || fail "the racing reads were not filled: $(dmsetup status pc)"
	hits=$(field pc 11)
	# The backing device changes under the cache: what reads back now can
	# only come from the cache.
	dd if=/dev/zero of="$BACKING" bs=1M seek=40 count=4 oflag=direct status=none
	same /dev/mapper/pc 40 4
	[ "$(field pc 11)" -ge $((hits + 8192)) ] || fail "the filled ranges were not hits: $(dmsetup status pc)"
	dmsetup remove pc
	check_media
}

test_data_crc() {
	use_rust
	fresh
	create_pc pc "2 data_crc true"
	put pc 0 1
	same /dev/mapper/pc 0 1
	dmsetup remove pc
	# The option must match the media.
	! dmsetup create pc --table "0 $BACKING_SECTORS pcache $PMEM $BACKING" 2>/dev/null ||
		fail "data_crc false accepted on a data_crc cache"
	create_pc pc "2 data_crc true"
	dmsetup table pc | grep -q 'data_crc true' || fail "table: $(dmsetup table pc)"
	# Flip a byte of the cached data under the target: the read fails,
	# never returns the wrong bytes, and is counted.
	flip $((DATA_SEG1 + 100))
	! dd if=/dev/mapper/pc of=/dev/null bs=4k count=1 iflag=direct status=none 2>/dev/null ||
		fail "a read of corrupt cached data succeeded"
	[ "$(field pc 15)" -ge 1 ] || fail "no data CRC error counted: $(dmsetup status pc)"
	dmsetup remove pc
}

test_fio_verify_under_gc_and_writeback_pressure() {
	use_rust
	fresh
	# The backing device completes I/O later, from a work queue (dm-delay),
	# as real disks do: write-back must wait for completions, not count on
	# them arriving inside submit_bio as brd's do.
	mkdev slow "0 $BACKING_SECTORS delay $BACKING 0 1"
	PC_BACKING=/dev/mapper/slow create_pc pc
	dmsetup message pc 0 gc_percent 10
	[ "$(field pc 5)" = 10 ] || fail "gc_percent not set: $(dmsetup status pc)"
	! dmsetup message pc 0 gc_percent 91 2>/dev/null || fail "gc_percent 91 accepted"
	# 10 passes over 64 MiB (640 MiB written, more than the cache holds),
	# each verified: write-back and GC must make room as it goes. A reader
	# runs over the same range meanwhile: its misses are filled while the
	# writer overwrites them, and a stale fill winning over a write would
	# fail the writer's verify.
	fio --name=reader --filename=/dev/mapper/pc --direct=1 --ioengine=psync --rw=randread \
		--bs=16k --size=64M --time_based --runtime=900 --numjobs=1 >/dev/null 2>&1 &
	reader=$!
	fio --name=pressure --filename=/dev/mapper/pc --direct=1 --ioengine=psync --rw=randwrite \
		--bs=64k --size=64M --loops=10 --verify=crc32c --verify_fatal=1 --numjobs=1 \
		--output=/tmp/pc-fio >/dev/null 2>&1 || { kill "$reader"; tail -n 20 /tmp/pc-fio; fail "fio verify failed"; }
	kill "$reader"
	# Killed: its status is 143.
	wait "$reader" || true
	[ "$(field pc 18)" -gt 0 ] || fail "the reader's misses were never filled: $(dmsetup status pc)"
	[ "$(field pc 9)" != 0:0 ] || fail "GC never moved key_tail: $(dmsetup status pc)"
	[ "$(field pc 14)" -gt 0 ] || fail "no kset written back: $(dmsetup status pc)"
	[ "$(field pc 16)" = 0 ] && [ "$(field pc 17)" = 0 ] || fail "errors: $(dmsetup status pc)"
	echo "info: $(dmsetup status pc)"
	wait_clean pc
	dmsetup remove pc
	dmsetup remove slow
	check_media clean
}

# poke OFFSET BYTES...: set bytes of pmem0 (under no target), through one
# O_DIRECT read-modify-write of the 4 KiB block: a buffered write could
# write back a stale page-cache copy of the block over what DAX stored.
poke() {
	local off=$1 blk=$(($1 / 4096)) b
	shift
	dd if="$PMEM" of=/tmp/pc-blk bs=4096 skip="$blk" count=1 iflag=direct status=none
	for b in "$@"; do
		printf "\\$(printf %03o "$b")" |
			dd of=/tmp/pc-blk bs=1 seek=$((off % 4096)) conv=notrunc status=none
		off=$((off + 1))
	done
	dd if=/tmp/pc-blk of="$PMEM" bs=4096 seek="$blk" count=1 oflag=direct conv=notrunc status=none
}

# flip OFFSET: invert one byte of pmem0.
flip() {
	local b
	b=$(dd if="$PMEM" bs=4096 skip=$(($1 / 4096)) count=1 iflag=direct status=none |
		dd bs=1 skip=$(($1 % 4096)) count=1 status=none | od -An -tu1 | tr -d ' ')
	poke "$1" $((255 - b))
}

# A cache holding data A written back and data B (at the same place) not
# yet, so what a corrupted cache returns can be told apart.
two_generations() {
	fresh
	create_pc pc
	put pc 0 4
	dmsetup message pc 0 flush
	dd if=/tmp/pc-data-b of=/dev/mapper/pc bs=1M count=4 oflag=direct status=none
	dmsetup remove pc
}

# After a corruption: refused, or every MiB reads as B or (rolled back) A.
refused_or_consistent() {
	local what=$1 want=$2 i got
	if ! dmsetup create pc --table "0 $BACKING_SECTORS pcache $PMEM $BACKING" 2>/dev/null; then
		[ "$want" != accept ] || fail "$what: refused, but another copy is valid"
		return 0
	fi
	[ -b /dev/mapper/pc ] || fail "$what: no device node"
	[ "$want" != refuse ] || { dmsetup remove pc; fail "$what: accepted"; }
	for i in 0 1 2 3; do
		got=$(dd if=/dev/mapper/pc bs=1M skip=$i count=1 iflag=direct status=none | md5sum)
		[ "$got" = "$(dd if=/tmp/pc-data-b bs=1M skip=$i count=1 status=none | md5sum)" ] && continue
		[ "$want" != accept ] || fail "$what: MiB $i does not hold the newest data"
		[ "$got" = "$(dd if=/tmp/pc-data bs=1M skip=$i count=1 status=none | md5sum)" ] ||
			fail "$what: MiB $i holds neither generation"
	done
	dmsetup remove pc
}

test_corrupted_metadata_is_refused_or_rolled_back() {
	use_rust
	head -c $((4 << 20)) /dev/urandom > /tmp/pc-data-b
	local seg1=$((20480 + 16777216)) kset0=$((20480 + 12288)) case what off want
	# what:offsets:expected (accept: newest data; refuse; either: refused
	# or rolled back). No GC runs here, so key_tail has only its first copy
	# (slot 0); write-back moved dirty_tail, so both of its copies are
	# valid. A segment's older info copy (from format) has no link to the
	# next segment yet, so losing the newer one breaks the chain: refused,
	# as upstream refuses it. Slot offsets: superblock 4096, cache_info 8192 and
	# 12288, key_tail 16384/16400, dirty_tail 16416/16432, segment info
	# 20480/24576, segment 1 generation +8192/+8208, the first kset 32768.
	for case in "superblock:4100:refuse" "one cache_info copy:8196:accept" \
		"both cache_info copies:8196 12292:either" "the only key_tail copy:16388:refuse" \
		"one dirty_tail copy:16420:accept" \
		"the newest segment info copy:20484:refuse" "both segment info copies:20484 24580:refuse" \
		"a segment generation:$((seg1 + 8196)) $((seg1 + 8212)):either" \
		"the first kset's header:$((kset0 + 8)):either" "a key of the first kset:$((kset0 + 30)):either"; do
		IFS=: read -r what off want <<<"$case"
		two_generations
		for o in $off; do flip "$o"; done
		refused_or_consistent "$what" "$want"
	done
	# A torn last kset (its second key zeroed, as if the close never
	# finished): the log ends before it, B's keys are gone and the data
	# reads as A from the backing device, where it was written back.
	two_generations
	create_pc pc
	local tail=$(field pc 8)
	dmsetup remove pc
	poke $((kset0 + ${tail#*:} + 24 + 40)) $(for i in $(seq 40); do echo 0; done)
	check_media
	refused_or_consistent "the last kset torn" either
}

test_media_from_the_c_target() {
	use_c
	fresh
	create_pc c
	put c 2 4
	dmsetup remove c
	use_rust
	check_media
	create_pc pc
	same /dev/mapper/pc 2 4
	wait_clean pc
	same "$BACKING" 2 4
	dmsetup remove pc
	check_media
}

test_media_to_the_c_target() {
	use_rust
	fresh
	create_pc pc
	put pc 5 4
	dmsetup remove pc
	check_media
	use_c
	create_pc c
	same /dev/mapper/c 5 4
	dmsetup remove c
	use_rust
}

# Discard (ours; upstream has none): data A is written back, data B is
# written over it and left dirty; a discard of part of it drops the cached
# B (reads return the backing device's discarded range, which brd reads as
# zeroes), reaches the backing device (A is gone there), and write-back of
# the older dirty B skips what the discard dropped, also when it runs after
# the discard (B would show on the backing device). Data written after the discard wins, also after write-back and
# a reopen.
test_discard_drops_cached_data_and_reaches_the_backing_device() {
	local minor d0 wb0
	use_rust
	fresh
	head -c $((4 << 20)) /dev/urandom > /tmp/pc-data-b
	[ "$(cat /sys/block/ram0/queue/discard_max_bytes)" -gt 0 ] || fail "brd without discard"
	create_pc pc
	put pc 0 4
	dmsetup message pc 0 flush || fail "flush message failed"
	dd if=/tmp/pc-data-b of=/dev/mapper/pc bs=1M count=4 oflag=direct status=none || fail "write of B failed"
	minor=$(dmsetup info -c --noheadings -o minor pc)
	d0=$(awk '{print $12}' "/sys/block/dm-$minor/stat")
	wb0=$(field pc 14)
	blkdiscard -o $((1 << 20)) -l $((2 << 20)) /dev/mapper/pc || fail "discard failed"
	[ "$(awk '{print $12}' "/sys/block/dm-$minor/stat")" -gt "$d0" ] || fail "no discard reached dm-$minor"
	# brd keeps no I/O statistics: its contents tell. A or B was there.
	zeroes "$BACKING" 1 2 ||
		fail "the backing device holds data in the discarded range (the discard did not reach it, or write-back wrote there after it)"
	[ "$(field pc 20)" = 4096 ] || fail "discarded_sectors: $(dmsetup status pc)"
	zeroes /dev/mapper/pc 1 2 || fail "the discarded range still reads as cached"
	holds /tmp/pc-data-b /dev/mapper/pc 0 1 0 || fail "B before the discarded range is gone"
	holds /tmp/pc-data-b /dev/mapper/pc 3 1 3 || fail "B after the discarded range is gone"
	dmsetup message pc 0 flush || fail "flush message failed"
	# B's kset written back before the discard was served (the discard
	# then cleared it) or after it (skipping the range).
	echo "info: ksets written back before the discard: $wb0, after the flush: $(field pc 14)"
	zeroes "$BACKING" 1 2 || fail "the backing device holds data of the discarded range"
	holds /tmp/pc-data-b "$BACKING" 3 1 3 || fail "B was not written back"
	# Written after the discard, over part of it.
	put pc 2 1
	dmsetup message pc 0 flush || fail "flush message failed"
	same_at "$BACKING" 2 1 0
	dmsetup remove pc
	check_media clean
	create_pc pc
	same_at /dev/mapper/pc 2 1 0
	dmsetup remove pc
	check_media
}

# A full cache holds writes back instead of failing them: with the
# backing device suspended, write-back cannot make room, so once the cache
# is full of dirty data writes wait (room_waits counts them); once the
# backing device is back, write-back and GC make room and every write
# completes and verifies. The data must be distinct (write-back skips what
# was overwritten, and frees its room without the backing device): 768
# MiB, more than the cache's data segments hold, onto 1 GiB of backing
# device: the first 64 MiB on ram0, the other 15 times 64 MiB each on
# ram1 (aliases, so each block is verified while still cached, 16 MiB
# after it was written).
test_full_cache_holds_writes_until_room_is_made() {
	local i fio_pid table
	use_rust
	fresh
	table="0 $BACKING_SECTORS linear $BACKING 0"
	for i in $(seq 1 15); do
		table+=$'\n'"$((i * BACKING_SECTORS)) $BACKING_SECTORS linear /dev/ram1 0"
	done
	mkdev slow "$table"
	mkdev pc "0 2097152 pcache $PMEM /dev/mapper/slow"
	dmsetup suspend slow
	# (fio gives up after 5 minutes: a hang fails the test, not the run.)
	fio --name=full --filename=/dev/mapper/pc --direct=1 --ioengine=psync --rw=write --bs=1M \
		--size=768M --verify=crc32c --verify_backlog=16 --verify_fatal=1 --runtime=300 \
		--output=/tmp/pc-fio-full >/dev/null 2>&1 &
	fio_pid=$!
	for i in $(seq 1 600); do
		[ "$(field pc 19)" -gt 0 ] && break
		kill -0 "$fio_pid" 2>/dev/null || break
		sleep 0.2
	done
	if [ "$(field pc 19)" = 0 ] || ! kill -0 "$fio_pid" 2>/dev/null; then
		dmsetup resume slow
		# (Either may fail: fio may have ended.)
		kill "$fio_pid" 2>/dev/null || true
		wait "$fio_pid" || true
		tail -n 20 /tmp/pc-fio-full
		fail "no write waited for room, or the writes ended while the cache was full: $(dmsetup status pc)"
	fi
	echo "info: full: $(dmsetup status pc)"
	dmsetup resume slow
	wait "$fio_pid" || { tail -n 20 /tmp/pc-fio-full; fail "writes failed or did not verify"; }
	grep -q "io=768" /tmp/pc-fio-full || grep -q "768MiB" /tmp/pc-fio-full ||
		{ tail -n 20 /tmp/pc-fio-full; fail "fio did not write all 768 MiB"; }
	[ "$(field pc 15)" = 0 ] && [ "$(field pc 16)" = 0 ] && [ "$(field pc 17)" = 0 ] ||
		fail "errors: $(dmsetup status pc)"
	dmsetup message pc 0 flush || fail "flush message failed"
	cmp <(dd if=/dev/mapper/pc bs=1M count=64 iflag=direct status=none) \
		<(dd if="$BACKING" bs=1M iflag=direct status=none) ||
		fail "the backing device does not hold what the cache does"
	dmsetup remove pc
	dmsetup remove slow
	PC_BACKING_BYTES=$((1 << 30)) check_media clean
}

setup || exit 1
ktap_run test_table_errors test_format_status_and_round_trip test_persists_across_remove_and_create \
	test_writeback_reaches_the_backing_device test_writeback_waits_for_idle_and_skips_overwritten_data \
	test_writeback_runs_when_gc_has_nothing_to_collect \
	test_discard_drops_cached_data_and_reaches_the_backing_device \
	test_full_cache_holds_writes_until_room_is_made test_read_miss_fill \
	test_read_miss_fill_ignores_the_readers_buffer test_data_crc test_fio_verify_under_gc_and_writeback_pressure \
	test_corrupted_metadata_is_refused_or_rolled_back test_media_from_the_c_target test_media_to_the_c_target
