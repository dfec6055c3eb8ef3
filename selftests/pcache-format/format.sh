#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The pcache-format crate inside the kernel (runs inside the test VM): the
# check module compares the crate's CRC32C with the kernel's crc32c() and
# round-trips every record, runs the pcache-index crate over the kernel's
# rbtree against a sector model, and fails to load on any mismatch.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../ktap.sh"

test_crate_matches_kernel_crc32c() {
	dmesg -c >/dev/null
	insmod "$MODDIR/pcache_format_kcheck.ko" || { dmesg | tail -n 5; fail "checks failed in the kernel"; }
	dmesg | grep -E 'pcache-format: [0-9]+ crc32c comparisons with the kernel and record round trips passed' ||
		fail "no success line in dmesg"
	[ "$(dmesg | sed -n 's/.*pcache-format: \([0-9]*\) crc32c.*/\1/p')" = 576 ] || fail "not every comparison ran"
	dmesg | grep -E 'pcache-index: 2000 writes into an rbtree matched the model \([0-9]+ read pieces\)' ||
		fail "no index success line in dmesg"
	rmmod pcache_format_kcheck
}

ktap_run test_crate_matches_kernel_crc32c
