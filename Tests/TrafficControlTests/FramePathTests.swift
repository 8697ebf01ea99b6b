import Foundation
import NetlinkCodec
import NetlinkSocket
import Rtnetlink
import SandnetCore
import TapDevices
import TestSupport
import Testing
import TrafficControl

#if canImport(Glibc)
    import Glibc
#endif

/// Frames really move: written to a queue descriptor they arrive on the peer namespace's
/// interface, and the peer's answers come back out of a queue. ARP first, then ICMP echo.
@Suite(.serialized) struct FramePathTests {
    static let vmIP = IPAddress("198.51.100.1")!
    static let peerIP = IPAddress("198.51.100.2")!

    /// Namespace A gets veth `ep0` (up); its peer `ep0p` goes to B with 198.51.100.2/24, up.
    static func endpoint(a: TestNamespace, b: TestNamespace) throws -> (Rtnetlink, PacketSocket) {
        let rt = try Rtnetlink(namespace: a.namespace)
        try rt.linkAdd(LinkSpec(name: "ep0", kind: .veth(peerName: "ep0p", peerNamespace: b.namespace), up: true))
        let rtB = try Rtnetlink(namespace: b.namespace)
        defer { rtB.close() }
        try rtB.linkSet(.name("ep0p"), LinkChange(up: true))
        _ = try b.ip("address", "add", "198.51.100.2/24", "dev", "ep0p")
        return (rt, try PacketSocket(namespace: b.namespace, ifindex: try rtB.index(of: .name("ep0p"))))
    }

    /// ARP who-has 198.51.100.2, then an ICMP echo to it, through `queues`; both must be seen
    /// on B's interface and both answers must come back out of a queue.
    static func exchange(through queues: borrowing TapQueues, vmMAC: MACAddress, peer: PacketSocket) throws {
        func readQueue() throws -> [UInt8]? {
            try queues.read(timeoutMilliseconds: 200).map { Array($0.frame.dropFirst(Frames.virtioHeader.count)) }
        }

        try queues.write(Frames.virtioHeader + Frames.arpRequest(from: vmMAC, ip: vmIP, asking: peerIP), queue: queues.count - 1)
        let seenRequest = try peer.receive { f in Frames.arp(f).flatMap { $0.op == 1 && $0.senderIP == vmIP ? true : nil } }
        #expect(seenRequest == true, "the ARP request written to the queue did not arrive on B's interface")
        let reply = try receiveMatching(attempts: 25, readQueue) { f in
            Frames.arp(f).flatMap { $0.op == 2 && $0.senderIP == peerIP ? $0 : nil }
        }
        let peerMAC = try #require(reply?.senderMAC, "B's ARP reply never came out of a queue")

        let id = UInt16.random(in: 1...0xfffe)
        try queues.write(Frames.virtioHeader + Frames.icmpEchoRequest(from: vmMAC, to: peerMAC, src: vmIP, dst: peerIP, id: id, seq: 1))
        let seenEcho = try peer.receive { f in Frames.icmpEcho(f).flatMap { $0.type == 8 && $0.id == id ? true : nil } }
        #expect(seenEcho == true, "the ICMP echo request did not arrive on B's interface")
        let echoReply = try receiveMatching(attempts: 25, readQueue) { f in
            Frames.icmpEcho(f).flatMap { $0.type == 0 && $0.id == id && $0.src == peerIP ? $0 : nil }
        }
        #expect(echoReply?.seq == 1, "B's ICMP echo reply never came out of a queue")
    }

    @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates namespaces, taps and tc filters"))
    func multiqueueTapWithIngressRedirectsMovesArpAndIcmp() throws {
        try TestNamespace.with(prefix: "sntA") { a in
            try TestNamespace.with(prefix: "sntB") { b in
                let (rt, peer) = try Self.endpoint(a: a, b: b)
                defer { rt.close() }
                let queues = try TunTap.create(TapSpec(name: "tap0", queues: 2), in: a.namespace)
                // `queues` owns its queues: they close when it goes out of scope.
                try rt.linkSet(.name("tap0"), LinkChange(up: true))
                // The tcfilter model: ingress qdiscs on both, u32 match-all + mirred egress redirect each way.
                for (from, to) in [("tap0", "ep0"), ("ep0", "tap0")] {
                    try rt.qdiscAdd(QdiscSpec(device: .name(from), kind: .ingress))
                    let redirect = MirredAction(.redirect, .egress, to: try rt.index(of: .name(to)))
                    try rt.filterAdd(
                        FilterSpec(
                            device: .name(from), parent: .ingressQdisc, priority: 1,
                            kind: .u32(.matchAll, actions: [.mirred(redirect)])))
                    let tcView = try a.tcJSON("-d", "filter", "show", "dev", from, "parent", "ffff:")
                    let action = tcView.compactMap { ($0["options"] as? [String: Any])?["actions"] as? [[String: Any]] }.first?.first
                    #expect(action?["to_dev"] as? String == to)
                    #expect(action?["mirred_action"] as? String == "redirect")
                }
                let tap = try rt.link(named: "tap0")
                guard case .tun(let info)? = tap.kindData else {
                    Issue.record("tap0 is not decoded as tun")
                    return
                }
                #expect(info.multiQueue == true && info.queues == 2)
                try Self.exchange(through: queues, vmMAC: MACAddress("02:00:00:53:00:01")!, peer: peer)
            }
        }
    }

    @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates namespaces and macvtaps"))
    func macvtapQueuesMoveArpAndIcmp() throws {
        try TestNamespace.with(prefix: "sntA") { a in
            try TestNamespace.with(prefix: "sntB") { b in
                let (rt, peer) = try Self.endpoint(a: a, b: b)
                defer { rt.close() }
                let mvt = try Macvtap.create(MacvtapSpec(name: "mvt0", parent: .name("ep0"), mode: .bridge), in: rt)
                let dir = "/run/sandnet-test-\(getpid())-\(mvt.index)"
                defer { try? FileManager.default.removeItem(atPath: dir) }
                let queues = try Macvtap.openQueues(.name("mvt0"), count: 2, in: rt, nodeDirectory: dir)
                // `queues` owns its queues: they close when it goes out of scope.
                #expect(queues.count == 2)
                try Self.exchange(through: queues, vmMAC: try #require(mvt.address), peer: peer)
            }
        }
    }

    @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates namespaces and macvtaps"))
    func macvtapIndexClashWithAnotherNamespaceIsDetected() throws {
        try TestNamespace.with(prefix: "sntC1") { n1 in
            try TestNamespace.with(prefix: "sntC2") { n2 in
                let index = Int32.random(in: 20_000...60_000)
                let rt1 = try Rtnetlink(namespace: n1.namespace)
                let rt2 = try Rtnetlink(namespace: n2.namespace)
                defer {
                    rt1.close()
                    rt2.close()
                }
                for rt in [rt1, rt2] { try rt.linkAdd(LinkSpec(name: "low0", kind: .veth(peerName: "low1"), up: true)) }
                let spec = MacvtapSpec(name: "mvt0", parent: .name("low0"), mode: .bridge, index: index)
                let first = try Macvtap.create(spec, in: rt1)
                #expect(first.index == index)

                // Same ifindex in another namespace: refused up front with the reason.
                let refusal = #expect(throws: MacvtapError.self) { try Macvtap.create(spec, in: rt2) }
                #expect(refusal?.description.contains("/dev/tap\(index)") == true)

                // Forced through, the second device is real but /dev/tapN is not it.
                try Macvtap.create(spec, in: rt2, allowClash: true)
                let one = try Macvtap.deviceNumber(index: index, in: n1.namespace)
                let two = try Macvtap.deviceNumber(index: index, in: n2.namespace)
                #expect(one != two)
                #expect(throws: MacvtapError.self) { _ = try Macvtap.openQueues(.name("mvt0"), count: 1, in: rt2) }

                let dir = "/run/sandnet-test-\(getpid())-\(index)"
                defer { try? FileManager.default.removeItem(atPath: dir) }
                let mine = try Macvtap.openQueues(.name("mvt0"), count: 1, in: rt2, nodeDirectory: dir)
                // `mine` owns its queues: they close when it goes out of scope.
                var st = stat()
                let minePath = mine.devicePath // the macros cannot look into a non-copyable value
                #expect(stat(try #require(minePath), &st) == 0)
                #expect(minePath?.hasPrefix(dir) == true)
                let theirs = try Macvtap.openQueues(.name("mvt0"), count: 1, in: rt1)
                // `theirs` owns its queues: they close when it goes out of scope.
                #expect(theirs.devicePath == "/dev/tap\(index)")
            }
        }
    }
}
