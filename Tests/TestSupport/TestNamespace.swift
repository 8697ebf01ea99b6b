import Foundation
import NetlinkSocket
import ProcessRunner
import Synchronization

/// Root-only test fixtures: throwaway network namespaces, `ip`/`tc` cross-checks.
public enum TestEnvironment {
    public static var isRoot: Bool { getuid() == 0 }

    /// Why a root-only test cannot run here, or nil when it can. Tests print this when skipping.
    public static var rootSkipReason: String? {
        isRoot ? nil : "needs root (CAP_NET_ADMIN) to create network namespaces; run `swift test` as root"
    }

    /// Runs a command and returns (status, stdout, stderr); status is the shell's number
    /// (128 + N when signal N killed it). `environment` is added to this process's.
    /// Bounded: a child still running at `timeout` is killed and the run throws.
    @discardableResult
    public static func run(
        _ argv: [String], stdin: String? = nil, environment: [String: String] = [:],
        timeout: Duration = .seconds(120)
    ) throws -> (status: Int32, stdout: String, stderr: String) {
        let r = try ProcessRunner.run(
            argv, input: stdin.map { Array($0.utf8) },
            environment: environment.isEmpty ? .inherit : .adding(environment), timeout: timeout)
        return (r.termination.shellStatus, r.stdoutText, r.stderrText)
    }

    /// Runs a command that must succeed; throws with its stderr otherwise.
    @discardableResult
    public static func sh(_ argv: String...) throws -> String {
        let r = try run(argv)
        guard r.status == 0 else { throw TestFailure("`\(argv.joined(separator: " "))` exited \(r.status): \(r.stderr)") }
        return r.stdout
    }

    /// Parses `ip -j ...` / `tc -j ...` output.
    public static func json(_ argv: String...) throws -> [[String: Any]] {
        let r = try run(argv)
        guard r.status == 0 else { throw TestFailure("`\(argv.joined(separator: " "))` exited \(r.status): \(r.stderr)") }
        let text = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.isEmpty { return [] }
        guard let v = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] else {
            throw TestFailure("unexpected JSON from \(argv): \(text.prefix(200))")
        }
        return v
    }
}

public struct TestFailure: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ d: String) { description = d }
}

/// A uniquely named network namespace that is removed when the test ends, even when it
/// fails: use `TestNamespace.with { ns in ... }`.
public final class TestNamespace: Sendable {
    public let name: String
    public var namespace: NetworkNamespace { .named(name) }

    private static let counter = Counter()

    public init(prefix: String = "snt") throws {
        Self.sweepOnce
        // pid + counter + random: unique across parallel tests and concurrent test runs.
        name = "\(prefix)-\(getpid())-\(Self.counter.next())-\(UInt16.random(in: 0...UInt16.max))"
        try NetworkNamespace.create(named: name)
    }

    deinit { remove() }

    /// A test process that died (a trap, SIGKILL, a timeout) cannot run its own cleanup, so
    /// the first namespace a test run makes removes those left by dead test processes: the
    /// names carry the creator's pid (`PREFIX-PID-N-R`), and only such names are touched.
    private static let sweepOnce: Void = {
        for name in NetworkNamespace.listNamed() {
            // The prefix may hold dashes itself (`sn-e2eprobe`): read the pid from the end.
            let parts = name.split(separator: "-")
            guard parts.count >= 4, parts[0].hasPrefix("sn"), let pid = Int32(parts[parts.count - 3]),
                Int(parts[parts.count - 2]) != nil, Int(parts[parts.count - 1]) != nil, pid != getpid()
            else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH {
                try? NetworkNamespace.delete(named: name)
            }
        }
    }()

    /// `ip -n NAME ...`
    @discardableResult
    public func ip(_ args: String...) throws -> String { try TestEnvironment.sh(["ip", "-n", name] + args) }
    public func ipJSON(_ args: String...) throws -> [[String: Any]] { try TestEnvironment.jsonArgs(["ip", "-n", name, "-j"] + args) }
    @discardableResult
    public func tc(_ args: String...) throws -> String { try TestEnvironment.sh(["tc", "-n", name] + args) }
    public func tcJSON(_ args: String...) throws -> [[String: Any]] { try TestEnvironment.jsonArgs(["tc", "-n", name, "-j"] + args) }

    /// Set by the first `remove`, so a namespace is deleted once even when a test and the
    /// deinit race.
    private let removed = Mutex(false)
    public func remove() {
        guard
            removed.withLock({ was in
                defer { was = true }
                return !was
            })
        else { return }
        try? NetworkNamespace.delete(named: name)
    }

    /// Creates a namespace, runs `body`, and always deletes it.
    public static func with<T>(prefix: String = "snt", _ body: (TestNamespace) throws -> T) throws -> T {
        let ns = try TestNamespace(prefix: prefix)
        defer { ns.remove() }
        return try body(ns)
    }
    public static func with<T>(prefix: String = "snt", _ body: (TestNamespace) async throws -> T) async throws -> T {
        let ns = try TestNamespace(prefix: prefix)
        defer { ns.remove() }
        return try await body(ns)
    }

    final class Counter: Sendable {
        private let n = Mutex(0)
        func next() -> Int {
            n.withLock {
                $0 += 1
                return $0
            }
        }
    }
}

extension TestEnvironment {
    @discardableResult
    public static func sh(_ argv: [String]) throws -> String {
        let r = try run(argv)
        guard r.status == 0 else { throw TestFailure("`\(argv.joined(separator: " "))` exited \(r.status): \(r.stderr)") }
        return r.stdout
    }
    public static func jsonArgs(_ argv: [String]) throws -> [[String: Any]] {
        let r = try run(argv)
        guard r.status == 0 else { throw TestFailure("`\(argv.joined(separator: " "))` exited \(r.status): \(r.stderr)") }
        let text = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.isEmpty { return [] }
        guard let v = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] else {
            throw TestFailure("unexpected JSON from \(argv): \(text.prefix(200))")
        }
        return v
    }
}
