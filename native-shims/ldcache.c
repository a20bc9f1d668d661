/*
 * The loader cache: ldconfig runs in a forked child that sees a read-only
 * copy of the root (only the cache's tmpfs is writable), chroots into the
 * root fd, and keeps only the capabilities it needs to read and write files.
 */
#define _GNU_SOURCE
#include "ldcache.h"
#include "kernel.h"
#include "resolve.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

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

void ldcache_open(struct helper *h, struct directive *d)
{
	int fd = open(d->f[0], O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0)
		fail(h, EXIT_SOURCE, d->line, errno, NULL, "cannot open ldconfig %s", d->f[0]);
	if (!S_ISREG(st.st_mode) || !(st.st_mode & 0111))
		fail(h, EXIT_SOURCE, d->line, EACCES, NULL, "ldconfig %s is not an executable file", d->f[0]);
	if (st.st_uid != 0 || (st.st_mode & 022))
		fail(h, EXIT_SOURCE, d->line, EPERM, NULL, "ldconfig %s must be owned by root and not group/other-writable",
		     d->f[0]);
	const char *why = check_static_elf(fd);
	if (why)
		fail(h, EXIT_SOURCE, d->line, ENOEXEC, why, "ldconfig %s", d->f[0]);
	d->src.fd = fd;
	if (h->devnull < 0) {
		h->devnull = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
		struct stat ns;
		if (h->devnull < 0 || fstat(h->devnull, &ns) != 0)
			fail(h, EXIT_OTHER, d->line, errno, NULL, "cannot open /dev/null");
		if (!S_ISCHR(ns.st_mode))
			fail(h, EXIT_OTHER, d->line, ENODEV, NULL, "/dev/null is not a character device");
	}
}

/* ---- the child ----------------------------------------------------------- */

/* The child never runs the parent's undo: it reports on its stderr (the
 * pipe, whose last line ends up in the parent's error line) and exits 127. */
static void child_fail(const char *what) __attribute__((noreturn));
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

/* The root by its path in this (copied) namespace, required to be the very
 * directory of the parent's root fd. */
static int reopen_root(const struct helper *h, const struct stat *want)
{
	int fd = (int)sys_openat2(AT_FDCWD, h->root_path, O_PATH | O_DIRECTORY | O_CLOEXEC,
				  BP_RESOLVE_NO_SYMLINKS | BP_RESOLVE_NO_MAGICLINKS);
	if (fd < 0 && errno == ENOSYS)
		fd = open(h->root_path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat a;
	if (fd < 0 || fstat(fd, &a) != 0)
		child_fail("cannot reopen the root for ldconfig");
	if (a.st_dev != want->st_dev || a.st_ino != want->st_ino) {
		errno = EXDEV;
		child_fail("the root changed while ldconfig was prepared");
	}
	return fd;
}

/*
 * ldconfig writes more than the cache it is asked for (its aux cache under
 * /var/cache/ldconfig, which it even creates).  So it runs in a private mount
 * namespace of its own where the whole root is read-only, except the mount that
 * holds the cache's directory (bypass' tmpfs): the image on disk is never
 * written, and nothing of this view is visible to the container.  Returns
 * the root's fd in that view.
 */
static int readonly_root_view(const struct helper *h, const struct directive *d)
{
	if (unshare(CLONE_NEWNS) != 0)
		child_fail("cannot create a private mount namespace for ldconfig");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		child_fail("cannot make ldconfig's mount namespace private");
	/* The root fd names the container namespace's mount; reopen the root in
	 * this copy of it, and make sure it is the same directory. */
	struct stat want;
	if (fstat(h->res.rootfd, &want) != 0)
		child_fail("cannot reopen the root for ldconfig");
	int fd = reopen_root(h, &want);
	/* A bind of the root onto itself makes it a mount of its own (it may be a
	 * plain directory), whose whole tree can then be made read-only. */
	char path[64];
	if (proc_fd_path(path, sizeof path, fd) || mount(path, path, NULL, MS_BIND | MS_REC, NULL) != 0)
		child_fail("cannot bind the root for ldconfig");
	close(fd);
	fd = reopen_root(h, &want);
	struct bp_mount_attr ro = { .attr_set = BP_MOUNT_ATTR_RDONLY };
	if (syscall(__NR_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &ro, sizeof ro) != 0) {
		/* Kernels before 5.12: the root's own mount read-only (submounts stay as they are). */
		if (errno != ENOSYS || proc_fd_path(path, sizeof path, fd) ||
		    mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) != 0)
			child_fail("cannot make the root read-only for ldconfig");
	}
	struct resolver view = { .rootfd = fd, .walk = h->res.walk };
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", d->f[2]);
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	int cfd = resolve_in_root(&view, dir);
	if (cfd < 0)
		child_fail("cannot resolve the cache directory inside the root");
	uint64_t root_id = 0, dir_id = 1;
	if (get_mnt_id(fd, &root_id) == 0 && get_mnt_id(cfd, &dir_id) == 0 && root_id == dir_id) {
		errno = EROFS;
		child_fail("the cache directory must be a tmpfs of the plan, not the image");
	}
	struct bp_mount_attr rw = { .attr_clr = BP_MOUNT_ATTR_RDONLY };
	if (syscall(__NR_mount_setattr, cfd, "", AT_EMPTY_PATH, &rw, sizeof rw) != 0) {
		if (errno != ENOSYS || proc_fd_path(path, sizeof path, cfd) ||
		    mount(NULL, path, NULL, MS_REMOUNT | MS_BIND, NULL) != 0)
			child_fail("cannot make the cache directory writable for ldconfig (it must be the root of a tmpfs of the plan)");
	}
	close(cfd);
	return fd;
}

static void ldconfig_child(const struct helper *h, const struct directive *d, int out_fd) __attribute__((noreturn));
static void ldconfig_child(const struct helper *h, const struct directive *d, int out_fd)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (dup2(h->devnull, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
		_exit(127);
	/* Chroot by fd (the very directory opened and checked), so that no path
	 * is resolved again; then give up CAP_SYS_CHROOT (no chroot escape) and
	 * CAP_SYS_PTRACE & co. (procfs magic links of processes holding more
	 * capabilities, e.g. /proc/1/root in a procfs inside the root, are refused). */
	int rootfd = readonly_root_view(h, d);
	if (fchdir(rootfd) != 0 || chroot(".") != 0 || chdir("/") != 0)
		child_fail("cannot chroot into the root");
	drop_capabilities();
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		child_fail("cannot set no_new_privs");
	syscall(__NR_close_range, 3u, ~0u, BP_CLOSE_RANGE_CLOEXEC);
	char *const argv[] = { (char *)"ldconfig", (char *)"-X", (char *)"-i", (char *)"-f", d->f[1], (char *)"-C", d->f[2], NULL };
	char *const envp[] = { (char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin", (char *)"LC_ALL=C", NULL };
#ifdef __NR_execveat
	syscall(__NR_execveat, d->src.fd, "", argv, envp, AT_EMPTY_PATH);
#else
	fexecve(d->src.fd, argv, envp);
#endif
	child_fail("cannot execute ldconfig");
}

/* ---- the parent ---------------------------------------------------------- */

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* The last bytes of the child's output, for the error line. */
struct tail {
	char buf[512];
	size_t len;
};

static void tail_add(struct tail *t, const char *buf, size_t n)
{
	size_t take = n > sizeof t->buf ? sizeof t->buf : n;
	if (t->len + take > sizeof t->buf) {
		size_t drop = t->len + take - sizeof t->buf;
		memmove(t->buf, t->buf + drop, t->len - drop);
		t->len -= drop;
	}
	memcpy(t->buf + t->len, buf + n - take, take);
	t->len += take;
}

/* Its last non-empty line. */
static void tail_last_line(const struct tail *t, char *out, size_t cap)
{
	size_t end = t->len;
	while (end > 0 && (t->buf[end - 1] == '\n' || t->buf[end - 1] == '\r'))
		end--;
	size_t start = end;
	while (start > 0 && t->buf[start - 1] != '\n')
		start--;
	snprintf(out, cap, "%.*s", (int)(end - start), t->buf + start);
}

void do_ldconfig(struct helper *h, struct directive *d)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) != 0)
		fail(h, EXIT_OTHER, d->line, errno, NULL, "pipe");
	pid_t pid = fork();
	if (pid < 0)
		fail(h, EXIT_OTHER, d->line, errno, NULL, "fork");
	if (pid == 0)
		ldconfig_child(h, d, pfd[1]);
	close(pfd[1]);

	struct tail tail = { .len = 0 };
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
		if (h->verbose)
			write_all(2, buf, (size_t)n);
		tail_add(&tail, buf, (size_t)n);
	}
	close(pfd[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			fail(h, EXIT_OTHER, d->line, errno, NULL, "waitpid");
	}
	if (timed_out)
		fail(h, EXIT_LDCONFIG, d->line, ETIMEDOUT, NULL, "ldconfig %s did not finish within %d s", d->f[0],
		     LDCONFIG_TIMEOUT_MS / 1000);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		vlog(h, d->line, "ldconfig -X -f %s -C %s done", d->f[1], d->f[2]);
		return;
	}
	char lastline[512];
	tail_last_line(&tail, lastline, sizeof lastline);
	char reason[64];
	if (WIFEXITED(status))
		snprintf(reason, sizeof reason, "exit status %d", WEXITSTATUS(status));
	else
		snprintf(reason, sizeof reason, "killed by signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	fail(h, EXIT_LDCONFIG, d->line, 0, reason, "ldconfig %s failed [%s]", d->f[0], lastline);
}
