import NetlinkCodec
import Rtnetlink
import SandnetCore
import Testing

@testable import TrafficControl

/// Requests compared byte for byte with what `tc` (iproute2 6.1) sent for the same command,
/// captured with `strace -e trace=sendmsg -e write=3`. Sequence numbers are set to 1 and
/// the port id to 0 on both sides.
@Suite struct RequestBytesTests {
    func wire(_ m: NetlinkMessage) -> [UInt8] {
        var m = m
        m.header.flags.formUnion([.request, .ack]) // what NetlinkSocket.execute adds
        return m.encode(sequence: 1)
    }

    @Test func ingressQdiscAddMatchesTc() {
        // tc qdisc add dev va ingress   (va = ifindex 3)
        let expected: [UInt8] = [
            0x30, 0, 0, 0, 0x24, 0, 0x05, 0x06, 1, 0, 0, 0, 0, 0, 0, 0, // nlmsghdr: 48 bytes, RTM_NEWQDISC, REQUEST|ACK|EXCL|CREATE
            0, 0, 0, 0, 3, 0, 0, 0, // tcmsg: family, pad, ifindex 3
            0, 0, 0xff, 0xff, 0xf1, 0xff, 0xff, 0xff, 0, 0, 0, 0, // handle ffff:0, parent ffff:fff1 (TC_H_INGRESS), info 0
            0x0c, 0, 0x01, 0, 0x69, 0x6e, 0x67, 0x72, 0x65, 0x73, 0x73, 0 // TCA_KIND "ingress"
        ]
        #expect(wire(Rtnetlink.qdiscAddRequest(QdiscSpec(device: .index(3), kind: .ingress), index: 3)) == expected)
    }

    @Test func clsactQdiscDeleteMatchesTc() {
        // tc qdisc del dev vb clsact   (vb = ifindex 2)
        let expected: [UInt8] = [
            0x30, 0, 0, 0, 0x25, 0, 0x05, 0, 1, 0, 0, 0, 0, 0, 0, 0, // RTM_DELQDISC, REQUEST|ACK
            0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0xff, 0xff, 0xf1, 0xff, 0xff, 0xff, 0, 0, 0, 0,
            0x0b, 0, 0x01, 0, 0x63, 0x6c, 0x73, 0x61, 0x63, 0x74, 0, 0 // TCA_KIND "clsact" + pad
        ]
        #expect(wire(Rtnetlink.qdiscDeleteRequest(QdiscSpec(device: .index(2), kind: .clsact), index: 2)) == expected)
    }

    @Test func htbQdiscAddMatchesTc() {
        // tc qdisc add dev va root handle 1: htb default 10   (tc reads "10" as hex)
        let expected: [UInt8] = [
            0x48, 0, 0, 0, 0x24, 0, 0x05, 0x06, 1, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0x01, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, // handle 1:0, parent root
            0x08, 0, 0x01, 0, 0x68, 0x74, 0x62, 0, // TCA_KIND "htb"
            0x1c, 0, 0x02, 0, // TCA_OPTIONS (no NLA_F_NESTED, like tc)
            0x18, 0, 0x02, 0, //   TCA_HTB_INIT struct tc_htb_glob:
            3, 0, 0, 0, 10, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 //   version 3, r2q 10, defcls 0x10, debug, direct_pkts
        ]
        let spec = QdiscSpec(device: .index(3), kind: .htb(defaultClass: 0x10))
        #expect(wire(Rtnetlink.qdiscAddRequest(spec, index: 3)) == expected)
    }

    @Test func u32MatchAllRedirectMatchesTc() {
        // tc filter add dev va parent ffff: protocol all prio 1 u32 match u32 0 0 action mirred egress redirect dev vb
        let expected: [UInt8] = [
            0x8c, 0, 0, 0, 0x2c, 0, 0x05, 0x06, 1, 0, 0, 0, 0, 0, 0, 0, // 140 bytes, RTM_NEWTFILTER, REQUEST|ACK|EXCL|CREATE
            0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, // ifindex 3, handle 0, parent ffff:
            0x00, 0x03, 0x01, 0x00, // info: pref 1 << 16 | htons(ETH_P_ALL)
            0x08, 0, 0x01, 0, 0x75, 0x33, 0x32, 0, // TCA_KIND "u32"
            0x60, 0, 0x02, 0, // TCA_OPTIONS
            0x38, 0, 0x07, 0, //   TCA_U32_ACT
            0x34, 0, 0x01, 0, //     action 1
            0x0b, 0, 0x01, 0, 0x6d, 0x69, 0x72, 0x72, 0x65, 0x64, 0, 0, //       TCA_ACT_KIND "mirred"
            0x24, 0, 0x02, 0x80, //       TCA_ACT_OPTIONS | NLA_F_NESTED
            0x20, 0, 0x02, 0, //         TCA_MIRRED_PARMS struct tc_mirred:
            0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, //         index, capab, action TC_ACT_STOLEN, refcnt, bindcnt
            1, 0, 0, 0, 2, 0, 0, 0, //         eaction TCA_EGRESS_REDIR, ifindex 2
            0x24, 0, 0x05, 0, //   TCA_U32_SEL struct tc_u32_sel:
            0x01, 0, 0x01, 0, //     flags TC_U32_TERMINAL, offshift, nkeys 1, pad
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, //     offmask off offoff hoff hmask
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 //     key: mask 0 val 0 off 0 offmask 0
        ]
        let spec = FilterSpec(
            device: .index(3), parent: .ingressQdisc, priority: 1,
            kind: .u32(.matchAll, actions: [.mirred(MirredAction(.redirect, .egress, to: 2))]))
        #expect(wire(Rtnetlink.filterAddRequest(spec, index: 3)) == expected)
    }

    @Test func u32DestinationMirrorMatchesTc() {
        // tc filter add dev vb ingress protocol ip pref 2 u32 match ip dst 198.51.100.2/32 action mirred egress mirror dev va
        let expected: [UInt8] = [
            0x8c, 0, 0, 0, 0x2c, 0, 0x05, 0x06, 1, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0xf2, 0xff, 0xff, 0xff, // ifindex 2, parent ffff:fff2 (clsact ingress)
            0x08, 0x00, 0x02, 0x00, // pref 2, htons(ETH_P_IP)
            0x08, 0, 0x01, 0, 0x75, 0x33, 0x32, 0,
            0x60, 0, 0x02, 0, 0x38, 0, 0x07, 0, 0x34, 0, 0x01, 0,
            0x0b, 0, 0x01, 0, 0x6d, 0x69, 0x72, 0x72, 0x65, 0x64, 0, 0,
            0x24, 0, 0x02, 0x80, 0x20, 0, 0x02, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // action TC_ACT_PIPE (mirror's default)
            2, 0, 0, 0, 3, 0, 0, 0, // TCA_EGRESS_MIRROR, ifindex 3
            0x24, 0, 0x05, 0, 0x01, 0, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0xff, 0xff, 0xff, 0xff, 0xc6, 0x33, 0x64, 0x02, // key: mask /32, val 198.51.100.2 (network order)
            0x10, 0, 0, 0, 0, 0, 0, 0 //      off 16 (IPv4 destination), offmask 0
        ]
        let spec = FilterSpec(
            device: .index(2), parent: .clsactIngress, priority: 2, protocolID: ETH_P.IP,
            kind: .u32(
                U32Selector(keys: [.ipv4Destination(IPPrefix("198.51.100.2/32")!)]),
                actions: [.mirred(MirredAction(.mirror, .egress, to: 3))]))
        #expect(wire(Rtnetlink.filterAddRequest(spec, index: 2)) == expected)
    }

    @Test func filterDeleteMatchesTc() {
        // tc filter del dev vb ingress pref 4
        let expected: [UInt8] = [
            0x24, 0, 0, 0, 0x2d, 0, 0x05, 0, 1, 0, 0, 0, 0, 0, 0, 0, // RTM_DELTFILTER, REQUEST|ACK
            0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0xf2, 0xff, 0xff, 0xff, 0, 0, 4, 0
        ]
        let m = Rtnetlink.filterDeleteRequest(index: 2, parent: .clsactIngress, priority: 4, protocolID: 0, handle: 0, kind: nil)
        #expect(wire(m) == expected)
    }

    @Test func htbClassAddCarriesTcParametersWithoutRateTables() {
        // tc class add dev va parent 1: classid 1:10 htb rate 10mbit ceil 20mbit sends the same
        // struct tc_htb_opt (but cell_log 3) plus 2 KiB of rate tables the kernel does not need
        // with linklayer ethernet; sandnet leaves the tables out.
        let expected: [UInt8] = [
            0x60, 0, 0, 0, 0x28, 0, 0x05, 0x06, 1, 0, 0, 0, 0, 0, 0, 0, // RTM_NEWTCLASS
            0, 0, 0, 0, 3, 0, 0, 0, 0x10, 0, 0x01, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, // classid 1:10, parent 1:
            0x08, 0, 0x01, 0, 0x68, 0x74, 0x62, 0,
            0x34, 0, 0x02, 0, 0x30, 0, 0x01, 0, // TCA_OPTIONS, TCA_HTB_PARMS
            0, 0x01, 0, 0, 0xff, 0xff, 0, 0, 0xd0, 0x12, 0x13, 0, // rate: linklayer ethernet, cell_align -1, 1250000 B/s
            0, 0x01, 0, 0, 0xff, 0xff, 0, 0, 0xa0, 0x25, 0x26, 0, // ceil: 2500000 B/s
            0x20, 0x4e, 0, 0, 0x10, 0x27, 0, 0, // buffer 20000, cbuffer 10000 ticks (1600 bytes each, as tc)
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 // quantum, level, prio
        ]
        let spec = HtbClassSpec(
            device: .index(3), parent: TcHandle("1:")!, classID: TcHandle("1:10")!,
            rate: 10_000_000, ceil: 20_000_000)
        #expect(wire(Rtnetlink.htbClassAddRequest(spec, index: 3)) == expected)
    }

    @Test func handlesParseAndPrintLikeTc() {
        #expect(TcHandle("ffff:")?.rawValue == 0xffff_0000)
        #expect(TcHandle("1:10")?.rawValue == 0x0001_0010)
        #expect(TcHandle("ingress") == .clsactIngress)
        #expect(TcHandle.clsactEgress.description == "ffff:fff3")
        #expect(TcHandle.root.description == "root")
        #expect(TcHandle("x:1") == nil)
        #expect(U32Info.handleText(0x8000_0000) == "800:")
        #expect(U32Info.handleText(0x8000_0800) == "800::800")
    }

    @Test func selectorDecodesWhatItEncodes() throws {
        let s = U32Selector(keys: [.ipv4Source(IPPrefix("203.0.113.0/24")!), .ipProtocol(1)])
        let back = try U32Selector.decode(s.bytes)
        #expect(back == s)
        #expect(back.keys[0].mask == 0xffff_ff00 && back.keys[0].offset == 12)
    }
}
