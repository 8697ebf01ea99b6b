import NetlinkCodec
import Testing

@Suite struct AttributeTests {
    @Test func u32AttributeIsLengthTypeValue() {
        var a = AttributeWriter()
        a.add(IFLA.MTU, u32: 1500)
        #expect(
            a.bytes == [
                8, 0, // nla_len 8
                4, 0, // nla_type IFLA_MTU
                0xdc, 0x05, 0, 0 // 1500
            ])
    }

    @Test func payloadsArePaddedToFourBytes() {
        var a = AttributeWriter()
        a.add(IFLA.IFNAME, string: "lo")
        a.add(IFLA.OPERSTATE, u8: 6)
        a.add(IFLA.GROUP, u16: 0xbeef)
        a.addFlag(IFLA.CARRIER)
        #expect(
            a.bytes == [
                7, 0, 3, 0, 0x6c, 0x6f, 0, 0, // IFNAME "lo\0" (len 7) + 1 pad byte
                5, 0, 16, 0, 6, 0, 0, 0, // OPERSTATE u8 (len 5) + 3 pad bytes
                6, 0, 27, 0, 0xef, 0xbe, 0, 0, // u16 (len 6) + 2 pad bytes
                4, 0, 33, 0 // flag: no payload, no padding
            ])
    }

    @Test func networkOrderWritersSwapBytes() throws {
        var a = AttributeWriter()
        a.add(IFLA_VXLAN.PORT, be16: 4789)
        a.add(1, be32: 0x0102_0304)
        a.add(2, u64: 0x0102_0304_0506_0708)
        a.add(3, i32: -2)
        #expect(
            a.bytes == [
                6, 0, 15, 0, 0x12, 0xb5, 0, 0, // 4789 big-endian
                8, 0, 1, 0, 1, 2, 3, 4, // be32
                12, 0, 2, 0, 8, 7, 6, 5, 4, 3, 2, 1, // u64 little-endian
                8, 0, 3, 0, 0xfe, 0xff, 0xff, 0xff // i32 -2
            ])
        let attrs = try NetlinkAttribute.decodeAll(a.bytes[...])
        #expect(try attrs.first(15)?.be16() == 4789)
        #expect(try attrs.first(1)?.be32() == 0x0102_0304)
        #expect(try attrs.first(2)?.u64() == 0x0102_0304_0506_0708)
        #expect(try attrs.first(3)?.i32() == -2)
    }

    @Test func nestedAttributeLengthCoversItsPaddedChildren() throws {
        var a = AttributeWriter()
        a.nest(IFLA.LINKINFO) { $0.add(IFLA_INFO.KIND, string: "veth") }
        #expect(
            a.bytes == [
                16, 0, 18, 0, // IFLA_LINKINFO, len 16 (4 + 12)
                9, 0, 1, 0, //   IFLA_INFO_KIND, len 9
                0x76, 0x65, 0x74, 0x68, 0, //   "veth\0"
                0, 0, 0 //   pad to 12
            ])
        let outer = try #require(try NetlinkAttribute.decodeAll(a.bytes[...]).first)
        #expect(outer.type == IFLA.LINKINFO && !outer.isNested)
        #expect(try outer.nested().first(IFLA_INFO.KIND)?.string() == "veth")
    }

    @Test func nestedFlagIsWrittenStrippedFromTypeAndKept() throws {
        var a = AttributeWriter()
        a.nest(IFLA.AF_SPEC, nestedFlag: true) { $0.add(1, u8: 1) }
        #expect(
            a.bytes == [
                12, 0, 0x1a, 0x80, // IFLA_AF_SPEC | NLA_F_NESTED
                5, 0, 1, 0, 1, 0, 0, 0
            ])
        let decoded = try NetlinkAttribute.decodeAll(a.bytes[...])
        #expect(decoded[0].type == IFLA.AF_SPEC && decoded[0].isNested)
        var w = ByteWriter()
        decoded[0].encode(into: &w)
        #expect(w.bytes == a.bytes)
    }

    @Test func byteOrderFlagSurvivesRoundTrip() throws {
        let bytes: [UInt8] = [8, 0, 0x05, 0x40, 0, 0, 0x12, 0xb5] // type 5 | NLA_F_NET_BYTEORDER
        let a = try #require(try NetlinkAttribute.decodeAll(bytes[...]).first)
        #expect(a.type == 5 && a.isNetworkByteOrder && !a.isNested)
        var w = ByteWriter()
        a.encode(into: &w)
        #expect(w.bytes == bytes)
    }

    @Test func arrayOfAttributesKeepsOrderAndDuplicates() throws {
        // An array is a nest whose children are numbered 1, 2, 3... (as IFLA_VF_LIST,
        // RTA_MULTIPATH-like lists and IFLA_ALT_IFNAME repeats do).
        var a = AttributeWriter()
        a.nest(IFLA.AF_SPEC) { list in
            for i in 1...3 { list.nest(UInt16(i)) { $0.add(1, u32: UInt32(i * 100)) } }
        }
        a.add(53, string: "alt0")
        a.add(53, string: "alt1") // IFLA_ALT_IFNAME twice
        let top = try NetlinkAttribute.decodeAll(a.bytes[...])
        let elements = try top.first(IFLA.AF_SPEC)!.nested()
        #expect(elements.map(\.type) == [1, 2, 3])
        #expect(try elements.map { try $0.nested().first(1)!.u32() } == [100, 200, 300])
        #expect(top.all(53).map { $0.string() } == ["alt0", "alt1"])
    }

    @Test func unknownAttributesStayRawAndReEmitIdentically() throws {
        let bytes: [UInt8] = [
            7, 0, 0xff, 0x3f, 0xde, 0xad, 0xbe, 0, // type 0x3fff (unknown), 3 payload bytes + pad
            4, 0, 0x34, 0x12 // type 0x1234, empty
        ]
        let attrs = try NetlinkAttribute.decodeAll(bytes[...])
        #expect(attrs == [NetlinkAttribute(type: 0x3fff, payload: [0xde, 0xad, 0xbe]), NetlinkAttribute(type: 0x1234, payload: [])])
        var w = ByteWriter()
        attrs.forEach { $0.encode(into: &w) }
        #expect(w.bytes == bytes)
    }

    @Test func finalAttributeWithoutPaddingIsAccepted() throws {
        let bytes: [UInt8] = [5, 0, 1, 0, 42] // a kernel never sends this, but it is unambiguous
        #expect(try NetlinkAttribute.decodeAll(bytes[...]).first?.u8() == 42)
    }

    @Test func stringReaderToleratesMissingTerminator() {
        #expect(NetlinkAttribute(type: 3, payload: Array("eth0".utf8)).string() == "eth0")
        #expect(NetlinkAttribute(type: 3, payload: Array("eth0".utf8) + [0, 0x41]).string() == "eth0")
        #expect(NetlinkAttribute(type: 3, payload: []).string() == "")
    }

    @Test func readersRejectShortPayloads() {
        let a = NetlinkAttribute(type: 4, payload: [1, 2, 3])
        #expect(throws: DecodeError.self) { try a.u32() }
        #expect(throws: DecodeError.self) { try a.u64() }
        #expect(throws: DecodeError.self) { try NetlinkAttribute(type: 4, payload: []).u8() }
        #expect(throws: DecodeError.self) { try NetlinkAttribute(type: 4, payload: [1]).u16() }
    }
}
