#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Commit one kernel defect on purpose (inside the debug test VM) with the
# test-only rdm_defects module: DEFECT=leak|use_after_free|lock_inversion|
# sleep_in_atomic|overflow, or unset for the control case. Not one of the
# suite's TEST_PROGS: scripts/check-detectors.sh boots one VM per defect and
# expects the run to fail with the matching detector named.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../ktap.sh"

defect=${DEFECT:-none}
case "$defect" in
none | leak | use_after_free | lock_inversion | sleep_in_atomic | overflow) ;;
*) echo "unknown DEFECT=$defect" >&2; exit 2 ;;
esac

# KASAN and a Rust panic end the kernel here (panic_on_warn, oops=panic);
# lockdep and DEBUG_ATOMIC_SLEEP report and go on; a leak is found by the
# kmemleak scan run_kselftest.sh does after this program.
eval "test_$defect() {
	[ -f \"\$MODDIR/rdm_defects.ko\" ] || fail 'rdm_defects.ko not built (RDM_TEST_ONLY=m)'
	if [ $defect = none ]; then insmod \"\$MODDIR/rdm_defects.ko\"
	else insmod \"\$MODDIR/rdm_defects.ko\" $defect=1; fi
	rmmod rdm_defects
}"

ktap_run "test_$defect"
