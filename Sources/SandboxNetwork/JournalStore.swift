import Foundation
import NetlinkCodec
import NetlinkSocket
import Rtnetlink
import SandnetCore
#if canImport(Glibc)
import Glibc
#endif

/// Where journals live and how they are read and written.
public struct JournalStore: Sendable {
    public static let defaultDirectory = "/run/sandnet"
    public let directory: String

    public init(directory: String? = nil) {
        self.directory = directory ?? ProcessInfo.processInfo.environment["SANDNET_STATE_DIR"] ?? Self.defaultDirectory
    }

    var sandboxDirectory: String { "\(directory)/sandboxes" }
    public func path(of sandbox: String) -> String { "\(sandboxDirectory)/\(sandbox).json" }

    public static func validate(sandbox: String) throws {
        guard !sandbox.isEmpty, sandbox.utf8.count <= 128,
              sandbox.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }), sandbox.first != "." else {
            throw SandboxError.invalidSandboxID(sandbox)
        }
    }

    func prepare() throws {
        for d in [directory, sandboxDirectory] where mkdir(d, 0o700) != 0 && errno != EEXIST {
            throw SandboxError.stateDirectory(d, errno: errno)
        }
    }

    static func makeEncoder() -> JSONEncoder {
        let e = JSONEncoder()
        // Compact and unsorted: the journal is re-encoded before every kernel change of an
        // attach, and pretty-printing with sorted keys was most of attach's CPU time.
        // Readers decode it; nothing promises a layout.
        e.outputFormatting = [.withoutEscapingSlashes]
        return e
    }

    /// The JSON of one step, as `encode(_:encodedSteps:)` takes it.
    public static func encode(step: JournalStep) throws -> Data { try makeEncoder().encode(step) }

    /// The journal's JSON. With `encodedSteps` (the JSON of every step of `journal.steps`,
    /// in order) the steps are spliced in rather than encoded again: an attach rewrites the
    /// journal before each of its changes, so re-encoding every earlier step each time made
    /// the writes quadratic in the number of steps.
    public static func encode(_ journal: SandboxJournal, encodedSteps: [Data]? = nil) throws -> Data {
        let e = makeEncoder()
        guard let encodedSteps, encodedSteps.count == journal.steps.count else { return try e.encode(journal) }
        var rest = journal
        rest.steps = []
        let base = try e.encode(rest)
        // String values are escaped, so this byte sequence can only be the top-level key.
        let emptySteps = Data(#""steps":[]"#.utf8)
        guard let r = base.range(of: emptySteps) else { return try e.encode(journal) }
        var out = Data(capacity: base.count + encodedSteps.reduce(encodedSteps.count) { $0 + $1.count })
        out.append(base[..<r.lowerBound])
        out.append(contentsOf: #""steps":["#.utf8)
        for (i, step) in encodedSteps.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(step)
        }
        out.append(UInt8(ascii: "]"))
        out.append(base[r.upperBound...])
        return out
    }

    /// Atomically replaces the sandbox's journal (`encodedSteps`: see `encode(_:encodedSteps:)`).
    public func write(_ journal: SandboxJournal, encodedSteps: [Data]? = nil) throws {
        try prepare()
        let data = try Self.encode(journal, encodedSteps: encodedSteps)
        let final = path(of: journal.sandbox)
        let temp = "\(final).tmp.\(getpid())"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SandboxError.journalIO(final, "create \(temp)", errno: errno) }
        let ok = data.withUnsafeBytes { buf -> Bool in
            var off = 0
            while off < buf.count {
                let n = Glibc.write(fd, buf.baseAddress! + off, buf.count - off)
                if n <= 0 { if n < 0 && errno == EINTR { continue }; return false }
                off += n
            }
            return fsync(fd) == 0
        }
        let writeErrno = errno
        close(fd)
        guard ok else { unlink(temp); throw SandboxError.journalIO(final, "write", errno: writeErrno) }
        // The rename is what makes a write atomic against a killed process (SIGKILL between
        // any two kernel changes): readers see the old or the new journal, never a torn one.
        // The fsync of the file above keeps a disk-backed state directory from holding an
        // empty or torn file after a power loss. The directory is not fsync'd: losing the
        // rename to a power loss only leaves an older journal, and what any journal describes
        // (namespaces, links, qdiscs) does not survive a reboot either; on a normal host
        // /run is tmpfs and the journal goes with them.
        guard rename(temp, final) == 0 else { let e = errno; unlink(temp); throw SandboxError.journalIO(final, "rename", errno: e) }
    }

    /// Reads a journal. A missing one is `nil`; an unreadable, truncated or corrupted one
    /// throws `journalCorrupted` and nothing else happens.
    public func read(sandbox: String) throws -> SandboxJournal? {
        try Self.validate(sandbox: sandbox)
        let p = path(of: sandbox)
        guard let data = try JournalFile.contents(p) else { return nil }
        return try decode(data, path: p)
    }

    public func read(path p: String) throws -> SandboxJournal {
        guard let data = try JournalFile.contents(p) else { throw SandboxError.journalIO(p, "read", errno: ENOENT) }
        return try decode(data, path: p)
    }

    func decode(_ data: Data, path p: String) throws -> SandboxJournal {
        struct Format: Decodable { var format: Int }
        let journal: SandboxJournal
        do {
            let f = try JSONDecoder().decode(Format.self, from: data).format
            guard f == SandboxJournal.formatVersion else {
                throw SandboxError.journalCorrupted(p, "format \(f) is not the supported \(SandboxJournal.formatVersion)")
            }
            journal = try JSONDecoder().decode(SandboxJournal.self, from: data)
        } catch let e as SandboxError { throw e } catch {
            throw SandboxError.journalCorrupted(p, Self.describe(decoding: error, size: data.count))
        }
        guard journal.sandbox == URL(fileURLWithPath: p).deletingPathExtension().lastPathComponent else {
            throw SandboxError.journalCorrupted(p, "it names sandbox \(journal.sandbox), not the one its file name says")
        }
        return journal
    }

    public func remove(sandbox: String) throws {
        if unlink(path(of: sandbox)) != 0 && errno != ENOENT { throw SandboxError.journalIO(path(of: sandbox), "remove", errno: errno) }
    }

    /// Every sandbox with a journal.
    public func sandboxes() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: sandboxDirectory)) ?? []
        return names.filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
    }

    static func describe(decoding error: Error, size: Int) -> String {
        switch error {
        case DecodingError.dataCorrupted(let c): return "not valid JSON (\(size) bytes; truncated?): \(c.debugDescription)"
        case DecodingError.keyNotFound(let k, _): return "missing field \(k.stringValue)"
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c):
            return "bad field \(c.codingPath.map(\.stringValue).joined(separator: ".")): \(c.debugDescription)"
        default: return "\(error)"
        }
    }

    /// Holds an exclusive flock on `name` in the state directory while `body` runs.
    func withLock<T>(_ name: String, _ body: () throws -> T) throws -> T {
        try prepare()
        let p = "\(directory)/\(name).lock"
        let fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SandboxError.journalIO(p, "open lock", errno: errno) }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR { throw SandboxError.journalIO(p, "lock", errno: errno) }
        }
        return try body()
    }
}
