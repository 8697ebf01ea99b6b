import Foundation
import NetlinkCodec
import NetlinkSocket
import Rtnetlink
import SandnetCore
import Testing
import TestSupport

@Suite(.serialized) struct EventsTests {
    @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"), .timeLimit(.minutes(1)))
    func linkAddressRouteAndNeighbourChangesArriveTyped() async throws {
        try await TestNamespace.with { ns in
            // Readers of earlier tests leave on their own, moments after their stream ended.
            _ = await Self.settled(0, Self.eventThreads)
            let events = try NetworkEvents(namespace: ns.namespace)
            // Changes made before iterating are not missed: the socket joined at init.
            try ns.ip("link", "add", "ev0", "type", "veth", "peer", "name", "ev1")
            try ns.ip("link", "set", "ev0", "up")
            try ns.ip("addr", "add", "198.51.100.2/24", "dev", "ev0")
            try ns.ip("route", "add", "203.0.113.0/24", "via", "198.51.100.1")
            try ns.ip("neigh", "add", "198.51.100.9", "lladdr", "02:00:5e:00:53:09", "dev", "ev0")
            try ns.ip("route", "del", "203.0.113.0/24")
            try ns.ip("link", "del", "ev0")
            var seen = Set<String>()
            let wanted: Set<String> = ["link+ev0", "addr+198.51.100.2/24", "route+203.0.113.0/24", "neigh+198.51.100.9",
                                       "route-203.0.113.0/24", "addr-198.51.100.2/24", "link-ev0"]
            for try await e in events {
                // The measures the leak test relies on do see a live subscription.
                if seen.isEmpty { #expect(Self.eventThreads() == 1) }
                switch e {
                case let .linkAdded(l): seen.insert("link+\(l.name)")
                case let .linkRemoved(l): seen.insert("link-\(l.name)")
                case let .addressAdded(a): seen.insert("addr+\(a.prefix)")
                case let .addressRemoved(a): seen.insert("addr-\(a.prefix)")
                case let .routeAdded(r): seen.insert("route+\(r.destinationText)")
                    if r.destinationText == "203.0.113.0/24" { #expect(r.gateway == IPAddress("198.51.100.1")) }
                case let .routeRemoved(r): seen.insert("route-\(r.destinationText)")
                case let .neighbourAdded(n): seen.insert("neigh+\(n.destination?.description ?? "")")
                    if n.destination == IPAddress("198.51.100.9") { #expect(n.isPermanent) }
                case .neighbourRemoved: break
                case .resync: Issue.record("no event should be lost with the default buffers")
                }
                if wanted.isSubset(of: seen) { break }
            }
            #expect(wanted.isSubset(of: seen))
        }
    }

    @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"), .timeLimit(.minutes(1)))
    func kernelOverflowSurfacesAsResyncAndEventsKeepFlowing() async throws {
        try await TestNamespace.with { ns in
            // A receive buffer of a few KB and 40 veth pairs created before reading starts:
            // the kernel must drop messages and report ENOBUFS.
            let events = try NetworkEvents(namespace: ns.namespace, groups: .links, receiveBufferBytes: 1)
            try TestEnvironment.run(["ip", "-n", ns.name, "-batch", "-"],
                                    stdin: (0..<40).map { "link add ov\($0) type veth peer name ow\($0)\n" }.joined())
            var resynced = false
            var afterResync = false
            for try await e in events {
                if e == .resync {
                    resynced = true
                    // The consumer re-dumps, and later changes still arrive.
                    let rt = try Rtnetlink(namespace: ns.namespace)
                    defer { rt.close() }
                    #expect(try rt.links().count == 81)
                    try rt.linkAdd(LinkSpec(name: "late0", kind: .veth(peerName: "late1")))
                }
                if case let .linkAdded(l) = e, l.name == "late0", resynced { afterResync = true; break }
            }
            #expect(resynced && afterResync)
        }
    }

    @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"), .timeLimit(.minutes(1)))
    func consumerBehindTheBufferLimitGetsResyncAfterWhatItHas() async throws {
        try await TestNamespace.with { ns in
            // 10 veth pairs, about 40 link messages, for a buffer of 2 and a consumer that
            // dawdles after its first event: the reader must drop and announce it.
            let events = try NetworkEvents(namespace: ns.namespace, groups: .links, bufferLimit: 2)
            try TestEnvironment.run(["ip", "-n", ns.name, "-batch", "-"],
                                    stdin: (0..<10).map { "link add sl\($0) type veth peer name sm\($0)\n" }.joined())
            var iterator = events.makeAsyncIterator()
            let first = try await iterator.next()
            #expect(first != nil && first != .resync)
            try await Task.sleep(nanoseconds: 300_000_000)
            var buffered = 0
            var next = try await iterator.next()
            while let e = next, e != .resync { buffered += 1; next = try await iterator.next() }
            #expect(next == .resync)
            #expect(buffered <= 2, "\(buffered) events before the resync, more than the buffer holds")
            // The consumer re-dumps; changes after that arrive again.
            _ = try ns.ip("link", "add", "late0", "type", "veth", "peer", "name", "late1")
            var late = false
            while let e = try await iterator.next() {
                if case let .linkAdded(l) = e, l.name == "late0" { late = true; break }
            }
            #expect(late)
        }
    }

    /// Netlink sockets of this process in `ns` (from /proc/net/netlink seen inside it).
    static func netlinkSockets(in ns: TestNamespace) throws -> Int {
        let text = try ns.namespace.run { try String(contentsOfFile: "/proc/thread-self/net/netlink", encoding: .utf8) }
        return text.split(separator: "\n").dropFirst().filter { line in
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            return f.count > 2 && f[1] == "0" && f[2] != "0"   // NETLINK_ROUTE, not the kernel's own socket
        }.count
    }

    static func eventThreads() -> Int {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.filter { t in
            (try? String(contentsOfFile: "/proc/self/task/\(t)/comm", encoding: .utf8))?.hasPrefix("sandnet-events") == true
        }.count
    }

    /// `measure()` once it is at most `expected`, or its last value after about three seconds.
    /// A reader thread that has signalled its end still needs microseconds to leave
    /// /proc/self/task, and other suites open descriptors briefly: noise settles, a leak stays.
    static func settled(_ expected: Int, _ measure: () -> Int) async -> Int {
        var now = measure()
        for _ in 0..<60 where now > expected { try? await Task.sleep(nanoseconds: 50_000_000); now = measure() }
        return now
    }

    /// Open socket descriptors of this process: what a subscription holds (its netlink
    /// socket and its wake-up socketpair). Other kinds (namespace files kept by the shared
    /// namespace thread pool as it grows for other suites) are not ours to count.
    static func openSockets() -> Int {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return fds.filter { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)"))?.hasPrefix("socket:") == true }.count
    }

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
                let waiting = Task { for try await _ in b {}; return true }
                waiting.cancel()
                #expect(try await waiting.value)
                // 3. close() while another task iterates
                let c = try NetworkEvents(namespace: ns.namespace, groups: .routes)
                let iterating = Task { var n = 0; for try await _ in c { n += 1 }; return n }
                c.close()
                _ = try await iterating.value
                // 4. never iterated, just dropped
                _ = try NetworkEvents(namespace: ns.namespace)
            }
            try await cycle(0)   // warm up: the namespace thread pool keeps a few descriptors
            #expect(await Self.settled(0, Self.eventThreads) == 0)
            let sockets = try Self.netlinkSockets(in: ns), fds = Self.openSockets()
            let probe = try NetworkEvents(namespace: ns.namespace)
            #expect(try Self.netlinkSockets(in: ns) == sockets + 1)
            probe.close()
            for i in 1...50 { try await cycle(i) }
            // Teardown is asynchronous (nothing waits for a reader thread): each reader
            // closes its socket as it leaves, so allow a bounded settling time.
            #expect(await Self.settled(sockets) { (try? Self.netlinkSockets(in: ns)) ?? Int.max } == sockets)
            #expect(await Self.settled(0, Self.eventThreads) == 0)
            // The baseline may include sockets other suites held for a moment, so "no more
            // than before": 50 leaking cycles would leave 150 sockets, far above any noise.
            let after = await Self.settled(fds, Self.openSockets)
            #expect(after <= fds, "sockets before \(fds), after \(after)")
        }
    }
}
