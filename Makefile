# SPDX-License-Identifier: GPL-2.0
#
# rust-dm: device-mapper targets in Rust, built out of tree.
# `make` builds the modules (after the cached test kernel); `make help` lists
# the rest. KDIR=<Rust-enabled 7.2 build tree> builds against another kernel.

.PHONY: all modules setup kernel check demo bench bench-pcache bench-raid powercut raid-errors fuzz test-user clippy clean help

all: modules

setup:
	scripts/setup.sh

kernel: setup
	scripts/build-kernel.sh

modules: kernel
	scripts/build-modules.sh modules

test-user:
	cargo test --workspace

check:
	scripts/check.sh

demo:
	scripts/demo.sh

bench:
	scripts/bench-inlinecrypt.sh

bench-pcache:
	scripts/bench-pcache.sh

bench-raid:
	scripts/bench-raid.sh

powercut: modules
	scripts/powercut.sh $(CYCLES)

raid-errors: modules
	scripts/raid-errors.sh $(ERRORS)

fuzz:
	scripts/fuzz.sh

clippy: kernel
	scripts/build-modules.sh modules CLIPPY=1

clean:
	-scripts/build-modules.sh clean
	cargo clean

help:
	@echo 'Targets:'
	@echo '  make            build the modules (installs tools, builds the cached test kernel first)'
	@echo '  make check      all tests: cargo test + kernel selftests in QEMU; ends "N passed, N failed"'
	@echo '  make demo       boot QEMU and show dm-inlinecrypt working'
	@echo '  make bench      fio: Rust vs upstream C dm-inlinecrypt, with ratios'
	@echo '  make bench-pcache   fio: Rust vs upstream C dm-pcache (data_crc off/on, raw pmem), with ratios'
	@echo '  make bench-raid     fio: raid_rs vs upstream dm-raid (raid1, raid10), recovery from bad blocks, with ratios'
	@echo '  make powercut   power cuts under dm-pcache in QEMU (CYCLES=200); prints cycles, writes checked, lost'
	@echo '  make raid-errors  read errors injected under raid_rs in QEMU (ERRORS=10000); prints injected, corrected, wrong bytes'
	@echo '  make fuzz       fuzz the pcache format decoders (FUZZ_SECONDS=60)'
	@echo '  make setup      install packages, bindgen and the 7.2 kernel source'
	@echo '  make kernel     build the minimal Rust-enabled test kernel (cached)'
	@echo '  make test-user  userspace cargo tests only'
	@echo '  make clippy     build the modules with clippy'
	@echo '  make clean      remove build output (the kernel cache stays)'
	@echo 'Variables: KDIR=<kernel build tree>, RDM_CACHE=<cache dir, default ~/.cache/rust-dm>'
