#if canImport(Glibc)
    import Glibc
#endif

/// Why a child could not be run to its end. Each prints as one sentence.
public enum ProcessRunnerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No argv[0].
    case emptyCommand
    /// argv[0] is not an executable path, nor found in any of the searched directories.
    case executableNotFound(name: String, searched: [String])
    /// posix_spawn itself failed (errno), before the program ran.
    case spawnFailed(argv: [String], errno: Int32)
    /// A pipe, memfd, pidfd or poll call for the child failed.
    case systemCall(operation: String, argv: [String], errno: Int32)
    /// The child was still running (or its output still open) at the bound: it was sent
    /// SIGKILL and reaped. What it wrote until then is kept for the diagnosis.
    case timedOut(argv: [String], after: Duration, stdout: [UInt8], stderr: [UInt8])

    public var description: String {
        switch self {
        case .emptyCommand:
            return "cannot run a command with no arguments: pass the program as argv[0]"
        case .executableNotFound(let name, let searched):
            if searched.isEmpty { return "cannot run \(name): no executable file at that path" }
            return "cannot run \(name): not found in PATH (\(searched.joined(separator: ":"))); install it or pass its full path"
        case .spawnFailed(let argv, let e):
            return "cannot start `\(Self.show(argv))`: posix_spawn failed: \(String(cString: strerror(e))) (errno \(e))"
        case .systemCall(let op, let argv, let e):
            return "cannot run `\(Self.show(argv))`: \(op) failed: \(String(cString: strerror(e))) (errno \(e))"
        case .timedOut(let argv, let bound, let out, let err):
            let tail = String(decoding: (err.isEmpty ? out : err).suffix(2000), as: UTF8.self).trimmedOfWhitespace
            return "`\(Self.show(argv))` did not finish within \(bound) and was killed with SIGKILL"
                + (tail.isEmpty ? "" : "; its last output: \(tail)")
        }
    }

    static func show(_ argv: [String]) -> String { argv.prefix(12).joined(separator: " ") + (argv.count > 12 ? " …" : "") }
}

extension String {
    var trimmedOfWhitespace: Substring {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return s
    }
}
