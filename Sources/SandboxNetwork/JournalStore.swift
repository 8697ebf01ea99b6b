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
        // Byte by byte (every journal write checks it): ASCII letters, digits and "-_.".
        guard !sandbox.isEmpty, sandbox.utf8.count <= 128,
            sandbox.utf8.allSatisfy({
                switch $0 {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                    UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
                    return true
                default: return false
                }
            }), sandbox.utf8.first != UInt8(ascii: ".")
        else {
            throw SandboxError.invalidSandboxID(sandbox)
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
    public static func encode(step: JournalStep) throws -> Data { try step.directJSON ?? makeEncoder().encode(step) }

    /// The journal's JSON. With `encodedSteps` (the JSON of every step of `journal.steps`,
    /// in order) the steps are spliced in rather than encoded again: an attach rewrites the
    /// journal before each of its changes, so re-encoding every earlier step each time made
    /// the writes quadratic in the number of steps.
    public static func encode(_ journal: SandboxJournal, encodedSteps: [Data]? = nil) throws -> Data {
        // Plugged endpoints carry `"steps"` keys of their own, which the splice could hit.
        guard let encodedSteps, encodedSteps.count == journal.steps.count, let frame = try frame(of: journal) else {
            return try makeEncoder().encode(journal)
        }
        return frame.journal(encodedSteps: encodedSteps)
    }

    /// The JSON of a journal without its steps, cut where the step list goes. An attach
    /// writes the journal several times (rate shaping and the macvtap model once per step)
    /// and between most of those writes only the steps change, so its transaction keeps the frame and encodes the rest once (encoding the
    /// whole journal was most of a write's CPU time).
    struct Frame {
        let head: Data
        let tail: Data

        func journal(encodedSteps: [Data]) -> Data {
            var out = Data(capacity: head.count + tail.count + encodedSteps.reduce(encodedSteps.count + 10) { $0 + $1.count })
            out.append(head)
            out.append(contentsOf: #""steps":["#.utf8)
            for (i, step) in encodedSteps.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                out.append(step)
            }
            out.append(UInt8(ascii: "]"))
            out.append(tail)
            return out
        }
    }

    /// `journal`'s frame, or nil when the steps cannot be spliced (plugged endpoints).
    static func frame(of journal: SandboxJournal) throws -> Frame? {
        guard journal.plugged?.isEmpty ?? true else { return nil }
        var rest = journal
        rest.steps = []
        let base = try makeEncoder().encode(rest)
        // String values are escaped, so this byte sequence can only be the top-level key.
        let emptySteps = Data(#""steps":[]"#.utf8)
        guard let r = base.range(of: emptySteps) else { return nil }
        return Frame(head: Data(base[..<r.lowerBound]), tail: Data(base[r.upperBound...]))
    }

    /// Atomically replaces the sandbox's journal (`encodedSteps`: see `encode(_:encodedSteps:)`).
    public func write(_ journal: SandboxJournal, encodedSteps: [Data]? = nil) throws {
        try Self.validate(sandbox: journal.sandbox)
        try write(try Self.encode(journal, encodedSteps: encodedSteps), of: journal.sandbox)
    }

    /// Atomically replaces the sandbox's journal in `directory` (see `openForWrites()`)
    /// with `frame` around `encodedSteps`, or with the whole journal encoded when `frame`
    /// is nil. The frame must be of the journal as it stands, the steps its steps, in order.
    func write(_ journal: SandboxJournal, frame: Frame?, encodedSteps: [Data], in directory: OpenJournalDirectory) throws {
        try Self.validate(sandbox: journal.sandbox)
        let data = try frame.map { $0.journal(encodedSteps: encodedSteps) } ?? Self.encode(journal)
        try Self.replace("\(journal.sandbox).json", in: directory.directory, with: data)
    }

    private func write(_ data: Data, of sandbox: String) throws {
        guard let dir = try journalDirectory(create: true) else { throw SandboxError.stateDirectory(sandboxDirectory, errno: ENOENT) }
        try Self.replace("\(sandbox).json", in: dir, with: data)
    }

    /// `sandboxes/`, checked (made when missing) and kept open for a run of writes: an
    /// attach writes its journal several times, and walking and checking the path for each
    /// write was a fifth of a write's time. Files are opened relative to the descriptor
    /// (see `TrustedDirectory`), so every write goes into the directory that passed the
    /// checks, as with a fresh opening; a path swapped later means nothing to either.
    func openForWrites() throws -> OpenJournalDirectory {
        guard let dir = try journalDirectory(create: true) else { throw SandboxError.stateDirectory(sandboxDirectory, errno: ENOENT) }
        return OpenJournalDirectory(dir)
    }

    /// Reads a journal. A missing one is `nil`; one that is not the caller's regular 0600
    /// file throws `untrustedJournal`; an unreadable, truncated or corrupted one throws
    /// `journalCorrupted`. Nothing else happens.
    public func read(sandbox: String) throws -> SandboxJournal? {
        try Self.validate(sandbox: sandbox)
        guard let dir = try journalDirectory(create: false),
            let data = try Self.contents(of: "\(sandbox).json", in: dir)
        else { return nil }
        return try Self.decode(data, path: path(of: sandbox))
    }

    /// Reads sandbox `sandbox`'s journal only if it may be of the namespace `identity`: with
    /// the same trust checks as `read`, but decoded only when its bytes hold the namespace's
    /// inode number in decimal. A journal of that namespace always does (it records
    /// `namespaceInode` as a JSON number), so `nil` here means "not of this namespace"; an
    /// attach among many sandboxes then decodes only its own namespace's journals, where it
    /// decoded every journal of the node twice.
    public func read(sandbox: String, ifOfNamespace identity: NamespaceIdentity) throws -> SandboxJournal? {
        try Self.validate(sandbox: sandbox)
        guard let dir = try journalDirectory(create: false),
            let data = try Self.contents(of: "\(sandbox).json", in: dir)
        else { return nil }
        let digits = Array(String(identity.inode).utf8)
        guard data.withUnsafeBytes({ Self.contains($0, digits) }) else { return nil }
        return try Self.decode(data, path: path(of: sandbox))
    }

    /// The journals of every sandbox but `sandbox` that may be of the namespace `identity`
    /// (as `read(sandbox:ifOfNamespace:)` tells), in sandbox order, read through one opening
    /// of the checked directory. A journal that cannot be read or trusted is left out, as
    /// `read` would have refused it; a directory that cannot be listed throws.
    func journals(ofNamespace identity: NamespaceIdentity, except sandbox: String) throws -> [(id: String, journal: SandboxJournal)] {
        guard let dir = try journalDirectory(create: false) else { return [] }
        let digits = Array(String(identity.inode).utf8)
        var out: [(id: String, journal: SandboxJournal)] = []
        for id in try Self.names(in: dir).filter({ $0.hasSuffix(".json") }).map({ String($0.dropLast(5)) }).sorted() where id != sandbox {
            guard (try? Self.validate(sandbox: id)) != nil, let data = try? Self.contents(of: "\(id).json", in: dir),
                data.withUnsafeBytes({ Self.contains($0, digits) }), let j = try? Self.decode(data, path: path(of: id))
            else { continue }
            out.append((id: id, journal: j))
        }
        return out
    }

    static func contains(_ haystack: UnsafeRawBufferPointer, _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return needle.isEmpty }
        let first = needle[0]
        var i = 0
        let last = haystack.count - needle.count
        while i <= last {
            if haystack[i] == first {
                var j = 1
                while j < needle.count, haystack[i + j] == needle[j] { j += 1 }
                if j == needle.count { return true }
            }
            i += 1
        }
        return false
    }

    /// Decodes the journal file at `p` for inspection, with none of the state directory's
    /// checks (nothing is undone from it).
    public func read(path p: String) throws -> SandboxJournal {
        guard let data = try JournalFile.contents(p) else { throw SandboxError.journalIO(p, "read", errno: ENOENT) }
        return try Self.decode(data, path: p)
    }

    static func decode(_ data: Data, path p: String) throws -> SandboxJournal {
        struct Format: Decodable { var format: Int }
        let journal: SandboxJournal
        do {
            let f = try JSONDecoder().decode(Format.self, from: data).format
            guard SandboxJournal.readableFormats.contains(f) else {
                throw SandboxError.journalCorrupted(
                    p, "format \(f) is not one of the supported \(SandboxJournal.readableFormats.map(String.init).joined(separator: ", "))")
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
        try Self.validate(sandbox: sandbox)
        guard let dir = try journalDirectory(create: false) else { return }
        if unlinkat(dir.fd, "\(sandbox).json", 0) != 0 && errno != ENOENT {
            throw SandboxError.journalIO(path(of: sandbox), "remove", errno: errno)
        }
    }

    /// Every sandbox with a journal; throws when the state cannot be read (or trusted).
    public func listSandboxes() throws -> [String] {
        guard let dir = try journalDirectory(create: false) else { return [] }
        return try Self.names(in: dir).filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
    }

    /// Every sandbox with a journal; none when the state cannot be read (`listSandboxes` says why).
    public func sandboxes() -> [String] { (try? listSandboxes()) ?? [] }

    static func describe(decoding error: Error, size: Int) -> String {
        switch error {
        case DecodingError.dataCorrupted(let c): return "not valid JSON (\(size) bytes; truncated?): \(c.debugDescription)"
        case DecodingError.keyNotFound(let k, _): return "missing field \(k.stringValue)"
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c):
            return "bad field \(c.codingPath.map(\.stringValue).joined(separator: ".")): \(c.debugDescription)"
        default: return "\(error)"
        }
    }

    /// Holds an exclusive flock on `name` in the state directory while `body` runs,
    /// waiting at most `limit` for it (forever when nil); `sandbox` names who is waited
    /// for in the `busy` error.
    func withLock<T>(_ name: String, waiting limit: Duration? = nil, sandbox: String? = nil, _ body: () throws -> T) throws -> T {
        guard let dir = try stateDirectory(create: true) else { throw SandboxError.stateDirectory(directory, errno: ENOENT) }
        switch try LockFile.acquire("\(name).lock", in: dir, waiting: limit) {
        case .busy(let holder):
            throw SandboxError.busy(sandbox: sandbox ?? name, lock: "\(directory)/\(name).lock", holder: holder, waited: limit ?? .zero)
        case .locked(let lock):
            let result = Result { try body() }
            lock.release()
            return try result.get()
        }
    }
}

/// A checked journal directory held open by one transaction (`JournalStore.openForWrites()`).
final class OpenJournalDirectory {
    let directory: TrustedDirectory
    init(_ directory: consuming TrustedDirectory) { self.directory = directory }
}
