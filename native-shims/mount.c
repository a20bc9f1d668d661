/*
 * Mounting by descriptor: open_tree/move_mount/fsmount where the kernel has
 * them, else classic mount(2) onto /proc/self/fd/N.  After each mount the
 * target is resolved afresh inside the root and must lead to the new mount.
 */
#define _GNU_SOURCE
#include "mount.h"
#include "kernel.h"
#include "resolve.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>

#define TMPFS_SIZE "4m"

void mount_open_source(struct helper *h, struct directive *d)
{
	bool dev = d->kind == D_DEV;
	int fd = open(d->f[0], O_PATH | O_CLOEXEC);
	struct stat st;
	struct statvfs sv;
	if (fd < 0 || fstat(fd, &st) != 0 || fstatvfs(fd, &sv) != 0)
		fail(h, EXIT_SOURCE, d->line, errno, NULL, "cannot open source %s", d->f[0]);
	if (dev && !S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
		fail(h, EXIT_DEVICE, d->line, ENODEV, NULL, "%s is not a device node", d->f[0]);
	d->src.dev = st.st_dev;
	d->src.ino = st.st_ino;
	d->src.mode = st.st_mode;
	d->src.vfs_flags = sv.f_flag;
	if (!h->no_mount_api) {
		long t = syscall(__NR_open_tree, fd, "", BP_OPEN_TREE_CLONE | BP_OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
		if (t >= 0)
			d->src.tree_fd = (int)t;
		else if (errno == ENOSYS)
			h->no_mount_api = true; /* kernel older than 5.2 */
		else
			fail(h, EXIT_SOURCE, d->line, errno, NULL, "cannot clone the mount of %s", d->f[0]);
	}
	close(fd); /* classic mode reopens by path after joining and compares dev/ino */
}

void mount_drop_clones(struct helper *h, struct plan *plan)
{
	if (!h->no_mount_api)
		return;
	for (size_t i = 0; i < plan->n; i++)
		if (plan->ds[i].src.tree_fd >= 0) {
			close(plan->ds[i].src.tree_fd);
			plan->ds[i].src.tree_fd = -1;
		}
}

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
static int check_mounted(struct helper *h, const char *target, bool have_id, uint64_t want_id, uint64_t pre_id,
			 const struct source *src, bool tmpfs)
{
	int fd = resolve_in_root(&h->res, target);
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
			ok = ok && fstat(fd, &st) == 0 && st.st_dev == src->dev && st.st_ino == src->ino;
		}
	}
	if (!ok) {
		close(fd);
		errno = EXDEV;
		return -1;
	}
	return fd;
}

void do_bind(struct helper *h, struct directive *d)
{
	bool dev = d->kind == D_DEV;
	const char *source = d->f[0], *target = d->f[1];
	struct source *src = &d->src;
	int mcode = dev ? EXIT_DEVICE : EXIT_MOUNT;
	bool ro = dev || d->ro || (src->vfs_flags & ST_RDONLY);
	enum mp_kind kind = S_ISDIR(src->mode) ? MP_DIR : MP_FILE;
	int tfd = ensure_target(h, d->line, target, kind, kind == MP_DIR ? 0755 : 0444);
	unsigned long remount = MS_REMOUNT | MS_BIND | MS_NOSUID | (dev ? 0 : MS_NODEV) | (ro ? MS_RDONLY : 0) |
				vfs_to_ms(src->vfs_flags & ST_NOEXEC);
	char tpath[64], spath[64];
	uint64_t pre_id = 0;
	get_mnt_id(tfd, &pre_id);
	undo_reserve(h, d->line);

	if (src->tree_fd >= 0) {
		/* New mount API: attributes on the detached clone, then attach by fd. */
		bool classic_remount = false;
		struct bp_mount_attr attr = {
			.attr_set = BP_MOUNT_ATTR_NOSUID | (dev ? 0 : BP_MOUNT_ATTR_NODEV) | (ro ? BP_MOUNT_ATTR_RDONLY : 0),
			.attr_clr = dev ? BP_MOUNT_ATTR_NODEV : 0,
		};
		if (syscall(__NR_mount_setattr, src->tree_fd, "", AT_EMPTY_PATH, &attr, sizeof attr) != 0) {
			if (errno != ENOSYS)
				fail(h, mcode, d->line, errno, NULL, "cannot set the attributes of the bind of %s", source);
			classic_remount = true; /* 5.2 <= kernel < 5.12 */
		}
		uint64_t tree_id = 0;
		bool have_id = get_mnt_id(src->tree_fd, &tree_id) == 0;
		if (syscall(__NR_move_mount, src->tree_fd, "", tfd, "",
			    BP_MOVE_MOUNT_F_EMPTY_PATH | BP_MOVE_MOUNT_T_EMPTY_PATH) != 0)
			fail(h, mcode, d->line, errno, NULL, "cannot bind %s onto %s", source, target);
		int mfd = src->tree_fd;
		src->tree_fd = -1;
		undo_push_mount(h, mfd);
		if (classic_remount) {
			if (proc_fd_path(tpath, sizeof tpath, mfd) || mount(NULL, tpath, NULL, remount, NULL) != 0)
				fail(h, mcode, d->line, errno, NULL, "cannot remount the bind on %s", target);
		}
		int cfd = check_mounted(h, target, have_id, tree_id, pre_id, src, false);
		if (cfd < 0)
			fail(h, EXIT_TARGET, d->line, errno, NULL,
			     "the bind on %s is not reachable at its target inside the root", target);
		close(cfd);
	} else {
		/* Classic: the source must be reopened inside this namespace (a bind
		 * from a mount of another namespace is refused by the kernel); it must
		 * be the very object opened before joining. */
		int sfd = d->kind == D_BIND_INNER ? dup_cloexec(src->fd) : open(source, O_PATH | O_CLOEXEC);
		struct stat st;
		if (sfd < 0 || fstat(sfd, &st) != 0)
			fail(h, EXIT_SOURCE, d->line, errno, NULL, "cannot open %s inside the container namespace", source);
		if (st.st_dev != src->dev || st.st_ino != src->ino)
			fail(h, EXIT_SOURCE, d->line, EXDEV, "not the same file as on the host",
			     "source %s inside the container namespace", source);
		if (proc_fd_path(spath, sizeof spath, sfd) || proc_fd_path(tpath, sizeof tpath, tfd) ||
		    mount(spath, tpath, NULL, MS_BIND, NULL) != 0)
			fail(h, mcode, d->line, errno, NULL, "cannot bind %s onto %s", source, target);
		close(sfd);
		int mfd = check_mounted(h, target, false, 0, pre_id, src, false);
		if (mfd < 0)
			fail(h, EXIT_TARGET, d->line, errno, NULL,
			     "the bind on %s is not reachable at its target inside the root (it could not be undone)", target);
		undo_push_mount(h, mfd);
		if (proc_fd_path(tpath, sizeof tpath, mfd) || mount(NULL, tpath, NULL, remount, NULL) != 0)
			fail(h, mcode, d->line, errno, NULL, "cannot remount the bind on %s", target);
	}
	close(tfd);
	vlog(h, d->line, "%s %s -> %s (%s,nosuid%s)", dev ? "dev" : "bind", source, target, ro ? "ro" : "rw",
	     dev ? "" : ",nodev");
}

/*
 * bind-inner: a file the plan made inside the root (e.g. the ld.so.cache that
 * ldconfig wrote into bypass' tmpfs) bound onto another path of the root.  The
 * source is resolved inside the root like any target, then bound like a host
 * source.
 */
void do_bind_inner(struct helper *h, struct directive *d)
{
	int sfd = resolve_in_root(&h->res, d->f[0]);
	struct stat st;
	struct statvfs sv;
	if (sfd < 0 || fstat(sfd, &st) != 0 || fstatvfs(sfd, &sv) != 0)
		fail(h, EXIT_TARGET, d->line, errno, NULL, "cannot resolve %s inside the root", d->f[0]);
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		fail(h, EXIT_TARGET, d->line, EINVAL, NULL, "%s is neither a file nor a directory", d->f[0]);
	d->src.dev = st.st_dev;
	d->src.ino = st.st_ino;
	d->src.mode = st.st_mode;
	d->src.vfs_flags = sv.f_flag;
	d->src.fd = sfd;
	if (!h->no_mount_api) {
		long t = syscall(__NR_open_tree, sfd, "", BP_OPEN_TREE_CLONE | BP_OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
		if (t < 0)
			fail(h, EXIT_MOUNT, d->line, errno, NULL, "cannot clone the mount of %s", d->f[0]);
		d->src.tree_fd = (int)t;
	}
	do_bind(h, d);
	close(sfd);
	d->src.fd = -1;
}

void do_tmpfs(struct helper *h, struct directive *d)
{
	const char *target = d->f[0];
	int tfd = ensure_target(h, d->line, target, MP_DIR, 0755);
	char mode[16], tpath[64];
	snprintf(mode, sizeof mode, "0%o", d->mode);
	uint64_t pre_id = 0;
	get_mnt_id(tfd, &pre_id);
	undo_reserve(h, d->line);

	bool classic = h->no_mount_api;
	if (!classic) {
		int fsfd = (int)syscall(__NR_fsopen, "tmpfs", BP_FSOPEN_CLOEXEC);
		if (fsfd < 0 && errno == ENOSYS) {
			classic = true;
		} else {
			if (fsfd < 0)
				fail(h, EXIT_MOUNT, d->line, errno, NULL, "fsopen tmpfs");
			if (syscall(__NR_fsconfig, fsfd, BP_FSCONFIG_SET_STRING, "size", TMPFS_SIZE, 0) != 0 ||
			    syscall(__NR_fsconfig, fsfd, BP_FSCONFIG_SET_STRING, "mode", mode, 0) != 0 ||
			    syscall(__NR_fsconfig, fsfd, BP_FSCONFIG_CMD_CREATE, NULL, NULL, 0) != 0)
				fail(h, EXIT_MOUNT, d->line, errno, NULL, "cannot create a tmpfs for %s", target);
			int mfd = (int)syscall(__NR_fsmount, fsfd, BP_FSMOUNT_CLOEXEC,
					       (unsigned)(BP_MOUNT_ATTR_NOSUID | BP_MOUNT_ATTR_NODEV));
			if (mfd < 0)
				fail(h, EXIT_MOUNT, d->line, errno, NULL, "fsmount tmpfs for %s", target);
			close(fsfd);
			d->have_mnt_id = get_mnt_id(mfd, &d->mnt_id) == 0;
			if (syscall(__NR_move_mount, mfd, "", tfd, "",
				    BP_MOVE_MOUNT_F_EMPTY_PATH | BP_MOVE_MOUNT_T_EMPTY_PATH) != 0)
				fail(h, EXIT_MOUNT, d->line, errno, NULL, "cannot mount a tmpfs on %s", target);
			undo_push_mount(h, mfd);
			int cfd = check_mounted(h, target, d->have_mnt_id, d->mnt_id, pre_id, &d->src, true);
			if (cfd < 0)
				fail(h, EXIT_TARGET, d->line, errno, NULL,
				     "the tmpfs on %s is not reachable at its target inside the root", target);
			close(cfd);
		}
	}
	if (classic) {
		char data[64];
		snprintf(data, sizeof data, "size=%s,mode=%s", TMPFS_SIZE, mode);
		if (proc_fd_path(tpath, sizeof tpath, tfd) ||
		    mount("tmpfs", tpath, "tmpfs", MS_NOSUID | MS_NODEV, data) != 0)
			fail(h, EXIT_MOUNT, d->line, errno, NULL, "cannot mount a tmpfs on %s", target);
		int mfd = check_mounted(h, target, false, 0, pre_id, &d->src, true);
		if (mfd < 0)
			fail(h, EXIT_TARGET, d->line, errno, NULL,
			     "the tmpfs on %s is not reachable at its target inside the root (it could not be undone)", target);
		undo_push_mount(h, mfd);
		d->have_mnt_id = get_mnt_id(mfd, &d->mnt_id) == 0;
	}
	close(tfd);
	vlog(h, d->line, "tmpfs on %s (size=%s,mode=%s,nosuid,nodev)", target, TMPFS_SIZE, mode);
}

void do_remount_ro(struct helper *h, struct directive *d, const struct directive *tmpfs)
{
	const char *target = d->f[0];
	int fd = resolve_in_root(&h->res, target);
	if (fd < 0)
		fail(h, EXIT_TARGET, d->line, errno, NULL, "cannot resolve %s inside the root", target);
	uint64_t id;
	if (tmpfs->have_mnt_id && (get_mnt_id(fd, &id) != 0 || id != tmpfs->mnt_id))
		fail(h, EXIT_MOUNT, d->line, EINVAL, NULL, "%s is no longer the tmpfs mounted at line %ld", target,
		     tmpfs->line);
	struct statfs sfs;
	if (fstatfs(fd, &sfs) != 0 || sfs.f_type != TMPFS_MAGIC)
		fail(h, EXIT_MOUNT, d->line, EINVAL, NULL, "%s is not a tmpfs", target);
	bool done = false;
	if (!h->no_mount_api) {
		struct bp_mount_attr attr = { .attr_set = BP_MOUNT_ATTR_RDONLY };
		if (syscall(__NR_mount_setattr, fd, "", AT_EMPTY_PATH, &attr, sizeof attr) == 0)
			done = true;
		else if (errno != ENOSYS)
			fail(h, EXIT_MOUNT, d->line, errno, NULL, "cannot remount %s read-only", target);
	}
	if (!done) {
		char p[64];
		if (proc_fd_path(p, sizeof p, fd) ||
		    mount(NULL, p, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) != 0)
			fail(h, EXIT_MOUNT, d->line, errno, NULL, "cannot remount %s read-only", target);
	}
	close(fd);
	vlog(h, d->line, "remounted %s read-only", target);
}

void do_mkdir(struct helper *h, struct directive *d)
{
	int fd = ensure_target(h, d->line, d->f[0], MP_DIR, d->mode);
	struct stat st;
	if (fstat(fd, &st) != 0)
		fail(h, EXIT_TARGET, d->line, errno, NULL, "fstat %s", d->f[0]);
	if (!S_ISDIR(st.st_mode))
		fail(h, EXIT_TARGET, d->line, ENOTDIR, NULL, "%s exists and is not a directory", d->f[0]);
	close(fd);
	vlog(h, d->line, "directory %s present", d->f[0]);
}
