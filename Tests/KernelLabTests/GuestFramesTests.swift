import KernelConformance
import SandnetCore
import Testing

/// The frames the lab's peer-reach checks write as the guest and the replies they parse.
@Suite struct GuestFramesTests {
    let guestMAC = MACAddress(bytes: [0x02, 0, 0, 0, 0, 0x0a])
    let peerMAC = MACAddress(bytes: [0x02, 0, 0, 0, 0, 0x01])
    let guestIP: [UInt8] = [198, 51, 100, 10]
    let peerIP: [UInt8] = [198, 51, 100, 1]

    @Test func checksumsMatchKnownValues() {
        // RFC 1071's example words, and the usual IPv4 header example (checksum 0xb861).
        #expect(GuestFrames.internetChecksum([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]) == 0x220d)
        let header: [UInt8] = [0x45, 0, 0, 0x73, 0, 0, 0x40, 0, 0x40, 0x11, 0, 0, 192, 168, 0, 1, 192, 168, 0, 199]
        #expect(GuestFrames.internetChecksum(header) == 0xb861)
        // An odd length pads with a zero byte.
        #expect(GuestFrames.internetChecksum([0x01]) == 0xfeff)
        #expect(GuestFrames.internetChecksum([]) == 0xffff)
    }

    @Test func theArpRequestAsksForThePeerByBroadcast() {
        let f = GuestFrames.arpRequest(from: guestMAC, ip: guestIP, asking: peerIP)
        #expect(f.count == 42)
        #expect(Array(f[0..<6]) == [0xff, 0xff, 0xff, 0xff, 0xff, 0xff] && Array(f[6..<12]) == guestMAC.bytes)
        #expect(Array(f[12..<22]) == [0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01])
        #expect(Array(f[22..<28]) == guestMAC.bytes && Array(f[28..<32]) == guestIP && Array(f[38..<42]) == peerIP)
        // A request is not a reply.
        if case .other = GuestFrames.parse(f) {} else { Issue.record("a request parsed as \(GuestFrames.parse(f))") }
    }

    @Test func anArpReplyGivesThePeersMAC() {
        var f = guestMAC.bytes + peerMAC.bytes + [0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x02]
        f += peerMAC.bytes + peerIP + guestMAC.bytes + guestIP + [UInt8](repeating: 0, count: 18)
        #expect(GuestFrames.parse(f) == .arpReply(senderMAC: peerMAC, senderIP: peerIP, targetIP: guestIP))
    }

    @Test func theEchoRequestsChecksumsVerifyAndItsReplyParsesBack() {
        let token: [UInt8] = Array(0..<33) // odd: the ICMP checksum pads
        let f = GuestFrames.echoRequest(
            from: guestMAC, to: peerMAC, source: guestIP, destination: peerIP, id: 0x1234, sequence: 1, payload: token)
        #expect(f.count == 14 + 20 + 8 + 33)
        #expect(Array(f[12..<14]) == [0x08, 0x00] && f[14] == 0x45 && f[22] == 64 && f[23] == 1)
        #expect(Int(f[16]) << 8 | Int(f[17]) == 20 + 8 + 33)
        #expect(GuestFrames.internetChecksum(f[14..<34]) == 0)
        #expect(GuestFrames.internetChecksum(f[34...]) == 0)
        #expect(GuestFrames.parse(f) == .other("ICMP type 8 code 0"))

        // The reply a peer sends: addresses swapped, type 0, both checksums redone.
        var reply = GuestFrames.echoRequest(
            from: peerMAC, to: guestMAC, source: peerIP, destination: guestIP, id: 0x1234, sequence: 1, payload: token)
        reply[34] = 0
        reply[36] = 0
        reply[37] = 0
        let c = GuestFrames.internetChecksum(reply[34...])
        reply[36] = UInt8(c >> 8)
        reply[37] = UInt8(c & 0xff)
        let expected = GuestFrames.Reply.echoReply(source: peerIP, destination: guestIP, id: 0x1234, sequence: 1, payload: token)
        #expect(GuestFrames.parse(reply) == expected)
        // Ethernet padding after the IPv4 packet is not payload.
        #expect(GuestFrames.parse(reply + [0, 0, 0, 0]) == expected)

        // A flipped payload bit fails the ICMP checksum, unless the checksum may be partial.
        var bad = reply
        bad[50] ^= 0x01
        #expect(GuestFrames.parse(bad) == .other("an ICMP checksum that does not verify"))
        if case .echoReply = GuestFrames.parse(bad, checksumsMayBePartial: true) {} else { Issue.record("partial checksums refused") }
        var badHeader = reply
        badHeader[22] = 63 // the TTL, without redoing the header checksum
        #expect(GuestFrames.parse(badHeader) == .other("an IPv4 header checksum that does not verify"))
    }

    @Test func shortAndForeignFramesAreOther() {
        #expect(GuestFrames.parse([1, 2, 3]) == .other("a 3-byte frame"))
        #expect(GuestFrames.parse(guestMAC.bytes + peerMAC.bytes + [0x86, 0xdd]) == .other("ethertype 0x86dd"))
        #expect(GuestFrames.parse(guestMAC.bytes + peerMAC.bytes + [0x08, 0x00, 0x45]) == .other("a short IPv4 packet"))
    }
}
