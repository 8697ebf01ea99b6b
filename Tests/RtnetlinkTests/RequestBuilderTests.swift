import NetlinkCodec
import Rtnetlink
import SandnetCore
import Testing

// Golden bytes for every request the address, route and neighbour operations build,
// annotated field by field. No kernel, no root. Encoded with sequence 1, port 0.
@Suite struct AddressRequestTests {
    @Test func ipv4AddressAddMatchesIproute2Layout() throws {
        let m = Rtnetlink.addressAddRequest(AddressSpec(try #require(IPPrefix("198.51.100.2/24"))), index: 3)
        #expect(
            m.encode(sequence: 1) == [
                40, 0, 0, 0, // nlmsg_len 40
                20, 0, // RTM_NEWADDR
                0x00, 0x06, // NLM_F_CREATE | NLM_F_EXCL
                1, 0, 0, 0, // seq
                0, 0, 0, 0, // pid
                2, 24, 0, 0, // ifaddrmsg: AF_INET, prefixlen 24, flags 0, scope universe
                3, 0, 0, 0, //   ifa_index 3
                8, 0, 2, 0, 198, 51, 100, 2, // IFA_LOCAL 198.51.100.2
                8, 0, 1, 0, 198, 51, 100, 2 // IFA_ADDRESS (no peer: the address again)
            ])
    }

    @Test func ipv6AddressAddCarriesNodadInBothFlagFields() throws {
        let m = Rtnetlink.addressAddRequest(AddressSpec(try #require(IPPrefix("2001:db8::1/64"))), index: 3)
        let addr: [UInt8] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
        #expect(
            m.encode(sequence: 1) == [
                72, 0, 0, 0, 20, 0, 0x00, 0x06, 1, 0, 0, 0, 0, 0, 0, 0, // nlmsghdr: RTM_NEWADDR, CREATE|EXCL
                10, 64, 2, 0, // ifaddrmsg: AF_INET6, prefixlen 64, ifa_flags IFA_F_NODAD, scope universe
                3, 0, 0, 0, //   ifa_index 3
                20, 0, 2, 0
            ] + addr + [ // IFA_LOCAL
                20, 0, 1, 0
            ] + addr + [ // IFA_ADDRESS
                8, 0, 8, 0, 2, 0, 0, 0 // IFA_FLAGS = IFA_F_NODAD (u32)
            ])
    }

    @Test func addressReplaceUsesReplaceFlagAndKeepsPeerBroadcastLabel() throws {
        var spec = AddressSpec(
            try #require(IPPrefix("198.51.100.2/32")), peer: IPAddress("198.51.100.1"),
            broadcast: nil, label: "sn0:a", replace: true)
        spec.scope = .link
        let m = Rtnetlink.addressAddRequest(spec, index: 7)
        #expect(
            m.encode(sequence: 1) == [
                52, 0, 0, 0, 20, 0, 0x00, 0x05, 1, 0, 0, 0, 0, 0, 0, 0, // RTM_NEWADDR, CREATE|REPLACE
                2, 32, 0, 253, 7, 0, 0, 0, // AF_INET /32, scope link, ifindex 7
                8, 0, 2, 0, 198, 51, 100, 2, // IFA_LOCAL
                8, 0, 1, 0, 198, 51, 100, 1, // IFA_ADDRESS = peer
                10, 0, 3, 0, 0x73, 0x6e, 0x30, 0x3a, 0x61, 0, 0, 0 // IFA_LABEL "sn0:a\0" + 2 pad
            ])
    }

    @Test func addressDeleteAndDump() throws {
        let del = Rtnetlink.addressDeleteRequest(try #require(IPPrefix("198.51.100.2/24")), index: 3)
        #expect(
            del.encode(sequence: 1) == [
                32, 0, 0, 0, 21, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, // RTM_DELADDR, no flags (ACK added on send)
                2, 24, 0, 0, 3, 0, 0, 0, // AF_INET /24 ifindex 3
                8, 0, 2, 0, 198, 51, 100, 2 // IFA_LOCAL
            ])
        #expect(
            Rtnetlink.addressDumpRequest(family: .inet6).encode(sequence: 1) == [
                24, 0, 0, 0, 22, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, // RTM_GETADDR (NLM_F_DUMP added by dump())
                10, 0, 0, 0, 0, 0, 0, 0 // ifaddrmsg: AF_INET6, all else zero (strict checking)
            ])
    }

    @Test func addRequestDecodesBackToTheSameAddress() throws {
        let spec = AddressSpec(try #require(IPPrefix("2001:db8::1/64")))
        let a = try #require(try Address.decode(Rtnetlink.addressAddRequest(spec, index: 3)))
        #expect(a.prefix == spec.prefix)
        #expect(a.index == 3 && a.family == .inet6 && a.peer == nil)
        #expect(a.flags == IFA_F.NODAD && a.flagNames == ["nodad"])
    }
}

@Suite struct RouteRequestTests {
    @Test func routeWithGatewayTableAboveMainMetricAndMTU() throws {
        let spec = RouteSpec(
            destination: IPPrefix("203.0.113.0/24"), gateway: IPAddress("198.51.100.1"), device: .index(3),
            table: 1000, priority: 5, metrics: RouteMetrics(mtu: 1300))
        #expect(
            Rtnetlink.routeAddRequest(spec, outputIndex: 3).encode(sequence: 1) == [
                80, 0, 0, 0, 24, 0, 0x00, 0x06, 1, 0, 0, 0, 0, 0, 0, 0, // RTM_NEWROUTE, CREATE|EXCL
                2, 24, 0, 0, // rtmsg: AF_INET, dst_len 24, src_len 0, tos 0
                0, 3, 0, 1, //   table RT_TABLE_UNSPEC (real id in RTA_TABLE), proto boot, scope universe, type unicast
                0, 0, 0, 0, //   rtm_flags
                8, 0, 15, 0, 0xe8, 0x03, 0, 0, // RTA_TABLE 1000
                8, 0, 1, 0, 203, 0, 113, 0, // RTA_DST
                8, 0, 5, 0, 198, 51, 100, 1, // RTA_GATEWAY
                8, 0, 6, 0, 5, 0, 0, 0, // RTA_PRIORITY 5
                12, 0, 8, 0, // RTA_METRICS (nest)
                8, 0, 2, 0, 0x14, 0x05, 0, 0, //   RTAX_MTU 1300
                8, 0, 4, 0, 3, 0, 0, 0 // RTA_OIF 3
            ])
    }

    @Test func deviceRouteGetsLinkScopeAndOnlinkFlag() throws {
        let spec = RouteSpec(
            destination: IPPrefix("2001:db8:1::/48"), device: .index(4), preferredSource: IPAddress("2001:db8::2"),
            protocolID: .static, onLink: true)
        let dst: [UInt8] = [0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        let src: [UInt8] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]
        #expect(
            Rtnetlink.routeAddRequest(spec, outputIndex: 4).encode(sequence: 1) == [
                76, 0, 0, 0, 24, 0, 0x00, 0x06, 1, 0, 0, 0, 0, 0, 0, 0,
                10, 48, 0, 0, // AF_INET6, dst_len 48
                254, 4, 253, 1, // table main, proto static, scope link (no gateway), unicast
                4, 0, 0, 0, // rtm_flags RTNH_F_ONLINK
                20, 0, 1, 0
            ] + dst + [ // RTA_DST
                20, 0, 7, 0
            ] + src + [ // RTA_PREFSRC
                8, 0, 4, 0, 4, 0, 0, 0 // RTA_OIF 4
            ])
    }

    @Test func routeDeleteMatchesAnyScopeAndDropsMetrics() throws {
        let spec = RouteSpec(destination: nil, gateway: IPAddress("198.51.100.1"), metrics: RouteMetrics(mtu: 1300))
        #expect(
            Rtnetlink.routeDeleteRequest(spec, outputIndex: nil).encode(sequence: 1) == [
                36, 0, 0, 0, 25, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, // RTM_DELROUTE
                2, 0, 0, 0, // AF_INET, default route (dst_len 0)
                254, 0, 255, 0, // table main, proto unspec, scope RT_SCOPE_NOWHERE, type unspec
                0, 0, 0, 0,
                8, 0, 5, 0, 198, 51, 100, 1 // RTA_GATEWAY
            ])
        #expect(
            Rtnetlink.routeDumpRequest(family: .inet).encode(sequence: 1) == [
                28, 0, 0, 0, 26, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, // RTM_GETROUTE
                2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 // rtmsg: AF_INET, rest zero
            ])
    }

    @Test func addRequestDecodesBackToTheSameRoute() throws {
        let spec = RouteSpec(
            destination: IPPrefix("203.0.113.0/24"), gateway: IPAddress("198.51.100.1"), table: 1000,
            priority: 5, metrics: RouteMetrics(mtu: 1300, advmss: 1200))
        let r = try #require(try Route.decode(Rtnetlink.routeAddRequest(spec, outputIndex: 3)))
        #expect(r.destination == spec.destination && r.gateway == spec.gateway && r.outputIndex == 3)
        #expect(r.table == 1000 && r.priority == 5 && r.metrics == RouteMetrics(mtu: 1300, advmss: 1200))
        #expect(r.protocolName == "boot" && r.scopeName == "global" && r.typeName == "unicast")
    }
}

@Suite struct NeighbourRequestTests {
    @Test func permanentNeighbourAdd() throws {
        let m = Rtnetlink.neighbourAddRequest(
            try #require(IPAddress("198.51.100.9")),
            linkAddress: try #require(MACAddress("02:00:00:00:00:09")), index: 3)
        #expect(
            m.encode(sequence: 1) == [
                48, 0, 0, 0, 28, 0, 0x00, 0x06, 1, 0, 0, 0, 0, 0, 0, 0, // RTM_NEWNEIGH, CREATE|EXCL
                2, 0, 0, 0, // ndmsg: AF_INET, 3 pad bytes
                3, 0, 0, 0, //   ndm_ifindex 3
                0x80, 0, 0, 0, //   ndm_state NUD_PERMANENT, ndm_flags 0, ndm_type 0
                8, 0, 1, 0, 198, 51, 100, 9, // NDA_DST
                10, 0, 2, 0, 2, 0, 0, 0, 0, 9, 0, 0 // NDA_LLADDR + 2 pad
            ])
    }

    @Test func replaceDeleteAndDump() throws {
        let ip = try #require(IPAddress("2001:db8::9"))
        let ipBytes: [UInt8] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]
        let rep = Rtnetlink.neighbourAddRequest(
            ip, linkAddress: try #require(MACAddress("02:00:00:00:00:09")), index: 3,
            state: .reachable, replace: true)
        #expect(Array(rep.encode(sequence: 1)[6..<8]) == [0x00, 0x05]) // CREATE|REPLACE
        #expect(Array(rep.encode(sequence: 1)[16..<28]) == [10, 0, 0, 0, 3, 0, 0, 0, 0x02, 0, 0, 0]) // AF_INET6, NUD_REACHABLE
        #expect(
            Rtnetlink.neighbourDeleteRequest(ip, index: 3).encode(sequence: 1) == [
                48, 0, 0, 0, 29, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, // RTM_DELNEIGH
                10, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, // AF_INET6, ifindex 3
                20, 0, 1, 0
            ] + ipBytes) // NDA_DST
        #expect(
            Rtnetlink.neighbourDumpRequest().encode(sequence: 1) == [
                28, 0, 0, 0, 30, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, // RTM_GETNEIGH
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 // ndmsg: AF_UNSPEC (both tables)
            ])
        let n = try #require(try Neighbour.decode(rep))
        #expect(n.destination == ip && n.linkAddress?.description == "02:00:00:00:00:09" && n.stateNames == ["REACHABLE"])
    }
}
