import KernelConformance

/// The feature x kernel table: one row per feature, pass/skip/fail per kernel (a feature
/// passes when all its checks pass, fails when any fails, skips when all skip).
enum FeatureMatrix {
    static func render(
        host: [String: ConformanceResult], lab: [String: ConformanceResult], hostKernel: String, labKernel: String = "?", labSeconds: Double
    )
        -> String
    {
        var features: [String] = []
        for c in ConformanceCatalog.all where !features.contains(c.feature) { features.append(c.feature) }
        func verdict(_ feature: String, _ results: [String: ConformanceResult]) -> String {
            let mine = ConformanceCatalog.all.filter { $0.feature == feature }.map { results[$0.name]?.outcome }
            if mine.contains(where: { $0 == nil }) { return "missing" }
            if mine.contains(.fail) { return "FAIL" }
            if mine.allSatisfy({ $0 == .skip }) { return "skip" }
            if mine.allSatisfy({ $0 == .pass }) { return "pass" }
            return "pass (some skip)"
        }
        let counts = { (f: String) in ConformanceCatalog.all.filter { $0.feature == f }.count }
        var lines = [
            "Kernel lab: feature x kernel (host \(hostKernel); lab \(labKernel), Debian 6.1 cloud amd64 under TCG, \(Int(labSeconds)) s)",
            "",
            "| feature | checks | host kernel | lab kernel |",
            "|---|---|---|---|"
        ]
        for f in features { lines.append("| \(f) | \(counts(f)) | \(verdict(f, host)) | \(verdict(f, lab)) |") }
        return lines.joined(separator: "\n") + "\n"
    }
}
