// SPDX-License-Identifier: BSD-2-Clause
#include "decode.h"

#include <errno.h>
#include <string.h>

/* What docs/trace-format.md says of a PINS record. */
_Static_assert(PS_EV_PINS_MIN == 72 && sizeof(struct ps_pin_item) == 24, "PINS: 72 + 24 x nr");
_Static_assert(sizeof(struct ps_ev_pins) <= sizeof(union ps_event), "a full PINS record fits");

static const struct {
	const char *name;
	size_t size;	 /* the least a record of the type may be */
	size_t max;	 /* what this version knows of it, when more than size */
	size_t in_place; /* a shorter size event_in_place() allows, or 0 */
} types[PS_EV_TYPE_MAX] = {
	[PS_EV_PIN] = {"pin", PS_EV_PIN_NOSTACK, sizeof(struct ps_ev_pin), PS_EV_PIN_NOKSTACK},
	[PS_EV_UNPIN] = {"unpin", sizeof(struct ps_ev_unpin)},
	[PS_EV_OBJ_SYNC] = {"obj_sync", sizeof(struct ps_ev_obj)},
	[PS_EV_PROC_EXIT] = {"proc_exit", sizeof(struct ps_ev_hdr)},
	[PS_EV_OBJ_TEARDOWN] = {"obj_teardown", sizeof(struct ps_ev_obj)},
	[PS_EV_PROCFS] = {"procfs", sizeof(struct ps_ev_procfs)},
	[PS_EV_VMSTAT] = {"vmstat", sizeof(struct ps_ev_vmstat)},
	[PS_EV_MARK] = {"mark", sizeof(struct ps_ev_mark)},
	[PS_EV_LOSS] = {"loss", sizeof(struct ps_ev_loss)},
	[PS_EV_TLB] = {"tlb", sizeof(struct ps_ev_tlb)},
	[PS_EV_GMEM] = {"gmem", sizeof(struct ps_ev_gmem)},
	[PS_EV_CONV] = {"conv", sizeof(struct ps_ev_conv)},
	[PS_EV_VM_EXIT] = {"vm_exit", sizeof(struct ps_ev_vm_exit)},
	[PS_EV_CHURN] = {"churn", sizeof(struct ps_ev_churn)},
	[PS_EV_PAGEREF] = {"pageref", sizeof(struct ps_ev_pageref)},
	[PS_EV_PINS] = {"pins", PS_EV_PINS_MIN, sizeof(struct ps_ev_pins)},
};

const char *drop_name(unsigned int reason)
{
	static const char *const names[PS_DROP_MAX] = {
		[PS_DROP_RINGBUF] = "ringbuf_full",
		[PS_DROP_MAP_FULL] = "bpf_map_full",
		[PS_DROP_READ] = "read_failed",
		[PS_DROP_TRUNC] = "truncated",
	};

	return reason < PS_DROP_MAX && names[reason] ? names[reason] : "other";
}

size_t event_min_size(unsigned int type)
{
	return type < PS_EV_TYPE_MAX ? types[type].size : 0;
}

size_t event_max_size(unsigned int type)
{
	if (type >= PS_EV_TYPE_MAX)
		return 0;
	return types[type].max > types[type].size ? types[type].max : types[type].size;
}

bool event_in_place(unsigned int type, size_t size)
{
	return type < PS_EV_TYPE_MAX && size &&
	       (size == event_max_size(type) || size == types[type].in_place);
}

const char *event_type_name(unsigned int type)
{
	return type < PS_EV_TYPE_MAX && types[type].name ? types[type].name : "unknown";
}

int decode_event(const void *data, size_t size, union ps_event *out)
{
	const struct ps_ev_hdr *h = data;
	size_t want, max;

	if (size < sizeof(*h))
		return -EINVAL;
	want = event_min_size(h->type);
	/* The record must say its own size, be as large as its type, and fit. Larger records
	 * from a newer ABI are cut to what this version knows; what a shorter one leaves out
	 * (a PIN without a kernel stack) reads as zeros. Past the type's largest size the
	 * union is left as it was: no reader looks there (records read in place end there). */
	if (!want || h->size != size || size < want || h->tier >= PS_TIER_MAX)
		return -EINVAL;
	/* PINS: as many items as it says, up to what this version knows. */
	if (h->type == PS_EV_PINS) {
		const struct ps_ev_pins *b = data;

		if (!b->nr || b->nr > PS_PINS_MAX ||
		    size < PS_EV_PINS_MIN + b->nr * sizeof(struct ps_pin_item))
			return -EINVAL;
	}
	max = event_max_size(h->type);
	if (max > sizeof(*out))
		max = sizeof(*out);
	if (size > max)
		size = max;
	memcpy(out, data, size);
	memset(out->raw + size, 0, max - size);
	out->h.size = size;
	out->h.comm[PS_COMM_LEN - 1] = 0;
	return 0;
}

void pins_item_event(const struct ps_ev_pins *b, unsigned int i, union ps_event *out)
{
	const struct ps_pin_item *it = &b->item[i < PS_PINS_MAX ? i : 0];
	struct ps_ev_pin *p = &out->pin;

	memset(p, 0, sizeof(*p));
	p->h = b->h;
	p->h.type = PS_EV_PIN;
	p->h.size = PS_EV_PIN_NOSTACK;
	p->h.flags |= PS_F_USTACK_PREV;
	p->obj = b->obj;
	p->slot = it->slot;
	p->subsys = b->subsys;
	p->backing = b->backing;
	p->uaddr = it->uaddr;
	p->len = it->len;
	p->pages = ps_span_pages(it->uaddr, it->len);
	p->acct_pages = it->acct_pages;
	p->ino = b->ino;
	p->dev = b->dev;
}
