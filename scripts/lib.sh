# SPDX-License-Identifier: GPL-2.0
# Shared settings for the scripts in this directory. Source it; do not run it.
#
# Everything that is expensive to make (kernel source, kernel build, bindgen,
# initramfs) lives under $RDM_CACHE, outside the repository, keyed by what it
# was made from, so a second `make check` reuses it.

RDM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# CI may run with a minimal environment: find HOME and the rustup cargo.
: "${HOME:=$(getent passwd "$(id -u)" | cut -d: -f6)}"
export HOME
case ":$PATH:" in
*":$HOME/.cargo/bin:"*) ;;
*) [ ! -d "$HOME/.cargo/bin" ] || export PATH="$HOME/.cargo/bin:$PATH" ;;
esac
RDM_CACHE=${RDM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rust-dm}

# Debian's linux-source-7.2: pinned, with a fallback to the newest 7.2.x.
KSRC_PIN=${KSRC_PIN:-7.2.12-1~bpo13+1}
KSRC_SUITE=${KSRC_SUITE:-trixie-backports}

# The Rust toolchain the kernel is built with: Debian's rustc-web and its
# matching library source (the rustup toolchain has no rust-src).
KRUSTC=${KRUSTC:-/usr/bin/rustc}
KRUSTDOC=${KRUSTDOC:-/usr/bin/rustdoc}
BINDGEN_VERSION=0.72.1
BINDGEN=${BINDGEN:-$RDM_CACHE/bindgen-$BINDGEN_VERSION/bin/bindgen}
LLVM_DIR=${LLVM_DIR:-/usr/lib/llvm-22}
export LIBCLANG_PATH=${LIBCLANG_PATH:-$LLVM_DIR/lib}

JOBS=${JOBS:-$(( $(nproc) + 1 ))}

msg() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The library source that matches $KRUSTC exactly (rust-web-src installs it
# under /usr/src/rustc-<version>/library).
rust_lib_src() {
	local v
	v=$("$KRUSTC" --version | awk '{print $2}')
	echo "/usr/src/rustc-$v/library"
}

# Where the unpacked kernel source lives, as written by fetch-kernel-source.sh.
ksrc_dir() {
	[ -f "$RDM_CACHE/ksrc/current" ] || die "no kernel source: run scripts/fetch-kernel-source.sh"
	cat "$RDM_CACHE/ksrc/current"
}

# Which test kernel a command uses: `debug` (base + debug fragments: KASAN,
# lockdep, kmemleak, fault injection; what `make check` and `make demo` boot)
# or `prod` (base + prod fragment, no debug options: what `make bench*`
# measures on).
# Each is cached under its own key; only the one a command asks for is built.
RDM_KERNEL=${RDM_KERNEL:-debug}

# The config fragments of $RDM_KERNEL, merged in this order over allnoconfig.
kconfig_fragments() {
	case "$RDM_KERNEL" in
	debug) echo "$RDM_ROOT/config/base.config $RDM_ROOT/config/debug.config" ;;
	prod) echo "$RDM_ROOT/config/base.config $RDM_ROOT/config/prod.config" ;;
	*) die "RDM_KERNEL=$RDM_KERNEL: want debug or prod" ;;
	esac
}

# The kernel build directory: $KDIR if given, else the cached build keyed by
# source version + flavour + config fragments + compiler + rustc + bindgen.
kbuild_key() {
	local src=$1
	{
		basename "$src"
		echo "$RDM_KERNEL"
		# What the fragments set, not their comments: a reworded comment
		# must not cost a kernel build.
		# shellcheck disable=SC2046 # a word list on purpose
		grep -hE '^CONFIG_|^# CONFIG_[A-Z0-9_]+ is not set$' $(kconfig_fragments)
		"$LLVM_DIR/bin/clang" --version 2>/dev/null | head -n1 || true
		"$KRUSTC" --version
		"$BINDGEN" --version 2>/dev/null || true
	} | sha256sum | cut -c1-16
}

kdir() {
	if [ -n "${KDIR:-}" ]; then
		echo "$KDIR"
		return
	fi
	local src
	src=$(ksrc_dir)
	echo "$RDM_CACHE/kbuild/$(basename "$src")-$RDM_KERNEL-$(kbuild_key "$src")"
}

# make arguments that select the toolchain for a kernel (or module) build:
# LLVM 22 for C (the LLVM major of rustc-web), Debian's rustc-web for Rust.
kmake_args() {
	echo "LLVM=$LLVM_DIR/bin/ RUSTC=$KRUSTC RUSTDOC=$KRUSTDOC BINDGEN=$BINDGEN RUST_LIB_SRC=$(rust_lib_src)"
}

# What a command that boots the test VM needs first, for $RDM_KERNEL: the
# tools, the cached kernel and the modules (their build output stays quiet;
# progress and errors go to stderr).
prepare_vm() {
	"$RDM_ROOT/scripts/setup.sh"
	"$RDM_ROOT/scripts/build-kernel.sh" >/dev/null
	"$RDM_ROOT/scripts/build-modules.sh" >/dev/null
}
