import NetlinkCodec
import SandnetCore
import Testing

/// Replies recorded from a real kernel (fuzz/capture.py), parsed and emitted back byte for byte.
@Suite struct KernelFixtureTests {
    @Test func loopbackNewLinkParses() throws {
        let messages = try NetlinkMessage.decodeStream(KernelFixtures.newlinkLo)
        let m = try #require(messages.first)
        #expect(messages.count == 1 && m.header.type == RTM.NEWLINK && Int(m.header.length) == KernelFixtures.newlinkLo.count)
        let (info, attrs) = try IfInfoMessage.decode(m)
        #expect(info.index == 1 && info.type == ARPHRD.LOOPBACK)
        #expect(info.flags & IFF.LOOPBACK != 0 && info.flags & IFF.UP != 0)
        #expect(attrs.first(IFLA.IFNAME)?.string() == "lo")
        #expect(try attrs.first(IFLA.MTU)?.u32() == 65536)
        #expect(try attrs.first(IFLA.TXQLEN)?.u32() == 1000)
        #expect(attrs.first(IFLA.ADDRESS)?.payload == [0, 0, 0, 0, 0, 0])
        #expect(attrs.first(IFLA.QDISC)?.string() == "noqueue")
        // Attributes sandnet has no name for are kept, not dropped.
        let known: Set<UInt16> = [
            IFLA.ADDRESS, IFLA.BROADCAST, IFLA.IFNAME, IFLA.MTU, IFLA.QDISC, IFLA.STATS, IFLA.TXQLEN,
            IFLA.OPERSTATE, IFLA.LINKMODE, IFLA.STATS64, IFLA.AF_SPEC, IFLA.GROUP, IFLA.PROMISCUITY,
            IFLA.NUM_TX_QUEUES, IFLA.NUM_RX_QUEUES, IFLA.CARRIER, IFLA.MIN_MTU, IFLA.MAX_MTU
        ]
        #expect(attrs.contains { !known.contains($0.type) })
        // IFLA_AF_SPEC nests per-family blocks, which nest again (AF_INET6 -> IFLA_INET6_*).
        let afSpec = try #require(attrs.first(IFLA.AF_SPEC))
        let families = try afSpec.nested()
        #expect(families.contains { $0.type == UInt16(AddressFamily.INET6) })
        for f in families { _ = try f.nested() }
    }

    @Test(arguments: [
        ("newlink-lo", KernelFixtures.newlinkLo), ("dump-neigh", KernelFixtures.dumpNeigh),
        ("dump-addrs", KernelFixtures.dumpAddrs), ("dump-routes", KernelFixtures.dumpRoutes),
        ("dump-qdisc", KernelFixtures.dumpQdisc), ("error-capped", KernelFixtures.errorCapped),
        ("error-uncapped", KernelFixtures.errorUncapped), ("ack", KernelFixtures.ack)
    ])
    func reEmitsByteForByte(name: String, datagram: [UInt8]) throws {
        let messages = try NetlinkMessage.decodeStream(datagram)
        #expect(!messages.isEmpty)
        // Message level: header + payload back to the same bytes.
        #expect(messages.flatMap { $0.encode(sequence: $0.header.sequence, portID: $0.header.portID) } == datagram)
        // Attribute level: family header + every attribute (nests included, raw) re-encoded.
        for m in messages {
            guard let size = Self.familyHeaderSize(m.header.type) else { continue }
            var w = ByteWriter()
            w.append(m.payload[0..<size])
            w.pad()
            for a in try m.attributes(after: size) { a.encode(into: &w) }
            #expect(w.bytes == m.payload, "\(name): message type \(m.header.type)")
        }
    }

    @Test func neighbourDumpEndsInTheSameDatagram() throws {
        let messages = try NetlinkMessage.decodeStream(KernelFixtures.dumpNeigh)
        #expect(messages.map(\.header.type) == [RTM.NEWNEIGH, NetlinkMessageType.done])
        let (nd, attrs) = try NeighbourMessageHeader.decode(messages[0])
        #expect(nd.state == NUD.PERMANENT)
        #expect(attrs.first(NDA.DST).flatMap { IPAddress(bytes: $0.payload) } == IPAddress("198.51.100.254"))
        #expect(attrs.first(NDA.LLADDR).map { MACAddress(bytes: $0.payload) } == MACAddress("02:00:00:00:00:fe"))
    }

    @Test func addressAndRouteDumpsParse() throws {
        let addrs = try NetlinkMessage.decodeStream(KernelFixtures.dumpAddrs).filter { $0.header.type == RTM.NEWADDR }
        let prefixes = try addrs.compactMap { m -> String? in
            let (h, a) = try IfAddrMessage.decode(m)
            return (a.first(IFA.LOCAL) ?? a.first(IFA.ADDRESS)).flatMap { IPAddress(bytes: $0.payload) }.map { "\($0)/\(h.prefixLength)" }
        }
        #expect(prefixes.contains("198.51.100.1/24") && prefixes.contains("127.0.0.1/8"))
        let routes = try NetlinkMessage.decodeStream(KernelFixtures.dumpRoutes).filter { $0.header.type == RTM.NEWROUTE }
        let viaGateway = try routes.first { m in
            let (h, a) = try RouteMessageHeader.decode(m)
            return h.destinationLength == 24 && a.first(RTA.DST)?.payload == [203, 0, 113, 0]
        }
        let (_, a) = try RouteMessageHeader.decode(try #require(viaGateway))
        #expect(a.first(RTA.GATEWAY)?.payload == [198, 51, 100, 254])
    }

    @Test func qdiscDumpNamesTheIngressQdisc() throws {
        let kinds = try NetlinkMessage.decodeStream(KernelFixtures.dumpQdisc).filter { $0.header.type == RTM.NEWQDISC }.map {
            try TcMessageHeader.decode($0).1.first(TCA.KIND)?.string()
        }
        #expect(kinds.contains("ingress"))
    }

    @Test func kernelErrorsCappedAndUncapped() throws {
        for (datagram, capped) in [(KernelFixtures.errorCapped, true), (KernelFixtures.errorUncapped, false)] {
            let m = try #require(try NetlinkMessage.decodeStream(datagram).first)
            #expect(m.header.flags.contains(.capped) == capped && m.header.flags.contains(.ackTLVs))
            let e = try NetlinkErrorMessage.decode(m)
            #expect(e.errno == 95) // EOPNOTSUPP: no such link kind
            #expect(e.extAckMessage == "Unknown device type")
            #expect(e.request.type == RTM.NEWLINK && e.request.length == 60)
        }
        let ack = try NetlinkErrorMessage.decode(try #require(try NetlinkMessage.decodeStream(KernelFixtures.ack).first))
        #expect(ack.errno == 0 && ack.request.type == RTM.SETLINK)
    }

    static func familyHeaderSize(_ type: UInt16) -> Int? {
        switch type {
        case RTM.NEWLINK...RTM.SETLINK: return IfInfoMessage.size
        case RTM.NEWADDR...RTM.GETADDR: return IfAddrMessage.size
        case RTM.NEWROUTE...RTM.GETROUTE: return RouteMessageHeader.size
        case RTM.NEWNEIGH...RTM.GETNEIGH: return NeighbourMessageHeader.size
        case RTM.NEWQDISC...RTM.GETTFILTER: return TcMessageHeader.size
        default: return nil
        }
    }
}
