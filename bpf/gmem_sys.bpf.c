// SPDX-License-Identifier: GPL-2.0-only
/*
 * guest_memfd and conversions at the syscall/tracepoint tier.
 *
 * Works where function hooks are refused. KVM's own ioctls are recognised by their number and
 * then by the file they act on (f_op->unlocked_ioctl or f_op->mmap compared with kallsyms
 * addresses from user space), so the ioctl tracepoints cost a compare on a busy host. Calls
 * that create state are read at syscall exit: the arguments from the task's saved registers
 * and user memory, the result from the return value. Conversion requests are seen at entry as
 * well, so a call that sleeps in the kernel is visible while it is in flight. KVM_RUN is looked
 * at only when it failed with EFAULT or EHWPOISON, which is how a memory-fault exit returns;
 * then the exit is read from the vCPU's kvm_run.
 */
#include "gmem.bpf.h"

#define KVM_CREATE_VM		    0xae01
#define KVM_RUN			    0xae80
#define KVM_SET_USER_MEMORY_REGION  0x4020ae46
#define KVM_SET_USER_MEMORY_REGION2 0x40a0ae49
#define KVM_CREATE_GUEST_MEMFD	    0xc040aed4
#define KVM_SET_MEMORY_ATTRIBUTES   0x4020aed2
/* Newer kernels and proposals: attributes set on the guest_memfd (or VM) with a 128-byte
 * struct, and the earlier RFC's KVM_GMEM_CONVERT_* (type 0xAF, 64-byte struct). */
#define KVM_SET_MEMORY_ATTRIBUTES2 0xc080aed2
#define KVM_GMEM_CONVERT_SHARED	   0xc040af41
#define KVM_GMEM_CONVERT_PRIVATE   0xc040af42

#define KVM_MEM_GUEST_MEMFD  0x4
#define FALLOC_FL_PUNCH_HOLE 0x02

#define EFAULT	  14
#define EHWPOISON 133

enum file_kind { FK_OTHER = 0, FK_DEV, FK_VM, FK_VCPU, FK_GMEM };

/* Set by the loader when bpf/gmem_fn.bpf.c sees KVM_SET_MEMORY_ATTRIBUTES on the VM: then the
 * entry program here (loaded for guest_memfd conversions) leaves that call alone. */
const volatile __u32 gmem_conv_by_fn = 0;

/* The user structs, as far as they are read. */
struct region2 {
	__u32 slot;
	__u32 flags;
	__u64 guest_phys_addr;
	__u64 memory_size;
	__u64 userspace_addr;
	__u64 guest_memfd_offset;
	__u32 guest_memfd;
	__u32 pad1;
};

struct attrs {
	__u64 address;
	__u64 size;
	__u64 attributes;
	__u64 flags;
	__u64 error_offset; /* KVM_SET_MEMORY_ATTRIBUTES2 only */
};

struct gmem_convert {
	__u64 offset;
	__u64 size;
	__u64 error_offset;
};

struct conv_call {
	__u64 ts;
	__u64 vm, ino, start, size, attributes, flags, arg;
	__u32 dev;
	__s32 fd;
	__u8 iface, to_private;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32); /* tid */
	__type(value, struct conv_call);
} gmem_conv_inflight SEC(".maps");

/* Processes that used KVM: only their close(), munmap() and exit are looked at. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} gmem_procs SEC(".maps");

/* guest_memfd before 6.18 was not mmap-able and its private data may change name: read the
 * owning VM only where struct kvm_gmem exists. */
struct kvm_gmem___ps {
	struct kvm *kvm;
} __attribute__((preserve_access_index));

static __always_inline bool kvm_cmd(__u32 cmd)
{
	__u32 type = (cmd >> 8) & 0xff;

	return type == 0xae || type == 0xaf;
}

static __always_inline bool conv_cmd(__u32 cmd)
{
	return cmd == KVM_SET_MEMORY_ATTRIBUTES || cmd == KVM_SET_MEMORY_ATTRIBUTES2 ||
	       cmd == KVM_GMEM_CONVERT_SHARED || cmd == KVM_GMEM_CONVERT_PRIVATE;
}

static __always_inline struct file *fd_file(struct task_struct *task, int fd)
{
	struct file **fds, *f = NULL;
	unsigned int max_fds;

	if (fd < 0)
		return NULL;
	max_fds = BPF_CORE_READ(task, files, fdt, max_fds);
	if ((unsigned int)fd >= max_fds)
		return NULL;
	fds = BPF_CORE_READ(task, files, fdt, fd);
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]))
		return NULL;
	return f;
}

static __always_inline int file_kind(struct file *f)
{
	const struct file_operations *op;
	__u64 fn;

	if (!f)
		return FK_OTHER;
	op = BPF_CORE_READ(f, f_op);
	if (!op)
		return FK_OTHER;
	fn = (__u64)BPF_CORE_READ(op, unlocked_ioctl);
	if (fn) {
		if (fn == cfg.kvm_vm_ioctl)
			return FK_VM;
		if (fn == cfg.kvm_vcpu_ioctl)
			return FK_VCPU;
		if (fn == cfg.kvm_dev_ioctl)
			return FK_DEV;
	}
	/* guest_memfd is mmap-able only from 6.18; its release names it on every kernel. */
	fn = (__u64)BPF_CORE_READ(op, release);
	if (fn && fn == cfg.kvm_gmem_release)
		return FK_GMEM;
	fn = (__u64)BPF_CORE_READ(op, mmap);
	if (fn && fn == cfg.kvm_gmem_mmap)
		return FK_GMEM;
	return FK_OTHER;
}

static __always_inline __u64 gmem_vm(struct file *f)
{
	if (bpf_core_type_exists(struct kvm_gmem___ps)) {
		struct kvm_gmem___ps *g = BPF_CORE_READ(f, private_data);

		return g ? (__u64)BPF_CORE_READ(g, kvm) : 0;
	}
	return 0;
}

static __always_inline __u64 file_vm(struct file *f, int kind)
{
	if (kind == FK_VM)
		return (__u64)BPF_CORE_READ(f, private_data);
	if (kind == FK_GMEM)
		return gmem_vm(f);
	if (kind == FK_VCPU) {
		struct kvm_vcpu *v = BPF_CORE_READ(f, private_data);

		return v ? (__u64)BPF_CORE_READ(v, kvm) : 0;
	}
	return 0;
}

static __always_inline void file_id(struct file *f, __u64 *ino, __u32 *dev)
{
	*ino = BPF_CORE_READ(f, f_inode, i_ino);
	*dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
}

/* Is this the file's last reference? (close() then releases it) */
struct file___old {
	atomic_long_t f_count;
} __attribute__((preserve_access_index));

static __always_inline bool file_last_ref(struct file *f)
{
	/* file_ref_t (6.13+) counts from 0 for one reference; f_count counted from 1. */
	if (bpf_core_field_exists(f->f_ref))
		return BPF_CORE_READ(f, f_ref.refcnt.counter) == 0;
	return BPF_CORE_READ((struct file___old *)f, f_count.counter) == 1;
}

static __always_inline void mark_proc(void)
{
	__u32 tgid = ps_tgid();
	__u8 one = 1;

	if (bpf_map_update_elem(&gmem_procs, &tgid, &one, BPF_ANY))
		ps_drop(PS_DROP_MAP_FULL);
}

static __always_inline struct ps_ev_gmem *gmem_reserve(__u8 kind, __u64 vm, int fd, long ret)
{
	return gmem_reserve_at(kind, vm, fd, ret, PS_TIER_SYSCALL);
}

/* Saved user registers of the current syscall: its arguments, also at exit. */
static __always_inline struct pt_regs *uregs(void)
{
	return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
}

/* ---- conversions: entry ---- */

static __always_inline int conv_read(struct conv_call *c, __u32 cmd, __u64 arg, struct file *f,
				     int kind)
{
	if (cmd == KVM_GMEM_CONVERT_SHARED || cmd == KVM_GMEM_CONVERT_PRIVATE) {
		struct gmem_convert g;

		if (kind != FK_GMEM || bpf_probe_read_user(&g, sizeof(g), (void *)arg))
			return -1;
		c->iface = PS_CONV_GMEM_CONVERT;
		c->start = g.offset;
		c->size = g.size;
		c->to_private = cmd == KVM_GMEM_CONVERT_PRIVATE;
		c->attributes = c->to_private ? PS_KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
	} else {
		struct attrs a;

		if ((kind != FK_VM && kind != FK_GMEM) ||
		    bpf_probe_read_user(&a, 4 * sizeof(__u64), (void *)arg))
			return -1;
		if (cmd == KVM_SET_MEMORY_ATTRIBUTES)
			c->iface = PS_CONV_VM_ATTR;
		else
			c->iface = kind == FK_GMEM ? PS_CONV_GMEM_ATTR2 : PS_CONV_VM_ATTR2;
		c->start = a.address;
		c->size = a.size;
		c->attributes = a.attributes;
		c->flags = a.flags;
		c->to_private = !!(a.attributes & PS_KVM_MEMORY_ATTRIBUTE_PRIVATE);
	}
	c->vm = file_vm(f, kind);
	if (kind == FK_GMEM)
		file_id(f, &c->ino, &c->dev);
	return 0;
}

static __always_inline void conv_emit(const struct conv_call *c, __u8 phase, long ret, __u64 now,
				      __u64 error_offset)
{
	struct ps_ev_conv *e = ps_reserve(PS_EV_CONV, struct ps_ev_conv, PS_TIER_SYSCALL);

	if (!e)
		return;
	e->vm = c->vm;
	e->ino = c->ino;
	e->dev = c->dev;
	e->err = ret < 0 ? -ret : 0;
	e->start = c->start;
	e->size = c->size;
	e->attributes = c->attributes;
	e->flags = c->flags;
	e->error_offset = error_offset;
	e->duration_ns = phase == PS_CONV_RESULT && now > c->ts ? now - c->ts : 0;
	e->fd = c->fd;
	e->phase = phase;
	e->iface = c->iface;
	e->to_private = c->to_private;
	e->pad0 = 0;
	ps_submit(e);
}

SEC("tracepoint/syscalls/sys_enter_ioctl")
int gmem_ioctl_enter_tp(struct syscall_trace_enter *ctx)
{
	__u32 cmd = ctx->args[1], tid;
	struct conv_call c = {};
	struct file *f;
	int kind;

	if (!conv_cmd(cmd) || !ps_want_current())
		return 0;
	c.fd = ctx->args[0];
	f = fd_file(bpf_get_current_task_btf(), c.fd);
	kind = file_kind(f);
	if (kind != FK_VM && kind != FK_GMEM)
		return 0;
	if (gmem_conv_by_fn && kind == FK_VM && cmd == KVM_SET_MEMORY_ATTRIBUTES)
		return 0;
	c.arg = ctx->args[2];
	if (conv_read(&c, cmd, c.arg, f, kind))
		return 0;
	c.ts = bpf_ktime_get_ns();
	tid = (__u32)bpf_get_current_pid_tgid();
	if (bpf_map_update_elem(&gmem_conv_inflight, &tid, &c, BPF_ANY))
		ps_drop(PS_DROP_MAP_FULL);
	conv_emit(&c, PS_CONV_REQUEST, 0, c.ts, 0);
	return 0;
}

/* ---- ioctl exit ---- */

static __always_inline void conv_exit(__u32 cmd, long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct conv_call *p = bpf_map_lookup_elem(&gmem_conv_inflight, &tid);
	struct conv_call c;
	__u64 eoff = 0;

	if (!p)
		return;
	c = *p;
	bpf_map_delete_elem(&gmem_conv_inflight, &tid);
	/* Where a guest_memfd conversion stopped is written back on failure. */
	if (ret < 0 && cmd != KVM_SET_MEMORY_ATTRIBUTES) {
		void *at = (void *)c.arg +
			   (cmd == KVM_SET_MEMORY_ATTRIBUTES2
				    ? __builtin_offsetof(struct attrs, error_offset)
				    : __builtin_offsetof(struct gmem_convert, error_offset));

		if (bpf_probe_read_user(&eoff, sizeof(eoff), at))
			eoff = 0;
	}
	conv_emit(&c, PS_CONV_RESULT, ret, bpf_ktime_get_ns(), eoff);
}

static __always_inline void vm_created(int fd, long ret)
{
	struct file *f = fd_file(bpf_get_current_task_btf(), ret);
	struct ps_ev_gmem *e;

	if (ret >= 0 && file_kind(f) != FK_VM)
		return;
	if (ret >= 0)
		mark_proc();
	e = gmem_reserve(PS_GMEM_VM_CREATE, ret >= 0 ? file_vm(f, FK_VM) : 0, ret >= 0 ? ret : fd,
			 ret);
	if (e)
		ps_submit(e);
}

static __always_inline void gmem_created(struct file *vmf, __u64 arg, long ret)
{
	struct ps_ev_gmem *e;
	__u64 a[2] = {};

	bpf_probe_read_user(a, sizeof(a), (void *)arg);
	if (ret >= 0)
		mark_proc();
	e = gmem_reserve(PS_GMEM_CREATE, file_vm(vmf, FK_VM), ret >= 0 ? ret : -1, ret);
	if (!e)
		return;
	e->size = a[0];
	e->flags = a[1];
	if (ret >= 0) {
		struct file *f = fd_file(bpf_get_current_task_btf(), ret);

		if (f)
			file_id(f, &e->ino, &e->dev);
	}
	ps_submit(e);
}

static __always_inline void slot_bound(struct file *vmf, __u32 cmd, __u64 arg, long ret)
{
	struct region2 r = {};
	struct ps_ev_gmem *e;
	long err;

	/* KVM_SET_USER_MEMORY_REGION's struct is the first 32 bytes of region2's. */
	if (cmd == KVM_SET_USER_MEMORY_REGION2)
		err = bpf_probe_read_user(&r, sizeof(r), (void *)arg);
	else
		err = bpf_probe_read_user(&r, 32, (void *)arg);
	if (err)
		return;
	e = gmem_reserve(PS_GMEM_BIND, file_vm(vmf, FK_VM), -1, ret);
	if (!e)
		return;
	e->slot = r.slot;
	e->flags = r.flags;
	e->gpa = r.guest_phys_addr;
	e->size = r.memory_size;
	e->uaddr = r.userspace_addr;
	if (cmd == KVM_SET_USER_MEMORY_REGION2 && (r.flags & KVM_MEM_GUEST_MEMFD)) {
		struct file *g = fd_file(bpf_get_current_task_btf(), r.guest_memfd);

		e->fd = r.guest_memfd;
		e->offset = r.guest_memfd_offset;
		if (file_kind(g) == FK_GMEM)
			file_id(g, &e->ino, &e->dev);
	}
	ps_submit(e);
}

static __always_inline void run_exit(struct file *f, long ret)
{
	struct kvm_vcpu *v = BPF_CORE_READ(f, private_data);
	struct kvm_run *run = v ? BPF_CORE_READ(v, run) : NULL;
	struct ps_ev_vm_exit *e;
	__u32 reason;

	/* Kernels before 6.8 have no memory-fault exit (and no such member). */
	if (!run || !bpf_core_field_exists(run->memory_fault))
		return;
	reason = BPF_CORE_READ(run, exit_reason);
	if (reason != PS_KVM_EXIT_MEMORY_FAULT)
		return;
	e = ps_reserve(PS_EV_VM_EXIT, struct ps_ev_vm_exit, PS_TIER_SYSCALL);
	if (!e)
		return;
	e->vm = (__u64)BPF_CORE_READ(v, kvm);
	e->vcpu_id = BPF_CORE_READ(v, vcpu_id);
	e->reason = reason;
	e->err = -ret;
	e->pad0 = 0;
	e->gpa = BPF_CORE_READ(run, memory_fault.gpa);
	e->size = BPF_CORE_READ(run, memory_fault.size);
	e->flags = BPF_CORE_READ(run, memory_fault.flags);
	ps_submit(e);
}

SEC("tracepoint/syscalls/sys_exit_ioctl")
int gmem_ioctl_exit_tp(struct syscall_trace_exit *ctx)
{
	struct pt_regs *regs;
	long ret = ctx->ret;
	struct file *f;
	__u32 cmd;
	int fd, kind;

	if (!ready)
		return 0;
	regs = uregs();
	cmd = regs->si;
	if (!kvm_cmd(cmd))
		return 0;
	if (cmd == KVM_RUN && ret != -EFAULT && ret != -EHWPOISON)
		return 0;
	if (!ps_want_current())
		return 0;
	if (conv_cmd(cmd)) {
		conv_exit(cmd, ret);
		return 0;
	}
	fd = BPF_CORE_READ(regs, di);
	f = fd_file(bpf_get_current_task_btf(), fd);
	kind = file_kind(f);
	switch (cmd) {
	case KVM_CREATE_VM:
		if (kind == FK_DEV)
			vm_created(fd, ret);
		break;
	case KVM_CREATE_GUEST_MEMFD:
		if (kind == FK_VM)
			gmem_created(f, BPF_CORE_READ(regs, dx), ret);
		break;
	case KVM_SET_USER_MEMORY_REGION:
	case KVM_SET_USER_MEMORY_REGION2:
		if (kind == FK_VM)
			slot_bound(f, cmd, BPF_CORE_READ(regs, dx), ret);
		break;
	case KVM_RUN:
		if (kind == FK_VCPU)
			run_exit(f, ret);
		break;
	}
	return 0;
}

/* ---- fallocate, mmap, munmap ---- */

SEC("tracepoint/syscalls/sys_exit_fallocate")
int gmem_fallocate_exit_tp(struct syscall_trace_exit *ctx)
{
	struct pt_regs *regs;
	struct ps_ev_gmem *e;
	struct file *f;
	int fd, mode;

	if (!ps_want_current())
		return 0;
	regs = uregs();
	fd = BPF_CORE_READ(regs, di);
	f = fd_file(bpf_get_current_task_btf(), fd);
	if (file_kind(f) != FK_GMEM)
		return 0;
	mode = BPF_CORE_READ(regs, si);
	e = gmem_reserve(mode & FALLOC_FL_PUNCH_HOLE ? PS_GMEM_PUNCH : PS_GMEM_ALLOC, gmem_vm(f),
			 fd, ctx->ret);
	if (!e)
		return 0;
	file_id(f, &e->ino, &e->dev);
	e->flags = mode;
	e->offset = BPF_CORE_READ(regs, dx);
	e->size = BPF_CORE_READ(regs, r10);
	ps_submit(e);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_mmap")
int gmem_mmap_exit_tp(struct syscall_trace_exit *ctx)
{
	struct pt_regs *regs;
	struct ps_ev_gmem *e;
	struct file *f;
	long ret = ctx->ret;
	int fd;

	if (!ready)
		return 0;
	regs = uregs();
	fd = BPF_CORE_READ(regs, r8);
	if (fd < 0 || !ps_want_current())
		return 0;
	f = fd_file(bpf_get_current_task_btf(), fd);
	if (file_kind(f) != FK_GMEM)
		return 0;
	/* mmap returns an address or -errno (the last page of the address space). */
	if (ret < 0 && ret >= -4095)
		e = gmem_reserve(PS_GMEM_MMAP, gmem_vm(f), fd, ret);
	else
		e = gmem_reserve(PS_GMEM_MMAP, gmem_vm(f), fd, 0);
	if (!e)
		return 0;
	mark_proc();
	file_id(f, &e->ino, &e->dev);
	e->uaddr = e->err ? 0 : (__u64)ret;
	e->size = BPF_CORE_READ(regs, si);
	e->offset = BPF_CORE_READ(regs, r9);
	e->flags = BPF_CORE_READ(regs, r10);
	ps_submit(e);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_munmap")
int gmem_munmap_exit_tp(struct syscall_trace_exit *ctx)
{
	__u32 tgid = ps_tgid();
	struct pt_regs *regs;
	struct ps_ev_gmem *e;

	if (ctx->ret || !bpf_map_lookup_elem(&gmem_procs, &tgid) || !ps_want_current())
		return 0;
	regs = uregs();
	e = gmem_reserve(PS_GMEM_MUNMAP, 0, -1, 0);
	if (!e)
		return 0;
	e->uaddr = BPF_CORE_READ(regs, di);
	e->size = BPF_CORE_READ(regs, si);
	ps_submit(e);
	return 0;
}

/* ---- release ---- */

SEC("tracepoint/syscalls/sys_enter_close")
int gmem_close_tp(struct syscall_trace_enter *ctx)
{
	__u32 tgid = ps_tgid();
	struct ps_ev_gmem *e;
	struct file *f;
	int fd = ctx->args[0], kind;

	if (!bpf_map_lookup_elem(&gmem_procs, &tgid) || !ps_want_current())
		return 0;
	f = fd_file(bpf_get_current_task_btf(), fd);
	kind = file_kind(f);
	if (kind != FK_GMEM && kind != FK_VM)
		return 0;
	e = gmem_reserve(PS_GMEM_CLOSE, file_vm(f, kind), fd, 0);
	if (!e)
		return 0;
	if (kind == FK_GMEM)
		file_id(f, &e->ino, &e->dev);
	e->gflags = (file_last_ref(f) ? PS_GMEM_F_LAST : 0) | (kind == FK_VM ? PS_GMEM_F_VM : 0);
	ps_submit(e);
	return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int gmem_proc_exit_tp(void *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 tgid = ps_tgid();
	struct ps_ev_gmem *e;

	if (!ready || !bpf_map_lookup_elem(&gmem_procs, &tgid))
		return 0;
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	bpf_map_delete_elem(&gmem_procs, &tgid);
	e = gmem_reserve(PS_GMEM_EXIT, 0, -1, 0);
	if (e)
		ps_submit(e);
	return 0;
}
