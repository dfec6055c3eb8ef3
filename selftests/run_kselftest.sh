#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run every selftest of the suite (inside the test VM) and print a KTAP
# report per test program, then the line `N passed, N failed, N skipped`.
# Exit status: non-zero if anything failed or was skipped.
#
# Usage: selftests/run_kselftest.sh [program...]   (default: all TEST_PROGS)
set -uo pipefail
cd "$(dirname "$0")"

progs=("$@")
if [ ${#progs[@]} -eq 0 ]; then
	for mk in */Makefile; do
		dir=$(dirname "$mk")
		for p in $(sed -n 's/^TEST_PROGS *:= *//p' "$mk"); do
			progs+=("$dir/$p")
		done
	done
fi

# kmemleak (debug kernel): forget what boot and earlier programs left, run
# the program, then scan. kmemleak reports only objects older than 5 s and
# wants two scans against transient false positives (pointers still in
# registers or on a stack). A report prints "kmemleak: N new suspected memory
# leaks" into the kernel log, which fails the run on the host and names the
# program through the marker written before the scan.
# The debug kernel must have kmemleak working; the production kernel has
# none (RDM_KERNEL comes from scripts/run-vm.sh).
kmemleak=/sys/kernel/debug/kmemleak
use_kmemleak=0
if [ "${RDM_KERNEL:-debug}" = debug ]; then
	[ -w "$kmemleak" ] || { echo "# kmemleak missing on the debug kernel"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
	use_kmemleak=1
fi

kmemleak_scan() {
	echo scan >"$kmemleak" && echo scan >"$kmemleak"
}

kmemleak_check() {
	local prog=$1 report
	[ "$use_kmemleak" = 1 ] || return 0
	. ./ktap.sh
	kmsg_mark "$prog (kmemleak scan after it)"
	sleep 6
	if ! kmemleak_scan; then
		echo "# $prog: kmemleak scan failed (kmemleak disabled itself?)"
		return 1
	fi
	report=$(cat "$kmemleak")
	[ -z "$report" ] && return 0
	echo "# $prog: kmemleak found leaks:"
	printf '%s\n' "$report" | head -n 40 | sed 's/^/# /'
	return 1
}

# What boot left unreferenced is not any test's leak: scan once (objects
# older than 5 s) and forget it, so the first program starts clean.
if [ "$use_kmemleak" = 1 ]; then
	sleep 5
	kmemleak_scan || { echo "# kmemleak scan failed at start"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
	echo clear >"$kmemleak"
fi

pass=0 fail=0 skip=0
for p in "${progs[@]}"; do
	echo "# selftest: $p"
	[ "$use_kmemleak" = 0 ] || echo clear >"$kmemleak"
	out=$(mktemp)
	t0=$(cut -d. -f1 /proc/uptime)
	bash "$p" 2>&1 | tee "$out"
	echo "# $p: $(($(cut -d. -f1 /proc/uptime) - t0)) s"
	totals=$(sed -n 's/^# Totals: pass:\([0-9]*\) fail:\([0-9]*\) skip:\([0-9]*\)$/\1 \2 \3/p' "$out" | tail -n1)
	if [ -z "$totals" ]; then
		echo "# $p: no totals line (crashed?)"
		fail=$((fail + 1))
	else
		read -r a b c <<<"$totals"
		pass=$((pass + a)) fail=$((fail + b)) skip=$((skip + c))
	fi
	kmemleak_check "$p" || fail=$((fail + 1))
	rm -f "$out"
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ] && [ "$skip" = 0 ]
