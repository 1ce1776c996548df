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

const struct ps_hook ps_hooks_pins[] = {
	{
		.name = "pin.acquire",
		.concern = "pins",
		.what = "pages pinned (GUP with FOLL_PIN, long-term or short-term)",
		.impls =
			{
				{PS_TIER_FENTRY,
				 "pin_user_pages_fast,pin_user_pages_remote,pin_user_pages",
				 "pins_pin_fast_fexit pins_pin_remote_fexit pins_pin_fexit", NULL},
				{PS_TIER_KPROBE,
				 "pin_user_pages_fast,pin_user_pages_remote,pin_user_pages",
				 "pins_pin_fast_kretprobe", NULL},
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
				{PS_TIER_FENTRY,
				 "unpin_user_pages,unpin_user_page,unpin_user_pages_dirty_lock",
				 "pins_unpin_fentry", NULL},
				{PS_TIER_KPROBE, "unpin_user_pages,unpin_user_page",
				 "pins_unpin_kprobe", NULL},
				{PS_TIER_SYSCALL, URING_REG_TPS, URING_REG_PROGS, NULL},
				{PS_TIER_PROCFS, NULL, NULL, NULL},
			},
		.blind = URING_BLIND,
	},
	{
		.name = "pin.teardown",
		.concern = "pins",
		.what = "a closed or dead io_uring releases its pins (asynchronously)",
		.impls =
			{
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
