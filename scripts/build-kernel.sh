#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build a minimal Rust-enabled test kernel (allnoconfig + the fragments of
# $RDM_KERNEL, see lib.sh) into the cache, keyed by source version + flavour +
# config + compiler + rustc + bindgen. A second run with the same key does
# nothing. Prints the build directory on stdout.
#
# Usage: scripts/build-kernel.sh                  (the debug kernel)
#        RDM_KERNEL=prod scripts/build-kernel.sh  (the production kernel)
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
read -r -a fragments <<<"$(kconfig_fragments)"
mkdir -p "$out"
msg "configuring the $RDM_KERNEL kernel in $out"
make -s -C "$src" O="$out" "${args[@]}" allnoconfig >&2
"$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "${fragments[@]}" >/dev/null
make -s -C "$src" O="$out" "${args[@]}" olddefconfig >&2

# A fragment line whose dependencies are not met is dropped silently by
# Kconfig (and one that is turned off may come back selected): fail loudly
# instead of testing a kernel that is not the one asked for.
missing=0
while IFS= read -r line; do
	opt=${line#\# }
	opt=${opt%%[= ]*}
	got=$(grep -E "^(# )?$opt[= ]" "$out/.config" || true)
	if [ "$got" != "$line" ]; then
		echo "config: wanted '$line', got: '${got:-unset}'" >&2
		missing=1
	fi
done < <(grep -hE '^CONFIG_[A-Z0-9_]+=|^# CONFIG_[A-Z0-9_]+ is not set$' "${fragments[@]}")
[ "$missing" = 0 ] || die "the kernel config lacks options the suite needs"

make -s -C "$src" O="$out" "${args[@]}" rustavailable >&2

msg "building the $RDM_KERNEL kernel: bzImage + modules with -j$JOBS (fresh: ~8 minutes on 2 cores)"
start=$SECONDS
# Progress: one line per 200 objects, not silence, not a flood.
if ! make -C "$src" O="$out" "${args[@]}" -j"$JOBS" bzImage modules 2>&1 |
	awk '/^  [A-Z]+/ { n++; if (n % 200 == 0) printf "  ... %d objects built\n", n > "/dev/stderr"; fflush("/dev/stderr"); next }
	     { print > "/dev/stderr" }'; then
	die "kernel build failed (see output above)"
fi
make -s -C "$src" O="$out" "${args[@]}" INSTALL_MOD_PATH="$out/modinst" modules_install >&2
msg "kernel built in $((SECONDS - start)) s"
touch "$out/.rdm-built"
echo "$out"
