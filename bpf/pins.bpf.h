/* SPDX-License-Identifier: GPL-2.0-only */
/* What both pin tiers read from the kernel: io_uring buffer tables and the memory behind a
 * user address. */
#ifndef PINSCOPE_PINS_BPF_H
#define PINSCOPE_PINS_BPF_H

#include "common.bpf.h"

/* io_uring buffer tables before 6.18 (commit "io_uring/rsrc: unify file and buffer resource
 * tables" replaced user_bufs/nr_user_bufs with buf_table). */
struct io_ring_ctx___old {
	struct io_mapped_ubuf **user_bufs;
	unsigned int nr_user_bufs;
} __attribute__((preserve_access_index));

/* 6.1 described a buffer by its end address; 6.12 switched to a length. */
struct io_mapped_ubuf___old {
	__u64 ubuf;
	__u64 ubuf_end;
} __attribute__((preserve_access_index));

struct vma_ctx {
	__u64 start, end; /* the VMA's range */
	__u64 ino;
	__u32 dev;
	__u8 backing;
};

static long vma_cb(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct vma_ctx *v = data;
	struct file *f = BPF_CORE_READ(vma, vm_file);
	__u64 mmap_fn;

	v->start = BPF_CORE_READ(vma, vm_start);
	v->end = BPF_CORE_READ(vma, vm_end);
	v->ino = 0;
	v->dev = 0;
	if (!f) {
		v->backing = PS_BACK_ANON;
		return 0;
	}
	mmap_fn = (__u64)BPF_CORE_READ(f, f_op, mmap);
	if (cfg.kvm_gmem_mmap && mmap_fn == cfg.kvm_gmem_mmap)
		v->backing = PS_BACK_GMEM;
	else if (cfg.shmem_mmap && mmap_fn == cfg.shmem_mmap)
		v->backing = PS_BACK_SHMEM;
	else if (cfg.hugetlbfs_mmap && mmap_fn == cfg.hugetlbfs_mmap)
		v->backing = PS_BACK_HUGETLB;
	else
		v->backing = PS_BACK_FILE;
	v->ino = BPF_CORE_READ(f, f_inode, i_ino);
	v->dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
	return 0;
}

static __always_inline struct io_mapped_ubuf *ring_buf(void *ring, __u32 i)
{
	struct io_mapped_ubuf *imu = NULL;

	if (bpf_core_field_exists(((struct io_ring_ctx *)0)->buf_table)) {
		struct io_ring_ctx *ctx = ring;
		struct io_rsrc_node **nodes = BPF_CORE_READ(ctx, buf_table.nodes);
		struct io_rsrc_node *node = NULL;

		if (!nodes || bpf_probe_read_kernel(&node, sizeof(node), &nodes[i]) || !node)
			return NULL;
		imu = BPF_CORE_READ(node, buf);
	} else {
		struct io_ring_ctx___old *ctx = ring;
		struct io_mapped_ubuf **bufs = BPF_CORE_READ(ctx, user_bufs);

		if (!bufs || bpf_probe_read_kernel(&imu, sizeof(imu), &bufs[i]))
			return NULL;
	}
	return imu;
}

static __always_inline __u32 ring_nr_bufs(void *ring)
{
	if (bpf_core_field_exists(((struct io_ring_ctx *)0)->buf_table))
		return BPF_CORE_READ((struct io_ring_ctx *)ring, buf_table.nr);
	return BPF_CORE_READ((struct io_ring_ctx___old *)ring, nr_user_bufs);
}

/* The io_ring_ctx behind pinscope's own file descriptor fd, or 0 if fd is not an io_uring. */
static __always_inline __u64 own_uring_fd(unsigned int fd)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct file **fds, *f = NULL;

	if (!cfg.io_uring_release || fd >= BPF_CORE_READ(task, files, fdt, max_fds))
		return 0;
	fds = BPF_CORE_READ(task, files, fdt, fd);
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]) || !f)
		return 0;
	if ((__u64)BPF_CORE_READ(f, f_op, release) != cfg.io_uring_release)
		return 0;
	return (__u64)BPF_CORE_READ(f, private_data);
}

#endif /* PINSCOPE_PINS_BPF_H */
