/* The loader cache: the host's ldconfig, contained, run against the root
 * (ldcache.c). */
#ifndef BYPASS_LDCACHE_H
#define BYPASS_LDCACHE_H

#include "helper.h"

#define LDCONFIG_TIMEOUT_MS 120000

/* Before joining: opens the ldconfig binary (root-owned, not group/other
 * writable, static ELF) into d->src.fd, and /dev/null once. */
void ldcache_open(struct helper *h, struct directive *d);

/* Runs ldconfig -X -i -f CONF -C CACHE chrooted into the root, in a
 * read-only view of it except the cache's tmpfs, with fewer capabilities. */
void do_ldconfig(struct helper *h, struct directive *d);

#endif
