/*
 * Kernel interfaces that older headers may lack (own names, so nothing
 * clashes with a newer libc), and the small wrappers every unit uses.
 */
#ifndef BYPASS_KERNEL_H
#define BYPASS_KERNEL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>

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
#define BP_STATX_TYPE 0x00000001u
#define BP_STATX_MODE 0x00000002u
#define BP_STATX_INO 0x00000100u
#define BP_STATX_SIZE 0x00000200u
#define BP_STATX_BASIC_STATS 0x000007ffu
#define BP_STATX_BTIME 0x00000800u
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

struct bp_mount_attr {
	uint64_t attr_set;
	uint64_t attr_clr;
	uint64_t propagation;
	uint64_t userns_fd;
};

/* struct statx as the kernel lays it out (the ABI; older headers lack it). */
struct bp_statx_timestamp {
	int64_t tv_sec;
	uint32_t tv_nsec;
	int32_t reserved;
};
struct bp_statx {
	uint32_t stx_mask;
	uint32_t stx_blksize;
	uint64_t stx_attributes;
	uint32_t stx_nlink;
	uint32_t stx_uid;
	uint32_t stx_gid;
	uint16_t stx_mode;
	uint16_t spare0;
	uint64_t stx_ino;
	uint64_t stx_size;
	uint64_t stx_blocks;
	uint64_t stx_attributes_mask;
	struct bp_statx_timestamp stx_atime, stx_btime, stx_ctime, stx_mtime;
	uint32_t stx_rdev_major, stx_rdev_minor;
	uint32_t stx_dev_major, stx_dev_minor;
	uint64_t stx_mnt_id;
	uint64_t spare[13];
};
_Static_assert(sizeof(struct bp_statx) == 256, "struct statx is 256 bytes");

/* statx(fd, "", AT_EMPTY_PATH|AT_SYMLINK_NOFOLLOW) of type, mode, inode,
 * size, device and birth time; where the kernel has no statx (before 4.11)
 * or leaves out one of the first four, they come from fstat and stx_mask
 * holds no BP_STATX_BTIME.  0, or -1 with errno. */
int stat_fd(int fd, struct bp_statx *sx);

/* fcntl(F_DUPFD_CLOEXEC) above the standard descriptors. */
int dup_cloexec(int fd);

/* Closes every descriptor from lowest up (close_range, else one by one up to
 * the soft descriptor limit, at most 65536). */
void close_from(int lowest);

/* "/proc/self/fd/N" into buf; -1 if it does not fit. */
int proc_fd_path(char *buf, size_t len, int fd);

/* openat2(2) with mode 0, retried on EAGAIN/EINTR; -1 with errno (ENOSYS
 * before 5.6). */
long sys_openat2(int dirfd, const char *path, uint64_t flags, uint64_t resolve);

/* The id of the mount fd lives on: statx(STATX_MNT_ID), or the mnt_id line
 * of /proc/self/fdinfo/N.  0 or -1. */
int get_mnt_id(int fd, uint64_t *id);

#endif
