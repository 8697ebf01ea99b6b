import Foundation
import KernelConformance
import NetlinkCodec
import NetlinkSocket
import Rtnetlink
import SandnetCore
import TestSupport
import Testing

@testable import TrafficControl

#if canImport(Glibc)
    import Glibc
#endif

/// Runtime feature answers for traits: what this kernel lacks is skipped with the reason.
enum Probe {
    static var hasMatchall: Bool { KernelFeatureProbe.matchall }
    static var hasFlower: Bool { KernelFeatureProbe.flower }
    static var hasGact: Bool { KernelFeatureProbe.gact }
    static var hasClsact: Bool { KernelFeatureProbe.clsact }
    static var hasHtb: Bool { KernelFeatureProbe.htb }
}

/// Every object made by sandnet is checked against `tc -j -d`, and objects made by `tc` are
/// checked against sandnet's decoding: the same comparison both ways.
@Suite(.serialized) struct TrafficControlKernelTests {
    /// A namespace with veth `a` <-> `b` (ifindexes differ per run: always looked up).
    static func withPair(_ body: (TestNamespace, Rtnetlink) throws -> Void) throws {
        try TestNamespace.with(prefix: "sntc") { ns in
            let rt = try Rtnetlink(namespace: ns.namespace)
            defer { rt.close() }
            try rt.linkAdd(LinkSpec(name: "a", kind: .veth(peerName: "b"), up: true))
            try body(ns, rt)
        }
    }

    /// Compares sandnet's view of the filters under `parent` with `tc -j -d filter show`
    /// (KernelConformance's comparison, each difference an issue).
    static func expectFiltersMatchTc(_ ns: TestNamespace, _ rt: Rtnetlink, dev: String, parent: TcHandle, tcParent: String) throws {
        let ours = try rt.filters(device: .name(dev), parent: parent)
        let theirs = try ns.tcJSON("-d", "filter", "show", "dev", dev, "parent", tcParent)
        let names = LinkComparison.names(try rt.links())
        for d in TrafficControlComparison.filterDifferences(ours, theirs, names: names, where: "\(dev) parent \(tcParent)") {
            Issue.record("\(d)")
        }
    }

    /// Compares sandnet's qdisc list for `dev` with `tc -j -d qdisc show dev`.
    static func expectQdiscsMatchTc(_ ns: TestNamespace, _ rt: Rtnetlink, dev: String) throws {
        let theirs = try ns.tcJSON("-d", "qdisc", "show", "dev", dev)
        for d in TrafficControlComparison.qdiscDifferences(try rt.qdiscs(device: .name(dev)), theirs, where: dev) { Issue.record("\(d)") }
    }

    @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates namespaces and qdiscs"))
    func ingressAndU32RedirectsMadeBySandnetMatchTc() throws {
        try Self.withPair { ns, rt in
            let b = try rt.index(of: .name("b"))
            try rt.qdiscAdd(QdiscSpec(device: .name("a"), kind: .ingress))
            try rt.filterAdd(
                FilterSpec(
                    device: .name("a"), parent: .ingressQdisc, priority: 1,
                    kind: .u32(.matchAll, actions: [.mirred(MirredAction(.redirect, .egress, to: b))])))
            try rt.filterAdd(
                FilterSpec(
                    device: .name("a"), parent: .ingressQdisc, priority: 2, protocolID: ETH_P.IP,
                    kind: .u32(
                        U32Selector(keys: [.ipv4Destination(IPPrefix("198.51.100.0/24")!), .ipProtocol(1)]),
                        actions: [
                            .mirred(MirredAction(.mirror, .egress, to: b)),
                            .mirred(MirredAction(.redirect, .ingress, to: b, result: .stolen))
                        ])))
            try Self.expectQdiscsMatchTc(ns, rt, dev: "a")
            try Self.expectFiltersMatchTc(ns, rt, dev: "a", parent: .ingressQdisc, tcParent: "ffff:")
            let node = try #require(
                try rt.filters(device: .name("a"), parent: .ingressQdisc).first { $0.priority == 1 && $0.u32?.selector != nil })
            #expect(node.u32?.selector?.terminal == true)
            #expect(node.actions.first?.action == .mirred(MirredAction(.redirect, .egress, to: b, result: .stolen)))

            try rt.filterDelete(device: .name("a"), parent: .ingressQdisc, priority: 2)
            #expect(try ns.tcJSON("filter", "show", "dev", "a", "parent", "ffff:").allSatisfy { $0["pref"] as? Int == 1 })
            try rt.qdiscDelete(QdiscSpec(device: .name("a"), kind: .ingress))
            #expect(try ns.tcJSON("qdisc", "show", "dev", "a").allSatisfy { $0["kind"] as? String != "ingress" })
        }
    }

    @Test(.enabled(if: Probe.hasClsact, "kernel lacks sch_clsact (CONFIG_NET_SCH_INGRESS with clsact)"))
    func objectsMadeByTcAreDecodedLikeTcShowsThem() throws {
        // The same check the kernel lab runs in the Debian cloud guest (Sources/KernelConformance).
        try TrafficControlChecks.objectsMadeByTcAreDecodedLikeTcShowsThem()
    }

    @Test(.enabled(if: Probe.hasHtb, "kernel lacks sch_htb (CONFIG_NET_SCH_HTB)"))
    func htbQdiscAndClassesMatchTcBothWays() throws {
        try TrafficControlChecks.htbQdiscAndClassesMatchTcBothWays()
    }

    @Test(.enabled(if: Probe.hasMatchall, "kernel lacks cls_matchall (CONFIG_NET_CLS_MATCHALL): probed in a throwaway netns"))
    func matchallFilterMatchesTc() throws {
        try TrafficControlChecks.matchallFilterMatchesTc()
    }

    @Test(.enabled(if: Probe.hasFlower, "kernel lacks cls_flower (CONFIG_NET_CLS_FLOWER): probed in a throwaway netns"))
    func flowerFilterMatchesTc() throws {
        try TrafficControlChecks.flowerFilterMatchesTc()
    }

    @Test(.enabled(if: Probe.hasGact, "kernel lacks act_gact (CONFIG_NET_ACT_GACT): probed in a throwaway netns"))
    func gactResultsMatchTc() throws {
        try TrafficControlChecks.gactResultsMatchTc()
    }

    @Test(.enabled(if: TestEnvironment.isRoot, "needs root: probes create namespaces"))
    func probesAgreeWithTc() throws {
        #expect(TrafficControlProbe.supports(filter: "u32"))
        #expect(TrafficControlProbe.supports(qdisc: "ingress"))
        #expect(TrafficControlProbe.supports(action: "mirred"))
        try Self.withPair { ns, _ in
            _ = try ns.tc("qdisc", "add", "dev", "a", "ingress")
            for kind in ["matchall", "flower"] {
                let tcCan = try TestEnvironment.run(["tc", "-n", ns.name, "filter", "add", "dev", "a", "parent", "ffff:", kind]).status == 0
                let finding = TrafficControlProbe.probe(filter: kind)
                #expect(finding.available == tcCan, "probe says \(finding), tc says \(tcCan)")
                if !finding.available { #expect(finding.reason?.contains("CONFIG_NET_CLS_\(kind.uppercased())") == true) }
            }
        }
    }

    @Test func busyQdiscAddIsRetriedThenGivesUp() throws {
        let rt = try Rtnetlink()
        defer { rt.close() }
        let busy = NetlinkError.kernel(KernelRefusal(operation: "add qdisc", object: nil, errno: EBUSY, kernelMessage: nil))
        var calls = 0
        try rt.retryingBusy {
            calls += 1
            if calls < 3 { throw busy }
        }
        #expect(calls == 3)
        calls = 0
        #expect(throws: NetlinkError.self) {
            try rt.retryingBusy {
                calls += 1
                throw busy
            }
        }
        #expect(calls == Rtnetlink.qdiscBusyRetries + 1)
        calls = 0
        let other = NetlinkError.kernel(KernelRefusal(operation: "add qdisc", object: nil, errno: EEXIST, kernelMessage: nil))
        #expect(throws: NetlinkError.self) {
            try rt.retryingBusy {
                calls += 1
                throw other
            }
        }
        #expect(calls == 1)
    }
}
