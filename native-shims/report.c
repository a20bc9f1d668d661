/* The one error line, verbose messages, the undo log that fail() rolls
 * back before it prints, and the report on stdout of the entries created. */
#define _GNU_SOURCE
#include "helper.h"
#include "kernel.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

void write_all(int fd, const char *buf, size_t len)
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

static void print_line(char *msg, size_t cap)
{
	sanitize(msg);
	size_t len = strnlen(msg, cap - 1);
	msg[len++] = '\n';
	write_all(2, msg, len);
}

void undo_reserve(struct helper *h, long line)
{
	if (h->nundo < h->capundo)
		return;
	size_t ncap = h->capundo ? h->capundo * 2 : 64;
	struct undo *n = realloc(h->undo, ncap * sizeof *n);
	if (!n)
		fail(h, EXIT_OTHER, line, ENOMEM, NULL, "cannot grow the undo log");
	h->undo = n;
	h->capundo = ncap;
}

void undo_push_mount(struct helper *h, int mount_fd)
{
	h->undo[h->nundo++] = (struct undo){ .type = U_MOUNT, .fd = mount_fd };
}

void undo_push_created(struct helper *h, bool dir, int parent_fd, char *name, const struct created *c)
{
	h->undo[h->nundo++] = (struct undo){ .type = dir ? U_DIR : U_FILE,
					     .fd = parent_fd,
					     .name = name,
					     .dev = makedev(c->dev_major, c->dev_minor),
					     .ino = (ino_t)c->ino,
					     .c = *c };
}

/*
 * The report: "created PATH MODE INO MAJOR MINOR SIZE BIRTH_NS\n" per entry,
 * PATH percent-encoded like a plan's path fields.  Buffered; the first write
 * error (a closed pipe: SIGPIPE is ignored) ends it, and nothing else.
 */
struct out {
	char buf[8192];
	size_t len;
	bool broken;
};

static void out_flush(struct out *o)
{
	const char *p = o->buf;
	size_t len = o->len;
	o->len = 0;
	while (len > 0 && !o->broken) {
		ssize_t n = write(1, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			o->broken = true;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
}

static void out_bytes(struct out *o, const char *s, size_t len)
{
	while (len > 0 && !o->broken) {
		if (o->len == sizeof o->buf)
			out_flush(o);
		size_t k = sizeof o->buf - o->len;
		if (k > len)
			k = len;
		memcpy(o->buf + o->len, s, k);
		o->len += k;
		s += k;
		len -= k;
	}
}

static void out_line(struct out *o, const struct created *c)
{
	static const char hex[] = "0123456789ABCDEF";
	char enc[3 * 64], num[160];
	out_bytes(o, "created ", 8);
	size_t n = 0;
	for (size_t i = 0; i < c->path_len; i++) {
		unsigned char b = (unsigned char)c->path[i];
		if (b == '%' || (b >= 0x01 && b <= 0x20) || b == 0x7f) {
			enc[n++] = '%';
			enc[n++] = hex[b >> 4];
			enc[n++] = hex[b & 15];
		} else {
			enc[n++] = (char)b;
		}
		if (n > sizeof enc - 3) {
			out_bytes(o, enc, n);
			n = 0;
		}
	}
	out_bytes(o, enc, n);
	int k = snprintf(num, sizeof num, " %o %llu %u %u %llu %lld\n", (unsigned)c->mode, (unsigned long long)c->ino,
			 (unsigned)c->dev_major, (unsigned)c->dev_minor, (unsigned long long)c->size,
			 (long long)c->birth_ns);
	if (k > 0 && (size_t)k < sizeof num)
		out_bytes(o, num, (size_t)k);
}

/* Reports the created entries of the log in creation order (only those
 * the rollback left, when left_only), then frees their paths. */
static void report_created(struct helper *h, bool left_only)
{
	struct out o = { .len = 0, .broken = false };
	for (size_t i = 0; i < h->nundo; i++) {
		const struct undo *u = &h->undo[i];
		if (u->type != U_MOUNT && (u->left || !left_only))
			out_line(&o, &u->c);
	}
	out_flush(&o);
	for (size_t i = 0; i < h->nundo; i++)
		if (h->undo[i].type != U_MOUNT && h->undo[i].c.owns_path)
			free(h->undo[i].c.path);
}

void undo_commit(struct helper *h)
{
	report_created(h, false);
	while (h->nundo > 0) {
		struct undo *u = &h->undo[--h->nundo];
		free(u->name);
		close(u->fd);
	}
	free(h->undo);
	h->undo = NULL;
	h->capundo = 0;
}

/* Detaches every mount and removes every created entry that is still the
 * same inode, newest first; marks the entries it could not remove, reports
 * them, and empties the log.  Returns the number of steps that failed. */
static int undo_all(struct helper *h)
{
	int failures = 0;
	for (size_t i = h->nundo; i-- > 0;) {
		struct undo *u = &h->undo[i];
		if (u->type == U_MOUNT) {
			char p[64];
			if (proc_fd_path(p, sizeof p, u->fd) || umount2(p, MNT_DETACH) != 0)
				failures++;
		} else {
			struct stat st;
			if (fstatat(u->fd, u->name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_dev == u->dev &&
			    st.st_ino == u->ino) {
				if (unlinkat(u->fd, u->name, u->type == U_DIR ? AT_REMOVEDIR : 0) != 0)
					u->left = true;
			} else {
				u->left = true; /* not ours any more, or gone: left alone */
			}
			failures += u->left;
			free(u->name);
		}
		close(u->fd);
	}
	report_created(h, true);
	h->nundo = 0;
	return failures;
}

void fail(struct helper *h, int code, long line, int err, const char *reason, const char *fmt, ...)
{
	char what[3072], msg[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	int undo_failures = undo_all(h);
	if (!reason)
		reason = strerror(err);
	snprintf(msg, sizeof msg - 1, "%s: %ld: %s%s: %s", PROG, line, what,
		 undo_failures ? " (rollback incomplete)" : "", reason);
	print_line(msg, sizeof msg);
	_exit(code);
}

void vlog(const struct helper *h, long line, const char *fmt, ...)
{
	if (!h->verbose)
		return;
	char what[3072], msg[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof msg - 1, "%s: %ld: %s", PROG, line, what);
	print_line(msg, sizeof msg);
}
