/* The one error line, verbose messages, and the undo log that fail() rolls
 * back before it prints. */
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

void undo_push_created(struct helper *h, bool dir, int parent_fd, char *name, dev_t dev, ino_t ino)
{
	h->undo[h->nundo++] =
		(struct undo){ .type = dir ? U_DIR : U_FILE, .fd = parent_fd, .name = name, .dev = dev, .ino = ino };
}

void undo_commit(struct helper *h)
{
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
 * same inode, newest first.  Returns the number of steps that failed. */
static int undo_all(struct helper *h)
{
	int failures = 0;
	while (h->nundo > 0) {
		struct undo *u = &h->undo[--h->nundo];
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
