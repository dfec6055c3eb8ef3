/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C APIs the `kernel` crate of 7.2 lacks and the rdm layer wraps:
 * device-mapper, bio, blk-crypto, DAX and keys. bindgen reads this file with
 * the kernel's own flags (see rdm.mk); only the allowlisted items are emitted.
 */
#include <linux/bio.h>
#include <linux/blk-crypto.h>
#include <linux/blkdev.h>
#include <linux/crc32.h>
#include <linux/dax.h>
#include <linux/device-mapper.h>
#include <linux/key.h>
#include <linux/workqueue.h>

#include "helpers.h"

/* Macros with casts that bindgen cannot evaluate, as typed constants. */
const blk_status_t RDM_BLK_STS_OK = BLK_STS_OK;
const blk_status_t RDM_BLK_STS_IOERR = BLK_STS_IOERR;
const blk_opf_t RDM_REQ_OP_MASK = REQ_OP_MASK;
const blk_opf_t RDM_REQ_OP_READ = REQ_OP_READ;
const blk_opf_t RDM_REQ_OP_WRITE = REQ_OP_WRITE;
const blk_opf_t RDM_REQ_OP_FLUSH = REQ_OP_FLUSH;
const blk_opf_t RDM_REQ_OP_DISCARD = REQ_OP_DISCARD;
const blk_opf_t RDM_REQ_PREFLUSH = REQ_PREFLUSH;
const blk_opf_t RDM_REQ_FUA = REQ_FUA;
const blk_opf_t RDM_REQ_SYNC = REQ_SYNC;
const size_t RDM_BLK_CRYPTO_MAX_ANY_KEY_SIZE = BLK_CRYPTO_MAX_ANY_KEY_SIZE;
