/* Swaps two directory entries with renameat2(RENAME_EXCHANGE) in a loop until STOPFILE exists:
 * the rename race a hostile container owner can run while the hook profiles the rootfs.
 *   exchange DIR NAME_A NAME_B STOPFILE */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/fs.h>

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: exchange DIR NAME_A NAME_B STOPFILE\n");
        return 2;
    }
    int dir = open(argv[1], O_PATH | O_DIRECTORY);
    if (dir < 0) {
        perror(argv[1]);
        return 1;
    }
    unsigned long swaps = 0;
    while (access(argv[4], F_OK) != 0) {
        if (syscall(SYS_renameat2, dir, argv[2], dir, argv[3], RENAME_EXCHANGE) != 0) {
            perror("renameat2");
            return 1;
        }
        swaps++;
    }
    /* Leave the tree as it was: an even number of exchanges. */
    if (swaps % 2 == 1 && syscall(SYS_renameat2, dir, argv[2], dir, argv[3], RENAME_EXCHANGE) != 0) {
        perror("renameat2");
        return 1;
    }
    printf("%lu\n", swaps);
    return 0;
}
