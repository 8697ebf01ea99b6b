import CSandnetLinux
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A network namespace, named the way iproute2 names them.
public struct NetworkNamespace: Hashable, Sendable, CustomStringConvertible {
    /// Where iproute2 keeps named namespaces (`ip netns add NAME`).
    public static let runDirectory = "/run/netns"

    /// Path of a namespace file (`/run/netns/NAME`, `/proc/PID/ns/net`, any bind mount).
    public let path: String
    /// The iproute2 name, when opened by name.
    public let name: String?

    public static func named(_ name: String) -> NetworkNamespace { NetworkNamespace(path: "\(runDirectory)/\(name)", name: name) }
    public static func path(_ path: String) -> NetworkNamespace { NetworkNamespace(path: path, name: nil) }
    public static func process(_ pid: Int32) -> NetworkNamespace { NetworkNamespace(path: "/proc/\(pid)/ns/net", name: nil) }
    /// The namespace of the calling process's main thread... of the current process.
    public static let current = NetworkNamespace(path: "/proc/self/ns/net", name: nil)

    /// `NAME` is a name unless it holds a slash, then it is a path (as in `ip -n`).
    public static func parse(_ spec: String) -> NetworkNamespace {
        spec.contains("/") ? .path(spec) : .named(spec)
    }

    public var description: String { name.map { "netns \($0)" } ?? "netns \(path)" }

    /// Opens the namespace file. The descriptor is CLOEXEC; close it when done.
    public func open() throws -> Int32 {
        let fd = try openUnchecked()
        if let refusal = notANetworkNamespace(fd) {
            close(fd)
            throw refusal
        }
        return fd
    }

    /// Opens the namespace file without checking what it is (CLOEXEC): for setns, which
    /// refuses anything else with EINVAL, and then `notANetworkNamespace` says why.
    func openUnchecked() throws -> Int32 {
        if let name { try Self.validate(name: name) }
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            throw NetlinkError.system(operation: "open network namespace", object: path, errno: Glibc.errno)
        }
        return fd
    }

    /// The error for a file at this path, open at `fd`, that is not a network namespace;
    /// nil when it is one.
    func notANetworkNamespace(_ fd: Int32) -> NetlinkError? {
        guard let why = NamespaceFileKind.notANetworkNamespace(fd) else { return nil }
        return NetlinkError.invalidArgument(
            operation: "open network namespace \(path)",
            reason: "\(path) is not a network namespace (\(why)). "
                + "Fix: pass a name under \(Self.runDirectory) (`ip netns list`) or a namespace file such as /proc/PID/ns/net")
    }

    public var exists: Bool { access(path, F_OK) == 0 }

    /// Runs `body` on a dedicated thread inside this namespace.
    public func run<T>(_ body: () throws -> T) throws -> T {
        // Checked only when setns refuses it: the check costs two system calls a hop.
        let fd = try openUnchecked()
        defer { close(fd) }
        return try NamespaceThreadPool.shared.run(in: fd, description: description, explainInvalid: notANetworkNamespace, body)
    }

    // MARK: create / delete, compatible with `ip netns add|del`

    static func validate(name: String) throws {
        // utf8.contains, not String.contains: with Foundation imported that is a CFString search.
        if name.isEmpty || name == "." || name == ".." || name.utf8.contains(UInt8(ascii: "/")) || name.utf8.count > 255 {
            throw NetlinkError.invalidArgument(operation: "netns", reason: "\"\(name)\" is not a valid namespace name")
        }
    }

    /// Creates `/run/netns/NAME` bound to a fresh network namespace, as `ip netns add` does.
    @discardableResult
    public static func create(named name: String) throws -> NetworkNamespace {
        try validate(name: name)
        let ns = NetworkNamespace.named(name)
        try prepareRunDirectory()
        let fd = Glibc.open(ns.path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0)
        if fd < 0 {
            throw NetlinkError.system(operation: "create network namespace", object: name, errno: Glibc.errno)
        }
        close(fd)
        // unshare() moves the calling thread, so do it on a namespace worker: it enters the
        // host namespace first (a no-op), unshares, binds the new one, and switches back.
        let home = Glibc.open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)
        defer { close(home) }
        do {
            try NamespaceThreadPool.shared.run(in: home, description: "create \(name)") {
                if sandnet_unshare(sandnet_clone_newnet()) != 0 {
                    throw NetlinkError.system(operation: "create network namespace (unshare)", object: name, errno: Glibc.errno)
                }
                let me = "/proc/self/task/\(sandnet_gettid())/ns/net"
                if sandnet_mount_bind(me, ns.path) != 0 {
                    throw NetlinkError.system(operation: "create network namespace (bind mount)", object: name, errno: Glibc.errno)
                }
            }
        } catch {
            unlink(ns.path)
            throw error
        }
        return ns
    }

    /// Unmounts and removes `/run/netns/NAME`, as `ip netns del` does.
    public static func delete(named name: String) throws {
        try validate(name: name)
        let path = "\(runDirectory)/\(name)"
        guard access(path, F_OK) == 0 else {
            throw NetlinkError.system(operation: "delete network namespace", object: name, errno: ENOENT)
        }
        _ = sandnet_umount_detach(path)
        if unlink(path) != 0 {
            throw NetlinkError.system(operation: "delete network namespace", object: name, errno: Glibc.errno)
        }
    }

    /// /run/netns must be a shared mount point so namespace bind mounts propagate to
    /// other mount namespaces, exactly as iproute2 sets it up.
    private static func prepareRunDirectory() throws {
        mkdir(runDirectory, 0o755)
        if sandnet_mount_make_shared_rec(runDirectory) == 0 { return }
        guard Glibc.errno == EINVAL else {
            throw NetlinkError.system(operation: "prepare \(runDirectory)", object: nil, errno: Glibc.errno)
        }
        // Not a mount point yet: bind it onto itself, then make it shared.
        if sandnet_mount_bind_self(runDirectory) != 0 || sandnet_mount_make_shared_rec(runDirectory) != 0 {
            throw NetlinkError.system(operation: "prepare \(runDirectory)", object: nil, errno: Glibc.errno)
        }
    }

    /// Names of namespaces under /run/netns.
    public static func listNamed() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: runDirectory)) ?? []).sorted()
    }

    /// Identity (device, inode) of a namespace file, to compare namespaces.
    public func identity() throws -> NamespaceIdentity {
        var st = stat()
        if stat(path, &st) != 0 { throw NetlinkError.system(operation: "stat network namespace", object: path, errno: Glibc.errno) }
        return NamespaceIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }
}

public struct NamespaceIdentity: Hashable, Sendable {
    public let device: UInt64
    public let inode: UInt64
    public init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }

    /// Identity of the namespace open at `fd`.
    public init(descriptor fd: Int32) throws {
        var st = stat()
        if fstat(fd, &st) != 0 { throw NetlinkError.system(operation: "stat network namespace", object: "fd \(fd)", errno: Glibc.errno) }
        self.init(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }
}
