import Foundation
import NetlinkCodec
import NetlinkSocket
import Rtnetlink
import TestSupport
import Testing

/// Subscriptions ended every way (break, cancel, close, drop) leave no socket and no
/// reader thread behind. Counts the whole process's sockets and threads, so it runs in a
/// process of its own (see TestEnvironment.leakChecksIsolated).
@Suite(.serialized, .enabled(if: TestEnvironment.leakChecksIsolated, Comment(rawValue: TestEnvironment.leakCheckSkipReason)))
struct EventsLeakChecks {
    @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"), .timeLimit(.minutes(2)))
    func breakingCancellingAndClosingLeakNothing() async throws {
        try await TestNamespace.with { ns in
            let rt = try Rtnetlink(namespace: ns.namespace)
            defer { rt.close() }
            func cycle(_ i: Int) async throws {
                // 1. break out of the loop after the first event
                let a = try NetworkEvents(namespace: ns.namespace, groups: .links)
                try rt.linkSet(.name("lo"), LinkChange(up: i % 2 == 0))
                for try await _ in a { break }
                // 2. cancel a task that is waiting for events that never come
                let b = try NetworkEvents(namespace: ns.namespace, groups: .neighbours)
                let waiting = Task {
                    for try await _ in b {}
                    return true
                }
                waiting.cancel()
                #expect(try await waiting.value)
                // 3. close() while another task iterates
                let c = try NetworkEvents(namespace: ns.namespace, groups: .routes)
                let iterating = Task {
                    var n = 0
                    for try await _ in c { n += 1 }
                    return n
                }
                c.close()
                _ = try await iterating.value
                // 4. never iterated, just dropped
                _ = try NetworkEvents(namespace: ns.namespace)
            }
            try await cycle(0) // warm up: the namespace thread pool keeps a few descriptors
            // The warm-up's readers close their sockets as they leave: count once they are gone.
            #expect(await Self.settled(0, EventsTests.eventThreads) == 0)
            // Readers of dropped, never-iterated streams close theirs a moment later too: take
            // each baseline once it holds still.
            let sockets = await Self.steady { (try? Self.netlinkSockets(in: ns)) ?? -1 }
            let fds = await Self.steady(Self.openSockets)
            let all = await Self.steady { TestEnvironment.openDescriptors().count }
            let probe = try NetworkEvents(namespace: ns.namespace)
            #expect(try Self.netlinkSockets(in: ns) == sockets + 1)
            probe.close()
            for i in 1...50 { try await cycle(i) }
            // Teardown is asynchronous (nothing waits for a reader thread): each reader
            // closes its socket as it leaves, so allow the bounded settling time.
            #expect(await Self.settled(sockets) { (try? Self.netlinkSockets(in: ns)) ?? Int.max } == sockets)
            #expect(await Self.settled(0, EventsTests.eventThreads) == 0)
            // Alone in the process, so exact: every socket the 50 cycles opened is closed
            // again (settled: a reader thread closes its wake-up pair on its way out).
            let after = await Self.settled(fds, Self.openSockets)
            #expect(after == fds, "sockets before \(fds), after \(after)")
            // Nor any other kind of descriptor (but the runtime's own event descriptors).
            let allAfter = await Self.settled(all) { TestEnvironment.openDescriptors().count }
            #expect(allAfter == all, "descriptors before \(all), after \(allAfter): \(TestEnvironment.openDescriptors())")
        }
    }

    /// Netlink sockets of this process in `ns` (from /proc/net/netlink seen inside it).
    static func netlinkSockets(in ns: TestNamespace) throws -> Int {
        let text = try ns.namespace.run { try String(contentsOfFile: "/proc/thread-self/net/netlink", encoding: .utf8) }
        return text.split(separator: "\n").dropFirst().filter { line in
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            return f.count > 2 && f[1] == "0" && f[2] != "0" // NETLINK_ROUTE, not the kernel's own socket
        }.count
    }

    /// `measure()` once it is at most `expected`, or its last value after about three seconds.
    /// A reader thread that has signalled its end still needs microseconds to leave
    /// /proc/self/task and to close its wake-up pair: that settles, a leak stays.
    static func settled(_ expected: Int, _ measure: () -> Int) async -> Int {
        var now = measure()
        for _ in 0..<60 where now > expected {
            try? await Task.sleep(nanoseconds: 50_000_000)
            now = measure()
        }
        return now
    }

    /// `measure()` once two readings 100 ms apart agree (at most about three seconds).
    static func steady(_ measure: () -> Int) async -> Int {
        var last = measure()
        for _ in 0..<30 {
            try? await Task.sleep(nanoseconds: 100_000_000)
            let now = measure()
            if now == last { return now }
            last = now
        }
        return last
    }

    /// Open socket descriptors of this process: what a subscription holds (its netlink
    /// socket and its wake-up socketpair).
    static func openSockets() -> Int {
        TestEnvironment.openDescriptors().values.filter { $0.hasPrefix("socket:") }.count
    }
}
