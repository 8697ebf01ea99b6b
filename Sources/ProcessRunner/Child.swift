import CProcessRunner

#if canImport(Glibc)
    import Glibc
#endif

/// A started, not yet reaped child and the pidfd that says when it has exited. The pidfd
/// keeps naming this child even after it is reaped, so signals can never hit a reused pid.
struct Child: ~Copyable {
    let pid: pid_t
    let pidfd: OwnedDescriptor

    /// Polls the pidfd up to `timeout` milliseconds (0: just look): true once it exited.
    func hasExited(waitingMilliseconds timeout: Int32) -> Bool {
        var p = pollfd(fd: pidfd.raw, events: Int16(POLLIN), revents: 0)
        while true {
            let n = poll(&p, 1, timeout)
            if n < 0 && errno == EINTR { continue }
            return n > 0
        }
    }

    /// Collects the exit status of a child that has exited; nil if it is still running.
    func reap() -> ProcessTermination? {
        var status: Int32 = 0
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { return ProcessTermination(waitStatus: status) }
            if r < 0 && errno == EINTR { continue }
            return nil
        }
    }

    func signal(_ sig: Int32) -> Bool { process_runner_pidfd_signal(pidfd.raw, sig) == 0 }

    /// SIGKILL, then reap. A killed child ends at once unless stuck in the kernel; the wait
    /// for that is bounded (10 s) and a child still not gone is left a zombie, not waited on.
    func killAndReap() -> ProcessTermination? {
        _ = signal(SIGKILL)
        _ = hasExited(waitingMilliseconds: 10_000)
        return reap()
    }
}
