/*
 * Expectations: the decision cache's record of every container file a
 * decision was computed from, checked against the rootfs as it is now, as a
 * validate-only plan or first thing in the mount plan of a cache hit.  The
 * same answer as the Java validator (FileIdentity.validate), but through
 * descriptors resolved inside the root like every target of a mount plan, so
 * a cache hit needs no JNA in the JVM.  README.md has the directives.
 */
#define _GNU_SOURCE
#include "expect.h"
#include "kernel.h"
#include "plan.h"
#include "resolve.h"
#include "sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#define MAX_LIST_ENTRIES 65536
#define MAX_LIST_BYTES (16u << 20)
#define READ_CHUNK 65536

static void stale(struct helper *h, const struct directive *d, const char *what) __attribute__((noreturn));
static void stale(struct helper *h, const struct directive *d, const char *what)
{
	fail(h, EXIT_STALE, d->line, 0, what, "%s", d->f[0]);
}

static void stale_errno(struct helper *h, const struct directive *d, int err) __attribute__((noreturn));
static void stale_errno(struct helper *h, const struct directive *d, int err)
{
	char what[256];
	snprintf(what, sizeof what, "cannot be read: %s", strerror(err));
	stale(h, d, what);
}

static bool digest_is(const struct directive *d, const void *data, size_t len)
{
	struct sha256 c;
	unsigned char md[SHA256_BYTES];
	sha256_init(&c);
	sha256_update(&c, data, len);
	sha256_final(&c, md);
	return memcmp(md, d->x.sha, sizeof md) == 0;
}

/* ---- lookups and stats ----------------------------------------------------- */

static void check_missing(struct helper *h, const struct root_view *rv, const struct directive *d)
{
	char path[PATH_MAX];
	int fd = resolve_at(&h->res, d->f[0], false);
	if (fd < 0)
		return; /* any failure: nothing there */
	bool found = canonical_path(rv, fd, path);
	close(fd);
	if (found)
		stale(h, d, "now exists");
}

static void check_resolve(struct helper *h, const struct root_view *rv, const struct directive *d)
{
	char path[PATH_MAX];
	int fd = resolve_at(&h->res, d->f[0], d->x.follow);
	bool found = fd >= 0 && canonical_path(rv, fd, path);
	if (fd >= 0)
		close(fd);
	/* "\0" (one NUL byte, never a path) stands for "resolves to nothing". */
	bool same = found ? digest_is(d, path, strlen(path)) : digest_is(d, "", 1);
	if (!same)
		stale(h, d, found ? "now resolves elsewhere" : "no longer resolves");
}

static mode_t want_type(enum kind k)
{
	return k == D_EXPECT_FILE ? S_IFREG : k == D_EXPECT_DIR ? S_IFDIR : S_IFLNK;
}

static const char *type_changed(enum kind k)
{
	return k == D_EXPECT_FILE ? "not a regular file now" :
	       k == D_EXPECT_DIR  ? "not a directory now" :
				    "not a symbolic link now";
}

/* The path looked up without following a final symlink must arrive at itself
 * (it is canonical: a directory on the way swapped for a symlink differs), and
 * agree with the recorded type, inode, size, mtime and permission bits.
 * Returns the O_PATH descriptor. */
static int check_stat(struct helper *h, const struct root_view *rv, const struct directive *d)
{
	char path[PATH_MAX];
	int fd = resolve_at(&h->res, d->f[0], false);
	if (fd < 0 || !canonical_path(rv, fd, path))
		stale(h, d, "is gone");
	if (strcmp(path, d->f[0]) != 0)
		stale(h, d, "now resolves elsewhere");
	struct stat st;
	if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0)
		stale_errno(h, d, errno);
	if ((st.st_mode & S_IFMT) != want_type(d->kind))
		stale(h, d, type_changed(d->kind));
	/* As the Java side computes it: seconds * 10^9 + nanoseconds, in
	 * wrapping 64-bit arithmetic. */
	int64_t mtime_ns = (int64_t)((uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec);
	if ((uint64_t)st.st_ino != d->x.ino)
		stale(h, d, "metadata changed (inode)");
	if ((uint64_t)st.st_size != d->x.size)
		stale(h, d, "metadata changed (size)");
	if (mtime_ns != d->x.mtime_ns)
		stale(h, d, "metadata changed (mtime)");
	if ((st.st_mode & 07777) != d->mode)
		stale(h, d, "metadata changed (mode)");
	return fd;
}

/* ---- content ------------------------------------------------------------ */

/* Opens what the O_PATH fd is for reading, and checks it is still the same
 * inode of the same type. */
static int reopen(struct helper *h, const struct directive *d, int fd, int flags)
{
	char p[64];
	if (proc_fd_path(p, sizeof p, fd) != 0)
		stale_errno(h, d, ENAMETOOLONG);
	int rfd = open(p, flags);
	if (rfd < 0)
		stale_errno(h, d, errno);
	struct stat st;
	if (fstat(rfd, &st) != 0)
		stale_errno(h, d, errno);
	if ((st.st_mode & S_IFMT) != want_type(d->kind))
		stale(h, d, type_changed(d->kind));
	if ((uint64_t)st.st_ino != d->x.ino)
		stale(h, d, "metadata changed (inode)");
	return rfd;
}

/* SHA-256 over the ranges' bytes in order; a short read does not hold. */
static void check_file_content(struct helper *h, const struct directive *d, int fd)
{
	int rfd = reopen(h, d, fd, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	unsigned char buf[READ_CHUNK];
	struct sha256 c;
	sha256_init(&c);
	for (const char *p = d->x.ranges;;) {
		uint64_t off, len;
		p = plan_range(p, &off, &len); /* validated by plan.c */
		while (len > 0) {
			size_t want = len < READ_CHUNK ? (size_t)len : READ_CHUNK;
			ssize_t n = pread(rfd, buf, want, (off_t)off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				stale_errno(h, d, errno);
			if (n == 0)
				stale(h, d, "content changed (shorter than its recorded ranges)");
			sha256_update(&c, buf, (size_t)n);
			off += (uint64_t)n;
			len -= (uint64_t)n;
		}
		if (*p == '\0')
			break;
		p++; /* ',' */
	}
	close(rfd);
	unsigned char md[SHA256_BYTES];
	sha256_final(&c, md);
	if (memcmp(md, d->x.sha, sizeof md) != 0)
		stale(h, d, "content changed");
}

struct linux_dirent64_hdr {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* SHA-256 over the sorted names (strcmp order, without "." and ".."), each
 * followed by a NUL byte.  A listing over the bounds does not hold. */
static void check_dir_content(struct helper *h, const struct directive *d, int fd)
{
	int dfd = reopen(h, d, fd, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char dbuf[32768] __attribute__((aligned(8)));
	char *names = NULL;
	size_t used = 0, cap = 0, count = 0;
	for (;;) {
		long n = syscall(__NR_getdents64, dfd, dbuf, sizeof dbuf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			stale_errno(h, d, errno);
		if (n == 0)
			break;
		for (long pos = 0; pos < n;) {
			const struct linux_dirent64_hdr *e = (const void *)(dbuf + pos);
			pos += e->d_reclen;
			const char *nm = e->d_name;
			if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0)
				continue;
			size_t l = strlen(nm) + 1;
			if (++count > MAX_LIST_ENTRIES || used + l > MAX_LIST_BYTES)
				stale(h, d, "listing too large to check");
			if (used + l > cap) {
				size_t ncap = cap ? cap * 2 : 65536;
				while (ncap < used + l)
					ncap *= 2;
				char *nn = realloc(names, ncap);
				if (!nn)
					fail(h, EXIT_OTHER, d->line, ENOMEM, NULL, "cannot allocate the listing of %s", d->f[0]);
				names = nn;
				cap = ncap;
			}
			memcpy(names + used, nm, l);
			used += l;
		}
	}
	close(dfd);
	char **sorted = malloc((count ? count : 1) * sizeof *sorted);
	if (!sorted)
		fail(h, EXIT_OTHER, d->line, ENOMEM, NULL, "cannot allocate the listing of %s", d->f[0]);
	for (size_t i = 0, off = 0; i < count; i++) {
		sorted[i] = names + off;
		off += strlen(names + off) + 1;
	}
	qsort(sorted, count, sizeof *sorted, cmp_names);
	struct sha256 c;
	sha256_init(&c);
	for (size_t i = 0; i < count; i++)
		sha256_update(&c, sorted[i], strlen(sorted[i]) + 1);
	unsigned char md[SHA256_BYTES];
	sha256_final(&c, md);
	free(sorted);
	free(names);
	if (memcmp(md, d->x.sha, sizeof md) != 0)
		stale(h, d, "content changed");
}

static void check_link_content(struct helper *h, const struct directive *d, int fd)
{
	char target[PATH_MAX];
	ssize_t n = readlinkat(fd, "", target, sizeof target);
	if (n < 0)
		stale_errno(h, d, errno);
	if ((size_t)n >= sizeof target)
		stale_errno(h, d, ENAMETOOLONG);
	if (!digest_is(d, target, (size_t)n))
		stale(h, d, "content changed");
}

/* ---- the plan ----------------------------------------------------------- */

static void open_expect_root(struct helper *h, const struct plan *plan, struct root_view *rv)
{
	const struct directive *d = &plan->ds[plan->expect_at];
	h->res.rootfd = open_root(h, d, EXIT_STALE);
	h->root_path = d->f[0];
	if (!root_view_init(h->res.rootfd, rv))
		fail(h, EXIT_STALE, d->line, errno, NULL, "cannot name root %s", d->f[0]);
	vlog(h, d->line, "%s; root %s; resolver %s",
	     plan->validate_only ? "validate-only plan" : "expectations of a mount plan, in the host namespace", d->f[0],
	     h->res.walk ? "component walk" : "openat2");
}

void expect_validate(struct helper *h, const struct plan *plan)
{
	struct root_view rv;
	open_expect_root(h, plan, &rv);
	size_t first = plan->expect_at + 1, end = plan->expect_end;
	/* First the lookups and stats, the usual and cheap way an entry is stale. */
	for (size_t i = first; i < end; i++) {
		const struct directive *d = &plan->ds[i];
		switch (d->kind) {
		case D_EXPECT_MISSING:
			check_missing(h, &rv, d);
			vlog(h, d->line, "%s: still missing", d->f[0]);
			break;
		case D_EXPECT_RESOLVE:
			check_resolve(h, &rv, d);
			vlog(h, d->line, "%s: resolves as recorded", d->f[0]);
			break;
		case D_EXPECT_FILE:
		case D_EXPECT_DIR:
		case D_EXPECT_LINK:
			close(check_stat(h, &rv, d));
			vlog(h, d->line, "%s: metadata as recorded", d->f[0]);
			break;
		default:
			break;
		}
	}
	/* Then the content.  Each is looked up and statted again, so that what is
	 * read is what was just found as recorded (no descriptor is held across
	 * the whole plan: a plan may have 100,000 lines). */
	for (size_t i = first; i < end; i++) {
		const struct directive *d = &plan->ds[i];
		if (!d->x.have_sha || d->kind == D_EXPECT_RESOLVE)
			continue;
		int fd = check_stat(h, &rv, d);
		if (d->kind == D_EXPECT_FILE)
			check_file_content(h, d, fd);
		else if (d->kind == D_EXPECT_DIR)
			check_dir_content(h, d, fd);
		else
			check_link_content(h, d, fd);
		close(fd);
		vlog(h, d->line, "%s: content as recorded", d->f[0]);
	}
	/* All hold: nothing of the check stays open (a mount plan opens its own
	 * root, inside the namespace, next). */
	close(h->res.rootfd);
	h->res.rootfd = -1;
	h->root_path = NULL;
}
