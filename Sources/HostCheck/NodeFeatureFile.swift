import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A Node Feature Discovery local-source feature file: `name=value` lines that nfd-worker
/// turns into node labels, so pods that need VM sandboxes are scheduled only onto nodes
/// that are ready. It starts with an `# +expiry-time=` directive: nfd-worker ignores the
/// labels after that time, so a node whose check stopped running loses them.
public enum NodeFeatureFile {
    /// A sub-namespace of feature.node.kubernetes.io: nfd-master accepts it without
    /// `-extra-label-ns`.
    public static let namespace = "sandnet.feature.node.kubernetes.io"
    /// Where nfd-worker's local source reads feature files.
    public static let defaultDirectory = "/etc/kubernetes/node-feature-discovery/features.d"
    /// nfd-worker ignores a larger file.
    public static let maxBytes = 64 * 1024
    /// How long the labels hold by default: three runs of deploy/'s DaemonSet (every 10 minutes).
    public static let defaultLifetime: TimeInterval = 30 * 60

    /// The labels for a report: readiness overall and per model (true only when everything
    /// the model needs is met), KVM's verdict, the architecture, and one per requirement
    /// (true, false or unknown).
    public static func labels(for report: CheckReport) -> [(String, String)] {
        var labels: [(String, String)] = [("\(namespace)/ready", report.passed ? "true" : "false")]
        for v in report.models { labels.append(("\(namespace)/model-\(v.model.rawValue)", v.status == .pass ? "true" : "false")) }
        labels.append(("\(namespace)/kvm-verdict", report.kvm?.verdict.rawValue ?? "unknown"))
        for r in report.requirements {
            let value: String
            switch r.status {
            case .pass: value = "true"
            case .fail, .warn: value = "false"
            case .unknown, .notAssessed: value = "unknown"
            }
            labels.append(("\(namespace)/\(r.id)", value))
        }
        labels.append(("\(namespace)/arch", report.host.architecture?.rawValue ?? "unknown"))
        return labels
    }

    /// RFC 3339 in UTC, as nfd-worker parses it (Go's time.RFC3339).
    public static func rfc3339(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: date)
    }

    /// The file's text: the expiry directive first, so it covers every label.
    public static func render(_ report: CheckReport, expires: Date) -> String {
        var lines = [
            "# +expiry-time=\(rfc3339(expires))",
            "# Written by `sandnet check --nfd`; rewritten on every run. Do not edit."
        ]
        for (k, v) in labels(for: report) { lines.append("\(k)=\(v)") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Kubernetes label rules (NFD validates against them): a prefix that is a DNS
    /// subdomain of at most 253 characters, a name of at most 63 characters of
    /// [A-Za-z0-9_.-] starting and ending alphanumeric; a value of the same form, or empty.
    public static func isValidLabel(key: String, value: String) -> Bool {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return false }
        let prefix = parts[0]
        let name = parts[1]
        guard prefix.count <= 253, !prefix.isEmpty,
            prefix.split(separator: ".", omittingEmptySubsequences: false).allSatisfy({ l in
                !l.isEmpty && l.count <= 63 && l.first!.isLowercaseAlnum && l.last!.isLowercaseAlnum
                    && l.allSatisfy { $0.isLowercaseAlnum || $0 == "-" }
            })
        else { return false }
        func nameLike(_ s: Substring, allowEmpty: Bool) -> Bool {
            if s.isEmpty { return allowEmpty }
            return s.count <= 63 && s.first!.isASCIIAlnum && s.last!.isASCIIAlnum
                && s.allSatisfy { $0.isASCIIAlnum || $0 == "-" || $0 == "_" || $0 == "." }
        }
        return nameLike(name, allowEmpty: false) && nameLike(Substring(value), allowEmpty: true)
    }

    /// Writes the file atomically: a dotfile in the same directory (nfd-worker skips
    /// dotfiles), created with O_EXCL|O_NOFOLLOW relative to the directory, fsync, rename
    /// over the target (which replaces a symlink there rather than following it), then
    /// fsync the directory.
    public static func write(_ report: CheckReport, to path: String, lifetime: TimeInterval = defaultLifetime, now: Date = Date())
        throws
    {
        let text = render(report, expires: now.addingTimeInterval(lifetime))
        var seen: Set<String> = []
        for (k, v) in labels(for: report) where !isValidLabel(key: k, value: v) || !seen.insert(k).inserted {
            throw NodeFeatureError.invalidLabel("\(k)=\(v)")
        }
        guard text.utf8.count < maxBytes else { throw NodeFeatureError.tooLarge(text.utf8.count) }
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        let name = url.lastPathComponent
        let temp = ".\(name).\(getpid()).tmp"
        // Root writes here: the directory itself is not followed through a symlink, and it
        // must be the caller's and writable by nobody else, or another user could swap the file.
        let dirFD = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard dirFD >= 0 else { throw NodeFeatureError.io("open directory \(dir)", errno) }
        defer { close(dirFD) }
        var st = stat()
        guard fstat(dirFD, &st) == 0 else { throw NodeFeatureError.io("fstat directory \(dir)", errno) }
        if st.st_uid != geteuid() {
            throw NodeFeatureError.untrustedDirectory(dir, "it is owned by uid \(st.st_uid), not by this user (uid \(geteuid()))")
        }
        if st.st_mode & (S_IWGRP | S_IWOTH) != 0 {
            let mode = String(st.st_mode & 0o7777, radix: 8)
            throw NodeFeatureError.untrustedDirectory(dir, "group or others may write to it (mode \(mode))")
        }
        unlinkat(dirFD, temp, 0) // a leftover of a run that died with this pid
        let fd = openat(dirFD, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw NodeFeatureError.io("create \(dir)/\(temp)", errno) }
        var ok = true
        let bytes = Array(text.utf8)
        ok = bytes.withUnsafeBufferPointer { Glibc.write(fd, $0.baseAddress, $0.count) == $0.count } && fsync(fd) == 0
        let e = errno
        close(fd)
        guard ok else {
            unlinkat(dirFD, temp, 0)
            throw NodeFeatureError.io("write \(dir)/\(temp)", e)
        }
        guard renameat(dirFD, temp, dirFD, name) == 0 else {
            let e = errno
            unlinkat(dirFD, temp, 0)
            throw NodeFeatureError.io("rename \(dir)/\(temp) to \(path)", e)
        }
        fsync(dirFD)
    }
}

public enum NodeFeatureError: Error, CustomStringConvertible {
    case invalidLabel(String)
    case tooLarge(Int)
    case io(String, Int32)
    case untrustedDirectory(String, String)
    public var description: String {
        switch self {
        case .invalidLabel(let l): return "internal error: \(l) is not a valid Kubernetes label, or its key is there twice"
        case .tooLarge(let n): return "the feature file would be \(n) bytes; nfd-worker ignores files of 64 KiB or more"
        case .io(let op, let e): return "\(op) failed: \(String(cString: strerror(e)))"
        case .untrustedDirectory(let dir, let why):
            return "refusing to write the feature file into \(dir): \(why); fix: chown root \(dir) && chmod go-w \(dir)"
        }
    }
}

extension Character {
    var isASCIIAlnum: Bool { isASCII && (isLetter || isNumber) }
    var isLowercaseAlnum: Bool { isASCII && (isLowercase || isNumber) }
}
