import Foundation
import SandnetCore

/// Turns configuration, module state and probe results into a verdict and a fix.
struct Evaluator {
    let config: KernelConfig?
    let modules: ModuleIndex?
    let loading: ModuleLoading
    let arch: Architecture?
    let kata: KataSettings?
    let probes: [ProbeID: ProbeResult]

    func evaluate(_ r: Requirement) -> RequirementResult {
        var result = RequirementResult(
            id: r.id, title: r.title, why: r.why, components: r.components,
            models: NetworkModel.allCases.filter(r.models.contains), importance: r.importance,
            status: .unknown, summary: "", options: [], probe: r.probe.flatMap { probes[$0] }, fix: nil)
        if r.id == "vhost-net", kata?.disableVhostNet == true {
            result.importance = .recommended
        }
        if arch == nil && r.id == "kvm" {
            result.status = .notAssessed
            result.summary = "not assessed: sandnet has no requirements for this architecture"
            return result
        }

        // What the configuration says, group by group.
        var configVerdict: Status? = nil
        var fix = Fix(kernelConfig: [], commands: [], notes: [])
        if let config {
            var allHold = true
            for group in r.options {
                let findings = group.map(finding)
                result.options += findings
                if findings.contains(where: holds) { continue }
                allHold = false
                addFix(for: findings, group: group, config: config, to: &fix)
            }
            configVerdict = allHold ? .pass : .fail
        }

        let probe = result.probe
        switch (probe?.outcome, configVerdict) {
        case (.passed?, _):
            result.status = .pass
            result.summary = "works: \(probe!.operation) succeeded"
        case (.failed?, _):
            result.status = .fail
            var s = "\(probe!.operation) failed"
            if let e = probe!.errnoName { s += ": \(e)" }
            if let k = probe!.kernelMessage { s += " (kernel: \(k))" }
            if let d = probe!.detail { s += "; \(d)" }
            // The configuration names the cause the probe can only point at (a module on
            // disk the kernel cannot load on demand, an option not set).
            if configVerdict == .fail { s += "; " + result.options.filter { !holds($0) }.map(describe).joined(separator: ", ") }
            result.summary = s
            if fix.isEmpty { addProbeFix(r, probe!, to: &fix) }
        case (_, .pass?):
            result.status = .pass
            result.summary = "configured: " + result.options.filter(holds).map(describe).joined(separator: ", ")
            if let p = probe, p.outcome == .skipped { result.summary += " (not tried: \(p.detail ?? "skipped"))" }
        case (_, .fail?):
            result.status = .fail
            result.summary = "missing: " + result.options.filter { !holds($0) }.map(describe).joined(separator: ", ")
        default:
            result.status = r.options.isEmpty && probe == nil ? .pass : .unknown
            result.summary = r.options.isEmpty ? "always present in Linux" : "no kernel configuration to tell from"
            if let p = probe, p.outcome == .skipped { result.summary += "; not tried: \(p.detail ?? "skipped")" }
        }
        if r.options.isEmpty, probe == nil, config != nil {
            result.status = .pass
            result.summary = "always present in Linux"
        }
        if let k = probe?.kvm {
            // Opening /dev/kvm is not the verdict: what the guest code did is.
            result.summary = "\(k.verdict.rawValue): \(k.reason)"
            if k.verdict == .unknown { result.status = .unknown }
            if k.verdict == .unusable {
                fix.notes.append(KVMUsability.consequence)
                fix.notes.append(
                    "for KVM, run the node on bare metal or in a VM whose hypervisor exposes VT-x/AMD-V (nested virtualization)"
                        + (k.vendorModule == "kvm_pvm" ? "; kvm_pvm runs only PVM-enabled guest kernels at speed" : ""))
            }
        }
        if result.status == .fail && result.importance == .recommended { result.status = .warn }
        if result.status != .pass, !fix.isEmpty { result.fix = fix }
        return result
    }

    func finding(_ option: String) -> OptionFinding {
        let value = config?[option]
        let module = Kconfig.symbol(option, arch: arch)?.module
        var state: ModuleState? = nil
        if let module, let modules, value == .module { state = modules.state(of: module) }
        return OptionFinding(option: "CONFIG_\(option)", value: value, module: value == .module ? module : nil, moduleState: state)
    }

    /// y always holds; m holds when the module is loaded, or can be loaded (its file is
    /// there and the kernel loads modules), or nothing is known about the module tree.
    func holds(_ f: OptionFinding) -> Bool {
        switch f.value {
        case .builtIn?: return true
        case .module?:
            guard loading.supported else { return false }
            switch f.moduleState {
            case .builtIn?, .loaded?: return true
            case .onDisk?: return loading.autoloadPossible
            case .missing?: return !(modules?.treePresent ?? false)
            case nil: return true
            }
        default: return false
        }
    }
    func describe(_ f: OptionFinding) -> String {
        var s = "\(f.option)=\(f.value?.rawValue ?? "?")"
        if let m = f.module, let st = f.moduleState {
            switch st {
            case .builtIn: s += " (\(m) built in)"
            case .loaded: s += " (\(m) loaded)"
            case .onDisk: s += " (\(m) not loaded" + (loading.autoloadPossible ? ", loads on demand)" : ", and cannot load on demand)")
            case .missing: s += " (\(m).ko not found in \(modules?.directory ?? "/lib/modules"))"
            }
        }
        return s
    }

    func addFix(for findings: [OptionFinding], group: [String], config: KernelConfig, to fix: inout Fix) {
        let first = findings[0]
        if first.value == .module, let m = first.module {
            switch first.moduleState {
            case .onDisk?:
                fix.commands.append("modprobe \(m)")
                fix.commands.append("echo \(m) > /etc/modules-load.d/\(m).conf   # load it at every boot")
                if !loading.autoloadPossible {
                    let why =
                        loading.disabled
                        ? "/proc/sys/kernel/modules_disabled is 1"
                        : "the kernel's module helper \(loading.helper.map { "(\($0))" } ?? "") is missing"
                    fix.notes.append("\(m) is on disk but the kernel cannot load it on demand: \(why)")
                }
                return
            case .missing?:
                fix.notes.append(
                    "CONFIG_\(group[0])=m but \(m).ko is not in \(modules?.directory ?? "/lib/modules"): "
                        + "reinstall the kernel's modules package (linux-image-\(modules?.release ?? "RELEASE"))")
                return
            default: break
            }
        }
        let k = Kconfig.fix(enabling: group[0], in: config, arch: arch)
        fix.kernelConfig += k.lines.filter { !fix.kernelConfig.contains($0) }
        fix.notes += k.notes.filter { !fix.notes.contains($0) }
        if group.count > 1 {
            fix.notes.append("any one of \(group.map { "CONFIG_\($0)" }.joined(separator: ", ")) will do; pick the one for this CPU")
        }
    }

    /// A probe failed although the configuration looks right (or there is none).
    func addProbeFix(_ r: Requirement, _ p: ProbeResult, to fix: inout Fix) {
        if let node = r.deviceNode, p.errno == ENOENT {
            let module = r.options.first.flatMap { Kconfig.symbol($0[0], arch: arch)?.module }
            if let module { fix.commands.append("modprobe \(module)   # creates \(node) through its devname alias") }
            fix.notes.append("if the driver is built in, \(node) is created by udev or devtmpfs: check that /dev is a devtmpfs mount")
        } else if p.errno == EACCES || p.errno == EPERM {
            fix.notes.append("run the runtime (and sandnet check) as root, or give its user access to \(r.deviceNode ?? "the device")")
        } else if let c = p.culprit {
            fix.notes.append("the kernel lacks \(c)")
        }
    }
}
