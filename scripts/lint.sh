#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Style gates: rustfmt (the kernel's .rustfmt.toml) on every crate, clippy on
# the userspace crates, and the modules rebuilt with the kernel's clippy
# lints as errors. Needs the test kernel (or $KDIR).
#
# Usage: scripts/lint.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$RDM_ROOT"

msg "rustfmt --check"
roots=(dm-*/dm_*.rs md-raid/dm_raid.rs rust/*/*/*_main.rs selftests/detectors/module/*.rs)
rustfmt --edition 2021 --check "${roots[@]}" rust/rdm/compile-fail/*.rs rust/rdm/compile-fail/common/*.rs
cargo fmt --all --check

msg "target code holds no unsafe: only the rdm module is exempt"
# Target crates deny unsafe_code, but a deny can be lifted locally and a
# forbid would also forbid the layer's exemption: so check the sources. Once
# the crate root's deny and the exemption on `mod rdm;` are taken out, no
# target file may mention unsafe_code at all.
for f in dm-*/*.rs md-raid/*.rs rust/rdm/testmod/*.rs rust/pcache-format/kmod/*.rs; do
	case $f in *_tests.rs | *_lib.rs) continue ;; esac
	left=$(perl -0pe 's/#!\[deny\(unsafe_code\)\]//; s/#\[expect\(\s*unsafe_code,\s*reason = "[^"]*"\s*\)\]\s*mod rdm;//' "$f" |
		grep -c unsafe_code || true)
	[ "$left" = 0 ] || die "$f: unsafe_code lint lifted outside the rdm module"
	if grep -q '^mod rdm;' "$f"; then
		grep -q '^#!\[deny(unsafe_code)\]' "$f" || die "$f: crate root does not deny unsafe_code"
	fi
done

msg "cargo clippy (userspace crates)"
cargo clippy --workspace --all-targets -q -- -D warnings

msg "clippy with the kernel's lints (modules, -Dwarnings)"
# Touch the crate roots so every module is linted, not only changed ones.
touch "${roots[@]}"
scripts/build-modules.sh modules CLIPPY=1 KRUSTFLAGS=-Dwarnings
# Leave ordinary (non-clippy) objects behind for the tests.
touch "${roots[@]}"
scripts/build-modules.sh modules >/dev/null
