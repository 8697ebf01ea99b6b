import CSandnetLinux
import Foundation
import NetlinkCodec
import NetlinkSocket
import SandnetCore

#if canImport(Glibc)
    import Glibc
#endif

/// Hand-made Ethernet frames for the frame-path tests, and a reader that finds them again.
enum Frames {
    /// struct virtio_net_hdr with no offloads: what IFF_VNET_HDR queues carry before each frame.
    static let virtioHeader = [UInt8](repeating: 0, count: 10)
    static let broadcast = MACAddress(bytes: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff])

    static func ethernet(dst: MACAddress, src: MACAddress, type: UInt16, _ payload: [UInt8]) -> [UInt8] {
        dst.bytes + src.bytes + [UInt8(type >> 8), UInt8(type & 0xff)] + payload
    }

    static func arpRequest(from mac: MACAddress, ip: IPAddress, asking target: IPAddress) -> [UInt8] {
        let arp: [UInt8] = [0, 1, 0x08, 0, 6, 4, 0, 1] + mac.bytes + ip.bytes + [UInt8](repeating: 0, count: 6) + target.bytes
        return ethernet(dst: broadcast, src: mac, type: 0x0806, arp)
    }

    static func icmpEchoRequest(from mac: MACAddress, to dstMAC: MACAddress, src: IPAddress, dst: IPAddress, id: UInt16, seq: UInt16)
        -> [UInt8]
    {
        var icmp: [UInt8] = [8, 0, 0, 0, UInt8(id >> 8), UInt8(id & 0xff), UInt8(seq >> 8), UInt8(seq & 0xff)] + Array("sandnet".utf8)
        let c = checksum(icmp)
        icmp[2] = UInt8(c >> 8)
        icmp[3] = UInt8(c & 0xff)
        let total = 20 + icmp.count
        var ip: [UInt8] = [0x45, 0, UInt8(total >> 8), UInt8(total & 0xff), 0, 1, 0x40, 0, 64, 1, 0, 0] + src.bytes + dst.bytes
        let h = checksum(ip)
        ip[10] = UInt8(h >> 8)
        ip[11] = UInt8(h & 0xff)
        return ethernet(dst: dstMAC, src: mac, type: 0x0800, ip + icmp)
    }

    static func checksum(_ b: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var i = 0
        while i + 1 < b.count {
            sum += UInt32(b[i]) << 8 | UInt32(b[i + 1])
            i += 2
        }
        if i < b.count { sum += UInt32(b[i]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
        return ~UInt16(sum)
    }

    static func etherType(_ f: [UInt8]) -> UInt16 { f.count >= 14 ? UInt16(f[12]) << 8 | UInt16(f[13]) : 0 }
    static func source(_ f: [UInt8]) -> MACAddress { MACAddress(bytes: Array(f[6..<12])) }

    /// An ARP frame's operation (1 request, 2 reply) and sender IP.
    static func arp(_ f: [UInt8]) -> (op: UInt16, senderIP: IPAddress, senderMAC: MACAddress)? {
        guard etherType(f) == 0x0806, f.count >= 42 else { return nil }
        return (UInt16(f[20]) << 8 | UInt16(f[21]), IPAddress(bytes: f[28..<32])!, MACAddress(bytes: Array(f[22..<28])))
    }

    /// An ICMP echo frame's type (8 request, 0 reply), id and sequence.
    static func icmpEcho(_ f: [UInt8]) -> (type: UInt8, id: UInt16, seq: UInt16, src: IPAddress)? {
        guard etherType(f) == 0x0800, f.count >= 42, f[23] == 1 else { return nil }
        let ihl = Int(f[14] & 0x0f) * 4
        let icmp = 14 + ihl
        guard f.count >= icmp + 8 else { return nil }
        return (
            f[icmp], UInt16(f[icmp + 4]) << 8 | UInt16(f[icmp + 5]), UInt16(f[icmp + 6]) << 8 | UInt16(f[icmp + 7]),
            IPAddress(bytes: f[26..<30])!
        )
    }
}

/// An AF_PACKET socket on one interface of a namespace, opened on a namespace thread.
final class PacketSocket {
    let fd: Int32
    init(namespace: NetworkNamespace, ifindex: Int32) throws {
        fd = try namespace.run {
            let fd = sandnet_packet_socket(ifindex)
            if fd < 0 { throw NetlinkError.system(operation: "open packet socket", object: "ifindex \(ifindex)", errno: errno) }
            return fd
        }
    }
    deinit { close(fd) }

    /// Reads frames until `match` accepts one or `attempts` polls of 200 ms find nothing.
    func receive<T>(attempts: Int = 25, _ match: ([UInt8]) -> T?) throws -> T? {
        try receiveMatching(attempts: attempts) {
            try readOne(fd, timeout: 200)
        } match: {
            match($0)
        }
    }
}

func readOne(_ fd: Int32, timeout: Int32) throws -> [UInt8]? {
    var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    guard poll(&p, 1, timeout) > 0 else { return nil }
    var buf = [UInt8](repeating: 0, count: 65_600)
    let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    return n > 0 ? Array(buf[0..<n]) : nil
}

/// Polls `next` (which returns nil on a quiet interval) until `match` accepts a frame.
/// A deadline for waiting, not a timing assertion: a frame that never comes fails the test.
func receiveMatching<T>(attempts: Int, _ next: () throws -> [UInt8]?, match: ([UInt8]) -> T?) throws -> T? {
    var quiet = 0
    while quiet < attempts {
        guard let f = try next() else {
            quiet += 1
            continue
        }
        if let v = match(f) { return v }
    }
    return nil
}
