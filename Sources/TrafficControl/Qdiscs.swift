import Foundation
import NetlinkCodec
import NetlinkSocket
import Rtnetlink

#if canImport(Glibc)
    import Glibc
#endif

/// What to attach with `tc qdisc add`.
public enum QdiscKindSpec: Sendable, Equatable {
    /// `ingress`: one hook for received packets, filters under parent `ffff:`.
    case ingress
    /// `clsact`: ingress and egress hooks, filters under `ingress` / `egress`.
    case clsact
    /// `htb default MINOR`: classful rate limiting, classes added with `htbClassAdd`.
    case htb(defaultClass: UInt16 = 0, rateToQuantum: UInt32 = 10, directQueueLength: UInt32? = nil)

    public var kindName: String {
        switch self {
        case .ingress: return "ingress"
        case .clsact: return "clsact"
        case .htb: return "htb"
        }
    }
}

/// A qdisc to add or delete. Parent and handle default to what tc uses for the kind.
public struct QdiscSpec: Sendable, Equatable {
    public var device: LinkReference
    public var kind: QdiscKindSpec
    public var parent: TcHandle
    public var handle: TcHandle

    public init(device: LinkReference, kind: QdiscKindSpec, parent: TcHandle? = nil, handle: TcHandle? = nil) {
        self.device = device
        self.kind = kind
        switch kind {
        case .ingress, .clsact:
            self.parent = parent ?? .ingressParent
            self.handle = handle ?? .ingressQdisc
        case .htb:
            self.parent = parent ?? .root
            self.handle = handle ?? TcHandle(major: 1, minor: 0)
        }
    }
}

/// A qdisc as the kernel reports it (RTM_NEWQDISC), the fields `tc -j -d qdisc show` prints.
public struct Qdisc: Sendable, Equatable, Codable {
    public var index: Int32
    public var kind: String
    public var handle: TcHandle
    public var parent: TcHandle
    /// tcm_info: the kernel's reference count (`refcnt`).
    public var referenceCount: UInt32
    public var htb: HtbQdiscInfo?
    public var ingressBlock: UInt32?
    public var egressBlock: UInt32?

    public var isRoot: Bool { parent == .root }
}

/// `tc -j qdisc show` htb options.
public struct HtbQdiscInfo: Sendable, Equatable, Codable {
    /// tc_htb_glob.version: major in the high half, minor in the low half (`3.17`).
    public var version: UInt32
    public var rateToQuantum: UInt32
    public var defaultClass: UInt32
    public var directPackets: UInt32
    public var directQueueLength: UInt32?
    public var versionText: String { "\(version >> 16).\(version & 0xffff)" }
}

extension Qdisc {
    public static func decode(_ message: NetlinkMessage) throws -> Qdisc {
        let (h, attrs) = try TcMessageHeader.decode(message)
        var q = Qdisc(
            index: h.index, kind: attrs.first(TCA.KIND)?.string() ?? "",
            handle: TcHandle(rawValue: h.handle), parent: TcHandle(rawValue: h.parent), referenceCount: h.info)
        q.ingressBlock = try attrs.first(TCA.INGRESS_BLOCK)?.u32()
        q.egressBlock = try attrs.first(TCA.EGRESS_BLOCK)?.u32()
        if q.kind == "htb", let options = try attrs.first(TCA.OPTIONS)?.nested() {
            if let glob = options.first(TCA_HTB.INIT) {
                var r = ByteReader(glob.payloadSlice)
                let version = try r.u32("tc_htb_glob.version")
                let r2q = try r.u32("tc_htb_glob.rate2quantum")
                let defcls = try r.u32("tc_htb_glob.defcls")
                _ = try r.u32("tc_htb_glob.debug")
                q.htb = HtbQdiscInfo(
                    version: version, rateToQuantum: r2q, defaultClass: defcls,
                    directPackets: try r.u32("tc_htb_glob.direct_pkts"))
            }
            q.htb?.directQueueLength = try options.first(TCA_HTB.DIRECT_QLEN)?.u32()
        }
        return q
    }
}

extension Rtnetlink {
    /// An add that meets EBUSY (the device is being reconfigured, or a previous qdisc is
    /// still being torn down) is retried this many times, waiting 10 ms, 20 ms, 40 ms...
    static let qdiscBusyRetries = 5

    /// `tc -d qdisc show [dev DEV]`
    public func qdiscs(device: LinkReference? = nil) throws -> [Qdisc] {
        let op = "list qdiscs"
        var h = TcMessageHeader()
        if let device { h.index = try index(of: device) }
        let req = NetlinkMessage(type: RTM.GETQDISC, flags: .dump, body: h.bytes)
        let all = try decodeTc(try dump(req, operation: op, object: device?.description), type: RTM.NEWQDISC, operation: op, Qdisc.decode)
        return h.index == 0 ? all : all.filter { $0.index == h.index }
    }

    /// `tc qdisc add dev DEV ingress|clsact|root handle H htb default D`
    public func qdiscAdd(_ spec: QdiscSpec) throws {
        let index = try self.index(of: spec.device)
        let request = Self.qdiscAddRequest(spec, index: index)
        try retryingBusy { try execute(request, operation: "add qdisc", object: "\(spec.kind.kindName) dev \(spec.device)") }
    }

    /// `tc qdisc del dev DEV ingress|clsact|root`
    public func qdiscDelete(_ spec: QdiscSpec) throws {
        let index = try self.index(of: spec.device)
        try execute(
            Self.qdiscDeleteRequest(spec, index: index), operation: "delete qdisc", object: "\(spec.kind.kindName) dev \(spec.device)")
    }

    /// Deletes a qdisc seen in a listing.
    public func qdiscDelete(_ qdisc: Qdisc) throws {
        var a = AttributeWriter()
        a.add(TCA.KIND, string: qdisc.kind)
        let h = TcMessageHeader(index: qdisc.index, handle: qdisc.handle.rawValue, parent: qdisc.parent.rawValue)
        try execute(
            NetlinkMessage(type: RTM.DELQDISC, flags: [], body: h.bytes, attributes: a),
            operation: "delete qdisc", object: "\(qdisc.kind) \(qdisc.handle) on ifindex \(qdisc.index)")
    }

    /// RTM_NEWQDISC for `spec` on ifindex `index`. Pure: tested byte for byte against what tc sends.
    public static func qdiscAddRequest(_ spec: QdiscSpec, index: Int32) -> NetlinkMessage {
        var a = AttributeWriter()
        a.add(TCA.KIND, string: spec.kind.kindName)
        if case .htb(let defaultClass, let r2q, let directQueueLength) = spec.kind {
            a.nest(TCA.OPTIONS) { o in
                var glob = ByteWriter() // struct tc_htb_glob
                glob.u32(TCA_HTB.PROTOVER)
                glob.u32(r2q)
                glob.u32(UInt32(defaultClass))
                glob.u32(0)
                glob.u32(0)
                o.add(TCA_HTB.INIT, glob.bytes)
                if let q = directQueueLength { o.add(TCA_HTB.DIRECT_QLEN, u32: q) }
            }
        }
        let h = TcMessageHeader(index: index, handle: spec.handle.rawValue, parent: spec.parent.rawValue)
        return NetlinkMessage(type: RTM.NEWQDISC, flags: [.create, .exclusive], body: h.bytes, attributes: a)
    }

    /// RTM_DELQDISC for `spec` on ifindex `index`.
    public static func qdiscDeleteRequest(_ spec: QdiscSpec, index: Int32) -> NetlinkMessage {
        var a = AttributeWriter()
        a.add(TCA.KIND, string: spec.kind.kindName)
        let h = TcMessageHeader(index: index, handle: spec.handle.rawValue, parent: spec.parent.rawValue)
        return NetlinkMessage(type: RTM.DELQDISC, flags: [], body: h.bytes, attributes: a)
    }

    func retryingBusy(_ body: () throws -> Void) throws {
        var delay: useconds_t = 10_000
        for attempt in 0... {
            do { return try body() } catch let e as NetlinkError where e.errno == EBUSY && attempt < Self.qdiscBusyRetries {
                usleep(delay)
                delay *= 2
            }
        }
    }

    /// Decodes tc replies of `type`, turning codec failures into a typed error naming the operation.
    func decodeTc<T>(_ messages: [NetlinkMessage], type: UInt16, operation: String, _ decode: (NetlinkMessage) throws -> T) throws -> [T] {
        do { return try messages.filter { $0.header.type == type }.map(decode) } catch let d as DecodeError {
            throw NetlinkError.malformedReply(operation: operation, d)
        }
    }
}
