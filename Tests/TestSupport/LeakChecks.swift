import Foundation

extension TestEnvironment {
    /// Suites whose names end in `LeakChecks` count this process's descriptors and threads
    /// exactly, so nothing else may run beside them: scripts/test.sh runs them in a process
    /// of their own, one test at a time, with SANDNET_LEAK_CHECKS=isolated. Elsewhere they
    /// skip, rather than take another suite's descriptors for a leak.
    public static var leakChecksIsolated: Bool { ProcessInfo.processInfo.environment["SANDNET_LEAK_CHECKS"] == "isolated" }
    public static let leakCheckSkipReason =
        "counts process-wide descriptors and threads, so it runs alone: SANDNET_LEAK_CHECKS=isolated swift test --no-parallel --filter LeakChecks (scripts/test.sh does)"
}

extension TestEnvironment {
    /// This process's open descriptors, number → what /proc/self/fd says it points at,
    /// less those the runtime opens and closes on its own schedule even when nothing else
    /// runs: libdispatch's and Swift concurrency's eventfd, epoll and timerfd (sandnet opens
    /// none of these kinds), and the listing's own directory descriptor (gone by the time
    /// it is read).
    public static func openDescriptors() -> [Int32: String] {
        var out: [Int32: String] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
            guard let fd = Int32(name),
                let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(name)")
            else { continue }
            if runtimeKinds.contains(target) { continue }
            out[fd] = target
        }
        return out
    }

    private static let runtimeKinds: Set<String> = ["anon_inode:[eventfd]", "anon_inode:[eventpoll]", "anon_inode:[timerfd]"]
}
