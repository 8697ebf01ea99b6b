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
    /// The open sockets, one per family; nil once closed. An array, not a dictionary: it
    /// holds one to three, and the first dictionary of a process costs a few hundred
    /// microseconds of runtime type lookups.
    private let sockets: Mutex<[NetlinkSocket]?>

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
        var wanted: [NetlinkProtocol] = []
        for f in families where !wanted.contains(f) { wanted.append(f) }
        // Only socket() runs in the namespace (on its thread); binding and options follow
        // here, which keeps the namespace thread's turn, and so the hop, short.
        let raw = try namespace.map { ns in try ns.run { try Self.makeDescriptors(wanted) } } ?? Self.makeDescriptors(wanted)
        var pending = raw[...] // not yet owned by a NetlinkSocket: closed if one fails
        defer { pending.forEach { _ = Glibc.close($0) } }
        var opened: [NetlinkSocket] = []
        for f in wanted {
            let s = try NetlinkSocket(adopting: FileDescriptor(pending.removeFirst()), protocol: f)
            s.onWarning = warnings
            opened.append(s)
        }
        sockets = Mutex(opened)
    }

    /// One unbound socket per family, in the calling thread's namespace; none left open if
    /// one of them fails.
    private static func makeDescriptors(_ families: [NetlinkProtocol]) throws -> [Int32] {
        var made: [Int32] = []
        do {
            for f in families { made.append(try NetlinkSocket.makeDescriptor(f).take()) }
        } catch {
            made.forEach { _ = Glibc.close($0) }
            throw error
        }
        return made
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
            guard let s = open.first(where: { $0.proto == family }) else { throw NetlinkError.familyNotOpened(family, opened: families) }
            return try body(s)
        }
    }

    /// Closes every socket; later `withSocket` calls throw EBADF.
    public func close() {
        sockets.withLock { state in
            state?.forEach { $0.close() }
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
