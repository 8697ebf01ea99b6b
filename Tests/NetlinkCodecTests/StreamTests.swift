import NetlinkCodec
import SandnetCore
import Testing

@Suite struct StreamTests {
    /// Two RTM_NEWADDR parts of a dump and its NLMSG_DONE in one datagram.
    let datagram: [UInt8] = [
        // message 1: RTM_NEWADDR, MULTI, seq 5, port 100
        32, 0, 0, 0, 20, 0, 0x02, 0x00, 5, 0, 0, 0, 100, 0, 0, 0,
        2, 24, 0x80, 0, 3, 0, 0, 0, // ifaddrmsg AF_INET /24 PERMANENT scope 0 index 3
        8, 0, 1, 0, 198, 51, 100, 1, // IFA_ADDRESS 198.51.100.1
        // message 2: RTM_NEWADDR, MULTI
        32, 0, 0, 0, 20, 0, 0x02, 0x00, 5, 0, 0, 0, 100, 0, 0, 0,
        2, 24, 0x80, 0, 4, 0, 0, 0,
        8, 0, 1, 0, 203, 0, 113, 1, // IFA_ADDRESS 203.0.113.1
        // message 3: NLMSG_DONE, MULTI, payload: int 0
        20, 0, 0, 0, 3, 0, 0x02, 0x00, 5, 0, 0, 0, 100, 0, 0, 0,
        0, 0, 0, 0
    ]

    @Test func severalMessagesInOneDatagram() throws {
        let messages = try NetlinkMessage.decodeStream(datagram)
        #expect(messages.map(\.header.type) == [RTM.NEWADDR, RTM.NEWADDR, NetlinkMessageType.done])
        #expect(messages.allSatisfy { $0.header.flags.contains(.multi) && $0.header.sequence == 5 && $0.header.portID == 100 })
        let addresses = try messages.dropLast().map { m -> IPAddress? in
            let (h, attrs) = try IfAddrMessage.decode(m)
            #expect(h.prefixLength == 24 && h.family == AddressFamily.INET)
            return attrs.first(IFA.ADDRESS).flatMap { IPAddress(bytes: $0.payload) }
        }
        #expect(addresses == [IPAddress("198.51.100.1"), IPAddress("203.0.113.1")])
        // Re-emitting every message reproduces the datagram.
        #expect(messages.flatMap { $0.encode(sequence: 5, portID: 100) } == datagram)
    }

    @Test func errorInsideAStreamIsJustAnotherMessage() throws {
        var d = Array(datagram[0..<32])
        d += [
            36, 0, 0, 0, 2, 0, 0x00, 0x01, 5, 0, 0, 0, 100, 0, 0, 0, // NLMSG_ERROR, CAPPED
            0xf0, 0xff, 0xff, 0xff, // -16 EBUSY
            20, 0, 0, 0, 22, 0, 0x01, 0x03, 5, 0, 0, 0, 100, 0, 0, 0
        ] // echoed RTM_GETADDR header
        let messages = try NetlinkMessage.decodeStream(d)
        #expect(messages.count == 2)
        let e = try NetlinkErrorMessage.decode(messages[1])
        #expect(e.errno == 16 && e.request.type == RTM.GETADDR && e.request.flags == [.request, .dump])
    }

    @Test func unalignedMessageLengthIsFollowedByPadding() throws {
        // nlmsg_len 17 (one payload byte), 3 bytes of padding, then the next message.
        let d: [UInt8] = [17, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xaa, 0, 0, 0] + Array(datagram[64...])
        let messages = try NetlinkMessage.decodeStream(d)
        #expect(messages.map(\.payload.count) == [1, 4])
        #expect(messages[0].payload == [0xaa] && messages[1].header.type == NetlinkMessageType.done)
    }

    @Test func emptyDatagramHasNoMessages() throws {
        #expect(try NetlinkMessage.decodeStream([]).isEmpty)
    }

    @Test func attributesAfterAFamilyHeaderOfUnalignedSize() throws {
        // A 5-byte family header (genetlink-style sizes are not always multiples of 4)
        // starts its attributes at offset 8.
        let m = NetlinkMessage(header: NetlinkHeader(type: 100, flags: []), payload: [1, 2, 3, 4, 5, 0, 0, 0, 5, 0, 9, 0, 42, 0, 0, 0])
        #expect(try m.attributes(after: 5).map(\.type) == [9])
        #expect(try m.attributes(after: 16).isEmpty) // header fills the message: no attributes
        #expect(throws: DecodeError.self) { try m.attributes(after: 17) }
    }
}
