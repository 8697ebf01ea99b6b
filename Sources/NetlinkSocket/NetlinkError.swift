import NetlinkCodec

#if canImport(Glibc)
    import Glibc
#endif

/// What the kernel said when it refused a request.
public struct KernelRefusal: Error, Equatable, Sendable {
    /// What sandnet was doing, in iproute2 terms ("add link", "dump routes").
    public var operation: String
    /// The object it was doing it to ("veth0", "198.51.100.0/24 dev eth0"), if any.
    public var object: String?
    public var errno: Int32
    /// The extended-ACK message (NLMSGERR_ATTR_MSG), when the kernel gave one.
    public var kernelMessage: String?
    public var offset: UInt32?

    public init(operation: String, object: String?, errno: Int32, kernelMessage: String?, offset: UInt32? = nil) {
        self.operation = operation
        self.object = object
        self.errno = errno
        self.kernelMessage = kernelMessage
        self.offset = offset
    }
}

/// Every failure of the socket and namespace layer. `description` is one sentence an
/// operator can act on; `hint` the fix where one is known.
public enum NetlinkError: Error, CustomStringConvertible, Sendable {
    /// socket(AF_NETLINK, ..., proto) answered EPROTONOSUPPORT: the family is not in this kernel.
    case protocolUnavailable(NetlinkProtocol, errno: Int32)
    /// A system call failed (socket, bind, send, recv, setns, open...).
    case system(operation: String, object: String?, errno: Int32)
    /// The kernel refused a request.
    case kernel(KernelRefusal)
    /// A reply could not be decoded.
    case malformedReply(operation: String, DecodeError)
    /// A dump kept being interrupted by concurrent changes.
    case dumpInterrupted(operation: String, attempts: Int)
    /// The handle was asked for a family it did not open.
    case familyNotOpened(NetlinkProtocol, opened: [NetlinkProtocol])
    /// Bad input caught before anything was sent.
    case invalidArgument(operation: String, reason: String)
    /// No reply to a request came within the socket's `replyTimeout`.
    case timedOut(operation: String, after: Duration)

    public var errno: Int32? {
        switch self {
        case .protocolUnavailable(_, let e): return e
        case .system(_, _, let e): return e
        case .kernel(let r): return r.errno
        default: return nil
        }
    }

    public var description: String {
        var s: String
        switch self {
        case .protocolUnavailable(let p, let e):
            s = "cannot open a \(p.kernelName) socket: \(errnoText(e))"
            if let opt = p.kernelOption {
                s += "; this kernel has no \(p.kernelName) family (\(opt)"
                if let m = p.moduleName { s += ", module \(m)" }
                s += ")"
            }
        case .system(let op, let obj, let e):
            s = "\(op)\(obj.map { " \($0)" } ?? "") failed: \(errnoText(e))"
        case .kernel(let r):
            s = "\(r.operation)\(r.object.map { " \($0)" } ?? "") failed: \(errnoText(r.errno))"
            if let m = r.kernelMessage, !m.isEmpty { s += " (kernel: \(m))" }
        case .malformedReply(let op, let d):
            s = "\(op): the kernel's reply could not be decoded: \(d)"
        case .dumpInterrupted(let op, let n):
            s = "\(op): the dump was interrupted by concurrent changes \(n) times in a row"
        case .familyNotOpened(let p, let opened):
            s = "this handle opened \(opened.map(\.kernelName).joined(separator: ", ")) only, not \(p.kernelName)"
        case .invalidArgument(let op, let reason):
            s = "\(op): \(reason)"
        case .timedOut(let op, let after):
            s = "\(op): no reply from the kernel within \(secondsText(after)) s"
        }
        if let h = hint { s += ". Fix: \(h)" }
        return s
    }

    /// A known fix for this failure, or nil.
    public var hint: String? {
        switch self {
        case .protocolUnavailable(let p, _):
            guard let opt = p.kernelOption else { return nil }
            // Options that cannot be modules (SELinux, audit) only have the rebuild fix.
            var h =
                p.moduleName.map { "load the module (modprobe \($0)) or build the kernel with \(opt)=y" }
                ?? "build the kernel with \(opt)=y"
            if p == .netfilter {
                h += " (it has no prompt of its own: enable e.g. CONFIG_NF_TABLES or CONFIG_NETFILTER_NETLINK_QUEUE, which select it)"
            }
            return h
        case .timedOut:
            return
                "retry; a reply is lost when the socket's receive buffer overflows, and a kernel that stops answering shows hung tasks in dmesg"
        default:
            guard let e = errno else { return nil }
            switch e {
            case EPERM, EACCES: return "this needs CAP_NET_ADMIN in the target namespace: run as root"
            case ENOENT:
                if case .system(let op, _, _) = self, op.hasSuffix("network namespace") {
                    return "no such namespace; `ip netns list` shows the named ones"
                }
                return nil
            default: return nil
            }
        }
    }
}

/// "30" or "0.3": a duration in seconds, as short as it can be said.
func secondsText(_ d: Duration) -> String {
    let (s, atto) = d.components
    if atto == 0 { return "\(s)" }
    return "\(Double(s) + Double(atto) / 1e18)"
}

/// "EEXIST (File exists)".
public func errnoText(_ e: Int32) -> String {
    // ENOTSUP is EOPNOTSUPP on Linux: listing both would make this literal trap (duplicate key).
    let names: [Int32: String] = [
        EPERM: "EPERM", ENOENT: "ENOENT", ESRCH: "ESRCH", EINTR: "EINTR", EIO: "EIO", ENXIO: "ENXIO", EBADF: "EBADF",
        EAGAIN: "EAGAIN", ENOMEM: "ENOMEM", EACCES: "EACCES", EBUSY: "EBUSY", EEXIST: "EEXIST", ENODEV: "ENODEV",
        ENOTDIR: "ENOTDIR", EINVAL: "EINVAL", EMFILE: "EMFILE", ENOSPC: "ENOSPC", ERANGE: "ERANGE",
        EPROTONOSUPPORT: "EPROTONOSUPPORT", EOPNOTSUPP: "EOPNOTSUPP", EAFNOSUPPORT: "EAFNOSUPPORT",
        EADDRINUSE: "EADDRINUSE", EADDRNOTAVAIL: "EADDRNOTAVAIL", ENETUNREACH: "ENETUNREACH", ENOBUFS: "ENOBUFS",
        ENOSYS: "ENOSYS", ENAMETOOLONG: "ENAMETOOLONG", ENOTEMPTY: "ENOTEMPTY", ENOTCONN: "ENOTCONN",
        EMSGSIZE: "EMSGSIZE", ENETDOWN: "ENETDOWN", ETIMEDOUT: "ETIMEDOUT", EHOSTUNREACH: "EHOSTUNREACH"
    ]
    let text = String(cString: strerror(e))
    return "\(names[e] ?? "errno \(e)") (\(text))"
}
