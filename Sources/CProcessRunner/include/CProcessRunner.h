// Thin C shims for the process runner: calls Swift's Glibc module does not reach
// (pidfd, memfd, pipe2, posix_spawn_file_actions_addclosefrom_np need _GNU_SOURCE).
#ifndef CPROCESS_RUNNER_H
#define CPROCESS_RUNNER_H
#include <stddef.h>
#include <sys/types.h>

// Spawns `path` with `argv` and `envp`. The child gets exactly three descriptors:
// stdin/stdout/stderr from `in_fd`/`out_fd`/`err_fd` (-1: /dev/null); every other
// descriptor is closed in the child (closefrom 3), and its signal mask and dispositions
// are reset. Returns 0, or the errno of the failed spawn.
int process_runner_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[],
                         int in_fd, int out_fd, int err_fd);
// pipe2(O_CLOEXEC) with the read end (fds[0]) non-blocking. 0, or -1 with errno.
int process_runner_pipe(int fds[2]);
// A CLOEXEC memfd holding `bytes`, positioned at 0: stdin that never blocks the writer.
int process_runner_memfd(const void *bytes, size_t count);
// pidfd_open(pid, 0): a CLOEXEC descriptor that polls readable when the child exits.
int process_runner_pidfd_open(pid_t pid);
// pidfd_send_signal: safe after the child was reaped (ESRCH instead of a reused pid).
int process_runner_pidfd_signal(int pidfd, int sig);

#endif
