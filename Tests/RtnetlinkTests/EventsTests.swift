import Foundation
import NetlinkCodec
import NetlinkSocket
import Rtnetlink
import Testing
import TestSupport

@Suite(.serialized) struct EventsTests {
    @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"), .timeLimit(.minutes(1)))
    func linkAddressRouteAndNeighbourChangesArriveTyped() async throws {
        try await TestNamespace.with { ns in
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

    static func openDescriptors() -> Int { ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).count }

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
            let sockets = try Self.netlinkSockets(in: ns), fds = Self.openDescriptors()
            #expect(Self.eventThreads() == 0)
            let probe = try NetworkEvents(namespace: ns.namespace)
            #expect(try Self.netlinkSockets(in: ns) == sockets + 1)
            probe.close()
            for i in 1...50 { try await cycle(i) }
            #expect(try Self.netlinkSockets(in: ns) == sockets)
            #expect(Self.eventThreads() == 0)
            // Other suites open and close descriptors concurrently; a leak persists, noise does not.
            var now = Self.openDescriptors()
            for _ in 0..<20 where now != fds { try await Task.sleep(nanoseconds: 50_000_000); now = Self.openDescriptors() }
            #expect(now == fds)
        }
    }
}
