#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The whole test suite, as `make check` and CI run it: setup, test kernel
# (cached), modules, userspace `cargo test`, then the kernel selftests in
# QEMU. Ends with `N passed, N failed, N skipped`; exits non-zero if any
# test failed or was skipped, or if a step could not run.
#
# Usage: scripts/check.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$RDM_ROOT"

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

scripts/setup.sh
scripts/build-kernel.sh >/dev/null
scripts/build-modules.sh
scripts/lint.sh

msg "userspace tests (cargo test)"
cargo_rc=0
cargo test --workspace 2>&1 | tee "$logs/cargo" || cargo_rc=$?
read -r u_pass u_fail u_skip < <(sed -n 's/^test result: [a-zA-Z]*\. \([0-9]*\) passed; \([0-9]*\) failed; \([0-9]*\) ignored.*/\1 \2 \3/p' "$logs/cargo" |
	awk '{p += $1; f += $2; s += $3} END {print p + 0, f + 0, s + 0}')
if [ "$cargo_rc" != 0 ] && [ "$u_fail" = 0 ]; then
	u_fail=1 # did not build or crashed
fi

msg "kernel selftests in QEMU"
vm_rc=0
scripts/run-vm.sh 'selftests/run_kselftest.sh' 2>&1 | tee "$logs/vm" || vm_rc=$?
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$logs/vm" | tail -n1 || true)
if [ -n "$line" ]; then
	read -r k_pass k_fail k_skip < <(echo "$line" | awk -F'[ ,]+' '{print $1, $3, $5}')
else
	k_pass=0 k_fail=1 k_skip=0 # the VM did not report
fi
if [ "$vm_rc" != 0 ] && [ "$k_fail" = 0 ] && [ "$k_skip" = 0 ]; then
	k_fail=1 # e.g. a kernel warning or oops after the tests passed
fi

echo "# userspace: $u_pass passed, $u_fail failed, $u_skip skipped"
echo "# kernel:    $k_pass passed, $k_fail failed, $k_skip skipped"
fail=$((u_fail + k_fail)) skip=$((u_skip + k_skip))
echo "$((u_pass + k_pass)) passed, $fail failed, $skip skipped"
[ "$fail" = 0 ] && [ "$skip" = 0 ]
