import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension CheckReport {
    /// Exit code for `sandnet check`: 0 every checked model is ready, 1 one is not (something
    /// it requires is missing or unknown). (2, usage errors and unreadable input, is the CLI's.)
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
        let unassessed = " (architecture not assessed: sandnet has requirements for x86_64 and arm64 only)"
        if h.foreignKernel {
            // Never the running kernel's version: the configuration is judged as what it is.
            out.append(
                "Kernel configuration \(h.kernelConfig ?? "?"): Linux \(h.kernelRelease) for "
                    + (h.architecture.map { "\($0) (from \(h.architectureSource ?? "?"))" } ?? "an unknown architecture" + unassessed))
        } else {
            out.append(
                "Kernel \(h.kernelRelease) on \(h.machine)" + (h.architecture == nil ? unassessed : "")
                    + (h.architectureSource == "--arch" ? ", judged as \(h.architecture!.rawValue) (--arch)" : ""))
            if let c = h.kernelConfig { out.append("  configuration: \(c)") }
        }
        if let m = h.qemuMachine { out.append("  QEMU machine: \(m)") }
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
        if let k = kvm {
            out.append("KVM: \(k.verdict.rawValue.uppercased()): \(k.reason)" + (k.meaning.map { ". \($0)." } ?? ""))
            for step in k.ran { out.append("  ran: \(step)") }
        }
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
        let what = host.foreignKernel ? "this kernel configuration" : "this host"
        let unknown = models.filter(\.checked).flatMap(\.unknown)
        if passed {
            out.append("Result: \(what) can run VM sandboxes with \(checked).")
        } else if models.filter(\.checked).allSatisfy({ $0.failed.isEmpty }), !unknown.isEmpty {
            out.append(
                "Result: \(what) is not ready for \(checked): nothing could tell \(Set(unknown).sorted().joined(separator: ", ")) "
                    + "(unknown is not a pass).")
        } else {
            out.append("Result: \(what) cannot run VM sandboxes with \(checked) until the failures above are fixed.")
        }
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
