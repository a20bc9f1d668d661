/*
 * --exec-with-channel PROGRAM ARG...: the helper started before the JVM.
 *
 * A JVM's first process start initialises the JDK's process machinery (its
 * reaper threads, CompletableFuture, the lambdas and method handles of
 * ProcessImpl): on this machine class more CPU than the rest of a cache hit's
 * apply. So the launcher execs the helper, which forks a helper that waits for
 * a plan, and then execs PROGRAM (the JVM) in its own place: the hook keeps
 * its pid, its stdin (the container's state) and its stdout and stderr.
 *
 * The JVM finds the waiting helper's ends at fixed descriptors:
 *   3  its stdin (the plan; closing it without a plan makes it do nothing)
 *   4  its stdout (the report of the entries it created)
 *   5  its stderr (its one error line)
 *   6  how it ended: "exit N\n", or "signal N\n", written once it has
 * The waiting helper is two processes: the worker, which runs the plan exactly
 * as a helper started by the JVM would (a clean environment, nothing open but
 * its three pipes), and its parent, which waits for it and writes the status.
 * Neither holds the hook's own stdout or stderr, so the runtime that reads
 * them sees their end when the JVM exits, whatever the helper does.
 */
#define _GNU_SOURCE
#include "helper.h"
#include "kernel.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum { CH_PLAN, CH_OUT, CH_ERR, CH_STATUS, CH_N };

/* A pipe whose two ends are above the descriptors about to be filled. */
static bool high_pipe(int p[2])
{
	int raw[2];
	if (pipe2(raw, O_CLOEXEC) != 0)
		return false;
	p[0] = fcntl(raw[0], F_DUPFD_CLOEXEC, 10);
	p[1] = fcntl(raw[1], F_DUPFD_CLOEXEC, 10);
	close(raw[0]);
	close(raw[1]);
	return p[0] >= 0 && p[1] >= 0;
}

/* Onto fd, without close-on-exec (dup2 clears it), or exit. */
static void place(int from, int fd)
{
	if (dup2(from, fd) != fd)
		_exit(EXIT_OTHER);
}

/*
 * In the worker: the plan on stdin, the report on stdout, the error line on
 * stderr, nothing else open, an empty environment (the JVM's start of the
 * helper gives it PATH and LC_ALL only). Returns to main, which goes on as a
 * helper started by the JVM.
 */
static void become_worker(int ch[CH_N][2])
{
	place(ch[CH_PLAN][0], 0);
	place(ch[CH_OUT][1], 1);
	place(ch[CH_ERR][1], 2);
	close_from(3);
	clearenv();
	setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
	setenv("LC_ALL", "C", 1);
}

/* The worker's parent: waits for it and says how it ended, then exits. */
static void report_status(pid_t worker, int status_fd)
{
	int st;
	pid_t r;
	do
		r = waitpid(worker, &st, 0);
	while (r < 0 && errno == EINTR);
	char line[32];
	int n;
	if (r < 0)
		n = snprintf(line, sizeof line, "exit %d\n", EXIT_OTHER);
	else if (WIFSIGNALED(st))
		n = snprintf(line, sizeof line, "signal %d\n", WTERMSIG(st));
	else
		n = snprintf(line, sizeof line, "exit %d\n", WEXITSTATUS(st));
	signal(SIGPIPE, SIG_IGN);   /* a JVM gone before reading it: nothing to tell */
	write_all(status_fd, line, (size_t)n);
	_exit(0);
}

int channel_exec(int argc, char **argv)
{
	if (argc < 1 || argv[0][0] != '/') {
		static const char text[] = PROG ": --exec-with-channel needs an absolute program path\n";
		write_all(2, text, sizeof text - 1);
		return EXIT_OTHER;
	}
	int ch[CH_N][2];
	bool piped = true;
	for (int i = 0; i < CH_N; i++)
		piped = piped && high_pipe(ch[i]);
	pid_t waiter = piped ? fork() : -1;
	if (waiter == 0) {
		/* The waiting side: nothing of the hook's own descriptors stays open here. */
		int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (devnull < 0)
			_exit(EXIT_OTHER);
		int status_fd = ch[CH_STATUS][1];
		pid_t worker = fork();
		if (worker == 0) {
			become_worker(ch);
			return -1;   /* main goes on with the plan on stdin */
		}
		place(devnull, 0);
		place(devnull, 1);
		place(devnull, 2);
		place(status_fd, 3);
		close_from(4);
		if (worker < 0)
			_exit(EXIT_OTHER);
		report_status(worker, 3);
	}
	if (waiter > 0) {
		place(ch[CH_PLAN][1], 3);
		place(ch[CH_OUT][0], 4);
		place(ch[CH_ERR][0], 5);
		place(ch[CH_STATUS][0], 6);
		/* The originals are close-on-exec; the waiting side is not the JVM's to wait for. */
	}
	/* No channel (no pipes or no fork): the JVM starts its helpers itself. */
	execv(argv[0], argv);
	char text[256];
	int n = snprintf(text, sizeof text, PROG ": cannot run %.200s: %s\n", argv[0], strerror(errno));
	write_all(2, text, (size_t)n);
	return 127;
}
