#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The whole test suite, as `make check` and CI run it: setup, the debug test
# kernel (KASAN, lockdep, kmemleak, fault injection; cached), modules with
# the test-only fixtures, lints, userspace `cargo test`, the kernel selftests
# in QEMU (plus the rdm layer's compile-fail cases, host side), three power
# cuts under dm-pcache (powercut.sh), then the proof that each debug detector fails a run
# (check-detectors.sh). Ends with `N passed, N failed, N skipped`; exits
# non-zero if any test failed or was skipped, or if a step could not run.
#
# Usage: scripts/check.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$RDM_ROOT"

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

export RDM_KERNEL=debug RDM_TEST_ONLY=m
start=$SECONDS
scripts/setup.sh
scripts/build-kernel.sh >/dev/null
scripts/build-modules.sh
scripts/lint.sh

msg "compile-fail tests of the rdm layer (check-compile-fail.sh)"
cf_rc=0
scripts/check-compile-fail.sh 2>&1 | tee "$logs/cf" || cf_rc=$?
read -r c_pass c_fail < <(sed -n 's/^# Totals: pass:\([0-9]*\) fail:\([0-9]*\).*/\1 \2/p' "$logs/cf" | tail -n1) || true
c_pass=${c_pass:-0} c_fail=${c_fail:-1}
if [ "$cf_rc" != 0 ] && [ "$c_fail" = 0 ]; then
	c_fail=1
fi

msg "userspace tests (cargo test)"
cargo_rc=0
cargo test --workspace 2>&1 | tee "$logs/cargo" || cargo_rc=$?
read -r u_pass u_fail u_skip < <(sed -n 's/^test result: [a-zA-Z]*\. \([0-9]*\) passed; \([0-9]*\) failed; \([0-9]*\) ignored.*/\1 \2 \3/p' "$logs/cargo" |
	awk '{p += $1; f += $2; s += $3} END {print p + 0, f + 0, s + 0}')
if [ "$cargo_rc" != 0 ] && [ "$u_fail" = 0 ]; then
	u_fail=1 # did not build or crashed
fi

msg "kernel selftests in QEMU (debug kernel)"
vm_start=$SECONDS
vm_rc=0
# The timeout only guards against a hang: the whole suite takes ~15 minutes
# under TCG and the debug kernel.
VM_TIMEOUT=${VM_TIMEOUT:-2700} scripts/run-vm.sh 'selftests/run_kselftest.sh' 2>&1 | tee "$logs/vm" || vm_rc=$?
msg "kernel selftests took $((SECONDS - vm_start)) s"
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$logs/vm" | tail -n1 || true)
if [ -n "$line" ]; then
	read -r k_pass k_fail k_skip < <(echo "$line" | awk -F'[ ,]+' '{print $1, $3, $5}')
else
	k_pass=0 k_fail=1 k_skip=0 # the VM did not report
fi
if [ "$vm_rc" != 0 ] && [ "$k_fail" = 0 ] && [ "$k_skip" = 0 ]; then
	k_fail=1 # e.g. a kernel warning or oops after the tests passed
fi

msg "power cuts under dm-pcache (powercut.sh, 3 cycles)"
pc_rc=0
scripts/powercut.sh 3 2>&1 | tee "$logs/pc" || pc_rc=$?
if [ "$pc_rc" = 0 ] && grep -q '^cycles 3, acknowledged writes checked [1-9][0-9]*, lost 0$' "$logs/pc"; then
	p_pass=1 p_fail=0
else
	p_pass=0 p_fail=1
fi

msg "the detectors fire: one VM boot per defect (check-detectors.sh)"
det_rc=0
scripts/check-detectors.sh 2>&1 | tee "$logs/det" || det_rc=$?
read -r d_pass d_fail < <(sed -n 's/^# Totals: pass:\([0-9]*\) fail:\([0-9]*\).*/\1 \2/p' "$logs/det" | tail -n1) || true
d_pass=${d_pass:-0} d_fail=${d_fail:-1}
if [ "$det_rc" != 0 ] && [ "$d_fail" = 0 ]; then
	d_fail=1
fi

echo "# userspace: $u_pass passed, $u_fail failed, $u_skip skipped"
echo "# kernel:    $k_pass passed, $k_fail failed, $k_skip skipped"
echo "# detectors: $d_pass passed, $d_fail failed"
echo "# compile-fail: $c_pass passed, $c_fail failed"
echo "# power cuts: $p_pass passed, $p_fail failed"
echo "# make check took $((SECONDS - start)) s"
fail=$((u_fail + k_fail + d_fail + c_fail + p_fail)) skip=$((u_skip + k_skip))
echo "$((u_pass + k_pass + d_pass + c_pass + p_pass)) passed, $fail failed, $skip skipped"
[ "$fail" = 0 ] && [ "$skip" = 0 ]
