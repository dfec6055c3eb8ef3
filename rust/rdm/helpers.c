// SPDX-License-Identifier: GPL-2.0
/*
 * Out-of-line wrappers for static inline functions and macros, so that the
 * Rust side reaches them through bindgen'd prototypes (see helpers.h).
 * Compiled into every module that uses the rdm layer.
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/completion.h>
#include <linux/dax.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <linux/highmem.h>
#include <linux/sched/mm.h>
#include <linux/crc32c.h>
#include <linux/refcount.h>
#include <linux/blk-crypto.h>
#include <linux/blkdev.h>
#include <linux/device-mapper.h>
#include <linux/module.h>
#include <linux/key.h>
#include <linux/string.h>
#include <linux/workqueue.h>
#include <keys/user-type.h>

#include "helpers.h"

void rdm_bio_set_dev(struct bio *bio, struct block_device *bdev)
{
	bio_set_dev(bio, bdev);
}

bool rdm_bio_has_data(struct bio *bio)
{
	return bio_has_data(bio);
}

bool rdm_bio_has_crypt_ctx(struct bio *bio)
{
	return bio_has_crypt_ctx(bio);
}

void rdm_bio_crypt_set_ctx(struct bio *bio, const struct blk_crypto_key *key,
			   u64 dun)
{
	u64 dun_array[BLK_CRYPTO_DUN_ARRAY_SIZE] = { dun };

	/* GFP_NOIO: we are in the I/O path; the allocation is mempool-backed. */
	bio_crypt_set_ctx(bio, key, dun_array, GFP_NOIO);
}

u64 rdm_bdev_nr_sectors(struct block_device *bdev)
{
	return bdev_nr_sectors(bdev);
}

/*
 * Copy the payload of the logon key @desc into @out, which must be exactly
 * @len bytes long. The payload is read under key->sem, as dm-crypt does.
 */
int rdm_read_logon_key(const char *desc, u8 *out, unsigned int len)
{
	const struct user_key_payload *ukp;
	struct key *key;
	int ret = 0;

	key = request_key(&key_type_logon, desc, NULL);
	if (IS_ERR(key))
		return PTR_ERR(key);

	down_read(&key->sem);
	ukp = user_key_payload_locked(key);
	if (!ukp)
		ret = -EKEYREVOKED;
	else if (ukp->datalen != len)
		ret = -EINVAL;
	else
		memcpy(out, ukp->data, len);
	up_read(&key->sem);
	key_put(key);
	return ret;
}

void rdm_memzero_explicit(void *p, size_t len)
{
	memzero_explicit(p, len);
}

/*
 * A workqueue for a target's deferred I/O: WQ_MEM_RECLAIM, as it completes
 * bios the kernel may be waiting on to free memory; WQ_UNBOUND, as the work
 * needs no particular CPU (7.2 warns unless WQ_PERCPU or WQ_UNBOUND is set).
 */
struct workqueue_struct *rdm_alloc_workqueue(const char *name)
{
	return alloc_workqueue("%s", WQ_MEM_RECLAIM | WQ_UNBOUND, 0, name);
}

/*
 * Clones are allocated in map, while current->bio_list holds bios not yet
 * submitted (clones among them): with a rescuer, a mempool wait punts those
 * to a worker instead of waiting for elements only they can free.
 */
int rdm_bioset_init(struct bio_set *bs)
{
	return bioset_init(bs, BIO_POOL_SIZE, 0, BIOSET_NEED_RESCUER);
}

/*
 * Clone @bio to @bdev at @sector and submit the clone, chained so that @bio
 * completes only after the clone does, with the clone's error if it fails.
 * GFP_NOIO from a mempool: in the I/O path; it waits rather than fail, but
 * a NULL is still handled.
 */
int rdm_bio_clone_chained(struct bio *bio, struct block_device *bdev,
			  sector_t sector, struct bio_set *bs)
{
	struct bio *clone = bio_alloc_clone(bdev, bio, GFP_NOIO, bs);

	if (!clone)
		return -ENOMEM;
	clone->bi_iter.bi_sector = sector;
	bio_chain(clone, bio);
	submit_bio_noacct(clone);
	return 0;
}

/*
 * Complete @bio; a non-zero @err fails it unless an error is already
 * recorded (first error wins, as bio_chain_endio() does for a parent).
 */
void rdm_bio_end(struct bio *bio, int err)
{
	if (err)
		cmpxchg(&bio->bi_status, BLK_STS_OK, errno_to_blk_status(err));
	bio_endio(bio);
}

void rdm_bio_inc_remaining(struct bio *bio)
{
	bio_inc_remaining(bio);
}

/*
 * dm_accept_partial_bio() BUG()s on duplicate (flush, discard, ...), atomic
 * and zoned-write bios and on a size it cannot accept: only call it for a
 * read or write with data, and 0 < @n_sectors <= the bio's size.
 */
bool rdm_accept_partial_bio(struct bio *bio, unsigned int n_sectors)
{
	enum req_op op = bio_op(bio);

	if ((op != REQ_OP_READ && op != REQ_OP_WRITE) || !bio_has_data(bio) ||
	    (bio->bi_opf & REQ_ATOMIC) || bdev_is_zoned(bio->bi_bdev) ||
	    !n_sectors || n_sectors > bio_sectors(bio))
		return false;
	dm_accept_partial_bio(bio, n_sectors);
	return true;
}

void rdm_flush_workqueue(struct workqueue_struct *wq)
{
	flush_workqueue(wq);
}

bool rdm_module_going(struct module *mod)
{
	return !module_is_live(mod);
}

/*
 * A clone's completion handed to process context: the work_struct lives in
 * the clone's front pad, initialised right before it is queued.
 */
void rdm_queue_work_fn(struct workqueue_struct *wq, struct work_struct *work,
		       work_func_t fn)
{
	INIT_WORK(work, fn);
	queue_work(wq, work);
}

void rdm_init_delayed_work(struct delayed_work *dwork, work_func_t fn)
{
	INIT_DELAYED_WORK(dwork, fn);
}

bool rdm_queue_delayed_work(struct workqueue_struct *wq,
			    struct delayed_work *dwork, unsigned int ms)
{
	return queue_delayed_work(wq, dwork, msecs_to_jiffies(ms));
}

bool rdm_mod_delayed_work(struct workqueue_struct *wq,
			  struct delayed_work *dwork, unsigned int ms)
{
	return mod_delayed_work(wq, dwork, msecs_to_jiffies(ms));
}

/* As rdm_bioset_init(), with room for a typed context before each bio. */
int rdm_bioset_init_pad(struct bio_set *bs, unsigned int front_pad)
{
	return bioset_init(bs, BIO_POOL_SIZE, front_pad, BIOSET_NEED_RESCUER);
}

/*
 * A clone of @src for @bdev at @sector, from @bs, completed by @end_io; the
 * caller fills the front pad and submits it. GFP_NOIO from the mempool:
 * in the I/O path.
 */
struct bio *rdm_bio_clone_to(struct bio *src, struct block_device *bdev,
			     sector_t sector, struct bio_set *bs,
			     bio_end_io_t *end_io)
{
	struct bio *clone = bio_alloc_clone(bdev, src, GFP_NOIO, bs);

	if (!clone)
		return NULL;
	clone->bi_iter.bi_sector = sector;
	clone->bi_end_io = end_io;
	return clone;
}

/*
 * A clone of the @len bytes @bio_off into @src, for @bdev at @sector. The
 * caller checked that the range lies inside @src and is sector-aligned.
 */
struct bio *rdm_bio_clone_range_to(struct bio *src, struct block_device *bdev,
				   sector_t sector, u32 bio_off, u32 len,
				   struct bio_set *bs, bio_end_io_t *end_io)
{
	struct bio *clone = bio_alloc_clone(bdev, src, GFP_NOIO, bs);

	if (!clone)
		return NULL;
	bio_advance(clone, bio_off);
	clone->bi_iter.bi_size = len;
	clone->bi_iter.bi_sector = sector;
	clone->bi_end_io = end_io;
	return clone;
}

/*
 * A read of the @len bytes @bio_off into @src, for @bdev at @sector, into
 * pages of its own (a bounce) rather than @src's: a target that keeps what
 * the device returned (a cache filling on a read miss) must not take it
 * from the reader's pages, which are user memory under O_DIRECT and may
 * change between the device's write into them and the target's copy. The
 * caller copies the bounce into @src with rdm_bio_bounce_end(); @src_iter
 * gets @src's range. The caller checked that the range lies inside @src,
 * in whole sectors. NULL without memory: the pages are not from a mempool,
 * so the caller must be able to do without (read @src's pages directly).
 */
struct bio *rdm_bio_bounce_range_to(struct bio *src, struct block_device *bdev,
				    sector_t sector, u32 bio_off, u32 len,
				    struct bio_set *bs, bio_end_io_t *end_io,
				    struct bvec_iter *src_iter)
{
	unsigned int nr = DIV_ROUND_UP(len, PAGE_SIZE), i;
	struct bio *bio;

	if (!len || nr > BIO_MAX_VECS)
		return NULL;
	bio = bio_alloc_bioset(bdev, nr, REQ_OP_READ | (src->bi_opf & (REQ_SYNC |
			       REQ_META | REQ_PRIO | REQ_RAHEAD | REQ_FAILFAST_MASK)),
			       GFP_NOIO, bs);
	if (!bio)
		return NULL;
	for (i = 0; i < nr; i++) {
		/* Never waits for reclaim: the caller can do without. */
		struct page *page = alloc_page(GFP_NOWAIT | __GFP_NOWARN);

		if (!page) {
			bio_free_pages(bio);
			bio_put(bio);
			return NULL;
		}
		__bio_add_page(bio, page, min_t(u32, len - i * PAGE_SIZE, PAGE_SIZE), 0);
	}
	bio_clone_blkg_association(bio, src);
	bio->bi_ioprio = src->bi_ioprio;
	bio->bi_iter.bi_sector = sector;
	bio->bi_end_io = end_io;
	*src_iter = src->bi_iter;
	bio_advance_iter(src, src_iter, bio_off);
	src_iter->bi_size = len;
	return bio;
}

/*
 * A clone of @src's range @iter (an iterator into @src's bvec table) for
 * @bdev at @sector, from @bs, completed by @end_io: a clone sent again to
 * another device, made from the original rather than from the completed
 * clone (whose flags the device below may have changed).
 */
struct bio *rdm_bio_clone_iter_to(struct bio *src, struct block_device *bdev,
				  sector_t sector, const struct bvec_iter *iter,
				  struct bio_set *bs, bio_end_io_t *end_io)
{
	struct bio *clone = bio_alloc_clone(bdev, src, GFP_NOIO, bs);

	if (!clone)
		return NULL;
	clone->bi_iter = *iter;
	clone->bi_iter.bi_sector = sector;
	clone->bi_end_io = end_io;
	return clone;
}

/*
 * Ends a completed bounce from rdm_bio_bounce_range_to(): if @copy, copies
 * its data (from @sent, its iterator at submission) into @dst's range
 * @dst_range, then frees its pages. The caller puts the bio.
 */
void rdm_bio_bounce_end(struct bio *dst, const struct bvec_iter *dst_range,
			struct bio *bounce, const struct bvec_iter *sent,
			bool copy)
{
	struct bvec_iter dst_iter = *dst_range, iter = *sent;

	while (copy && iter.bi_size && dst_iter.bi_size) {
		struct bio_vec src_bv = bio_iter_iovec(bounce, iter);
		struct bio_vec dst_bv = bio_iter_iovec(dst, dst_iter);
		unsigned int n = min(src_bv.bv_len, dst_bv.bv_len);
		void *from = bvec_kmap_local(&src_bv);
		void *to = bvec_kmap_local(&dst_bv);

		memcpy(to, from, n);
		kunmap_local(to);
		kunmap_local(from);
		flush_dcache_page(dst_bv.bv_page);
		bio_advance_iter_single(bounce, &iter, n);
		bio_advance_iter_single(dst, &dst_iter, n);
	}
	bio_free_pages(bounce);
}

/* The handle count of a target (rust/rdm/dev.rs): starts at the layer's one. */
void rdm_count_init(refcount_t *count)
{
	refcount_set(count, 1);
}

void rdm_count_get(refcount_t *count)
{
	refcount_inc(count);
}

bool rdm_count_try_get(refcount_t *count)
{
	return refcount_inc_not_zero(count);
}

unsigned int rdm_count_read(refcount_t *count)
{
	return refcount_read(count);
}

/*
 * Drop one count; the last one wakes the destructor, which may free @count
 * and @idle as soon as it wakes. Neither is touched after complete_all(),
 * which itself releases the completion's lock as its last access.
 */
void rdm_count_put(refcount_t *count, struct completion *idle)
{
	if (refcount_dec_and_test(count))
		complete_all(idle);
}

void rdm_completion_init(struct completion *c)
{
	init_completion(c);
}

/*
 * Target-owned I/O (rust/rdm/io.rs): bios with their own pages. The rescuer
 * is there because a target may submit from its map path, under
 * current->bio_list.
 */
int rdm_bioset_init_own(struct bio_set *bs, unsigned int front_pad)
{
	return bioset_init(bs, BIO_POOL_SIZE, front_pad,
			   BIOSET_NEED_BVECS | BIOSET_NEED_RESCUER);
}

/* GFP_NOIO from the bio_set's mempools: sleeps rather than fails. */
struct bio *rdm_bio_alloc_own(struct block_device *bdev, unsigned short nr_vecs,
			      blk_opf_t opf, sector_t sector, struct bio_set *bs,
			      void (*end_io)(struct bio *bio))
{
	struct bio *bio = bio_alloc_bioset(bdev, nr_vecs, opf, GFP_NOIO, bs);

	if (!bio)
		return NULL;
	bio->bi_iter.bi_sector = sector;
	bio->bi_end_io = end_io;
	return bio;
}

/*
 * Synchronous own I/O (rust/rdm/io.rs, SyncIo): submits @bio, waits for it
 * and puts it. Under submit_bio() (a target's map) the bio would only be
 * issued once the caller returned, so the wait would never end: refused.
 */
int rdm_bio_submit_wait(struct bio *bio)
{
	int ret = -EDEADLK;

	if (current->bio_list) {
		pr_warn_once("rdm: synchronous I/O under submit_bio() refused\n");
		goto out;
	}
	ret = submit_bio_wait(bio);
out:
	bio_put(bio);
	return ret;
}

/*
 * Whether a clone's process-context completion may run right where the
 * clone completed (rust/rdm/clone.rs), rather than on the pool's queue:
 * inside a submit_bio() call stack (a device that completes bios in its
 * submitter's context, as brd does, or below a dm-delay worker), in a task
 * that may sleep (no interrupt, spinlock, RCU read side or disabled
 * interrupts). Not in a driver's own completion thread (a threaded
 * interrupt, loop's worker): sleeping there would stall that device's
 * other completions. Without preemption counting a held spinlock would go
 * unseen: never then.
 */
bool rdm_may_sleep_here(void)
{
	if (!IS_ENABLED(CONFIG_PREEMPT_COUNT))
		return false;
	return current->bio_list && in_task() && preemptible() && !rcu_preempt_depth();
}

/*
 * A synchronous discard of @nr_sects at @sector (rust/rdm/dev.rs,
 * DmDev::discard). Refused under submit_bio() for the reason above.
 */
int rdm_discard_wait(struct block_device *bdev, sector_t sector, sector_t nr_sects)
{
	if (current->bio_list) {
		pr_warn_once("rdm: synchronous discard under submit_bio() refused\n");
		return -EDEADLK;
	}
	/* blkdev_issue_discard() reports success on a device without discard. */
	if (!bdev_max_discard_sectors(bdev))
		return -EOPNOTSUPP;
	return blkdev_issue_discard(bdev, sector, nr_sects, GFP_NOIO);
}

void rdm_bio_add_page(struct bio *bio, struct page *page, unsigned int len)
{
	__bio_add_page(bio, page, len, 0);
}

/*
 * One vec of @len bytes at @addr, inside one page of a DAX mapping (direct
 * or vmapped): the page a device reads a zero-copy write from.
 */
void rdm_bio_add_kaddr(struct bio *bio, void *addr, unsigned int len)
{
	struct page *page;

	if (is_vmalloc_addr(addr)) {
		/* As bio_map_kern(): the device reads the page, not the alias. */
		flush_kernel_vmap_range(addr, len);
		page = vmalloc_to_page(addr);
	} else {
		page = virt_to_page(addr);
	}
	__bio_add_page(bio, page, len, offset_in_page(addr));
}

/*
 * DAX access to a whole table device (rust/rdm/dax.rs), as dm-pcache's
 * cache_dev_dax_init() does: one direct mapping of all @bytes if the driver
 * gives one, otherwise a vmap of its pages.
 */
static int rdm_dax_vmap(struct dax_device *dax_dev, pgoff_t first, long total,
			void **vaddr)
{
	struct page **pages;
	unsigned long pfn;
	long i = 0, chunk;
	int ret = 0;

	pages = vmalloc_array(total, sizeof(struct page *));
	if (!pages)
		return -ENOMEM;
	do {
		chunk = dax_direct_access(dax_dev, first + i, total - i,
					  DAX_ACCESS, NULL, &pfn);
		if (chunk <= 0) {
			ret = chunk ? chunk : -EINVAL;
			goto out;
		}
		if (!pfn_valid(pfn)) {
			ret = -EOPNOTSUPP;
			goto out;
		}
		while (chunk-- && i < total) {
			pages[i++] = pfn_to_page(pfn++);
			if (!(i & 15))
				cond_resched();
		}
	} while (i < total);
	*vaddr = vmap(pages, total, VM_MAP, PAGE_KERNEL);
	if (!*vaddr)
		ret = -ENOMEM;
out:
	vfree(pages);
	return ret;
}

int rdm_dax_map(struct dm_dev *dev, u64 bytes, void **vaddr, bool *vmapped)
{
	long total = bytes >> PAGE_SHIFT, mapped;
	sector_t start = get_start_sect(dev->bdev);
	pgoff_t first;
	unsigned long pfn;
	int id, ret = 0;

	if (!dev->dax_dev || !total)
		return -EOPNOTSUPP;
	/*
	 * The dax_device is the whole disk's: a partition starts
	 * get_start_sect() into it (dm-pcache's cache_dev_dax_init() misses
	 * this and maps the disk from its start). Whole pages only.
	 */
	if (!PAGE_ALIGNED(bytes) || !PAGE_ALIGNED((u64)start << SECTOR_SHIFT))
		return -EINVAL;
	first = start >> (PAGE_SHIFT - SECTOR_SHIFT);
	id = dax_read_lock();
	mapped = dax_direct_access(dev->dax_dev, first, total, DAX_ACCESS, vaddr,
				   &pfn);
	if (mapped < 0)
		ret = mapped;
	else if (!pfn_valid(pfn))
		ret = -EOPNOTSUPP;
	else if (mapped == total)
		*vmapped = false;
	else if (!(ret = rdm_dax_vmap(dev->dax_dev, first, total, vaddr)))
		*vmapped = true;
	dax_read_unlock(id);
	return ret;
}

/*
 * Whether the driver knows of no media error in @len bytes at @off of the
 * mapped device: dax_direct_access() refuses (or cuts short) a range with
 * bad blocks, as it does for fs-dax.
 */
int rdm_dax_range_good(struct dm_dev *dev, u64 off, u64 len)
{
	pgoff_t first = (get_start_sect(dev->bdev) >> (PAGE_SHIFT - SECTOR_SHIFT)) + (off >> PAGE_SHIFT);
	long total = DIV_ROUND_UP(offset_in_page(off) + len, PAGE_SIZE), got = 0;
	int id;

	id = dax_read_lock();
	/* A stacked DAX device (dm-linear, dm-stripe) answers up to a boundary. */
	while (total > 0) {
		got = dax_direct_access(dev->dax_dev, first, total, DAX_ACCESS, NULL, NULL);
		if (got <= 0)
			break;
		first += got;
		total -= got;
	}
	dax_read_unlock(id);
	if (got == -EHWPOISON)
		return -EIO;
	if (total > 0)
		return got < 0 ? got : -EIO;
	return 0;
}

/*
 * vunmap() BUGs in interrupt context, and a mapping's owner may be dropped
 * in a completion: there the vmap is leaked (with a warning) rather than
 * crash. A direct mapping needs no unmapping.
 */
void rdm_dax_unmap(void *vaddr, bool vmapped)
{
	if (!vmapped)
		return;
	if (!in_task()) {
		pr_warn_once("rdm: DAX vmap dropped in interrupt context, leaked\n");
		return;
	}
	vunmap(vaddr);
}

/*
 * Exclusive claims on table devices, for targets that own their media (a
 * cache): one list per module, since each module builds its own copy of
 * these helpers. A claim is an opaque pointer the caller releases once.
 */
struct rdm_claim {
	struct list_head node;
	dev_t dev;
};

static DEFINE_MUTEX(rdm_claims_lock);
static LIST_HEAD(rdm_claims);

int rdm_claim_dev(struct dm_dev *dev, void **claim)
{
	struct rdm_claim *c, *new;
	int ret = 0;

	new = kmalloc(sizeof(*new), GFP_KERNEL);
	if (!new)
		return -ENOMEM;
	new->dev = dev->bdev->bd_dev;
	mutex_lock(&rdm_claims_lock);
	list_for_each_entry(c, &rdm_claims, node) {
		if (c->dev == new->dev) {
			ret = -EBUSY;
			break;
		}
	}
	if (!ret)
		list_add(&new->node, &rdm_claims);
	mutex_unlock(&rdm_claims_lock);
	if (ret)
		kfree(new);
	else
		*claim = new;
	return ret;
}

void rdm_release_claim(void *claim)
{
	struct rdm_claim *c = claim;

	mutex_lock(&rdm_claims_lock);
	list_del(&c->node);
	mutex_unlock(&rdm_claims_lock);
	kfree(c);
}

/* A scope in which allocations do not start I/O (memalloc_noio_save()). */
unsigned int rdm_noio_save(void)
{
	return memalloc_noio_save();
}

void rdm_noio_restore(unsigned int flags)
{
	memalloc_noio_restore(flags);
}

bool rdm_dev_writable(struct dm_dev *dev)
{
	return dev->mode & BLK_OPEN_WRITE;
}

/* Stores that bypass or flush the CPU cache; ordered by rdm_pmem_wmb(). */
void rdm_pmem_write(void *dst, const void *src, size_t len)
{
	memcpy_flushcache(dst, src, len);
}

/* Machine-check safe read: the bytes not copied (media errors), or 0. */
unsigned long rdm_pmem_read(void *dst, const void *src, size_t len)
{
	return copy_mc_to_kernel(dst, src, len);
}

void rdm_pmem_wmb(void)
{
	pmem_wmb();
}

/*
 * Copies @len bytes between @bio's data, @bio_off bytes into its current
 * iterator, and persistent memory at @pmem: into pmem with
 * memcpy_flushcache(), out of it with copy_mc_to_kernel() (-EIO on a media
 * error). The caller checked that the range lies inside the bio.
 */
int rdm_bio_pmem_copy(struct bio *bio, u32 bio_off, void *pmem, u32 len,
		      bool to_pmem)
{
	struct bvec_iter iter = bio->bi_iter;
	struct bio_vec bv;
	int ret = 0;

	bio_advance_iter(bio, &iter, bio_off);
	while (len) {
		u32 n;
		void *p;

		bv = bio_iter_iovec(bio, iter);
		n = min(bv.bv_len, len);
		p = bvec_kmap_local(&bv);
		if (to_pmem) {
			memcpy_flushcache(pmem, p, n);
		} else {
			if (copy_mc_to_kernel(p, pmem, n))
				ret = -EIO;
			flush_dcache_page(bv.bv_page);
		}
		kunmap_local(p);
		if (ret)
			return ret;
		pmem += n;
		len -= n;
		bio_advance_iter_single(bio, &iter, n);
	}
	return 0;
}

/*
 * crc32c() over pmem, through a bounce buffer filled with
 * copy_mc_to_kernel(): a media error is -EIO, not a machine check
 * (dm-pcache's cache_key_data_crc() reads the pmem in place).
 */
int rdm_pmem_crc32c(u32 seed, const void *src, size_t len, u32 *crc)
{
	u8 buf[256];

	while (len) {
		size_t n = min(len, sizeof(buf));

		if (copy_mc_to_kernel(buf, src, n))
			return -EIO;
		seed = crc32c(seed, buf, n);
		src += n;
		len -= n;
	}
	*crc = seed;
	return 0;
}
