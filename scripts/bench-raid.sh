#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Benchmark raid_rs against upstream dm-raid (md raid1/raid10) with fio in
# the test VM (same RAM-disk legs, same boot; 4K random and 1M sequential,
# 1 and 2 jobs), then recovery from 16 and 64 bad blocks under two readers,
# and print raid_rs/md ratios. Not a test: numbers under TCG vary from run
# to run; compare ratios from one boot.
#
# Runs on the production test kernel (RDM_KERNEL=prod, no debug options),
# built on first use.
#
# Usage: scripts/bench-raid.sh     (RT=<seconds per job>, default 5; ROUNDS, default 1)
set -euo pipefail
export RDM_KERNEL=prod
. "$(dirname "$0")/lib.sh"
cd "$RDM_ROOT"
prepare_vm
VM_TIMEOUT=${VM_TIMEOUT:-3600} scripts/run-vm.sh "RT=${RT:-5} ROUNDS=${ROUNDS:-1} bash guest/bench-raid.sh"
