import ArgumentParser
import SandboxNetwork

#if canImport(Glibc)
    import Glibc
#endif

/// Where a fault command kills or stops itself: right after its Nth kernel change.
struct FaultPoint: ParsableArguments {
    @Option(name: .customLong("kill-after"), help: "SIGKILL the process right after this kernel change (1 = the first).")
    var killAfter: Int?
    @Option(name: .customLong("stop-after"), help: "SIGSTOP the process right after this kernel change; it carries on at SIGCONT.")
    var stopAfter: Int?

    func validate() throws {
        guard killAfter != nil || stopAfter != nil else { throw ValidationError("give --kill-after N or --stop-after N") }
        for n in [killAfter, stopAfter].compactMap({ $0 }) where n < 1 {
            throw ValidationError("kernel changes are counted from 1, not \(n)")
        }
    }

    /// The hook that kills or stops this process at the point; `seen` is told every change first.
    func hook(seen: (@Sendable (Int) -> Void)? = nil) -> KernelChangeHook {
        let (kill, stop) = (killAfter, stopAfter)
        return { changes in
            seen?(changes)
            if changes == kill { Glibc.kill(getpid(), SIGKILL) }
            if changes == stop { raise(SIGSTOP) }
        }
    }
}
