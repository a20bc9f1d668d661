/* Checking expectations: a validate-only plan, or a mount plan's (expect.c). */
#ifndef BYPASS_EXPECT_H
#define BYPASS_EXPECT_H

#include "helper.h"

/*
 * Opens the plan's expect-root (ds[expect_at]) in the helper's own mount
 * namespace (never joining another), then checks every expectation
 * (ds[expect_at + 1 .. expect_end)) through descriptors resolved inside it:
 * first each lookup and stat (expect-missing, expect-resolve,
 * expect-file/dir/link metadata), then each content digest, both in plan
 * order.  Returns when all hold, having closed what it opened; exits 17
 * (EXIT_STALE) with one line at the first that does not, or when the root
 * cannot be opened.  Creates, mounts and writes nothing.  For a validate-only
 * plan and for a mount plan's expectations alike.
 */
void expect_validate(struct helper *h, const struct plan *plan);

#endif
