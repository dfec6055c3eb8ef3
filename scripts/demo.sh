#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Show dm-inlinecrypt working in the test VM: build what is needed, boot,
# create a device with dmsetup, write, show the ciphertext on the backing
# device, read back, print `dmsetup table` and `dmsetup status`.
#
# Usage: scripts/demo.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$RDM_ROOT"
prepare_vm
scripts/run-vm.sh 'bash guest/demo-inlinecrypt.sh'
