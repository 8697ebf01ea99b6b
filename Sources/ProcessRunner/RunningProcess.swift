import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A child started by `ProcessRunner.spawn` that the caller watches while it runs. Its
/// pid stays valid (unreaped) until `wait`, `kill` or `termination` sees it end; dropping
/// the handle kills and reaps it, so no test leaves a child behind.
public final class RunningProcess: Sendable {
    public let pid: pid_t
    public let argv: [String]
    /// Reaping happens only under this lock, so it happens once.
    private let state: Mutex<Tracked>

    private struct Tracked: ~Copyable {
        let child: Child
        var ended: ProcessTermination?
    }

    init(_ child: consuming Child, argv: [String]) {
        pid = child.pid
        self.argv = argv
        state = Mutex(Tracked(child: child, ended: nil))
    }

    deinit { _ = kill() }

    /// How it ended, if it has (reaping it when it just did).
    public var termination: ProcessTermination? {
        state.withLock { s in
            if s.ended == nil { s.ended = s.child.reap() }
            return s.ended
        }
    }

    public var isRunning: Bool { termination == nil }

    /// Sends `sig` (SIGCONT, SIGTERM, ...). False once it has ended.
    @discardableResult
    public func signal(_ sig: Int32) -> Bool {
        state.withLock { s in s.ended == nil && s.child.signal(sig) }
    }

    /// Waits up to `timeout` for it to end. At the bound it is sent SIGKILL, reaped, and
    /// `.timedOut` is thrown.
    public func wait(timeout: Duration) throws(ProcessRunnerError) -> ProcessTermination {
        let deadline = ContinuousClock.now + timeout
        let ended: ProcessTermination? = state.withLock { s in
            while s.ended == nil {
                if let t = s.child.reap() {
                    s.ended = t
                    break
                }
                let remaining = deadline - ContinuousClock.now
                guard remaining > .zero else {
                    s.ended = s.child.killAndReap()
                    return nil
                }
                _ = s.child.hasExited(waitingMilliseconds: OutputDrain.milliseconds(remaining))
            }
            return s.ended
        }
        guard let ended else { throw .timedOut(argv: argv, after: timeout, stdout: [], stderr: []) }
        return ended
    }

    /// SIGKILL and reap (bounded); how it ended, nil only if the kernel would not let it go.
    @discardableResult
    public func kill() -> ProcessTermination? {
        state.withLock { s in
            if s.ended == nil { s.ended = s.child.reap() ?? s.child.killAndReap() }
            return s.ended
        }
    }
}
