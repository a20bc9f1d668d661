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
 * It also checks expectations (expect.c): the decision cache's record of the
 * container files a decision came from, against the rootfs as it is now, in
 * the helper's own namespace: a validate-only plan, or the first directives
 * of a mount plan (checked before anything else is opened).
 *
 * Units: plan.c (reading and validating the plan), resolve.c (resolution and
 * creation inside the root), expect.c (a validate-only plan), sha256.c
 * (SHA-256), mount.c (the mount directives), ldcache.c (the
 * loader cache: ldconfig), report.c (the error line and the undo log),
 * kernel.c (syscall wrappers), channel.c (the helper started by the launcher
 * before the JVM, --exec-with-channel), and this file (process set-up, the namespace,
 * the order of work).  See README.md for the plan format, the exit codes and
 * the security rules.
 */
#define _GNU_SOURCE
#include "expect.h"
#include "helper.h"
#include "kernel.h"
#include "ldcache.h"
#include "mount.h"
#include "plan.h"
#include "resolve.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/magic.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>

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
	close_from(3);
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

static bool env_is_1(const char *name)
{
	const char *e = getenv(name);
	return e && strcmp(e, "1") == 0;
}

static int open_namespace(struct helper *h, const struct directive *d)
{
	char path[PATH_MAX];
	if (d->kind == D_NS)
		snprintf(path, sizeof path, "/proc/%s/ns/mnt", d->f[0]);
	else
		snprintf(path, sizeof path, "%s", d->f[0]);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		fail(h, EXIT_NAMESPACE, d->line, errno, NULL, "cannot open mount namespace %s", path);
	struct stat a, b;
	if (fstat(fd, &a) != 0 || stat("/proc/self/ns/mnt", &b) != 0)
		fail(h, EXIT_NAMESPACE, d->line, errno, NULL, "cannot stat mount namespace %s", path);
	if (a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		fail(h, EXIT_NAMESPACE, d->line, EPERM, NULL, "refusing to join the helper's own mount namespace (%s)",
		     path);
	return fd;
}

/* Before joining, in the host namespace: every host object of the plan. */
static void open_host_sources(struct helper *h, struct plan *plan)
{
	for (size_t i = 0; i < plan->n; i++) {
		struct directive *d = &plan->ds[i];
		if (d->kind == D_BIND || d->kind == D_DEV)
			mount_open_source(h, d);
		else if (d->kind == D_LDCONFIG)
			ldcache_open(h, d);
	}
	mount_drop_clones(h, plan);
}

static void join(struct helper *h, const struct plan *plan, int nsfd)
{
	long line = plan->ds[0].line;
	if (setns(nsfd, CLONE_NEWNS) != 0)
		fail(h, EXIT_NAMESPACE, line, errno, NULL, "cannot join the mount namespace");
	close(nsfd);
	if (chdir("/") != 0)
		fail(h, EXIT_NAMESPACE, line, errno, NULL, "chdir /");
	struct statfs pfs;
	if (statfs("/proc/self/fd", &pfs) != 0)
		fail(h, EXIT_NAMESPACE, line, errno, NULL, "procfs is not mounted on /proc inside the namespace");
	if (pfs.f_type != PROC_SUPER_MAGIC)
		fail(h, EXIT_NAMESPACE, line, ENOENT, NULL, "procfs is not mounted on /proc inside the namespace");
	const struct directive *root = &plan->ds[1];
	h->res.rootfd = open_root(h, root, EXIT_NAMESPACE);
	h->root_path = root->f[0];
	vlog(h, root->line, "joined the namespace; root %s; resolver %s; mount API %s", root->f[0],
	     h->res.walk ? "component walk" : "openat2", h->no_mount_api ? "classic" : "open_tree/move_mount");
}

static void perform(struct helper *h, struct plan *plan)
{
	for (size_t i = 2; i < plan->n; i++) {
		struct directive *d = &plan->ds[i];
		switch (d->kind) {
		case D_TMPFS:
			do_tmpfs(h, d);
			break;
		case D_MKDIR:
			do_mkdir(h, d);
			break;
		case D_BIND:
		case D_DEV:
			do_bind(h, d);
			break;
		case D_BIND_INNER:
			do_bind_inner(h, d);
			break;
		case D_LDCONFIG:
			do_ldconfig(h, d);
			break;
		case D_REMOUNT_RO:
			do_remount_ro(h, d, &plan->ds[d->ref]);
			break;
		case D_NS:
		case D_NS_PATH:
		case D_ROOT:
		case D_EXPECT_ROOT:
		case D_EXPECT_MISSING:
		case D_EXPECT_RESOLVE:
		case D_EXPECT_FILE:
		case D_EXPECT_DIR:
		case D_EXPECT_LINK:
			break;
		}
	}
}

int main(int argc, char **argv)
{
	/* Before hygiene(): the launcher's mode execs the JVM, which must keep
	 * the hook's descriptors, umask and signal mask. */
	if (argc >= 2 && strcmp(argv[1], "--exec-with-channel") == 0) {
		int r = channel_exec(argc - 2, argv + 2);
		if (r >= 0)
			return r;
		argc = 1;   /* the waiting helper: no options */
	}
	hygiene();
	struct helper h = { .res = { .rootfd = -1 }, .devnull = -1 };
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0)
			h.verbose = true;
		else if (strcmp(argv[i], "--no-openat2") == 0)
			h.res.walk = true;
		else if (strcmp(argv[i], "--no-mount-api") == 0)
			h.no_mount_api = true;
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
	if (env_is_1("BYPASS_HELPER_NO_OPENAT2"))
		h.res.walk = true;
	if (env_is_1("BYPASS_HELPER_NO_MOUNT_API"))
		h.no_mount_api = true;

	struct plan_error pe;
	size_t len;
	struct plan plan;
	char *buf = plan_read(0, &len, &pe);
	if (!buf || !plan_parse(buf, len, &plan, &pe))
		fail(&h, pe.code, pe.line, pe.err, NULL, "%s", pe.what);

	if (plan.validate_only) {
		/* Nothing to join, open on the host, create or mount: check, exit. */
		expect_validate(&h, &plan);
		free(plan.ds);
		free(buf);
		return 0;
	}
	/* A cache hit's mount plan carries its expectations (one spawn, not two):
	 * checked first, in the host namespace, before the namespace or any
	 * host source is opened. */
	if (plan.expect_end)
		expect_validate(&h, &plan);
	int nsfd = open_namespace(&h, &plan.ds[0]);
	open_host_sources(&h, &plan);
	join(&h, &plan, nsfd);
	perform(&h, &plan);
	undo_commit(&h);
	free(plan.ds);
	free(buf);
	return 0;
}
