#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Fuzz the pcache on-media decoders for a bounded time with cargo-fuzz
# (libFuzzer + ASan) on the stable toolchain (RUSTC_BOOTSTRAP=1 lets it take
# the -Z flags cargo-fuzz passes). Installs cargo-fuzz into the cache.
#
# Usage: scripts/fuzz.sh        (FUZZ_SECONDS, default 60)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
fuzz_root=$RDM_CACHE/cargo-fuzz
if [ ! -x "$fuzz_root/bin/cargo-fuzz" ]; then
	msg "installing cargo-fuzz (~2 minutes)"
	cargo install --locked cargo-fuzz --root "$fuzz_root"
fi
cd "$RDM_ROOT/rust/pcache-format"
corpus=$RDM_CACHE/fuzz-corpus/decode
mkdir -p "$corpus"
RUSTC_BOOTSTRAP=1 "$fuzz_root/bin/cargo-fuzz" run decode "$corpus" -- \
	-max_total_time="${FUZZ_SECONDS:-60}" -max_len=8192
