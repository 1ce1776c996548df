/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Holds back hooks that cost every process on the host until KVM is used. Programs on syscall
 * tracepoints put every system call of every task on the kernel's slow entry path while any one
 * is attached (+5-7% on a pipe ping-pong, tools/bench), and the guest_memfd concern needs them
 * only where a VM exists. They are attached at once when a process holds /dev/kvm or a VM,
 * otherwise when KVM announces the first VM (the uevent of its misc device, sent inside
 * KVM_CREATE_VM): what that VM does before they are attached, about a millisecond, is not seen,
 * as for a VM that predates pinscope. (A fanotify permission mark on /dev/kvm would make the
 * opener wait, but 6.18 sends no fanotify events for device files.)
 */
#ifndef PS_KVM_GATE_H
#define PS_KVM_GATE_H

#include <stdbool.h>
#include <sys/types.h>

struct kvm_gate;

/* Called once, from the gate's thread, with the creator's pid (0: not known). */
typedef void (*kvm_gate_open_fn)(void *ctx, pid_t creator);

enum kvm_gate_state {
	KVM_GATE_OPEN,	  /* attach now: KVM is in use, or the gate cannot work */
	KVM_GATE_WAITING, /* held back until KVM creates a VM */
	KVM_GATE_NO_KVM,  /* no /dev/kvm: no VM can exist here */
};

/* Starts the gate. *state says what to do; *why says why, for -v and probes. Returns NULL
 * unless the state is KVM_GATE_WAITING. */
struct kvm_gate *kvm_gate_start(kvm_gate_open_fn fn, void *ctx, enum kvm_gate_state *state,
				const char **why);
/* Stops the thread. NULL is fine. */
void kvm_gate_stop(struct kvm_gate *g);
/* Is something holding /dev/kvm or a VM open? (a scan of /proc/PID/fd) */
bool kvm_in_use(void);

#endif
