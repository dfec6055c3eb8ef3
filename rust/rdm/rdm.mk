# SPDX-License-Identifier: GPL-2.0
#
# Included by the Kbuild file of every module that uses the rdm layer, after
# it has set RDM_MODULE (the composite module name) and RDM_CRATE (the object
# of its crate root). It adds the C helpers to the module and generates the
# bindings with the flags rust/Makefile uses for the kernel's own bindings.

# This file's directory, however deep the including module sits.
rdm_dir := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))

$(RDM_MODULE)-y += rdm_helpers.o
CFLAGS_rdm_helpers.o := -I$(rdm_dir)

# The C flags bindgen (libclang) cannot take from a GCC build: the list in
# rust/Makefile of the 7.2 tree.
rdm_bindgen_skip_c_flags := -mno-fp-ret-in-387 -mpreferred-stack-boundary=% \
	-mskip-rax-setup -mgeneral-regs-only -msign-return-address=% \
	-mindirect-branch=thunk-extern -mindirect-branch-register \
	-mfunction-return=thunk-extern -mrecord-mcount -mabi=lp64 \
	-mindirect-branch-cs-prefix -mstack-protector-guard% -mtraceback=no \
	-mno-pointers-to-nested-functions -mno-string \
	-mno-strict-align -mstrict-align -mdirect-extern-access \
	-mexplicit-relocs -mno-check-zero-division \
	-fconserve-stack -falign-jumps=% -falign-loops=% \
	-femit-struct-debug-baseonly -fno-ipa-cp-clone -fno-ipa-sra \
	-fno-partial-inlining -fplugin-arg-arm_ssp_per_task_plugin-% \
	-fno-reorder-blocks -fno-allow-store-data-races -fasan-shadow-offset=% \
	-fzero-call-used-regs=% -fno-stack-clash-protection \
	-fno-inline-functions-called-once -fsanitize=bounds-strict \
	-fstrict-flex-arrays=% -fmin-function-alignment=% \
	-fzero-init-padding-bits=% -mno-fdpic \
	-fdiagnostics-show-context -fdiagnostics-show-context=% \
	--param=% --param asan-% -fno-isolate-erroneous-paths-dereference

ifdef CONFIG_CC_IS_CLANG
rdm_bindgen_c_flags = $(c_flags)
else
rdm_bindgen_c_flags = $(filter-out $(rdm_bindgen_skip_c_flags), $(c_flags)) \
	-w --target=x86_64-linux-gnu
endif

# The kernel's parameters file, less the MaybeZeroable derives (that macro is
# not in scope outside the kernel's bindings crate).
rdm_bindgen_params = $(shell grep -Ev '^#|^$$|MaybeZeroable' $(srctree)/rust/bindgen_parameters)

rdm_allow_fn := 'dm_(get|put)_device|dm_table_get_mode|dm_table_event|dm_(un)?register_target' \
	'bio_endio|bio_put|submit_bio_noacct|dm_submit_bio_remap|__blk_crypto_submit_bio' \
	'destroy_workqueue|bioset_exit|dm_per_bio_data|dm_set_target_max_io_len' \
	'blk_status_to_errno|errno_to_blk_status|cancel_delayed_work(_sync)?|current_work' \
	'blk_crypto_(init_key|start_using_key|evict_key)' \
	'dax_direct_access|dax_(read|write)_(lock|unlock)' 'crc32c' 'wait_for_completion' 'rdm_.*'
rdm_allow_type := 'target_type|dm_target|dm_dev|queue_limits|blk_crypto_key|bio_set' \
	'delayed_work|work_struct|bio_end_io_t' \
	'status_type_t|iterate_devices_callout_fn|blk_crypto_.*'
rdm_allow_var := 'RDM_.*|DM_MAPIO_.*|DM_ENDIO_.*|DM_TARGET_.*|BLK_CRYPTO_.*|SECTOR_SHIFT'

quiet_cmd_rdm_bindgen = BINDGEN $@
      cmd_rdm_bindgen = \
	$(BINDGEN) $< $(rdm_bindgen_params) --rust-target 1.85 \
		--use-core --with-derive-default --ctypes-prefix kernel::ffi \
		--no-layout-tests --no-debug '.*' --enable-function-attribute-detection \
		$(foreach f,$(rdm_allow_fn),--allowlist-function $(f)) \
		$(foreach t,$(rdm_allow_type),--allowlist-type $(t)) \
		--allowlist-var $(rdm_allow_var) \
		-o $@ -- $(rdm_bindgen_c_flags) -fno-builtin -D__BINDGEN__ -DMODULE \
		-I$(rdm_dir); \
	sed -Ei 's/pub const RDM_([a-zA-Z0-9_]*)/pub const \1/g' $@

$(obj)/rdm_bindings_generated.rs: $(rdm_dir)/bindings_helper.h $(rdm_dir)/helpers.h FORCE
	$(call if_changed_dep,rdm_bindgen)

targets += rdm_bindings_generated.rs

# The crate root include!s the bindings through $RDM_BINDINGS.
$(obj)/$(RDM_CRATE): $(obj)/rdm_bindings_generated.rs
$(obj)/$(RDM_CRATE): export RDM_BINDINGS = $(abspath $(obj)/rdm_bindings_generated.rs)
