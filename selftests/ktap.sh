# SPDX-License-Identifier: GPL-2.0
# KTAP helpers for the suite's selftests (bash). Source it, define test_*
# functions, then call `ktap_run test_a test_b ...`.
#
# Each test runs in a subshell with `set -e`: the first failing command
# fails the test, and its output is printed as KTAP diagnostics.

KMODDIR=${KMODDIR:-/rdm/kmod}
MODDIR=${MODDIR:-/rdm/modules}
ktap_pass=0
ktap_fail=0
ktap_skip=0

# Ask for a skip from inside a test: exit code 4 (kselftest's KSFT_SKIP).
ksft_skip() {
	echo "SKIP: $*"
	exit 4
}

# fail "message": fail the current test with a reason.
fail() {
	echo "FAIL: $*"
	exit 1
}

# load_kmod NAME: insmod a module of the test kernel from $KMODDIR, after
# its dependencies (no modprobe/depmod data in the VM).
load_kmod() {
	local name=$1 dep
	grep -q "^$(echo "$name" | tr - _) " /proc/modules && return 0
	# busybox modinfo wants modules.dep; the .modinfo strings say it all.
	for dep in $(strings -a "$KMODDIR/$name.ko" | sed -n 's/^depends=//p' | tr , ' '); do
		load_kmod "$dep"
	done
	insmod "$KMODDIR/$name.ko" "${@:2}"
}

# load_ours NAME: insmod one of the suite's modules unless a previous test
# program left it loaded.
load_ours() {
	grep -q "^$1 " /proc/modules || insmod "$MODDIR/$1.ko"
}

# No udev in the VM: libdevmapper makes the nodes (DM_DISABLE_UDEV=1) and
# must not wait for udev cookies.
dmsetup() { command dmsetup --noudevsync "$@"; }

# mkdev NAME TABLE: create a dm device and check that its node is a block
# device (without one, `dd of=/dev/mapper/NAME` would write a regular file
# and no I/O would reach the target).
mkdev() {
	dmsetup create "$1" --table "$2" || fail "dmsetup create $1 rejected: $2"
	[ -b "/dev/mapper/$1" ] || fail "/dev/mapper/$1 is not a block device"
}

# kmsg_mark TEXT: write "rdm-test: TEXT" into the kernel log, so the host
# (scripts/kernel-log-verdict.sh) can name the test a kernel report came in.
kmsg_mark() {
	echo "rdm-test: $*" >/dev/kmsg 2>/dev/null || true
}

# KTAP_ONLY="name ..." (without test_) runs only those tests of a program:
# for working on one test by hand, never set by `make check`.
ktap_run() {
	local i=0 name out rc prog
	prog=${0#"${0%/*/*}/"}
	if [ -n "${KTAP_ONLY:-}" ]; then
		local only=() t
		for name in "$@"; do
			for t in $KTAP_ONLY; do [ "${name#test_}" != "$t" ] || only+=("$name"); done
		done
		set -- "${only[@]}"
	fi
	echo "TAP version 13"
	echo "1..$#"
	for name in "$@"; do
		i=$((i + 1))
		kmsg_mark "$prog ${name#test_}"
		# Not `$(...) && rc=0 || rc=$?`: inside a command that is part of an
		# && / || list bash ignores `set -e`, so a failing step would not
		# end the test.
		out=$( (set -e; "$name") 2>&1 )
		rc=$?
		if declare -F cleanup >/dev/null; then cleanup >/dev/null 2>&1 || true; fi
		if [ "$rc" = 0 ]; then
			# A passing test may leave measurements: lines "info: ...".
			printf '%s\n' "$out" | sed -n 's/^info: /# /p'
			echo "ok $i ${name#test_}"
			ktap_pass=$((ktap_pass + 1))
		elif [ "$rc" = 4 ]; then
			echo "ok $i ${name#test_} # SKIP ${out##*SKIP: }"
			ktap_skip=$((ktap_skip + 1))
		else
			printf '%s\n' "$out" | tail -n 25 | sed 's/^/# /'
			echo "not ok $i ${name#test_}"
			ktap_fail=$((ktap_fail + 1))
		fi
	done
	echo "# Totals: pass:$ktap_pass fail:$ktap_fail skip:$ktap_skip"
	[ "$ktap_fail" = 0 ] && [ "$ktap_skip" = 0 ]
}
