#if canImport(Glibc)
    import Glibc
#endif

/// Finds the program to exec the way a shell does: a name with a slash is a path, any
/// other name is searched in the child's PATH (its environment's, not necessarily ours).
enum ExecutableLookup {
    static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    static func resolve(_ name: String, path: String?) throws(ProcessRunnerError) -> String {
        if name.contains("/") {
            guard access(name, X_OK) == 0 else { throw .executableNotFound(name: name, searched: []) }
            return name
        }
        let dirs = (path ?? defaultPath).split(separator: ":", omittingEmptySubsequences: true).map(String.init)
        for dir in dirs {
            let candidate = "\(dir)/\(name)"
            var st = stat()
            if stat(candidate, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, access(candidate, X_OK) == 0 { return candidate }
        }
        throw .executableNotFound(name: name, searched: dirs)
    }
}
