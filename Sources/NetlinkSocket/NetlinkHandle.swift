import Foundation
import NetlinkCodec

/// Netlink sockets bound to one network namespace, one per protocol family asked for
/// and no others. The sockets are created on a namespace thread and then used from any
/// thread: a netlink socket stays in the namespace it was created in.
public final class NetlinkHandle: @unchecked Sendable {
    public let namespace: NetworkNamespace?
    private let sockets: [NetlinkProtocol: NetlinkSocket]
    private let lock = NSLock()

    /// Families this handle holds, in the order asked for.
    public let families: [NetlinkProtocol]

    /// Opens `families` in `namespace` (nil: the caller's own namespace).
    /// A family the kernel refuses throws `NetlinkError.protocolUnavailable`.
    public init(namespace: NetworkNamespace? = nil, families: [NetlinkProtocol] = [.route]) throws {
        self.namespace = namespace
        self.families = families
        let open = { () throws -> [NetlinkProtocol: NetlinkSocket] in
            var map: [NetlinkProtocol: NetlinkSocket] = [:]
            for f in families where map[f] == nil { map[f] = try NetlinkSocket(protocol: f) }
            return map
        }
        if let namespace { sockets = try namespace.run(open) } else { sockets = try open() }
    }

    /// The socket of `family`. Never falls back to another namespace or family.
    public func socket(_ family: NetlinkProtocol) throws -> NetlinkSocket {
        guard let s = sockets[family] else { throw NetlinkError.familyNotOpened(family, opened: families) }
        return s
    }

    /// Serializes use of a socket: one request/reply exchange at a time.
    public func withSocket<T>(_ family: NetlinkProtocol = .route, _ body: (NetlinkSocket) throws -> T) throws -> T {
        let s = try socket(family)
        lock.lock(); defer { lock.unlock() }
        return try body(s)
    }

    public func close() {
        lock.lock(); defer { lock.unlock() }
        for s in sockets.values { s.close() }
    }
}

/// What a probe found about one netlink family.
public struct NetlinkFamilyProbe: Sendable, Codable, Equatable {
    public var family: NetlinkProtocol
    public var available: Bool
    public var errno: Int32?
    /// Why not, with the option/module that would provide it.
    public var reason: String?
}

extension NetlinkProtocol {
    /// Tries to open a socket of each family in `namespace` and reports what happened.
    public static func probe(_ families: [NetlinkProtocol] = NetlinkProtocol.allCases,
                             in namespace: NetworkNamespace? = nil) -> [NetlinkFamilyProbe] {
        let attempt = { () -> [NetlinkFamilyProbe] in
            families.map { f in
                do {
                    let s = try NetlinkSocket(protocol: f); s.close()
                    return NetlinkFamilyProbe(family: f, available: true, errno: nil, reason: nil)
                } catch let e as NetlinkError {
                    return NetlinkFamilyProbe(family: f, available: false, errno: e.errno, reason: e.description)
                } catch {
                    return NetlinkFamilyProbe(family: f, available: false, errno: nil, reason: "\(error)")
                }
            }
        }
        guard let namespace else { return attempt() }
        do { return try namespace.run(attempt) } catch {
            return families.map { NetlinkFamilyProbe(family: $0, available: false, errno: (error as? NetlinkError)?.errno, reason: "\(error)") }
        }
    }
}
