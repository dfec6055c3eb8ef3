#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The check that the check can fail: boot the debug test kernel once per
# defect the test-only rdm_defects module commits (selftests/detectors) and
# require scripts/run-vm.sh to fail the run, naming the expected detector and
# the test that was running; the control boot (no defect) must pass. Prints
# KTAP and a "# Totals:" line like the guest selftests.
#
# Usage: scripts/check-detectors.sh [defect...]   (default: all, then control)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$RDM_ROOT"

# defect:detector the runner must name
cases=(leak:kmemleak use_after_free:KASAN lock_inversion:lockdep
	sleep_in_atomic:atomic-sleep overflow:rust-panic none:)
if [ $# -gt 0 ]; then
	sel=()
	for c in "${cases[@]}"; do
		for want in "$@"; do [ "${c%%:*}" != "$want" ] || sel+=("$c"); done
	done
	cases=("${sel[@]}")
fi

[ -f selftests/detectors/module/rdm_defects.ko ] ||
	die "rdm_defects.ko not built: scripts/build-modules.sh modules RDM_TEST_ONLY=m"

pass=0 fail=0 i=0
echo "TAP version 13"
echo "1..${#cases[@]}"
for c in "${cases[@]}"; do
	defect=${c%%:*} want=${c#*:}
	i=$((i + 1))
	log=$(mktemp)
	rc=0
	VM_TIMEOUT=600 scripts/run-vm.sh "DEFECT=$defect selftests/run_kselftest.sh detectors/provoke.sh" >"$log" 2>&1 || rc=$?
	ok=1
	if [ -z "$want" ]; then
		[ "$rc" = 0 ] || ok=0
		what="control boot passes (rc $rc)"
	else
		[ "$rc" != 0 ] || ok=0
		grep -q "^detector: $want test: detectors/provoke.sh" "$log" || ok=0
		what="$defect: run failed (rc $rc) naming $want in detectors/provoke.sh"
	fi
	if [ "$ok" = 1 ]; then
		echo "ok $i $what"
		pass=$((pass + 1))
	else
		sed 's/^/# /' "$log" | tail -n 40
		echo "not ok $i $what"
		fail=$((fail + 1))
	fi
	rm -f "$log"
done
echo "# Totals: pass:$pass fail:$fail skip:0"
[ "$fail" = 0 ]
