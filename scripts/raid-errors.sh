#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Inject read errors across the legs of a raid_rs raid1 under two verifying
# readers, in the test VM, and print `errors injected N, corrected C, wrong
# bytes W` (the goal: all corrected, 0 wrong). Not part of `make check`: the
# default 10,000 errors take a while under TCG.
#
# Usage: scripts/raid-errors.sh [N]     (default 10000; RDM_KERNEL=prod for
#        the kernel without debug options, built on first use)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$RDM_ROOT"
prepare_vm
VM_TIMEOUT=${VM_TIMEOUT:-7200} scripts/run-vm.sh "ERRORS=${1:-10000} bash guest/raid-errors.sh"
