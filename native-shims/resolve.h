/* Resolution and creation inside the root (resolve.c). */
#ifndef BYPASS_RESOLVE_H
#define BYPASS_RESOLVE_H

#include "helper.h"

#include <limits.h>
#include <sys/stat.h>

#define MAX_SYMLINKS 40

/* O_PATH fd of path (normalized, inside the root), following symlinks inside
 * the root, including the last component; -1 with errno.  Switches r to the
 * component walk for good if the kernel lacks openat2. */
int resolve_in_root(struct resolver *r, const char *path);

/* The same, but follow_last false makes a final symlink the result itself
 * (O_NOFOLLOW); symlinks on the way are still followed inside the root. */
int resolve_at(struct resolver *r, const char *path, bool follow_last);

/*
 * The longest prefix of path (normalized) that exists inside the root,
 * resolved once: returns its O_PATH fd and sets *rest to what follows it
 * (without the leading '/'; "" when all of path exists, path + 1 when only
 * the root does).  Only ENOENT makes it try a shorter prefix; any other error
 * returns -1 with errno, and *rest then points at the end of the prefix that
 * failed.
 */
int partial_lookup(struct resolver *r, const char *path, const char **rest);

/* The root as /proc/self/fd names it: what every canonical path starts with. */
struct root_view {
	char prefix[PATH_MAX];
	size_t plen; /* 0 when the root is "/" itself */
};

/* Names rootfd (its /proc/self/fd link text); false with errno when it has no
 * name (ENOENT: deleted). */
bool root_view_init(int rootfd, struct root_view *rv);

/* The canonical path inside the root of what fd is (the root itself is "/")
 * into out (PATH_MAX); false when it has none: outside the root, deleted, or
 * no name to read. */
bool canonical_path(const struct root_view *rv, int fd, char *out);

enum mp_kind { MP_DIR, MP_FILE };

/*
 * O_PATH fd on target (inside the root), creating what is missing: parents
 * as 0755 directories, the last component as a directory (last_mode) or an
 * empty file (0444).  The existing part is resolved once (partial_lookup);
 * each missing component is then created relative to the descriptor of its
 * parent, with mkdirat or O_CREAT|O_EXCL|O_NOFOLLOW, opened with O_NOFOLLOW,
 * and recorded for undo: nothing is resolved from the root again.  Fails
 * (exit 13) rather than create anything through a dangling symlink.
 */
int ensure_target(struct helper *h, long line, const char *path, enum mp_kind kind, mode_t last_mode);

/* Opens the root (a canonical path inside the joined namespace, or the
 * host's for expect-root; no symlink in any component, not the namespace's
 * own "/"); fails with code otherwise (12 for root, 17 for expect-root). */
int open_root(struct helper *h, const struct directive *d, int code);

#endif
