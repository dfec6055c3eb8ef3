#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Power cuts under dm-pcache: the test VM's RAM lives in a shared host file,
# so the emulated pmem (memmap) survives the QEMU process, and so does the
# backing device, a second memmap region (/dev/pmem1: the test kernel's
# virtio-blk gets no interrupt routing under TCG, so no disk image). Each cycle boots, checks what the previous cut
# left (`pcache check` on the media, then every block read through a fresh
# target after replay), writes 4 KiB blocks with a flush after every eight,
# and is killed with SIGKILL at a random moment. A write acknowledged
# before a flush that completed must read back (or a newer write of the
# same block); anything else is counted as lost.
#
# Usage: scripts/powercut.sh [cycles]   (default 200; make check runs 3)
# Prints per cycle a progress line, at the end
# `cycles N, acknowledged writes checked N, lost N`; exits non-zero on a
# loss, a media check failure or a cycle that did not run.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$RDM_ROOT"

cycles=${1:-200}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# In /dev/shm: guest RAM in a file on disk is slow to fault in.
ram=$(mktemp /dev/shm/rdm-powercut.XXXXXX)
trap 'rm -rf "$work" "$ram"' EXIT
truncate -s 2G "$ram"
export VM_MEM_FILE=$ram VM_APPEND="memmap=64M!1700M" VM_TIMEOUT=${VM_TIMEOUT:-600}

# state: one line per block, "<block> <allowed generations...>": what the
# next boot may read there (0: never written).
for ((b = 0; b < ${PC_BLOCKS:-256}; b++)); do echo "$b 0"; done > "$work/allowed"

checked=0 lost=0 bad=0
for ((c = 0; c <= cycles; c++)); do
	# Cycle 0 formats; the last one only reads what the last cut left.
	arg=
	[ "$c" = 0 ] && arg=format
	delay=$(awk -v s="$RANDOM" 'BEGIN {srand(s); printf "%.1f", 1 + rand() * 7}')
	if [ "$c" = "$cycles" ]; then
		kill_env=(VM_KILL_MARK=PC-WRITING VM_KILL_AFTER=0)
	else
		kill_env=(VM_KILL_MARK=PC-WRITING VM_KILL_AFTER="$delay")
	fi
	# Odd cycles: eager write-back and GC (see powercut-guest.sh).
	gc=70
	[ $((c % 2)) = 0 ] || gc=0
	rc=0
	env "${kill_env[@]}" scripts/run-vm.sh \
		"PC_GC=$gc selftests/dm-pcache/powercut-guest.sh $((c * 1000000 + 1)) $arg" > "$work/out" 2>"$work/err" || rc=$?
	if [ "$rc" != 137 ]; then
		cat "$work/out" "$work/err" >&2
		die "cycle $c: the VM was not cut as planned (exit $rc)"
	fi
	grep -q '^PC-WRITING' "$work/out" || { cat "$work/out" >&2; die "cycle $c: the guest did not get to write"; }
	check=$(sed -n 's/^CHECK //p' "$work/out")
	if [ "$c" != 0 ] && { [ -z "$check" ] || [ "$check" -gt 1 ]; }; then
		grep '^#' "$work/out" >&2 || true
		echo "cycle $c: pcache check on the media: exit ${check:-none}" >&2
		bad=$((bad + 1))
	fi
	# What survived the previous cut against what was allowed.
	read -r n_lost n_blocks < <(awk '
		FNR == NR { for (i = 2; i <= NF; i++) ok[$1 " " $i] = 1; next }
		/^B / { n++; if (!(($2 " " $4) in ok) || ($4 != 0 && $3 != $2)) { lost++; print "lost: block " $2 " holds " $3 "/" $4 > "/dev/stderr" } }
		END { print lost + 0, n + 0 }' "$work/allowed" "$work/out")
	[ "$n_blocks" = "${PC_BLOCKS:-256}" ] || die "cycle $c: read $n_blocks blocks"
	lost=$((lost + n_lost))
	# What this boot wrote: flushed generations must survive, later ones may.
	awk '
		/^B / { cur[$2] = $4 }
		/^W / { pend[$2] = pend[$2] " " $3; last[$2] = $3; acked[$2] = 0 }
		/^A / { acks++ }
		/^F$/ { for (b in pend) cur[b] = last[b]; delete pend; flushed += acks; acks = 0 }
		END {
			for (b in cur) print b, cur[b] pend[b]
			print flushed + 0 > "'"$work/flushed"'"
		}' "$work/out" | sort -n > "$work/allowed.next"
	mv "$work/allowed.next" "$work/allowed"
	[ "$c" = "$cycles" ] || checked=$((checked + $(cat "$work/flushed")))
	[ "$c" = "$cycles" ] && delay=0
	msg "cycle $c/$cycles: cut after ${delay}s, $(grep -c '^A ' "$work/out") writes acknowledged, lost so far $lost"
done
echo "cycles $cycles, acknowledged writes checked $checked, lost $lost"
[ "$lost" = 0 ] && [ "$bad" = 0 ]
