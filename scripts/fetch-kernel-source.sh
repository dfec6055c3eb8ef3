#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Fetch and unpack Debian's linux-source-7.2 into the cache, without touching
# the system's apt configuration. Pinned to $KSRC_PIN; if the archive no longer
# serves that version, falls back to the newest 7.2.x it has. apt checks the
# archive's signature (Release file) and the package's hash, as for any install.
#
# Usage: scripts/fetch-kernel-source.sh     (prints the source directory)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

apt_dir=$RDM_CACHE/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$RDM_CACHE/ksrc"

mirror=$(awk '/^URIs:/ && $2 ~ /debian\/?$/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
echo "deb [signed-by=$keyring] ${mirror%/} $KSRC_SUITE main" > "$apt_dir/sources.list"

apt_opts=(
	-o "Dir::Etc::SourceList=$apt_dir/sources.list"
	-o "Dir::Etc::SourceParts=/nonexistent"
	-o "Dir::State::Lists=$apt_dir/lists"
	-o "Dir::Cache=$apt_dir/cache"
	-o "Dir::State::status=/dev/null"
	-o "APT::Get::List-Cleanup=0"
	-o "APT::Sandbox::User=root"
)

have_version() {
	local v=$1
	[ -f "$RDM_CACHE/ksrc/linux-source-$v/.unpacked" ]
}

if have_version "$KSRC_PIN"; then
	echo "$RDM_CACHE/ksrc/linux-source-$KSRC_PIN" > "$RDM_CACHE/ksrc/current"
	msg "kernel source $KSRC_PIN already unpacked"
	ksrc_dir
	exit 0
fi

msg "updating private apt lists for $KSRC_SUITE"
apt-get -q "${apt_opts[@]}" update >&2

version=$KSRC_PIN
if ! apt-cache "${apt_opts[@]}" madison linux-source-7.2 | awk '{print $3}' | grep -qxF "$KSRC_PIN"; then
	version=$(apt-cache "${apt_opts[@]}" madison linux-source-7.2 | awk '{print $3}' | sort -V | tail -n1)
	[ -n "$version" ] || die "no linux-source-7.2 in $KSRC_SUITE"
	msg "pinned $KSRC_PIN is gone; falling back to newest: $version"
fi

if ! have_version "$version"; then
	work=$(mktemp -d "$RDM_CACHE/ksrc/tmp.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	msg "downloading linux-source-7.2=$version (~164 MB)"
	(cd "$work" && apt-get -q "${apt_opts[@]}" download "linux-source-7.2=$version" >&2)
	msg "unpacking"
	dpkg -x "$work"/linux-source-7.2_*.deb "$work/deb"
	dest=$RDM_CACHE/ksrc/linux-source-$version
	rm -rf "$dest"
	mkdir -p "$dest"
	tar -C "$dest" --strip-components=1 -xf "$work"/deb/usr/src/linux-source-7.2.tar.xz
	touch "$dest/.unpacked"
fi
echo "$RDM_CACHE/ksrc/linux-source-$version" > "$RDM_CACHE/ksrc/current"
ksrc_dir
