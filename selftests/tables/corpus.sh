# SPDX-License-Identifier: GPL-2.0
# The malformed-table corpus: generated from each target's valid table forms
# by mechanical mutations, each case with its expected outcome. Source it and
# call `corpus_inlinecrypt` / `corpus_rdm_test` / `corpus_pcache` /
# `corpus_rdm_test_messages`:
# each prints one case per line, fields separated by a TAB:
#
#   <expect> TAB <what the mutation was> TAB <table params | message>
#
# <expect> is `accept`, `EINVAL` or `ENOKEY` (the table is refused with that
# errno and a DMERR naming the target) or `nodev` (refused with a DMERR and
# the errno of the failed device lookup: ENOENT, ENXIO, ENOTBLK or
# ENAMETOOLONG).
# Arguments never hold a TAB or a newline; they may hold any other byte.
#
# Valid forms use /dev/ram0 and /dev/ram1 (64 MiB brd disks), a 64-byte
# AES-256-XTS key $CORPUS_KEY and the logon key "rdm:corpus" of 64 bytes;
# tables.sh sets those up and prepends "0 8192 <target>".

# Bytes, not characters: arguments may be invalid UTF-8.
export LC_ALL=C

CORPUS_KEY=$(for i in $(seq 0 63); do printf %02x "$i"; done)
CORPUS_4K=$(head -c 4096 /dev/zero | tr '\0' a)

# The values every argument is replaced by, one at a time: label TAB value.
# An empty value deletes the argument (dm core splits on whitespace).
corpus_replacements() {
	printf '%s\t%s\n' \
		empty "" \
		negative -1 \
		non-numeric x1 \
		hex-prefix 0x10 \
		u64-overflow 18446744073709551616 \
		huge 99999999999999999999999999999999 \
		non-utf8 $'\xff\xfe\x80' \
		4KiB "$CORPUS_4K"
}

# mutate EXPECT_FN FORM_NAME ARGS...: every mutation of one valid form. For
# each case, EXPECT_FN KIND POS VALUE prints the expected outcome.
mutate() {
	local expect_fn=$1 form=$2
	shift 2
	local args=("$@") n=$# i k label value out

	# The form itself.
	printf 'accept\t%s: valid\t%s\n' "$form" "${args[*]}"
	# Truncations: the first k arguments.
	for ((k = 0; k < n; k++)); do
		printf '%s\t%s: first %d args\t%s\n' "$("$expect_fn" truncate "$k" "")" "$form" "$k" "${args[*]:0:k}"
	done
	# One trailing argument too many.
	printf '%s\t%s: extra trailing arg\t%s extra\n' "$("$expect_fn" extra "$n" extra)" "$form" "${args[*]}"
	# Every argument replaced by every hostile value.
	for ((i = 0; i < n; i++)); do
		while IFS=$'\t' read -r label value; do
			out=("${args[@]}")
			out[i]=$value
			printf '%s\t%s: arg %d %s\t%s\n' "$("$expect_fn" replace "$i" "$value")" "$form" "$i" "$label" "${out[*]}"
		done < <(corpus_replacements)
	done
}

# --- inlinecrypt: <cipher> <key> <iv_offset> <dev> <start> [<#opt> <opt>...]

# dev_expect VALUE: the outcome of VALUE as a device path. An empty value
# deletes the argument (the rest shifts) and the layer refuses non-UTF-8
# before any lookup: both EINVAL; anything else fails the lookup.
dev_expect() {
	case $1 in
	"" | *[$'\x80'-$'\xff']*) echo EINVAL ;;
	*) echo nodev ;;
	esac
}

# The device path is argument 3; everything else is parsed by the target.
ic_expect() {
	local kind=$1 pos=$2
	case $kind in
	truncate) [ "$pos" = 5 ] && echo accept || echo EINVAL ;;
	extra) echo EINVAL ;;
	replace) [ "$pos" = 3 ] && dev_expect "$3" || echo EINVAL ;;
	esac
}

corpus_inlinecrypt() {
	local k=$CORPUS_KEY p perm
	mutate ic_expect plain aes-xts-plain64 "$k" 0 /dev/ram0 0
	mutate ic_expect 4k-sectors aes-xts-plain64 "$k" 8 /dev/ram0 16 2 sector_size:4096 iv_large_sectors
	mutate ic_expect all-options aes-xts-plain64 "$k" 0 /dev/ram0 0 4 allow_discards sector_size:4096 iv_large_sectors keytype:raw
	mutate ic_expect logon-key aes-xts-plain64 :64:logon:rdm:corpus 0 /dev/ram0 0 1 allow_discards
	mutate ic_expect majmin aes-xts-plain64 "$k" 0 1:0 0

	# Optional arguments in every order: the order must not matter.
	for perm in "allow_discards sector_size:4096 iv_large_sectors keytype:raw" \
		"allow_discards sector_size:4096 keytype:raw iv_large_sectors" \
		"allow_discards iv_large_sectors sector_size:4096 keytype:raw" \
		"allow_discards iv_large_sectors keytype:raw sector_size:4096" \
		"allow_discards keytype:raw sector_size:4096 iv_large_sectors" \
		"allow_discards keytype:raw iv_large_sectors sector_size:4096" \
		"sector_size:4096 allow_discards iv_large_sectors keytype:raw" \
		"sector_size:4096 allow_discards keytype:raw iv_large_sectors" \
		"sector_size:4096 iv_large_sectors allow_discards keytype:raw" \
		"sector_size:4096 iv_large_sectors keytype:raw allow_discards" \
		"sector_size:4096 keytype:raw allow_discards iv_large_sectors" \
		"sector_size:4096 keytype:raw iv_large_sectors allow_discards" \
		"iv_large_sectors allow_discards sector_size:4096 keytype:raw" \
		"iv_large_sectors allow_discards keytype:raw sector_size:4096" \
		"iv_large_sectors sector_size:4096 allow_discards keytype:raw" \
		"iv_large_sectors sector_size:4096 keytype:raw allow_discards" \
		"iv_large_sectors keytype:raw allow_discards sector_size:4096" \
		"iv_large_sectors keytype:raw sector_size:4096 allow_discards" \
		"keytype:raw allow_discards sector_size:4096 iv_large_sectors" \
		"keytype:raw allow_discards iv_large_sectors sector_size:4096" \
		"keytype:raw sector_size:4096 allow_discards iv_large_sectors" \
		"keytype:raw sector_size:4096 iv_large_sectors allow_discards" \
		"keytype:raw iv_large_sectors allow_discards sector_size:4096" \
		"keytype:raw iv_large_sectors sector_size:4096 allow_discards"; do
		printf 'accept\treordered options: %s\taes-xts-plain64 %s 0 /dev/ram0 0 4 %s\n' "$perm" "$k" "$perm"
	done

	# Duplicated options: harmless repeats are accepted, as upstream does.
	printf 'accept\tduplicated allow_discards\taes-xts-plain64 %s 0 /dev/ram0 0 2 allow_discards allow_discards\n' "$k"
	printf 'accept\tduplicated iv_large_sectors\taes-xts-plain64 %s 0 /dev/ram0 0 2 iv_large_sectors iv_large_sectors\n' "$k"
	printf 'accept\tduplicated sector_size\taes-xts-plain64 %s 0 /dev/ram0 0 3 sector_size:4096 sector_size:4096 iv_large_sectors\n' "$k"
	printf 'accept\tduplicated keytype\taes-xts-plain64 %s 0 /dev/ram0 0 2 keytype:raw keytype:raw\n' "$k"
	# A later sector_size wins: 4096 then 512 needs no iv_large_sectors.
	printf 'accept\tsector_size overridden to 512\taes-xts-plain64 %s 0 /dev/ram0 0 2 sector_size:4096 sector_size:512\n' "$k"
	printf 'EINVAL\tsector_size overridden to 4096 without iv_large_sectors\taes-xts-plain64 %s 0 /dev/ram0 0 2 sector_size:512 sector_size:4096\n' "$k"

	# Option counts that do not match the options.
	printf 'EINVAL\toption count 0 with an option\taes-xts-plain64 %s 0 /dev/ram0 0 0 allow_discards\n' "$k"
	printf 'EINVAL\toption count too high\taes-xts-plain64 %s 0 /dev/ram0 0 3 allow_discards iv_large_sectors\n' "$k"
	printf 'EINVAL\toption count above the maximum\taes-xts-plain64 %s 0 /dev/ram0 0 5 allow_discards allow_discards allow_discards allow_discards allow_discards\n' "$k"
	printf 'accept\toption count 0\taes-xts-plain64 %s 0 /dev/ram0 0 0\n' "$k"

	# Values that parse but are out of range.
	for v in 0 256 511 513 1000 2048x 8192 65536 4294967808; do
		printf 'EINVAL\tsector_size:%s\taes-xts-plain64 %s 0 /dev/ram0 0 2 sector_size:%s iv_large_sectors\n' "$v" "$k" "$v"
	done
	printf 'EINVAL\tiv_offset not a multiple of the sector size\taes-xts-plain64 %s 1 /dev/ram0 0 2 sector_size:4096 iv_large_sectors\n' "$k"
	printf 'EINVAL\tiv_offset at the end of the DUN space\taes-xts-plain64 %s 18446744073709551615 /dev/ram0 0\n' "$k"
	printf 'EINVAL\tstart past the end of the device\taes-xts-plain64 %s 0 /dev/ram0 131072\n' "$k"
	printf 'EINVAL\tstart at u64 max\taes-xts-plain64 %s 0 /dev/ram0 18446744073709551615\n' "$k"
	printf 'EINVAL\tunknown option\taes-xts-plain64 %s 0 /dev/ram0 0 1 no_read_workqueue\n' "$k"
	printf 'EINVAL\tunknown key type\taes-xts-plain64 %s 0 /dev/ram0 0 1 keytype:magic\n' "$k"
	printf 'EINVAL\tequal XTS key halves\taes-xts-plain64 %s%s 0 /dev/ram0 0\n' "${k:0:64}" "${k:0:64}"
	printf 'EINVAL\t32-byte key\taes-xts-plain64 %s 0 /dev/ram0 0\n' "${k:0:64}"
	printf 'EINVAL\todd number of hex digits\taes-xts-plain64 %s0 0 /dev/ram0 0\n' "$k"
	printf 'EINVAL\tnon-hex digit in key\taes-xts-plain64 g%s 0 /dev/ram0 0\n' "${k:1}"
	printf 'EINVAL\tunsupported cipher\taes-cbc-essiv:sha256 %s 0 /dev/ram0 0\n' "$k"
	printf 'EINVAL\tcipher in upper case\tAES-XTS-PLAIN64 %s 0 /dev/ram0 0\n' "$k"
	printf 'EINVAL\tkeyring key of the wrong size\taes-xts-plain64 :32:logon:rdm:corpus 0 /dev/ram0 0\n'
	printf 'EINVAL\tkeyring key of a non-logon type\taes-xts-plain64 :64:user:rdm:corpus 0 /dev/ram0 0\n'
	printf 'EINVAL\tkeyring key with an empty description\taes-xts-plain64 :64:logon: 0 /dev/ram0 0\n'
	printf 'EINVAL\tkeyring key size overflowing\taes-xts-plain64 :18446744073709551680:logon:rdm:corpus 0 /dev/ram0 0\n'
	printf 'ENOKEY\tmissing keyring key\taes-xts-plain64 :64:logon:rdm:missing 0 /dev/ram0 0\n'
	# Device paths that do not exist or name no disk.
	printf 'nodev\tdevice path that does not exist\taes-xts-plain64 %s 0 /dev/nonexistent 0\n' "$k"
	printf 'nodev\tdevice number of no disk\taes-xts-plain64 %s 0 250:250 0\n' "$k"
	printf 'nodev\tdevice path of a directory\taes-xts-plain64 %s 0 /dev 0\n' "$k"
	printf 'nodev\tdevice path of a character device\taes-xts-plain64 %s 0 /dev/null 0\n' "$k"
}

# --- rdm_test: <dev> <offset> [<mirror dev> <mirror offset>] [max_io_len <sectors>]

rt_expect() {
	local kind=$1 pos=$2
	case $kind in
	truncate) [ "$pos" = 2 ] && echo accept || echo EINVAL ;;
	extra) echo EINVAL ;;
	replace) [ "$pos" = 0 ] || [ "$pos" = 2 ] && dev_expect "$3" || echo EINVAL ;;
	esac
}

corpus_rdm_test() {
	mutate rt_expect linear /dev/ram0 8
	mutate rt_expect mirror /dev/ram0 0 /dev/ram1 0
	# Same rules for the max_io_len form: an argument 2 that is not the
	# keyword is taken as a mirror path (offset 64), so it fails as a lookup.
	mutate rt_expect limited /dev/ram0 8 max_io_len 64
	printf 'accept\tmirror with max_io_len\t/dev/ram0 0 /dev/ram1 0 max_io_len 8\n'
	printf 'EINVAL\tmax_io_len 0\t/dev/ram0 0 max_io_len 0\n'
	printf 'EINVAL\tmax_io_len past 32 bits\t/dev/ram0 0 max_io_len 4294967296\n'
	printf 'EINVAL\tmax_io_len twice\t/dev/ram0 0 max_io_len 8 max_io_len 8\n'
	printf 'EINVAL\tmax_io_len before the mirror\t/dev/ram0 0 max_io_len 8 /dev/ram1 0\n'
	printf 'EINVAL\toffset past the end of the device\t/dev/ram0 131072\n'
	printf 'nodev\tdevice path that does not exist\t/dev/nonexistent 0\n'
	printf 'nodev\tmirror path that does not exist\t/dev/ram0 0 /dev/nonexistent 0\n'
}

# --- pcache: <cache_dev> <backing_dev> [<#opt> [cache_mode writeback] [data_crc true|false]]

# Devices are arguments 0 and 1; without options the table is complete
# after them; every other mutation breaks the option group.
pc_expect() {
	local kind=$1 pos=$2
	case $kind in
	truncate) [ "$pos" = 2 ] && echo accept || echo EINVAL ;;
	extra) echo EINVAL ;;
	replace) [ "$pos" -le 1 ] && dev_expect "$3" || echo EINVAL ;;
	esac
}

# The cache is /dev/pmem0 (formatted by the first accepted case, data_crc
# false), the backing device /dev/ram0.
corpus_pcache() {
	mutate pc_expect plain /dev/pmem0 /dev/ram0
	mutate pc_expect options /dev/pmem0 /dev/ram0 4 cache_mode writeback data_crc false
	printf 'accept	options in the other order	/dev/pmem0 /dev/ram0 4 data_crc false cache_mode writeback
'
	printf 'accept	an empty option group	/dev/pmem0 /dev/ram0 0
'
	printf 'EINVAL	data_crc not as on the media	/dev/pmem0 /dev/ram0 2 data_crc true
'
	printf 'EINVAL	cache mode upstream does not have	/dev/pmem0 /dev/ram0 2 cache_mode writethrough
'
	printf 'EINVAL	option without its value	/dev/pmem0 /dev/ram0 1 data_crc
'
	printf 'EINVAL	option count past the limit	/dev/pmem0 /dev/ram0 6 cache_mode writeback data_crc false data_crc false
'
	printf 'EINVAL	cache device without DAX	/dev/ram1 /dev/ram0
'
	printf 'nodev	cache path that does not exist	/dev/nonexistent /dev/ram0
'
	printf 'nodev	backing path that does not exist	/dev/pmem0 /dev/nonexistent
'
}

# --- rdm_test messages (dmsetup message <dev> 0 <message>)

corpus_rdm_test_messages() {
	local m
	printf 'accept\t%s\t%s\n' stats stats "swallow_errors 0" "swallow_errors 0" \
		"swallow_errors 1" "swallow_errors 1" "defer 0" "defer 0" "defer 1" "defer 1" event event \
		"absorb 0" "absorb 0" "fail_part 0" "fail_part 0" "parts 0" "parts 0" "parts 4" "parts 4" \
		"split 0" "split 0" "split 8" "split 8" "owned_legs 0" "owned_legs 0" \
		"owned_legs 1" "owned_legs 1" "own_copy 0 8 8" "own_copy 0 8 8" \
		"own_read_async 0" "own_read_async 0"
	for m in "" "stats extra" "swallow_errors" "swallow_errors 2" "swallow_errors -1" \
		"swallow_errors 1 1" "swallow_errors x" "swallow_errors 18446744073709551616" \
		"defer" "defer 01" "defer yes" "event now" "STATS" "unknown" \
		"parts 5" "parts -1" "parts" "split" "split 4294967296" "split x" "hold_dev" \
		"hold_dev x" "hold_dev 18446744073709551616" "absorb 2" "fail_part yes" \
		"tick" "tick x" "tick -5" "tick 18446744073709551616" "owned_legs 2" "owned_legs" \
		"own_copy" "own_copy 0 8" "own_copy x 0 8" "own_copy 0 8 0" "own_copy 0 8 2049" \
		"own_copy 0 8 8 8" "own_read_async" "own_read_async x" \
		"pmem_write 0 1 1" "pmem_read 0 1" "pmem_write" "pmem_read 0" "pmem_write 0 256 1" \
		"pmem_send 0 512 0" "pmem_recv 0 512 0" "pmem_send x 512 0" "pmem_send 0 512" \
		$'stats\xff' $'\xff\xfe' "$CORPUS_4K" "defer $CORPUS_4K"; do
		printf 'EINVAL\tmessage %.40s\t%s\n' "$m" "$m"
	done
}
