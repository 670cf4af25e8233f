/* pause.c - the pod sandbox's one process, for deploy/k8s/cluster's own
 * pause image (no image registry answers here, so the usual one cannot be
 * pulled). It holds the pod's namespaces open and does nothing else: it
 * sleeps until SIGTERM or SIGINT ends it, and reaps orphans meanwhile
 * (it is PID 1 of a pod that shares its PID namespace).
 * Built static by deploy/k8s/cluster; C11 and POSIX only. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_stop(int sig) {
    (void)sig;
    _exit(0);
}

static void on_child(int sig) {
    (void)sig;
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
}

int main(void) {
    struct sigaction stop = {0};
    struct sigaction child = {0};
    stop.sa_handler = on_stop;
    child.sa_handler = on_child;
    child.sa_flags = SA_NOCLDSTOP | SA_RESTART;
    if (sigaction(SIGTERM, &stop, NULL) != 0 || sigaction(SIGINT, &stop, NULL) != 0 ||
        sigaction(SIGCHLD, &child, NULL) != 0) {
        return EXIT_FAILURE;
    }
    for (;;) {
        pause();
    }
}
