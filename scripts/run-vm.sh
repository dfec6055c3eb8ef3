#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boot the test kernel in QEMU (TCG, 2 vCPUs, 2 GiB, 600 MiB of emulated
# pmem at 1 GiB) and run one command inside it. The suite's modules, the kernel's own
# modules and selftests/ are in the guest under /rdm. The guest's output is
# printed; the exit status is the command's, unless the kernel log shows a
# report of a debug detector (KASAN, lockdep, kmemleak, ...; see
# kernel-log-verdict.sh), an oops or a WARN: then the run fails and the
# detector and the test that was running are named on stderr.
#
# Two serial ports keep the streams apart: ttyS0 carries the guest command's
# output, ttyS1 is the kernel console at loglevel 7, so every report reaches
# the host whole even when the kernel panics.
#
# Usage: scripts/run-vm.sh '<command run by bash inside the VM>'
#   e.g. scripts/run-vm.sh 'selftests/run_kselftest.sh'
# Env:   RDM_KERNEL (debug|prod, default debug) or KDIR (test kernel build),
#        VM_TIMEOUT (seconds, default 1200), VM_LOG (file for the kernel log), VM_PMEM (emulated pmem,
#        default 600M: dm-pcache needs 512 MiB), VM_DISK (a raw image file
#        attached as /dev/vda, e.g. to carry a captured cache out),
#        VM_MEM_FILE (a 2 GiB file the guest's RAM lives in, shared: the
#        emulated pmem then survives the QEMU process, as across a power
#        cut), VM_KILL_MARK + VM_KILL_AFTER (when the guest prints a line
#        with the mark, SIGKILL QEMU that many seconds later: a power cut;
#        the run then exits 137 after the kernel-log check), VM_APPEND (more
#        kernel command line, e.g. a second memmap region for a backing
#        device that also survives in VM_MEM_FILE)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# -eq 1 ] || die "usage: $0 '<command>'"
kdir=$(kdir)
kernel=$kdir/arch/x86/boot/bzImage
[ -f "$kernel" ] || die "no test kernel at $kdir: run scripts/build-kernel.sh"
base=$("$RDM_ROOT/scripts/mkinitramfs.sh")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ov=$work/root/rdm
mkdir -p "$ov/modules" "$ov/kmod"
# The suite's modules, and the kernel's (C comparison targets, brd, ...).
find "$RDM_ROOT" -name '*.ko' -not -path '*/target/*' -exec cp {} "$ov/modules/" \;
[ -n "$(ls "$ov/modules")" ] || die "no modules built: run make"
if [ -d "$kdir/modinst/lib/modules" ]; then
	find "$kdir/modinst/lib/modules" -name '*.ko' -exec cp {} "$ov/kmod/" \;
fi
cp -r "$RDM_ROOT/selftests" "$ov/selftests"
cp -r "$RDM_ROOT/scripts/guest" "$ov/guest"
cat > "$ov/run" <<RUN
#!/bin/bash
export RDM_KERNEL=$RDM_KERNEL
cd /rdm
( $1 ); echo \$? > /tmp/rdm-rc
RUN
chmod +x "$ov/run"
(cd "$work/root" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/overlay.cpio.gz"
cat "$base" "$work/overlay.cpio.gz" > "$work/initrd"

out=$work/output.log
klog=${VM_LOG:-$work/kernel.log}
msg "booting $(basename "$kdir") under TCG (2 vCPUs)"
# no5lvl: TCG's `-cpu max` offers LA57, and with 5-level paging the debug
# kernel once reported a KASAN wild-memory-access in an early-boot interrupt
# (handle_edge_irq during identify_boot_cpu, on a 0xff11... direct-map
# address), before any module was loaded. 4-level paging is what the
# machines these targets run on use; keep the boot deterministic.
mem_args=()
if [ -n "${VM_MEM_FILE:-}" ]; then
	[ "$(stat -c %s "$VM_MEM_FILE")" = $((2 << 30)) ] || die "VM_MEM_FILE must be a 2 GiB file"
	mem_args=(-object "memory-backend-file,id=ram,size=2G,mem-path=$VM_MEM_FILE,share=on"
		-machine memory-backend=ram)
fi

# Waits for the kill mark in the guest's output, then cuts the power.
power_cut() {
	while ! grep -q -- "$VM_KILL_MARK" "$out" 2>/dev/null; do
		[ -e "$work/qemu.pid" ] && ! kill -0 "$(cat "$work/qemu.pid")" 2>/dev/null && return 0
		sleep 0.2
	done
	sleep "$VM_KILL_AFTER"
	[ -e "$work/qemu.pid" ] && kill -KILL "$(cat "$work/qemu.pid")" 2>/dev/null && touch "$work/killed"
	return 0
}

boot() {
	set +e
	rm -f "$work/qemu.pid" "$work/killed"
	killer=
	if [ -n "${VM_KILL_MARK:-}" ]; then
		power_cut &
		killer=$!
	fi
	timeout "${VM_TIMEOUT:-1200}" qemu-system-x86_64 \
		-accel tcg -cpu max -smp 2 -m 2G "${mem_args[@]}" -pidfile "$work/qemu.pid" \
		-display none -monitor none -no-reboot \
		-serial file:"$out" -serial file:"$klog" \
		-kernel "$kernel" -initrd "$work/initrd" \
		${VM_DISK:+-drive file="$VM_DISK",format=raw,if=virtio} \
		-append "no5lvl console=ttyS1 loglevel=7 printk.devkmsg=on rcupdate.rcu_cpu_stall_timeout=120 memmap=${VM_PMEM:-600M}!1G panic=-1 oops=panic panic_on_warn=1 rdinit=/init ${VM_APPEND:-}" \
		</dev/null >"$work/qemu.log" 2>&1
	qrc=$?
	[ -z "$killer" ] || { kill "$killer" 2>/dev/null; wait "$killer" 2>/dev/null; }
	set -e
}
boot
# A boot that died before the guest's init printed its first line, with a
# kernel log free of any report, ran none of our code (no module is loaded
# before /rdm/run): under TCG this happened once in a few hundred boots
# (output stopped mid-PCI-probe, qemu exited). Boot once more, and say so;
# a second such boot fails the run below. A boot that hung until the
# timeout (exit 124) is not retried: that is not a flake to wait out twice.
if [ "$qrc" != 124 ] && [ ! -e "$work/killed" ] && ! grep -q 'RDM-BEGIN' "$out" 2>/dev/null && [ -s "$klog" ] &&
	"$RDM_ROOT/scripts/kernel-log-verdict.sh" "$klog" >/dev/null 2>&1; then
	echo "run-vm: the VM died during boot, before init ran (qemu exit $qrc; kernel log tail below); booting again" >&2
	tail -n 5 "$klog" >&2
	cp "$klog" "$work/kernel.first-boot.log"
	: >"$out"
	boot
fi
tr -d '\r' < "$out" | sed -n '/RDM-BEGIN$/,/^RDM-EXIT /p' | sed '1d;/^RDM-EXIT /d'
rc=$(tr -d '\r' < "$out" | sed -n 's/^RDM-EXIT \([0-9]*\)$/\1/p' | tail -n1)
if [ ! -s "$klog" ]; then
	echo "VM did not boot (qemu exit $qrc):" >&2
	cat "$work/qemu.log" >&2
	exit 1
fi
if ! "$RDM_ROOT/scripts/kernel-log-verdict.sh" "$klog" >"$work/verdict"; then
	echo "kernel log: the debug kernel reported a problem:" >&2
	cat "$work/verdict" >&2
	exit 1
fi
if [ -e "$work/killed" ]; then
	# The power cut the caller asked for: the output up to it was printed.
	exit 137
fi
if [ -z "$rc" ]; then
	echo "VM did not finish (qemu exit $qrc); output and kernel log tails:" >&2
	tail -n 20 "$out" "$work/qemu.log" >&2
	tail -n 40 "$klog" >&2
	exit 1
fi
exit "$rc"
