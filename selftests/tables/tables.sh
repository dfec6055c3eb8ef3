#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Hostile tables and messages (runs inside the test VM): every case of the
# generated corpus (corpus.sh) goes through `dmsetup create` (or `dmsetup
# message`) and must end as the corpus says: accepted and working, or refused
# with the expected errno and a DMERR, never an oops, a splat or a leak (the
# VM runner and the kmemleak scan after this program judge those).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../ktap.sh"
. "$here/corpus.sh"

setup() {
	load_kmod brd rd_nr=2 rd_size=65536
	load_ours dm_inlinecrypt_rs
	load_ours dm_rdm_test
	keyctl link @u @s 2>/dev/null || true
	head -c 64 /dev/urandom | keyctl padd logon rdm:corpus @u >/dev/null
}

cleanup() {
	dmsetup remove_all >/dev/null 2>&1
	true
}

# run_case TARGET EXPECT WHAT PARAMS: one table through dmsetup create.
# Prints nothing on success, one line saying what went wrong otherwise.
# Under KASAN and TCG a fork costs ~0.1 s: the checks run in this shell.
# The kernel log was emptied by the previous case (or by corpus_run).
run_case() {
	local target=$1 expect=$2 what=$3 params=$4 err rc=0 log text ok=0 texts=()
	err=$(dmsetup create corpus --table "0 8192 $target $params" 2>&1) || rc=$?
	log=$(dmesg -c)
	if [ "$expect" = accept ]; then
		if [ "$rc" != 0 ]; then
			echo "$target [$what]: refused, want accepted: $err"
			return
		fi
		if [ ! -b /dev/mapper/corpus ] ||
			! dd if=/dev/mapper/corpus of=/dev/null bs=4k count=1 iflag=direct status=none; then
			echo "$target [$what]: accepted but the device does not read"
		fi
		dmsetup remove corpus || echo "$target [$what]: cannot remove"
		dmesg -c >/dev/null
		return
	fi
	if [ "$rc" = 0 ]; then
		echo "$target [$what]: accepted, want $expect"
		dmsetup remove corpus
		dmesg -c >/dev/null
		return
	fi
	# A refused create removes the device it made: dmsetup says so if not.
	[[ "$err" != *"already exists"* ]] || echo "$target [$what]: a refused table left a device"
	# dm core logs the constructor's (or the device check's) reason.
	[[ "$log" == *"device-mapper: table: "*": "* ]] || echo "$target [$what]: refused without a DMERR: $err"
	# The strerror texts dmsetup may print for the expected outcome.
	case $expect in
	EINVAL) texts=("Invalid argument") ;;
	ENOKEY) texts=("Required key not available") ;;
	nodev) texts=("No such file or directory" "No such device or address" "Block device required" "File name too long") ;;
	esac
	for text in "${texts[@]}"; do
		[[ "$err" != *"failed: $text"* ]] || ok=1
	done
	[ "$ok" = 1 ] || echo "$target [$what]: want $expect, got: $err"
}

# corpus_run TARGET GENERATOR: every case; fails with the list of misses.
corpus_run() {
	local target=$1 gen=$2 expect what params n=0 bad
	dmesg -c >/dev/null
	bad=$(while IFS=$'\t' read -r expect what params; do
		run_case "$target" "$expect" "$what" "$params"
	done < <("$gen"))
	n=$("$gen" | wc -l)
	echo "info: $target: $n cases, $(grep -c . <<<"$bad") misses"
	! dmsetup info corpus >/dev/null 2>&1 || fail "a device was left behind"
	[ -z "$bad" ] || fail "$bad"
}

test_corpus_has_300_cases() {
	local n
	n=$( (corpus_inlinecrypt; corpus_rdm_test; corpus_rdm_test_messages) | wc -l)
	echo "info: corpus: $n cases"
	[ "$n" -ge 300 ] || fail "only $n cases"
	# Both outcomes are represented: a corpus that only rejects proves little.
	[ "$( (corpus_inlinecrypt; corpus_rdm_test) | grep -c '^accept')" -ge 30 ] || fail "too few valid mutations"
}

test_inlinecrypt_tables() { corpus_run inlinecrypt corpus_inlinecrypt; }
test_rdm_test_tables() { corpus_run rdm_test corpus_rdm_test; }

test_pcache_tables() {
	grep -q '^dm_pcache ' /proc/modules && rmmod dm_pcache
	load_ours dm_pcache_rs
	# Earlier programs wrote pmem0 through other targets: a fresh cache.
	dd if=/dev/zero of=/dev/pmem0 bs=1M count=1 oflag=direct status=none
	corpus_run pcache corpus_pcache
}

test_rdm_test_messages() {
	local expect what msg err rc bad="" n=0
	dmsetup create msg --table "0 8192 rdm_test /dev/ram0 0" || fail "create"
	while IFS=$'\t' read -r expect what msg; do
		n=$((n + 1))
		rc=0
		# shellcheck disable=SC2086 # a message is a word list
		err=$(dmsetup message -- msg 0 $msg 2>&1) || rc=$?
		if [ "$expect" = accept ] && [ "$rc" != 0 ]; then
			bad+="[$what]: refused: $err"$'\n'
		elif [ "$expect" != accept ] && [ "$rc" = 0 ]; then
			bad+="[$what]: accepted, want $expect"$'\n'
		elif [ "$expect" = EINVAL ] && [ -n "$msg" ] && [[ "$err" != *"Invalid argument"* ]]; then
			bad+="[$what]: want EINVAL, got: $err"$'\n'
		fi
	done < <(corpus_rdm_test_messages)
	echo "info: rdm_test messages: $n cases"
	# The device still works after all of it.
	dmsetup message msg 0 defer 0
	dd if=/dev/mapper/msg of=/dev/null bs=4k count=16 iflag=direct status=none || fail "device broken after the messages"
	dmsetup remove msg
	[ -z "$bad" ] || fail "$bad"
}

# The dm device named as its own backing device, by number and by path.
test_table_naming_its_own_device() {
	local dev rc=0
	dmsetup create self --notable || fail "create --notable"
	dmsetup mknodes self
	dev=$(dmsetup info -c --noheadings -o major,minor --separator : self)
	for path in "$dev" /dev/mapper/self; do
		for t in "inlinecrypt aes-xts-plain64 $CORPUS_KEY 0 $path 0" "rdm_test $path 0"; do
			! dmsetup load self --table "0 8 $t" 2>/dev/null || fail "loaded a table over itself: $t"
		done
	done
	dmsetup remove self
}

setup
ktap_run test_corpus_has_300_cases test_inlinecrypt_tables test_rdm_test_tables test_pcache_tables \
	test_rdm_test_messages test_table_naming_its_own_device
