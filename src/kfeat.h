/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What this kernel and this process can do, found by trying (a trial load or attach with its
 * errno), never by looking a name up alone: on a kernel without kprobes the symbol is in
 * kallsyms and the kprobe still cannot be made. Never prints; callers decide what to say.
 */
#ifndef PS_KFEAT_H
#define PS_KFEAT_H

#include <stdbool.h>
#include <stdint.h>

struct btf;
struct btf_var_secinfo;

struct ps_kfeat {
	char release[65];
	bool privileged; /* root, or CAP_BPF + CAP_PERFMON */
	bool cap_bpf, cap_perfmon, cap_sys_admin;
	bool btf; /* /sys/kernel/btf/vmlinux parsed */
	int btf_errno;
	const char *tracefs;  /* mount point, NULL if none */
	bool tracefs_mounted; /* we mounted it */
	int tracefs_errno;
	bool kprobe_pmu;  /* /sys/bus/event_source/devices/kprobe */
	int fentry_errno; /* trial of the fentry program type on a known-good target */
	int rawtp_errno;
	int tp_errno;
	int ringbuf_errno;
	struct btf *vmlinux_btf;
};

/* Gathers the facts; trials run only when privileged. Returns 0 (facts may still say "no"). */
int kfeat_probe(struct ps_kfeat *k);
void kfeat_free(struct ps_kfeat *k);

/* Per-target trials; results are cached. 0 = attachable, else -errno. */
int kfeat_try_fentry(struct ps_kfeat *k, const char *func);
int kfeat_try_kprobe(struct ps_kfeat *k, const char *func);
int kfeat_try_tracepoint(struct ps_kfeat *k, const char *cat_name);
/* Does the function exist in vmlinux (or loaded module) BTF? */
bool kfeat_has_func(struct ps_kfeat *k, const char *func);

/* Value of enumerator `name` in vmlinux BTF (named or anonymous enums): 0, or -ENOENT. */
int kfeat_enum_value(struct ps_kfeat *k, const char *name, int64_t *val);
/* The gup_flags bit FOLL_LONGTERM on this kernel: the BTF enumerator where FOLL_ flags are
 * enums (6.12, 6.18), 0x10000 where they were macros (6.1). 0 without BTF. */
uint32_t kfeat_foll_longterm(struct ps_kfeat *k);

/* The entry of variable `var` in DATASEC `sec` of BTF b (its offset in the section), or NULL. */
const struct btf_var_secinfo *kfeat_datasec_var(const struct btf *b, const char *sec,
						const char *var);
/*
 * How far this CPU's flush_tlb_info lies from its runqueue: both are per-CPU variables, whose
 * offsets in .data..percpu vmlinux BTF lists (kallsyms has no data symbols on many kernels).
 * BPF finds the runqueue through the current task and so the flush_tlb_info of a CPU that has
 * not queued a shootdown yet. 0 where BTF lacks either.
 */
int64_t kfeat_fti_from_rq(struct ps_kfeat *k);

/* kallsyms text address of a symbol, 0 if absent or hidden (kptr_restrict). */
uint64_t kfeat_ksym(const char *name);
/* A live session keeps neither for hours: kallsyms' index (~2 MB) and vmlinux BTF (~6 MB) are
 * dropped once the programs are loaded. kfeat_ksym() reads kallsyms again if called later. */
void kfeat_drop_ksyms(void);
void kfeat_drop_btf(struct ps_kfeat *k);

/* The kernel's CONFIG_HZ from /boot/config-RELEASE or /proc/config.gz; 0 where neither says. */
unsigned int kfeat_config_hz(const char *release);
/* The same from a config text at path, else a gzipped one at gz_path. */
unsigned int kfeat_config_hz_from(const char *path, const char *gz_path);

/* A short human reason for a trial errno, naming the likely cause. */
const char *kfeat_why(int err, char *buf, int size, const char *tier);

#endif
