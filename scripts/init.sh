#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# PID 1 of the test VM: mount the basics, run /rdm/run (from the per-run
# overlay archive) with its output on ttyS0 between markers the host cuts on,
# then report the exit status and power off. The kernel console is ttyS1
# (scripts/run-vm.sh), so kernel messages never interleave with test output.
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
# kmemleak, fault injection and the failslab knobs live in debugfs.
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null || true
exec </dev/null >/dev/ttyS0 2>&1
mkdir -p /dev/mapper
# bash process substitution needs /dev/fd.
ln -sf /proc/self/fd /dev/fd
# No udev here: let libdevmapper create /dev/mapper nodes itself.
export DM_DISABLE_UDEV=1
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
echo "RDM-BEGIN"
echo "# vm: $(nproc) CPUs online, kernel $(uname -r)"
cd /rdm
if [ -x /rdm/run ]; then
	/rdm/run 2>&1
	rc=$(cat /tmp/rdm-rc 2>/dev/null || echo 1)
else
	echo "rdm: no /rdm/run in the initramfs"
	rc=1
fi
echo "RDM-EXIT $rc"
sync
reboot -f
