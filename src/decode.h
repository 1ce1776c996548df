/* SPDX-License-Identifier: BSD-2-Clause */
/* Raw ring-buffer or trace-file bytes -> a validated event. Live and replay share this. */
#ifndef PS_DECODE_H
#define PS_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "events.h"

union ps_event {
	struct ps_ev_hdr h;
	struct ps_ev_pin pin;
	struct ps_ev_unpin unpin;
	struct ps_ev_obj obj;
	struct ps_ev_procfs procfs;
	struct ps_ev_vmstat vmstat;
	struct ps_ev_mark mark;
	struct ps_ev_loss loss;
	struct ps_ev_tlb tlb;
	struct ps_ev_gmem gmem;
	struct ps_ev_conv conv;
	struct ps_ev_vm_exit vm_exit;
	struct ps_ev_churn churn;
	struct ps_ev_pageref pageref;
	struct ps_ev_pins pins;
	unsigned char raw[512];
};

/* The size of a PS_EV_PINS record before its items. */
#define PS_EV_PINS_MIN offsetof(struct ps_ev_pins, item)

/* Item i (< nr) of a PS_EV_PINS record as the PS_EV_PIN record (PS_F_USTACK_PREV) it stands for. */
void pins_item_event(const struct ps_ev_pins *b, unsigned int i, union ps_event *out);

/* 0, or -EINVAL for a record that is short, of unknown type, or inconsistent. Fills out up to
 * the type's largest size (zeros where the record is shorter); the rest is left as it was. */
int decode_event(const void *data, size_t size, union ps_event *out);
/* The size a record of this type must have at least; 0 for unknown types. */
size_t event_min_size(unsigned int type);
/* The largest record of the type this version reads (more is cut off). */
size_t event_max_size(unsigned int type);
/* May a record of this type and size be read where it lies, without decode_event's copy? Its
 * largest size, or a shorter one whose missing part no reader looks at (a PIN record without a
 * kernel stack: nr_kstack, inside it, is 0). A PIN without its user stack is not: its
 * nr_kstack lies past its end. */
bool event_in_place(unsigned int type, size_t size);
const char *event_type_name(unsigned int type);
/* The stable key of a loss reason (enum ps_drop_reason): "ringbuf_full", ... */
const char *drop_name(unsigned int reason);

#endif
