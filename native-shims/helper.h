/*
 * What every unit of bypass-mount-helper shares: exit codes, the parsed plan,
 * the run's context, and the report/undo functions.  See README.md for the
 * plan format, the exit codes and the security rules.
 *
 * The helper keeps no mutable global state: everything a run has (options,
 * the root, the undo log) lives in one struct helper that main() owns and
 * passes down.
 */
#ifndef BYPASS_HELPER_H
#define BYPASS_HELPER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROG "bypass-mount-helper"

enum {
	EXIT_OTHER = 1,
	EXIT_PLAN = 10,
	EXIT_SOURCE = 11,
	EXIT_NAMESPACE = 12,
	EXIT_TARGET = 13,
	EXIT_MOUNT = 14,
	EXIT_DEVICE = 15,
	EXIT_LDCONFIG = 16,
	EXIT_STALE = 17,
};

enum kind {
	D_NS, D_NS_PATH, D_ROOT, D_TMPFS, D_MKDIR, D_BIND, D_BIND_INNER, D_DEV, D_LDCONFIG, D_REMOUNT_RO,
	/* expectations: a validate-only plan, or the start of a mount plan (expect.c) */
	D_EXPECT_ROOT, D_EXPECT_MISSING, D_EXPECT_RESOLVE, D_EXPECT_FILE, D_EXPECT_DIR, D_EXPECT_LINK
};

#define MAX_FIELDS 7 /* expect-file */

/* What an expect-* directive records (the path is f[0], the mode in mode). */
struct expect {
	uint64_t ino;
	uint64_t size;
	int64_t mtime_ns;
	bool follow;         /* expect-resolve */
	bool have_sha;       /* expect-resolve always; file/dir/link when not "-" */
	unsigned char sha[32];
	const char *ranges;  /* expect-file with a digest: validated "OFF+LEN[,OFF+LEN...]" */
	uint64_t range_bytes;
};

/* A source object, opened before (bind, dev, ldconfig) or while (bind-inner)
 * performing its directive. */
struct source {
	int fd;                  /* ldconfig: O_RDONLY binary; bind-inner: O_PATH in the root; else -1 */
	int tree_fd;             /* bind/dev/bind-inner: detached clone from open_tree, or -1 */
	dev_t dev;
	ino_t ino;
	mode_t mode;
	unsigned long vfs_flags; /* ST_* flags of the source's mount */
};

struct directive {
	enum kind kind;
	long line;
	char *f[MAX_FIELDS]; /* decoded, validated fields (paths inside the root normalized) */
	unsigned mode; /* tmpfs, mkdir, expect-file/dir/link */
	bool ro;       /* bind, bind-inner */
	long ref;      /* remount-ro: index of its tmpfs directive */
	struct source src;
	struct expect x; /* expect-* */
	bool have_mnt_id; /* tmpfs: id of the mount made, when known */
	uint64_t mnt_id;
};

/* A mount plan: ds[0] is ns/ns-path, ds[1] is root; then, if expect_end is
 * not 0, ds[2] is expect-root and ds[3..expect_end) its expect-* directives,
 * checked first in the host namespace (expect.c); the rest are performed in
 * order.  A validate-only plan: ds[0] is expect-root, the rest
 * (ds[1..expect_end), expect_end == n) are expect-* directives, checked. */
struct plan {
	struct directive *ds;
	size_t n;
	bool validate_only;
	size_t expect_at;  /* index of expect-root (0 in a validate-only plan, 2 in a mount plan) */
	size_t expect_end; /* index after its last expect-* directive; 0 when the plan has no expect-root */
	uint64_t range_bytes; /* the expect-file ranges' lengths, summed over the plan */
};

/* Resolution inside the root (resolve.c). */
struct resolver {
	int rootfd;
	bool walk; /* component walk instead of openat2 (forced, or no openat2 in the kernel) */
};

/* An entry ensure_target created, as the report on stdout gives it: stat'ed
 * through the descriptor of the entry just made, before anything is mounted
 * on it. */
struct created {
	char *path;      /* canonical path inside the root: its first path_len bytes */
	size_t path_len;
	bool owns_path;  /* the entries one ensure_target made share one string */
	uint32_t mode;   /* the whole st_mode */
	uint64_t ino;
	uint64_t size;
	uint32_t dev_major, dev_minor;
	int64_t birth_ns; /* 0 where the file system has no birth time */
};

struct undo {
	enum { U_MOUNT, U_FILE, U_DIR } type;
	int fd;     /* U_MOUNT: fd on the mount's root; else the parent directory */
	char *name; /* U_FILE/U_DIR: name inside the parent */
	dev_t dev;
	ino_t ino;
	struct created c; /* U_FILE/U_DIR */
	bool left;        /* U_FILE/U_DIR: the rollback did not remove it */
};

struct helper {
	bool verbose;
	bool no_mount_api; /* classic mode (forced, or no open_tree in the kernel) */
	struct resolver res;
	const char *root_path; /* the root as the plan names it */
	int devnull;           /* for ldconfig's stdin, or -1 */
	struct undo *undo;
	size_t nundo, capundo;
};

/* ---- report.c ----------------------------------------------------------- */

/* Undoes what was done (undo log, in reverse), reports on stdout the created
 * entries that the rollback left in place, prints the one error line
 * "PROG: LINE: WHAT[ (rollback incomplete)]: REASON" and exits with code.
 * reason NULL means strerror(err). */
void fail(struct helper *h, int code, long line, int err, const char *reason, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 6, 7)));

/* With -v: "PROG: LINE: WHAT" on stderr. */
void vlog(const struct helper *h, long line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

void write_all(int fd, const char *buf, size_t len);

/* --exec-with-channel PROGRAM ARG... (channel.c): starts a helper that waits for
 * a plan on descriptor 3 of PROGRAM, then execs PROGRAM. Returns -1 in that
 * helper (main goes on with the plan on stdin), and an exit status when PROGRAM
 * could not be run. */
int channel_exec(int argc, char **argv);

/* Makes room for one more undo entry (fails with EXIT_OTHER), so that
 * undo_push after the action it records cannot fail. */
void undo_reserve(struct helper *h, long line);
void undo_push_mount(struct helper *h, int mount_fd);
/* Records an entry just created (c->path and name are the log's now). */
void undo_push_created(struct helper *h, bool dir, int parent_fd, char *name, const struct created *c);
/* After success: reports every entry created on stdout, in creation order
 * ("created PATH MODE INO MAJOR MINOR SIZE BIRTH_NS", README.md), then
 * forgets the log (what was done stays), releasing its descriptors and
 * memory.  A write error on stdout ends the report, nothing else. */
void undo_commit(struct helper *h);

#endif
