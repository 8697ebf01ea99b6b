import Foundation
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
    static var hasMatchall: Bool { TestEnvironment.isRoot && TrafficControlProbe.supports(filter: "matchall") }
    static var hasFlower: Bool { TestEnvironment.isRoot && TrafficControlProbe.supports(filter: "flower") }
    static var hasGact: Bool { TestEnvironment.isRoot && TrafficControlProbe.supports(action: "gact") }
    static var hasClsact: Bool { TestEnvironment.isRoot && TrafficControlProbe.supports(qdisc: "clsact") }
    static var hasHtb: Bool { TestEnvironment.isRoot && TrafficControlProbe.supports(qdisc: "htb") }
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

    /// Compares sandnet's view of the filters under `parent` with `tc -j -d filter show`.
    static func expectFiltersMatchTc(_ ns: TestNamespace, _ rt: Rtnetlink, dev: String, parent: TcHandle, tcParent: String) throws {
        let ours = try rt.filters(device: .name(dev), parent: parent)
        let theirs = try ns.tcJSON("-d", "filter", "show", "dev", dev, "parent", tcParent)
        #expect(ours.count == theirs.count, "sandnet decoded \(ours.count) filter entries, tc shows \(theirs.count)")
        let names = Dictionary(try rt.links().map { ($0.index, $0.name) }, uniquingKeysWith: { a, _ in a })
        for (o, t) in zip(ours, theirs) {
            #expect(o.kind == t["kind"] as? String)
            #expect(Int(o.priority) == t["pref"] as? Int)
            #expect(o.protocolName == t["protocol"] as? String)
            #expect(o.chain.map(Int.init) == t["chain"] as? Int)
            guard let opt = t["options"] as? [String: Any] else {
                #expect(!o.hasOptions)
                continue
            }
            if o.kind == "u32", let u = o.u32 {
                #expect(U32Info.handleText(o.handle) == opt["fh"] as? String)
                #expect(u.divisor.map(Int.init) == opt["ht_divisor"] as? Int)
                #expect(u.keyHashTable.map { String($0, radix: 16) } == opt["key_ht"] as? String)
                #expect(u.bucket.map { String($0, radix: 16) } == opt["bkt"] as? String)
                if let node = o.handle & 0xfff as UInt32?, node != 0 { #expect(Int(node) == opt["order"] as? Int) }
                // tc repeats the "match" key once per u32 key; a JSON parser keeps the last one.
                if let key = u.selector?.keys.last, let m = opt["match"] as? [String: Any] {
                    #expect(String(key.value, radix: 16) == m["value"] as? String)
                    #expect(String(key.mask, radix: 16) == m["mask"] as? String)
                    #expect(Int(key.offset) == m["off"] as? Int)
                }
            }
            #expect(o.notInHardware == (opt["not_in_hw"] as? Bool ?? false))
            let actions = opt["actions"] as? [[String: Any]] ?? []
            #expect(o.actions.count == actions.count)
            for (a, j) in zip(o.actions, actions) {
                #expect(Int(a.order) == j["order"] as? Int)
                #expect(a.action.kindName == j["kind"] as? String)
                #expect(Int(a.index) == j["index"] as? Int)
                #expect(Int(a.references) == j["ref"] as? Int)
                #expect(Int(a.bindings) == j["bind"] as? Int)
                switch a.action {
                case .mirred(let m):
                    #expect(m.mode.rawValue == j["mirred_action"] as? String)
                    #expect(m.direction.rawValue == j["direction"] as? String)
                    #expect(names[m.targetIndex] == j["to_dev"] as? String)
                    #expect(m.result.description == (j["control_action"] as? [String: Any])?["type"] as? String)
                case .gact(let r):
                    #expect(r.description == (j["control_action"] as? [String: Any])?["type"] as? String)
                case .other:
                    Issue.record("action \(a.action.kindName) was not decoded")
                }
            }
        }
    }

    /// Compares sandnet's qdisc list for `dev` with `tc -j -d qdisc show dev`.
    static func expectQdiscsMatchTc(_ ns: TestNamespace, _ rt: Rtnetlink, dev: String) throws {
        let ours = try rt.qdiscs(device: .name(dev))
        let theirs = try ns.tcJSON("-d", "qdisc", "show", "dev", dev)
        #expect(ours.count == theirs.count)
        for (o, t) in zip(ours, theirs) {
            #expect(o.kind == t["kind"] as? String)
            #expect(o.handle.description == t["handle"] as? String)
            if o.isRoot { #expect(t["root"] as? Bool == true) } else { #expect(o.parent.description == t["parent"] as? String) }
            if let h = o.htb {
                let opt = t["options"] as? [String: Any]
                #expect(Int(h.rateToQuantum) == opt?["r2q"] as? Int)
                #expect("0x" + String(h.defaultClass, radix: 16) == opt?["default"] as? String)
                #expect(h.versionText == opt?["ver"] as? String)
                #expect(h.directQueueLength.map(Int.init) == opt?["direct_qlen"] as? Int)
                #expect(Int(h.directPackets) == opt?["direct_packets_stat"] as? Int)
            }
        }
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
        try Self.withPair { ns, rt in
            _ = try ns.tc("qdisc", "add", "dev", "a", "clsact")
            _ = try ns.tc("qdisc", "add", "dev", "b", "ingress")
            _ = try ns.tc(
                "filter", "add", "dev", "a", "ingress", "protocol", "all", "pref", "10", "u32", "match", "u32", "0", "0",
                "action", "mirred", "egress", "redirect", "dev", "b")
            _ = try ns.tc(
                "filter", "add", "dev", "a", "egress", "protocol", "ip", "pref", "20", "u32", "match", "ip", "src",
                "203.0.113.0/24", "action", "mirred", "egress", "mirror", "dev", "b", "pipe")
            _ = try ns.tc(
                "filter", "add", "dev", "b", "parent", "ffff:", "protocol", "arp", "pref", "5", "u32", "match", "u32", "0", "0",
                "action", "mirred", "ingress", "redirect", "dev", "a")
            try Self.expectQdiscsMatchTc(ns, rt, dev: "a")
            try Self.expectQdiscsMatchTc(ns, rt, dev: "b")
            try Self.expectFiltersMatchTc(ns, rt, dev: "a", parent: .clsactIngress, tcParent: "ffff:fff2")
            try Self.expectFiltersMatchTc(ns, rt, dev: "a", parent: .clsactEgress, tcParent: "ffff:fff3")
            try Self.expectFiltersMatchTc(ns, rt, dev: "b", parent: .ingressQdisc, tcParent: "ffff:")
            // Listing by device walks every hook of every qdisc.
            let all = try rt.filters(device: .name("a"))
            #expect(Set(all.map(\.priority)) == [10, 20])
            #expect(all.first { $0.priority == 20 }?.protocolID == ETH_P.IP)
            // sandnet deletes what tc made.
            for q in try rt.qdiscs() where q.kind == "clsact" || q.kind == "ingress" { try rt.qdiscDelete(q) }
            #expect(try ns.tcJSON("qdisc", "show").allSatisfy { !["clsact", "ingress"].contains($0["kind"] as? String ?? "") })
        }
    }

    @Test(.enabled(if: Probe.hasHtb, "kernel lacks sch_htb (CONFIG_NET_SCH_HTB)"))
    func htbQdiscAndClassesMatchTcBothWays() throws {
        try Self.withPair { ns, rt in
            try rt.qdiscAdd(QdiscSpec(device: .name("a"), kind: .htb(defaultClass: 0x10, directQueueLength: 100)))
            try rt.htbClassAdd(
                HtbClassSpec(
                    device: .name("a"), parent: TcHandle("1:")!, classID: TcHandle("1:10")!,
                    rate: 10_000_000, ceil: 20_000_000, priority: 1))
            _ = try ns.tc("class", "add", "dev", "a", "parent", "1:", "classid", "1:20", "htb", "rate", "5mbit", "burst", "15k")
            try Self.expectQdiscsMatchTc(ns, rt, dev: "a")
            let classes = try rt.classes(device: .name("a")).filter { $0.kind == "htb" }
            #expect(classes.map(\.classID.description).sorted() == ["1:10", "1:20"])
            // tc 6.1 prints classes as text even with -j: compare the fields it prints.
            let text = try ns.tc("-d", "class", "show", "dev", "a")
            for c in classes {
                let h = try #require(c.htb)
                let line = try #require(text.split(separator: "\n").first { $0.contains("class htb \(c.classID) ") })
                #expect(line.contains("rate \(Self.tcRate(h.rateBits)) ceil \(Self.tcRate(h.ceilBits))"), "\(line)")
                #expect(line.contains("burst \(h.burstBytes)b") || line.contains("burst \(h.burstBytes / 1024)Kb"), "\(line)")
                #expect(line.contains("prio \(h.priority)"), "\(line)")
            }
            #expect(classes.first { $0.classID.description == "1:10" }?.htb?.burstBytes == 1600)
            #expect(classes.first { $0.classID.description == "1:20" }?.htb?.burstBytes == 15 * 1024)
            try rt.classDelete(device: .name("a"), classID: TcHandle("1:20")!)
            #expect(try rt.classes(device: .name("a")).map(\.classID.description) == ["1:10"])
            try rt.qdiscDelete(QdiscSpec(device: .name("a"), kind: .htb()))
            #expect(try rt.qdiscs(device: .name("a")).allSatisfy { $0.kind != "htb" })
        }
    }

    static func tcRate(_ bits: UInt64) -> String {
        if bits % 1_000_000 == 0 { return "\(bits / 1_000_000)Mbit" }
        if bits % 1000 == 0 { return "\(bits / 1000)Kbit" }
        return "\(bits)bit"
    }

    @Test(.enabled(if: Probe.hasMatchall, "kernel lacks cls_matchall (CONFIG_NET_CLS_MATCHALL): probed in a throwaway netns"))
    func matchallFilterMatchesTc() throws {
        try Self.withPair { ns, rt in
            try rt.qdiscAdd(QdiscSpec(device: .name("a"), kind: .ingress))
            try rt.filterAdd(
                FilterSpec(
                    device: .name("a"), parent: .ingressQdisc, priority: 3,
                    kind: .matchall(actions: [.mirred(MirredAction(.redirect, to: try rt.index(of: .name("b"))))])))
            try Self.expectFiltersMatchTc(ns, rt, dev: "a", parent: .ingressQdisc, tcParent: "ffff:")
        }
    }

    @Test(.enabled(if: Probe.hasFlower, "kernel lacks cls_flower (CONFIG_NET_CLS_FLOWER): probed in a throwaway netns"))
    func flowerFilterMatchesTc() throws {
        try Self.withPair { ns, rt in
            try rt.qdiscAdd(QdiscSpec(device: .name("a"), kind: .ingress))
            try rt.filterAdd(
                FilterSpec(
                    device: .name("a"), parent: .ingressQdisc, priority: 4, protocolID: ETH_P.IP,
                    kind: .flower(
                        FlowerMatch(ipProtocol: 1, ipv4Destination: IPPrefix("198.51.100.0/24")),
                        actions: [.mirred(MirredAction(.redirect, to: try rt.index(of: .name("b"))))])))
            try Self.expectFiltersMatchTc(ns, rt, dev: "a", parent: .ingressQdisc, tcParent: "ffff:")
            let f = try #require(try rt.filters(device: .name("a"), parent: .ingressQdisc).first { $0.flower != nil })
            #expect(f.flower?.ipv4Destination == IPPrefix("198.51.100.0/24"))
        }
    }

    @Test(.enabled(if: Probe.hasGact, "kernel lacks act_gact (CONFIG_NET_ACT_GACT): probed in a throwaway netns"))
    func gactResultsMatchTc() throws {
        try Self.withPair { ns, rt in
            try rt.qdiscAdd(QdiscSpec(device: .name("a"), kind: .ingress))
            try rt.filterAdd(
                FilterSpec(
                    device: .name("a"), parent: .ingressQdisc, priority: 6,
                    kind: .u32(.matchAll, actions: [.gact(.pipe), .gact(.ok)])))
            try Self.expectFiltersMatchTc(ns, rt, dev: "a", parent: .ingressQdisc, tcParent: "ffff:")
        }
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
