#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build the suite's modules out of tree against the test kernel (or $KDIR).
# RDM_TEST_ONLY=m in the environment adds the test-only fixtures (the
# rdm_defects module); `make check` sets it, `make` and packages do not.
#
# Usage: scripts/build-modules.sh [make targets and variables, default: modules]
#   e.g. scripts/build-modules.sh modules CLIPPY=1
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kdir=$(kdir)
[ -f "$kdir/rust/libkernel.rmeta" ] ||
	die "$kdir is not a Rust-enabled kernel build (no rust/libkernel.rmeta): run scripts/build-kernel.sh or set KDIR"
# shellcheck disable=SC2046 # kmake_args is a word list on purpose
[ $# -gt 0 ] || set -- modules
make -C "$kdir" M="$RDM_ROOT" $(kmake_args) CLIPPY_DRIVER=/usr/bin/clippy-driver \
	RDM_TEST_ONLY="${RDM_TEST_ONLY:-}" "$@"
