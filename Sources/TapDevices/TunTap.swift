import CSandnetLinux
import Foundation
import NetlinkCodec
import NetlinkSocket
import Rtnetlink

#if canImport(Glibc)
    import Glibc
#endif

/// struct ifreq flags for TUNSETIFF (<linux/if_tun.h>).
public enum IFF_TUN_FLAGS {
    public static let IFF_TUN: UInt16 = 0x0001, IFF_TAP: UInt16 = 0x0002, IFF_MULTI_QUEUE: UInt16 = 0x0100
    public static let IFF_PERSIST: UInt16 = 0x0800, IFF_NO_PI: UInt16 = 0x1000, IFF_VNET_HDR: UInt16 = 0x4000
    public static let IFF_TUN_EXCL: UInt16 = 0x8000
}

/// A tap device to create: `ip tuntap add mode tap name NAME [multi_queue] [vnet_hdr] [user U] [group G]`.
public struct TapSpec: Sendable, Equatable {
    public var name: String
    /// Queue descriptors to open. More than one needs `multiQueue`.
    public var queues: Int
    public var multiQueue: Bool
    /// IFF_VNET_HDR: every frame carries a struct virtio_net_hdr prefix (what QEMU wants).
    public var vnetHeader: Bool
    /// TUNSETVNETHDRSZ; nil keeps the kernel's 10 bytes (QEMU sets 12 itself).
    public var vnetHeaderSize: Int32?
    /// TUNSETPERSIST: the device outlives its descriptors.
    public var persistent: Bool
    public var owner: uid_t?
    public var group: gid_t?
    /// False opens the queues without O_CLOEXEC, for a QEMU started right after.
    public var closeOnExec: Bool

    public init(
        name: String, queues: Int = 1, multiQueue: Bool? = nil, vnetHeader: Bool = true, vnetHeaderSize: Int32? = nil,
        persistent: Bool = true, owner: uid_t? = nil, group: gid_t? = nil, closeOnExec: Bool = true
    ) {
        self.name = name
        self.queues = queues
        self.multiQueue = multiQueue ?? (queues > 1)
        self.vnetHeader = vnetHeader
        self.vnetHeaderSize = vnetHeaderSize
        self.persistent = persistent
        self.owner = owner
        self.group = group
        self.closeOnExec = closeOnExec
    }

    var flags: UInt16 {
        var f = IFF_TUN_FLAGS.IFF_TAP | IFF_TUN_FLAGS.IFF_NO_PI
        if vnetHeader { f |= IFF_TUN_FLAGS.IFF_VNET_HDR }
        if multiQueue { f |= IFF_TUN_FLAGS.IFF_MULTI_QUEUE }
        return f
    }
}

/// tun/tap devices through /dev/net/tun.
///
/// TUNSETIFF creates the device in the network namespace of the calling *thread*, so every
/// call that may create one runs on a namespace thread (`NetworkNamespace.run`).
public enum TunTap {
    public static let controlPath = "/dev/net/tun"

    /// Creates the tap (failing if `spec.name` exists) and returns its queue descriptors.
    public static func create(_ spec: TapSpec, in namespace: NetworkNamespace? = nil) throws -> TapQueues {
        try validate(spec)
        // The namespace thread hands back raw numbers (its results must be copyable); they
        // are owned by a TapQueues the moment it returns, with nothing in between that throws.
        let (index, fds) = try onNamespaceThread(namespace) { try make(spec) }
        return TapQueues(name: spec.name, index: index, devicePath: nil, descriptors: fds)
    }

    /// Creates every tap of `specs`, in order, in one visit to the namespace thread (a
    /// thread hand-off costs more than the TUNSETIFFs of a tap), stopping at the first
    /// that fails. The set owns the queues of every tap made and says which one failed
    /// and why; the taps before it exist whatever the caller does next.
    public static func create(_ specs: [TapSpec], in namespace: NetworkNamespace? = nil) throws -> TapQueueSet {
        for spec in specs { try validate(spec) }
        let (made, failure) = try onNamespaceThread(namespace) { () -> ([TapQueueSet.Tap], (Int, NetlinkError)?) in
            var made: [TapQueueSet.Tap] = []
            for (i, spec) in specs.enumerated() {
                do {
                    let (index, fds) = try make(spec)
                    made.append(TapQueueSet.Tap(name: spec.name, index: index, descriptors: fds))
                } catch let e as NetlinkError {
                    return (made, (i, e))
                } catch {
                    return (made, (i, NetlinkError.system(operation: "create tap", object: spec.name, errno: EIO)))
                }
            }
            return (made, nil)
        }
        return TapQueueSet(taps: made, failure: failure)
    }

    static func validate(_ spec: TapSpec) throws {
        let op = "create tap"
        try InterfaceName.validate(spec.name, operation: op)
        guard spec.queues >= 1 else { throw NetlinkError.invalidArgument(operation: op, reason: "a tap needs at least one queue") }
        guard spec.queues == 1 || spec.multiQueue else {
            throw NetlinkError.invalidArgument(operation: op, reason: "\(spec.queues) queues need a multiqueue tap (IFF_MULTI_QUEUE)")
        }
    }

    /// Makes one tap on the calling (namespace) thread; on a throw nothing of it is left.
    static func make(_ spec: TapSpec) throws -> (Int32, [Int32]) {
        let op = "create tap"
        var fds: [Int32] = []
        var created = false
        do {
            for i in 0..<spec.queues {
                // IFF_TUN_EXCL on the first queue: fail instead of attaching to an existing device.
                let fd = try attach(
                    spec.name, flags: spec.flags | (i == 0 ? IFF_TUN_FLAGS.IFF_TUN_EXCL : 0),
                    closeOnExec: spec.closeOnExec, operation: op)
                fds.append(fd)
                if i == 0 {
                    created = true
                    try configure(fd, spec, operation: op)
                }
            }
            // TUNGETIFF would not say the index; the first queue's device is the one just made.
            return (Int32(if_nametoindex(spec.name)), fds)
        } catch {
            if created && spec.persistent, let fd = fds.first { _ = sandnet_ioctl_int(fd, sandnet_TUNSETPERSIST(), 0) }
            for fd in fds { Glibc.close(fd) }
            throw error
        }
    }

    /// Opens `count` more queues of an existing (persistent) tap, as QEMU does at start.
    public static func openQueues(
        name: String, count: Int, multiQueue: Bool = true, vnetHeader: Bool = true,
        in namespace: NetworkNamespace? = nil, closeOnExec: Bool = true
    ) throws -> TapQueues {
        let op = "open tap queues"
        try InterfaceName.validate(name, operation: op)
        let spec = TapSpec(name: name, queues: count, multiQueue: multiQueue, vnetHeader: vnetHeader)
        // Raw numbers from the namespace thread, owned the moment it returns (as in `create`).
        let (index, fds) = try onNamespaceThread(namespace) { () throws -> (Int32, [Int32]) in
            guard if_nametoindex(name) != 0 else {
                throw NetlinkError.system(operation: op, object: name, errno: ENODEV)
            }
            var fds: [Int32] = []
            do {
                for _ in 0..<count { fds.append(try attach(name, flags: spec.flags, closeOnExec: closeOnExec, operation: op)) }
            } catch {
                for fd in fds { Glibc.close(fd) }
                throw error
            }
            return (Int32(if_nametoindex(name)), fds)
        }
        return TapQueues(name: name, index: index, devicePath: nil, descriptors: fds)
    }

    /// The namespace the tap behind queue descriptor `fd` lives in (TUNGETDEVNETNS),
    /// or nil when `fd` is not an attached tun/tap queue.
    public static func namespace(ofQueue fd: Int32) -> NamespaceIdentity? {
        let ns = sandnet_tun_get_dev_netns(fd)
        guard ns >= 0 else { return nil }
        defer { Glibc.close(ns) }
        return try? NamespaceIdentity(descriptor: ns)
    }

    /// `ip tuntap del NAME`: removes the device, persistent or not, through rtnetlink.
    public static func delete(name: String, in namespace: NetworkNamespace? = nil) throws {
        let rt = try Rtnetlink(namespace: namespace)
        defer { rt.close() }
        let link = try rt.link(named: name)
        guard link.kind == "tun" else {
            throw NetlinkError.invalidArgument(
                operation: "delete tap", reason: "\(name) is a \(link.kind ?? "device without a kind"), not a tun/tap")
        }
        try rt.linkDelete(.index(link.index))
    }

    /// `ip -d tuntap show`: the tun/tap links with their mode, flags and queue counts.
    public static func list(in namespace: NetworkNamespace? = nil) throws -> [Link] {
        let rt = try Rtnetlink(namespace: namespace)
        defer { rt.close() }
        return try rt.links().filter { $0.kind == "tun" }
    }

    // MARK: internals

    static func onNamespaceThread<T>(_ namespace: NetworkNamespace?, _ body: () throws -> T) throws -> T {
        try (namespace ?? .current).run(body)
    }

    static func attach(_ name: String, flags: UInt16, closeOnExec: Bool, operation: String) throws -> Int32 {
        let fd = open(controlPath, O_RDWR | (closeOnExec ? O_CLOEXEC : 0))
        if fd < 0 { throw NetlinkError.system(operation: "\(operation): open \(controlPath) for", object: name, errno: errno) }
        var buffer = [CChar](repeating: 0, count: Int(IFNAMSIZ))
        for (i, b) in name.utf8.prefix(Int(IFNAMSIZ) - 1).enumerated() { buffer[i] = CChar(bitPattern: b) }
        if sandnet_tun_set_iff(fd, &buffer, flags) != 0 {
            let e = errno
            Glibc.close(fd)
            throw NetlinkError.system(operation: "\(operation) (TUNSETIFF)", object: name, errno: e)
        }
        return fd
    }

    static func configure(_ fd: Int32, _ spec: TapSpec, operation: String) throws {
        func check(_ rc: Int32, _ what: String) throws {
            if rc != 0 { throw NetlinkError.system(operation: "\(operation) (\(what))", object: spec.name, errno: errno) }
        }
        if let owner = spec.owner { try check(sandnet_ioctl_uint(fd, sandnet_TUNSETOWNER(), owner), "TUNSETOWNER") }
        if let group = spec.group { try check(sandnet_ioctl_uint(fd, sandnet_TUNSETGROUP(), group), "TUNSETGROUP") }
        if let size = spec.vnetHeaderSize { try check(sandnet_tun_set_vnet_hdr_size(fd, size), "TUNSETVNETHDRSZ") }
        if spec.persistent { try check(sandnet_ioctl_int(fd, sandnet_TUNSETPERSIST(), 1), "TUNSETPERSIST") }
    }
}
