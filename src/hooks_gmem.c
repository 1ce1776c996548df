// SPDX-License-Identifier: BSD-2-Clause
/*
 * Hooks of the guest_memfd and conversion concerns. The function tier names the kvm_gmem_*
 * functions KERNELS.md found on 6.18 (no Debian kernel of the three has guest_memfd code before
 * that; the software-protected 6.12 guest kernel does); of its lifecycle programs only
 * gmem.fault (the guest's faults, which no system call shows) and gmem.invalidate are written
 * (bpf/gmem_fn.bpf.c), so where fentry works `pinscope probes` says so for the others. The
 * syscall tier is bpf/gmem_sys.bpf.c. Conversion requests on the VM have a function tier,
 * bpf/gmem_fn.bpf.c (fentry/fexit on kvm_vm_ioctl), measured in the 6.12 guest.
 */
#include "hooks.h"

#define IOCTL_EXIT  "syscalls/sys_exit_ioctl"
#define IOCTL_BOTH  "syscalls/sys_enter_ioctl,syscalls/sys_exit_ioctl"
#define PROG_EXIT   "gmem_ioctl_exit_tp"
#define PROG_BOTH   "gmem_ioctl_enter_tp gmem_ioctl_exit_tp"
#define NOT_GUEST   "guest faults on guest_memfd are not visible at the syscall tier"
#define SYSCALL_VIS "seen through the VMM's system calls only"

const struct ps_hook ps_hooks_gmem[] = {
	{
		.name = "gmem.create",
		.concern = "gmem",
		.what = "VMs and guest_memfd files created (KVM_CREATE_VM, KVM_CREATE_GUEST_MEMFD)",
		.impls =
			{
				{PS_TIER_FENTRY, "kvm_gmem_create", "gmem_create_fexit", NULL},
				{PS_TIER_SYSCALL, IOCTL_EXIT, PROG_EXIT,
				 "kvm_dev_ioctl,kvm_vm_ioctl,kvm_gmem_release"},
			},
		.blind = "guest_memfd files made inside the kernel (none today) are missed",
	},
	{
		.name = "gmem.bind",
		.concern = "gmem",
		.what = "memslots bound to guest_memfd (KVM_SET_USER_MEMORY_REGION2): gpa -> file "
			"offset",
		.impls =
			{
				{PS_TIER_FENTRY, "kvm_gmem_bind,kvm_gmem_unbind", "gmem_bind_fexit",
				 NULL},
				{PS_TIER_SYSCALL, IOCTL_EXIT, PROG_EXIT,
				 "kvm_vm_ioctl,kvm_gmem_release"},
			},
		.blind = "memslots that predate pinscope are not known (no procfs view of them)",
	},
	{
		.name = "gmem.mmap",
		.concern = "gmem",
		.what = "host mappings of guest_memfd: user address -> file offset",
		.impls =
			{
				{PS_TIER_FENTRY, "kvm_gmem_mmap", "gmem_mmap_fentry", NULL},
				{PS_TIER_SYSCALL, "syscalls/sys_exit_mmap,syscalls/sys_exit_munmap",
				 "gmem_mmap_exit_tp gmem_munmap_exit_tp", "kvm_gmem_mmap"},
			},
		.blind = "mremap() of a guest_memfd mapping is not followed",
	},
	{
		.name = "gmem.fallocate",
		.concern = "gmem",
		.what = "guest_memfd allocate and punch-hole (fallocate)",
		.impls =
			{
				{PS_TIER_FENTRY, "kvm_gmem_fallocate", "gmem_fallocate_fexit",
				 NULL},
				{PS_TIER_SYSCALL, "syscalls/sys_exit_fallocate",
				 "gmem_fallocate_exit_tp", "kvm_gmem_release"},
			},
	},
	{
		.name = "gmem.release",
		.concern = "gmem",
		.what = "guest_memfd files and VMs released (last close, process exit)",
		.impls =
			{
				{PS_TIER_FENTRY, "kvm_gmem_release", "gmem_release_fentry", NULL},
				{PS_TIER_SYSCALL,
				 "syscalls/sys_enter_close,sched/sched_process_exit",
				 "gmem_close_tp gmem_proc_exit_tp",
				 "kvm_vm_ioctl,kvm_gmem_release"},
			},
		.blind = "a file kept open by a passed fd or a mapping is released later, unseen",
	},
	{
		.name = "gmem.fault",
		.concern = "gmem",
		.what = "guest faults on private memory: KVM looking the page up in the "
			"guest_memfd (kvm_gmem_get_pfn): gpa, file offset, errno",
		.impls =
			{
				{PS_TIER_FENTRY, "kvm_gmem_get_pfn", "gmem_fault_fexit", NULL},
			},
		.blind = NOT_GUEST,
	},
	{
		.name = "gmem.invalidate",
		.concern = "gmem",
		.what = "guest mappings of a guest_memfd range invalidated (a punched hole, the "
			"file released): ranges and bytes per file",
		.impls =
			{
				{PS_TIER_FENTRY, "__kvm_gmem_invalidate_begin", "gmem_inval_fentry",
				 NULL},
				/* 6.12's name; the first three arguments are the same */
				{PS_TIER_FENTRY, "kvm_gmem_invalidate_begin",
				 "gmem_inval_old_fentry", NULL},
			},
		.blind = "only the punch-hole that causes it is seen (gmem.fallocate)",
	},
	{
		.name = "gmem.error",
		.concern = "gmem",
		.what = "memory errors (poison) on guest_memfd folios",
		.impls =
			{
				{PS_TIER_FENTRY, "kvm_gmem_error_folio", "gmem_error_fentry", NULL},
			},
	},
	{
		.name = "conv.request",
		.concern = "conv",
		.what = "conversion requests on the VM (KVM_SET_MEMORY_ATTRIBUTES): range, "
			"direction, "
			"errno, duration",
		.impls =
			{
				{PS_TIER_FENTRY, "kvm_vm_ioctl", "gmem_conv_fentry gmem_conv_fexit",
				 NULL},
				{PS_TIER_SYSCALL, IOCTL_BOTH, PROG_BOTH, "kvm_vm_ioctl"},
			},
		.blind = SYSCALL_VIS,
	},
	{
		.name = "conv.applied",
		.concern = "conv",
		.what = "conversions where KVM applies them (kvm_arch_post_set_memory_attributes): "
			"once per memslot range whose attributes changed",
		.impls =
			{
				{PS_TIER_FENTRY, "kvm_arch_post_set_memory_attributes",
				 "gmem_conv_applied_fexit", NULL},
			},
		.blind = "needs fexit and a kernel with KVM_GENERIC_MEMORY_ATTRIBUTES",
	},
	{
		.name = "conv.gmem",
		.concern = "conv",
		.what = "conversion requests on a guest_memfd (KVM_SET_MEMORY_ATTRIBUTES2, "
			"KVM_GMEM_CONVERT_*), on kernels that have them",
		.impls =
			{
				{PS_TIER_SYSCALL, IOCTL_BOTH, PROG_BOTH,
				 "kvm_gmem_ioctl,kvm_gmem_release"},
			},
		.blind = "needs a kernel with a guest_memfd ioctl (kvm_gmem_ioctl)",
	},
	{
		.name = "conv.fault_exit",
		.concern = "conv",
		.what = "memory-fault exits (KVM_EXIT_MEMORY_FAULT) that ask the VMM for a "
			"conversion",
		.impls =
			{
				{PS_TIER_SYSCALL, IOCTL_EXIT, PROG_EXIT, "kvm_vcpu_ioctl"},
			},
		.blind = SYSCALL_VIS,
	},
	{0},
};
