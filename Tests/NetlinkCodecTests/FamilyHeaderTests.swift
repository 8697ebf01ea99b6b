import NetlinkCodec
import Testing

/// Each family header against the kernel struct layout, field by field.
@Suite struct FamilyHeaderTests {
    @Test func ifinfomsg() throws {
        let h = IfInfoMessage(
            family: AddressFamily.UNSPEC, type: ARPHRD.ETHER, index: 7, flags: IFF.UP | IFF.MULTICAST, change: 0xffff_ffff)
        #expect(
            h.bytes == [
                0, 0, // ifi_family, __ifi_pad
                1, 0, // ifi_type ARPHRD_ETHER
                7, 0, 0, 0, // ifi_index
                0x01, 0x10, 0, 0, // ifi_flags IFF_UP|IFF_MULTICAST
                0xff, 0xff, 0xff, 0xff // ifi_change
            ])
        try roundTrip(h)
    }

    @Test func ifaddrmsg() throws {
        let h = IfAddrMessage(family: AddressFamily.INET6, prefixLength: 64, flags: 0x80, scope: RT_SCOPE.LINK, index: 3)
        #expect(
            h.bytes == [
                10, // ifa_family AF_INET6
                64, // ifa_prefixlen
                0x80, // ifa_flags IFA_F_PERMANENT
                253, // ifa_scope RT_SCOPE_LINK
                3, 0, 0, 0 // ifa_index
            ])
        try roundTrip(h)
    }

    @Test func rtmsg() throws {
        let h = RouteMessageHeader(
            family: AddressFamily.INET, destinationLength: 24, sourceLength: 0, tos: 0, table: UInt8(RT_TABLE.MAIN),
            protocolID: RTPROT.STATIC, scope: RT_SCOPE.UNIVERSE, type: RTN.UNICAST, flags: RTNH_F.ONLINK)
        #expect(
            h.bytes == [
                2, 24, 0, 0, // rtm_family AF_INET, rtm_dst_len, rtm_src_len, rtm_tos
                254, 4, 0, 1, // rtm_table MAIN, rtm_protocol STATIC, rtm_scope UNIVERSE, rtm_type UNICAST
                4, 0, 0, 0 // rtm_flags RTNH_F_ONLINK
            ])
        try roundTrip(h)
    }

    @Test func ndmsg() throws {
        let h = NeighbourMessageHeader(family: AddressFamily.INET, index: 5, state: NUD.PERMANENT, flags: NTF.ROUTER, type: RTN.UNICAST)
        #expect(
            h.bytes == [
                2, 0, 0, 0, // ndm_family, ndm_pad1, ndm_pad2
                5, 0, 0, 0, // ndm_ifindex
                0x80, 0, // ndm_state NUD_PERMANENT
                0x80, // ndm_flags NTF_ROUTER
                1 // ndm_type RTN_UNICAST
            ])
        try roundTrip(h)
    }

    @Test func tcmsg() throws {
        let h = TcMessageHeader(family: 0, index: 9, handle: 0xffff_0000, parent: 0xffff_fff1, info: 0x0003_0001)
        #expect(
            h.bytes == [
                0, 0, 0, 0, // tcm_family, tcm__pad1, tcm__pad2
                9, 0, 0, 0, // tcm_ifindex
                0, 0, 0xff, 0xff, // tcm_handle ffff:
                0xf1, 0xff, 0xff, 0xff, // tcm_parent TC_H_INGRESS
                1, 0, 3, 0 // tcm_info 0x00030001
            ])
        try roundTrip(h)
    }

    @Test func requestIsHeaderFamilyHeaderAttributes() {
        var attrs = AttributeWriter()
        attrs.add(IFLA.EXT_MASK, u32: 1)
        let m = NetlinkMessage(type: RTM.GETLINK, flags: [.request, .dump], body: IfInfoMessage().bytes, attributes: attrs)
        #expect(
            m.encode(sequence: 0x0102_0304, portID: 99) == [
                40, 0, 0, 0, 18, 0, 0x01, 0x03, 4, 3, 2, 1, 99, 0, 0, 0, // nlmsghdr: len 40, RTM_GETLINK, REQUEST|DUMP
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // ifinfomsg, all zero
                8, 0, 29, 0, 1, 0, 0, 0 // IFLA_EXT_MASK = RTEXT_FILTER_VF
            ])
    }

    @Test func familyHeaderBodyIsPaddedBeforeAttributes() {
        var attrs = AttributeWriter()
        attrs.add(1, u8: 7)
        // A 5-byte body (not a real header) is padded to 8 before the attributes start.
        let m = NetlinkMessage(type: 100, flags: .request, body: [1, 2, 3, 4, 5], attributes: attrs)
        #expect(m.payload == [1, 2, 3, 4, 5, 0, 0, 0, 5, 0, 1, 0, 7, 0, 0, 0])
        #expect(m.header.length == 32)
    }

    @Test func shortFamilyHeaderThrows() {
        let m = NetlinkMessage(header: NetlinkHeader(type: RTM.NEWLINK, flags: []), payload: [0, 0, 1, 0, 7, 0])
        #expect(throws: DecodeError.self) { try IfInfoMessage.decode(m) }
        #expect(throws: DecodeError.self) { try RouteMessageHeader.decode(m) }
        #expect(throws: DecodeError.self) { try TcMessageHeader.decode(m) }
    }

    private func roundTrip<H: FamilyHeader>(_ h: H) throws {
        var r = ByteReader(h.bytes)
        #expect(try H.decode(&r) == h)
        #expect(r.remaining == 0)
        #expect(h.bytes.count == H.size)
    }
}
