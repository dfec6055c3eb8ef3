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
roots=(dm-*/dm_*.rs rust/*/*/*_main.rs selftests/detectors/module/*.rs)
rustfmt --edition 2021 --check "${roots[@]}" rust/rdm/compile-fail/*.rs
cargo fmt --all --check

msg "cargo clippy (userspace crates)"
cargo clippy --workspace --all-targets -q -- -D warnings

msg "clippy with the kernel's lints (modules, -Dwarnings)"
# Touch the crate roots so every module is linted, not only changed ones.
touch "${roots[@]}"
scripts/build-modules.sh modules CLIPPY=1 KRUSTFLAGS=-Dwarnings
# Leave ordinary (non-clippy) objects behind for the tests.
touch "${roots[@]}"
scripts/build-modules.sh modules >/dev/null
