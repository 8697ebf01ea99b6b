import CSandnetLinux
import Foundation
import SandboxNetwork
import SandnetCore

#if canImport(Glibc)
    import Glibc
#endif

/// The nearest thing to "a guest reaches its peer" without QEMU: attach a model to a vlan or
/// ipvlan endpoint whose parent's far side sits in a peer namespace, then act as the guest
/// through the queue descriptors the attach returned. An ARP request and an ICMP echo with a
/// random token go in; the peer's ARP reply and the echo reply with that token must come back,
/// which takes both redirects (or the macvtap) and the endpoint's own data path.
public enum PeerReachChecks {
    static let peerIP: [UInt8] = [198, 51, 100, 1]

    public static func guestReachesPeer(_ kind: LabPod.EndpointKind, model: NetworkModel) throws {
        var d = Differences("a guest behind \(model) on a \(kind.rawValue) endpoint reaches its peer")
        try LabPod.with { p in
            try p.addEndpoint("eth0", kind)
            // The far side (the parent's veth peer; a veth endpoint's own peer), in a namespace
            // of its own, answers as the peer.
            let far = kind == .veth ? "ht0veth" : "uplinkp"
            let peer = try LabNamespace(prefix: "snlq")
            // Deleted by its deinit: not before the check ends.
            defer { withExtendedLifetime(peer) {} }
            try p.host.ip("link", "set", far, "netns", peer.name)
            try peer.ip("link", "set", far, "up")
            var peerLink = far
            if kind == .vlan {
                peerLink = "\(far).100"
                try peer.ip("link", "add", "link", far, "name", peerLink, "type", "vlan", "id", "100")
                try peer.ip("link", "set", peerLink, "up")
            }
            try peer.ip("addr", "add", "198.51.100.1/27", "dev", peerLink)

            let state = NSTemporaryDirectory() + "sandnet-lab-state-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            defer { try? FileManager.default.removeItem(atPath: state) }
            let store = JournalStore(directory: state)
            let r = try SandboxAttach.attach(AttachSettings(sandbox: "lab2", namespace: p.pod.namespace.path, model: model), store: store)
            do {
                defer { r.closeDescriptors() }
                let nic = try d.require(r.plan?.placements.first?.nic, "no NIC in the plan")
                let guest = try d.require(r.guestDescription.interfaces.first, "no interface in the guest description")
                let ip = try d.require(
                    guest.addresses.lazy.compactMap { a -> [UInt8]? in a.address.isIPv4 ? a.address.bytes : nil }.first,
                    "the guest description has no IPv4 address")
                let queues = try nic.queueFDs.map { try TapQueue(fd: $0) }
                try exchange(queues, guestMAC: guest.mac, guestIP: ip, &d)
            }
            _ = try SandboxDetach.detach(sandbox: "lab2", store: store)
        }
        try d.finish()
    }

    /// ARP for the peer, then an echo with a random token; both replies read back, bounded.
    static func exchange(_ queues: [TapQueue], guestMAC: MACAddress, guestIP: [UInt8], _ d: inout Differences) throws {
        let q = try d.require(queues.first, "no queue descriptors")
        try q.write(GuestFrames.arpRequest(from: guestMAC, ip: guestIP, asking: peerIP))
        var seen: [String] = []
        let arp: MACAddress? = TapQueue.read(queues, seconds: 10) { (frame: [UInt8], partial: Bool) -> MACAddress? in
            let reply = GuestFrames.parse(frame, checksumsMayBePartial: partial)
            if case .arpReply(let mac, let sender, let target) = reply, sender == peerIP, target == guestIP { return mac }
            seen.append("\(reply)")
            return nil
        }
        let arpSeen = seen.suffix(5)
        let peerMAC = try d.require(arp, "no ARP reply from 198.51.100.1 within 10 s (read instead: \(arpSeen))")
        let token = (0..<32).map { _ in UInt8.random(in: 0...255) }
        let id = UInt16.random(in: 1...UInt16.max)
        try q.write(
            GuestFrames.echoRequest(
                from: guestMAC, to: peerMAC, source: guestIP, destination: peerIP, id: id, sequence: 1, payload: token))
        seen = []
        let echoed: Bool? = TapQueue.read(queues, seconds: 10) { (frame: [UInt8], partial: Bool) -> Bool? in
            let reply = GuestFrames.parse(frame, checksumsMayBePartial: partial)
            if reply == .echoReply(source: peerIP, destination: guestIP, id: id, sequence: 1, payload: token) { return true }
            seen.append("\(reply)")
            return nil
        }
        let echoSeen = seen.suffix(5)
        d.expect(echoed == true, "no echo reply with the token from 198.51.100.1 within 10 s (read instead: \(echoSeen))")
    }
}

/// One queue descriptor as a guest's virtio-net sees it: frames behind a virtio_net_hdr when
/// the queue has IFF_VNET_HDR (both tap and macvtap queues do; 10 bytes, the size sandnet leaves).
struct TapQueue {
    let fd: Int32
    let headerLength: Int

    init(fd: Int32) throws {
        var name = [CChar](repeating: 0, count: 16)
        var flags: UInt16 = 0
        guard sandnet_tun_get_iff(fd, &name, &flags) == 0 else {
            throw ConformanceFailure(check: "tap queue", differences: ["TUNGETIFF on descriptor \(fd): errno \(errno)"])
        }
        headerLength = flags & 0x4000 != 0 ? 10 : 0
        self.fd = fd
    }

    func write(_ frame: [UInt8]) throws {
        let bytes = [UInt8](repeating: 0, count: headerLength) + frame
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard n == bytes.count else {
            throw ConformanceFailure(
                check: "tap queue", differences: ["write of \(bytes.count) bytes to descriptor \(fd): \(n), errno \(errno)"])
        }
    }

    /// Reads frames from any of `queues` (the kernel spreads flows over them) until `match`
    /// returns a value or `seconds` pass. `match` gets the frame and whether its checksums may
    /// be partial (NEEDS_CSUM in its virtio-net header).
    static func read<T>(_ queues: [TapQueue], seconds: Int, _ match: ([UInt8], Bool) -> T?) -> T? {
        let deadline = ContinuousClock.now + .seconds(seconds)
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while ContinuousClock.now < deadline {
            var fds = queues.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            guard poll(&fds, nfds_t(fds.count), 200) > 0 else { continue }
            for (i, p) in fds.enumerated() where p.revents & Int16(POLLIN) != 0 {
                let n = buffer.withUnsafeMutableBytes { Glibc.read(queues[i].fd, $0.baseAddress, $0.count) }
                let h = queues[i].headerLength
                guard n > h else { continue }
                let partial = h > 0 && buffer[0] & 1 != 0
                if let v = match(Array(buffer[h..<n]), partial) { return v }
            }
        }
        return nil
    }
}
