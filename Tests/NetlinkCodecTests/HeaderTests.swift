import NetlinkCodec
import Testing

@Suite struct HeaderTests {
    @Test func headerRoundTripsByteForByte() throws {
        let h = NetlinkHeader(length: 32, type: RTM.GETLINK, flags: [.request, .dump], sequence: 7, portID: 42)
        var w = ByteWriter(); h.encode(into: &w)
        #expect(w.bytes == [32, 0, 0, 0,  18, 0,  0x01, 0x03,  7, 0, 0, 0,  42, 0, 0, 0])
        var r = ByteReader(w.bytes)
        #expect(try NetlinkHeader.decode(&r) == h)
    }
}
