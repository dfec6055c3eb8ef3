#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Benchmark the Rust dm-inlinecrypt against the upstream C target (and
# dm-crypt) with fio in the test VM, and print Rust/C ratios. Not a test:
# numbers under TCG vary from run to run; compare ratios from one boot.
#
# Runs on the production test kernel (RDM_KERNEL=prod: base config, no
# KASAN/lockdep/kmemleak, which would measure the detectors, not the targets),
# built on first use and cached beside the debug kernel under its own key.
# KDIR=<tree> measures on another kernel.
#
# Usage: scripts/bench-inlinecrypt.sh     (RT=<seconds per job>, default 5; ROUNDS, default 3)
set -euo pipefail
export RDM_KERNEL=prod
. "$(dirname "$0")/lib.sh"
cd "$RDM_ROOT"
prepare_vm
scripts/run-vm.sh "RT=${RT:-5} ROUNDS=${ROUNDS:-3} bash guest/bench-inlinecrypt.sh"
