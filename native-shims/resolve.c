/*
 * Resolution inside the (possibly hostile) root: openat2 with
 * RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS, or a component walk for kernels
 * without it; creation of missing mount points on top of a partial lookup.
 */
#define _GNU_SOURCE
#include "resolve.h"
#include "kernel.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WALK_MAX_DEPTH 256

/*
 * Fallback resolver for kernels without openat2: walks the path one component
 * at a time with O_PATH|O_NOFOLLOW, reads symlinks itself (an absolute symlink
 * restarts at the root; ".." pops a stack of already opened directories and
 * so can never rise above the root), allows at most 40 symlinks.  The kernel
 * never follows a link on our behalf, so procfs magic links are treated as
 * plain text and cannot escape either.
 */
static int walk_in_root(int rootfd, const char *path, bool follow_last)
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
		int cur = depth ? stack[depth - 1] : rootfd;
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
		if (S_ISLNK(st.st_mode) && (follow_last || more || trailing_slash)) {
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
		return dup_cloexec(rootfd);
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

int resolve_at(struct resolver *r, const char *path, bool follow_last)
{
	if (!r->walk) {
		long fd = sys_openat2(r->rootfd, path, O_PATH | O_CLOEXEC | (follow_last ? 0 : O_NOFOLLOW),
				      BP_RESOLVE_IN_ROOT | BP_RESOLVE_NO_MAGICLINKS);
		if (fd >= 0 || errno != ENOSYS)
			return (int)fd;
		r->walk = true; /* kernel older than 5.6 */
	}
	return walk_in_root(r->rootfd, path, follow_last);
}

int resolve_in_root(struct resolver *r, const char *path)
{
	return resolve_at(r, path, true);
}

/* The prefix path[0, len) as a string (normalized paths: len < PATH_MAX). */
static int resolve_prefix(struct resolver *r, const char *path, size_t len)
{
	char prefix[PATH_MAX];
	memcpy(prefix, path, len);
	prefix[len] = '\0';
	return resolve_in_root(r, prefix);
}

/* readlink of /proc/self/fd/N into buf (PATH_MAX); its length or -1. */
static ssize_t fd_link(int fd, char *buf)
{
	char p[64];
	if (proc_fd_path(p, sizeof p, fd) != 0)
		return -1;
	ssize_t n = readlink(p, buf, PATH_MAX);
	if (n < 0 || n >= PATH_MAX) {
		if (n >= 0)
			errno = ENAMETOOLONG;
		return -1;
	}
	buf[n] = '\0';
	return n;
}

static bool deleted(const char *s, size_t n)
{
	static const char suffix[] = " (deleted)";
	size_t sl = sizeof suffix - 1;
	return n >= sl && memcmp(s + n - sl, suffix, sl) == 0;
}

bool root_view_init(int rootfd, struct root_view *rv)
{
	ssize_t n = fd_link(rootfd, rv->prefix);
	if (n < 0)
		return false;
	if (deleted(rv->prefix, (size_t)n)) {
		errno = ENOENT;
		return false;
	}
	rv->plen = strcmp(rv->prefix, "/") == 0 ? 0 : (size_t)n;
	return true;
}

bool canonical_path(const struct root_view *rv, int fd, char *out)
{
	char buf[PATH_MAX];
	ssize_t n = fd_link(fd, buf);
	if (n < 0)
		return false;
	size_t len = (size_t)n;
	if (len < rv->plen || memcmp(buf, rv->prefix, rv->plen) != 0)
		return false;
	if (len == rv->plen) {
		strcpy(out, "/");
		return true;
	}
	if (buf[rv->plen] != '/' || deleted(buf, len))
		return false;
	memcpy(out, buf + rv->plen, len - rv->plen + 1);
	return true;
}

int partial_lookup(struct resolver *r, const char *path, const char **rest)
{
	size_t end = strlen(path);
	while (end > 0) {
		int fd = resolve_prefix(r, path, end);
		if (fd >= 0) {
			*rest = path[end] ? path + end + 1 : path + end;
			return fd;
		}
		if (errno != ENOENT) {
			*rest = path + end;
			return -1;
		}
		while (end > 0 && path[end - 1] != '/')
			end--;
		end--; /* the '/' before the component that is missing */
	}
	*rest = path + 1;
	int fd = dup_cloexec(r->rootfd);
	if (fd < 0)
		*rest = path;
	return fd;
}

int ensure_target(struct helper *h, long line, const char *path, enum mp_kind kind, mode_t last_mode)
{
	const char *rest;
	int parent = partial_lookup(&h->res, path, &rest);
	if (parent < 0) {
		if (rest == path)
			fail(h, EXIT_OTHER, line, errno, NULL, "dup");
		fail(h, EXIT_TARGET, line, errno, NULL, "cannot resolve %.*s inside the root", (int)(rest - path), path);
	}
	if (!*rest)
		return parent; /* all of it exists */
	struct stat st;
	if (fstat(parent, &st) != 0)
		fail(h, EXIT_TARGET, line, errno, NULL, "fstat %.*s", (int)(rest - path - 1), path);
	if (!S_ISDIR(st.st_mode))
		fail(h, EXIT_TARGET, line, ENOTDIR, NULL, "cannot resolve %.*s inside the root", (int)(rest - path - 1),
		     path);

	/* What is created is named by its canonical path: the parent's (which
	 * differs from the plan's prefix where a symlink on the way was followed),
	 * then the names made below it by descriptor.  One string for them all;
	 * each entry reports a prefix of it. */
	struct root_view rv;
	char base[PATH_MAX];
	if (!root_view_init(h->res.rootfd, &rv))
		fail(h, EXIT_TARGET, line, errno, NULL, "cannot name the root %s", h->root_path);
	errno = 0;
	if (!canonical_path(&rv, parent, base))
		fail(h, EXIT_TARGET, line, errno ? errno : ENOENT, NULL, "%.*s has no canonical path inside the root",
		     (int)(rest - path - 1), path);
	size_t blen = strcmp(base, "/") == 0 ? 0 : strlen(base), rlen = strlen(rest);
	char *cpath = malloc(blen + 1 + rlen + 1);
	if (!cpath)
		fail(h, EXIT_OTHER, line, ENOMEM, NULL, "malloc");
	memcpy(cpath, base, blen);
	cpath[blen] = '/';
	memcpy(cpath + blen + 1, rest, rlen + 1);
	bool owned = false; /* by the first entry logged */

	/* path is normalized: rest is "name/name/...", each name 1..NAME_MAX bytes. */
	char name[NAME_MAX + 1];
	for (const char *p = rest; *p;) {
		const char *end = strchrnul(p, '/');
		size_t nlen = (size_t)(end - p);
		int plen = (int)(end - path); /* the path created so far, for messages */
		memcpy(name, p, nlen);
		name[nlen] = '\0';
		bool last = *end == '\0';
		bool mkfile = last && kind == MP_FILE;
		mode_t mode = last ? last_mode : 0755;

		undo_reserve(h, line);
		char *copy = strdup(name);
		if (!copy)
			fail(h, EXIT_OTHER, line, ENOMEM, NULL, "strdup");
		int rc;
		if (mkfile) {
			rc = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode);
			if (rc >= 0)
				close(rc);
		} else {
			rc = mkdirat(parent, name, mode);
		}
		if (rc < 0) {
			int err = errno;
			free(copy);
			if (!owned)
				free(cpath);
			if (err == EEXIST)
				fail(h, EXIT_TARGET, line, err, NULL,
				     "%.*s exists but does not resolve inside the root (dangling symlink?)", plen, path);
			fail(h, EXIT_TARGET, line, err, NULL, "cannot create %.*s", plen, path);
		}
		/* The stat the report gives, from the descriptor of what was just
		 * made, before anything is mounted on it. */
		struct bp_statx sx;
		int fd = openat(parent, name, O_PATH | O_NOFOLLOW | O_CLOEXEC | (mkfile ? 0 : O_DIRECTORY));
		if (fd < 0 || stat_fd(fd, &sx) != 0) {
			int err = errno;
			free(copy);
			if (!owned)
				free(cpath);
			fail(h, EXIT_TARGET, line, err, NULL, "cannot open the newly created %.*s", plen, path);
		}
		if (mkfile ? !S_ISREG(sx.stx_mode) : !S_ISDIR(sx.stx_mode)) {
			free(copy);
			if (!owned)
				free(cpath);
			fail(h, EXIT_TARGET, line, EEXIST, NULL, "%.*s was replaced while being created", plen, path);
		}
		struct created c = {
			.path = cpath,
			.path_len = blen + 1 + (size_t)(end - rest),
			.owns_path = !owned,
			.mode = sx.stx_mode,
			.ino = sx.stx_ino,
			.size = sx.stx_size,
			.dev_major = sx.stx_dev_major,
			.dev_minor = sx.stx_dev_minor,
			.birth_ns = (sx.stx_mask & BP_STATX_BTIME)
					    ? (int64_t)((uint64_t)sx.stx_btime.tv_sec * 1000000000u + sx.stx_btime.tv_nsec)
					    : 0,
		};
		/* The undo entry keeps parent; the walk goes on from fd. */
		undo_push_created(h, !mkfile, parent, copy, &c);
		owned = true;
		vlog(h, line, "created %s %.*s (mode %04o)", mkfile ? "file" : "directory", plen, path, (unsigned)mode);
		parent = fd;
		p = last ? end : end + 1;
	}
	return parent;
}

/* The root path must be free of symlinks (Java passes a canonical path), so
 * that a rename/symlink swap of a user-owned parent is refused. */
int open_root(struct helper *h, const struct directive *d, int code)
{
	const char *root = d->f[0];
	int fd = -1;
	if (!h->res.walk) {
		fd = (int)sys_openat2(AT_FDCWD, root, O_PATH | O_DIRECTORY | O_CLOEXEC,
				      BP_RESOLVE_NO_SYMLINKS | BP_RESOLVE_NO_MAGICLINKS);
		if (fd < 0 && errno != ENOSYS)
			fail(h, code, d->line, errno, NULL, "cannot open root %s (it must be a canonical path)",
			     root);
		if (fd < 0)
			h->res.walk = true;
	}
	if (fd < 0) {
		fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			fail(h, code, d->line, errno, NULL, "cannot open /");
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
				fail(h, code, d->line, errno, NULL, "cannot open root %s", root);
			if (!S_ISDIR(st.st_mode))
				fail(h, code, d->line, S_ISLNK(st.st_mode) ? ELOOP : ENOTDIR, NULL,
				     "cannot open root %s (it must be a canonical path)", root);
			close(fd);
			fd = nfd;
			p = end;
		}
	}
	struct stat rs, ns;
	if (fstat(fd, &rs) != 0 || stat("/", &ns) != 0)
		fail(h, code, d->line, errno, NULL, "cannot stat root %s", root);
	if (!S_ISDIR(rs.st_mode))
		fail(h, code, d->line, ENOTDIR, NULL, "root %s", root);
	if (rs.st_dev == ns.st_dev && rs.st_ino == ns.st_ino)
		fail(h, code, d->line, EPERM, NULL, "root %s is the namespace's own root directory", root);
	return fd;
}
