import Foundation
import NetlinkCodec
import NetlinkSocket
import Rtnetlink
import SandnetCore
import TestSupport
import Testing

@Suite(.serialized) struct EventsTests {
    @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"), .timeLimit(.minutes(1)))
    func linkAddressRouteAndNeighbourChangesArriveTyped() async throws {
        try await TestNamespace.with { ns in
            // Readers of earlier tests leave on their own, moments after their stream ended.
            _ = await EventsLeakChecks.settled(0, Self.eventThreads)
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
            let wanted: Set<String> = [
                "link+ev0", "addr+198.51.100.2/24", "route+203.0.113.0/24", "neigh+198.51.100.9",
                "route-203.0.113.0/24", "addr-198.51.100.2/24", "link-ev0"
            ]
            for try await e in events {
                // The measures the leak test relies on do see a live subscription.
                if seen.isEmpty { #expect(Self.eventThreads() == 1) }
                switch e {
                case .linkAdded(let l): seen.insert("link+\(l.name)")
                case .linkRemoved(let l): seen.insert("link-\(l.name)")
                case .addressAdded(let a): seen.insert("addr+\(a.prefix)")
                case .addressRemoved(let a): seen.insert("addr-\(a.prefix)")
                case .routeAdded(let r):
                    seen.insert("route+\(r.destinationText)")
                    if r.destinationText == "203.0.113.0/24" { #expect(r.gateway == IPAddress("198.51.100.1")) }
                case .routeRemoved(let r): seen.insert("route-\(r.destinationText)")
                case .neighbourAdded(let n):
                    seen.insert("neigh+\(n.destination?.description ?? "")")
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
            try TestEnvironment.run(
                ["ip", "-n", ns.name, "-batch", "-"],
                stdin: (0..<40).map { "link add ov\($0) type veth peer name ow\($0)\n" }.joined())
            var resynced = false
            var afterResync = false
            for try await e in events {
                if e == .resync {
                    // The consumer re-dumps, and later changes still arrive.
                    let rt = try Rtnetlink(namespace: ns.namespace)
                    defer { rt.close() }
                    let names = try rt.links().map(\.name)
                    if !resynced {
                        #expect(names.count == 81)
                        try rt.linkAdd(LinkSpec(name: "late0", kind: .veth(peerName: "late1")))
                    } else if names.contains("late0") {
                        // On a loaded machine the smallest buffer can overflow again, with
                        // late0's own events: the re-dump is then what shows it arrived.
                        afterResync = true
                        break
                    }
                    resynced = true
                }
                if case .linkAdded(let l) = e, l.name == "late0", resynced {
                    afterResync = true
                    break
                }
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
            try TestEnvironment.run(
                ["ip", "-n", ns.name, "-batch", "-"],
                stdin: (0..<10).map { "link add sl\($0) type veth peer name sm\($0)\n" }.joined())
            var iterator = events.makeAsyncIterator()
            let first = try await iterator.next()
            #expect(first != nil && first != .resync)
            try await Task.sleep(nanoseconds: 300_000_000)
            var buffered = 0
            var next = try await iterator.next()
            while let e = next, e != .resync {
                buffered += 1
                next = try await iterator.next()
            }
            #expect(next == .resync)
            #expect(buffered <= 2, "\(buffered) events before the resync, more than the buffer holds")
            // The consumer re-dumps; changes after that arrive again.
            _ = try ns.ip("link", "add", "late0", "type", "veth", "peer", "name", "late1")
            var late = false
            while let e = try await iterator.next() {
                if case .linkAdded(let l) = e, l.name == "late0" {
                    late = true
                    break
                }
            }
            #expect(late)
        }
    }

    static func eventThreads() -> Int {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.filter { t in
            (try? String(contentsOfFile: "/proc/self/task/\(t)/comm", encoding: .utf8))?.hasPrefix("sandnet-events") == true
        }.count
    }
}
