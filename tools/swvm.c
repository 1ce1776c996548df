// SPDX-License-Identifier: BSD-2-Clause
/*
 * swvm: a tiny VMM for a KVM software-protected VM (KVM_X86_SW_PROTECTED_VM, type 1) whose
 * guest memory really moves between shared and private, driven line by line on stdin.
 *
 * Guest physical memory:
 *   slot 0  gpa 0 .. pages*4K   private side: a guest_memfd; shared side: an anonymous
 *                               mapping (the "shared mapping"; OFF in commands = gpa here)
 *   slot 1  plain window        anonymous memory only, no guest_memfd: a gpa here marked
 *                               private cannot be backed, so a guest access to it ends in
 *                               KVM_EXIT_MEMORY_FAULT until the VMM converts it back
 * The guest runs a few instructions of 32-bit flat protected-mode code at CODE_GPA: it
 * halts, then performs the operation the VMM put in its registers (write or read the first
 * dword of N pages, or ask for a conversion with the KVM_HC_MAP_GPA_RANGE hypercall), and
 * halts again. For a software-protected VM the memory attributes decide whether an access
 * is private, so a write to a private page lands in the guest_memfd, not in the shared
 * mapping, and a conversion is visible to the guest.
 *
 * Output follows the common protocol of the workload tools (tools/README.md): lines
 * `word key=value ...`, flushed at once; `ready ...` after setup; every command answered
 * with exactly one line, except `go`, which prints one `exit ...` line per vCPU exit and
 * then its own `go ...` line; a failed command answers `<cmd> error errno=N msg=NAME`;
 * state lines end with VmPin/VmLck and nr_foll_pin_*; `done ...` with every count at the
 * end (tests compare pinscope's numbers with them). Setup errors: one line on stderr,
 * status 1; usage errors status 2.
 *
 * Commands (numbers in decimal or 0x hex; GPA and OFF are byte addresses, page aligned):
 *   write GPA PAGES VALUE      queue: the guest stores VALUE in the first dword of each page
 *   read GPA PAGES VALUE       queue: the guest reads them; hlt reports value= and match=
 *   map private|shared GPA PAGES  queue: the guest asks for a conversion by hypercall
 *   run                        enter the vCPU until its next exit and print that exit
 *                              (reason=stuck if KVM_RUN has not returned after 10 s)
 *   go [MAX]                   run until the guest halts (at most MAX exits, default 64)
 *   convert private|shared GPA PAGES   KVM_SET_MEMORY_ATTRIBUTES
 *   answer on|off              answer memory-fault exits by converting (default on); the
 *                              answer is reported in the exit line (answer=, wait_ns=)
 *   delay-convert MS           answer memory-fault and hypercall exits MS ms late
 *   punch OFF PAGES            fallocate(PUNCH_HOLE) on the guest_memfd
 *   pin OFF PAGES              io_uring fixed buffer on the shared mapping (a FOLL_LONGTERM pin)
 *   gup-pin OFF PAGES          the same pages pinned through the kernel's gup_test
 *                              (/sys/kernel/debug/gup_test, CONFIG_GUP_TEST): a FOLL_LONGTERM
 *                              pin_user_pages() from an ioctl, no io_uring involved
 *   unpin                      unregister every pinned buffer and end every gup_test pin
 *   discard OFF PAGES          madvise(MADV_DONTNEED) on the shared mapping
 *   hold OFF PAGES             vmsplice the pages into a new pipe that nobody reads: the pipe
 *                              holds a reference on each page (not a pin) until `release`
 *   release                    close those pipes, dropping their references
 *   gup-get OFF PAGES          gup_test's GUP_BASIC_TEST: get_user_pages() then put_page() on
 *                              each page in one ioctl (references taken and dropped at once)
 *   resident                   pages of the shared mapping present now (from pagemap)
 *   poke OFF PAGES VALUE       the VMM stores VALUE in the shared mapping; peek OFF reads it
 *   status                     counts and current state
 *   exit                       (or end of input) unpin what is pinned (an `unpin` line),
 *                              print `done ...` and end with status 0
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/io_uring.h>
#include <linux/kvm.h>
#include <linux/kvm_para.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include("uapi_compat.h")
#include "uapi_compat.h"
#endif
#endif

/* 6.12 uapi the installed 6.1 headers lack (values: KERNELS.md section 6, 6.12 uapi). */
#ifndef KVM_CREATE_GUEST_MEMFD
struct kvm_create_guest_memfd {
	__u64 size;
	__u64 flags;
	__u64 reserved[6];
};
#define KVM_CREATE_GUEST_MEMFD _IOWR(KVMIO, 0xd4, struct kvm_create_guest_memfd)
#endif
#ifndef KVM_SET_USER_MEMORY_REGION2
struct kvm_userspace_memory_region2 {
	__u32 slot;
	__u32 flags;
	__u64 guest_phys_addr;
	__u64 memory_size;
	__u64 userspace_addr;
	__u64 guest_memfd_offset;
	__u32 guest_memfd;
	__u32 pad1;
	__u64 pad2[14];
};
#define KVM_SET_USER_MEMORY_REGION2 _IOW(KVMIO, 0x49, struct kvm_userspace_memory_region2)
#endif
#ifndef KVM_MEM_GUEST_MEMFD
#define KVM_MEM_GUEST_MEMFD (1UL << 2)
#endif
#ifndef KVM_SET_MEMORY_ATTRIBUTES
struct kvm_memory_attributes {
	__u64 address;
	__u64 size;
	__u64 attributes;
	__u64 flags;
};
#define KVM_SET_MEMORY_ATTRIBUTES _IOW(KVMIO, 0xd2, struct kvm_memory_attributes)
#endif
#ifndef KVM_MEMORY_ATTRIBUTE_PRIVATE
#define KVM_MEMORY_ATTRIBUTE_PRIVATE (1ULL << 3)
#endif
#ifndef KVM_EXIT_MEMORY_FAULT
#define KVM_EXIT_MEMORY_FAULT 39
#endif
#ifndef KVM_MEMORY_EXIT_FLAG_PRIVATE
#define KVM_MEMORY_EXIT_FLAG_PRIVATE (1ULL << 3)
#endif
#ifndef KVM_CAP_MEMORY_ATTRIBUTES
#define KVM_CAP_MEMORY_ATTRIBUTES 233
#endif
#ifndef KVM_CAP_GUEST_MEMFD
#define KVM_CAP_GUEST_MEMFD 234
#endif
#ifndef KVM_CAP_VM_TYPES
#define KVM_CAP_VM_TYPES 235
#endif
#ifndef KVM_X86_SW_PROTECTED_VM
#define KVM_X86_SW_PROTECTED_VM 1
#endif
#ifndef KVM_CAP_EXIT_HYPERCALL
#define KVM_CAP_EXIT_HYPERCALL 201
#endif
#ifndef KVM_HC_MAP_GPA_RANGE
#define KVM_HC_MAP_GPA_RANGE 12
#endif
#ifndef KVM_MAP_GPA_RANGE_ENCRYPTED
#define KVM_MAP_GPA_RANGE_ENCRYPTED (1 << 4)
#endif
#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#endif
#ifndef __NR_io_uring_register
#define __NR_io_uring_register 427
#endif

/* The memory-fault member of the kvm_run exit union (6.12 uapi; absent from 6.1 headers). */
struct swvm_memory_fault {
	__u64 flags;
	__u64 gpa;
	__u64 size;
};

#define PAGE	       4096ULL
#define CODE_GPA       0x1000ULL
#define DATA_GPA       0x10000ULL
#define DEFAULT_PAGES  512
#define PLAIN_PAGES    16
#define MAX_PINS       64
#define GO_DEFAULT     64
#define KVM_EINVAL_RET 22
#define RUN_TIMEOUT_S  10
#define MAX_HOLDS      16

enum guest_op { OP_NONE, OP_WRITE, OP_READ, OP_MAP };
static const char *const op_names[] = {"none", "write", "read", "map"};

/*
 * Guest code, 32-bit flat protected mode without paging. The VMM sets edi = operation,
 * ebx = gpa, ecx = pages, edx = value (or map attributes) while the guest is halted.
 * read returns the first page's dword in eax and the number of pages whose first dword
 * equals edx in esi; map returns the hypercall's result in esi.
 */
extern const unsigned char swvm_guest_start[], swvm_guest_end[];
__asm__(".pushsection .rodata\n"
	".globl swvm_guest_start\n"
	".globl swvm_guest_end\n"
	".code32\n"
	"swvm_guest_start:\n"
	"10:	hlt\n"
	"	cmp $1, %edi\n"
	"	je 20f\n"
	"	cmp $2, %edi\n"
	"	je 30f\n"
	"	cmp $3, %edi\n"
	"	je 40f\n"
	"	jmp 10b\n"
	"20:	movl %edx, (%ebx)\n" /* write */
	"	add $4096, %ebx\n"
	"	loop 20b\n"
	"	jmp 10b\n"
	"30:	xor %esi, %esi\n" /* read */
	"	movl (%ebx), %eax\n"
	"31:	cmpl %edx, (%ebx)\n"
	"	jne 32f\n"
	"	inc %esi\n"
	"32:	add $4096, %ebx\n"
	"	loop 31b\n"
	"	jmp 10b\n"
	"40:	mov $12, %eax\n" /* map: KVM_HC_MAP_GPA_RANGE(ebx, ecx, edx) */
	"	vmmcall\n"
	"	mov %eax, %esi\n"
	"	jmp 10b\n"
	"swvm_guest_end:\n"
	".code64\n"
	".popsection\n");

struct pin {
	int ring; /* io_uring, or the gup_test file (gup) */
	bool gup;
	uint64_t off, pages;
};

struct counts {
	uint64_t exits, exit_hlt, exit_memory_fault, exit_hypercall, exit_mmio, exit_io;
	uint64_t exit_other, exit_stuck;
	uint64_t conv_to_private, conv_to_shared, pages_to_private, pages_to_shared;
	uint64_t conv_failed, answers, answers_late;
	uint64_t punches, pages_punched, pins, pages_pinned, discards, pages_discarded;
	uint64_t ops, errors;
	uint64_t holds, pages_held, gup_gets, pages_got;
};

struct swvm {
	int kvm, vm, vcpu, gmem;
	struct kvm_run *run;
	size_t run_size;
	unsigned char *shared, *plain;
	uint64_t pages, plain_gpa;
	unsigned char *private_map; /* one byte per gfn below plain_gpa + PLAIN_PAGES pages */
	bool hypercall_exit, thp_off, idle, dead, answer;
	unsigned int delay_ms;
	enum guest_op op;
	uint64_t op_gpa, op_pages;
	struct pin pins[MAX_PINS];
	int npins;
	int hold_fds[MAX_HOLDS][2]; /* pipes holding vmspliced pages */
	uint64_t hold_pages[MAX_HOLDS];
	int nholds;
	struct counts n;
};

static void emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void emit(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static int fail(const char *what)
{
	fprintf(stderr, "swvm: %s: %s\n", what, strerror(errno));
	return -1;
}

/* `<cmd> error errno=N msg=NAME [why=...]`: the answer to a command that failed. */
static void cmd_error(struct swvm *vm, const char *cmd, int err, const char *why)
{
	vm->n.errors++;
	emit("%s error errno=%d msg=%s%s%s", cmd, err, strerrorname_np(err), why ? " why=" : "",
	     why ? why : "");
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The number after `key` at the start of a line of FILE, or -1. */
static long long proc_number(const char *file, const char *key)
{
	char line[256];
	long long v = -1;
	size_t len = strlen(key);
	FILE *f = fopen(file, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, len) && sscanf(line + len, "%lld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/*
 * The kernel's own numbers, appended to every state line: VmPin and VmLck of this process,
 * system-wide nr_foll_pin_*. stat_refresh (root only) folds the per-cpu deltas in first.
 */
static const char *truth(void)
{
	static char buf[160];
	FILE *f = fopen("/proc/sys/vm/stat_refresh", "w");

	if (f) {
		fputs("1", f);
		fclose(f);
	}
	snprintf(buf, sizeof(buf),
		 "vmpin_kb=%lld vmlck_kb=%lld foll_pin_acquired=%lld foll_pin_released=%lld",
		 proc_number("/proc/self/status", "VmPin:"),
		 proc_number("/proc/self/status", "VmLck:"),
		 proc_number("/proc/vmstat", "nr_foll_pin_acquired "),
		 proc_number("/proc/vmstat", "nr_foll_pin_released "));
	return buf;
}

/* ---- setup ---------------------------------------------------------------------------- */

static int set_region(struct swvm *vm, uint32_t slot, uint64_t gpa, uint64_t pages, void *hva,
		      int gmem)
{
	struct kvm_userspace_memory_region2 r = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = pages * PAGE,
		.userspace_addr = (uintptr_t)hva,
	};

	if (gmem >= 0) {
		r.flags = KVM_MEM_GUEST_MEMFD;
		r.guest_memfd = (uint32_t)gmem;
	}
	return ioctl(vm->vm, KVM_SET_USER_MEMORY_REGION2, &r);
}

static int setup_memory(struct swvm *vm)
{
	struct kvm_create_guest_memfd g = {.size = vm->pages * PAGE};
	size_t code_len = (size_t)(swvm_guest_end - swvm_guest_start);

	vm->gmem = ioctl(vm->vm, KVM_CREATE_GUEST_MEMFD, &g);
	if (vm->gmem < 0)
		return fail("KVM_CREATE_GUEST_MEMFD");
	vm->shared = mmap(NULL, vm->pages * PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	vm->plain = mmap(NULL, PLAIN_PAGES * PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->shared == MAP_FAILED || vm->plain == MAP_FAILED)
		return fail("mmap guest memory");
	/* Base pages only, so that pins and VmPin count exactly the pages asked for. */
	vm->thp_off = madvise(vm->shared, vm->pages * PAGE, MADV_NOHUGEPAGE) == 0;
	memcpy(vm->shared + CODE_GPA, swvm_guest_start, code_len);
	if (set_region(vm, 0, 0, vm->pages, vm->shared, vm->gmem) < 0)
		return fail("KVM_SET_USER_MEMORY_REGION2 slot 0 (guest_memfd)");
	vm->plain_gpa = vm->pages * PAGE;
	if (set_region(vm, 1, vm->plain_gpa, PLAIN_PAGES, vm->plain, -1) < 0)
		return fail("KVM_SET_USER_MEMORY_REGION2 slot 1");
	vm->private_map = calloc(vm->pages + PLAIN_PAGES, 1);
	if (!vm->private_map)
		return fail("calloc");
	return 0;
}

static int setup_vcpu(struct swvm *vm)
{
	struct kvm_segment code = {
		.limit = 0xffffffff,
		.selector = 0x8,
		.type = 0xb,
		.present = 1,
		.db = 1,
		.s = 1,
		.g = 1,
	};
	struct kvm_segment data = code;
	struct kvm_sregs sregs;
	struct kvm_regs regs = {.rflags = 0x2, .rip = CODE_GPA + 1};
	int size;

	vm->vcpu = ioctl(vm->vm, KVM_CREATE_VCPU, 0);
	if (vm->vcpu < 0)
		return fail("KVM_CREATE_VCPU");
	size = ioctl(vm->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size < 0)
		return fail("KVM_GET_VCPU_MMAP_SIZE");
	vm->run_size = (size_t)size;
	vm->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vm->vcpu, 0);
	if (vm->run == MAP_FAILED)
		return fail("mmap kvm_run");
	if (ioctl(vm->vcpu, KVM_GET_SREGS, &sregs) < 0)
		return fail("KVM_GET_SREGS");
	data.selector = 0x10;
	data.type = 0x3;
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.cr0 |= 1; /* protected mode, no paging: gpa == linear address */
	if (ioctl(vm->vcpu, KVM_SET_SREGS, &sregs) < 0)
		return fail("KVM_SET_SREGS");
	/* Start just after the first hlt, so the first queued operation runs at once. */
	if (ioctl(vm->vcpu, KVM_SET_REGS, &regs) < 0)
		return fail("KVM_SET_REGS");
	vm->idle = true;
	return 0;
}

static int setup(struct swvm *vm)
{
	struct kvm_enable_cap cap = {.cap = KVM_CAP_EXIT_HYPERCALL,
				     .args[0] = 1ULL << KVM_HC_MAP_GPA_RANGE};
	int types, attrs;

	vm->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm < 0)
		return fail("open /dev/kvm");
	types = ioctl(vm->kvm, KVM_CHECK_EXTENSION, KVM_CAP_VM_TYPES);
	if (types <= 0 || !(types & (1 << KVM_X86_SW_PROTECTED_VM))) {
		fprintf(stderr,
			"swvm: KVM_X86_SW_PROTECTED_VM: not supported by this kernel "
			"(KVM_CAP_VM_TYPES=%d; needs CONFIG_KVM_SW_PROTECTED_VM)\n",
			types);
		return -1;
	}
	attrs = ioctl(vm->kvm, KVM_CHECK_EXTENSION, KVM_CAP_MEMORY_ATTRIBUTES);
	if (attrs <= 0 || !(attrs & KVM_MEMORY_ATTRIBUTE_PRIVATE)) {
		fprintf(stderr, "swvm: KVM_CAP_MEMORY_ATTRIBUTES: private not supported (%d)\n",
			attrs);
		return -1;
	}
	vm->vm = ioctl(vm->kvm, KVM_CREATE_VM, KVM_X86_SW_PROTECTED_VM);
	if (vm->vm < 0)
		return fail("KVM_CREATE_VM type KVM_X86_SW_PROTECTED_VM");
	vm->hypercall_exit = ioctl(vm->vm, KVM_ENABLE_CAP, &cap) == 0;
	if (setup_memory(vm) < 0 || setup_vcpu(vm) < 0)
		return -1;
	emit("ready pid=%d vm_type=%d mem_attrs=0x%x slot0_gpa=0x0 slot0_pages=%" PRIu64
	     " gmem_fd=%d plain_gpa=0x%" PRIx64 " plain_pages=%llu code_gpa=0x%llx"
	     " data_gpa=0x%llx hypercall_exit=%d thp_off=%d %s",
	     (int)getpid(), KVM_X86_SW_PROTECTED_VM, attrs, vm->pages, vm->gmem, vm->plain_gpa,
	     (unsigned long long)PLAIN_PAGES, (unsigned long long)CODE_GPA,
	     (unsigned long long)DATA_GPA, vm->hypercall_exit, vm->thp_off, truth());
	return 0;
}

/* ---- conversions ---------------------------------------------------------------------- */

/* A line built in pieces, emitted once. */
struct line {
	char buf[512];
	size_t len;
};

static void add(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->len >= sizeof(l->buf))
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->buf + l->len, sizeof(l->buf) - l->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->len += (size_t)n;
}

static uint64_t tracked_pages(const struct swvm *vm)
{
	return vm->pages + PLAIN_PAGES;
}

static void track_attrs(struct swvm *vm, bool to_private, uint64_t gpa, uint64_t pages)
{
	uint64_t gfn;

	for (gfn = gpa / PAGE; gfn < gpa / PAGE + pages && gfn < tracked_pages(vm); gfn++)
		vm->private_map[gfn] = to_private;
}

/* KVM_SET_MEMORY_ATTRIBUTES over [gpa, gpa + pages pages): 0 or -errno; *ns: its duration. */
static int convert(struct swvm *vm, bool to_private, uint64_t gpa, uint64_t pages, uint64_t *ns)
{
	struct kvm_memory_attributes a = {
		.address = gpa,
		.size = pages * PAGE,
		.attributes = to_private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0,
	};
	uint64_t t0 = now_ns();
	int r = ioctl(vm->vm, KVM_SET_MEMORY_ATTRIBUTES, &a) < 0 ? -errno : 0;

	*ns = now_ns() - t0;
	if (r) {
		vm->n.conv_failed++;
		return r;
	}
	if (to_private) {
		vm->n.conv_to_private++;
		vm->n.pages_to_private += pages;
	} else {
		vm->n.conv_to_shared++;
		vm->n.pages_to_shared += pages;
	}
	track_attrs(vm, to_private, gpa, pages);
	return 0;
}

static bool slot_has_gmem(const struct swvm *vm, uint64_t gpa)
{
	return gpa < vm->pages * PAGE;
}

/* The VMM's answer to an exit that asks for a conversion, maybe late; added to the line. */
static int answer(struct swvm *vm, struct line *l, bool to_private, uint64_t gpa, uint64_t pages)
{
	uint64_t t0 = now_ns(), ns;
	int r;

	if (vm->delay_ms) {
		vm->n.answers_late++;
		sleep_ms(vm->delay_ms);
	}
	vm->n.answers++;
	r = convert(vm, to_private, gpa, pages, &ns);
	add(l, " answer=%s answer_gpa=0x%" PRIx64 " answer_pages=%" PRIu64 " answer_rc=%d",
	    to_private ? "private" : "shared", gpa, pages, r);
	if (r)
		add(l, " answer_msg=%s", strerrorname_np(-r));
	add(l, " delay_ms=%u convert_ns=%" PRIu64 " wait_ns=%" PRIu64, vm->delay_ms, ns,
	    now_ns() - t0);
	return r;
}

/* ---- running the vCPU ----------------------------------------------------------------- */

static void exit_hlt(struct swvm *vm, struct line *l)
{
	struct kvm_regs regs;

	vm->n.exit_hlt++;
	vm->idle = true;
	add(l, " reason=hlt op=%s", op_names[vm->op]);
	if (vm->op != OP_NONE)
		add(l, " gpa=0x%" PRIx64 " pages=%" PRIu64, vm->op_gpa, vm->op_pages);
	if ((vm->op == OP_READ || vm->op == OP_MAP) && ioctl(vm->vcpu, KVM_GET_REGS, &regs) < 0)
		add(l, " regs=%s", strerrorname_np(errno));
	else if (vm->op == OP_READ)
		add(l, " value=0x%" PRIx32 " match=%" PRIu32, (uint32_t)regs.rax,
		    (uint32_t)regs.rsi);
	else if (vm->op == OP_MAP)
		add(l, " result=%" PRId32, (int32_t)regs.rsi);
	vm->op = OP_NONE;
}

static void exit_memory_fault(struct swvm *vm, struct line *l)
{
	struct swvm_memory_fault f;
	bool priv;

	memcpy(&f, &vm->run->mmio, sizeof(f));
	priv = f.flags & KVM_MEMORY_EXIT_FLAG_PRIVATE;
	vm->n.exit_memory_fault++;
	add(l, " reason=memory_fault gpa=0x%llx size=%llu flags=0x%llx access=%s slot=%s",
	    (unsigned long long)f.gpa, (unsigned long long)f.size, (unsigned long long)f.flags,
	    priv ? "private" : "shared", slot_has_gmem(vm, f.gpa) ? "gmem" : "plain");
	if (vm->answer)
		/* A private access needs a guest_memfd behind it; without one, make it shared. */
		answer(vm, l, priv && slot_has_gmem(vm, f.gpa), f.gpa & ~(PAGE - 1),
		       (f.size + PAGE - 1) / PAGE);
}

static void exit_hypercall(struct swvm *vm, struct line *l)
{
	uint64_t gpa = vm->run->hypercall.args[0], pages = vm->run->hypercall.args[1];
	uint64_t attrs = vm->run->hypercall.args[2];
	int r;

	vm->n.exit_hypercall++;
	add(l, " reason=hypercall nr=%llu gpa=0x%" PRIx64 " pages=%" PRIu64 " attrs=0x%" PRIx64,
	    (unsigned long long)vm->run->hypercall.nr, gpa, pages, attrs);
	if (vm->run->hypercall.nr != KVM_HC_MAP_GPA_RANGE) {
		vm->run->hypercall.ret = (uint64_t)-KVM_ENOSYS;
		return;
	}
	r = answer(vm, l, attrs & KVM_MAP_GPA_RANGE_ENCRYPTED, gpa, pages);
	vm->run->hypercall.ret = r ? (uint64_t)-KVM_EINVAL_RET : 0;
}

static void exit_mmio(struct swvm *vm, struct line *l)
{
	vm->n.exit_mmio++;
	add(l, " reason=mmio gpa=0x%llx len=%u write=%u",
	    (unsigned long long)vm->run->mmio.phys_addr, vm->run->mmio.len, vm->run->mmio.is_write);
	if (!vm->run->mmio.is_write)
		memset(vm->run->mmio.data, 0xff, sizeof(vm->run->mmio.data));
}

static const char *fatal_exit_name(uint32_t reason)
{
	switch (reason) {
	case KVM_EXIT_SHUTDOWN:
		return "shutdown";
	case KVM_EXIT_FAIL_ENTRY:
		return "fail_entry";
	case KVM_EXIT_INTERNAL_ERROR:
		return "internal_error";
	default:
		return NULL;
	}
}

/* Sort one exit out into the line; 1 if the guest halted, 0 otherwise, -1 if it is dead. */
static int handle_exit(struct swvm *vm, struct line *l, int err)
{
	const char *fatal;

	if (err == EFAULT && vm->run->exit_reason == KVM_EXIT_MEMORY_FAULT) {
		exit_memory_fault(vm, l);
		return 0;
	}
	if (err) {
		vm->n.exit_other++;
		vm->dead = true;
		add(l, " reason=error errno=%d msg=%s", err, strerrorname_np(err));
		return -1;
	}
	switch (vm->run->exit_reason) {
	case KVM_EXIT_HLT:
		exit_hlt(vm, l);
		return 1;
	case KVM_EXIT_HYPERCALL:
		exit_hypercall(vm, l);
		return 0;
	case KVM_EXIT_MMIO:
		exit_mmio(vm, l);
		return 0;
	case KVM_EXIT_IO:
		vm->n.exit_io++;
		add(l, " reason=io port=0x%x", vm->run->io.port);
		return 0;
	}
	vm->n.exit_other++;
	fatal = fatal_exit_name(vm->run->exit_reason);
	if (fatal)
		vm->dead = true;
	add(l, " reason=%s code=%u", fatal ? fatal : "other", vm->run->exit_reason);
	return fatal ? -1 : 0;
}

static volatile sig_atomic_t run_timed_out;

static void on_alarm(int sig)
{
	(void)sig;
	run_timed_out = 1;
}

/*
 * One KVM_RUN and its `exit` line. Returns as handle_exit(). A KVM_RUN that has not
 * returned after RUN_TIMEOUT_S is interrupted by SIGALRM and reported as `reason=stuck`.
 */
static int enter(struct swvm *vm, const char *cmd)
{
	struct line l = {.len = 0};
	int r, err;

	if (vm->dead) {
		cmd_error(vm, cmd, EIO, "vcpu-dead");
		return -1;
	}
	vm->run->exit_reason = KVM_EXIT_UNKNOWN;
	run_timed_out = 0;
	alarm(RUN_TIMEOUT_S);
	do
		r = ioctl(vm->vcpu, KVM_RUN, 0);
	while (r < 0 && errno == EINTR && !run_timed_out);
	err = r < 0 ? errno : 0;
	alarm(0);
	vm->n.exits++;
	add(&l, "exit n=%" PRIu64, vm->n.exits);
	if (err == EINTR) {
		/* The vCPU never came back on its own: say so rather than hang. */
		vm->n.exit_stuck++;
		add(&l, " reason=stuck seconds=%d", RUN_TIMEOUT_S);
		r = -1;
	} else {
		r = handle_exit(vm, &l, err);
	}
	emit("%s", l.buf);
	return r;
}

/* Put an operation in the halted guest's registers; it runs at the next entry. */
static void queue_op(struct swvm *vm, enum guest_op op, uint64_t gpa, uint64_t pages,
		     uint64_t value)
{
	struct kvm_regs regs;

	if (!vm->idle) {
		cmd_error(vm, op_names[op], EBUSY, "guest-not-halted");
		return;
	}
	if (ioctl(vm->vcpu, KVM_GET_REGS, &regs) < 0) {
		cmd_error(vm, op_names[op], errno, "KVM_GET_REGS");
		return;
	}
	regs.rdi = op;
	regs.rbx = gpa;
	regs.rcx = pages;
	regs.rdx = value;
	if (ioctl(vm->vcpu, KVM_SET_REGS, &regs) < 0) {
		cmd_error(vm, op_names[op], errno, "KVM_SET_REGS");
		return;
	}
	vm->op = op;
	vm->op_gpa = gpa;
	vm->op_pages = pages;
	vm->idle = false;
	vm->n.ops++;
	emit("%s queued gpa=0x%" PRIx64 " pages=%" PRIu64 " value=0x%" PRIx64, op_names[op], gpa,
	     pages, value);
}

/* ---- pins ----------------------------------------------------------------------------- */

static void pin(struct swvm *vm, uint64_t off, uint64_t pages)
{
	struct io_uring_params p = {0};
	struct iovec iov = {.iov_base = vm->shared + off, .iov_len = pages * PAGE};
	int ring;

	if (vm->npins == MAX_PINS) {
		cmd_error(vm, "pin", ENOSPC, "too-many-pins");
		return;
	}
	ring = (int)syscall(__NR_io_uring_setup, 4, &p);
	if (ring < 0) {
		cmd_error(vm, "pin", errno, "io_uring_setup");
		return;
	}
	if (syscall(__NR_io_uring_register, ring, IORING_REGISTER_BUFFERS, &iov, 1) < 0) {
		cmd_error(vm, "pin", errno, "IORING_REGISTER_BUFFERS");
		close(ring);
		return;
	}
	vm->pins[vm->npins++] = (struct pin){.ring = ring, .off = off, .pages = pages};
	vm->n.pins++;
	vm->n.pages_pinned += pages;
	emit("pin ok off=0x%" PRIx64 " pages=%" PRIu64 " ring_fd=%d %s", off, pages, ring, truth());
}

/* gup_test's long-term pin (mm/gup_test.h): one per open file, dropped by STOP or close. */
#define GUP_TEST_PATH		"/sys/kernel/debug/gup_test"
#define PIN_LONGTERM_TEST_START 0x40186707 /* _IOW('g', 7, struct pin_longterm_test) */
#define PIN_LONGTERM_TEST_STOP	0x6708	   /* _IO('g', 8) */
#define PIN_LONGTERM_WRITE	1

struct pin_longterm_test {
	uint64_t addr;
	uint64_t size;
	uint32_t flags;
	uint32_t pad;
};

static void gup_pin(struct swvm *vm, uint64_t off, uint64_t pages)
{
	struct pin_longterm_test t = {.addr = (uint64_t)(uintptr_t)(vm->shared + off),
				      .size = pages * PAGE,
				      .flags = PIN_LONGTERM_WRITE};
	int fd;

	if (vm->npins == MAX_PINS) {
		cmd_error(vm, "gup-pin", ENOSPC, "too-many-pins");
		return;
	}
	fd = open(GUP_TEST_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		cmd_error(vm, "gup-pin", errno, "open-gup_test");
		return;
	}
	if (ioctl(fd, PIN_LONGTERM_TEST_START, &t) < 0) {
		cmd_error(vm, "gup-pin", errno, "PIN_LONGTERM_TEST_START");
		close(fd);
		return;
	}
	vm->pins[vm->npins++] = (struct pin){.ring = fd, .gup = true, .off = off, .pages = pages};
	vm->n.pins++;
	vm->n.pages_pinned += pages;
	emit("gup-pin ok off=0x%" PRIx64 " pages=%" PRIu64 " fd=%d %s", off, pages, fd, truth());
}

static void unpin(struct swvm *vm)
{
	uint64_t pages = 0;
	int i, pins = vm->npins;

	for (i = 0; i < vm->npins; i++) {
		/* Unregister first: it drops the pins now, while close() drops them later. */
		if (vm->pins[i].gup)
			ioctl(vm->pins[i].ring, PIN_LONGTERM_TEST_STOP, 0);
		else
			syscall(__NR_io_uring_register, vm->pins[i].ring, IORING_UNREGISTER_BUFFERS,
				NULL, 0);
		close(vm->pins[i].ring);
		pages += vm->pins[i].pages;
	}
	vm->npins = 0;
	emit("unpin ok pins=%d pages=%" PRIu64 " %s", pins, pages, truth());
}

/* Pages of slot 0 that are pinned and now private: pins that outlived a conversion. */
static uint64_t pinned_private_pages(const struct swvm *vm)
{
	uint64_t n = 0, gfn, end;
	int i;

	for (i = 0; i < vm->npins; i++) {
		end = vm->pins[i].off / PAGE + vm->pins[i].pages;
		for (gfn = vm->pins[i].off / PAGE; gfn < end; gfn++)
			n += vm->private_map[gfn];
	}
	return n;
}

static uint64_t pinned_pages(const struct swvm *vm)
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < vm->npins; i++)
		n += vm->pins[i].pages;
	return n;
}

/* ---- other commands ------------------------------------------------------------------- */

static void punch(struct swvm *vm, uint64_t off, uint64_t pages)
{
	if (fallocate(vm->gmem, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
		      (off_t)(pages * PAGE)) < 0) {
		cmd_error(vm, "punch", errno, NULL);
		return;
	}
	vm->n.punches++;
	vm->n.pages_punched += pages;
	emit("punch ok off=0x%" PRIx64 " pages=%" PRIu64 " pinned_pages=%" PRIu64 " %s", off, pages,
	     pinned_pages(vm), truth());
}

static void discard(struct swvm *vm, uint64_t off, uint64_t pages)
{
	if (madvise(vm->shared + off, pages * PAGE, MADV_DONTNEED) < 0) {
		cmd_error(vm, "discard", errno, NULL);
		return;
	}
	vm->n.discards++;
	vm->n.pages_discarded += pages;
	emit("discard ok off=0x%" PRIx64 " pages=%" PRIu64 " pinned_pages=%" PRIu64 " %s", off,
	     pages, pinned_pages(vm), truth());
}

/* The shared pages go into a pipe by reference (vmsplice without SPLICE_F_GIFT): each pipe
 * buffer keeps a page reference, taken by get_user_pages_fast(), until the pipe is read or
 * closed. Not a pin: VmPin and nr_foll_pin_* do not move. */
static void hold(struct swvm *vm, uint64_t off, uint64_t pages)
{
	struct iovec iov = {.iov_base = vm->shared + off, .iov_len = pages * PAGE};
	int *fds = vm->hold_fds[vm->nholds];
	ssize_t n;

	if (vm->nholds == MAX_HOLDS) {
		cmd_error(vm, "hold", ENOSPC, "too-many-holds");
		return;
	}
	if (pipe2(fds, O_CLOEXEC) < 0) {
		cmd_error(vm, "hold", errno, "pipe2");
		return;
	}
	/* A pipe has 16 buffers by default, one page each. */
	if (pages > 16 && fcntl(fds[1], F_SETPIPE_SZ, (int)(pages * PAGE)) < 0) {
		cmd_error(vm, "hold", errno, "F_SETPIPE_SZ");
		close(fds[0]);
		close(fds[1]);
		return;
	}
	n = vmsplice(fds[1], &iov, 1, SPLICE_F_NONBLOCK);
	if (n < 0 || (uint64_t)n != pages * PAGE) {
		cmd_error(vm, "hold", n < 0 ? errno : EAGAIN, "vmsplice");
		close(fds[0]);
		close(fds[1]);
		return;
	}
	vm->hold_pages[vm->nholds++] = pages;
	vm->n.holds++;
	vm->n.pages_held += pages;
	emit("hold ok off=0x%" PRIx64 " pages=%" PRIu64 " refs=%" PRIu64 " pipe=%d %s", off, pages,
	     (uint64_t)((uint64_t)n / PAGE), fds[1], truth());
}

static void release_holds(struct swvm *vm)
{
	uint64_t pages = 0;
	int holds = vm->nholds;

	for (int i = 0; i < vm->nholds; i++) {
		close(vm->hold_fds[i][0]);
		close(vm->hold_fds[i][1]);
		pages += vm->hold_pages[i];
	}
	vm->nholds = 0;
	emit("release ok holds=%d pages=%" PRIu64, holds, pages);
}

/* mm/gup_test.h */
struct gup_test {
	uint64_t get_delta_usec, put_delta_usec, addr, size;
	uint32_t nr_pages_per_call, gup_flags, test_flags;
	uint32_t which_pages[8];
};
#define GUP_BASIC_TEST _IOWR('g', 4, struct gup_test)

static void gup_get(struct swvm *vm, uint64_t off, uint64_t pages)
{
	struct gup_test t = {.addr = (uint64_t)(uintptr_t)(vm->shared + off),
			     .size = pages * PAGE,
			     .nr_pages_per_call = (uint32_t)pages};
	int fd = open(GUP_TEST_PATH, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		cmd_error(vm, "gup-get", errno, "open-gup_test");
		return;
	}
	if (ioctl(fd, GUP_BASIC_TEST, &t) < 0) {
		cmd_error(vm, "gup-get", errno, "GUP_BASIC_TEST");
		close(fd);
		return;
	}
	close(fd);
	vm->n.gup_gets++;
	vm->n.pages_got += t.size / PAGE;
	emit("gup-get ok off=0x%" PRIx64 " pages=%" PRIu64 " %s", off, (uint64_t)(t.size / PAGE),
	     truth());
}

/* Pages of the shared mapping present now: what a tool reading pagemap can watch. */
static void resident(struct swvm *vm)
{
	uint64_t buf[512], present = 0, done = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		cmd_error(vm, "resident", errno, "pagemap");
		return;
	}
	while (done < vm->pages) {
		uint64_t n = vm->pages - done < 512 ? vm->pages - done : 512;
		off_t at = (off_t)(((uintptr_t)vm->shared / PAGE + done) * sizeof(uint64_t));
		ssize_t got = pread(fd, buf, n * sizeof(uint64_t), at);

		if (got <= 0)
			break;
		for (uint64_t i = 0; i < (uint64_t)got / sizeof(uint64_t); i++)
			present += buf[i] >> 63;
		done += (uint64_t)got / sizeof(uint64_t);
	}
	close(fd);
	emit("resident ok pages=%" PRIu64, present);
}

static uint64_t private_pages(const struct swvm *vm)
{
	uint64_t n = 0, gfn;

	for (gfn = 0; gfn < tracked_pages(vm); gfn++)
		n += vm->private_map[gfn];
	return n;
}

static void print_counts(const struct swvm *vm, const char *word)
{
	const struct counts *n = &vm->n;

	emit("%s exits=%" PRIu64 " exit_hlt=%" PRIu64 " exit_memory_fault=%" PRIu64
	     " exit_hypercall=%" PRIu64 " exit_mmio=%" PRIu64 " exit_io=%" PRIu64
	     " exit_other=%" PRIu64 " exit_stuck=%" PRIu64 " conv_to_private=%" PRIu64
	     " conv_to_shared=%" PRIu64 " pages_to_private=%" PRIu64 " pages_to_shared=%" PRIu64
	     " conv_failed=%" PRIu64 " answers=%" PRIu64 " answers_late=%" PRIu64
	     " punches=%" PRIu64 " pages_punched=%" PRIu64 " pins=%" PRIu64 " pages_pinned=%" PRIu64
	     " discards=%" PRIu64 " pages_discarded=%" PRIu64 " ops=%" PRIu64 " errors=%" PRIu64
	     " private_pages=%" PRIu64 " pinned_pages=%" PRIu64 " pinned_private_pages=%" PRIu64
	     " holds=%" PRIu64 " pages_held=%" PRIu64 " gup_gets=%" PRIu64 " pages_got=%" PRIu64
	     " %s",
	     word, n->exits, n->exit_hlt, n->exit_memory_fault, n->exit_hypercall, n->exit_mmio,
	     n->exit_io, n->exit_other, n->exit_stuck, n->conv_to_private, n->conv_to_shared,
	     n->pages_to_private, n->pages_to_shared, n->conv_failed, n->answers, n->answers_late,
	     n->punches, n->pages_punched, n->pins, n->pages_pinned, n->discards,
	     n->pages_discarded, n->ops, n->errors, private_pages(vm), pinned_pages(vm),
	     pinned_private_pages(vm), n->holds, n->pages_held, n->gup_gets, n->pages_got, truth());
}

/* ---- command parsing ------------------------------------------------------------------ */

static bool parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return !errno && !*end;
}

/* ADDR PAGES from argv[first..]: page aligned, non-empty, inside `limit` pages. */
static bool parse_range(struct swvm *vm, char **argv, int argc, int first, uint64_t limit,
			uint64_t *addr, uint64_t *pages)
{
	if (argc <= first + 1 || !parse_u64(argv[first], addr) ||
	    !parse_u64(argv[first + 1], pages)) {
		cmd_error(vm, argv[0], EINVAL, "usage");
		return false;
	}
	if (*addr % PAGE || !*pages || *pages > limit || *addr / PAGE > limit - *pages) {
		cmd_error(vm, argv[0], EINVAL, "range");
		return false;
	}
	return true;
}

static bool touches_code(uint64_t gpa, uint64_t pages)
{
	return gpa <= CODE_GPA && CODE_GPA < gpa + pages * PAGE;
}

/* convert|map private|shared GPA PAGES */
static void cmd_convert(struct swvm *vm, char **argv, int argc)
{
	uint64_t gpa, pages, ns;
	bool to_private = argc > 1 && !strcmp(argv[1], "private");
	int r;

	if (argc < 2 || (!to_private && strcmp(argv[1], "shared"))) {
		cmd_error(vm, argv[0], EINVAL, "usage");
		return;
	}
	if (!parse_range(vm, argv, argc, 2, tracked_pages(vm), &gpa, &pages))
		return;
	if (touches_code(gpa, pages)) {
		cmd_error(vm, argv[0], EINVAL, "code-page");
		return;
	}
	if (!strcmp(argv[0], "map")) {
		if (!vm->hypercall_exit)
			cmd_error(vm, argv[0], EOPNOTSUPP, "no-hypercall-exit");
		else
			queue_op(vm, OP_MAP, gpa, pages,
				 to_private ? KVM_MAP_GPA_RANGE_ENCRYPTED : 0);
		return;
	}
	r = convert(vm, to_private, gpa, pages, &ns);
	if (r)
		cmd_error(vm, "convert", -r, "KVM_SET_MEMORY_ATTRIBUTES");
	else
		emit("convert ok to=%s gpa=0x%" PRIx64 " pages=%" PRIu64 " ns=%" PRIu64
		     " private_pages=%" PRIu64 " pinned_private_pages=%" PRIu64,
		     argv[1], gpa, pages, ns, private_pages(vm), pinned_private_pages(vm));
}

/* write|read GPA PAGES VALUE */
static void cmd_access(struct swvm *vm, char **argv, int argc, enum guest_op op)
{
	uint64_t gpa, pages, value;

	if (!parse_range(vm, argv, argc, 1, tracked_pages(vm), &gpa, &pages))
		return;
	if (argc < 4 || !parse_u64(argv[3], &value) || value > UINT32_MAX) {
		cmd_error(vm, argv[0], EINVAL, "usage");
		return;
	}
	if (touches_code(gpa, pages) && op == OP_WRITE) {
		cmd_error(vm, argv[0], EINVAL, "code-page");
		return;
	}
	queue_op(vm, op, gpa, pages, value);
}

/* punch|pin|discard|poke OFF PAGES [VALUE], inside slot 0 */
static void cmd_slot0(struct swvm *vm, char **argv, int argc)
{
	uint64_t off, pages, value, i;
	uint32_t word;

	if (!parse_range(vm, argv, argc, 1, vm->pages, &off, &pages))
		return;
	if (!strcmp(argv[0], "punch")) {
		punch(vm, off, pages);
	} else if (!strcmp(argv[0], "pin")) {
		pin(vm, off, pages);
	} else if (!strcmp(argv[0], "gup-pin")) {
		gup_pin(vm, off, pages);
	} else if (!strcmp(argv[0], "discard")) {
		discard(vm, off, pages);
	} else if (!strcmp(argv[0], "hold")) {
		hold(vm, off, pages);
	} else if (!strcmp(argv[0], "gup-get")) {
		gup_get(vm, off, pages);
	} else if (argc < 4 || !parse_u64(argv[3], &value) || value > UINT32_MAX ||
		   touches_code(off, pages)) {
		cmd_error(vm, argv[0], EINVAL, "usage");
	} else {
		word = (uint32_t)value;
		for (i = 0; i < pages; i++)
			memcpy(vm->shared + off + i * PAGE, &word, sizeof(word));
		emit("poke ok off=0x%" PRIx64 " pages=%" PRIu64 " value=0x%" PRIx32, off, pages,
		     word);
	}
}

static void cmd_go(struct swvm *vm, char **argv, int argc)
{
	uint64_t max = GO_DEFAULT, i;
	int r = 0;

	if (argc > 1 && (!parse_u64(argv[1], &max) || !max)) {
		cmd_error(vm, argv[0], EINVAL, "usage");
		return;
	}
	for (i = 0; i < max && r == 0; i++)
		r = enter(vm, "go");
	emit("go exits=%" PRIu64 " halted=%d", i, r == 1);
}

static void cmd_misc(struct swvm *vm, char **argv, int argc)
{
	uint64_t v;
	uint32_t word;

	if (!strcmp(argv[0], "delay-convert")) {
		if (argc < 2 || !parse_u64(argv[1], &v) || v > 600000) {
			cmd_error(vm, argv[0], EINVAL, "usage");
			return;
		}
		vm->delay_ms = (unsigned int)v;
		emit("delay-convert ok ms=%u", vm->delay_ms);
	} else if (!strcmp(argv[0], "answer")) {
		if (argc < 2 || (strcmp(argv[1], "on") && strcmp(argv[1], "off"))) {
			cmd_error(vm, argv[0], EINVAL, "usage");
			return;
		}
		vm->answer = !strcmp(argv[1], "on");
		emit("answer ok %s", argv[1]);
	} else if (!strcmp(argv[0], "peek")) {
		if (argc < 2 || !parse_u64(argv[1], &v) || v % 4 || v >= vm->pages * PAGE) {
			cmd_error(vm, argv[0], EINVAL, "usage");
			return;
		}
		memcpy(&word, vm->shared + v, sizeof(word));
		emit("peek ok off=0x%" PRIx64 " value=0x%" PRIx32, v, word);
	} else {
		emit("error cmd=%s msg=unknown", argv[0]);
	}
}

/* Run one command line; returns false when the program should end. */
static bool command(struct swvm *vm, char *line)
{
	char *argv[8], *save = NULL, *tok;
	int argc = 0;

	for (tok = strtok_r(line, " \t\r\n", &save); tok && argc < 8;
	     tok = strtok_r(NULL, " \t\r\n", &save))
		argv[argc++] = tok;
	if (!argc || argv[0][0] == '#')
		return true;
	if (!strcmp(argv[0], "exit") || !strcmp(argv[0], "quit"))
		return false;
	if (!strcmp(argv[0], "run"))
		enter(vm, "run");
	else if (!strcmp(argv[0], "go"))
		cmd_go(vm, argv, argc);
	else if (!strcmp(argv[0], "convert") || !strcmp(argv[0], "map"))
		cmd_convert(vm, argv, argc);
	else if (!strcmp(argv[0], "write"))
		cmd_access(vm, argv, argc, OP_WRITE);
	else if (!strcmp(argv[0], "read"))
		cmd_access(vm, argv, argc, OP_READ);
	else if (!strcmp(argv[0], "punch") || !strcmp(argv[0], "pin") ||
		 !strcmp(argv[0], "gup-pin") || !strcmp(argv[0], "discard") ||
		 !strcmp(argv[0], "poke") || !strcmp(argv[0], "hold") ||
		 !strcmp(argv[0], "gup-get"))
		cmd_slot0(vm, argv, argc);
	else if (!strcmp(argv[0], "unpin"))
		unpin(vm);
	else if (!strcmp(argv[0], "release"))
		release_holds(vm);
	else if (!strcmp(argv[0], "resident"))
		resident(vm);
	else if (!strcmp(argv[0], "status"))
		print_counts(vm, "status");
	else
		cmd_misc(vm, argv, argc);
	return true;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: swvm [--pages N]\n"
		"Run a KVM software-protected VM (type 1) with guest_memfd memory and convert\n"
		"it between shared and private on commands read from stdin (see the comment at\n"
		"the top of tools/swvm.c). N: guest_memfd pages, default %d.\n",
		DEFAULT_PAGES);
}

int main(int argc, char **argv)
{
	struct swvm vm = {.kvm = -1, .vm = -1, .vcpu = -1, .gmem = -1, .answer = true};
	char line[512];

	vm.pages = DEFAULT_PAGES;
	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "--pages")) {
		if (!parse_u64(argv[2], &vm.pages) || vm.pages < DATA_GPA / PAGE + 1 ||
		    vm.pages > (1ULL << 18)) {
			fprintf(stderr, "swvm: --pages %s: want %llu..%llu\n", argv[2],
				DATA_GPA / PAGE + 1, 1ULL << 18);
			return 2;
		}
	} else if (argc != 1) {
		usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	/* No SA_RESTART: the alarm must interrupt KVM_RUN. */
	sigaction(SIGALRM, &(struct sigaction){.sa_handler = on_alarm}, NULL);
	if (setup(&vm) < 0)
		return 1;
	while (fgets(line, sizeof(line), stdin) && command(&vm, line))
		;
	if (vm.npins)
		unpin(&vm);
	if (vm.nholds)
		release_holds(&vm);
	print_counts(&vm, "done");
	return 0;
}
