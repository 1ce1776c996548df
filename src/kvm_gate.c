// SPDX-License-Identifier: BSD-2-Clause
#include "kvm_gate.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#define KVM_DEV "/dev/kvm"

struct kvm_gate {
	int sock, stop_fd;
	pthread_t th;
	kvm_gate_open_fn fn;
	void *ctx;
};

static bool fd_dir_has_kvm(int dfd)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;
	bool found = false;
	char link[64];

	if (!d) {
		close(dfd);
		return false;
	}
	while (!found && (de = readdir(d))) {
		ssize_t n = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);

		if (n <= 0)
			continue;
		link[n] = 0;
		found = !strcmp(link, KVM_DEV) || !strcmp(link, "anon_inode:kvm-vm");
	}
	closedir(d);
	return found;
}

bool kvm_in_use(void)
{
	DIR *proc = opendir("/proc");
	struct dirent *de;
	bool found = false;
	char path[300];

	if (!proc)
		return true; /* cannot tell: assume so */
	while (!found && (de = readdir(proc))) {
		int dfd;

		if (de->d_name[0] < '1' || de->d_name[0] > '9' || atoi(de->d_name) == getpid())
			continue;
		snprintf(path, sizeof(path), "%s/fd", de->d_name);
		dfd = openat(dirfd(proc), path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0)
			found = fd_dir_has_kvm(dfd);
	}
	closedir(proc);
	return found;
}

/* A uevent of KVM's misc device saying a VM was created: its PID, else 0. Format: "ACTION@DEVPATH"
 * then NUL-separated KEY=VALUE strings. */
static pid_t vm_created(const char *buf, size_t len)
{
	bool kvm = false, create = false;
	pid_t pid = 0;

	for (size_t off = 0; off < len; off += strlen(buf + off) + 1) {
		const char *kv = buf + off;

		if (!strcmp(kv, "DEVPATH=/devices/virtual/misc/kvm"))
			kvm = true;
		else if (!strcmp(kv, "EVENT=create"))
			create = true;
		else if (!strncmp(kv, "PID=", 4))
			pid = (pid_t)atoi(kv + 4);
	}
	return kvm && create ? (pid ? pid : -1) : 0;
}

static void *gate_thread(void *arg)
{
	struct kvm_gate *g = arg;
	char buf[8192];

	for (;;) {
		struct pollfd p[2] = {{.fd = g->sock, .events = POLLIN},
				      {.fd = g->stop_fd, .events = POLLIN}};
		ssize_t n;
		pid_t pid;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		n = recv(g->sock, buf, sizeof(buf) - 1, MSG_DONTWAIT);
		if (n < 0 && errno == ENOBUFS) {
			/* Events were dropped: one of them may have been a VM. */
			g->fn(g->ctx, 0);
			break;
		}
		if (n <= 0)
			continue;
		buf[n] = 0;
		pid = vm_created(buf, (size_t)n);
		if (pid) {
			g->fn(g->ctx, pid > 0 ? pid : 0);
			break;
		}
	}
	return NULL;
}

struct kvm_gate *kvm_gate_start(kvm_gate_open_fn fn, void *ctx, enum kvm_gate_state *state,
				const char **why)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = 1};
	struct kvm_gate *g;

	*state = KVM_GATE_OPEN;
	if (access(KVM_DEV, F_OK)) {
		*state = KVM_GATE_NO_KVM;
		*why = "no " KVM_DEV ": no VM can exist on this host";
		return NULL;
	}
	g = calloc(1, sizeof(*g));
	if (!g) {
		*why = "out of memory";
		return NULL;
	}
	g->fn = fn;
	g->ctx = ctx;
	g->stop_fd = -1;
	/* Listen first, then scan: a VM made between the two is heard, not missed. */
	g->sock = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
	if (g->sock < 0 || bind(g->sock, (struct sockaddr *)&sa, sizeof(sa))) {
		*why = "no uevent socket to hear KVM create a VM";
		goto open;
	}
	if (kvm_in_use()) {
		*why = "a process holds " KVM_DEV " or a VM";
		goto open;
	}
	g->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (g->stop_fd < 0 || pthread_create(&g->th, NULL, gate_thread, g)) {
		*why = "no thread to hear KVM create a VM";
		goto open;
	}
	*state = KVM_GATE_WAITING;
	*why = "wait for KVM to create a VM (its uevent)";
	return g;
open:
	if (g->sock >= 0)
		close(g->sock);
	if (g->stop_fd >= 0)
		close(g->stop_fd);
	free(g);
	return NULL;
}

void kvm_gate_stop(struct kvm_gate *g)
{
	uint64_t one = 1;

	if (!g)
		return;
	if (write(g->stop_fd, &one, sizeof(one)) != sizeof(one))
		ps_warn("stopping the KVM gate: %s", strerror(errno));
	pthread_join(g->th, NULL);
	close(g->sock);
	close(g->stop_fd);
	free(g);
}
