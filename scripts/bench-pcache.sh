#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Benchmark the Rust dm-pcache against the upstream C target with fio in
# the test VM (same pmem, same backing, same boot; data_crc off and on; raw
# pmem as the ceiling) and print Rust/C ratios. Not a test: numbers under
# TCG vary from run to run; compare ratios from one boot.
#
# Runs on the production test kernel (RDM_KERNEL=prod, no debug options),
# built on first use (config/prod.config adds dm-writecache for the third
# column).
#
# Usage: scripts/bench-pcache.sh     (RT=<seconds per job>, default 5; ROUNDS, default 1)
set -euo pipefail
export RDM_KERNEL=prod
. "$(dirname "$0")/lib.sh"
cd "$RDM_ROOT"
prepare_vm
scripts/run-vm.sh "RT=${RT:-5} ROUNDS=${ROUNDS:-1} bash guest/bench-pcache.sh"
