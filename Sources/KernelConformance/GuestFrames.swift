import SandnetCore

/// The Ethernet frames a guest sends to reach a peer (an ARP request, an ICMP echo request)
/// and the replies it reads back, built and parsed in user space: the lab's peer-reach checks
/// write and read them through the tap queue descriptors an attach hands to QEMU.
public enum GuestFrames {
    public static let broadcast = MACAddress(bytes: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff])

    /// What a frame read back is, as far as the checks care.
    public enum Reply: Equatable, Sendable {
        case arpReply(senderMAC: MACAddress, senderIP: [UInt8], targetIP: [UInt8])
        case echoReply(source: [UInt8], destination: [UInt8], id: UInt16, sequence: UInt16, payload: [UInt8])
        /// Any other frame, or one whose checksum is wrong (with why).
        case other(String)
    }

    /// RFC 1071: the ones' complement of the ones' complement sum of 16-bit words.
    public static func internetChecksum(_ bytes: some Collection<UInt8>) -> UInt16 {
        var sum: UInt32 = 0
        var high = true
        for b in bytes {
            sum += high ? UInt32(b) << 8 : UInt32(b)
            high.toggle()
        }
        while sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16) }
        return ~UInt16(sum)
    }

    /// An ARP request (who has `targetIP`, tell `senderIP`), broadcast.
    public static func arpRequest(from mac: MACAddress, ip: [UInt8], asking target: [UInt8]) -> [UInt8] {
        var f = ethernet(to: broadcast, from: mac, type: 0x0806)
        f += [0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01] // Ethernet, IPv4, request
        f += mac.bytes + ip + [0, 0, 0, 0, 0, 0] + target
        return f
    }

    /// An ICMP echo request in an IPv4 packet (TTL 64, DF), both checksums filled in.
    public static func echoRequest(
        from mac: MACAddress, to peerMAC: MACAddress, source: [UInt8], destination: [UInt8], id: UInt16, sequence: UInt16,
        payload: [UInt8]
    ) -> [UInt8] {
        var icmp: [UInt8] = [8, 0, 0, 0] + be(id) + be(sequence) + payload
        let c = internetChecksum(icmp)
        icmp[2] = UInt8(c >> 8)
        icmp[3] = UInt8(c & 0xff)
        var ip: [UInt8] = [0x45, 0] + be(UInt16(20 + icmp.count)) + be(id) + [0x40, 0, 64, 1, 0, 0] + source + destination
        let h = internetChecksum(ip)
        ip[10] = UInt8(h >> 8)
        ip[11] = UInt8(h & 0xff)
        return ethernet(to: peerMAC, from: mac, type: 0x0800) + ip + icmp
    }

    /// What `frame` (starting at its Ethernet header) is; an IPv4 or ICMP checksum that does
    /// not verify makes it `.other`, unless `checksumsMayBePartial` (a virtio-net header said
    /// NEEDS_CSUM: the checksum is the peer's offload's to finish).
    public static func parse(_ frame: [UInt8], checksumsMayBePartial: Bool = false) -> Reply {
        guard frame.count >= 14 else { return .other("a \(frame.count)-byte frame") }
        let type = UInt16(frame[12]) << 8 | UInt16(frame[13])
        let body = Array(frame[14...])
        switch type {
        case 0x0806:
            guard body.count >= 28, body[0...7] == [0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x02] else {
                return .other("an ARP other than a reply")
            }
            return .arpReply(
                senderMAC: MACAddress(bytes: Array(body[8..<14])), senderIP: Array(body[14..<18]), targetIP: Array(body[24..<28]))
        case 0x0800:
            guard body.count >= 20, body[0] >> 4 == 4 else { return .other("a short IPv4 packet") }
            let headerLength = Int(body[0] & 0x0f) * 4
            let total = Int(UInt16(body[2]) << 8 | UInt16(body[3]))
            guard headerLength >= 20, total >= headerLength + 8, body.count >= total else { return .other("a truncated IPv4 packet") }
            guard body[9] == 1 else { return .other("IPv4 protocol \(body[9])") }
            let icmp = body[headerLength..<total]
            if !checksumsMayBePartial {
                guard internetChecksum(body[0..<headerLength]) == 0 else { return .other("an IPv4 header checksum that does not verify") }
                guard internetChecksum(icmp) == 0 else { return .other("an ICMP checksum that does not verify") }
            }
            let i = icmp.startIndex
            guard icmp[i] == 0, icmp[i + 1] == 0 else { return .other("ICMP type \(icmp[i]) code \(icmp[i + 1])") }
            return .echoReply(
                source: Array(body[12..<16]), destination: Array(body[16..<20]), id: UInt16(icmp[i + 4]) << 8 | UInt16(icmp[i + 5]),
                sequence: UInt16(icmp[i + 6]) << 8 | UInt16(icmp[i + 7]), payload: Array(icmp[(i + 8)...]))
        default:
            return .other("ethertype 0x\(String(type, radix: 16))")
        }
    }

    static func ethernet(to: MACAddress, from: MACAddress, type: UInt16) -> [UInt8] { to.bytes + from.bytes + be(type) }
    static func be(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
}
