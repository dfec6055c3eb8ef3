#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Compile-fail tests of the rdm layer (host side, no VM): each case in
# rust/rdm/compile-fail/ is a piece of target code that tries to misuse the
# layer. It is built out of tree against the test kernel inside a crate set
# up exactly as a target's (crate root denying `unsafe_code`, the rdm layer
# as a module); it must fail to compile with the error its first line names
# (`// expect: <text>`). `// expect: compiles` marks a control case that
# must build. A misuse case that compiles fails the test.
#
# Usage: scripts/check-compile-fail.sh [case.rs...]   (default: all)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$RDM_ROOT"

cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(rust/rdm/compile-fail/*.rs)
kdir=$(kdir)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

pass=0 fail=0 i=0
echo "TAP version 13"
echo "1..${#cases[@]}"
for case in "${cases[@]}"; do
	i=$((i + 1))
	name=$(basename "$case" .rs)
	want=$(sed -n '1s|^// expect: ||p' "$case")
	[ -n "$want" ] || die "$case: first line must be '// expect: <error text>|compiles'"
	dir=$work/$name
	mkdir -p "$dir"
	cat >"$dir/Kbuild" <<-KBUILD
	obj-m += cf_$name.o
	cf_$name-y := cf_main.o
	RDM_MODULE := cf_$name
	RDM_CRATE := cf_main.o
	include $RDM_ROOT/rust/rdm/rdm.mk
	KBUILD
	echo "#include \"$RDM_ROOT/rust/rdm/helpers.c\"" >"$dir/rdm_helpers.c"
	cat >"$dir/cf_main.rs" <<-ROOT
	//! Compile-fail case $name, in a crate set up as a target's.
	#![deny(unsafe_code)]
	use kernel::prelude::*;
	#[path = "$RDM_ROOT/rust/rdm/mod.rs"]
	#[expect(unsafe_code, reason = "the rdm layer holds all of the crate's unsafe code")]
	mod rdm;
	#[path = "$RDM_ROOT/rust/rdm/compile-fail/common/fixture.rs"]
	#[allow(dead_code)]
	mod fixture;
	#[path = "$RDM_ROOT/$case"]
	#[allow(dead_code)]
	mod case;
	module! {
	    type: Cf,
	    name: "cf_$name",
	    authors: ["The rust-dm authors"],
	    description: "compile-fail case",
	    license: "GPL",
	}
	struct Cf;
	impl kernel::Module for Cf {
	    fn init(_module: &'static ThisModule) -> Result<Self> {
	        Ok(Cf)
	    }
	}
	ROOT
	rc=0
	# shellcheck disable=SC2046 # kmake_args is a word list on purpose
	make -C "$kdir" M="$dir" $(kmake_args) modules >"$dir/log" 2>&1 || rc=$?
	if [ "$want" = compiles ]; then
		ok=$([ "$rc" = 0 ] && echo 1 || echo 0)
		what="$name: compiles (control)"
	else
		ok=$([ "$rc" != 0 ] && grep -qF -- "$want" "$dir/log" && echo 1 || echo 0)
		what="$name: fails to compile with '$want'"
	fi
	if [ "$ok" = 1 ]; then
		echo "ok $i $what"
		pass=$((pass + 1))
	else
		grep -E 'error|warning' "$dir/log" | head -n 20 | sed 's/^/# /'
		[ "$rc" != 0 ] || echo "# it compiled"
		echo "not ok $i $what"
		fail=$((fail + 1))
	fi
done
echo "# Totals: pass:$pass fail:$fail skip:0"
[ "$fail" = 0 ]
