import Foundation
import NetlinkCodec
import NetlinkSocket
import Rtnetlink
import SandnetCore
import Synchronization
import TrafficControl

/// Qdiscs, classifiers and actions the host kernel may lack, made by sandnet (or by tc) and
/// compared with `tc -j -d` both ways (TrafficControlKernelTests, KernelWarningTests and the
/// lab run these).
public enum TrafficControlChecks {
    /// A namespace with veth `a` <-> `b` (ifindexes differ per run: always looked up).
    static func withPair(_ body: (LabNamespace, Rtnetlink) throws -> Void) throws {
        try LabNamespace.with(prefix: "sntc") { ns in
            let rt = try Rtnetlink(namespace: ns.namespace)
            defer { rt.close() }
            try rt.linkAdd(LinkSpec(name: "a", kind: .veth(peerName: "b"), up: true))
            try body(ns, rt)
        }
    }

    /// clsact and ingress qdiscs and u32 filters made by tc, decoded as tc shows them and
    /// deleted by sandnet.
    public static func objectsMadeByTcAreDecodedLikeTcShowsThem() throws {
        var d = Differences("clsact/ingress objects made by tc")
        try withPair { ns, rt in
            try ns.tc("qdisc", "add", "dev", "a", "clsact")
            try ns.tc("qdisc", "add", "dev", "b", "ingress")
            try ns.tc(
                "filter", "add", "dev", "a", "ingress", "protocol", "all", "pref", "10", "u32", "match", "u32", "0", "0",
                "action", "mirred", "egress", "redirect", "dev", "b")
            try ns.tc(
                "filter", "add", "dev", "a", "egress", "protocol", "ip", "pref", "20", "u32", "match", "ip", "src",
                "203.0.113.0/24", "action", "mirred", "egress", "mirror", "dev", "b", "pipe")
            try ns.tc(
                "filter", "add", "dev", "b", "parent", "ffff:", "protocol", "arp", "pref", "5", "u32", "match", "u32", "0", "0",
                "action", "mirred", "ingress", "redirect", "dev", "a")
            d.add(try TrafficControlComparison.qdiscDifferences(ns, rt, dev: "a"))
            d.add(try TrafficControlComparison.qdiscDifferences(ns, rt, dev: "b"))
            d.add(try TrafficControlComparison.filterDifferences(ns, rt, dev: "a", parent: .clsactIngress, tcParent: "ffff:fff2"))
            d.add(try TrafficControlComparison.filterDifferences(ns, rt, dev: "a", parent: .clsactEgress, tcParent: "ffff:fff3"))
            d.add(try TrafficControlComparison.filterDifferences(ns, rt, dev: "b", parent: .ingressQdisc, tcParent: "ffff:"))
            // Listing by device walks every hook of every qdisc.
            let all = try rt.filters(device: .name("a"))
            d.expect(Set(all.map(\.priority)) == [10, 20], "listing a's filters found priorities \(all.map(\.priority))")
            d.expect(all.first { $0.priority == 20 }?.protocolID == ETH_P.IP, "the pref 20 filter is not protocol ip")
            // sandnet deletes what tc made.
            for q in try rt.qdiscs() where q.kind == "clsact" || q.kind == "ingress" { try rt.qdiscDelete(q) }
            let left = try ns.tcJSON("qdisc", "show").compactMap { $0["kind"] as? String }.filter { ["clsact", "ingress"].contains($0) }
            d.expect(left.isEmpty, "tc still shows \(left) after sandnet deleted them")
        }
        try d.finish()
    }

    /// An htb qdisc and classes made by sandnet and by tc, listed alike, deleted by sandnet.
    public static func htbQdiscAndClassesMatchTcBothWays() throws {
        var d = Differences("htb qdisc and classes")
        try withPair { ns, rt in
            try rt.qdiscAdd(QdiscSpec(device: .name("a"), kind: .htb(defaultClass: 0x10, directQueueLength: 100)))
            try rt.htbClassAdd(
                HtbClassSpec(
                    device: .name("a"), parent: TcHandle("1:")!, classID: TcHandle("1:10")!,
                    rate: 10_000_000, ceil: 20_000_000, priority: 1))
            try ns.tc("class", "add", "dev", "a", "parent", "1:", "classid", "1:20", "htb", "rate", "5mbit", "burst", "15k")
            d.add(try TrafficControlComparison.qdiscDifferences(ns, rt, dev: "a"))
            let classes = try rt.classes(device: .name("a")).filter { $0.kind == "htb" }
            d.expect(classes.map(\.classID.description).sorted() == ["1:10", "1:20"], "htb classes \(classes.map(\.classID))")
            // tc 6.1 prints classes as text even with -j: compare the fields it prints.
            let text = try ns.tc("-d", "class", "show", "dev", "a")
            for c in classes {
                let h = try d.require(c.htb, "class \(c.classID) has no htb options")
                let line = try d.require(
                    text.split(separator: "\n").first { $0.contains("class htb \(c.classID) ") }, "tc does not show class \(c.classID)")
                d.expect(line.contains("rate \(tcRate(h.rateBits)) ceil \(tcRate(h.ceilBits))"), "rate/ceil: tc shows \(line)")
                d.expect(
                    line.contains("burst \(h.burstBytes)b") || line.contains("burst \(h.burstBytes / 1024)Kb"),
                    "burst \(h.burstBytes): tc shows \(line)")
                d.expect(line.contains("prio \(h.priority)"), "prio \(h.priority): tc shows \(line)")
            }
            d.expect(classes.first { $0.classID.description == "1:10" }?.htb?.burstBytes == 1600, "1:10's burst is not 1600 bytes")
            d.expect(classes.first { $0.classID.description == "1:20" }?.htb?.burstBytes == 15 * 1024, "1:20's burst is not 15k")
            try rt.classDelete(device: .name("a"), classID: TcHandle("1:20")!)
            let after = try rt.classes(device: .name("a")).map(\.classID.description)
            d.expect(after == ["1:10"], "after deleting 1:20 the classes are \(after)")
            try rt.qdiscDelete(QdiscSpec(device: .name("a"), kind: .htb()))
            d.expect(try rt.qdiscs(device: .name("a")).allSatisfy { $0.kind != "htb" }, "the htb qdisc is still there")
        }
        try d.finish()
    }

    static func tcRate(_ bits: UInt64) -> String {
        if bits % 1_000_000 == 0 { return "\(bits / 1_000_000)Mbit" }
        if bits % 1000 == 0 { return "\(bits / 1000)Kbit" }
        return "\(bits)bit"
    }

    /// A matchall filter with a mirred redirect.
    public static func matchallFilterMatchesTc() throws {
        var d = Differences("matchall filter")
        try withPair { ns, rt in
            try rt.qdiscAdd(QdiscSpec(device: .name("a"), kind: .ingress))
            try rt.filterAdd(
                FilterSpec(
                    device: .name("a"), parent: .ingressQdisc, priority: 3,
                    kind: .matchall(actions: [.mirred(MirredAction(.redirect, to: try rt.index(of: .name("b"))))])))
            d.add(try TrafficControlComparison.filterDifferences(ns, rt, dev: "a", parent: .ingressQdisc, tcParent: "ffff:"))
            let kinds = try rt.filters(device: .name("a"), parent: .ingressQdisc).map(\.kind)
            d.expect(kinds.contains("matchall"), "no matchall filter decoded: \(kinds)")
        }
        try d.finish()
    }

    /// A flower filter matching ICMP to 198.51.100.0/24, with a mirred redirect.
    public static func flowerFilterMatchesTc() throws {
        var d = Differences("flower filter")
        try withPair { ns, rt in
            try rt.qdiscAdd(QdiscSpec(device: .name("a"), kind: .ingress))
            try rt.filterAdd(
                FilterSpec(
                    device: .name("a"), parent: .ingressQdisc, priority: 4, protocolID: ETH_P.IP,
                    kind: .flower(
                        FlowerMatch(ipProtocol: 1, ipv4Destination: IPPrefix("198.51.100.0/24")),
                        actions: [.mirred(MirredAction(.redirect, to: try rt.index(of: .name("b"))))])))
            d.add(try TrafficControlComparison.filterDifferences(ns, rt, dev: "a", parent: .ingressQdisc, tcParent: "ffff:"))
            let f = try d.require(
                try rt.filters(device: .name("a"), parent: .ingressQdisc).first { $0.flower != nil }, "no flower filter decoded")
            d.expect(
                f.flower?.ipv4Destination == IPPrefix("198.51.100.0/24"),
                "flower dst decoded as \(String(describing: f.flower?.ipv4Destination))")
            let shown = try ns.tcJSON("-d", "filter", "show", "dev", "a", "parent", "ffff:").compactMap {
                ($0["options"] as? [String: Any])?["keys"] as? [String: Any]
            }
            d.expect(shown.contains { $0["dst_ip"] as? String == "198.51.100.0/24" }, "tc shows flower keys \(shown)")
        }
        try d.finish()
    }

    /// gact pipe and ok actions on a u32 filter.
    public static func gactResultsMatchTc() throws {
        var d = Differences("gact actions")
        try withPair { ns, rt in
            try rt.qdiscAdd(QdiscSpec(device: .name("a"), kind: .ingress))
            try rt.filterAdd(
                FilterSpec(
                    device: .name("a"), parent: .ingressQdisc, priority: 6,
                    kind: .u32(.matchAll, actions: [.gact(.pipe), .gact(.ok)])))
            d.add(try TrafficControlComparison.filterDifferences(ns, rt, dev: "a", parent: .ingressQdisc, tcParent: "ffff:"))
        }
        try d.finish()
    }

    /// The kernel's extended-ACK warning on a request it carried out (an htb class with a
    /// small quantum) reaches the handle's warning handler with the text tc prints.
    public static func aWarningOnASuccessfulRequestReachesTheHandler() throws {
        var d = Differences("a kernel warning on a successful request")
        try LabNamespace.with(prefix: "snwarn") { ns in
            let seen = Mutex<[KernelWarning]>([])
            let rt = try Rtnetlink(namespace: ns.namespace, warnings: { w in seen.withLock { $0.append(w) } })
            defer { rt.close() }
            try rt.linkAdd(LinkSpec(name: "a", kind: .veth(peerName: "b"), up: true))
            try rt.qdiscAdd(QdiscSpec(device: .name("a"), kind: .htb(defaultClass: 0x10, directQueueLength: 100)))
            d.expect(seen.withLock { $0 }.isEmpty, "warnings before anything to warn about: \(seen.withLock { $0 })")
            // 8 kbit/s with the default r2q of 10 gives a quantum of 100 bytes: the kernel
            // raises it to 1000 and says so, but makes the class.
            try rt.htbClassAdd(HtbClassSpec(device: .name("a"), parent: TcHandle("1:")!, classID: TcHandle("1:10")!, rate: 8_000))
            let warnings = seen.withLock { $0 }
            d.expect(warnings.count == 1, "\(warnings.count) warnings, not 1: \(warnings)")
            d.expect(
                warnings.first?.message.contains("quantum of class 10010 is small") == true,
                "the warning is \(String(describing: warnings.first))")
            d.expect(try rt.classes(device: .name("a")).contains { $0.classID == TcHandle("1:10")! }, "class 1:10 was not made")
            // tc, sent the same request, prints the same kernel text.
            let tc = try LabNamespace.run([
                "tc", "-n", ns.name, "class", "add", "dev", "a", "parent", "1:", "classid", "1:20", "htb", "rate", "8kbit"
            ])
            d.expect(tc.status == 0, "tc class add exited \(tc.status)")
            d.expect(tc.stderr.contains("quantum of class 10020 is small"), "tc said: \(tc.stderr)")
        }
        try d.finish()
    }
}
