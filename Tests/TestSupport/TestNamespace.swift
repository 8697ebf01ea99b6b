import Foundation
import NetlinkSocket

/// Root-only test fixtures: throwaway network namespaces, `ip`/`tc` cross-checks.
public enum TestEnvironment {
    public static var isRoot: Bool { getuid() == 0 }

    /// Why a root-only test cannot run here, or nil when it can. Tests print this when skipping.
    public static var rootSkipReason: String? {
        isRoot ? nil : "needs root (CAP_NET_ADMIN) to create network namespaces; run `swift test` as root"
    }

    /// Runs a command and returns (status, stdout, stderr).
    @discardableResult
    public static func run(_ argv: [String], stdin: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = argv
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        let inPipe = Pipe()
        p.standardInput = stdin == nil ? FileHandle.nullDevice : inPipe
        try p.run()
        if let stdin { inPipe.fileHandleForWriting.write(Data(stdin.utf8)); try inPipe.fileHandleForWriting.close() }
        // Read both pipes before waiting so a chatty child cannot block on a full pipe.
        var outData = Data(), errData = Data()
        let g = DispatchGroup()
        g.enter(); DispatchQueue.global().async { outData = out.fileHandleForReading.readDataToEndOfFile(); g.leave() }
        g.enter(); DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); g.leave() }
        g.wait()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
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

public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// A uniquely named network namespace that is removed when the test ends, even when it
/// fails: use `TestNamespace.with { ns in ... }`.
public final class TestNamespace: @unchecked Sendable {
    public let name: String
    public var namespace: NetworkNamespace { .named(name) }

    private static let counter = Counter()

    public init(prefix: String = "snt") throws {
        Self.sweepOnce
        // pid + counter + random: unique across parallel tests and concurrent test runs.
        name = "\(prefix)-\(getpid())-\(Self.counter.next())-\(UInt16.random(in: 0...UInt16.max))"
        try NetworkNamespace.create(named: name)
    }

    deinit { if !removed { remove() } }

    /// A test process that died (a trap, SIGKILL, a timeout) cannot run its own cleanup, so
    /// the first namespace a test run makes removes those left by dead test processes: the
    /// names carry the creator's pid (`PREFIX-PID-N-R`), and only such names are touched.
    private static let sweepOnce: Void = {
        for name in NetworkNamespace.listNamed() {
            let parts = name.split(separator: "-")
            guard parts.count == 4, parts[0].hasPrefix("sn"), let pid = Int32(parts[1]),
                  Int(parts[2]) != nil, Int(parts[3]) != nil, pid != getpid() else { continue }
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

    private var removed = false
    public func remove() {
        guard !removed else { return }
        removed = true
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

    final class Counter: @unchecked Sendable {
        private var n = 0; private let lock = NSLock()
        func next() -> Int { lock.lock(); defer { lock.unlock() }; n += 1; return n }
    }
}

extension TestEnvironment {
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
