import Foundation
import HostCheck
import SandnetCore
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// NFD's rules for a local feature file, written here from its documentation and the
/// Kubernetes label rules, independently of NodeFeatureFile.isValidLabel.
enum NFDRules {
    static func matches(_ s: String, _ pattern: String) -> Bool {
        s.range(of: pattern, options: .regularExpression) != nil
    }
    static let name = "^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
    static let subdomain = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"

    /// nil: valid; else what is wrong with the line.
    static func problem(line: String) -> String? {
        if line.hasPrefix("# +") {
            let directive = line.dropFirst(3)
            guard directive.hasPrefix("expiry-time=") else { return "unknown directive" }
            let f = ISO8601DateFormatter()
            f.formatOptions = [.withInternetDateTime]
            return f.date(from: String(directive.dropFirst("expiry-time=".count))) == nil ? "expiry-time is not RFC 3339" : nil
        }
        if line.hasPrefix("#") || line.isEmpty { return nil }
        let kv = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let key = kv[0]
        let value = kv.count == 2 ? kv[1] : "true"
        let parts = key.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 else { return "no prefix/name" }
        let (prefix, name) = (parts[0], parts[1])
        if prefix.count > 253 || !matches(prefix, subdomain) { return "prefix is not a DNS subdomain" }
        if !(prefix == "feature.node.kubernetes.io" || prefix.hasSuffix(".feature.node.kubernetes.io")) {
            return "prefix outside feature.node.kubernetes.io needs -extra-label-ns"
        }
        if name.count > 63 || !matches(name, Self.name) { return "name is not a qualified name" }
        if value.count > 63 || !(value.isEmpty || matches(value, Self.name)) { return "value is not a label value" }
        return nil
    }
}

@Suite("The NFD feature file: valid per NFD's rules, expiring, written atomically")
struct NodeFeatureFileTests {
    static func tempDir() throws -> String {
        let dir = NSTemporaryDirectory() + "sandnet-nfd-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test("the rules written here reject what NFD rejects")
    func rulesCanFail() {
        #expect(NFDRules.problem(line: "sandnet.feature.node.kubernetes.io/kvm=usable") == nil)
        #expect(NFDRules.problem(line: "sandnet.feature.node.kubernetes.io/-kvm=usable") != nil)
        #expect(NFDRules.problem(line: "sandnet.example.com/kvm=usable") != nil)
        #expect(NFDRules.problem(line: "Sandnet.feature.node.kubernetes.io/kvm=x") != nil)
        #expect(NFDRules.problem(line: "sandnet.feature.node.kubernetes.io/kvm=" + String(repeating: "a", count: 64)) != nil)
        #expect(NFDRules.problem(line: "sandnet.feature.node.kubernetes.io/kvm=has space") != nil)
        #expect(NFDRules.problem(line: "# +expiry-time=tomorrow") != nil)
        #expect(NFDRules.problem(line: "# +expiry-time=2030-07-29T11:22:33Z") == nil)
    }

    @Test("this host's file (live probes when root): every line valid, expiry first and in the future, labels agree with the report")
    func hostFile() throws {
        let report = HostCheck.run(CheckOptions(kataDefaultLookup: false, models: [.tcfilter]))
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let now = Date()
        try NodeFeatureFile.write(report, to: dir + "/sandnet", lifetime: 1800, now: now)
        let text = try String(contentsOfFile: dir + "/sandnet", encoding: .utf8)
        print("NodeFeatureFileTests: this host's feature file:\n\(text)")
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        for line in lines { #expect(NFDRules.problem(line: line) == nil, "\(line): \(NFDRules.problem(line: line) ?? "")") }
        let first = try #require(lines.first)
        #expect(first == "# +expiry-time=\(NodeFeatureFile.rfc3339(now.addingTimeInterval(1800)))")
        let pairs = lines.filter { !$0.hasPrefix("#") }.map { l in
            let kv = l.split(separator: "=", maxSplits: 1).map(String.init)
            return (kv[0], kv.count == 2 ? kv[1] : "")
        }
        #expect(Set(pairs.map(\.0)).count == pairs.count, "a key twice: \(pairs.map(\.0))")
        let labels = Dictionary(pairs, uniquingKeysWith: { first, _ in first })
        let ns = NodeFeatureFile.namespace
        #expect(labels["\(ns)/ready"] == (report.passed ? "true" : "false"))
        #expect(labels["\(ns)/model-tcfilter"] == (report.model(.tcfilter).status == .pass ? "true" : "false"))
        #expect(labels["\(ns)/kvm-verdict"] == report.kvm?.verdict.rawValue ?? "unknown")
        #expect((labels["\(ns)/ready"] == "true") == (report.exitCode == 0))
    }

    @Test("an unknown requirement makes its model not ready: JSON, NFD labels and exit code agree")
    func unknownIsNotReady() throws {
        // A configuration that does not say its architecture: KVM cannot be assessed.
        let path = NSTemporaryDirectory() + "sandnet-kconfig-unknown-\(getpid())"
        let d = try RealKernels.debian("amd64")
        var values = try d.config.values
        values["X86_64"] = nil
        try KernelConfig(values: values, source: "x").text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let report = HostCheck.run(CheckOptions(kernelConfigPath: path, kataDefaultLookup: false, models: [.tcfilter]))
        let v = report.model(.tcfilter)
        #expect(v.failed.isEmpty, "nothing missing: \(v.failed)")
        #expect(v.unknown == ["kvm"])
        #expect(v.status == .unknown)
        #expect(!report.passed && report.exitCode == 1)
        let json = try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any]
        #expect(json?["passed"] as? Bool == false)
        let labels = NodeFeatureFile.labels(for: report)
        #expect(labels.contains { $0 == ("\(NodeFeatureFile.namespace)/ready", "false") })
        #expect(labels.contains { $0 == ("\(NodeFeatureFile.namespace)/model-tcfilter", "false") })
        #expect(labels.contains { $0 == ("\(NodeFeatureFile.namespace)/kvm-verdict", "unknown") })
        #expect(report.text().contains("(unknown is not a pass)"))
    }

    @Test("atomic write: a symlink at the target is replaced, not followed; one at the temporary name is not followed")
    func noSymlinkFollowing() throws {
        let report = HostCheck.run(CheckOptions(kataDefaultLookup: false, liveProbes: false))
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let victim = dir + "/victim"
        try "precious\n".write(toFile: victim, atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: dir + "/sandnet", withDestinationPath: victim)
        try FileManager.default.createSymbolicLink(atPath: dir + "/.sandnet.\(getpid()).tmp", withDestinationPath: victim)
        try NodeFeatureFile.write(report, to: dir + "/sandnet")
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious\n")
        let attributes = try FileManager.default.attributesOfItem(atPath: dir + "/sandnet")
        #expect(attributes[.type] as? FileAttributeType == .typeRegular)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["sandnet", "victim"])
    }

    @Test("a directory someone else could write to, or a symlink to one, is refused before anything is written")
    func untrustedDirectoryIsRefused() throws {
        let report = HostCheck.run(CheckOptions(kataDefaultLookup: false, liveProbes: false))
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let open = dir + "/open"
        try FileManager.default.createDirectory(atPath: open, withIntermediateDirectories: false)
        chmod(open, 0o777)
        #expect(throws: NodeFeatureError.self) { try NodeFeatureFile.write(report, to: open + "/sandnet") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: open).isEmpty)
        chmod(open, 0o755)
        try FileManager.default.createSymbolicLink(atPath: dir + "/link", withDestinationPath: open)
        #expect(throws: NodeFeatureError.self) { try NodeFeatureFile.write(report, to: dir + "/link/sandnet") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: open).isEmpty)
        try NodeFeatureFile.write(report, to: open + "/sandnet")
        #expect(try FileManager.default.contentsOfDirectory(atPath: open) == ["sandnet"])
    }
}
