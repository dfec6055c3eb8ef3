#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Selftests of the Rust dm-inlinecrypt target (runs inside the test VM).
#
# Backing devices are brd RAM disks, which have no inline-encryption
# hardware, so every bio goes through blk-crypto-fallback. The reference for
# the ciphertext is dm-crypt with the same key, iv_offset and sector size.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../ktap.sh"

# 64-byte AES-256-XTS keys whose halves differ (the fallback rejects equal halves).
KEY=$(for i in $(seq 0 63); do printf %02x "$i"; done)
KEY2=$(for i in $(seq 64 127); do printf %02x "$((i * 7 % 256))"; done)
RAM_SECTORS=131072 # 64 MiB per RAM disk
DATA_MB=4

setup() {
	load_kmod brd rd_nr=2 rd_size=$((RAM_SECTORS / 2))
	load_kmod dm-crypt
	insmod "$MODDIR/dm_inlinecrypt_rs.ko"
	head -c $((DATA_MB << 20)) /dev/urandom > /tmp/data
}

cleanup() {
	dmsetup remove_all >/dev/null 2>&1
	for l in /dev/loop*; do losetup -d "$l" 2>/dev/null; done
	keyctl clear @u >/dev/null 2>&1
	true
}

sha() { sha256sum | cut -d' ' -f1; }

# mkdev NAME TABLE: create a dm device and check that its node is a block
# device (without udev, a missing node would turn writes into a plain file).
# The I/O counters of a dm device: reads and writes completed.
iostat() {
	local minor
	minor=$(dmsetup info -c --noheadings -o minor "$1")
	awk '{print $1 + $5}' "/sys/block/dm-$minor/stat"
}

# ic_table LEN DEV [IV_OFFSET] [OPTS...]: an inlinecrypt table line.
ic_table() {
	local len=$1 dev=$2 iv=${3:-0}
	shift 3 2>/dev/null || shift $#
	echo "0 $len inlinecrypt aes-xts-plain64 $KEY $iv $dev 0${*:+ $*}"
}

write_data() { dd if=/tmp/data of="$1" bs=64k oflag=direct conv=fsync status=none; }
read_sha() { dd if="$1" bs=64k count=$((DATA_MB * 16)) iflag=direct status=none | sha; }

# --- tests -----------------------------------------------------------------

test_module_registers_target() {
	dmsetup targets | grep -E '^inlinecrypt +v1\.0\.0$' || fail "target not listed"
	grep -q '^dm_inlinecrypt_rs ' /proc/modules
}

test_valid_tables() {
	local opts
	for opts in "" "0" "1 allow_discards" "1 iv_large_sectors" "1 keytype:raw" \
		"2 sector_size:4096 iv_large_sectors" "2 sector_size:1024 iv_large_sectors" \
		"2 iv_large_sectors sector_size:2048" \
		"4 allow_discards sector_size:4096 iv_large_sectors keytype:raw"; do
		mkdev ok "0 4096 inlinecrypt aes-xts-plain64 $KEY 8 /dev/ram0 16${opts:+ $opts}"
		dmsetup remove ok
	done
	# Upper-case hex and a maj:min device path.
	mkdev ok "0 4096 inlinecrypt aes-xts-plain64 ${KEY^^} 0 1:0 0"
	dmsetup remove ok
}

test_invalid_tables_rejected() {
	local same half bad line msg
	# Whitespace in a key: libdevmapper escapes backslashes, so a table
	# cannot carry whitespace inside one argument; the key splits and the
	# table is rejected. The constructor's own whitespace check (reachable
	# through the raw ioctl) is covered by the table crate's cargo tests.
	same=$(printf 'ab%.0s' $(seq 64))
	half=${KEY:0:64}
	while IFS='|' read -r line msg; do
		[ -n "$line" ] || continue
		dmesg -c >/dev/null
		if dmsetup create bad --table "$line" 2>/dev/null; then
			dmsetup remove bad
			fail "accepted: $line"
		fi
		dmesg | grep -qF "$msg" || { dmesg | tail -n 3; fail "no '$msg' for: $line"; }
	done <<-TABLES
	0 4096 inlinecrypt aes-cbc-plain64 $KEY 0 /dev/ram0 0|Unsupported cipher
	0 4096 inlinecrypt aes-xts-plain64 $half 0 /dev/ram0 0|aes-xts-plain64 takes a 64-byte raw key
	0 4096 inlinecrypt aes-xts-plain64 ${KEY}1 0 /dev/ram0 0|Cannot parse key size
	0 4096 inlinecrypt aes-xts-plain64 ${KEY:0:126}xy 0 /dev/ram0 0|Malformed key string
	0 4096 inlinecrypt aes-xts-plain64 $same 0 /dev/ram0 0|XTS key halves must differ
	0 4096 inlinecrypt aes-xts-plain64 :64:logon:a b 0 /dev/ram0 0|Invalid iv_offset sector
	0 4096 inlinecrypt aes-xts-plain64 $KEY 0 /dev/ram0|Not enough arguments
	0 4096 inlinecrypt aes-xts-plain64 $KEY x /dev/ram0 0|Invalid iv_offset sector
	0 4096 inlinecrypt aes-xts-plain64 $KEY 0 /dev/nonexistent 0|Device lookup failed
	0 4095 inlinecrypt aes-xts-plain64 $KEY 0 /dev/ram0 0 2 sector_size:4096 iv_large_sectors|Device size is not a multiple of sector_size
	0 4096 inlinecrypt aes-xts-plain64 $KEY 4 /dev/ram0 0 2 sector_size:4096 iv_large_sectors|Wrong alignment of iv_offset sector
	0 4096 inlinecrypt aes-xts-plain64 $KEY 0 /dev/ram0 0 2 sector_size:3072 iv_large_sectors|Invalid sector_size
	0 4096 inlinecrypt aes-xts-plain64 $KEY 0 /dev/ram0 0 2 sector_size:8192 iv_large_sectors|Invalid sector_size
	0 4096 inlinecrypt aes-xts-plain64 $KEY 0 /dev/ram0 0 2 sector_size:256 iv_large_sectors|Invalid sector_size
	0 4096 inlinecrypt aes-xts-plain64 $KEY 0 /dev/ram0 0 1 sector_size:4096|iv_large_sectors must be specified
	0 4096 inlinecrypt aes-xts-plain64 $KEY 0 /dev/ram0 0 1 no_such_option|Invalid feature arguments
	0 4096 inlinecrypt aes-xts-plain64 $KEY 0 /dev/ram0 0 5 allow_discards allow_discards allow_discards allow_discards allow_discards|Invalid number of feature args
	0 4096 inlinecrypt aes-xts-plain64 $KEY 0 /dev/ram0 0 1 allow_discards extra|Too many arguments
	0 4096 inlinecrypt aes-xts-plain64 $KEY 0 /dev/ram0 0 1 keytype:bogus|Invalid block key type
	0 4096 inlinecrypt aes-xts-plain64 :64:logon:no-such-key 0 /dev/ram0 0|Cannot read logon key of that size
	TABLES
	! dmsetup info bad >/dev/null 2>&1 || fail "a rejected table left a device"
}

# roundtrip SECTOR_SIZE: pattern written through the target reads back, the
# backing device holds something else, and the I/O went through dm.
roundtrip() {
	local ss=$1 opts="" before
	[ "$ss" = 512 ] || opts="2 sector_size:$ss iv_large_sectors"
	mkdev rt "$(ic_table $((DATA_MB * 2048)) /dev/ram0 0 $opts)"
	before=$(iostat rt)
	write_data /dev/mapper/rt
	[ "$(read_sha /dev/mapper/rt)" = "$(sha </tmp/data)" ] || fail "data read back differs"
	[ "$(iostat rt)" -ge $((before + 2 * DATA_MB * 16)) ] || fail "dm-$(dmsetup info -c --noheadings -o minor rt) stat did not move"
	[ "$(read_sha /dev/ram0)" != "$(sha </tmp/data)" ] || fail "backing device holds plaintext"
	[ "$(blockdev --getss /dev/mapper/rt)" = "$ss" ] || fail "logical block size is not $ss"
}

test_roundtrip_512() { roundtrip 512; }
test_roundtrip_4096() { roundtrip 4096; }

# same_as_dm_crypt SECTOR_SIZE IV_OFFSET: both targets write the same data
# with the same key; the ciphertexts are identical, and each decrypts the
# other's.
same_as_dm_crypt() {
	local ss=$1 iv=$2 opts="" len=$((DATA_MB * 2048))
	[ "$ss" = 512 ] || opts="2 sector_size:$ss iv_large_sectors"
	mkdev ic "$(ic_table $len /dev/ram0 "$iv" $opts)"
	mkdev dc "0 $len crypt aes-xts-plain64 $KEY $iv /dev/ram1 0${opts:+ $opts}"
	write_data /dev/mapper/ic
	write_data /dev/mapper/dc
	[ "$(read_sha /dev/ram0)" = "$(read_sha /dev/ram1)" ] || fail "ciphertext differs from dm-crypt's"
	dmsetup remove ic
	dmsetup remove dc
	# Swap the backing devices: each target reads what the other wrote.
	mkdev ic "$(ic_table $len /dev/ram1 "$iv" $opts)"
	mkdev dc "0 $len crypt aes-xts-plain64 $KEY $iv /dev/ram0 0${opts:+ $opts}"
	[ "$(read_sha /dev/mapper/ic)" = "$(sha </tmp/data)" ] || fail "inlinecrypt cannot read dm-crypt's data"
	[ "$(read_sha /dev/mapper/dc)" = "$(sha </tmp/data)" ] || fail "dm-crypt cannot read inlinecrypt's data"
}

test_same_ciphertext_as_dm_crypt_512() { same_as_dm_crypt 512 1000; }
test_same_ciphertext_as_dm_crypt_4096() { same_as_dm_crypt 4096 4096; }

test_table_output_reloads() {
	local line again
	mkdev rl "0 8192 inlinecrypt aes-xts-plain64 $KEY 16 /dev/ram0 8 3 allow_discards sector_size:4096 iv_large_sectors"
	write_data /dev/mapper/rl
	line=$(dmsetup table --showkeys rl)
	echo "table: $line"
	[[ "$line" == "0 8192 inlinecrypt aes-xts-plain64 $KEY 16 1:0 8 3 allow_discards sector_size:4096 iv_large_sectors" ]] ||
		fail "unexpected table line"
	dmsetup reload rl --table "$line"
	dmsetup resume rl
	again=$(dmsetup table --showkeys rl)
	[ "$again" = "$line" ] || fail "reloaded table differs: $again"
	[ "$(read_sha /dev/mapper/rl)" = "$(sha </tmp/data)" ] || fail "data changed across reload"
	# A fresh device from the printed line reads the same data.
	mkdev rl2 "$line"
	[ "$(read_sha /dev/mapper/rl2)" = "$(sha </tmp/data)" ] || fail "copy from table line differs"
}

test_one_data_unit_target() {
	# max_dun = 0: upstream computes dun_bytes = 0 and fails the table.
	mkdev one "0 8 inlinecrypt aes-xts-plain64 $KEY 0 /dev/ram0 0 2 sector_size:4096 iv_large_sectors"
	head -c 4096 /tmp/data > /tmp/one
	dd if=/tmp/one of=/dev/mapper/one bs=4096 oflag=direct status=none
	[ "$(dd if=/dev/mapper/one bs=4096 iflag=direct status=none | sha)" = "$(sha </tmp/one)" ]
}

test_logon_key() {
	local line
	echo -n "$KEY2" | xxd -r -p | keyctl padd logon dm:rdm-test @u >/dev/null
	keyctl link @u @s 2>/dev/null || true
	mkdev lk "0 8192 inlinecrypt aes-xts-plain64 :64:logon:dm:rdm-test 0 /dev/ram0 0"
	line=$(dmsetup table --showkeys lk)
	echo "table: $line"
	[[ "$line" == "0 8192 inlinecrypt aes-xts-plain64 :64:logon:dm:rdm-test 0 1:0 0" ]] || fail "keyring key not printed as reference"
	[[ "$line" != *"${KEY2:0:16}"* ]] || fail "key material printed"
	write_data /dev/mapper/lk
	dmsetup remove lk
	# The same key given as hex decrypts it: the keyring payload was used.
	mkdev hx "0 8192 inlinecrypt aes-xts-plain64 $KEY2 0 /dev/ram0 0"
	[ "$(read_sha /dev/mapper/hx)" = "$(sha </tmp/data)" ] || fail "keyring key is not the key that was used"
	dmsetup remove hx
	# The printed line reloads.
	mkdev lk "$line"
	dmsetup reload lk --table "$line"
	dmsetup resume lk
	# A key of the wrong size is refused.
	! dmsetup create lk2 --table "0 8192 inlinecrypt aes-xts-plain64 :32:logon:dm:rdm-test 0 /dev/ram0 0" 2>/dev/null ||
		fail "accepted a logon key of the wrong size"
}

test_discards_only_with_allow_discards() {
	local loop minor
	truncate -s 16M /tmp/disk
	loop=$(losetup -f)
	losetup "$loop" /tmp/disk
	mkdev nd "0 8192 inlinecrypt aes-xts-plain64 $KEY 0 $loop 0"
	minor=$(dmsetup info -c --noheadings -o minor nd)
	[ "$(cat /sys/block/dm-$minor/queue/discard_max_bytes)" = 0 ] || fail "discards advertised without allow_discards"
	! blkdiscard /dev/mapper/nd 2>/dev/null || fail "discard passed without allow_discards"
	dmsetup remove nd
	mkdev ad "0 8192 inlinecrypt aes-xts-plain64 $KEY 0 $loop 0 1 allow_discards"
	write_data /dev/mapper/ad
	[ "$(dd if=$loop bs=1M count=4 iflag=direct status=none | tr -d '\0' | wc -c)" -gt 0 ]
	blkdiscard /dev/mapper/ad || fail "discard failed with allow_discards"
	[ "$(dd if=$loop bs=1M count=4 iflag=direct status=none | tr -d '\0' | wc -c)" = 0 ] ||
		fail "discard did not reach the backing device"
}

test_status_and_flush() {
	mkdev st "$(ic_table 8192 /dev/ram0 0)"
	[ -z "$(dmsetup status st | cut -d' ' -f4-)" ] || fail "INFO status should be empty"
	dmsetup status st | grep -q '^0 8192 inlinecrypt' || fail "status line"
	# An empty flush (fsync on the device) is remapped, not killed.
	dd if=/dev/zero of=/dev/mapper/st bs=4k count=1 conv=fsync status=none
	sync
}

test_rmmod_after_removal() {
	mkdev busy "$(ic_table 8192 /dev/ram0 0)"
	! rmmod dm_inlinecrypt_rs 2>/dev/null || fail "module unloaded under a live device"
	dmsetup remove busy
	rmmod dm_inlinecrypt_rs || fail "rmmod failed after removal"
	! dmsetup targets | grep -q inlinecrypt || fail "target still registered"
	insmod "$MODDIR/dm_inlinecrypt_rs.ko"
}

# The upstream C target, loaded in place of ours (both register
# "inlinecrypt"), shows each upstream defect the Rust target fixes; the
# tests above show ours does not have it.
with_upstream() {
	rmmod dm_inlinecrypt_rs || fail "cannot unload the Rust target"
	load_kmod dm-inlinecrypt
	local rc=0
	# A subshell: a failing step must not skip putting our module back.
	("$@") || rc=$?
	dmsetup remove_all
	rmmod dm_inlinecrypt
	insmod "$MODDIR/dm_inlinecrypt_rs.ko"
	return "$rc"
}

upstream_table_line() {
	mkdev up "0 8192 inlinecrypt aes-xts-plain64 $KEY 16 /dev/ram0 8 3 allow_discards sector_size:4096 iv_large_sectors"
	line=$(dmsetup table --showkeys up)
	echo "upstream table: $line"
	# The key type (BLK_CRYPTO_KEY_TYPE_RAW = 1) is printed after the key.
	[[ "$line" == "0 8192 inlinecrypt aes-xts-plain64 $KEY 1 16 1:0 8 3 "* ]] || fail "upstream line changed: $line"
	! dmsetup reload up --table "$line" 2>/dev/null || fail "upstream's line reloaded"
}

upstream_one_data_unit() {
	! dmsetup create one --table "0 8 inlinecrypt aes-xts-plain64 $KEY 0 /dev/ram0 0 2 sector_size:4096 iv_large_sectors" 2>/dev/null ||
		fail "upstream accepted a one-unit target"
	dmesg | grep -q "Error initializing blk-crypto key" || fail "not the dun_bytes failure"
}

upstream_equal_xts_halves() {
	local same
	same=$(printf 'ab%.0s' $(seq 64))
	# Upstream accepts the table ...
	mkdev eq "0 8192 inlinecrypt aes-xts-plain64 $same 0 /dev/ram0 0"
	# ... and then the fallback refuses the key (xts_verify_key) when it
	# programs it for the first write: the write fails (fsync reports it
	# whichever path it took) and nothing reaches the disk.
	dd if=/dev/zero of=/dev/ram0 bs=4096 count=1 oflag=direct status=none
	! dd if=/tmp/data of=/dev/mapper/eq bs=4096 count=1 oflag=direct conv=fsync status=none 2>/dev/null ||
		fail "a write with equal XTS halves succeeded"
	[ "$(dd if=/dev/ram0 bs=4096 count=1 iflag=direct status=none | tr -d '\0' | wc -c)" = 0 ] ||
		fail "data reached the disk"
}

upstream_prints_keyring_key() {
	echo -n "$KEY2" | xxd -r -p | keyctl padd logon dm:rdm-upstream @u >/dev/null
	mkdev uk "0 8192 inlinecrypt aes-xts-plain64 :64:logon:dm:rdm-upstream 0 /dev/ram0 0"
	[[ "$(dmsetup table --showkeys uk)" == *"$KEY2"* ]] || fail "upstream no longer prints the keyring key's bytes"
}

test_upstream_c_table_line_does_not_reload() { with_upstream upstream_table_line; }
test_upstream_c_prints_keyring_key_bytes() { with_upstream upstream_prints_keyring_key; }
test_upstream_c_rejects_one_data_unit_target() { dmesg -c >/dev/null; with_upstream upstream_one_data_unit; }
test_upstream_c_accepts_equal_xts_halves_then_fails_io() { with_upstream upstream_equal_xts_halves; }

setup || { echo "Bail out! setup failed"; exit 1; }
ktap_run \
	test_module_registers_target \
	test_valid_tables \
	test_invalid_tables_rejected \
	test_roundtrip_512 \
	test_roundtrip_4096 \
	test_same_ciphertext_as_dm_crypt_512 \
	test_same_ciphertext_as_dm_crypt_4096 \
	test_table_output_reloads \
	test_one_data_unit_target \
	test_logon_key \
	test_discards_only_with_allow_discards \
	test_status_and_flush \
	test_rmmod_after_removal \
	test_upstream_c_table_line_does_not_reload \
	test_upstream_c_prints_keyring_key_bytes \
	test_upstream_c_rejects_one_data_unit_target \
	test_upstream_c_accepts_equal_xts_halves_then_fails_io
