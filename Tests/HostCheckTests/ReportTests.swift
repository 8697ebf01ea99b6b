import Foundation
import HostCheck
import SandnetCore
import TestSupport
import Testing

@Suite("Reports: JSON against the documented schema, the human text, the NFD feature file")
struct ReportTests {
    /// Validates with python3's jsonschema against docs/check-schema.json.
    func validate(_ report: CheckReport) throws {
        let path = NSTemporaryDirectory() + "sandnet-check-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).json"
        try report.json().write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let script = "import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))"
        let r = try TestEnvironment.run(["python3", "-c", script, path, RealKernels.repoRoot + "/docs/check-schema.json"])
        #expect(r.status == 0, "schema validation failed: \(r.stderr.suffix(800))")
        let decoded = try JSONDecoder().decode(CheckReport.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(decoded == report)
    }

    @Test("this machine's report (with live probes when root) validates against docs/check-schema.json")
    func runningReportValidates() throws {
        let report = HostCheck.run(CheckOptions(kataDefaultLookup: false))
        try validate(report)
        let text = report.text()
        #expect(text.contains("tcfilter: "))
        #expect(text.contains(report.passed ? "Result: this host can run" : "Result: this host "))
        #expect(report.exitCode == (report.passed ? 0 : 1))
    }

    @Test("a failing Debian report validates, and its text lists the exact .config lines")
    func failingReportValidates() throws {
        let d = try RealKernels.debian("arm64")
        let report = try checkDebian(d, config: try d.config.removing("NETFILTER_NETLINK"), autoload: false)
        try validate(report)
        #expect(report.text().contains("      CONFIG_NF_TABLES=m"))
        #expect(report.text().contains("modprobe xfrm_user"))
        #expect(report.exitCode == 1)
    }

    @Test("the NFD feature file: valid labels in NFD's namespace, under 64 KiB, written atomically (no dotfile left)")
    func nodeFeatureFile() throws {
        let report = HostCheck.run(CheckOptions(kataDefaultLookup: false, liveProbes: false))
        let dir = NSTemporaryDirectory() + "sandnet-nfd-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "stale=1\n".write(toFile: dir + "/sandnet", atomically: false, encoding: .utf8)
        try NodeFeatureFile.write(report, to: dir + "/sandnet")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["sandnet"])
        let text = try String(contentsOfFile: dir + "/sandnet", encoding: .utf8)
        #expect(text.utf8.count < NodeFeatureFile.maxBytes)
        let lines = text.split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(lines.contains("sandnet.feature.node.kubernetes.io/ready=\(report.passed)"))
        for m in NetworkModel.allCases {
            #expect(lines.contains { $0.hasPrefix("sandnet.feature.node.kubernetes.io/model-\(m.rawValue)=") })
        }
        for line in lines {
            let kv = line.split(separator: "=", maxSplits: 1).map(String.init)
            #expect(kv.count == 2 && NodeFeatureFile.isValidLabel(key: kv[0], value: kv[1]), "\(line)")
            #expect(kv[0].hasPrefix("sandnet.feature.node.kubernetes.io/"))
        }
    }

    @Test("label validation rejects what Kubernetes rejects")
    func labelRules() {
        #expect(NodeFeatureFile.isValidLabel(key: "sandnet.feature.node.kubernetes.io/model-tcfilter", value: "true"))
        #expect(!NodeFeatureFile.isValidLabel(key: "sandnet.feature.node.kubernetes.io/-bad", value: "true"))
        #expect(!NodeFeatureFile.isValidLabel(key: "no-namespace", value: "true"))
        #expect(!NodeFeatureFile.isValidLabel(key: "Sandnet.io/x", value: "true"))
        #expect(!NodeFeatureFile.isValidLabel(key: "sandnet.io/x", value: String(repeating: "a", count: 64)))
        #expect(!NodeFeatureFile.isValidLabel(key: "sandnet.io/x", value: "has space"))
    }
}
