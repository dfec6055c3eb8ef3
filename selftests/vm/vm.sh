#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# What the other selftests assume of the test VM (runs inside it): enough
# online CPUs for concurrency, DAX-capable emulated pmem for dm-pcache,
# blk-crypto-fallback, and device-mapper.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../ktap.sh"

test_two_cpus_online() {
	[ "$(nproc)" -ge 2 ] || fail "only $(nproc) CPU online"
	[ "$(cat /sys/devices/system/cpu/online)" != 0 ] || fail "cpu online mask: $(cat /sys/devices/system/cpu/online)"
}

test_pmem_is_dax_capable() {
	[ -b /dev/pmem0 ] || fail "no /dev/pmem0"
	[ "$(cat /sys/block/pmem0/queue/dax)" = 1 ] || fail "pmem0 is not DAX-capable"
	# dm-pcache needs at least 512 MiB.
	[ "$(blockdev --getsize64 /dev/pmem0)" -ge $((512 << 20)) ] || fail "pmem0 smaller than 512 MiB"
}

test_inline_crypto_fallback_built_in() {
	[ -d /sys/module/dm_mod ] || [ -e /dev/mapper/control ] || fail "no device-mapper"
	grep -q 'xts(aes)' /proc/crypto || fail "no xts(aes) for the fallback"
}

ktap_run test_two_cpus_online test_pmem_is_dax_capable test_inline_crypto_fallback_built_in
