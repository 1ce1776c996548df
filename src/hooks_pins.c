// SPDX-License-Identifier: BSD-2-Clause
/* Hooks of the pins concern. See hooks.h; KERNELS.md lists the functions per kernel. */
#include "hooks.h"

#define URING_REG_TPS                                                                              \
	"syscalls/sys_enter_io_uring_register,io_uring/io_uring_register,"                         \
	"syscalls/sys_exit_io_uring_register"
#define URING_REG_PROGS "pins_uring_reg_enter_tp pins_uring_reg_tp pins_uring_reg_exit_tp"
#define URING_BLIND                                                                                \
	"io_uring fixed buffers only: VFIO, RDMA, iommufd and vhost pins appear only as the "      \
	"difference between VmPin and what pinscope attributes"

/*
 * The function tier hooks the GUP entry points on return and the releases on entry. Acquire and
 * release share one target list, so both are chosen at the same tier: a fentry acquire with a
 * syscall-tier release (or the reverse) would count io_uring pins twice. Targets marked '?' may
 * be missing (the folio functions came with 6.11; io_uring releases with unpin_user_folio from
 * 6.12 on); the others exist on 6.1, 6.12 and 6.18 (see KERNELS.md 3.1, 3.5).
 */
#define FN_TARGETS                                                                                 \
	"pin_user_pages_fast,pin_user_pages,?pin_user_pages_unlocked,"                             \
	"?memfd_pin_folios,unpin_user_page,unpin_user_pages,unpin_user_pages_dirty_lock,"          \
	"?unpin_user_page_range_dirty_lock,?unpin_user_folio,?unpin_folio,?unpin_folios"
#define FN_SEED_PROG "pins_fn_seed_close_tp"
/*
 * The raw tracepoint has two programs: pins_uring_reg_cast reads the buffer table with
 * bpf_rdonly_cast (6.2+), pins_uring_reg_raw with probe reads. Acquire and release list them
 * alike, so both choose the same one.
 */

const struct ps_hook ps_hooks_pins[] = {
	{
		.name = "pin.acquire",
		.concern = "pins",
		.what = "pages pinned (GUP with FOLL_PIN, long-term or short-term)",
		.impls =
			{
				{PS_TIER_FENTRY, FN_TARGETS,
				 "pins_pin_fast_fexit pins_pin_fexit pins_pin_unlocked_fexit "
				 "pins_memfd_pin_fexit",
				 NULL},
				{PS_TIER_KPROBE, FN_TARGETS,
				 "pins_pin_fast_kprobe pins_pin_fast_kretprobe pins_pin_kprobe "
				 "pins_pin_kretprobe pins_pin_unlocked_kprobe "
				 "pins_pin_unlocked_kretprobe "
				 "pins_memfd_pin_kprobe pins_memfd_pin_kretprobe",
				 NULL},
				{PS_TIER_RAW_TP, "io_uring/io_uring_register",
				 "pins_uring_reg_cast", "bpf_rdonly_cast"},
				{PS_TIER_RAW_TP, "io_uring/io_uring_register", "pins_uring_reg_raw",
				 NULL},
				{PS_TIER_SYSCALL, URING_REG_TPS, URING_REG_PROGS, NULL},
				{PS_TIER_PROCFS, NULL, NULL, NULL},
			},
		.blind = URING_BLIND,
	},
	{
		.name = "pin.release",
		.concern = "pins",
		.what = "pages unpinned by their holder",
		.impls =
			{
				{PS_TIER_FENTRY, FN_TARGETS,
				 "pins_unpin_fentry pins_unpins_fentry pins_unpins_dirty_fentry "
				 "pins_unpin_range_fentry pins_unpin_folio_npages_fentry "
				 "pins_unpin_folio_fentry pins_unpin_folios_fentry " FN_SEED_PROG,
				 NULL},
				{PS_TIER_KPROBE, FN_TARGETS,
				 "pins_unpin_kprobe pins_unpins_kprobe pins_unpins_dirty_kprobe "
				 "pins_unpin_range_kprobe pins_unpin_folio_npages_kprobe "
				 "pins_unpin_folio_kprobe pins_unpin_folios_kprobe " FN_SEED_PROG,
				 NULL},
				{PS_TIER_RAW_TP, "io_uring/io_uring_register",
				 "pins_uring_reg_cast", "bpf_rdonly_cast"},
				{PS_TIER_RAW_TP, "io_uring/io_uring_register", "pins_uring_reg_raw",
				 NULL},
				{PS_TIER_SYSCALL, URING_REG_TPS, URING_REG_PROGS, NULL},
				{PS_TIER_PROCFS, NULL, NULL, NULL},
			},
		.blind = URING_BLIND,
	},
	{
		/* Its own hook: pin_user_pages_remote has 7 arguments on 6.1, one more than the
		 * trampolines of that kernel take, so it may need kprobes where the rest uses
		 * fentry. Its targets include the function tier's, so it is only chosen when the
		 * releases are seen at a function tier too. */
		.name = "pin.remote",
		.concern = "pins",
		.what = "pages pinned in another address space (VFIO type1, "
			"process_vm_readv/writev)",
		.impls =
			{
				{PS_TIER_FENTRY, "pin_user_pages_remote," FN_TARGETS,
				 "pins_pin_remote_fexit", NULL},
				{PS_TIER_KPROBE, "pin_user_pages_remote," FN_TARGETS,
				 "pins_pin_remote_kprobe pins_pin_remote_kretprobe", NULL},
			},
		.blind = "without a function tier, remote pins are not seen: VFIO type1 charges "
			 "them to VmLck, process_vm_readv holds them only during the copy",
	},
	{
		.name = "pin.teardown",
		.concern = "pins",
		.what = "a closed or dead io_uring releases its pins (asynchronously)",
		.impls =
			{
				{PS_TIER_RAW_TP,
				 "workqueue/workqueue_execute_start,workqueue/"
				 "workqueue_execute_end",
				 "pins_uring_exit_start_cast pins_uring_exit_end_raw",
				 "io_ring_exit_work,bpf_rdonly_cast"},
				{PS_TIER_RAW_TP,
				 "workqueue/workqueue_execute_start,workqueue/"
				 "workqueue_execute_end",
				 "pins_uring_exit_start_raw pins_uring_exit_end_raw",
				 "io_ring_exit_work"},
				{PS_TIER_TP,
				 "workqueue/workqueue_execute_start,workqueue/"
				 "workqueue_execute_end",
				 "pins_uring_exit_start_tp pins_uring_exit_end_tp",
				 "io_ring_exit_work"},
				{PS_TIER_PROCFS, NULL, NULL, NULL},
			},
		.blind = "procfs sees the release only as VmPin falling while the process lives",
	},
	{
		.name = "pin.holder_exit",
		.concern = "pins",
		.what = "a pin holder's process exits (its pins may outlive it)",
		.impls =
			{
				{PS_TIER_TP, "sched/sched_process_exit", "pins_proc_exit_tp", NULL},
				{PS_TIER_PROCFS, NULL, NULL, NULL},
			},
	},
	{
		.name = "pin.seed",
		.concern = "pins",
		.what = "pins that existed before pinscope started",
		.impls =
			{
				{PS_TIER_SYSCALL, "syscalls/sys_enter_close", "pins_seed_close_tp",
				 "io_uring_release"},
				{PS_TIER_PROCFS, NULL, NULL, NULL},
			},
		.blind = "procfs seeding takes buffer lengths from io_uring fdinfo: charged pages "
			 "of huge pages are not known",
	},
	{0},
};
