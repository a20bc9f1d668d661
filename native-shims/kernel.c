/* Thin wrappers over kernel interfaces; see kernel.h. */
#define _GNU_SOURCE
#include "kernel.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

struct bp_open_how {
	uint64_t flags;
	uint64_t mode;
	uint64_t resolve;
};

int dup_cloexec(int fd)
{
	return fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

void close_from(int lowest)
{
	if (syscall(__NR_close_range, (unsigned)lowest, ~0u, 0u) == 0)
		return;
	struct rlimit rl;
	long max = 65536;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && (long)rl.rlim_cur < max)
		max = (long)rl.rlim_cur;
	for (long fd = lowest; fd < max; fd++)
		close((int)fd);
}

int proc_fd_path(char *buf, size_t len, int fd)
{
	int n = snprintf(buf, len, "/proc/self/fd/%d", fd);
	return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

long sys_openat2(int dirfd, const char *path, uint64_t flags, uint64_t resolve)
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

int get_mnt_id(int fd, uint64_t *id)
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

int stat_fd(int fd, struct bp_statx *sx)
{
	const uint32_t need = BP_STATX_TYPE | BP_STATX_MODE | BP_STATX_INO | BP_STATX_SIZE;
	memset(sx, 0, sizeof *sx);
#ifdef __NR_statx
	if (syscall(__NR_statx, fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, BP_STATX_BASIC_STATS | BP_STATX_BTIME,
		    sx) == 0) {
		if ((sx->stx_mask & need) == need)
			return 0;
	} else if (errno != ENOSYS) {
		return -1;
	}
#endif
	struct stat st;
	if (fstat(fd, &st) != 0)
		return -1;
	memset(sx, 0, sizeof *sx);
	sx->stx_mask = need;
	sx->stx_mode = (uint16_t)st.st_mode;
	sx->stx_ino = st.st_ino;
	sx->stx_size = (uint64_t)st.st_size;
	sx->stx_mtime.tv_sec = st.st_mtim.tv_sec;
	sx->stx_mtime.tv_nsec = (uint32_t)st.st_mtim.tv_nsec;
	sx->stx_dev_major = major(st.st_dev);
	sx->stx_dev_minor = minor(st.st_dev);
	return 0;
}
