#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Capture cache images written by the upstream C dm-pcache in the test VM
# and store them, packed, as golden images for the pcache-format tests.
# Run by hand when the format or the test kernel changes; the results are
# committed under tools/pcache/golden/.
#
# Usage: scripts/capture-pcache-golden.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$RDM_ROOT"
scripts/build-kernel.sh >/dev/null
scripts/build-modules.sh >/dev/null
cargo build -q --release -p pcache

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pmem_mb=600
truncate -s $((3 * pmem_mb))M "$work/disk"
VM_PMEM=${pmem_mb}M VM_DISK="$work/disk" scripts/run-vm.sh 'bash guest/capture-pcache.sh'
mkdir -p tools/pcache/golden
for i in 0 1 2; do
	name=$(echo "c-fresh c-dirty c-clean" | cut -d' ' -f$((i + 1)))
	dd if="$work/disk" of="$work/$name.img" bs=1M skip=$((i * pmem_mb)) count=$pmem_mb status=none
	target/release/pcache pack "$work/$name.img" "tools/pcache/golden/$name.pcs.gz"
	msg "tools/pcache/golden/$name.pcs.gz: $(stat -c %s "tools/pcache/golden/$name.pcs.gz") bytes"
done
