#define _GNU_SOURCE
#include "CProcessRunner.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <unistd.h>

int process_runner_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[],
                         int in_fd, int out_fd, int err_fd) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    int rc = posix_spawn_file_actions_init(&actions);
    if (rc != 0) return rc;
    rc = posix_spawnattr_init(&attributes);
    if (rc != 0) { posix_spawn_file_actions_destroy(&actions); return rc; }
    int fds[3] = {in_fd, out_fd, err_fd};
    for (int target = 0; target < 3 && rc == 0; target++) {
        rc = fds[target] >= 0
            ? posix_spawn_file_actions_adddup2(&actions, fds[target], target)
            : posix_spawn_file_actions_addopen(&actions, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0);
    }
    // Descriptors opened elsewhere in this process without CLOEXEC never reach the child.
    if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    if (rc == 0) rc = posix_spawnattr_setsigmask(&attributes, &none);
    if (rc == 0) rc = posix_spawnattr_setsigdefault(&attributes, &all);
    if (rc == 0) rc = posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    if (rc == 0) rc = posix_spawn(pid, path, &actions, &attributes, argv, envp);
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    return rc;
}

int process_runner_pipe(int fds[2]) {
    if (pipe2(fds, O_CLOEXEC) != 0) return -1;
    int flags = fcntl(fds[0], F_GETFL);
    if (flags < 0 || fcntl(fds[0], F_SETFL, flags | O_NONBLOCK) != 0) {
        int saved = errno; close(fds[0]); close(fds[1]); errno = saved; return -1;
    }
    return 0;
}

int process_runner_memfd(const void *bytes, size_t count) {
    int fd = memfd_create("process-runner-stdin", MFD_CLOEXEC);
    if (fd < 0) return -1;
    const char *p = bytes;
    size_t left = count;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) { int saved = errno; close(fd); errno = saved; return -1; }
        p += n; left -= (size_t)n;
    }
    if (lseek(fd, 0, SEEK_SET) != 0) { int saved = errno; close(fd); errno = saved; return -1; }
    return fd;
}

int process_runner_pidfd_open(pid_t pid) { return pidfd_open(pid, 0); }

int process_runner_pidfd_signal(int pidfd, int sig) { return pidfd_send_signal(pidfd, sig, NULL, 0); }
