#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Selftests of the rdm layer's optional hooks through the rdm_test target
# (runs inside the test VM): status and message output, end_io seeing and
# changing a completion status (errors injected by dm-dust below),
# flush/FUA flags, presuspend/postsuspend/resume, iterate_devices.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../ktap.sh"

setup() {
	load_kmod brd rd_nr=2 rd_size=65536
	load_kmod dm-dust
	load_kmod dm-delay
	# A device with a volatile write cache and FUA, so both flags reach us.
	load_kmod null_blk nr_devices=1 gb=1 memory_backed=1 cache_size=16 fua=1
	insmod "$MODDIR/dm_rdm_test.ko"
	head -c 65536 /dev/urandom > /tmp/data
}

cleanup() {
	dmsetup remove_all >/dev/null 2>&1
	true
}

# counter DEV NAME: one counter from `dmsetup message DEV 0 stats`.
counter() {
	dmsetup message "$1" 0 stats | awk -v k="$2" '{for (i = 1; i < NF; i++) if ($i == k) print $(i + 1)}'
}

test_table_status_and_reload() {
	mkdev t "0 8192 rdm_test /dev/ram0 8"
	[ "$(dmsetup table t)" = "0 8192 rdm_test 1:0 8" ] || fail "table: $(dmsetup table t)"
	dmsetup status t | grep -qE '^0 8192 rdm_test reads [0-9]+ writes' || fail "status: $(dmsetup status t)"
	dmsetup reload t --table "$(dmsetup table t)"
	dmsetup resume t
	! dmsetup create bad --table "0 8 rdm_test /dev/ram0" 2>/dev/null || fail "accepted a short table"
	! dmsetup create bad --table "0 8 rdm_test /dev/ram0 x" 2>/dev/null || fail "accepted a bad offset"
	! dmsetup create bad --table "0 8 rdm_test /dev/ram0 0 extra" 2>/dev/null || fail "accepted extra arguments"
}

test_io_is_remapped_and_counted() {
	mkdev t "0 8192 rdm_test /dev/ram0 8"
	dd if=/tmp/data of=/dev/mapper/t bs=4096 oflag=direct conv=fsync status=none
	# Offset 8 sectors: the data lands 4 KiB into the RAM disk.
	cmp <(dd if=/dev/ram0 bs=4096 skip=1 count=16 iflag=direct status=none) /tmp/data || fail "not remapped"
	cmp <(dd if=/dev/mapper/t bs=4096 count=16 iflag=direct status=none) /tmp/data || fail "read back differs"
	[ "$(counter t writes)" -ge 16 ] || fail "writes $(counter t writes)"
	[ "$(counter t reads)" -ge 16 ] || fail "reads $(counter t reads)"
}

test_end_io_sees_and_changes_status() {
	mkdev dust "0 8192 dust /dev/ram0 0 512"
	dmsetup message dust 0 addbadblock 64
	dmsetup message dust 0 enable
	mkdev t "0 8192 rdm_test /dev/mapper/dust 0"
	! dd if=/dev/mapper/t bs=512 skip=64 count=1 iflag=direct of=/dev/null status=none 2>/dev/null ||
		fail "read of a bad block succeeded"
	[ "$(counter t errors)" -ge 1 ] || fail "end_io did not see the error"
	dmsetup message t 0 swallow_errors 1
	dd if=/dev/mapper/t bs=512 skip=64 count=1 iflag=direct of=/dev/null status=none ||
		fail "end_io could not complete the bio successfully"
	[ "$(counter t swallowed)" -ge 1 ] || fail "nothing swallowed"
	dmsetup message t 0 swallow_errors 0
	! dd if=/dev/mapper/t bs=512 skip=64 count=1 iflag=direct of=/dev/null status=none 2>/dev/null ||
		fail "errors still swallowed"
}

test_flush_and_fua_flags() {
	local minor
	mkdev t "0 8192 rdm_test /dev/nullb0 0"
	minor=$(dmsetup info -c --noheadings -o minor t)
	grep -q 'write back' "/sys/block/dm-$minor/queue/write_cache" || fail "no volatile cache to flush"
	[ "$(cat "/sys/block/dm-$minor/queue/fua")" = 1 ] || fail "FUA not advertised through the target"
	dd if=/tmp/data of=/dev/mapper/t bs=4096 count=1 conv=fsync status=none
	[ "$(counter t flushes)" -ge 1 ] || fail "fsync sent no flush to the target"
	[ "$(counter t fua)" = 0 ] || fail "FUA counted before any FUA write"
	fio --name=fua --filename=/dev/mapper/t --rw=write --bs=4k --size=64k --direct=1 --sync=1 \
		--output=/dev/null
	[ "$(counter t fua)" -ge 16 ] || fail "O_SYNC direct writes carried no FUA: $(counter t fua)"
}

test_suspend_resume_hooks() {
	mkdev t "0 8192 rdm_test /dev/ram0 0"
	local r0
	r0=$(counter t resumes)
	dmsetup suspend t
	dmsetup resume t
	[ "$(counter t presuspends)" = 1 ] || fail "presuspends $(counter t presuspends)"
	[ "$(counter t postsuspends)" = 1 ] || fail "postsuspends $(counter t postsuspends)"
	[ "$(counter t preresumes)" -ge 1 ] || fail "preresumes $(counter t preresumes)"
	[ "$(counter t resumes)" = $((r0 + 1)) ] || fail "resumes $(counter t resumes), was $r0"
}

test_deferred_bios_submitted_from_workqueue() {
	mkdev t "0 16384 rdm_test /dev/ram0 8"
	dmsetup message t 0 defer 1
	dd if=/tmp/data of=/dev/mapper/t bs=4096 oflag=direct conv=fsync status=none
	cmp <(dd if=/dev/ram0 bs=4096 skip=1 count=16 iflag=direct status=none) /tmp/data || fail "not remapped"
	cmp <(dd if=/dev/mapper/t bs=4096 count=16 iflag=direct status=none) /tmp/data || fail "read back differs"
	[ "$(counter t deferred)" -ge 32 ] || fail "deferred $(counter t deferred)"
	# Two writers with verification, every bio going through the workqueue:
	# a lost or doubly completed bio hangs, fails verify or trips a WARN.
	fio --name=defer --filename=/dev/mapper/t --rw=randwrite --bs=4k --direct=1 --ioengine=psync \
		--numjobs=2 --size=2M --offset_increment=2M --verify=crc32c --do_verify=1 \
		--output=/dev/null || fail "fio verify through deferred bios failed"
	# Suspend with writes in flight: dm core waits for deferred bios too.
	dd if=/dev/zero of=/dev/mapper/t bs=4096 count=256 oflag=direct status=none &
	dmsetup suspend t
	dmsetup resume t
	wait $! || fail "writer failed across suspend"
	dmsetup remove t
	# The target's workqueue was drained and destroyed with it.
	rmmod dm_rdm_test || fail "rmmod failed"
	insmod "$MODDIR/dm_rdm_test.ko"
}

test_writes_cloned_to_mirror_leg() {
	mkdev t "0 8192 rdm_test /dev/ram0 8 /dev/nullb0 16"
	[ "$(dmsetup table t | wc -w)" = 7 ] || fail "table: $(dmsetup table t)"
	dmsetup reload t --table "$(dmsetup table t)"
	dmsetup resume t
	dd if=/tmp/data of=/dev/mapper/t bs=4096 oflag=direct conv=fsync status=none
	cmp <(dd if=/dev/ram0 bs=4096 skip=1 count=16 iflag=direct status=none) /tmp/data || fail "primary leg"
	cmp <(dd if=/dev/nullb0 bs=4096 skip=2 count=16 iflag=direct status=none) /tmp/data || fail "mirror leg"
	[ "$(counter t mirrored)" -ge 16 ] || fail "mirrored $(counter t mirrored)"
	dmsetup remove t
	# A failing leg fails the write, through the chain, and end_io sees it.
	mkdev err "0 8192 error"
	mkdev t "0 8192 rdm_test /dev/ram0 0 /dev/mapper/err 0"
	! dd if=/tmp/data of=/dev/mapper/t bs=4096 count=1 oflag=direct conv=fsync status=none 2>/dev/null ||
		fail "a write succeeded with a failed mirror leg"
	[ "$(counter t errors)" -ge 1 ] || fail "end_io did not see the leg's error"
	# Reads use the primary only.
	dd if=/dev/mapper/t of=/dev/null bs=4096 count=1 iflag=direct status=none || fail "read failed"
}

# delta DEV NAME CMD...: how much counter NAME moved while CMD ran.
delta() {
	local dev=$1 name=$2 before rc=0
	shift 2
	before=$(counter "$dev" "$name")
	"$@" || rc=$?
	echo $(($(counter "$dev" "$name") - before))
	return "$rc"
}

test_per_io_data_reaches_end_io() {
	mkdev t "0 8192 rdm_test /dev/ram0 0"
	local d e
	# 16 direct 4 KiB writes, nothing else in flight: map recorded 8
	# sectors for each, and end_io got every record back.
	d=$(delta t per_io_sectors dd if=/tmp/data of=/dev/mapper/t bs=4096 oflag=direct status=none)
	[ "$d" = 128 ] || fail "end_io saw $d sectors recorded at map time, want 128"
	e=$(delta t ended dd if=/dev/mapper/t of=/dev/null bs=4096 count=16 iflag=direct status=none)
	[ "$e" = 16 ] || fail "end_io ran $e times for 16 reads"
	# The same through the workqueue and a mirror leg (chained clones).
	dmsetup remove t
	mkdev t "0 8192 rdm_test /dev/ram0 0 /dev/ram1 0"
	dmsetup message t 0 defer 1
	d=$(delta t per_io_sectors dd if=/tmp/data of=/dev/mapper/t bs=4096 oflag=direct status=none)
	[ "$d" = 128 ] || fail "deferred + mirrored: end_io saw $d sectors, want 128"
}

test_flushes_and_discards_reach_target_without_device_support() {
	mkdev t "0 8192 rdm_test /dev/ram0 0"
	local minor d
	minor=$(dmsetup info -c --noheadings -o minor t)
	# brd has no volatile cache; the target asks for flushes all the same.
	grep -q 'write back' "/sys/block/dm-$minor/queue/write_cache" ||
		fail "flush_supported did not make the device take flushes"
	d=$(delta t flushes dd if=/tmp/data of=/dev/mapper/t bs=4096 count=1 conv=fsync status=none)
	[ "$d" -ge 1 ] || fail "fsync sent no flush to the target"
	[ "$(cat "/sys/block/dm-$minor/queue/discard_max_bytes")" != 0 ] ||
		fail "discards_supported did not make the device take discards"
	d=$(delta t discards fio --name=trim --filename=/dev/mapper/t --rw=trim --bs=64k --size=256k \
		--direct=1 --output=/dev/null)
	[ "$d" -ge 4 ] || fail "$d discards reached the target for 4 trims"
}

test_absorbed_write_keeps_chained_leg_error() {
	# A target that completes a write itself (as a cache absorbing it) with
	# success must not hide a chained leg's failure: first error wins.
	mkdev err "0 8192 error"
	mkdev t "0 8192 rdm_test /dev/ram0 0 /dev/mapper/err 0"
	dmsetup message t 0 defer 1
	dmsetup message t 0 absorb 1
	! dd if=/tmp/data of=/dev/mapper/t bs=4096 count=1 oflag=direct status=none 2>/dev/null ||
		fail "an absorbed write hid the failure of its mirror leg"
	dmsetup remove t
	# With a good leg the absorbed write succeeds, and only the leg has it.
	dd if=/dev/zero of=/dev/ram0 bs=4096 count=16 oflag=direct status=none
	mkdev t "0 8192 rdm_test /dev/ram0 0 /dev/ram1 0"
	dmsetup message t 0 defer 1
	dmsetup message t 0 absorb 1
	dd if=/tmp/data of=/dev/mapper/t bs=4096 oflag=direct status=none || fail "absorbed write failed"
	cmp <(dd if=/dev/ram1 bs=4096 count=16 iflag=direct status=none) /tmp/data || fail "leg lacks the data"
	cmp -s <(dd if=/dev/ram0 bs=4096 count=16 iflag=direct status=none) /tmp/data &&
		fail "an absorbed write reached the primary"
	true
}

test_completion_in_parts() {
	mkdev t "0 16384 rdm_test /dev/ram0 0"
	dmsetup message t 0 defer 1
	dmsetup message t 0 parts 3
	fio --name=parts --filename=/dev/mapper/t --rw=randwrite --bs=4k --direct=1 --ioengine=psync \
		--numjobs=2 --size=1M --offset_increment=1M --verify=crc32c --do_verify=1 \
		--output=/dev/null || fail "fio verify with bios completed in parts failed"
	# One part failing with -ENOSPC fails the bio with exactly that error.
	dmsetup message t 0 fail_part 1
	local out
	out=$(dd if=/tmp/data of=/dev/mapper/t bs=4096 count=1 oflag=direct 2>&1) &&
		fail "a write succeeded although a part of it failed"
	echo "$out" | grep -q 'No space left on device' || fail "the part's error was not kept: $out"
}

test_partial_bio_accepted() {
	mkdev t "0 8192 rdm_test /dev/ram0 8"
	dmsetup message t 0 split 8
	local d
	d=$(delta t partial dd if=/tmp/data of=/dev/mapper/t bs=65536 count=1 oflag=direct status=none)
	[ "$d" -ge 1 ] || fail "no bio was accepted in part"
	cmp <(dd if=/dev/ram0 bs=4096 skip=1 count=16 iflag=direct status=none) /tmp/data || fail "data lost"
	cmp <(dd if=/dev/mapper/t bs=65536 count=1 iflag=direct status=none) /tmp/data || fail "read back differs"
	[ "$(counter t writes)" -ge 16 ] || fail "dm core did not send the rest: $(counter t writes) writes"
}

test_max_io_len_splits_bios() {
	# dm core splits at every multiple of max_io_len (64 sectors) from the
	# target's start, so an 8 KiB write at sector 56 reaches map as 2 bios.
	mkdev t "0 16384 rdm_test /dev/ram0 8 max_io_len 64"
	[ "$(dmsetup table t)" = "0 16384 rdm_test 1:0 8 max_io_len 64" ] || fail "table: $(dmsetup table t)"
	local d
	d=$(delta t writes fio --name=across --filename=/dev/mapper/t --rw=write --bs=8k --offset=28k \
		--size=8k --direct=1 --ioengine=psync --output=/dev/null)
	[ "$d" = 2 ] || fail "an 8 KiB write across the boundary reached map as $d bios, not 2"
	# Large unaligned I/O from 2 jobs: data intact, no bio crosses a boundary.
	fio --name=big --filename=/dev/mapper/t --rw=randwrite --bs=60k --direct=1 --ioengine=psync \
		--numjobs=2 --size=2M --offset_increment=2M --verify=crc32c --do_verify=1 \
		--output=/dev/null || fail "fio verify across max_io_len boundaries failed"
	[ "$(counter t crossed)" = 0 ] || fail "$(counter t crossed) bios crossed a max_io_len boundary"
	dmsetup reload t --table "$(dmsetup table t)" || fail "the table line does not reload"
}

test_own_io_copies_and_reports_errors() {
	mkdev t "0 16384 rdm_test /dev/ram0 8"
	dd if=/tmp/data of=/dev/mapper/t bs=4096 oflag=direct status=none
	local d
	# 128 sectors from 0 to 1000 (not page-aligned), read, copied through a
	# second buffer, written and flushed by the target itself.
	d=$(delta t own_done dmsetup message t 0 own_copy 0 1000 128) || fail "own_copy failed"
	[ "$d" = 3 ] || fail "$d own requests completed, not 3 (read, write, flush)"
	# On ram0 itself (brd keeps no I/O statistics), at the target's offset 8.
	cmp <(dd if=/dev/ram0 bs=512 skip=1008 count=128 iflag=direct status=none) /tmp/data ||
		fail "the copy did not reach ram0"
	cmp <(dd if=/dev/mapper/t bs=512 skip=1000 count=128 iflag=direct status=none) /tmp/data ||
		fail "the copy reads back differently"
	# The largest request (1 MiB) and one past the end of the device.
	head -c 1048576 /dev/urandom | dd of=/dev/mapper/t bs=1M seek=1 oflag=direct status=none
	dmsetup message t 0 own_copy 2048 8192 2048 || fail "a 1 MiB own copy failed"
	cmp <(dd if=/dev/mapper/t bs=512 skip=2048 count=2048 iflag=direct status=none) \
		<(dd if=/dev/mapper/t bs=512 skip=8192 count=2048 iflag=direct status=none) || fail "1 MiB copy differs"
	! dmsetup message t 0 own_copy 0 0 2049 2>/dev/null || fail "a request past 1 MiB was accepted"
	d=$(delta t own_errors sh -c '! dmsetup message t 0 own_copy 131064 0 16 2>/dev/null') ||
		fail "a read past the end of ram0 succeeded"
	[ "$d" = 1 ] || fail "the failed read was counted $d times"
}

test_remove_waits_for_own_io() {
	# Own reads through dm-delay take 1.5 s: removing the device meanwhile
	# must wait for the completion, which uses the target object (KASAN
	# would report it running on the freed target).
	dmsetup create slow --table "0 131072 delay /dev/ram0 0 1500" || fail "dm-delay"
	mkdev t "0 8192 rdm_test /dev/mapper/slow 0"
	dmesg -c >/dev/null
	dmsetup message t 0 own_read_async 0
	dmsetup message t 0 own_read_async 8
	dmsetup remove t || fail "remove failed"
	[ "$(dmesg | grep -c 'rdm_test: own read done')" = 2 ] ||
		fail "remove returned before the own reads completed: $(dmesg | tail -n 3)"
	dmsetup remove slow
}

test_pmem_mapping_stores_reads_and_sends() {
	[ -b /dev/pmem0 ] || fail "no /dev/pmem0"
	mkdev t "0 8192 rdm_test /dev/pmem0 8"
	[ "$(counter t pmem_bytes)" = "$(blockdev --getsize64 /dev/pmem0)" ] ||
		fail "pmem0 not mapped whole: $(counter t pmem_bytes) bytes"
	# Stores through the mapping are what the block interface reads
	# (3000 bytes of 0xab at byte 1000 of the target, i.e. 5096 of pmem0).
	dmsetup message t 0 pmem_write 1000 171 3000 || fail "pmem_write failed"
	# O_DIRECT: the page cache of pmem0 may hold older pages.
	cmp <(dd if=/dev/pmem0 bs=4096 skip=1 count=1 iflag=direct status=none | tail -c +1001 | head -c 3000) \
		<(head -c 3000 /dev/zero | tr '\0' '\253') || fail "the stores did not reach pmem0"
	# The mapping reads what the block interface wrote.
	dd if=/tmp/data of=/dev/mapper/t bs=4096 count=1 oflag=direct status=none
	local got want
	got=$(dmsetup message t 0 pmem_read 16 48) || fail "pmem_read failed"
	want=$(od -An -tx1 -j16 -N48 /tmp/data | tr -d ' \n')
	[ "$got" = "$want" ] || fail "pmem_read: $got, not $want"
	# Zero-copy writes out of the mapping (PmemDev::write_source), from
	# inside a page: sector 64 then holds bytes 512-4607 of the target.
	dmsetup message t 0 pmem_send 512 4096 64 || fail "pmem_send failed"
	cmp <(dd if=/dev/mapper/t bs=512 skip=64 count=7 iflag=direct status=none) \
		<(head -c 4096 /tmp/data | tail -c +513) || fail "pmem_send did not write the mapping's bytes"
	# The longest one (spanning 256 pages), and what the layer refuses:
	# longer, not whole sectors, and reads into the mapping.
	dmsetup message t 0 pmem_send 512 $((1044480)) 2048 || fail "pmem_send of 1020 KiB failed"
	cmp <(dd if=/dev/mapper/t bs=512 skip=2048 count=2040 iflag=direct status=none) \
		<(dd if=/dev/mapper/t bs=512 skip=1 count=2040 iflag=direct status=none) || fail "the long pmem_send"
	! dmsetup message t 0 pmem_send 0 $((1044480 + 512)) 4096 2>/dev/null || fail "an overlong pmem_send accepted"
	! dmsetup message t 0 pmem_send 0 100 4096 2>/dev/null || fail "a pmem_send of part of a sector accepted"
	! dmsetup message t 0 pmem_send 100 512 4096 2>/dev/null || fail "a pmem_send from inside a sector accepted"
	! dmsetup message t 0 pmem_recv 4096 4096 64 2>/dev/null || fail "a read into the mapping accepted"
	cmp <(dd if=/dev/mapper/t bs=512 skip=64 count=7 iflag=direct status=none) \
		<(head -c 4096 /tmp/data | tail -c +513) || fail "the refused read changed the device"
	# Outside the target, and on a device without DAX: refused.
	! dmsetup message t 0 pmem_read $((8192 * 512 - 8)) 16 2>/dev/null || fail "read past the target accepted"
	mkdev r "0 8192 rdm_test /dev/ram0 0"
	[ "$(counter r pmem_bytes)" = 0 ] || fail "ram0 mapped as pmem"
	! dmsetup message r 0 pmem_write 0 1 1 2>/dev/null || fail "pmem_write without DAX accepted"
	# Read-only tables: the mapping refuses stores.
	dmsetup create ro --readonly --table "0 8192 rdm_test /dev/pmem0 8" || fail "read-only create"
	! dmsetup message ro 0 pmem_write 0 1 1 2>/dev/null || fail "a store through a read-only table"
	dmsetup message ro 0 pmem_read 0 1 >/dev/null || fail "a read through a read-only table failed"
	# A stacked DAX device (two dm-linear pieces of pmem0, out of order)
	# answers dax_direct_access() only up to a target boundary: a send
	# across the one at 2 MiB is not a media error.
	dmsetup create lin --table "0 4096 linear /dev/pmem0 16384
4096 4096 linear /dev/pmem0 8192" || fail "dm-linear over pmem0"
	mkdev l "0 8192 rdm_test /dev/mapper/lin 0"
	[ "$(counter l pmem_bytes)" = $((8192 * 512)) ] || fail "dm-linear not mapped: $(counter l pmem_bytes) bytes"
	dd if=/dev/urandom of=/dev/mapper/l bs=1M count=4 oflag=direct status=none
	dmsetup message l 0 pmem_send $((1536 << 10)) 1044480 0 || fail "pmem_send across a dm-linear boundary failed"
	cmp <(dd if=/dev/mapper/l bs=512 count=2040 iflag=direct status=none) \
		<(dd if=/dev/mapper/l bs=512 skip=3072 count=2040 iflag=direct status=none) ||
		fail "pmem_send across a dm-linear boundary wrote other bytes"
	dmsetup remove l
	dmsetup remove lin
}

test_pmem_partition_mapped_from_its_start() {
	# A partition of pmem0 at 8 MiB: its DAX device is the whole disk's, so
	# the mapping must start 8 MiB in (upstream dm-pcache maps from 0 and
	# would overwrite the partition table).
	dd if=/dev/zero of=/dev/pmem0 bs=4096 count=1 oflag=direct status=none
	printf '\x00\x00\x00\x00\x83\x00\x00\x00\x00\x40\x00\x00\x00\x00\x02\x00' |
		dd of=/dev/pmem0 bs=1 seek=446 conv=notrunc status=none
	printf '\x55\xaa' | dd of=/dev/pmem0 bs=1 seek=510 conv=notrunc status=none
	sync
	blockdev --rereadpt /dev/pmem0 || fail "rereadpt"
	[ -b /dev/pmem0p1 ] || fail "no /dev/pmem0p1"
	[ "$(cat /sys/block/pmem0/pmem0p1/start)" = 16384 ] || fail "partition start $(cat /sys/block/pmem0/pmem0p1/start)"
	mkdev t "0 8192 rdm_test /dev/pmem0p1 0"
	[ "$(counter t pmem_bytes)" = $((64 << 20)) ] || fail "partition mapped as $(counter t pmem_bytes) bytes"
	dmsetup message t 0 pmem_write 0 171 512 || fail "pmem_write failed"
	cmp <(dd if=/dev/pmem0p1 bs=4096 count=1 iflag=direct status=none | head -c 512) \
		<(head -c 512 /dev/zero | tr '\0' '\253') || fail "the store missed the partition's start"
	[ "$(dd if=/dev/pmem0 bs=512 count=1 iflag=direct status=none | od -An -tx1 -j510 -N2 | tr -d ' ')" = 55aa ] ||
		fail "the store hit the partition table"
	dmsetup remove t
	dd if=/dev/zero of=/dev/pmem0 bs=4096 count=1 oflag=direct status=none
	blockdev --rereadpt /dev/pmem0 || true
}

test_device_handle_outlives_remove() {
	# A device handle moved to the system workqueue: removing the device
	# must wait for it rather than free the table under it (KASAN would
	# report the use after free in the work item).
	mkdev t "0 8192 rdm_test /dev/ram0 0"
	dmesg -c >/dev/null
	dmsetup message t 0 hold_dev 1500
	dmsetup remove t || fail "remove failed"
	dmesg | grep -q "rdm_test: held device 1:0 ($(cat /sys/block/ram0/size) sectors) released" ||
		fail "remove returned before the held handle was released: $(dmesg | tail -n 3)"
	dmesg | grep -q 'rdm: waiting for device handles' || fail "the layer did not wait"
	! dmsetup message t 0 hold_dev 1 2>/dev/null || fail "device still exists"
}

test_delayed_work_runs_and_is_stopped_on_remove() {
	mkdev t "0 8192 rdm_test /dev/ram0 0"
	local ev
	ev=$(dmsetup info -c --noheadings -o events t)
	dmsetup message t 0 tick 100
	timeout 20 dmsetup wait t "$ev" || fail "the delayed work raised no event"
	[ "$(counter t ticks)" = 1 ] || fail "ticks $(counter t ticks)"
	# A pending run is cancelled when the device goes: it never runs (and,
	# under KASAN, would be reported if it ran on the freed target).
	dmsetup message t 0 tick 3000
	dmesg -c >/dev/null
	dmsetup remove t
	# The destructor's `stopped` hook ran, with the work already stopped.
	dmesg | grep -q 'rdm_test: stopped after 1 ticks' || fail "no stopped hook: $(dmesg | tail -n 3)"
	sleep 4
	! dmesg | grep -q 'rdm_test: tick' || fail "a tick ran after the device was removed"
}

test_owned_clones_completed_by_the_target() {
	# A failing mirror leg: the target's completion lets the write succeed
	# while the primary holds it, and counts the leg's error.
	mkdev err "0 8192 error"
	mkdev t "0 8192 rdm_test /dev/ram0 0 /dev/mapper/err 0"
	dmsetup message t 0 owned_legs 1
	dd if=/tmp/data of=/dev/mapper/t bs=4096 oflag=direct status=none ||
		fail "a write failed although its primary leg took it"
	[ "$(counter t leg_errors)" -ge 16 ] || fail "leg_errors $(counter t leg_errors)"
	cmp <(dd if=/dev/ram0 bs=4096 count=16 iflag=direct status=none) /tmp/data || fail "primary lacks the data"
	dmsetup remove t
	# A failing primary fails the write.
	mkdev t "0 8192 rdm_test /dev/mapper/err 0 /dev/ram1 0"
	dmsetup message t 0 owned_legs 1
	! dd if=/tmp/data of=/dev/mapper/t bs=4096 count=1 oflag=direct status=none 2>/dev/null ||
		fail "a write succeeded with its primary leg failing"
	dmsetup remove t
	# Both legs good: verified writes from two jobs, and the legs agree.
	mkdev t "0 16384 rdm_test /dev/ram0 0 /dev/ram1 0"
	dmsetup message t 0 owned_legs 1
	fio --name=legs --filename=/dev/mapper/t --rw=randwrite --bs=4k --direct=1 --ioengine=psync \
		--numjobs=2 --size=2M --offset_increment=2M --verify=crc32c --do_verify=1 \
		--output=/dev/null || fail "fio verify through target-owned clones failed"
	cmp <(dd if=/dev/ram0 bs=1M count=4 iflag=direct status=none) \
		<(dd if=/dev/ram1 bs=1M count=4 iflag=direct status=none) || fail "the legs differ"
}

test_dm_event_raised() {
	mkdev t "0 8192 rdm_test /dev/ram0 0"
	local before after
	before=$(dmsetup info -c --noheadings -o events t)
	dmsetup message t 0 event
	after=$(dmsetup info -c --noheadings -o events t)
	[ "$after" -gt "$before" ] || fail "event number $before -> $after"
	# dmsetup wait for the next event returns once it is raised.
	(sleep 1; dmsetup message t 0 event) &
	timeout 20 dmsetup wait t "$after" || fail "dmsetup wait did not return"
	wait
}

test_bad_message_rejected() {
	mkdev t "0 8192 rdm_test /dev/ram0 0"
	! dmsetup message t 0 frobnicate 2>/dev/null || fail "unknown message accepted"
	! dmsetup message t 0 swallow_errors 2 2>/dev/null || fail "bad value accepted"
}

test_rmmod_after_removal() {
	mkdev t "0 8192 rdm_test /dev/ram0 0"
	! rmmod dm_rdm_test 2>/dev/null || fail "unloaded under a live device"
	dmsetup remove t
	rmmod dm_rdm_test || fail "rmmod failed"
}

setup || { echo "Bail out! setup failed"; exit 1; }
ktap_run \
	test_table_status_and_reload \
	test_io_is_remapped_and_counted \
	test_end_io_sees_and_changes_status \
	test_flush_and_fua_flags \
	test_suspend_resume_hooks \
	test_deferred_bios_submitted_from_workqueue \
	test_writes_cloned_to_mirror_leg \
	test_per_io_data_reaches_end_io \
	test_max_io_len_splits_bios \
	test_own_io_copies_and_reports_errors \
	test_remove_waits_for_own_io \
	test_pmem_mapping_stores_reads_and_sends \
	test_pmem_partition_mapped_from_its_start \
	test_flushes_and_discards_reach_target_without_device_support \
	test_absorbed_write_keeps_chained_leg_error \
	test_completion_in_parts \
	test_partial_bio_accepted \
	test_device_handle_outlives_remove \
	test_delayed_work_runs_and_is_stopped_on_remove \
	test_owned_clones_completed_by_the_target \
	test_dm_event_raised \
	test_bad_message_rejected \
	test_rmmod_after_removal
