/* Reading and validating a plan (plan.c).  Pure: no descriptor is opened and
 * nothing exits; an error comes back for main() to report. */
#ifndef BYPASS_PLAN_H
#define BYPASS_PLAN_H

#include "helper.h"

#define PLAN_HEADER "bypass-plan 1"
#define MAX_PLAN_LINES 100000L
#define MAX_LINE_BYTES 16384
#define MAX_PLAN_BYTES (16L << 20)
#define MAX_RANGES 4096                 /* per expect-file */
#define MAX_RANGE_BYTES (64ull << 20)   /* expect-file range lengths, summed over the plan */

struct plan_error {
	int code;      /* EXIT_PLAN, or EXIT_OTHER when out of memory */
	int err;       /* errno for the reason */
	long line;     /* plan line, 0 when none applies */
	char what[512];
};

/* Reads fd to EOF (at most MAX_PLAN_BYTES) into a NUL-terminated buffer. */
char *plan_read(int fd, size_t *len, struct plan_error *e);

/* Parses and validates buf (modified in place: fields point into it).
 * false with *e filled in on the first error. */
bool plan_parse(char *buf, size_t len, struct plan *plan, struct plan_error *e);

/* One "OFF+LEN" of an expect-file range list at s: what follows it (a ','
 * or the end), or NULL if malformed.  A validated list is walked with it. */
const char *plan_range(const char *s, uint64_t *off, uint64_t *len);

#endif
