/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Out-of-line wrappers for static inline functions and macros that Rust
 * cannot call directly, in the manner of the kernel's rust/helpers/.
 */
#ifndef RDM_HELPERS_H
#define RDM_HELPERS_H

#include <linux/types.h>
#include <linux/refcount_types.h>

struct bio;
struct bvec_iter;
struct block_device;
struct blk_crypto_key;
struct workqueue_struct;
struct bio_set;
struct module;
struct delayed_work;
struct work_struct;
struct completion;
struct page;
struct dm_dev;

void rdm_bio_set_dev(struct bio *bio, struct block_device *bdev);
bool rdm_bio_has_data(struct bio *bio);
bool rdm_bio_has_crypt_ctx(struct bio *bio);
void rdm_bio_crypt_set_ctx(struct bio *bio, const struct blk_crypto_key *key,
			   u64 dun);
u64 rdm_bdev_nr_sectors(struct block_device *bdev);
int rdm_read_logon_key(const char *desc, u8 *out, unsigned int len);
void rdm_memzero_explicit(void *p, size_t len);
struct workqueue_struct *rdm_alloc_workqueue(const char *name);
int rdm_bioset_init(struct bio_set *bs);
int rdm_bio_clone_chained(struct bio *bio, struct block_device *bdev,
			  sector_t sector, struct bio_set *bs);
void rdm_bio_end(struct bio *bio, int err);
void rdm_bio_inc_remaining(struct bio *bio);
bool rdm_accept_partial_bio(struct bio *bio, unsigned int n_sectors);
void rdm_flush_workqueue(struct workqueue_struct *wq);
bool rdm_module_going(struct module *mod);
void rdm_queue_work_fn(struct workqueue_struct *wq, struct work_struct *work,
		       work_func_t fn);
void rdm_init_delayed_work(struct delayed_work *dwork,
			   void (*fn)(struct work_struct *work));
bool rdm_queue_delayed_work(struct workqueue_struct *wq,
			    struct delayed_work *dwork, unsigned int ms);
bool rdm_mod_delayed_work(struct workqueue_struct *wq,
			  struct delayed_work *dwork, unsigned int ms);
int rdm_bioset_init_pad(struct bio_set *bs, unsigned int front_pad);
struct bio *rdm_bio_clone_to(struct bio *src, struct block_device *bdev,
			     sector_t sector, struct bio_set *bs,
			     void (*end_io)(struct bio *bio));

void rdm_count_init(refcount_t *count);
void rdm_count_get(refcount_t *count);
bool rdm_count_try_get(refcount_t *count);
unsigned int rdm_count_read(refcount_t *count);
void rdm_count_put(refcount_t *count, struct completion *idle);
void rdm_completion_init(struct completion *c);
int rdm_bioset_init_own(struct bio_set *bs, unsigned int front_pad);
struct bio *rdm_bio_alloc_own(struct block_device *bdev, unsigned short nr_vecs,
			      blk_opf_t opf, sector_t sector, struct bio_set *bs,
			      void (*end_io)(struct bio *bio));
void rdm_bio_add_page(struct bio *bio, struct page *page, unsigned int len);
void rdm_bio_add_kaddr(struct bio *bio, void *addr, unsigned int len);
int rdm_bio_submit_wait(struct bio *bio);
bool rdm_may_sleep_here(void);
int rdm_discard_wait(struct block_device *bdev, sector_t sector, sector_t nr_sects);
struct bio *rdm_bio_clone_iter_to(struct bio *src, struct block_device *bdev,
				  sector_t sector, const struct bvec_iter *iter,
				  struct bio_set *bs, bio_end_io_t *end_io);
int rdm_dax_map(struct dm_dev *dev, u64 bytes, void **vaddr, bool *vmapped);
int rdm_dax_range_good(struct dm_dev *dev, u64 off, u64 len);
void rdm_dax_unmap(void *vaddr, bool vmapped);
void rdm_pmem_write(void *dst, const void *src, size_t len);
unsigned long rdm_pmem_read(void *dst, const void *src, size_t len);
void rdm_pmem_wmb(void);
int rdm_claim_dev(struct dm_dev *dev, void **claim);
void rdm_release_claim(void *claim);
unsigned int rdm_noio_save(void);
void rdm_noio_restore(unsigned int flags);
int rdm_bio_pmem_copy(struct bio *bio, u32 bio_off, void *pmem, u32 len,
		      bool to_pmem);
int rdm_pmem_crc32c(u32 seed, const void *src, size_t len, u32 *crc);
struct bio *rdm_bio_clone_range_to(struct bio *src, struct block_device *bdev,
				   sector_t sector, u32 bio_off, u32 len,
				   struct bio_set *bs, bio_end_io_t *end_io);
bool rdm_dev_writable(struct dm_dev *dev);
struct bio *rdm_bio_bounce_range_to(struct bio *src, struct block_device *bdev,
				    sector_t sector, u32 bio_off, u32 len,
				    struct bio_set *bs, bio_end_io_t *end_io,
				    struct bvec_iter *src_iter);
void rdm_bio_bounce_end(struct bio *dst, const struct bvec_iter *dst_range,
			struct bio *bounce, const struct bvec_iter *sent,
			bool copy);

#endif
