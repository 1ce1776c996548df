/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The event ABI between bpf/ and src/: the only place it is written down.
 *
 * Every record starts with struct ps_ev_hdr; `size` is the whole record. Records produced in
 * user space (procfs samples, seeds, the end marker) use the same layout and tier PS_TIER_PROCFS
 * or PS_TIER_USER, so the recorder and the aggregate never care where a record came from.
 * Fixed-width types, explicit padding, no pointers: kernel addresses travel as __u64 identities.
 */
#ifndef PINSCOPE_EVENTS_H
#define PINSCOPE_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define PS_ABI_VERSION 3
#define PS_COMM_LEN    16
#define PS_MAX_STACK   16
#define PS_SLOT_ALL    0xffffffffu

enum ps_ev_type {
	PS_EV_PIN = 1,	 /* pages pinned by a holder object (one buffer, one GUP call) */
	PS_EV_UNPIN,	 /* pages released: one slot, or PS_SLOT_ALL of an object */
	PS_EV_OBJ_SYNC,	 /* the object's pins are re-stated by the PS_EV_PIN records that follow */
	PS_EV_PROC_EXIT, /* a thread group ended; its pins may outlive it */
	PS_EV_OBJ_TEARDOWN, /* the kernel began releasing an object (e.g. io_uring exit work) */
	PS_EV_PROCFS,	    /* user space: per-process VmPin/VmLck sample */
	PS_EV_VMSTAT,	    /* user space: global nr_foll_pin_* sample */
	PS_EV_MARK,	    /* user space: start/end of a run, tier decisions */
	PS_EV_GMEM,	    /* guest_memfd lifecycle */
	PS_EV_CONV,	    /* shared<->private conversion request/result */
	PS_EV_VM_EXIT,	    /* KVM exit to user space (memory-fault exits ask for conversions) */
	PS_EV_TLB,	    /* TLB flush / shootdown */
	PS_EV_LOSS,	    /* user space: loss counters (BPF drops, malformed records) so far */
	PS_EV_CHURN,   /* user space: register/unregister pairs BPF counted (struct ps_churn) */
	PS_EV_PAGEREF, /* a folio refcount change on a watched pfn (page_ref tracepoints) */
	PS_EV_PINS,    /* several buffers of one object pinned by one system call */
	PS_EV_TYPE_MAX,
};

enum ps_tier {
	PS_TIER_NONE = 0,
	PS_TIER_FENTRY,
	PS_TIER_KPROBE,
	PS_TIER_RAW_TP,
	PS_TIER_TP,
	PS_TIER_SYSCALL,
	PS_TIER_PROCFS,
	PS_TIER_USER,
	PS_TIER_MAX,
};

enum ps_subsys {
	PS_SUB_UNKNOWN = 0,
	PS_SUB_IO_URING,
	PS_SUB_VFIO,
	PS_SUB_IOMMUFD,
	PS_SUB_RDMA,
	PS_SUB_KVM,
	PS_SUB_VHOST,
	PS_SUB_UDMABUF,
	PS_SUB_GUP, /* short-term or unattributed GUP (O_DIRECT, ptrace, ...) */
	PS_SUB_MAX,
};

enum ps_backing {
	PS_BACK_UNKNOWN = 0,
	PS_BACK_ANON,
	PS_BACK_FILE,
	PS_BACK_SHMEM,
	PS_BACK_GMEM,
	PS_BACK_HUGETLB,
	PS_BACK_MAX,
};

/* ps_ev_hdr.flags */
#define PS_F_SEED     0x01 /* describes state that existed before pinscope started */
#define PS_F_LONGTERM 0x02 /* FOLL_LONGTERM pin */
#define PS_F_SYNTH    0x04 /* made in user space */
#define PS_F_END      0x08 /* PS_EV_OBJ_SYNC: the re-statement is complete (nr = records sent) */
/* PS_EV_OBJ_SYNC (start): everything the object held before was released first (an unregister
 * held back for churn, reported by user space or not); the pins that follow are new. */
#define PS_F_REPLACE 0x10
/* PS_EV_PIN: the user stack is the one of the object's previous PIN record (the same system call
 * walking a table of buffers); the record ends where ustack begins (PS_EV_PIN_NOSTACK). */
#define PS_F_USTACK_PREV 0x20

enum ps_unpin_reason {
	PS_UNPIN_UNREGISTER = 1, /* the holder asked (IORING_UNREGISTER_BUFFERS, unmap ioctl) */
	PS_UNPIN_UPDATE,	 /* a slot was replaced */
	PS_UNPIN_TEARDOWN,	 /* the kernel released the object (ring exit work, fd close) */
	PS_UNPIN_FUNC,		 /* a release function (unpin_user_pages*) */
};

enum ps_drop_reason {
	PS_DROP_RINGBUF = 0, /* bpf_ringbuf_reserve failed */
	PS_DROP_MAP_FULL,    /* an in-BPF table was full */
	PS_DROP_READ,	     /* a user or kernel read failed */
	PS_DROP_TRUNC,	     /* a list was longer than the bounded loop walks */
	PS_DROP_MAX,
};

struct ps_ev_hdr {
	__u16 type;
	__u16 size;
	__u8 tier;
	__u8 flags;
	__u16 cpu;
	__u32 tgid;
	__u32 tid;
	__u64 ts_ns; /* CLOCK_MONOTONIC */
	__u64 cgroup_id;
	char comm[PS_COMM_LEN];
};

struct ps_ev_pin {
	struct ps_ev_hdr h;
	__u64 obj;	/* holder object identity (io_ring_ctx, vfio_dma, first page) */
	__u32 slot;	/* buffer index inside obj */
	__u8 subsys;	/* enum ps_subsys */
	__u8 backing;	/* enum ps_backing */
	__u8 nr_ustack; /* valid entries of ustack */
	__u8 pad0;
	__u64 uaddr;	  /* user address of the pinned range */
	__u64 len;	  /* bytes */
	__u64 pages;	  /* 4 KiB pages pinned (what nr_foll_pin_acquired counts) */
	__u64 acct_pages; /* pages charged to the mm (what VmPin counts), if the tier knows */
	__u64 ino;	  /* backing inode, 0 for anonymous memory */
	__u32 dev;	  /* backing superblock dev */
	__u32 pad1;
	__u64 ustack[PS_MAX_STACK];
	__u8 nr_kstack; /* valid entries of kstack (function tier; 0 elsewhere) */
	__u8 pad2[7];
	__u64 kstack[PS_MAX_STACK]; /* kernel return addresses, innermost first */
};

/* A PIN record without a kernel stack (nr_kstack 0) may end where kstack begins: the tiers
 * that have none send 256 bytes with the ring's header instead of 384. Readers take the
 * missing part as zeros. */
#define PS_EV_PIN_NOKSTACK offsetof(struct ps_ev_pin, kstack)
/* With PS_F_USTACK_PREV it may end where ustack begins: 112 bytes instead of 248, for the second
 * and later buffers of a registration (the pin storm's records). */
#define PS_EV_PIN_NOSTACK offsetof(struct ps_ev_pin, ustack)

/* The 4 KiB pages that [addr, addr + len) spans: a PIN record's pages, a PINS item's. */
static inline __attribute__((always_inline)) __u64 ps_span_pages(__u64 addr, __u64 len)
{
	return ((addr + len + 4095) >> 12) - (addr >> 12);
}

/* One buffer of a PS_EV_PINS record. */
struct ps_pin_item {
	__u64 uaddr;
	__u64 len;
	__u32 slot;
	__u32 acct_pages; /* saturated at 2^32 - 1 */
};

#define PS_PINS_MAX 16

/*
 * PS_EV_PINS: up to PS_PINS_MAX buffers of one object, each what a PS_EV_PIN record with
 * PS_F_USTACK_PREV would say (h.flags has it), when they share the record's backing, ino and dev
 * (buffers of one mapping); pages is the span of [uaddr, uaddr + len) in 4 KiB pages. The first
 * buffer of a registration still comes as a PS_EV_PIN with the user stack. The record ends after
 * its nr items: 72 + 24 x nr bytes, where PIN records take 120 each, so the ring holds ~4 times
 * the buffers of a pin storm. The aggregate takes it as nr PS_EV_PIN records.
 */
struct ps_ev_pins {
	struct ps_ev_hdr h;
	__u64 obj;
	__u64 ino;
	__u32 dev;
	__u8 subsys;
	__u8 backing;
	__u16 nr;
	struct ps_pin_item item[PS_PINS_MAX];
};

struct ps_ev_unpin {
	struct ps_ev_hdr h;
	__u64 obj;
	__u32 slot;
	__u8 subsys;
	__u8 reason; /* enum ps_unpin_reason */
	__u16 pad0;
	__u64 pages; /* 0 when the tier does not know: the aggregate uses what it recorded */
};

struct ps_ev_obj {
	struct ps_ev_hdr h;
	__u64 obj;
	__u32 nr; /* PS_EV_OBJ_SYNC: slots walked; with PS_F_END: PIN records sent */
	__s32 fd; /* seeding: pinscope's duplicate of the holder's fd, else -1 */
	__u8 subsys;
	__u8 pad0[3];
};

/*
 * Churn: a holder that unregisters its io_uring buffers and registers the same ones again at
 * once (a register/unregister loop) would cost a record per operation. BPF keeps one
 * struct ps_churn per ring that unregistered once instead: an unregister is held back (pending) for
 * cfg.churn_window; a registration of the same buffers (same fingerprint of addresses and
 * lengths) inside that window cancels it and is counted, not reported. Every tick user space
 * emits PS_EV_CHURN with the pairs counted so far, and the held-back unregister as a
 * PS_EV_UNPIN once it has seen it pending for more than twice the window (BPF no longer pairs
 * it then). So acquired and released pages stay exact at every tick; a ring unregistered for
 * good shows its pins until then (one or two ticks). BPF reports a ring's last counts when its
 * teardown begins and frees the slot when the teardown ends (the ring's memory is free then): a
 * ring at the same address, or hashing to the same slot, is paired from its first cycle on.
 */
#define PS_CHURN_SLOTS 1024 /* pins_churn: direct-mapped by ring address (ps_churn_slot()) */

struct ps_churn {
	__u64 ring;	  /* the io_ring_ctx owning the slot; 0: free (claimed with cmpxchg) */
	__u64 fp;	  /* fingerprint of the ring's buffers (addresses, lengths) */
	__u64 pages;	  /* their pages */
	__u64 pairs;	  /* unregister+register pairs counted (cumulative) */
	__u64 pair_pages; /* pages acquired (= released) by them (cumulative) */
	__u64 reg_t;	  /* last registration, churn clock (cfg.churn_hz) */
	__u64 unreg_t;	  /* the pending unregister, churn clock */
	__u64 cgroup_id;
	__u32 tgid;
	__u8 pending; /* an unregister held back: not reported yet */
	__u8 dead;    /* the ring's teardown began: its last counts went out with it */
	__u8 pad0[2];
	__u32 holds; /* unregisters held back so far: which one is pending */
	__u32 gen;   /* a sequence count, +2 each time BPF frees the slot: tells a new owner */
	char comm[PS_COMM_LEN]; /* of the registering thread */
};

/* The slot of a ring in pins_churn: a ring hashing to a slot another ring holds is not paired
 * (each of its operations is reported, as with --churn-window 0). */
static inline __u32 ps_churn_slot(__u64 ring)
{
	return (__u32)((ring * 0x9e3779b97f4a7c15ULL) >> 40) & (PS_CHURN_SLOTS - 1);
}

/* From user space every tick, and from BPF when the ring is torn down (before its
 * PS_EV_OBJ_TEARDOWN); the counts are the ring's totals, so the aggregate applies what is new. */
struct ps_ev_churn {
	struct ps_ev_hdr h; /* tgid, comm: the ring's holder */
	__u64 obj;
	__u64 pairs; /* register/unregister pairs counted for this ring so far */
	__u64 pages; /* acquired (and released) by them */
	__u8 subsys;
	__u8 pad0[7];
};

struct ps_ev_procfs {
	struct ps_ev_hdr h; /* tgid: the process sampled */
	__u64 vmpin_kb;
	__u64 vmlck_kb;
	__u32 alive; /* 0: /proc/PID was gone */
	__u32 pad0;
};

struct ps_ev_vmstat {
	struct ps_ev_hdr h;
	__u64 foll_pin_acquired;
	__u64 foll_pin_released;
};

enum ps_mark_kind {
	PS_MARK_START = 1,
	PS_MARK_END,
	PS_MARK_READY, /* every chosen hook attached: counting starts */
	PS_MARK_TICK,  /* end of a sampling interval: per-interval rates are taken here */
};

/* PS_MARK_READY: gmem.fault is attached (guest faults on guest_memfd are counted); a recording
 * made before this flag existed reads as not counted */
#define PS_MARK_F_GMEM_FAULTS 1
/* PS_MARK_READY: gmem.invalidate is attached (invalidated ranges are counted) */
#define PS_MARK_F_GMEM_INVAL 2

struct ps_ev_mark {
	struct ps_ev_hdr h;
	__u32 kind;
	__u32 flags;   /* PS_MARK_READY: PS_MARK_F_*; 0 otherwise */
	__u64 wall_ns; /* CLOCK_REALTIME at the same instant as h.ts_ns */
};

struct ps_ev_loss {
	struct ps_ev_hdr h;
	__u64 drops[PS_DROP_MAX]; /* BPF side, summed over CPUs */
	__u64 malformed;	  /* records the decoder refused */
};

/* guest_memfd lifecycle (PS_EV_GMEM). Identities: vm is the kernel's struct kvm, a file is
 * (dev, ino) of its inode. Sizes and offsets in bytes. */
enum ps_gmem_kind {
	PS_GMEM_VM_CREATE = 1, /* KVM_CREATE_VM: vm, fd */
	PS_GMEM_CREATE,	       /* KVM_CREATE_GUEST_MEMFD: vm, fd, file, size, flags */
	PS_GMEM_BIND,	/* KVM_SET_USER_MEMORY_REGION(2): slot, gpa, size, uaddr, file, offset */
	PS_GMEM_MMAP,	/* mmap of a guest_memfd: uaddr, size, offset */
	PS_GMEM_MUNMAP, /* munmap by a process that maps guest_memfd: uaddr, size */
	PS_GMEM_ALLOC,	/* fallocate allocate: offset, size, flags = mode */
	PS_GMEM_PUNCH,	/* fallocate PUNCH_HOLE: offset, size, flags = mode */
	PS_GMEM_CLOSE,	/* close() of a guest_memfd or VM fd; PS_GMEM_F_LAST: released */
	PS_GMEM_EXIT,	/* a process that used KVM exited: its VMs and files are released */
	PS_GMEM_FAULT,	/* function tier: a guest fault on private memory (kvm_gmem_get_pfn): gpa,
			 * offset, size (a page), err; flags = PS_GMEM_FAULT_GUEST */
	PS_GMEM_INVALIDATE, /* function tier: guest mappings of a range invalidated */
	PS_GMEM_ERROR,	    /* function tier: memory error (poison) on a guest_memfd folio */
	PS_GMEM_KIND_MAX,
};

#define PS_GMEM_F_LAST 0x01 /* PS_GMEM_CLOSE: the last reference: the file is released */
#define PS_GMEM_F_VM   0x02 /* PS_GMEM_CLOSE: the fd was a VM, not a guest_memfd */

#define PS_GMEM_FAULT_GUEST 1 /* PS_GMEM_FAULT: KVM looked up a private page for the guest */

struct ps_ev_gmem {
	struct ps_ev_hdr h;
	__u64 vm;    /* struct kvm identity, 0 if unknown */
	__u64 ino;   /* guest_memfd inode, 0 if none */
	__u32 dev;   /* its superblock dev (kernel encoding) */
	__s32 fd;    /* the fd used, -1 if none */
	__u8 kind;   /* enum ps_gmem_kind */
	__u8 gflags; /* PS_GMEM_F_* */
	__u16 pad0;
	__s32 err;    /* 0 or the positive errno of the call */
	__u64 gpa;    /* BIND: guest physical base */
	__u64 uaddr;  /* BIND: userspace_addr; MMAP, MUNMAP: address */
	__u64 offset; /* in the guest_memfd */
	__u64 size;
	__u64 flags; /* CREATE: guest_memfd flags; BIND: memslot flags; ALLOC, PUNCH: mode */
	__u32 slot;  /* BIND: as_id << 16 | slot id */
	__u32 pad1;
};

/* Conversion requests (PS_EV_CONV): one REQUEST when the call starts, one RESULT when it ends. */
enum ps_conv_phase {
	PS_CONV_REQUEST = 1,
	PS_CONV_RESULT,
	PS_CONV_APPLIED, /* function tier: KVM applied new attributes to a memslot's range
			  * (kvm_arch_post_set_memory_attributes); start, size, to_private */
};

enum ps_conv_iface {
	PS_CONV_VM_ATTR = 1,  /* KVM_SET_MEMORY_ATTRIBUTES on the VM fd: start is a gpa */
	PS_CONV_VM_ATTR2,     /* KVM_SET_MEMORY_ATTRIBUTES2 on the VM fd: gpa */
	PS_CONV_GMEM_ATTR2,   /* KVM_SET_MEMORY_ATTRIBUTES2 on a guest_memfd: file offset */
	PS_CONV_GMEM_CONVERT, /* KVM_GMEM_CONVERT_SHARED/PRIVATE (RFC series): file offset */
	PS_CONV_IFACE_MAX,
};

struct ps_ev_conv {
	struct ps_ev_hdr h;
	__u64 vm;
	__u64 ino; /* guest_memfd interfaces: the file; 0 for the VM interfaces */
	__u32 dev;
	__s32 err; /* RESULT: 0 or the positive errno */
	__u64 start;
	__u64 size;
	__u64 attributes;   /* requested attributes (KVM_MEMORY_ATTRIBUTE_PRIVATE = 8) */
	__u64 flags;	    /* the request's flags */
	__u64 error_offset; /* RESULT: where a guest_memfd conversion stopped, if it says */
	__u64 duration_ns;  /* RESULT: since the REQUEST */
	__s32 fd;
	__u8 phase;	 /* enum ps_conv_phase */
	__u8 iface;	 /* enum ps_conv_iface */
	__u8 to_private; /* 1: shared -> private, 0: private -> shared */
	__u8 pad0;
};

/* A vCPU's KVM_RUN returned to user space with an exit worth a record (PS_EV_VM_EXIT). */
struct ps_ev_vm_exit {
	struct ps_ev_hdr h;
	__u64 vm;
	__u32 vcpu_id;
	__u32 reason; /* KVM_EXIT_*: KVM_EXIT_MEMORY_FAULT = 39 */
	__s32 err;    /* KVM_RUN's errno (EFAULT, EHWPOISON) */
	__u32 pad0;
	__u64 gpa; /* memory fault: the range and flags (KVM_MEMORY_EXIT_FLAG_PRIVATE = 8) */
	__u64 size;
	__u64 flags;
};

#define PS_KVM_EXIT_MEMORY_FAULT	39
#define PS_KVM_MEMORY_EXIT_FLAG_PRIVATE (1ULL << 3)
#define PS_KVM_MEMORY_ATTRIBUTE_PRIVATE (1ULL << 3)

/* Configuration set in .rodata before load. */
struct ps_cfg {
	__u32 self_tgid;   /* pinscope itself */
	__u32 filter_tgid; /* 0: all */
	__u64 filter_cgroup;
	__u64 io_ring_exit_work; /* kallsyms address of io_ring_exit_work, 0 if unknown */
	__u64 io_uring_release;	 /* kallsyms: io_uring_release, names an io_uring file */
	__u64 kvm_gmem_mmap;	 /* kallsyms: kvm_gmem_mmap, names a guest_memfd file */
	__u64 shmem_mmap;	 /* kallsyms: shmem_mmap, names shmem/memfd */
	__u64 hugetlbfs_mmap;	 /* kallsyms: hugetlbfs_file_mmap */
	__u32 max_bufs;		 /* bound on buffers walked per io_uring call */
	__u32 pad0;
	/* gup_flags bit of FOLL_LONGTERM on this kernel (0x10000 on 6.1, 0x100 on 6.12), read
	 * from vmlinux BTF: the FOLL_ enums are anonymous, which CO-RE cannot relocate. */
	__u32 foll_longterm;
	__u32 pad1;
	/* TLB concern (kallsyms text addresses, 0 if unknown) */
	__u64 flush_tlb_func;	     /* the x86 shootdown handler run through csd */
	__u64 do_flush_tlb_all;	     /* kernel-wide flush handler */
	__u64 do_kernel_range_flush; /* kernel range (vmalloc) flush handler */
	__u64 kvm_ack_kick;	     /* KVM's kick of vCPUs for requests (remote TLB flush) */
	__u64 kvm_vm_ioctl;	     /* unlocked_ioctl of a KVM VM fd */
	__u64 kvm_vcpu_ioctl;	     /* unlocked_ioctl of a KVM vCPU fd (names a vCPU fd) */
	__u64 kvm_dev_ioctl;	     /* kallsyms: kvm_dev_ioctl, names /dev/kvm */
	__u64 kvm_gmem_release;	     /* kallsyms: names a guest_memfd, mmap-able or not (6.8+) */
	__u32 no_cgroup;	     /* kernel without CONFIG_CGROUPS: no cgroup-id helper */
	/* The churn clock (struct ps_churn): jiffies at this HZ, or with 0 bpf_ktime_get_ns(),
	 * which costs ~25 ns a call in a VM (kvm-clock/TSC) where jiffies is a load. */
	__u32 churn_hz;
	__u64 churn_window; /* in churn clock units (ceil); 0: report every operation */
	/* TLB latency: a shootdown is timed when its hashed flush generation has no bit of this
	 * mask set (0: every one; 7: 1 in 8) */
	__u32 tlb_sample_mask;
	/* tlb_flush is not attached (the default where csd tracepoints exist: it would run on
	 * every task switch): csd_queue_cpu starts a send, csd_function_exit ends a handler. */
	__u32 tlb_by_csd;
	__u32 pad2;
	/* This CPU's flush_tlb_info less its runqueue (their offsets in .data..percpu, vmlinux
	 * BTF): a CPU's flush_tlb_info is known before it queues a shootdown. 0: not known. */
	__s64 fti_from_rq;
};

/*
 * TLB flushes. BPF aggregates per (tgid, cause) in maps; user space reads them every tick and
 * emits PS_EV_TLB summaries with the deltas since the previous one, so a recording holds the
 * same numbers the live view saw. tgid is the process whose mm was flushed (the initiator's
 * when the mm is not known); cause is what the initiating CPU was doing.
 */
enum ps_tlb_cause {
	PS_TLB_C_UNKNOWN = 0, /* receiver side without a matching sender record */
	PS_TLB_C_MUNMAP,
	PS_TLB_C_MPROTECT, /* mprotect, pkey_mprotect */
	PS_TLB_C_MADVISE,  /* madvise, process_madvise */
	PS_TLB_C_MREMAP,
	PS_TLB_C_MMAP, /* mmap over an existing mapping */
	PS_TLB_C_BRK,
	PS_TLB_C_MIGRATION, /* move_pages, migrate_pages, mbind */
	PS_TLB_C_KHUGEPAGED,
	PS_TLB_C_KSM,
	PS_TLB_C_KVM,	     /* ioctl on a KVM fd, or KVM kicking vCPUs */
	PS_TLB_C_COMPACTION, /* kcompactd */
	PS_TLB_C_RECLAIM,    /* kswapd */
	PS_TLB_C_FAULT,	     /* page fault (CoW, NUMA hinting) or return-to-user work */
	PS_TLB_C_FORK,
	PS_TLB_C_EXEC,
	PS_TLB_C_EXIT,
	PS_TLB_C_FALLOCATE, /* hole punch on shmem or guest_memfd */
	PS_TLB_C_IO_URING,
	PS_TLB_C_IOCTL,	  /* ioctl on a non-KVM fd */
	PS_TLB_C_KTHREAD, /* another kernel thread */
	PS_TLB_C_KERNEL,  /* kernel address range or whole-TLB flush (vmalloc, text poke) */
	PS_TLB_C_MAX,
	PS_TLB_C_SYSCALL = 0x8000, /* | syscall number: another syscall */
};

/* tlb_flush reasons (enum tlb_flush_reason; 5 exists from 6.18 on) */
#define PS_TLB_REASONS 8

/* --tlb-sample's default: 1 shootdown in 8 is timed (cfg.tlb_sample_mask) */
#define PS_TLB_SAMPLE_DEFAULT 8
#define PS_TLB_HIST_SLOTS     32 /* log2 buckets of nanoseconds: slot i holds [2^i, 2^(i+1)) */

enum ps_tlb_kind {
	PS_TLB_COUNTS = 1, /* counters of one (tgid, cause) */
	PS_TLB_HIST,	   /* one latency histogram of one (tgid, cause) */
	PS_TLB_GLOBAL,	   /* system-wide counters and /proc/interrupts over the same interval */
};

enum ps_tlb_hist {
	PS_TLB_H_DELIVERY = 0, /* flush asked for on the sender -> handler entered on the target */
	PS_TLB_H_HANDLING,     /* handler entered -> flushed (its tlb_flush event), on the target */
	PS_TLB_H_MAX,
};

struct ps_tlb_counts {
	__u64 reason[PS_TLB_REASONS]; /* tlb_flush events by reason */
	__u64 pages;	       /* pages named by flush requests (reason 4), full flushes excluded */
	__u64 full;	       /* flush requests of a whole mm */
	__u64 local_pages;     /* pages flushed locally (reasons 2, 3) */
	__u64 ipis;	       /* PS_TLB_GLOBAL: CPUs a shootdown was queued to (csd_queue_cpu) */
	__u64 hw_ipis;	       /* PS_TLB_GLOBAL: IPIs actually sent for them (ipi_send_cpu*) */
	__u64 shootdowns;      /* remote handler runs: what /proc/interrupts TLB counts (per key:
				* queued by the sender, one handler run each) */
	__u64 on_pinned;       /* flushes (local or sent) over a range it has pinned */
	__u64 on_pinned_pages; /* pages of those overlaps */
	__u64 irq_tlb;	       /* PS_TLB_GLOBAL: TLB row of /proc/interrupts, summed over CPUs */
	__u64 kernel_flushes;  /* PS_TLB_GLOBAL: remote kernel-range/whole-TLB handler runs */
	__u64 kvm_kicks;       /* CPUs KVM kicked (ack_kick csd), its remote TLB flush path */
	__u64 no_ipi;	       /* requests (reason 4) that queued no shootdown: every other CPU
				* lazy, or flushed by the hypervisor (a paravirtual remote flush);
				* seen at the sender's own part of the flush (csd tracepoints) */
};

/* tlb_flush was not attached (no --tlb-local): local flushes, task switches and the tlb_flush
 * reasons are not counted, only what the csd tracepoints see */
#define PS_TLB_F_NO_LOCAL 1
/* shootdowns are counted on the csd tracepoints (csd_function_entry); PS_TLB_F_NO_CSD: on
 * tlb_flush reasons 1 and 5 (a kernel without them). A file from before has neither. */
#define PS_TLB_F_CSD	2
#define PS_TLB_F_NO_CSD 4

struct ps_ev_tlb {
	struct ps_ev_hdr h; /* tgid, comm: the process (0 for PS_TLB_GLOBAL) */
	__u8 kind;	    /* enum ps_tlb_kind */
	__u8 hist;	   /* PS_TLB_HIST: enum ps_tlb_hist; PS_TLB_GLOBAL: 1 if irq_tlb was read */
	__u16 cause;	   /* enum ps_tlb_cause */
	__u32 flags;	   /* PS_TLB_GLOBAL: PS_TLB_F_* */
	__u64 interval_ns; /* what the deltas cover */
	union {
		struct ps_tlb_counts c;		/* COUNTS, GLOBAL: deltas */
		__u64 slots[PS_TLB_HIST_SLOTS]; /* HIST: deltas per bucket */
	};
};

/*
 * Folio refcount changes (PS_EV_PAGEREF), from the page_ref tracepoints (CONFIG_DEBUG_PAGE_REF),
 * for the pfns user space put in the BPF filter (the shared side of guest_memfd memslots). The
 * header's task is the one that changed the count; an increment carries its kernel stack.
 */
enum ps_pageref_op {
	PS_PR_SET = 1,	      /* page_ref_set: count = val (a page allocated) */
	PS_PR_MOD,	      /* page_ref_mod: count += val */
	PS_PR_MOD_AND_TEST,   /* page_ref_mod_and_test: count += val, ret = (count == 0) */
	PS_PR_MOD_AND_RETURN, /* page_ref_mod_and_return: count += val, ret = the new count */
	PS_PR_MOD_UNLESS,     /* page_ref_mod_unless: count += val unless it was 0; ret: done */
	PS_PR_FREEZE,	      /* page_ref_freeze: count 0 if it was val; ret: done */
	PS_PR_UNFREEZE,	      /* page_ref_unfreeze: count = val */
	PS_PR_OP_MAX,
};

/* GUP_PIN_COUNTING_BIAS: a FOLL_PIN of a small folio adds this to the refcount */
#define PS_PR_PIN_BIAS 1024

struct ps_ev_pageref {
	struct ps_ev_hdr h;
	__u64 pfn;
	__s32 delta; /* references added (> 0) or dropped (< 0); 0 for set, freeze, unfreeze */
	__s32 count; /* the refcount after the change */
	__s32 val;   /* the tracepoint's val and ret */
	__s32 ret;
	__s32 sysnr; /* the task's system call (orig_ax), -1 outside one */
	__u8 op;     /* enum ps_pageref_op */
	__u8 nr_kstack;
	__u16 pad0;
	__u64 kstack[PS_MAX_STACK]; /* increments: kernel return addresses, innermost first */
};

#endif /* PINSCOPE_EVENTS_H */
