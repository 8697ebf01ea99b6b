import Foundation
import NetlinkCodec
import NetlinkSocket
import Rtnetlink
import TapDevices
import TestSupport
import Testing
import TrafficControl

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 17: several requests in one datagram, each outcome told apart; several taps in one
/// visit to the namespace thread.
@Suite(.serialized) struct BatchAndTapSetTests {
    /// Four requests in one sendmsg: a refused one does not hide the others' outcomes, and
    /// each refusal names its own request and carries the kernel's extended-ACK text; the
    /// echoed filter says the handle the kernel chose, as `tc filter show` does.
    @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates namespaces and qdiscs"))
    func eachRequestOfABatchGetsItsOwnOutcome() throws {
        try TestNamespace.with(prefix: "sntB") { ns in
            try ns.ip("link", "add", "a0", "type", "veth", "peer", "name", "b0")
            let rt = try Rtnetlink(namespace: ns.namespace)
            defer { rt.close() }
            let a0 = try rt.link(named: "a0").index
            let b0 = try rt.link(named: "b0").index
            let qdisc = NetlinkRequest(
                Rtnetlink.qdiscAddRequest(QdiscSpec(device: .index(a0), kind: .ingress), index: a0), operation: "add qdisc",
                object: "ingress dev a0")
            var filter = Rtnetlink.filterAddRequest(
                FilterSpec(
                    device: .index(a0), parent: .ingressQdisc, priority: 1,
                    kind: .u32(.matchAll, actions: [.mirred(MirredAction(.redirect, .egress, to: b0))])), index: a0)
            filter.header.flags.formUnion(.echo)
            let outcomes = try rt.executeBatch([
                try Rtnetlink.linkSetRequest(index: a0, LinkChange(up: true, group: 77)),
                qdisc,
                NetlinkRequest(qdisc.message, operation: "add qdisc again", object: "ingress dev a0"),
                NetlinkRequest(filter, operation: "add filter", object: "u32 dev a0")
            ])
            try #require(outcomes.count == 4)
            #expect((try? outcomes[0].get()) != nil)
            #expect((try? outcomes[1].get()) != nil)
            guard case .failure(let refusal) = outcomes[2], case .kernel(let k) = refusal else {
                Issue.record("the second qdisc add must be refused: \(outcomes[2])")
                return
            }
            #expect(k.errno == EEXIST && k.operation == "add qdisc again" && k.object == "ingress dev a0")
            #expect(k.kernelMessage?.isEmpty == false, "the kernel's extended-ACK text: \(k)")
            let echoed = try outcomes[3].get().filter { $0.header.type == RTM.NEWTFILTER }.map(Filter.decode)
            let shown = try rt.filters(device: .index(a0), parent: .ingressQdisc).filter { $0.u32?.divisor == nil && $0.handle != 0 }
            #expect(echoed.map(\.handle) == shown.map(\.handle) && !shown.isEmpty, "echo \(echoed) vs dump \(shown)")
            let link = try #require(try ns.ipJSON("-d", "link", "show", "a0").first)
            #expect(link["group"] as? String == "77" || link["group"] as? Int == 77, "\(link)")
            #expect((link["flags"] as? [String])?.contains("UP") == true)
        }
    }

    /// Three taps in one visit; the one whose name is taken fails alone, the ones before it
    /// exist and are owned by the set, the one after it is not tried.
    @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates namespaces and taps"))
    func tapsOfOneVisitStopAtTheFirstFailure() throws {
        try TestNamespace.with(prefix: "sntS") { ns in
            try ns.ip("link", "add", "taken", "type", "veth", "peer", "name", "takenp")
            var set = try TunTap.create(
                [TapSpec(name: "t0", queues: 2), TapSpec(name: "taken", queues: 1), TapSpec(name: "t2", queues: 1)], in: ns.namespace)
            let made = set.taps
            #expect(made.map(\.name) == ["t0"])
            let failed = set.failure
            let failure = try #require(failed)
            #expect(failure.index == 1 && "\(failure.error)".contains("taken") && failure.error.errno != nil, "\(failure.error)")
            let t0 = try #require(try ns.ipJSON("-d", "link", "show", "t0").first)
            #expect(t0["ifindex"] as? Int == Int(made[0].index))
            #expect(try ns.ipJSON("link", "show").allSatisfy { $0["ifname"] as? String != "t2" })
            let fds = set.takeDescriptors(of: 0)
            #expect(fds.count == 2 && fds.allSatisfy { fcntl($0, F_GETFD) & FD_CLOEXEC != 0 })
            for fd in fds { close(fd) }
        }
    }
}
