#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Install what building and testing need on a fresh Debian 12 machine:
# Debian packages (no recommends), bindgen-cli, and the 7.2 kernel source.
# Idempotent: a second run only checks.
#
# Usage: scripts/setup.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo

pkgs=(
	# kernel build
	make gcc flex bison bc libelf-dev libssl-dev cpio dwarves xz-utils python3
	# the Rust toolchain the kernel is built with (rustup's has no rust-src)
	rustc-web rust-web-src rust-web-clippy
	# the kernels are built with LLVM 22 (KASAN with Rust needs a clang-built
	# kernel; same LLVM major as rustc-web), and bindgen loads the matching
	# libclang (libclang-19 rejects clang-22's warning flags)
	clang-22 lld-22 llvm-22 libclang-22-dev libclang1-22
	# the test VM and what runs inside it
	qemu-system-x86 busybox-static dmsetup fio keyutils kmod
)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	msg "installing ${#missing[@]} Debian packages: ${missing[*]}"
	$SUDO apt-get update -q
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! "$BINDGEN" --version >/dev/null 2>&1; then
	command -v cargo >/dev/null || die "cargo not found (the rustup toolchain is needed for bindgen-cli)"
	msg "building bindgen-cli $BINDGEN_VERSION (~2 minutes)"
	cargo install --locked bindgen-cli --version "$BINDGEN_VERSION" --root "$RDM_CACHE/bindgen-$BINDGEN_VERSION"
fi

[ -d "$(rust_lib_src)" ] || die "$(rust_lib_src) missing: rust-web-src must match $KRUSTC"
"$RDM_ROOT/scripts/fetch-kernel-source.sh" >/dev/null
msg "setup complete"
