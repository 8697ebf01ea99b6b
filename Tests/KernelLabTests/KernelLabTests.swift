import Foundation
import KernelConformance
import TestSupport
import Testing

/// The kernel lab: every check of ConformanceCatalog (the bodies of the host tests that skip
/// for a missing kernel feature) run inside the Debian cloud x86_64 guest, each reported as
/// its own test here, then the feature x kernel matrix.
@Suite("Kernel lab: the checks the host kernel may lack, in the Debian 6.1 cloud guest", .serialized)
struct KernelLabTests {
    @Test(
        "lab check", .enabled(if: LabGuest.skipReason == nil, "the lab guest cannot run here (the reason is printed above)"),
        arguments: ConformanceCatalog.names)
    func labCheck(_ name: String) throws {
        let check = try #require(ConformanceCatalog.named(name))
        let results: [String: ConformanceResult]
        switch LabGuest.outcome {
        case .ran(let r, _, let kernel):
            results = r
            if let r = r[name] { print("lab check \(name): \(r.outcome.rawValue) on kernel \(kernel)") }
        case .broken(let why):
            Issue.record("the lab did not run: \(why)")
            return
        case .unavailable: return
        }
        let r = try #require(results[name], "the lab printed no result for \(name)")
        if let problem = Self.problem(r, hostHasIt: check.available(), listedAsNeither: NeitherKernel.checks[name] != nil) {
            Issue.record(Comment(rawValue: problem))
        }
    }

    /// What is wrong with a lab result, or nil: a failure, or a skip of a check the host skips
    /// too (tested nowhere) that NeitherKernel does not list.
    static func problem(_ r: ConformanceResult, hostHasIt: Bool, listedAsNeither: Bool) -> String? {
        switch r.outcome {
        case .pass: return nil
        case .fail: return "lab check \(r.name) failed in the Debian cloud kernel: \(r.message ?? "")"
        case .skip:
            if hostHasIt || listedAsNeither { return nil }
            return "lab check \(r.name) skips on the host and in the lab (\(r.message ?? "")), and is not in NeitherKernel"
        }
    }

    @Test("feature x kernel matrix", .enabled(if: LabGuest.skipReason == nil, "the lab guest cannot run here"))
    func matrix() throws {
        guard case .ran(let lab, let seconds, let labKernel) = LabGuest.outcome else {
            Issue.record("the lab did not run")
            return
        }
        // The host column: the same checks, run here (or skipped, as the host suites skip them).
        let host = Dictionary(uniqueKeysWithValues: ConformanceCatalog.all.map { ($0.name, ConformanceResult.run($0)) })
        let kernel =
            (try? String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
        let table = FeatureMatrix.render(host: host, lab: lab, hostKernel: kernel, labKernel: labKernel, labSeconds: seconds)
        print(table)
        let path = ProcessInfo.processInfo.environment["SANDNET_LAB_MATRIX"] ?? "/tmp/sandnet-kernel-lab-matrix.md"
        try? table.write(toFile: path, atomically: true, encoding: .utf8)
        for (name, r) in host where r.outcome == .fail { Issue.record("check \(name) failed on the host kernel: \(r.message ?? "")") }
    }
}
