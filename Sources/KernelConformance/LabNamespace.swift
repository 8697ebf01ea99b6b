import Foundation
import NetlinkSocket
import ProcessRunner
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A uniquely named network namespace for one check, removed when the check ends (even when
/// it fails), with `ip -n`/`tc -n` runs for the cross-checks. Named `PREFIX-PID-N-R`, as the
/// test suites' namespaces are, so that a test run sweeps those of a dead process.
public final class LabNamespace: Sendable {
    public let name: String
    public var namespace: NetworkNamespace { .named(name) }

    private static let counter = Mutex(0)

    init(prefix: String) throws {
        let n = Self.counter.withLock {
            $0 += 1
            return $0
        }
        name = "\(prefix)-\(getpid())-\(n)-\(UInt16.random(in: 0...UInt16.max))"
        try NetworkNamespace.create(named: name)
    }

    deinit { try? NetworkNamespace.delete(named: name) }

    /// Creates a namespace, runs `body`, and always deletes it.
    public static func with<T>(prefix: String = "snlab", _ body: (LabNamespace) throws -> T) throws -> T {
        let ns = try LabNamespace(prefix: prefix)
        defer { try? NetworkNamespace.delete(named: ns.name) }
        return try body(ns)
    }

    /// `ip -n NAME ARGS`: its output; throws when it fails.
    @discardableResult
    public func ip(_ args: String...) throws -> String { try Self.sh(["ip", "-n", name] + args) }
    /// `tc -n NAME ARGS`
    @discardableResult
    public func tc(_ args: String...) throws -> String { try Self.sh(["tc", "-n", name] + args) }
    /// `ip -n NAME -j ARGS`, parsed.
    public func ipJSON(_ args: String...) throws -> [[String: Any]] { try Self.json(["ip", "-n", name, "-j"] + args) }
    /// `tc -n NAME -j ARGS`, parsed.
    public func tcJSON(_ args: String...) throws -> [[String: Any]] { try Self.json(["tc", "-n", name, "-j"] + args) }

    /// Runs a command (bounded); its status and output.
    public static func run(_ argv: [String], timeout: Duration = .seconds(60)) throws -> (status: Int32, stdout: String, stderr: String) {
        let r = try ProcessRunner.run(argv, timeout: timeout)
        return (r.termination.shellStatus, r.stdoutText, r.stderrText)
    }

    static func sh(_ argv: [String]) throws -> String {
        let r = try run(argv)
        guard r.status == 0 else { throw LabCommandError(argv: argv, status: r.status, stderr: r.stderr) }
        return r.stdout
    }

    static func json(_ argv: [String]) throws -> [[String: Any]] {
        let text = try sh(argv).trimmingCharacters(in: .whitespacesAndNewlines)
        if text.isEmpty { return [] }
        guard let v = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] else {
            throw LabCommandError(argv: argv, status: 0, stderr: "its output is not a JSON array: \(text.prefix(200))")
        }
        return v
    }
}
