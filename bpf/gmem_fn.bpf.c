// SPDX-License-Identifier: GPL-2.0-only
/*
 * The function tier of the conv and gmem concerns.
 *
 * Conversions: KVM_SET_MEMORY_ATTRIBUTES seen in kvm_vm_ioctl itself
 * (fentry for the request, fexit for the result), where the syscall tier has to find KVM's
 * files by their f_op. The records are the syscall tier's (PS_EV_CONV, REQUEST then RESULT),
 * so the aggregates and reports are the same at both tiers; only the header's tier differs.
 * The set_mem_attributes helpers are static and inlined (KERNELS.md, appendix), so the ioctl
 * is the narrowest function that sees both the request and its errno.
 */
#include "gmem.bpf.h"

#define KVM_SET_MEMORY_ATTRIBUTES 0x4020aed2

struct conv_fn_call {
	__u64 ts;
	__u64 vm, start, size, attributes, flags;
	__s32 fd;
	__u8 to_private;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32); /* tid */
	__type(value, struct conv_fn_call);
} gmem_fn_inflight SEC(".maps");

static __always_inline void conv_fn_emit(const struct conv_fn_call *c, __u8 phase, long ret,
					 __u64 now)
{
	struct ps_ev_conv *e = ps_reserve(PS_EV_CONV, struct ps_ev_conv, PS_TIER_FENTRY);

	if (!e)
		return;
	e->vm = c->vm;
	e->ino = 0;
	e->dev = 0;
	e->err = ret < 0 ? -ret : 0;
	e->start = c->start;
	e->size = c->size;
	e->attributes = c->attributes;
	e->flags = c->flags;
	e->error_offset = 0;
	e->duration_ns = phase == PS_CONV_RESULT && now > c->ts ? now - c->ts : 0;
	e->fd = c->fd;
	e->phase = phase;
	e->iface = PS_CONV_VM_ATTR;
	e->to_private = c->to_private;
	e->pad0 = 0;
	ps_submit(e);
}

SEC("fentry/kvm_vm_ioctl")
int BPF_PROG(gmem_conv_fentry, struct file *filp, unsigned int ioctl, unsigned long arg)
{
	struct conv_fn_call c = {};
	struct pt_regs *regs;
	__u64 a[4];
	__u32 tid;

	if (ioctl != KVM_SET_MEMORY_ATTRIBUTES || !ps_want_current())
		return 0;
	if (bpf_probe_read_user(a, sizeof(a), (void *)arg))
		return 0;
	c.vm = (__u64)BPF_CORE_READ(filp, private_data);
	c.start = a[0];
	c.size = a[1];
	c.attributes = a[2];
	c.flags = a[3];
	c.to_private = !!(a[2] & PS_KVM_MEMORY_ATTRIBUTE_PRIVATE);
	/* The fd is the system call's first argument (ioctl(2) is the only caller). */
	regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	c.fd = BPF_CORE_READ(regs, di);
	c.ts = bpf_ktime_get_ns();
	tid = (__u32)bpf_get_current_pid_tgid();
	if (bpf_map_update_elem(&gmem_fn_inflight, &tid, &c, BPF_ANY))
		ps_drop(PS_DROP_MAP_FULL);
	conv_fn_emit(&c, PS_CONV_REQUEST, 0, c.ts);
	return 0;
}

SEC("fexit/kvm_vm_ioctl")
int BPF_PROG(gmem_conv_fexit, struct file *filp, unsigned int ioctl, unsigned long arg, long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct conv_fn_call *p, c;

	if (ioctl != KVM_SET_MEMORY_ATTRIBUTES)
		return 0;
	p = bpf_map_lookup_elem(&gmem_fn_inflight, &tid);
	if (!p)
		return 0;
	c = *p;
	bpf_map_delete_elem(&gmem_fn_inflight, &tid);
	conv_fn_emit(&c, PS_CONV_RESULT, ret, bpf_ktime_get_ns());
	return 0;
}

/*
 * Where KVM applies a conversion: kvm_arch_post_set_memory_attributes runs once per memslot
 * range of a successful KVM_SET_MEMORY_ATTRIBUTES that changed something (an unchanged range
 * returns before it), after the attributes are stored; whatever interface asked.
 */
SEC("fexit/kvm_arch_post_set_memory_attributes")
int BPF_PROG(gmem_conv_applied_fexit, struct kvm *kvm, struct kvm_gfn_range *range, bool ret)
{
	struct ps_ev_conv *e;
	__u64 start, end, attrs;

	if (!ps_want_current())
		return 0;
	start = BPF_CORE_READ(range, start);
	end = BPF_CORE_READ(range, end);
	attrs = BPF_CORE_READ(range, arg.attributes);
	e = ps_reserve(PS_EV_CONV, struct ps_ev_conv, PS_TIER_FENTRY);
	if (!e)
		return 0;
	e->vm = (__u64)kvm;
	e->ino = 0;
	e->dev = 0;
	e->err = 0;
	e->start = start << 12;
	e->size = end > start ? (end - start) << 12 : 0;
	e->attributes = attrs;
	e->flags = 0;
	e->error_offset = 0;
	e->duration_ns = 0;
	e->fd = -1;
	e->phase = PS_CONV_APPLIED;
	e->iface = PS_CONV_VM_ATTR;
	e->to_private = !!(attrs & PS_KVM_MEMORY_ATTRIBUTE_PRIVATE);
	e->pad0 = 0;
	ps_submit(e);
	return 0;
}

/*
 * Guest faults on private memory: KVM looks the page up in the guest_memfd bound to the
 * memslot (kvm_gmem_get_pfn, from the vCPU thread's fault path), which no system call shows.
 * One record per look-up, with the gpa, the file offset and the errno. The arguments are read
 * with bpf_get_func_arg: 6.12 has five (kvm, slot, gfn, pfn, max_order), 6.18 six (a page
 * pointer before max_order); the first three, used here, are the same.
 */
SEC("fexit/kvm_gmem_get_pfn")
int gmem_fault_fexit(__u64 *ctx)
{
	struct kvm_memory_slot *slot;
	struct ps_ev_gmem *e;
	struct inode *inode;
	struct file *file;
	__u64 kvm, s, gfn, ret, base, pgoff;

	if (!ps_want_current())
		return 0;
	if (bpf_get_func_arg(ctx, 0, &kvm) || bpf_get_func_arg(ctx, 1, &s) ||
	    bpf_get_func_arg(ctx, 2, &gfn) || bpf_get_func_ret(ctx, &ret))
		return 0;
	slot = (struct kvm_memory_slot *)s;
	file = BPF_CORE_READ(slot, gmem.file);
	base = BPF_CORE_READ(slot, base_gfn);
	pgoff = BPF_CORE_READ(slot, gmem.pgoff);
	inode = BPF_CORE_READ(file, f_inode);
	e = gmem_reserve_at(PS_GMEM_FAULT, kvm, -1, (int)ret, PS_TIER_FENTRY);
	if (!e)
		return 0;
	e->ino = inode ? BPF_CORE_READ(inode, i_ino) : 0;
	e->dev = inode ? BPF_CORE_READ(inode, i_sb, s_dev) : 0;
	e->gpa = gfn << 12;
	e->offset = (gfn - base + pgoff) << 12;
	e->size = 4096;
	e->flags = PS_GMEM_FAULT_GUEST;
	ps_submit(e);
	return 0;
}

/*
 * The guest_memfd inode of gmem: a kvm_gmem is linked into its inode's mapping
 * (mapping->i_private_list, kvm_gmem_create), usually alone; two steps along the list find the
 * head if another binding's entry comes first. The candidate mapping is checked against its
 * host's i_mapping.
 */
static __always_inline struct inode *gmem_inode(struct kvm_gmem *gmem)
{
	__u64 off = bpf_core_field_offset(struct address_space, i_private_list);
	struct list_head *p = BPF_CORE_READ(gmem, entry.next);

	for (int i = 0; i < 2 && p; i++) {
		struct address_space *m = (void *)p - off;
		struct inode *host = BPF_CORE_READ(m, host);

		if (host && BPF_CORE_READ(host, i_mapping) == m)
			return host;
		p = BPF_CORE_READ(p, next);
	}
	return NULL;
}

/*
 * KVM unmapping a guest_memfd range from its guests (the start of an invalidation): a punched
 * hole, or the whole file when it is released (end ~0). 6.18 calls it __kvm_gmem_invalidate_begin
 * (a fourth argument, the attribute filter), 6.12 kvm_gmem_invalidate_begin; the first three
 * are the same. The task is the one punching or closing.
 */
static __always_inline int gmem_inval(__u64 *ctx)
{
	__u64 g, start, end;
	struct kvm_gmem *gmem;
	struct ps_ev_gmem *e;
	struct inode *inode;

	if (!ps_want_current())
		return 0;
	if (bpf_get_func_arg(ctx, 0, &g) || bpf_get_func_arg(ctx, 1, &start) ||
	    bpf_get_func_arg(ctx, 2, &end))
		return 0;
	gmem = (struct kvm_gmem *)g;
	inode = gmem_inode(gmem);
	e = gmem_reserve_at(PS_GMEM_INVALIDATE, (__u64)BPF_CORE_READ(gmem, kvm), -1, 0,
			    PS_TIER_FENTRY);
	if (!e)
		return 0;
	e->ino = inode ? BPF_CORE_READ(inode, i_ino) : 0;
	e->dev = inode ? BPF_CORE_READ(inode, i_sb, s_dev) : 0;
	e->offset = start << 12;
	/* 0: to the end of the file (a release) */
	e->size = end == ~0ULL || end <= start ? 0 : (end - start) << 12;
	ps_submit(e);
	return 0;
}

SEC("fentry/__kvm_gmem_invalidate_begin")
int gmem_inval_fentry(__u64 *ctx)
{
	return gmem_inval(ctx);
}

SEC("fentry/kvm_gmem_invalidate_begin")
int gmem_inval_old_fentry(__u64 *ctx)
{
	return gmem_inval(ctx);
}
