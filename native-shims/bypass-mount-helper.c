/*
 * bypass-mount-helper - performs a mount plan inside a container's mount
 * namespace on behalf of the bypass OCI hook.
 *
 * The Java hook cannot setns(CLONE_NEWNS) (the JVM is multithreaded), so it
 * computes a plan and pipes it to this small single-threaded program, which
 * opens every host-side object first, joins the container's mount namespace,
 * and then performs the directives inside the container's root file system
 * without ever following a symlink of the (possibly hostile) rootfs out of it.
 *
 * See README.md next to this file for the plan format, the exit codes and the
 * security rules.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <linux/capability.h>
#include <linux/magic.h>

/* ------------------------------------------------------------------------ */
/* Kernel interfaces that older headers may lack (own names: no clashes).    */

#ifndef __NR_open_tree
#define __NR_open_tree 428
#endif
#ifndef __NR_move_mount
#define __NR_move_mount 429
#endif
#ifndef __NR_fsopen
#define __NR_fsopen 430
#endif
#ifndef __NR_fsconfig
#define __NR_fsconfig 431
#endif
#ifndef __NR_fsmount
#define __NR_fsmount 432
#endif
#ifndef __NR_close_range
#define __NR_close_range 436
#endif
#ifndef __NR_openat2
#define __NR_openat2 437
#endif
#ifndef __NR_mount_setattr
#define __NR_mount_setattr 442
#endif

#define BP_OPEN_TREE_CLONE 1u
#define BP_OPEN_TREE_CLOEXEC ((unsigned)O_CLOEXEC)
#define BP_MOVE_MOUNT_F_EMPTY_PATH 0x00000004u
#define BP_MOVE_MOUNT_T_EMPTY_PATH 0x00000040u
#define BP_FSOPEN_CLOEXEC 0x00000001u
#define BP_FSMOUNT_CLOEXEC 0x00000001u
#define BP_FSCONFIG_SET_STRING 1u
#define BP_FSCONFIG_CMD_CREATE 6u
#define BP_MOUNT_ATTR_RDONLY 0x00000001ull
#define BP_MOUNT_ATTR_NOSUID 0x00000002ull
#define BP_MOUNT_ATTR_NODEV 0x00000004ull
#define BP_RESOLVE_NO_MAGICLINKS 0x02ull
#define BP_RESOLVE_NO_SYMLINKS 0x04ull
#define BP_RESOLVE_IN_ROOT 0x10ull
#define BP_STATX_MNT_ID 0x00001000u
#define BP_CLOSE_RANGE_CLOEXEC (1u << 2)
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#endif
#ifndef PR_CAP_AMBIENT_CLEAR_ALL
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif
#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif

struct bp_open_how {
	uint64_t flags;
	uint64_t mode;
	uint64_t resolve;
};

struct bp_mount_attr {
	uint64_t attr_set;
	uint64_t attr_clr;
	uint64_t propagation;
	uint64_t userns_fd;
};

/* ------------------------------------------------------------------------ */
/* Limits and exit codes.                                                     */

#define PROG "bypass-mount-helper"
#define PLAN_HEADER "bypass-plan 1"
#define MAX_PLAN_LINES 100000L
#define MAX_LINE_BYTES 16384
#define MAX_PLAN_BYTES (16L << 20)
#define MAX_SYMLINKS 40
#define WALK_MAX_DEPTH 256
#define LDCONFIG_TIMEOUT_MS 120000
#define TMPFS_SIZE "4m"

enum {
	EXIT_PLAN = 10,
	EXIT_SOURCE = 11,
	EXIT_NAMESPACE = 12,
	EXIT_TARGET = 13,
	EXIT_MOUNT = 14,
	EXIT_DEVICE = 15,
	EXIT_LDCONFIG = 16,
	EXIT_OTHER = 1,
};

enum kind { D_NS, D_NS_PATH, D_ROOT, D_TMPFS, D_MKDIR, D_BIND, D_BIND_INNER, D_DEV, D_LDCONFIG, D_REMOUNT_RO };

struct directive {
	enum kind kind;
	long line;
	char *f[3];            /* decoded fields */
	unsigned mode;         /* tmpfs, mkdir */
	bool ro;               /* bind */
	int src_fd;            /* ldconfig: O_RDONLY fd of the binary; bind/dev: O_PATH (classic mode) */
	int tree_fd;           /* bind/dev: detached clone from open_tree, or -1 */
	dev_t src_dev;
	ino_t src_ino;
	mode_t src_mode;
	unsigned long src_vfs_flags; /* ST_* flags of the source's mount */
	uint64_t mnt_id;       /* tmpfs: id of the mount made */
	bool have_mnt_id;
	long ref;              /* remount-ro: index of the tmpfs directive */
};

static struct {
	bool verbose;
	bool no_openat2;
	bool no_mount_api;
} opt;

static int g_rootfd = -1;
static const char *g_root_path;
static int g_devnull = -1;

/* ------------------------------------------------------------------------ */
/* Undo log.                                                                  */

enum undo_type { U_MOUNT, U_FILE, U_DIR };

struct undo {
	enum undo_type type;
	int fd;          /* U_MOUNT: fd on the mount's root; else the parent directory */
	char *name;      /* U_FILE/U_DIR: name inside the parent */
	dev_t dev;
	ino_t ino;
};

static struct undo *g_undo;
static size_t g_nundo, g_capundo;

static void fail(int code, long line, int err, const char *reason, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 5, 6)));

static void undo_reserve(long line)
{
	if (g_nundo < g_capundo)
		return;
	size_t ncap = g_capundo ? g_capundo * 2 : 64;
	struct undo *n = realloc(g_undo, ncap * sizeof *n);
	if (!n)
		fail(EXIT_OTHER, line, ENOMEM, NULL, "cannot grow the undo log");
	g_undo = n;
	g_capundo = ncap;
}

/* Callers reserve first, so this never fails. */
static void undo_push(enum undo_type type, int fd, char *name, const struct stat *st)
{
	struct undo *u = &g_undo[g_nundo++];
	u->type = type;
	u->fd = fd;
	u->name = name;
	u->dev = st ? st->st_dev : 0;
	u->ino = st ? st->st_ino : 0;
}

static int proc_fd_path(char *buf, size_t len, int fd)
{
	int n = snprintf(buf, len, "/proc/self/fd/%d", fd);
	return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

static int undo_all(void)
{
	int failures = 0;
	while (g_nundo > 0) {
		struct undo *u = &g_undo[--g_nundo];
		if (u->type == U_MOUNT) {
			char p[64];
			if (proc_fd_path(p, sizeof p, u->fd) || umount2(p, MNT_DETACH) != 0)
				failures++;
		} else {
			struct stat st;
			if (fstatat(u->fd, u->name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_dev == u->dev &&
			    st.st_ino == u->ino) {
				if (unlinkat(u->fd, u->name, u->type == U_DIR ? AT_REMOVEDIR : 0) != 0)
					failures++;
			} else {
				failures++;
			}
			free(u->name);
		}
		close(u->fd);
	}
	return failures;
}

/* ------------------------------------------------------------------------ */
/* Messages.                                                                  */

static void write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

/* One line, printable: control characters become '?'. */
static void sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			*s = '?';
}

static void fail(int code, long line, int err, const char *reason, const char *fmt, ...)
{
	char what[3072], msg[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	int undo_failures = undo_all();
	if (!reason)
		reason = strerror(err);
	snprintf(msg, sizeof msg - 1, "%s: %ld: %s%s: %s", PROG, line, what,
		 undo_failures ? " (rollback incomplete)" : "", reason);
	sanitize(msg);
	size_t len = strlen(msg);
	msg[len++] = '\n';
	write_all(2, msg, len);
	_exit(code);
}

static void vlog(long line, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void vlog(long line, const char *fmt, ...)
{
	if (!opt.verbose)
		return;
	char what[3072], msg[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof msg - 1, "%s: %ld: %s", PROG, line, what);
	sanitize(msg);
	size_t len = strlen(msg);
	msg[len++] = '\n';
	write_all(2, msg, len);
}

/* ------------------------------------------------------------------------ */
/* Plan parsing.                                                              */

static const struct {
	const char *name;
	enum kind kind;
	int nargs;
} directives[] = {
	{ "ns", D_NS, 1 },          { "ns-path", D_NS_PATH, 1 },
	{ "root", D_ROOT, 1 },      { "tmpfs", D_TMPFS, 2 },
	{ "mkdir", D_MKDIR, 2 },    { "bind", D_BIND, 3 },
	{ "dev", D_DEV, 2 },        { "ldconfig", D_LDCONFIG, 3 },
	{ "remount-ro", D_REMOUNT_RO, 1 }, { "bind-inner", D_BIND_INNER, 3 },
};

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* In-place percent decoding; returns NULL or the reason of the failure. */
static const char *percent_decode(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		unsigned char c = (unsigned char)*r;
		if (c < 0x20 || c == 0x7f)
			return "raw control character (must be percent-encoded)";
		if (c != '%') {
			*w++ = (char)c;
			continue;
		}
		int hi = hexval((unsigned char)r[1]);
		int lo = hi < 0 ? -1 : hexval((unsigned char)r[2]);
		if (hi < 0 || lo < 0)
			return "bad percent escape";
		if (hi == 0 && lo == 0)
			return "NUL byte (%00) in a path";
		*w++ = (char)(hi * 16 + lo);
		r += 2;
	}
	*w = '\0';
	return NULL;
}

/* A host path: absolute, shorter than PATH_MAX. */
static const char *check_host_path(const char *s)
{
	if (s[0] != '/')
		return "not an absolute path";
	if (strlen(s) >= PATH_MAX)
		return "path too long";
	return NULL;
}

/*
 * A path inside the root: absolute; normalized in place to "/a/b" (repeated
 * slashes and "." components dropped); ".." components are refused; the result
 * must name something below the root (not the root itself).
 */
static const char *normalize_root_path(char *s)
{
	if (s[0] != '/')
		return "not an absolute path";
	if (strlen(s) >= PATH_MAX)
		return "path too long";
	char *w = s, *r = s;
	while (*r) {
		while (*r == '/')
			r++;
		if (!*r)
			break;
		char *end = strchrnul(r, '/');
		size_t len = (size_t)(end - r);
		if (len == 1 && r[0] == '.') {
			r = end;
			continue;
		}
		if (len == 2 && r[0] == '.' && r[1] == '.')
			return "\"..\" component in a path inside the root";
		if (len > NAME_MAX)
			return "path component too long";
		*w++ = '/';
		memmove(w, r, len);
		w += len;
		r = end;
	}
	*w = '\0';
	if (w == s)
		return "path names the root itself";
	return NULL;
}

static bool parse_mode(const char *s, unsigned *mode)
{
	size_t len = strlen(s);
	if (len < 1 || len > 5)
		return false;
	unsigned v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '7')
			return false;
		v = v * 8 + (unsigned)(*p - '0');
	}
	if (v > 07777)
		return false;
	*mode = v;
	return true;
}

static bool parse_pid(const char *s, long *pid)
{
	size_t len = strlen(s);
	if (len < 1 || len > 10 || s[0] == '0')
		return false;
	long v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (*p - '0');
	}
	if (v < 1 || v > INT_MAX)
		return false;
	*pid = v;
	return true;
}

static char *read_plan(size_t *len_out)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap + 1);
	if (!buf)
		fail(EXIT_OTHER, 0, ENOMEM, NULL, "cannot allocate the plan buffer");
	for (;;) {
		if (len == cap) {
			if (cap >= (size_t)MAX_PLAN_BYTES)
				fail(EXIT_PLAN, 0, EFBIG, NULL, "plan larger than %ld bytes", MAX_PLAN_BYTES);
			cap *= 2;
			char *n = realloc(buf, cap + 1);
			if (!n)
				fail(EXIT_OTHER, 0, ENOMEM, NULL, "cannot allocate the plan buffer");
			buf = n;
		}
		ssize_t n = read(0, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fail(EXIT_PLAN, 0, errno, NULL, "cannot read the plan from stdin");
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*len_out = len;
	return buf;
}

#define PLAN_ERR(line, ...) fail(EXIT_PLAN, (line), EINVAL, NULL, __VA_ARGS__)

static struct directive *parse_plan(char *buf, size_t len, size_t *count_out)
{
	/* Count lines first: bounded allocation. */
	long nlines = 0;
	for (size_t i = 0; i < len; i++)
		if (buf[i] == '\n')
			nlines++;
	if (len > 0 && buf[len - 1] != '\n')
		nlines++;
	if (nlines > MAX_PLAN_LINES)
		PLAN_ERR(MAX_PLAN_LINES + 1, "plan has more than %ld lines", MAX_PLAN_LINES);
	if (nlines == 0)
		PLAN_ERR(1, "empty plan (missing \"" PLAN_HEADER "\" header)");

	struct directive *ds = calloc((size_t)nlines, sizeof *ds);
	if (!ds)
		fail(EXIT_OTHER, 0, ENOMEM, NULL, "cannot allocate the plan");
	size_t n = 0;
	long lineno = 0;
	char *p = buf, *end = buf + len;
	while (p < end) {
		lineno++;
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *eol = nl ? nl : end;
		size_t llen = (size_t)(eol - p);
		if (llen > MAX_LINE_BYTES)
			PLAN_ERR(lineno, "line longer than %d bytes", MAX_LINE_BYTES);
		if (memchr(p, '\0', llen))
			PLAN_ERR(lineno, "NUL byte in the plan");
		*eol = '\0';
		char *line = p;
		p = eol + 1;

		if (lineno == 1) {
			if (strcmp(line, PLAN_HEADER) == 0)
				continue;
			if (strncmp(line, "bypass-plan ", 12) == 0)
				PLAN_ERR(lineno, "unsupported plan version \"%.32s\"", line + 12);
			PLAN_ERR(lineno, "missing \"" PLAN_HEADER "\" header");
		}
		if (line[0] == '\0' || line[0] == '#')
			continue;

		char *fields[5];
		int nf = 0;
		char *s = line;
		for (;;) {
			if (nf == 5)
				PLAN_ERR(lineno, "too many fields");
			fields[nf++] = s;
			char *sp = strchr(s, ' ');
			if (!sp)
				break;
			*sp = '\0';
			s = sp + 1;
		}
		for (int i = 0; i < nf; i++)
			if (fields[i][0] == '\0')
				PLAN_ERR(lineno, "empty field (fields are separated by exactly one space)");

		int k = -1;
		for (size_t i = 0; i < sizeof directives / sizeof directives[0]; i++)
			if (strcmp(fields[0], directives[i].name) == 0)
				k = (int)i;
		if (k < 0)
			PLAN_ERR(lineno, "unknown directive \"%.64s\"", fields[0]);
		if (nf - 1 != directives[k].nargs)
			PLAN_ERR(lineno, "%s takes %d field(s), got %d", directives[k].name, directives[k].nargs, nf - 1);

		struct directive *d = &ds[n];
		d->kind = directives[k].kind;
		d->line = lineno;
		d->src_fd = -1;
		d->tree_fd = -1;
		d->ref = -1;
		for (int i = 1; i < nf; i++)
			d->f[i - 1] = fields[i];

		/* Ordering: ns first, root second, each exactly once. */
		bool is_ns = d->kind == D_NS || d->kind == D_NS_PATH;
		if (n == 0 && !is_ns)
			PLAN_ERR(lineno, "the first directive must be ns or ns-path");
		if (n > 0 && is_ns)
			PLAN_ERR(lineno, "duplicate ns directive");
		if (n == 1 && d->kind != D_ROOT)
			PLAN_ERR(lineno, "the second directive must be root");
		if (n > 1 && d->kind == D_ROOT)
			PLAN_ERR(lineno, "duplicate root directive");

		const char *why = NULL;
		long pid;
		switch (d->kind) {
		case D_NS:
			if (!parse_pid(d->f[0], &pid))
				PLAN_ERR(lineno, "bad pid \"%.32s\"", d->f[0]);
			break;
		case D_NS_PATH:
			if ((why = percent_decode(d->f[0])) || (why = check_host_path(d->f[0])))
				PLAN_ERR(lineno, "ns-path: %s", why);
			break;
		case D_ROOT:
			if ((why = percent_decode(d->f[0])) || (why = normalize_root_path(d->f[0])))
				PLAN_ERR(lineno, "root: %s", why);
			break;
		case D_TMPFS:
		case D_MKDIR:
			if ((why = percent_decode(d->f[0])) || (why = normalize_root_path(d->f[0])))
				PLAN_ERR(lineno, "target: %s", why);
			if (!parse_mode(d->f[1], &d->mode))
				PLAN_ERR(lineno, "bad octal mode \"%.32s\"", d->f[1]);
			break;
		case D_BIND:
			if ((why = percent_decode(d->f[0])) || (why = check_host_path(d->f[0])))
				PLAN_ERR(lineno, "source: %s", why);
			if ((why = percent_decode(d->f[1])) || (why = normalize_root_path(d->f[1])))
				PLAN_ERR(lineno, "target: %s", why);
			if (strcmp(d->f[2], "ro") == 0)
				d->ro = true;
			else if (strcmp(d->f[2], "rw") != 0)
				PLAN_ERR(lineno, "expected ro or rw, got \"%.32s\"", d->f[2]);
			break;
		case D_BIND_INNER:
			if ((why = percent_decode(d->f[0])) || (why = normalize_root_path(d->f[0])))
				PLAN_ERR(lineno, "source: %s", why);
			if ((why = percent_decode(d->f[1])) || (why = normalize_root_path(d->f[1])))
				PLAN_ERR(lineno, "target: %s", why);
			if (strcmp(d->f[2], "ro") == 0)
				d->ro = true;
			else if (strcmp(d->f[2], "rw") != 0)
				PLAN_ERR(lineno, "expected ro or rw, got \"%.32s\"", d->f[2]);
			break;
		case D_DEV:
			if ((why = percent_decode(d->f[0])) || (why = check_host_path(d->f[0])))
				PLAN_ERR(lineno, "source: %s", why);
			if ((why = percent_decode(d->f[1])) || (why = normalize_root_path(d->f[1])))
				PLAN_ERR(lineno, "target: %s", why);
			break;
		case D_LDCONFIG:
			if ((why = percent_decode(d->f[0])) || (why = check_host_path(d->f[0])))
				PLAN_ERR(lineno, "ldconfig binary: %s", why);
			if ((why = percent_decode(d->f[1])) || (why = normalize_root_path(d->f[1])))
				PLAN_ERR(lineno, "ldconfig configuration: %s", why);
			if ((why = percent_decode(d->f[2])) || (why = normalize_root_path(d->f[2])))
				PLAN_ERR(lineno, "ldconfig cache: %s", why);
			break;
		case D_REMOUNT_RO:
			if ((why = percent_decode(d->f[0])) || (why = normalize_root_path(d->f[0])))
				PLAN_ERR(lineno, "target: %s", why);
			for (size_t i = n; i-- > 2;) {
				if (ds[i].kind == D_TMPFS && strcmp(ds[i].f[0], d->f[0]) == 0) {
					d->ref = (long)i;
					break;
				}
			}
			if (d->ref < 0)
				PLAN_ERR(lineno, "remount-ro target was not mounted by an earlier tmpfs directive");
			break;
		}
		n++;
	}
	if (n == 0)
		PLAN_ERR(lineno, "plan has no ns directive");
	if (n == 1)
		PLAN_ERR(lineno, "plan has no root directive");
	*count_out = n;
	return ds;
}

/* ------------------------------------------------------------------------ */
/* Small helpers.                                                             */

static int dup_cloexec(int fd)
{
	return fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

static int get_mnt_id(int fd, uint64_t *id)
{
#ifdef __NR_statx
	unsigned char buf[256] __attribute__((aligned(8)));
	memset(buf, 0, sizeof buf);
	if (syscall(__NR_statx, fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, BP_STATX_MNT_ID, buf) == 0) {
		uint32_t mask;
		memcpy(&mask, buf, sizeof mask);
		if (mask & BP_STATX_MNT_ID) {
			memcpy(id, buf + 144, sizeof *id); /* offsetof(struct statx, stx_mnt_id) */
			return 0;
		}
	}
#endif
	char path[64], b[2048];
	if (snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd) >= (int)sizeof path)
		return -1;
	int f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return -1;
	ssize_t n = read(f, b, sizeof b - 1);
	close(f);
	if (n <= 0)
		return -1;
	b[n] = '\0';
	char *m = strstr(b, "mnt_id:");
	if (!m)
		return -1;
	*id = strtoull(m + 7, NULL, 10);
	return 0;
}

static long sys_openat2(int dirfd, const char *path, uint64_t flags, uint64_t resolve)
{
	struct bp_open_how how = { .flags = flags, .mode = 0, .resolve = resolve };
	for (int tries = 0; tries < 128; tries++) {
		long fd = syscall(__NR_openat2, dirfd, path, &how, sizeof how);
		if (fd >= 0 || (errno != EAGAIN && errno != EINTR))
			return fd;
	}
	errno = EAGAIN;
	return -1;
}

/* ------------------------------------------------------------------------ */
/* Resolution inside the root.                                               */

/*
 * Fallback resolver for kernels without openat2: walks the path one component
 * at a time with O_PATH|O_NOFOLLOW, reads symlinks itself (an absolute symlink
 * restarts at the root; ".." pops a stack of already opened directories and
 * so can never rise above the root), allows at most 40 symlinks.  The kernel
 * never follows a link on our behalf, so procfs magic links are treated as
 * plain text and cannot escape either.
 */
static int walk_in_root(const char *path)
{
	char rem[2 * PATH_MAX + 2];
	char link[PATH_MAX];
	char name[NAME_MAX + 1];
	int stack[WALK_MAX_DEPTH];
	int depth = 0, links = 0, err = 0;
	size_t len = strlen(path);
	if (len >= sizeof rem) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(rem, path, len + 1);
	char *p = rem;
	for (;;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		char *end = strchrnul(p, '/');
		size_t clen = (size_t)(end - p);
		bool more = false;
		for (const char *q = end; *q; q++)
			if (*q != '/') {
				more = true;
				break;
			}
		bool trailing_slash = *end == '/';
		if (clen == 1 && p[0] == '.') {
			p = end;
			continue;
		}
		if (clen == 2 && p[0] == '.' && p[1] == '.') {
			if (depth > 0)
				close(stack[--depth]);
			p = end;
			continue;
		}
		if (clen > NAME_MAX) {
			err = ENAMETOOLONG;
			goto out_fail;
		}
		memcpy(name, p, clen);
		name[clen] = '\0';
		int cur = depth ? stack[depth - 1] : g_rootfd;
		int fd = openat(cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			err = errno;
			goto out_fail;
		}
		struct stat st;
		if (fstat(fd, &st) != 0) {
			err = errno;
			close(fd);
			goto out_fail;
		}
		if (S_ISLNK(st.st_mode)) {
			if (++links > MAX_SYMLINKS) {
				close(fd);
				err = ELOOP;
				goto out_fail;
			}
			ssize_t n = readlinkat(fd, "", link, sizeof link);
			err = errno;
			close(fd);
			if (n < 0)
				goto out_fail;
			if (n == 0) {
				err = ENOENT;
				goto out_fail;
			}
			if ((size_t)n >= sizeof link) {
				err = ENAMETOOLONG;
				goto out_fail;
			}
			size_t restlen = strlen(end);
			size_t sep = restlen ? 1 : 0;
			if ((size_t)n + sep + restlen >= sizeof rem) {
				err = ENAMETOOLONG;
				goto out_fail;
			}
			memmove(rem + n + sep, end, restlen + 1);
			memcpy(rem, link, (size_t)n);
			if (sep)
				rem[n] = '/';
			p = rem;
			if (link[0] == '/')
				while (depth > 0)
					close(stack[--depth]);
			continue;
		}
		if (!S_ISDIR(st.st_mode) && (more || trailing_slash)) {
			close(fd);
			err = ENOTDIR;
			goto out_fail;
		}
		if (depth == WALK_MAX_DEPTH) {
			close(fd);
			err = ENAMETOOLONG;
			goto out_fail;
		}
		stack[depth++] = fd;
		p = end;
	}
	if (depth == 0)
		return dup_cloexec(g_rootfd);
	int result = stack[--depth];
	while (depth > 0)
		close(stack[--depth]);
	return result;
out_fail:
	while (depth > 0)
		close(stack[--depth]);
	errno = err;
	return -1;
}

/* O_PATH fd of path (normalized, inside the root); follows symlinks inside the root. */
static int resolve_in_root(const char *path)
{
	if (!opt.no_openat2) {
		long fd = sys_openat2(g_rootfd, path, O_PATH | O_CLOEXEC, BP_RESOLVE_IN_ROOT | BP_RESOLVE_NO_MAGICLINKS);
		if (fd >= 0 || errno != ENOSYS)
			return (int)fd;
		opt.no_openat2 = true; /* kernel older than 5.6 */
	}
	return walk_in_root(path);
}

enum mp_kind { MP_DIR, MP_FILE };

/*
 * Returns an O_PATH fd on target (inside the root), creating what is missing:
 * parents as 0755 directories, the last component as a directory (last_mode)
 * or an empty file (0444).  Everything is created relative to an already
 * resolved parent fd with O_EXCL/O_NOFOLLOW semantics and recorded for undo.
 */
static int ensure_target(long line, const char *path, enum mp_kind kind, mode_t last_mode)
{
	int fd = resolve_in_root(path);
	if (fd >= 0)
		return fd;
	if (errno != ENOENT)
		fail(EXIT_TARGET, line, errno, NULL, "cannot resolve %s inside the root", path);

	char prefix[PATH_MAX];
	char name[NAME_MAX + 1];
	int parent = dup_cloexec(g_rootfd);
	if (parent < 0)
		fail(EXIT_OTHER, line, errno, NULL, "dup");
	const char *p = path;
	while (*p) {
		p++; /* normalized: exactly one '/' */
		const char *end = strchrnul(p, '/');
		size_t plen = (size_t)(end - path), nlen = (size_t)(end - p);
		memcpy(prefix, path, plen);
		prefix[plen] = '\0';
		memcpy(name, p, nlen);
		name[nlen] = '\0';
		bool last = *end == '\0';

		fd = resolve_in_root(prefix);
		if (fd < 0) {
			if (errno != ENOENT)
				fail(EXIT_TARGET, line, errno, NULL, "cannot resolve %s inside the root", prefix);
			bool mkfile = last && kind == MP_FILE;
			mode_t mode = last ? last_mode : 0755;
			undo_reserve(line);
			char *copy = strdup(name);
			if (!copy)
				fail(EXIT_OTHER, line, ENOMEM, NULL, "strdup");
			if (mkfile) {
				int cfd = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
						 mode);
				if (cfd < 0)
					goto create_failed;
				close(cfd);
			} else if (mkdirat(parent, name, mode) != 0) {
				goto create_failed;
			}
			fd = openat(parent, name, O_PATH | O_NOFOLLOW | O_CLOEXEC | (mkfile ? 0 : O_DIRECTORY));
			struct stat st;
			if (fd < 0 || fstat(fd, &st) != 0)
				fail(EXIT_TARGET, line, errno, NULL, "cannot open the newly created %s", prefix);
			if (mkfile ? !S_ISREG(st.st_mode) : !S_ISDIR(st.st_mode))
				fail(EXIT_TARGET, line, EEXIST, NULL, "%s was replaced while being created", prefix);
			int pdup = dup_cloexec(parent);
			if (pdup < 0)
				fail(EXIT_OTHER, line, errno, NULL, "dup");
			undo_push(mkfile ? U_FILE : U_DIR, pdup, copy, &st);
			vlog(line, "created %s %s (mode %04o)", mkfile ? "file" : "directory", prefix, (unsigned)mode);
			goto next;
create_failed:;
			int err = errno;
			free(copy);
			if (err == EEXIST)
				fail(EXIT_TARGET, line, err, NULL,
				     "%s exists but does not resolve inside the root (dangling symlink?)", prefix);
			fail(EXIT_TARGET, line, err, NULL, "cannot create %s", prefix);
		} else if (!last) {
			struct stat st;
			if (fstat(fd, &st) != 0)
				fail(EXIT_TARGET, line, errno, NULL, "fstat %s", prefix);
			if (!S_ISDIR(st.st_mode))
				fail(EXIT_TARGET, line, ENOTDIR, NULL, "cannot resolve %s inside the root", prefix);
		}
next:
		close(parent);
		parent = fd;
		p = end;
	}
	return parent;
}

/* ------------------------------------------------------------------------ */
/* Mounting.                                                                  */

static unsigned long vfs_to_ms(unsigned long f)
{
	unsigned long ms = 0;
	if (f & ST_RDONLY)
		ms |= MS_RDONLY;
	if (f & ST_NOEXEC)
		ms |= MS_NOEXEC;
	return ms;
}

/*
 * After a mount onto target: resolve target afresh inside the root and check
 * that it now leads to the mount just made.  Returns the fresh fd (on the
 * mount's root).  A rename race can therefore not leave our mount somewhere
 * else unnoticed.
 */
static int check_mounted(const char *target, bool have_id, uint64_t want_id, uint64_t pre_id,
			 const struct directive *src, bool tmpfs)
{
	int fd = resolve_in_root(target);
	if (fd < 0)
		return -1;
	uint64_t id;
	bool got_id = get_mnt_id(fd, &id) == 0;
	bool ok;
	if (have_id && got_id) {
		ok = id == want_id;
	} else {
		ok = !got_id || id != pre_id;
		if (tmpfs) {
			struct statfs sfs;
			ok = ok && fstatfs(fd, &sfs) == 0 && sfs.f_type == TMPFS_MAGIC;
		} else {
			struct stat st;
			ok = ok && fstat(fd, &st) == 0 && st.st_dev == src->src_dev && st.st_ino == src->src_ino;
		}
	}
	if (!ok) {
		close(fd);
		errno = EXDEV;
		return -1;
	}
	return fd;
}

/* bind and dev. */
static void do_bind(struct directive *d)
{
	bool dev = d->kind == D_DEV;
	const char *source = d->f[0], *target = d->f[1];
	int mcode = dev ? EXIT_DEVICE : EXIT_MOUNT;
	bool ro = dev || d->ro || (d->src_vfs_flags & ST_RDONLY);
	enum mp_kind kind = S_ISDIR(d->src_mode) ? MP_DIR : MP_FILE;
	int tfd = ensure_target(d->line, target, kind, kind == MP_DIR ? 0755 : 0444);
	unsigned long remount = MS_REMOUNT | MS_BIND | MS_NOSUID | (dev ? 0 : MS_NODEV) | (ro ? MS_RDONLY : 0) |
				vfs_to_ms(d->src_vfs_flags & ST_NOEXEC);
	char tpath[64], spath[64];
	uint64_t pre_id = 0;
	get_mnt_id(tfd, &pre_id);
	undo_reserve(d->line);

	if (d->tree_fd >= 0) {
		/* New mount API: attributes on the detached clone, then attach by fd. */
		bool classic_remount = false;
		struct bp_mount_attr attr = {
			.attr_set = BP_MOUNT_ATTR_NOSUID | (dev ? 0 : BP_MOUNT_ATTR_NODEV) | (ro ? BP_MOUNT_ATTR_RDONLY : 0),
			.attr_clr = dev ? BP_MOUNT_ATTR_NODEV : 0,
		};
		if (syscall(__NR_mount_setattr, d->tree_fd, "", AT_EMPTY_PATH, &attr, sizeof attr) != 0) {
			if (errno != ENOSYS)
				fail(mcode, d->line, errno, NULL, "cannot set the attributes of the bind of %s", source);
			classic_remount = true; /* 5.2 <= kernel < 5.12 */
		}
		uint64_t tree_id = 0;
		bool have_id = get_mnt_id(d->tree_fd, &tree_id) == 0;
		if (syscall(__NR_move_mount, d->tree_fd, "", tfd, "", BP_MOVE_MOUNT_F_EMPTY_PATH | BP_MOVE_MOUNT_T_EMPTY_PATH) != 0)
			fail(mcode, d->line, errno, NULL, "cannot bind %s onto %s", source, target);
		int mfd = d->tree_fd;
		d->tree_fd = -1;
		undo_push(U_MOUNT, mfd, NULL, NULL);
		if (classic_remount) {
			if (proc_fd_path(tpath, sizeof tpath, mfd) || mount(NULL, tpath, NULL, remount, NULL) != 0)
				fail(mcode, d->line, errno, NULL, "cannot remount the bind on %s", target);
		}
		int cfd = check_mounted(target, have_id, tree_id, pre_id, d, false);
		if (cfd < 0)
			fail(EXIT_TARGET, d->line, errno, NULL, "the bind on %s is not reachable at its target inside the root",
			     target);
		close(cfd);
	} else {
		/* Classic: the source must be reopened inside this namespace (a bind
		 * from a mount of another namespace is refused by the kernel); it must
		 * be the very object opened before joining. */
		int sfd = d->kind == D_BIND_INNER ? dup_cloexec(d->src_fd) : open(source, O_PATH | O_CLOEXEC);
		struct stat st;
		if (sfd < 0 || fstat(sfd, &st) != 0)
			fail(EXIT_SOURCE, d->line, errno, NULL, "cannot open %s inside the container namespace", source);
		if (st.st_dev != d->src_dev || st.st_ino != d->src_ino)
			fail(EXIT_SOURCE, d->line, EXDEV, "not the same file as on the host",
			     "source %s inside the container namespace", source);
		if (proc_fd_path(spath, sizeof spath, sfd) || proc_fd_path(tpath, sizeof tpath, tfd) ||
		    mount(spath, tpath, NULL, MS_BIND, NULL) != 0)
			fail(mcode, d->line, errno, NULL, "cannot bind %s onto %s", source, target);
		close(sfd);
		int mfd = check_mounted(target, false, 0, pre_id, d, false);
		if (mfd < 0)
			fail(EXIT_TARGET, d->line, errno, NULL,
			     "the bind on %s is not reachable at its target inside the root (it could not be undone)", target);
		undo_push(U_MOUNT, mfd, NULL, NULL);
		if (proc_fd_path(tpath, sizeof tpath, mfd) || mount(NULL, tpath, NULL, remount, NULL) != 0)
			fail(mcode, d->line, errno, NULL, "cannot remount the bind on %s", target);
	}
	close(tfd);
	vlog(d->line, "%s %s -> %s (%s,nosuid%s)", dev ? "dev" : "bind", source, target, ro ? "ro" : "rw",
	     dev ? "" : ",nodev");
}

/*
 * bind-inner: a file the plan made inside the root (e.g. the ld.so.cache that
 * ldconfig wrote into bypass' tmpfs) bound onto another path of the root.  The
 * source is resolved inside the root like any target, then bound like a host
 * source.
 */
static void do_bind_inner(struct directive *d)
{
	int sfd = resolve_in_root(d->f[0]);
	struct stat st;
	struct statvfs sv;
	if (sfd < 0 || fstat(sfd, &st) != 0 || fstatvfs(sfd, &sv) != 0)
		fail(EXIT_TARGET, d->line, errno, NULL, "cannot resolve %s inside the root", d->f[0]);
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		fail(EXIT_TARGET, d->line, EINVAL, NULL, "%s is neither a file nor a directory", d->f[0]);
	d->src_dev = st.st_dev;
	d->src_ino = st.st_ino;
	d->src_mode = st.st_mode;
	d->src_vfs_flags = sv.f_flag;
	d->src_fd = sfd;
	if (!opt.no_mount_api) {
		long t = syscall(__NR_open_tree, sfd, "", BP_OPEN_TREE_CLONE | BP_OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
		if (t < 0)
			fail(EXIT_MOUNT, d->line, errno, NULL, "cannot clone the mount of %s", d->f[0]);
		d->tree_fd = (int)t;
	}
	do_bind(d);
	close(sfd);
	d->src_fd = -1;
}

static void do_tmpfs(struct directive *d)
{
	const char *target = d->f[0];
	int tfd = ensure_target(d->line, target, MP_DIR, 0755);
	char mode[16], tpath[64];
	snprintf(mode, sizeof mode, "0%o", d->mode);
	uint64_t pre_id = 0;
	get_mnt_id(tfd, &pre_id);
	undo_reserve(d->line);

	bool classic = opt.no_mount_api;
	if (!classic) {
		int fsfd = (int)syscall(__NR_fsopen, "tmpfs", BP_FSOPEN_CLOEXEC);
		if (fsfd < 0 && errno == ENOSYS) {
			classic = true;
		} else {
			if (fsfd < 0)
				fail(EXIT_MOUNT, d->line, errno, NULL, "fsopen tmpfs");
			if (syscall(__NR_fsconfig, fsfd, BP_FSCONFIG_SET_STRING, "size", TMPFS_SIZE, 0) != 0 ||
			    syscall(__NR_fsconfig, fsfd, BP_FSCONFIG_SET_STRING, "mode", mode, 0) != 0 ||
			    syscall(__NR_fsconfig, fsfd, BP_FSCONFIG_CMD_CREATE, NULL, NULL, 0) != 0)
				fail(EXIT_MOUNT, d->line, errno, NULL, "cannot create a tmpfs for %s", target);
			int mfd = (int)syscall(__NR_fsmount, fsfd, BP_FSMOUNT_CLOEXEC,
					       (unsigned)(BP_MOUNT_ATTR_NOSUID | BP_MOUNT_ATTR_NODEV));
			if (mfd < 0)
				fail(EXIT_MOUNT, d->line, errno, NULL, "fsmount tmpfs for %s", target);
			close(fsfd);
			d->have_mnt_id = get_mnt_id(mfd, &d->mnt_id) == 0;
			if (syscall(__NR_move_mount, mfd, "", tfd, "", BP_MOVE_MOUNT_F_EMPTY_PATH | BP_MOVE_MOUNT_T_EMPTY_PATH) != 0)
				fail(EXIT_MOUNT, d->line, errno, NULL, "cannot mount a tmpfs on %s", target);
			undo_push(U_MOUNT, mfd, NULL, NULL);
			int cfd = check_mounted(target, d->have_mnt_id, d->mnt_id, pre_id, d, true);
			if (cfd < 0)
				fail(EXIT_TARGET, d->line, errno, NULL,
				     "the tmpfs on %s is not reachable at its target inside the root", target);
			close(cfd);
		}
	}
	if (classic) {
		char data[64];
		snprintf(data, sizeof data, "size=%s,mode=%s", TMPFS_SIZE, mode);
		if (proc_fd_path(tpath, sizeof tpath, tfd) ||
		    mount("tmpfs", tpath, "tmpfs", MS_NOSUID | MS_NODEV, data) != 0)
			fail(EXIT_MOUNT, d->line, errno, NULL, "cannot mount a tmpfs on %s", target);
		int mfd = check_mounted(target, false, 0, pre_id, d, true);
		if (mfd < 0)
			fail(EXIT_TARGET, d->line, errno, NULL,
			     "the tmpfs on %s is not reachable at its target inside the root (it could not be undone)", target);
		undo_push(U_MOUNT, mfd, NULL, NULL);
		d->have_mnt_id = get_mnt_id(mfd, &d->mnt_id) == 0;
	}
	close(tfd);
	vlog(d->line, "tmpfs on %s (size=%s,mode=%s,nosuid,nodev)", target, TMPFS_SIZE, mode);
}

static void do_remount_ro(struct directive *d, const struct directive *tmpfs)
{
	const char *target = d->f[0];
	int fd = resolve_in_root(target);
	if (fd < 0)
		fail(EXIT_TARGET, d->line, errno, NULL, "cannot resolve %s inside the root", target);
	uint64_t id;
	if (tmpfs->have_mnt_id && (get_mnt_id(fd, &id) != 0 || id != tmpfs->mnt_id))
		fail(EXIT_MOUNT, d->line, EINVAL, NULL, "%s is no longer the tmpfs mounted at line %ld", target,
		     tmpfs->line);
	struct statfs sfs;
	if (fstatfs(fd, &sfs) != 0 || sfs.f_type != TMPFS_MAGIC)
		fail(EXIT_MOUNT, d->line, EINVAL, NULL, "%s is not a tmpfs", target);
	bool done = false;
	if (!opt.no_mount_api) {
		struct bp_mount_attr attr = { .attr_set = BP_MOUNT_ATTR_RDONLY };
		if (syscall(__NR_mount_setattr, fd, "", AT_EMPTY_PATH, &attr, sizeof attr) == 0)
			done = true;
		else if (errno != ENOSYS)
			fail(EXIT_MOUNT, d->line, errno, NULL, "cannot remount %s read-only", target);
	}
	if (!done) {
		char p[64];
		if (proc_fd_path(p, sizeof p, fd) ||
		    mount(NULL, p, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) != 0)
			fail(EXIT_MOUNT, d->line, errno, NULL, "cannot remount %s read-only", target);
	}
	close(fd);
	vlog(d->line, "remounted %s read-only", target);
}

static void do_mkdir(struct directive *d)
{
	int fd = ensure_target(d->line, d->f[0], MP_DIR, d->mode);
	struct stat st;
	if (fstat(fd, &st) != 0)
		fail(EXIT_TARGET, d->line, errno, NULL, "fstat %s", d->f[0]);
	if (!S_ISDIR(st.st_mode))
		fail(EXIT_TARGET, d->line, ENOTDIR, NULL, "%s exists and is not a directory", d->f[0]);
	close(fd);
	vlog(d->line, "directory %s present", d->f[0]);
}

/* ------------------------------------------------------------------------ */
/* ldconfig.                                                                  */

/* The host ldconfig runs chrooted into the hostile rootfs: it must be a
 * static ELF (an interpreter would be loaded from inside the root). */
static const char *check_static_elf(int fd)
{
	unsigned char ident[EI_NIDENT];
	if (pread(fd, ident, sizeof ident, 0) != (ssize_t)sizeof ident || memcmp(ident, ELFMAG, SELFMAG) != 0)
		return "not an ELF executable";
#if __BYTE_ORDER == __LITTLE_ENDIAN
	if (ident[EI_DATA] != ELFDATA2LSB)
		return "ELF of foreign byte order";
#else
	if (ident[EI_DATA] != ELFDATA2MSB)
		return "ELF of foreign byte order";
#endif
	uint64_t phoff;
	unsigned phnum, phentsize, type;
	if (ident[EI_CLASS] == ELFCLASS64) {
		Elf64_Ehdr eh;
		if (pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh)
			return "truncated ELF header";
		phoff = eh.e_phoff;
		phnum = eh.e_phnum;
		phentsize = eh.e_phentsize;
		type = eh.e_type;
		if (phentsize != sizeof(Elf64_Phdr))
			return "bad ELF program header size";
	} else if (ident[EI_CLASS] == ELFCLASS32) {
		Elf32_Ehdr eh;
		if (pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh)
			return "truncated ELF header";
		phoff = eh.e_phoff;
		phnum = eh.e_phnum;
		phentsize = eh.e_phentsize;
		type = eh.e_type;
		if (phentsize != sizeof(Elf32_Phdr))
			return "bad ELF program header size";
	} else {
		return "unknown ELF class";
	}
	if (type != ET_EXEC && type != ET_DYN)
		return "ELF file is not an executable";
	if (phnum == 0 || phnum > 1024)
		return "bad ELF program header count";
	for (unsigned i = 0; i < phnum; i++) {
		uint32_t ptype;
		if (pread(fd, &ptype, sizeof ptype, (off_t)(phoff + (uint64_t)i * phentsize)) != (ssize_t)sizeof ptype)
			return "truncated ELF program headers";
		if (ptype == PT_INTERP)
			return "dynamically linked (has an ELF interpreter); a static ldconfig is required";
	}
	return NULL;
}

static void child_fail(const char *what)
{
	char msg[512];
	int n = snprintf(msg, sizeof msg, "%s: %s\n", what, strerror(errno));
	if (n > 0)
		write_all(2, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
	_exit(127);
}

/* Keep only what ldconfig needs to read libraries and write its cache. */
static void drop_capabilities(void)
{
	const uint64_t keep = (1ull << CAP_DAC_OVERRIDE) | (1ull << CAP_DAC_READ_SEARCH) | (1ull << CAP_FOWNER);
	for (int cap = 0; cap < 64; cap++) {
		if (keep & (1ull << cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
			if (errno == EINVAL)
				break; /* beyond the kernel's last capability */
			child_fail("cannot drop capabilities");
		}
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
		child_fail("cannot clear ambient capabilities");
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];
	if (syscall(SYS_capget, &hdr, data) != 0)
		child_fail("capget");
	for (int i = 0; i < 2; i++) {
		uint32_t k = (uint32_t)(keep >> (32 * i));
		data[i].inheritable = 0;
		data[i].permitted &= k;
		data[i].effective &= k;
	}
	if (syscall(SYS_capset, &hdr, data) != 0)
		child_fail("capset");
}

/*
 * ldconfig writes more than the cache it is asked for (its aux cache under
 * /var/cache/ldconfig, which it even creates).  So it runs in a private mount
 * namespace of its own where the whole root is read-only, except the mount that
 * holds the cache's directory (bypass' tmpfs): the image on disk is never
 * written, and nothing of this view is visible to the container.
 */
static void readonly_root_view(const struct directive *d)
{
	if (unshare(CLONE_NEWNS) != 0)
		child_fail("cannot create a private mount namespace for ldconfig");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		child_fail("cannot make ldconfig's mount namespace private");
	/* The root fd names the container namespace's mount; reopen the root in
	 * this copy of it, and make sure it is the same directory. */
	int fd = (int)sys_openat2(AT_FDCWD, g_root_path, O_PATH | O_DIRECTORY | O_CLOEXEC,
				  BP_RESOLVE_NO_SYMLINKS | BP_RESOLVE_NO_MAGICLINKS);
	if (fd < 0 && errno == ENOSYS)
		fd = open(g_root_path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat a, b;
	if (fd < 0 || fstat(fd, &a) != 0 || fstat(g_rootfd, &b) != 0)
		child_fail("cannot reopen the root for ldconfig");
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
		errno = EXDEV;
		child_fail("the root changed while ldconfig was prepared");
	}
	/* A bind of the root onto itself makes it a mount of its own (it may be a
	 * plain directory), whose whole tree can then be made read-only. */
	char path[64];
	if (proc_fd_path(path, sizeof path, fd) || mount(path, path, NULL, MS_BIND | MS_REC, NULL) != 0)
		child_fail("cannot bind the root for ldconfig");
	close(fd);
	fd = (int)sys_openat2(AT_FDCWD, g_root_path, O_PATH | O_DIRECTORY | O_CLOEXEC,
			      BP_RESOLVE_NO_SYMLINKS | BP_RESOLVE_NO_MAGICLINKS);
	if (fd < 0 && errno == ENOSYS)
		fd = open(g_root_path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &a) != 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		child_fail("cannot reopen the root for ldconfig");
	struct bp_mount_attr ro = { .attr_set = BP_MOUNT_ATTR_RDONLY };
	if (syscall(__NR_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &ro, sizeof ro) != 0) {
		/* Kernels before 5.12: the root's own mount read-only (submounts stay as they are). */
		if (errno != ENOSYS || proc_fd_path(path, sizeof path, fd) ||
		    mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) != 0)
			child_fail("cannot make the root read-only for ldconfig");
	}
	g_rootfd = fd; /* this child's own copy: the parent keeps its fd */
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", d->f[2]);
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	int cfd = resolve_in_root(dir);
	if (cfd < 0)
		child_fail("cannot resolve the cache directory inside the root");
	uint64_t root_id = 0, dir_id = 1;
	if (get_mnt_id(g_rootfd, &root_id) == 0 && get_mnt_id(cfd, &dir_id) == 0 && root_id == dir_id) {
		errno = EROFS;
		child_fail("the cache directory must be a tmpfs of the plan, not the image");
	}
	struct bp_mount_attr rw = { .attr_clr = BP_MOUNT_ATTR_RDONLY };
	if (syscall(__NR_mount_setattr, cfd, "", AT_EMPTY_PATH, &rw, sizeof rw) != 0) {
		char path[64];
		if (errno != ENOSYS || proc_fd_path(path, sizeof path, cfd) ||
		    mount(NULL, path, NULL, MS_REMOUNT | MS_BIND, NULL) != 0)
			child_fail("cannot make the cache directory writable for ldconfig (it must be the root of a tmpfs of the plan)");
	}
	close(cfd);
}

static void ldconfig_child(const struct directive *d, int out_fd) __attribute__((noreturn));
static void ldconfig_child(const struct directive *d, int out_fd)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (dup2(g_devnull, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
		_exit(127);
	/* Chroot by fd (the very directory opened and checked), so that no path
	 * is resolved again; then give up CAP_SYS_CHROOT (no chroot escape) and
	 * CAP_SYS_PTRACE & co. (procfs magic links of processes holding more
	 * capabilities, e.g. /proc/1/root in a procfs inside the root, are refused). */
	readonly_root_view(d);
	if (fchdir(g_rootfd) != 0 || chroot(".") != 0 || chdir("/") != 0)
		child_fail("cannot chroot into the root");
	drop_capabilities();
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		child_fail("cannot set no_new_privs");
	syscall(__NR_close_range, 3u, ~0u, BP_CLOSE_RANGE_CLOEXEC);
	char *const argv[] = { (char *)"ldconfig", (char *)"-X", (char *)"-i", (char *)"-f", d->f[1], (char *)"-C", d->f[2], NULL };
	char *const envp[] = { (char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin", (char *)"LC_ALL=C", NULL };
#ifdef __NR_execveat
	syscall(__NR_execveat, d->src_fd, "", argv, envp, AT_EMPTY_PATH);
#else
	fexecve(d->src_fd, argv, envp);
#endif
	child_fail("cannot execute ldconfig");
	_exit(127);
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void do_ldconfig(struct directive *d)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) != 0)
		fail(EXIT_OTHER, d->line, errno, NULL, "pipe");
	pid_t pid = fork();
	if (pid < 0)
		fail(EXIT_OTHER, d->line, errno, NULL, "fork");
	if (pid == 0)
		ldconfig_child(d, pfd[1]);
	close(pfd[1]);

	char tail[512];
	size_t tlen = 0;
	bool timed_out = false;
	long deadline = now_ms() + LDCONFIG_TIMEOUT_MS;
	for (;;) {
		long left = deadline - now_ms();
		if (left <= 0) {
			kill(pid, SIGKILL);
			timed_out = true;
			break;
		}
		struct pollfd pf = { .fd = pfd[0], .events = POLLIN };
		int r = poll(&pf, 1, (int)left);
		if (r < 0 && errno != EINTR)
			break;
		if (r <= 0)
			continue;
		char buf[4096];
		ssize_t n = read(pfd[0], buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (opt.verbose)
			write_all(2, buf, (size_t)n);
		/* keep the last bytes of the output for the error message */
		size_t take = (size_t)n > sizeof tail ? sizeof tail : (size_t)n;
		if (tlen + take > sizeof tail) {
			size_t drop = tlen + take - sizeof tail;
			memmove(tail, tail + drop, tlen - drop);
			tlen -= drop;
		}
		memcpy(tail + tlen, buf + n - take, take);
		tlen += take;
	}
	close(pfd[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			fail(EXIT_OTHER, d->line, errno, NULL, "waitpid");
	}
	if (timed_out)
		fail(EXIT_LDCONFIG, d->line, ETIMEDOUT, NULL, "ldconfig %s did not finish within %d s", d->f[0],
		     LDCONFIG_TIMEOUT_MS / 1000);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		vlog(d->line, "ldconfig -X -f %s -C %s done", d->f[1], d->f[2]);
		return;
	}
	/* last non-empty line of its output */
	while (tlen > 0 && (tail[tlen - 1] == '\n' || tail[tlen - 1] == '\r'))
		tlen--;
	size_t start = tlen;
	while (start > 0 && tail[start - 1] != '\n')
		start--;
	char lastline[512];
	snprintf(lastline, sizeof lastline, "%.*s", (int)(tlen - start), tail + start);
	char reason[64];
	if (WIFEXITED(status))
		snprintf(reason, sizeof reason, "exit status %d", WEXITSTATUS(status));
	else
		snprintf(reason, sizeof reason, "killed by signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	fail(EXIT_LDCONFIG, d->line, 0, reason, "ldconfig %s failed [%s]", d->f[0], lastline);
}

/* ------------------------------------------------------------------------ */
/* Before joining: open every host object.                                   */

static void open_host_sources(struct directive *ds, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct directive *d = &ds[i];
		if (d->kind == D_BIND || d->kind == D_DEV) {
			bool dev = d->kind == D_DEV;
			int fd = open(d->f[0], O_PATH | O_CLOEXEC);
			struct stat st;
			struct statvfs sv;
			if (fd < 0 || fstat(fd, &st) != 0 || fstatvfs(fd, &sv) != 0)
				fail(EXIT_SOURCE, d->line, errno, NULL, "cannot open source %s", d->f[0]);
			if (dev && !S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
				fail(EXIT_DEVICE, d->line, ENODEV, NULL, "%s is not a device node", d->f[0]);
			d->src_dev = st.st_dev;
			d->src_ino = st.st_ino;
			d->src_mode = st.st_mode;
			d->src_vfs_flags = sv.f_flag;
			if (!opt.no_mount_api) {
				long t = syscall(__NR_open_tree, fd, "",
						 BP_OPEN_TREE_CLONE | BP_OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
				if (t >= 0)
					d->tree_fd = (int)t;
				else if (errno == ENOSYS)
					opt.no_mount_api = true; /* kernel older than 5.2 */
				else
					fail(EXIT_SOURCE, d->line, errno, NULL, "cannot clone the mount of %s", d->f[0]);
			}
			close(fd); /* classic mode reopens by path after joining and compares dev/ino */
		} else if (d->kind == D_LDCONFIG) {
			int fd = open(d->f[0], O_RDONLY | O_CLOEXEC | O_NOCTTY);
			struct stat st;
			if (fd < 0 || fstat(fd, &st) != 0)
				fail(EXIT_SOURCE, d->line, errno, NULL, "cannot open ldconfig %s", d->f[0]);
			if (!S_ISREG(st.st_mode) || !(st.st_mode & 0111))
				fail(EXIT_SOURCE, d->line, EACCES, NULL, "ldconfig %s is not an executable file", d->f[0]);
			if (st.st_uid != 0 || (st.st_mode & 022))
				fail(EXIT_SOURCE, d->line, EPERM, NULL,
				     "ldconfig %s must be owned by root and not group/other-writable", d->f[0]);
			const char *why = check_static_elf(fd);
			if (why)
				fail(EXIT_SOURCE, d->line, ENOEXEC, why, "ldconfig %s", d->f[0]);
			d->src_fd = fd;
			if (g_devnull < 0) {
				g_devnull = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
				struct stat ns;
				if (g_devnull < 0 || fstat(g_devnull, &ns) != 0)
					fail(EXIT_OTHER, d->line, errno, NULL, "cannot open /dev/null");
				if (!S_ISCHR(ns.st_mode))
					fail(EXIT_OTHER, d->line, ENODEV, NULL, "/dev/null is not a character device");
			}
		}
	}
	/* If the kernel turned out to lack open_tree, earlier clones are not used. */
	if (opt.no_mount_api)
		for (size_t i = 0; i < n; i++)
			if (ds[i].tree_fd >= 0) {
				close(ds[i].tree_fd);
				ds[i].tree_fd = -1;
			}
}

static int open_namespace(const struct directive *d)
{
	char path[PATH_MAX];
	if (d->kind == D_NS) {
		snprintf(path, sizeof path, "/proc/%s/ns/mnt", d->f[0]);
	} else {
		snprintf(path, sizeof path, "%s", d->f[0]);
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		fail(EXIT_NAMESPACE, d->line, errno, NULL, "cannot open mount namespace %s", path);
	struct stat a, b;
	if (fstat(fd, &a) != 0 || stat("/proc/self/ns/mnt", &b) != 0)
		fail(EXIT_NAMESPACE, d->line, errno, NULL, "cannot stat mount namespace %s", path);
	if (a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		fail(EXIT_NAMESPACE, d->line, EPERM, NULL, "refusing to join the helper's own mount namespace (%s)", path);
	return fd;
}

/* The root path must be free of symlinks (Java passes a canonical path), so
 * that a rename/symlink swap of a user-owned parent is refused. */
static int open_root(const struct directive *d)
{
	const char *root = d->f[0];
	int fd = -1;
	if (!opt.no_openat2) {
		fd = (int)sys_openat2(AT_FDCWD, root, O_PATH | O_DIRECTORY | O_CLOEXEC,
				      BP_RESOLVE_NO_SYMLINKS | BP_RESOLVE_NO_MAGICLINKS);
		if (fd < 0 && errno != ENOSYS)
			fail(EXIT_NAMESPACE, d->line, errno, NULL, "cannot open root %s (it must be a canonical path)", root);
		if (fd < 0)
			opt.no_openat2 = true;
	}
	if (fd < 0) {
		fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			fail(EXIT_NAMESPACE, d->line, errno, NULL, "cannot open /");
		const char *p = root;
		char name[NAME_MAX + 1];
		while (*p) {
			p++;
			const char *end = strchrnul(p, '/');
			memcpy(name, p, (size_t)(end - p));
			name[end - p] = '\0';
			int nfd = openat(fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
			struct stat st;
			if (nfd < 0 || fstat(nfd, &st) != 0)
				fail(EXIT_NAMESPACE, d->line, errno, NULL, "cannot open root %s", root);
			if (!S_ISDIR(st.st_mode))
				fail(EXIT_NAMESPACE, d->line, S_ISLNK(st.st_mode) ? ELOOP : ENOTDIR, NULL,
				     "cannot open root %s (it must be a canonical path)", root);
			close(fd);
			fd = nfd;
			p = end;
		}
	}
	struct stat rs, ns;
	if (fstat(fd, &rs) != 0 || stat("/", &ns) != 0)
		fail(EXIT_NAMESPACE, d->line, errno, NULL, "cannot stat root %s", root);
	if (!S_ISDIR(rs.st_mode))
		fail(EXIT_NAMESPACE, d->line, ENOTDIR, NULL, "root %s", root);
	if (rs.st_dev == ns.st_dev && rs.st_ino == ns.st_ino)
		fail(EXIT_NAMESPACE, d->line, EPERM, NULL, "root %s is the namespace's own root directory", root);
	return fd;
}

/* ------------------------------------------------------------------------ */

static void hygiene(void)
{
	/* 0, 1 and 2 must be open so that no descriptor of ours lands there. */
	for (int i = 0; i < 3; i++) {
		if (fcntl(i, F_GETFD) < 0 && errno == EBADF) {
			int fd = open("/dev/null", O_RDWR | O_NOCTTY);
			if (fd < 0)
				_exit(EXIT_OTHER);
			if (fd != i) {
				dup2(fd, i);
				close(fd);
			}
		}
	}
	if (syscall(__NR_close_range, 3u, ~0u, 0u) != 0) {
		struct rlimit rl;
		long max = 65536;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && (long)rl.rlim_cur < max)
			max = (long)rl.rlim_cur;
		for (long fd = 3; fd < max; fd++)
			close((int)fd);
	}
	umask(0);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGCHLD, SIG_DFL); /* an inherited SIG_IGN would break waitpid */
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void usage(int fd)
{
	static const char text[] = "usage: " PROG " [-v] [--no-openat2] [--no-mount-api] < plan\n"
				   "Performs a bypass mount plan (see README.md) inside a container's mount namespace.\n";
	write_all(fd, text, sizeof text - 1);
}

int main(int argc, char **argv)
{
	hygiene();
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0)
			opt.verbose = true;
		else if (strcmp(argv[i], "--no-openat2") == 0)
			opt.no_openat2 = true;
		else if (strcmp(argv[i], "--no-mount-api") == 0)
			opt.no_mount_api = true;
		else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(1);
			return 0;
		} else {
			usage(2);
			return EXIT_OTHER;
		}
	}
	/* The only environment the helper looks at: test switches that select
	 * the (equally safe) fallbacks for old kernels. */
	const char *e = getenv("BYPASS_HELPER_NO_OPENAT2");
	if (e && strcmp(e, "1") == 0)
		opt.no_openat2 = true;
	e = getenv("BYPASS_HELPER_NO_MOUNT_API");
	if (e && strcmp(e, "1") == 0)
		opt.no_mount_api = true;

	size_t len, n;
	char *buf = read_plan(&len);
	struct directive *ds = parse_plan(buf, len, &n);

	int nsfd = open_namespace(&ds[0]);
	open_host_sources(ds, n);

	if (setns(nsfd, CLONE_NEWNS) != 0)
		fail(EXIT_NAMESPACE, ds[0].line, errno, NULL, "cannot join the mount namespace");
	close(nsfd);
	if (chdir("/") != 0)
		fail(EXIT_NAMESPACE, ds[0].line, errno, NULL, "chdir /");
	struct statfs pfs;
	if (statfs("/proc/self/fd", &pfs) != 0)
		fail(EXIT_NAMESPACE, ds[0].line, errno, NULL, "procfs is not mounted on /proc inside the namespace");
	if (pfs.f_type != PROC_SUPER_MAGIC)
		fail(EXIT_NAMESPACE, ds[0].line, ENOENT, NULL, "procfs is not mounted on /proc inside the namespace");
	g_rootfd = open_root(&ds[1]);
	g_root_path = ds[1].f[0];
	vlog(ds[1].line, "joined the namespace; root %s; resolver %s; mount API %s", ds[1].f[0],
	     opt.no_openat2 ? "component walk" : "openat2", opt.no_mount_api ? "classic" : "open_tree/move_mount");

	for (size_t i = 2; i < n; i++) {
		struct directive *d = &ds[i];
		switch (d->kind) {
		case D_TMPFS:
			do_tmpfs(d);
			break;
		case D_MKDIR:
			do_mkdir(d);
			break;
		case D_BIND:
		case D_DEV:
			do_bind(d);
			break;
		case D_BIND_INNER:
			do_bind_inner(d);
			break;
		case D_LDCONFIG:
			do_ldconfig(d);
			break;
		case D_REMOUNT_RO:
			do_remount_ro(d, &ds[d->ref]);
			break;
		case D_NS:
		case D_NS_PATH:
		case D_ROOT:
			break;
		}
	}
	return 0;
}
