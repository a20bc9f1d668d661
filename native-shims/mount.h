/* Performing the mount directives (mount.c). */
#ifndef BYPASS_MOUNT_H
#define BYPASS_MOUNT_H

#include "helper.h"

/* Before joining: opens the host source of a bind or dev directive, records
 * what it is, and clones its mount (open_tree) unless in classic mode.  A
 * kernel without open_tree switches h to classic mode. */
void mount_open_source(struct helper *h, struct directive *d);

/* After every source is open: if h ended up in classic mode, the clones made
 * before it knew are dropped. */
void mount_drop_clones(struct helper *h, struct plan *plan);

void do_bind(struct helper *h, struct directive *d); /* bind and dev */
void do_bind_inner(struct helper *h, struct directive *d);
void do_tmpfs(struct helper *h, struct directive *d);
void do_remount_ro(struct helper *h, struct directive *d, const struct directive *tmpfs);
void do_mkdir(struct helper *h, struct directive *d);

#endif
