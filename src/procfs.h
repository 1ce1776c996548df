/* SPDX-License-Identifier: BSD-2-Clause */
/* The kernel's own numbers: VmPin/VmLck per process, nr_foll_pin_* globally, io_uring fdinfo. */
#ifndef PS_PROCFS_H
#define PS_PROCFS_H

#include <linux/types.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* 0, or -ENOENT when the process is gone. */
int procfs_status(pid_t pid, __u64 *vmpin_kb, __u64 *vmlck_kb);
/* nr_foll_pin_acquired/released. `refresh` first folds the per-CPU deltas into the global
 * counters (/proc/sys/vm/stat_refresh: work on every CPU, so not on every tick); without it they
 * lag by up to the per-CPU threshold. */
int procfs_vmstat(__u64 *acquired, __u64 *released, bool refresh);
int procfs_comm(pid_t pid, char *buf, size_t size);

struct procfs_map {
	uint64_t ino;
	uint32_t dev;	 /* kernel encoding: major << 20 | minor */
	uint8_t backing; /* enum ps_backing */
};
/* What backs addr in pid's address space. 0 or -ENOENT. */
int procfs_backing(pid_t pid, uint64_t addr, struct procfs_map *out);

/* Every process (or only_pid) whose VmPin or VmLck is not zero: fn(ctx, pid, vmpin, vmlck). */
typedef int (*procfs_pin_fn)(void *ctx, pid_t pid, uint64_t vmpin_kb, uint64_t vmlck_kb);
int procfs_each_pinned(pid_t only_pid, procfs_pin_fn fn, void *ctx);

/* io_uring rings with registered buffers: calls fn for each (pid, fd, buffer count). */
typedef int (*procfs_ring_fn)(void *ctx, pid_t pid, int fd, unsigned int nbufs);
int procfs_each_uring(pid_t only_pid, procfs_ring_fn fn, void *ctx);
/* Buffers of one ring from its fdinfo: calls fn(ctx, index, addr, len). */
typedef void (*procfs_buf_fn)(void *ctx, unsigned int idx, uint64_t addr, uint64_t len);
int procfs_uring_bufs(pid_t pid, int fd, procfs_buf_fn fn, void *ctx);

#endif
