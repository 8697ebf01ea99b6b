import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension CheckReport {
    /// Exit code for `sandnet check`: 0 everything required passes, 1 something fails.
    /// (2, usage errors, is the CLI's.)
    public var exitCode: Int32 { passed ? 0 : 1 }

    /// JSON as documented in docs/check-schema.json.
    public func json() throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try e.encode(self), as: UTF8.self)
    }

    /// The human report: host facts, then per model what fails with its fix.
    public func text() -> String {
        var out: [String] = []
        let h = host
        out.append(
            "Kernel \(h.kernelRelease) on \(h.machine)"
                + (h.architecture == nil ? " (architecture not assessed: sandnet has requirements for x86_64 and arm64 only)" : ""))
        if let c = h.kernelConfig { out.append("  configuration: \(c)") }
        if let e = h.kernelConfigError { out.append("  configuration: \(e)") }
        if !h.foreignKernel {
            out.append(
                "  modules: "
                    + (h.moduleLoading.supported
                        ? (h.moduleLoading.autoloadPossible
                            ? "loadable, on demand"
                            : "loadable, but not on demand"
                                + (h.moduleLoading.disabled
                                    ? " (modules_disabled=1)" : " (no module helper \(h.moduleLoading.helper ?? ""))"))
                        : "this kernel cannot load modules (CONFIG_MODULES is off)"))
        }
        out.append("  live probes: " + (h.liveProbes ? "yes" : "no") + (h.liveProbesSkipReason.map { " (\($0))" } ?? ""))
        if let k = kata {
            out.append(
                "Kata configuration \(k.path): model \(k.internetworkingModel ?? "tcfilter (default)")"
                    + (k.machineType.map { ", machine \($0)" } ?? "") + (k.disableVhostNet ? ", vhost-net disabled" : "")
                    + (k.pcieRootPort.map { ", \($0) PCIe root ports" } ?? "") + (k.disableNewNetns ? ", disable_new_netns" : ""))
            for p in k.problems { out.append("  ✗ \(p)") }
        } else if let e = kataError {
            out.append("Kata configuration: \(e)")
        }
        for v in models {
            out.append("")
            let mark = v.status == .pass ? "PASS" : (v.status == .fail ? "FAIL" : "UNKNOWN")
            out.append("\(v.model.rawValue): \(mark)" + (v.checked ? "" : "   (not the configured model: does not change the exit code)"))
            for r in requirements where r.models.contains(v.model) {
                out.append("  \(symbol(r.status)) \(r.title) [\(r.components.map(\.rawValue).joined(separator: ", "))]: \(r.summary)")
            }
        }
        let failing = requirements.filter { $0.fix != nil }
        if !failing.isEmpty {
            out.append("")
            out.append("Fixes:")
            for r in failing {
                guard let f = r.fix else { continue }
                out.append("  \(r.title) (needed by \(r.components.map(\.rawValue).joined(separator: ", ")): \(r.why))")
                if !f.commands.isEmpty {
                    out.append("    without a rebuild:")
                    for c in f.commands { out.append("      \(c)") }
                }
                if !f.kernelConfig.isEmpty {
                    out.append("    kernel configuration (then rebuild and boot the kernel):")
                    for l in f.kernelConfig { out.append("      \(l)") }
                }
                for n in f.notes { out.append("    note: \(n)") }
            }
        }
        out.append("")
        let checked = models.filter(\.checked).map(\.model.rawValue).joined(separator: ", ")
        out.append(
            passed
                ? "Result: this host can run VM sandboxes with \(checked)."
                : "Result: this host cannot run VM sandboxes with \(checked) until the failures above are fixed.")
        return out.joined(separator: "\n") + "\n"
    }

    func symbol(_ s: Status) -> String {
        switch s {
        case .pass: return "✓"
        case .fail: return "✗"
        case .warn: return "!"
        case .unknown: return "?"
        case .notAssessed: return "-"
        }
    }
}

// MARK: - Node Feature Discovery

/// A Node Feature Discovery local-source feature file: `name=value` lines that nfd-worker
/// turns into node labels, so pods that need VM sandboxes are scheduled only onto nodes
/// that pass.
public enum NodeFeatureFile {
    /// A sub-namespace of feature.node.kubernetes.io: nfd-master accepts it without
    /// `-extra-label-ns`.
    public static let namespace = "sandnet.feature.node.kubernetes.io"
    /// Where nfd-worker's local source reads feature files.
    public static let defaultDirectory = "/etc/kubernetes/node-feature-discovery/features.d"
    /// nfd-worker ignores a larger file.
    public static let maxBytes = 64 * 1024

    /// The labels for a report: one per model, one per requirement, and an overall one.
    public static func labels(for report: CheckReport) -> [(String, String)] {
        var labels: [(String, String)] = [("\(namespace)/ready", report.passed ? "true" : "false")]
        for v in report.models { labels.append(("\(namespace)/model-\(v.model.rawValue)", v.status == .pass ? "true" : "false")) }
        for r in report.requirements where r.status != .notAssessed && r.status != .unknown {
            labels.append(("\(namespace)/\(r.id)", r.status == .pass ? "true" : "false"))
        }
        if let a = report.host.architecture { labels.append(("\(namespace)/arch", a.rawValue)) }
        return labels
    }

    /// The file's text.
    public static func render(_ report: CheckReport) -> String {
        var lines = ["# Written by `sandnet check --nfd`; rewritten on every run. Do not edit."]
        for (k, v) in labels(for: report) { lines.append("\(k)=\(v)") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Kubernetes label rules: name part ≤ 63 characters of [A-Za-z0-9_.-] starting and
    /// ending alphanumeric; prefix a DNS subdomain ≤ 253; value ≤ 63, same characters, may be empty.
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
    /// dotfiles), fsync, then rename over the target.
    public static func write(_ report: CheckReport, to path: String) throws {
        let text = render(report)
        for (k, v) in labels(for: report) where !isValidLabel(key: k, value: v) {
            throw NodeFeatureError.invalidLabel("\(k)=\(v)")
        }
        guard text.utf8.count < maxBytes else { throw NodeFeatureError.tooLarge(text.utf8.count) }
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        let temp = "\(dir)/.\(url.lastPathComponent).\(getpid()).tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw NodeFeatureError.io("create \(temp)", errno) }
        var ok = true
        text.utf8CString.withUnsafeBufferPointer { buf in
            let n = buf.count - 1 // without the NUL
            ok = Glibc.write(fd, buf.baseAddress, n) == n && fsync(fd) == 0
        }
        let e = errno
        close(fd)
        guard ok else {
            unlink(temp)
            throw NodeFeatureError.io("write \(temp)", e)
        }
        guard rename(temp, path) == 0 else {
            let e = errno
            unlink(temp)
            throw NodeFeatureError.io("rename \(temp) to \(path)", e)
        }
    }
}

public enum NodeFeatureError: Error, CustomStringConvertible {
    case invalidLabel(String)
    case tooLarge(Int)
    case io(String, Int32)
    public var description: String {
        switch self {
        case .invalidLabel(let l): return "internal error: \(l) is not a valid Kubernetes label"
        case .tooLarge(let n): return "the feature file would be \(n) bytes; nfd-worker ignores files of 64 KiB or more"
        case .io(let op, let e): return "\(op) failed: \(String(cString: strerror(e)))"
        }
    }
}

extension Character {
    var isASCIIAlnum: Bool { isASCII && (isLetter || isNumber) }
    var isLowercaseAlnum: Bool { isASCII && (isLowercase || isNumber) }
}
