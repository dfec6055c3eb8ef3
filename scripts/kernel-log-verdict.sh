#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Judge a test VM's kernel log: find every report of the debug kernel's
# detectors (KASAN, lockdep, sleeping in atomic context, kmemleak, debug
# objects, list and slab corruption, Rust panics, hung tasks, oops/WARN) and
# name the test that was running when each appeared. The guest harness writes
# "rdm-test: <program> <case>" to /dev/kmsg before each test case
# (selftests/ktap.sh), so the last such marker before a report names it.
#
# Prints one line per finding ("detector: NAME test: TEST line: N: TEXT"),
# then an excerpt of the log from the first one; exits 1 if there was any.
#
# Usage: scripts/kernel-log-verdict.sh <kernel log file>
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 <kernel log>" >&2; exit 2; }
log=$1

# detector|extended regex (no backslashes: awk -v would eat them). The first detector whose pattern matches a line
# names it, so the specific ones come before the catch-all "oops".
detectors='KASAN|BUG: KASAN: |KASAN: .*(out-of-bounds|use-after-free|invalid-free|double-free)
lockdep|WARNING: (possible circular locking dependency|possible recursive locking|inconsistent lock state|suspicious RCU usage|bad unlock balance|possible irq lock inversion|lock held when returning to user space|held lock freed|Nested lock was not taken|[A-Z]+-safe -> [A-Z]+-unsafe)|BUG: held lock freed|BUG: Invalid wait context|BUG: MAX_LOCKDEP|DEBUG_LOCKS_WARN_ON|INFO: trying to register non-static key|BUG: (spinlock|rwlock) .*on CPU
atomic-sleep|BUG: sleeping function called from invalid context|BUG: scheduling while atomic|BUG: workqueue leaked
kmemleak|kmemleak: [0-9]+ new suspected memory leaks|kmemleak: Kernel memory leak detector disabled|kmemleak: .*[Mm]emory pool empty|kmemleak: Cannot allocate a kmemleak_object
debugobjects|ODEBUG: 
list-corruption|list_[a-z_]+ corruption|list_add double add
slab-corruption|BUG [^ ]+ [(][^)]*[)]: |(Poison|Redzone|Padding) overwritten|Object already free|Freepointer corrupt
rust-panic|panicked at |rust_kernel: panic
hung-task|INFO: task .* blocked( in I/O wait)? for more than|rcu: INFO: .* detected stall
oops|Oops|kernel BUG at|Kernel panic|WARNING: .*CPU#[0-9]+: |WARNING: CPU: |UBSAN: |general protection fault|BUG: unable to handle'

# An oops or WARN ends in "Kernel panic" (oops=panic, panic_on_warn), so no
# "Call Trace:" pattern: stack dumps of handled conditions (an allocation
# failure injected by the fault tests) are not failures.
tr -d '\r' <"$log" | awk -v detectors="$detectors" '
BEGIN {
	n = split(detectors, rows, "\n")
	for (i = 1; i <= n; i++) {
		p = index(rows[i], "|")
		name[i] = substr(rows[i], 1, p - 1)
		re[i] = substr(rows[i], p + 1)
	}
	test = "(boot, before any test)"
	found = 0
}
/rdm-test: / {
	test = $0
	sub(/^.*rdm-test: /, "", test)
	next
}
{
	for (i = 1; i <= n; i++) {
		if ($0 ~ re[i]) {
			text = $0
			sub(/^\[[ 0-9.]*\] /, "", text)
			# One line per detector and test (a report spans many
			# lines), and no catch-all line where a detector named it.
			if (name[i] != "oops")
				named[test] = 1
			if (!((name[i], test) in seen) && !(name[i] == "oops" && test in named)) {
				seen[name[i], test] = 1
				printf "detector: %s test: %s line: %d: %s\n", name[i], test, NR, text
			}
			if (!found)
				first = NR
			found = 1
			break
		}
	}
	lines[NR] = $0
}
END {
	if (!found)
		exit 0
	print "--- kernel log from line " first " ---"
	for (l = first; l <= NR && l < first + 60; l++)
		if (l in lines)
			print lines[l]
	exit 1
}'
