#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Faults from below and around our targets (runs inside the debug test VM):
# - every allocation of each constructor fails in turn (FAILSLAB through
#   fail-nth, driven by dm-failnth): each attempt fails cleanly, and the
#   valid table loads and does I/O afterwards; kmemleak, scanned after this
#   program, proves the error paths free what they took;
# - I/O errors injected below (FAIL_MAKE_REQUEST on the backing disk) reach
#   the caller as errors, on every data path, and nothing hangs;
# - a module cannot be unloaded while one of its devices exists.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../ktap.sh"

KEY=$(for i in $(seq 0 63); do printf %02x "$((i * 3 % 256))"; done)
FI=/sys/kernel/debug

setup() {
	load_kmod brd rd_nr=2 rd_size=65536
	load_ours dm_inlinecrypt_rs
	load_ours dm_rdm_test
	keyctl link @u @s 2>/dev/null || true
	head -c 64 /dev/urandom | keyctl padd logon rdm:faults @u >/dev/null
	# Sleeping allocations (GFP_KERNEL) are what constructors make: fail
	# them too. One log line per injected failure, no stack dump.
	echo N >"$FI/failslab/ignore-gfp-wait"
	echo 1 >"$FI/failslab/verbose"
	echo 1 >"$FI/fail_page_alloc/verbose"
	head -c $((1 << 20)) /dev/urandom >/tmp/data
}

cleanup() {
	echo 0 >/sys/block/ram0/make-it-fail 2>/dev/null
	echo 0 >/sys/block/ram1/make-it-fail 2>/dev/null
	dmsetup remove_all >/dev/null 2>&1
	true
}

# The I/O counters of a dm device: reads and writes completed.
iostat() {
	local minor
	minor=$(dmsetup info -c --noheadings -o minor "$1")
	awk '{print $1 + $5}' "/sys/block/dm-$minor/stat"
}

# failnth TARGET PARAMS: fail each allocation of the table load in turn,
# then prove the device that finally loaded moves data.
failnth() {
	local out before
	[ -e /proc/self/fail-nth ] || fail "no fail-nth (CONFIG_FAULT_INJECTION)"
	out=$(dm-failnth fn 8192 "$1" "$2") || fail "dm-failnth: $out"
	echo "$out" | tail -n 3
	grep -qE '^result: [1-9][0-9]* failed cleanly' <<<"$out" || fail "no allocation was failed: $out"
	echo "info: $1 $2: $(grep '^result: ' <<<"$out")"
	dmsetup mknodes fn
	[ -b /dev/mapper/fn ] || fail "/dev/mapper/fn is not a block device"
	before=$(iostat fn)
	dd if=/tmp/data of=/dev/mapper/fn bs=64k oflag=direct status=none || fail "write after the faults"
	cmp <(dd if=/dev/mapper/fn bs=64k count=16 iflag=direct status=none) /tmp/data || fail "read back differs"
	[ "$(iostat fn)" -ge $((before + 32)) ] || fail "I/O did not reach dm"
	dmsetup remove fn
}

test_failnth_inlinecrypt_hex_key() { failnth inlinecrypt "aes-xts-plain64 $KEY 0 /dev/ram0 0"; }
test_failnth_inlinecrypt_logon_key_4k() {
	failnth inlinecrypt "aes-xts-plain64 :64:logon:rdm:faults 8 /dev/ram0 0 3 allow_discards sector_size:4096 iv_large_sectors"
}
test_failnth_rdm_test_linear() { failnth rdm_test "/dev/ram0 8"; }
test_failnth_rdm_test_mirror() { failnth rdm_test "/dev/ram0 0 /dev/ram1 0"; }

# must_fail_io WHAT DD-ARGS...: the transfer fails with an error, within
# 60 s (a timeout is a hang, not an error; -k kills a dd stuck in I/O).
must_fail_io() {
	local what=$1 rc=0
	shift
	timeout -k 5 60 dd "$@" bs=64k count=4 status=none 2>/dev/null || rc=$?
	case $rc in
	0) fail "$what succeeded although the disk fails every request" ;;
	124 | 137) fail "$what hung (timeout)" ;;
	esac
}

# io_fails_then_recovers NAME DISK: with make-it-fail on DISK, direct reads
# and writes through NAME fail with an error; without it they work again.
io_fails_then_recovers() {
	local name=$1 disk=$2
	echo 100 >"$FI/fail_make_request/probability"
	echo -1 >"$FI/fail_make_request/times"
	echo 1 >"$FI/fail_make_request/verbose"
	echo 1 >"/sys/block/$disk/make-it-fail"
	must_fail_io write if=/tmp/data of="/dev/mapper/$name" oflag=direct
	must_fail_io read if="/dev/mapper/$name" of=/dev/null iflag=direct
	echo 0 >"/sys/block/$disk/make-it-fail"
	timeout -k 5 60 dd if=/tmp/data of="/dev/mapper/$name" bs=64k count=4 oflag=direct status=none || fail "write after recovery"
	cmp <(timeout -k 5 60 dd if="/dev/mapper/$name" bs=64k count=4 iflag=direct status=none) <(head -c 262144 /tmp/data) ||
		fail "read after recovery differs"
}

test_io_errors_inlinecrypt() {
	mkdev ic "0 8192 inlinecrypt aes-xts-plain64 $KEY 0 /dev/ram0 0"
	io_fails_then_recovers ic ram0
}

test_io_errors_rdm_test_remapped() {
	mkdev rt "0 8192 rdm_test /dev/ram0 0"
	io_fails_then_recovers rt ram0
}

test_io_errors_rdm_test_deferred() {
	mkdev rt "0 8192 rdm_test /dev/ram0 0"
	dmsetup message rt 0 defer 1
	io_fails_then_recovers rt ram0
}

test_io_errors_rdm_test_mirror_leg() {
	mkdev rt "0 8192 rdm_test /dev/ram0 0 /dev/ram1 0"
	echo 100 >"$FI/fail_make_request/probability"
	echo -1 >"$FI/fail_make_request/times"
	echo 1 >/sys/block/ram1/make-it-fail
	must_fail_io "write with a failing mirror leg" if=/tmp/data of=/dev/mapper/rt oflag=direct
	echo 0 >/sys/block/ram1/make-it-fail
	timeout -k 5 60 dd if=/tmp/data of=/dev/mapper/rt bs=64k count=4 oflag=direct status=none || fail "write after recovery"
}

# unload_refused MODULE TABLE: rmmod fails while a device of MODULE exists
# and works once it is gone (what it leaves behind: kmemleak, after this
# program); then the module is loaded again for the next tests.
unload_refused() {
	local mod=$1
	mkdev busy "$2"
	! rmmod "$mod" 2>/dev/null || fail "$mod unloaded under a live device"
	grep -q "^$mod " /proc/modules || fail "$mod is gone"
	dmsetup remove busy
	rmmod "$mod" || fail "rmmod $mod failed after removal"
	insmod "$MODDIR/$mod.ko"
}

test_unload_refused_inlinecrypt() {
	unload_refused dm_inlinecrypt_rs "0 8192 inlinecrypt aes-xts-plain64 $KEY 0 /dev/ram0 0"
}
test_unload_refused_rdm_test() { unload_refused dm_rdm_test "0 8192 rdm_test /dev/ram0 0 /dev/ram1 0"; }

setup
ktap_run test_failnth_inlinecrypt_hex_key test_failnth_inlinecrypt_logon_key_4k \
	test_failnth_rdm_test_linear test_failnth_rdm_test_mirror \
	test_io_errors_inlinecrypt test_io_errors_rdm_test_remapped \
	test_io_errors_rdm_test_deferred test_io_errors_rdm_test_mirror_leg \
	test_unload_refused_inlinecrypt test_unload_refused_rdm_test
