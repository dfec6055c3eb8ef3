#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build the base initramfs the test VM boots: busybox-static plus the host's
# dmsetup, fio, keyctl and bash, and the suite's dm-failnth and pcache tools
# (tools/), with the
# libraries ldd lists. Cached by the
# versions of those tools; prints the path of the gzipped cpio.
#
# Why not virtme-ng: it needs the host root over 9p (no virtiofsd in
# bookworm), pip and 9p/virtio-fs options in the kernel; this image is
# hermetic, boots in ~2 s under TCG and carries exactly what the tests use.
#
# Usage: scripts/mkinitramfs.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# dm-failnth drives fail-nth over a table load (selftests/faults); pcache
# checks the media the dm-pcache selftests leave behind; dio-race rewrites an
# O_DIRECT read's buffer while the read is in flight (selftests/dm-pcache).
(cd "$RDM_ROOT" && cargo build --release -q -p dm-failnth -p pcache -p dio-race)
tools=(/usr/sbin/dmsetup /usr/bin/fio /usr/bin/keyctl /bin/bash "$RDM_ROOT/target/release/dm-failnth"
	"$RDM_ROOT/target/release/pcache" "$RDM_ROOT/target/release/dio-race")
for t in "${tools[@]}" /bin/busybox; do
	[ -x "$t" ] || die "$t missing: run scripts/setup.sh"
done

key=$({ for t in "${tools[@]}" /bin/busybox; do sha256sum "$t"; done; cat "$0" "$RDM_ROOT/scripts/init.sh"; } |
	sha256sum | cut -c1-16)
out=$RDM_CACHE/initramfs/base-$key.cpio.gz
if [ -f "$out" ]; then
	echo "$out"
	exit 0
fi

msg "building base initramfs"
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,lib,lib64,proc,sys,dev,tmp,run,etc,mnt}
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list); do
	[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
for t in "${tools[@]}"; do
	rm -f "$root/bin/$(basename "$t")"
	cp "$t" "$root/bin/"
	ldd "$t" | awk '/=> \// {print $3} /^\t\/lib/ {print $1}' | while read -r lib; do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
done
install -m 0755 "$RDM_ROOT/scripts/init.sh" "$root/init"
mkdir -p "$(dirname "$out")"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$out.tmp"
mv "$out.tmp" "$out"
echo "$out"
