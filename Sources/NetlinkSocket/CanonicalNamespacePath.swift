import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension NetworkNamespace {
    /// The same namespace named by a path that means the same thing from any directory and
    /// any process, for records that outlive the caller (sandnet's journals):
    ///
    /// - a name stays `/run/netns/NAME`;
    /// - a relative path (`./X` run from /run/netns) is made absolute against the working
    ///   directory, and symlinks are resolved (`/var/run/netns/X` is `/run/netns/X`);
    /// - `/proc/PID/...` is kept (it lasts as long as process PID; a reused pid is caught by
    ///   the namespace cookie);
    /// - `/proc/self/...` and `/proc/thread-self/...` mean the caller itself, which will not
    ///   outlive the record: they become the `/run/netns/NAME` that is the same namespace,
    ///   else `/proc/1/ns/net` when it is the init process's namespace, else they are refused.
    /// `workingDirectory`: what a relative path is relative to (the process's by default).
    public func canonical(workingDirectory: String = FileManager.default.currentDirectoryPath) throws -> NetworkNamespace {
        if name != nil {
            try Self.validate(name: name!)
            return self
        }
        let absolute = path.hasPrefix("/") ? path : workingDirectory + "/" + path
        let lexical = Self.normalise(absolute)
        let parts = lexical.split(separator: "/")
        if parts.first == "proc" {
            guard parts.count > 1, parts[1] == "self" || parts[1] == "thread-self" else { return .path(lexical) }
            return try stableNameForCaller(lexical)
        }
        guard let resolved = realpath(lexical, nil) else {
            throw NetlinkError.system(operation: "resolve network namespace path", object: path, errno: Glibc.errno)
        }
        defer { free(resolved) }
        return .path(String(cString: resolved))
    }

    /// `/proc/self/...`: a lasting path to the same namespace, or a refusal that says why.
    private func stableNameForCaller(_ lexical: String) throws -> NetworkNamespace {
        let here = NetworkNamespace.path(lexical)
        let id = try here.identity()
        let cookie = try here.cookie()
        func same(_ other: NetworkNamespace) -> Bool {
            guard let o = try? other.identity(), o == id else { return false }
            return cookie == nil || (try? other.cookie()) == cookie
        }
        if let named = Self.listNamed().map({ NetworkNamespace.path("\(Self.runDirectory)/\($0)") }).first(where: same) {
            return named
        }
        let initial = NetworkNamespace.process(1)
        if same(initial) { return initial }
        throw NetlinkError.invalidArgument(
            operation: "name network namespace \(path)",
            reason:
                "\(path) is this process's own namespace, and no path to it outlives this process (none under \(Self.runDirectory) is the same namespace). "
                + "Fix: name it (ip netns attach NAME PID) and pass --netns NAME, or pass /proc/PID/ns/net of a process that keeps it")
    }

    /// Removes `.`, `..` and repeated slashes without touching the file system (the
    /// `/proc/self` links must be seen before anything resolves them).
    static func normalise(_ absolute: String) -> String {
        var out: [Substring] = []
        for c in absolute.split(separator: "/") {
            if c == "." { continue }
            if c == ".." {
                _ = out.popLast()
                continue
            }
            out.append(c)
        }
        return "/" + out.joined(separator: "/")
    }
}
