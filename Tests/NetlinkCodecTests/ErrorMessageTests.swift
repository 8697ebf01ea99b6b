import NetlinkCodec
import Testing

@Suite struct ErrorMessageTests {
    /// The request the errors below answer: RTM_NEWLINK, 28 bytes, seq 9, port 77.
    let request: [UInt8] = [
        28, 0, 0, 0, 16, 0, 0x05, 0x06, 9, 0, 0, 0, 77, 0, 0, 0, // nlmsghdr
        0, 0, 0, 0, 0, 0, 0, 0, // 8 payload bytes (truncated ifinfomsg)
        7, 0, 3, 0 // first half of an attribute
    ]

    @Test func cappedErrorWithExtendedAck() throws {
        let payload: [UInt8] = [
            0xea, 0xff, 0xff, 0xff, // error -22 (EINVAL)
            28, 0, 0, 0, 16, 0, 0x05, 0x06, 9, 0, 0, 0, 77, 0, 0, 0, // the request's nlmsghdr only (capped)
            9, 0, 1, 0, 0x62, 0x61, 0x64, 0x21, 0, 0, 0, 0, // NLMSGERR_ATTR_MSG "bad!\0" + pad
            8, 0, 2, 0, 24, 0, 0, 0, // NLMSGERR_ATTR_OFFS 24
            8, 0, 5, 0, 3, 0, 0, 0 // NLMSGERR_ATTR_MISS_TYPE 3
        ]
        let m = NetlinkMessage(
            header: NetlinkHeader(type: NetlinkMessageType.error, flags: [.capped, .ackTLVs], sequence: 9, portID: 77),
            payload: payload)
        let e = try NetlinkErrorMessage.decode(m)
        #expect(e.errno == 22)
        #expect(
            e.request == NetlinkHeader(length: 28, type: RTM.NEWLINK, flags: [.request, .ack, .create, .exclusive], sequence: 9, portID: 77)
        )
        #expect(e.extAckMessage == "bad!")
        #expect(e.extAckOffset == 24)
        #expect(e.missingAttribute == 3)
    }

    @Test func uncappedErrorSkipsTheEchoedRequest() throws {
        let payload: [UInt8] =
            [0xea, 0xff, 0xff, 0xff] // error -22 (EINVAL)
            + request // the whole request, 28 bytes (aligned)
            + [9, 0, 1, 0, 0x62, 0x61, 0x64, 0x21, 0, 0, 0, 0] // NLMSGERR_ATTR_MSG "bad!"
        let m = NetlinkMessage(header: NetlinkHeader(type: NetlinkMessageType.error, flags: [.ackTLVs]), payload: payload)
        let e = try NetlinkErrorMessage.decode(m)
        #expect(e.errno == 22 && e.extAckMessage == "bad!" && e.extAckOffset == nil)
    }

    @Test func uncappedEchoOfUnalignedRequestIsPadded() throws {
        // A 30-byte request is echoed with 2 bytes of padding before the TLVs.
        var req = request
        req[0] = 30
        req += [0xaa, 0xbb]
        let payload: [UInt8] = [0xfe, 0xff, 0xff, 0xff] + req + [0, 0] + [8, 0, 2, 0, 20, 0, 0, 0]
        let m = NetlinkMessage(header: NetlinkHeader(type: NetlinkMessageType.error, flags: [.ackTLVs]), payload: payload)
        let e = try NetlinkErrorMessage.decode(m)
        #expect(e.errno == 2 && e.extAckOffset == 20)
    }

    @Test func ackHasErrnoZeroAndNoTLVs() throws {
        let payload: [UInt8] = [0, 0, 0, 0] + Array(request[0..<16])
        let m = NetlinkMessage(header: NetlinkHeader(type: NetlinkMessageType.error, flags: [.capped]), payload: payload)
        let e = try NetlinkErrorMessage.decode(m)
        #expect(e.errno == 0 && e.extAckMessage == nil && e.request.sequence == 9)
    }

    @Test func errnoOutsideTheKernelRangeIsRejected() {
        for bad: [UInt8] in [[0, 0, 0, 0x80], [1, 0, 0, 0], [0, 0xf0, 0xff, 0xff]] { // INT32_MIN, +1, -4096
            let m = NetlinkMessage(
                header: NetlinkHeader(type: NetlinkMessageType.error, flags: [.capped]), payload: bad + Array(request[0..<16]))
            #expect(throws: DecodeError.self) { try NetlinkErrorMessage.decode(m) }
        }
    }

    @Test func truncatedErrorThrows() {
        for n in 0..<20 {
            let m = NetlinkMessage(
                header: NetlinkHeader(type: NetlinkMessageType.error, flags: [.capped]),
                payload: Array(([0xea, 0xff, 0xff, 0xff] + request)[0..<n]))
            #expect(throws: DecodeError.self) { try NetlinkErrorMessage.decode(m) }
        }
    }
}
