#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The dm-inlinecrypt demo, run inside the test VM by scripts/demo.sh.
set -euo pipefail
. /rdm/selftests/ktap.sh
step() { printf '\n### %s\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

step "load the Rust target and a 64 MiB RAM disk (no inline-crypto hardware: blk-crypto-fallback encrypts)"
load_kmod brd rd_nr=1 rd_size=65536
show insmod /rdm/modules/dm_inlinecrypt_rs.ko
show dmsetup targets

KEY=$(for i in $(seq 0 63); do printf %02x "$i"; done)
step "create the device: 4 KiB crypto sectors, discards allowed"
show dmsetup create secret --table "0 131072 inlinecrypt aes-xts-plain64 $KEY 0 /dev/ram0 0 3 allow_discards sector_size:4096 iv_large_sectors"
show ls -l /dev/mapper/secret

step "write plaintext through the target"
printf 'Hello from dm-inlinecrypt in Rust! %.0s' $(seq 120) | head -c 4096 > /tmp/plain
show dd if=/tmp/plain of=/dev/mapper/secret bs=4096 oflag=direct status=none
echo "plaintext:"; head -c 64 /tmp/plain | hexdump -C

step "the backing device holds ciphertext"
dd if=/dev/ram0 bs=4096 count=1 iflag=direct status=none | head -c 64 | hexdump -C

step "read back through the target"
dd if=/dev/mapper/secret bs=4096 count=1 iflag=direct status=none > /tmp/back
head -c 64 /tmp/back | hexdump -C
cmp /tmp/plain /tmp/back && echo "read back == written"

step "dmsetup table (reloadable as printed) and status"
show dmsetup table --showkeys secret
show dmsetup status secret
line=$(dmsetup table --showkeys secret)
show dmsetup reload secret --table "$line"
show dmsetup resume secret
show cat /sys/block/dm-0/stat

step "logon key from the keyring: the table shows the reference, not the key"
echo -n "$KEY" | xxd -r -p | keyctl padd logon dm:demo @u >/dev/null
show dmsetup create keyed --table "0 8192 inlinecrypt aes-xts-plain64 :64:logon:dm:demo 0 /dev/ram0 0"
show dmsetup table --showkeys keyed

step "tear down"
show dmsetup remove keyed
show dmsetup remove secret
show rmmod dm_inlinecrypt_rs
