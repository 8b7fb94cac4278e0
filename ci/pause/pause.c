/*
 * kubelab's pod sandbox ("pause") process, written for kubelab's offline node image.
 *
 * It holds a pod's namespaces open and does nothing else:
 *   - sleeps until a signal arrives, forever;
 *   - SIGINT or SIGTERM: exits with status 0;
 *   - SIGCHLD: reaps every exited child, since as PID 1 of a shared PID namespace
 *     it inherits orphans that would otherwise stay zombies;
 *   - "-v": prints its version and exits.
 * Built static (gcc -static) so that its image can be FROM scratch.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PAUSE_VERSION
#define PAUSE_VERSION "unknown"
#endif

static void on_stop(int sig)
{
	/* async-signal-safe: write(2) and _exit(2) only */
	static const char msg[] = "pause: stopping on signal\n";
	(void)sig;
	(void)!write(STDERR_FILENO, msg, sizeof msg - 1);
	_exit(0);
}

static void on_child(int sig)
{
	int saved = errno;
	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	errno = saved;
}

static int handle(int sig, void (*fn)(int))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fn;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART | (sig == SIGCHLD ? SA_NOCLDSTOP : 0);
	return sigaction(sig, &sa, NULL);
}

int main(int argc, char **argv)
{
	if (argc > 1 && (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0)) {
		printf("pause (kubelab) %s\n", PAUSE_VERSION);
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "usage: %s [-v]\n", argv[0]);
		return 2;
	}
	if (getpid() != 1)
		fprintf(stderr, "pause: warning: not running as PID 1\n");
	if (handle(SIGINT, on_stop) || handle(SIGTERM, on_stop) || handle(SIGCHLD, on_child)) {
		perror("pause: sigaction");
		return 1;
	}
	for (;;)
		pause();
}
