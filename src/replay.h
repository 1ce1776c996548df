/* SPDX-License-Identifier: BSD-2-Clause */
/* Feeding a recording through the aggregate: the replay source of the pipeline. */
#ifndef PS_REPLAY_H
#define PS_REPLAY_H

#include "agg.h"

/* Returns PS_EXIT_OK, PS_EXIT_PARTIAL (damage reported on stderr, intact blocks applied) or
 * PS_EXIT_RUNTIME / PS_EXIT_USAGE with a one-line error. */
int replay_file(const char *path, struct agg *a);

#endif
