#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build the minimal Rust-enabled test kernel (allnoconfig + config/*.config)
# into the cache, keyed by source version + config + rustc + bindgen. A second
# run with the same key does nothing. Prints the build directory on stdout.
#
# Usage: scripts/build-kernel.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"

if [ -n "${KDIR:-}" ]; then
	msg "KDIR=$KDIR given: using that tree as is"
	echo "$KDIR"
	exit 0
fi
src=$(ksrc_dir)
out=$(kdir)

if [ -f "$out/.rdm-built" ]; then
	msg "test kernel cached: $out"
	echo "$out"
	exit 0
fi

args=($(kmake_args))
mkdir -p "$out"
msg "configuring $out"
make -s -C "$src" O="$out" "${args[@]}" allnoconfig >&2
"$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "$RDM_ROOT"/config/*.config >/dev/null
make -s -C "$src" O="$out" "${args[@]}" olddefconfig >&2

# A fragment line whose dependencies are not met is dropped silently by
# Kconfig: fail loudly instead of testing a kernel without the option.
missing=0
while IFS= read -r line; do
	opt=${line%%=*}
	if ! grep -qxF "$line" "$out/.config"; then
		echo "config: wanted $line, got: $(grep -E "^(# )?$opt[= ]" "$out/.config" || echo unset)" >&2
		missing=1
	fi
done < <(grep -hE '^CONFIG_[A-Z0-9_]+=' "$RDM_ROOT"/config/*.config)
[ "$missing" = 0 ] || die "the kernel config lacks options the suite needs"

make -s -C "$src" O="$out" "${args[@]}" rustavailable >&2

msg "building bzImage + modules with -j$JOBS (fresh: ~7-15 minutes on 2 cores)"
start=$SECONDS
# Progress: one line per 200 objects, not silence, not a flood.
if ! make -C "$src" O="$out" "${args[@]}" -j"$JOBS" bzImage modules 2>&1 |
	awk '/^  [A-Z]+/ { n++; if (n % 200 == 0) printf "  ... %d objects built\n", n > "/dev/stderr"; next }
	     { print > "/dev/stderr" }'; then
	die "kernel build failed (see output above)"
fi
make -s -C "$src" O="$out" "${args[@]}" INSTALL_MOD_PATH="$out/modinst" modules_install >&2
msg "kernel built in $((SECONDS - start)) s"
touch "$out/.rdm-built"
echo "$out"
