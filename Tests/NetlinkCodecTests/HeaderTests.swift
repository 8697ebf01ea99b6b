import NetlinkCodec
import Testing

@Suite struct HeaderTests {
    @Test func headerRoundTripsByteForByte() throws {
        let h = NetlinkHeader(length: 32, type: RTM.GETLINK, flags: [.request, .dump], sequence: 7, portID: 42)
        var w = ByteWriter()
        h.encode(into: &w)
        #expect(w.bytes == [32, 0, 0, 0, 18, 0, 0x01, 0x03, 7, 0, 0, 0, 42, 0, 0, 0])
        var r = ByteReader(w.bytes)
        #expect(try NetlinkHeader.decode(&r) == h)
    }

    @Test func flagsHaveTheKernelValues() {
        // <linux/netlink.h>
        #expect(NetlinkFlags.request.rawValue == 0x01)
        #expect(NetlinkFlags.multi.rawValue == 0x02)
        #expect(NetlinkFlags.ack.rawValue == 0x04)
        #expect(NetlinkFlags.echo.rawValue == 0x08)
        #expect(NetlinkFlags.dumpInterrupted.rawValue == 0x10)
        #expect(NetlinkFlags.dumpFiltered.rawValue == 0x20)
        #expect(NetlinkFlags.dump.rawValue == 0x300)
        #expect(NetlinkFlags([.create, .exclusive]).rawValue == 0x600)
        #expect(NetlinkFlags.append.rawValue == 0x800)
        #expect(NetlinkFlags.replace == NetlinkFlags.root && NetlinkFlags.capped == NetlinkFlags.root)
        #expect(NetlinkFlags.ackTLVs == NetlinkFlags.match)
        #expect([NetlinkMessageType.noop, NetlinkMessageType.error, NetlinkMessageType.done, NetlinkMessageType.overrun] == [1, 2, 3, 4])
    }

    @Test func headerFieldsAreLittleEndianHostOrder() throws {
        let bytes: [UInt8] = [
            0x78, 0x56, 0x34, 0x12, // nlmsg_len   0x12345678
            0x10, 0x00, // nlmsg_type  RTM_NEWLINK
            0x05, 0x06, // nlmsg_flags REQUEST|ACK|CREATE|EXCL
            0xff, 0xff, 0xff, 0xff, // nlmsg_seq   0xffffffff
            0x01, 0x00, 0x00, 0x80 // nlmsg_pid   0x80000001
        ]
        var r = ByteReader(bytes)
        let h = try NetlinkHeader.decode(&r)
        #expect(h.length == 0x1234_5678 && h.type == RTM.NEWLINK)
        #expect(h.flags == [.request, .ack, .create, .exclusive])
        #expect(h.sequence == .max && h.portID == 0x8000_0001)
        #expect(r.remaining == 0)
    }

    @Test func shortHeaderThrows() {
        var r = ByteReader([UInt8](repeating: 0, count: 15))
        #expect(throws: DecodeError.truncated(what: "nlmsghdr", need: 16, have: 15)) { try NetlinkHeader.decode(&r) }
    }
}
