import CSandnetLinux

#if canImport(Glibc)
    import Glibc
#endif

/// The network namespace cookie (SO_NETNS_COOKIE, Linux 5.14+): a 64-bit number the
/// kernel gives each network namespace when it is made and never gives another while the
/// system runs. An nsfs (device, inode) pair is not like that: the inode number is freed
/// with the namespace and the next namespace made may get it. So a namespace recorded by
/// (device, inode) alone can later "be" another one; recorded with its cookie it cannot.
public enum NamespaceCookie {
    /// The cookie of the namespace socket `fd` lives in (a socket stays in the namespace it
    /// was made in), or nil when the kernel has no SO_NETNS_COOKIE (ENOPROTOOPT).
    public static func of(socket fd: Int32) throws -> UInt64? {
        var cookie: UInt64 = 0
        if sandnet_netns_cookie(fd, &cookie) == 0 { return cookie }
        let e = Glibc.errno
        if e == ENOPROTOOPT { return nil }
        throw NetlinkError.system(operation: "read the network namespace cookie (SO_NETNS_COOKIE) of socket", object: "fd \(fd)", errno: e)
    }

    /// The cookie of the namespace the calling thread is in: a short-lived socket made here.
    static func ofCallingThread() throws -> UInt64? {
        let fd = sandnet_probe_socket()
        guard fd >= 0 else {
            throw NetlinkError.system(operation: "open a socket to read the namespace cookie", object: nil, errno: Glibc.errno)
        }
        defer { close(fd) }
        return try of(socket: fd)
    }

    /// Why a record holds no cookie: said in journals made on kernels before Linux 5.14.
    public static let unavailableNote =
        "the kernel has no SO_NETNS_COOKIE (Linux 5.14+): the namespace is known by its nsfs (device, inode) only, which a namespace made after this one is deleted may reuse"
}

extension NetworkNamespace {
    /// This namespace's cookie (see `NamespaceCookie`), read from a socket made inside it on
    /// a namespace thread; nil when the kernel has no SO_NETNS_COOKIE.
    public func cookie() throws -> UInt64? {
        try run { try NamespaceCookie.ofCallingThread() }
    }

    /// The cookie of the namespace open at `fd` (an nsfs descriptor), as `cookie()`.
    public static func cookie(ofNamespaceAt fd: Int32, description: String) throws -> UInt64? {
        try NamespaceThreadPool.shared.run(in: fd, description: description) { try NamespaceCookie.ofCallingThread() }
    }
}

extension NetlinkHandle {
    /// The cookie of the namespace this handle's sockets live in: what the handle really
    /// talks to, whatever its namespace path names by now. nil without SO_NETNS_COOKIE.
    public func namespaceCookie() throws -> UInt64? {
        try withSocket(families[0]) { try NamespaceCookie.of(socket: $0.fd) }
    }
}
