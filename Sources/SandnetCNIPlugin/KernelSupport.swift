import HostCheck
import SandnetCore

/// Turns a failed ADD on a kernel that lacks what the model needs into the words of
/// `sandnet check`: the requirement's title, why the model needs it, and the kernel option.
public enum KernelSupport {
    /// The requirements of `model` that sandnet itself needs and a live probe can test.
    static func requirements(for model: NetworkModel) -> [Requirement] {
        Requirements.catalog(arch: Architecture(parsing: HostCheck.uname().machine)).filter {
            $0.models.contains(model) && $0.components.contains(.sandnet) && $0.importance == .required && $0.probe != nil
        }
    }

    /// Runs the model's probes (root only: a throwaway namespace) and explains the failure.
    static func diagnose(model: NetworkModel, cause: String) -> CNIFailure? {
        let probes = Set(requirements(for: model).compactMap(\.probe))
        return failure(model: model, probes: LiveProbes.run(probes), cause: cause)
    }

    /// The error for probe results in which a requirement of `model` failed; nil when none did.
    public static func failure(model: NetworkModel, probes: [ProbeID: ProbeResult], cause: String) -> CNIFailure? {
        let missing = requirements(for: model).filter { r in r.probe.map { probes[$0]?.outcome == .failed } ?? false }
        guard !missing.isEmpty else { return nil }
        let words = missing.map { r -> String in
            let options = r.options.map { group in group.map { "CONFIG_\($0)" }.joined(separator: " or ") }.joined(separator: " and ")
            let probe = r.probe.flatMap { probes[$0] }
            let failed = probe.map { " (\($0.operation) failed\($0.errnoName.map { ": \($0)" } ?? ""))" } ?? ""
            return "\(r.title)\(failed): \(r.why)" + (options.isEmpty ? "" : "; enable \(options)")
        }
        return CNIFailure(
            .kernelLacksFeature,
            "this kernel lacks what the \(model.rawValue) model needs: \(words.joined(separator: "; ")). Run sandnet check for the full report",
            details: cause)
    }
}
