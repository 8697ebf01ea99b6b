import NetlinkCodec
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Netlink sockets bound to one network namespace, one per protocol family asked for
/// and no others. The sockets are created on a namespace thread and then used from any
/// thread: a netlink socket stays in the namespace it was created in.
///
/// The sockets live inside a mutex and are only reached through `withSocket`, so one
/// request/reply exchange runs at a time whichever thread asks.
public final class NetlinkHandle: Sendable {
    public let namespace: NetworkNamespace?
    /// The open sockets; nil once closed.
    private let sockets: Mutex<[NetlinkProtocol: NetlinkSocket]?>

    /// Families this handle holds, in the order asked for.
    public let families: [NetlinkProtocol]

    /// Opens `families` in `namespace` (nil: the caller's own namespace).
    /// A family the kernel refuses throws `NetlinkError.protocolUnavailable`.
    /// `warnings` receives what the kernel says about requests it carried out.
    public init(
        namespace: NetworkNamespace? = nil, families: [NetlinkProtocol] = [.route],
        warnings: KernelWarningHandler? = nil
    ) throws {
        self.namespace = namespace
        self.families = families
        let open = { () throws -> [NetlinkProtocol: NetlinkSocket] in
            var map: [NetlinkProtocol: NetlinkSocket] = [:]
            for f in families where map[f] == nil { map[f] = try NetlinkSocket(protocol: f) }
            return map
        }
        let opened = try namespace.map { try $0.run(open) } ?? open()
        for s in opened.values { s.onWarning = warnings }
        sockets = Mutex(opened)
    }

    /// Runs `body` with the socket of `family`, holding the handle's lock: one
    /// request/reply exchange at a time. Never falls back to another namespace or family.
    /// The socket must not escape `body`.
    public func withSocket<T: Sendable>(_ family: NetlinkProtocol = .route, _ body: (NetlinkSocket) throws -> T) throws -> T {
        try sockets.withLock { open in
            guard let open else {
                throw NetlinkError.system(
                    operation: "use the \(family.kernelName) socket of a closed handle", object: namespace?.description, errno: EBADF)
            }
            guard let s = open[family] else { throw NetlinkError.familyNotOpened(family, opened: families) }
            return try body(s)
        }
    }

    /// Closes every socket; later `withSocket` calls throw EBADF.
    public func close() {
        sockets.withLock { state in
            state?.values.forEach { $0.close() }
            state = nil
        }
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
    public static func probe(
        _ families: [NetlinkProtocol] = NetlinkProtocol.allCases,
        in namespace: NetworkNamespace? = nil
    ) -> [NetlinkFamilyProbe] {
        let attempt = { () -> [NetlinkFamilyProbe] in
            families.map { f in
                do {
                    let s = try NetlinkSocket(protocol: f)
                    s.close()
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
            return families.map {
                NetlinkFamilyProbe(family: $0, available: false, errno: (error as? NetlinkError)?.errno, reason: "\(error)")
            }
        }
    }
}
