import Foundation
import Logging
import NetlinkSocket
import SandnetCore

#if canImport(Glibc)
    import Glibc
#endif

/// One kernel option as found, for one requirement.
public struct OptionFinding: Sendable, Codable, Equatable {
    /// `CONFIG_…`.
    public var option: String
    public var value: OptionValue?
    public var module: String?
    public var moduleState: ModuleState?
}

/// How one requirement fared.
public enum Status: String, Sendable, Codable {
    case pass, fail
    /// A recommended feature is missing.
    case warn
    /// Nothing could tell (no configuration, probe skipped).
    case unknown
    /// An architecture sandnet has no requirements for.
    case notAssessed = "not-assessed"
}

/// What to do about a failure.
public struct Fix: Sendable, Codable, Equatable {
    /// Lines to add to the kernel's `.config` (dependencies first), then rebuild.
    public var kernelConfig: [String]
    /// Commands that fix it without a rebuild (`modprobe …`).
    public var commands: [String]
    /// Why the lines are what they are, and anything else to know.
    public var notes: [String]

    public var isEmpty: Bool { kernelConfig.isEmpty && commands.isEmpty && notes.isEmpty }
}

public struct RequirementResult: Sendable, Codable, Equatable {
    public var id: String
    public var title: String
    public var why: String
    public var components: [Component]
    public var models: [NetworkModel]
    public var importance: Importance
    public var status: Status
    /// The finding in one sentence.
    public var summary: String
    public var options: [OptionFinding]
    public var probe: ProbeResult?
    public var fix: Fix?
}

/// What the check was told and found about the host itself.
public struct HostFacts: Sendable, Codable, Equatable {
    /// The running kernel's `uname -r`; for a configuration checked offline, the version in
    /// its header ("unknown" without one), never the running kernel's.
    public var kernelRelease: String
    /// `uname -m`, or for an offline configuration its architecture's spelling of it.
    public var machine: String
    /// nil: not an architecture sandnet assesses (or an offline configuration that does not say).
    public var architecture: Architecture?
    /// How the architecture was told: "uname -m", "--arch", "CONFIG_ARM64=y", "its header (Linux/arm64)".
    public var architectureSource: String?
    /// The QEMU machine the architecture's VMs use (`q35`, `virt`) and its PCIe root ports.
    public var qemuMachine: String?
    public var kernelConfig: String?
    public var kernelConfigError: String?
    /// The configuration checked is not the running kernel's (`--kernel-config`): no live
    /// probes, no module state.
    public var foreignKernel: Bool
    public var moduleLoading: ModuleLoading
    public var liveProbes: Bool
    public var liveProbesSkipReason: String?
}

public struct ModelVerdict: Sendable, Codable, Equatable {
    public var model: NetworkModel
    /// pass: every required requirement passes; fail: one does not; unknown: some could not be told.
    public var status: Status
    /// Whether the exit code depends on this model.
    public var checked: Bool
    public var failed: [String]
    public var warnings: [String]
    public var unknown: [String]
}

public struct CheckReport: Sendable, Codable, Equatable {
    public static let schemaVersion = 1
    public var schemaVersion: Int
    public var host: HostFacts
    public var kata: KataSettings?
    public var kataError: String?
    public var models: [ModelVerdict]
    public var requirements: [RequirementResult]
    /// Whether QEMU can use KVM here (live probes only).
    public var kvm: KVMUsability?
    /// Every checked model is ready: everything it requires is met (unknown is not met).
    public var passed: Bool
}

/// What to check, and where things are.
public struct CheckOptions: Sendable {
    /// Check this configuration instead of the running kernel's (no probes then).
    public var kernelConfigPath: String?
    public var kataConfigPath: String?
    /// Read the kata configuration from its default locations when none is given.
    public var kataDefaultLookup: Bool
    /// The models whose requirements decide the verdict; nil: the Kata configuration's model,
    /// or every model when there is none.
    public var models: [NetworkModel]?
    /// Run live probes (they need root for all but the netlink families).
    public var liveProbes: Bool
    /// Overrides for tests: release, machine, module tree root.
    public var release: String?
    public var machine: String?
    public var moduleRoot: String
    /// Whether the kernel can autoload modules, when not the running kernel's (tests).
    public var autoloadOverride: Bool?
    /// The architecture to judge for, over what the configuration (or uname) says.
    public var arch: Architecture?
    /// Also boot a real guest under `-accel kvm` (`--kvm-boot-probe`).
    public var kvmBootProbe: KVMBootProbe?

    public init(
        kernelConfigPath: String? = nil, kataConfigPath: String? = nil, kataDefaultLookup: Bool = true,
        models: [NetworkModel]? = nil, liveProbes: Bool = true, release: String? = nil, machine: String? = nil,
        moduleRoot: String = "/"
    ) {
        self.kernelConfigPath = kernelConfigPath
        self.kataConfigPath = kataConfigPath
        self.kataDefaultLookup = kataDefaultLookup
        self.models = models
        self.liveProbes = liveProbes
        self.release = release
        self.machine = machine
        self.moduleRoot = moduleRoot
    }
}

public enum HostCheck {
    /// `uname -r`, `uname -m`.
    public static func uname() -> (release: String, machine: String) {
        var u = utsname()
        Glibc.uname(&u)
        func str<T>(_ t: T) -> String { withUnsafeBytes(of: t) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) } }
        return (str(u.release), str(u.machine))
    }

    /// Runs the whole check: kernel configuration, modules, probes, runtime configuration.
    /// Which sources it used and what it decided per model are logged at `.debug`; the
    /// default logger drops them.
    public static func run(
        _ options: CheckOptions,
        logger: Logger = Logger(label: "sandnet.check", factory: { _ in SwiftLogNoOpLogHandler() })
    ) -> CheckReport {
        let u = uname()
        let release = options.release ?? u.release
        let machine = options.machine ?? u.machine
        let foreign = options.kernelConfigPath != nil && options.release == nil

        var config: KernelConfig?
        var configError: String?
        do {
            config = try options.kernelConfigPath.map(KernelConfig.load(path:)) ?? KernelConfig.loadRunning(release: release)
        } catch { configError = "\(error)" }
        // An offline configuration is judged as what it is: its own architecture and version.
        let offline = foreign ? config?.architecture : nil
        let arch = options.arch ?? (foreign ? offline?.0 : Architecture(parsing: machine))
        let archSource =
            options.arch != nil ? "--arch" : (foreign ? offline?.evidence : (Architecture(parsing: machine) != nil ? "uname -m" : nil))
        let shownRelease = foreign ? (config?.headerVersion ?? "unknown") : release
        let shownMachine = foreign ? (arch?.unameMachine ?? "unknown") : machine
        if let config { logger.debug("kernel configuration read", metadata: ["source": "\(config.source)", "release": "\(release)"]) }
        if let configError { logger.debug("no kernel configuration", metadata: ["error": "\(configError)"]) }

        let modules: ModuleIndex? =
            foreign
            ? nil
            : ModuleIndex.load(
                release: release, root: options.moduleRoot,
                running: options.moduleRoot == "/" && options.release == nil)
        let loading =
            foreign || options.moduleRoot != "/"
            ? ModuleLoading(
                supported: config?.modulesSupported ?? false, helper: nil,
                helperPresent: options.autoloadOverride ?? true, disabled: false)
            : ModuleLoading.running(config: config)
        logger.debug(
            "module tree",
            metadata: [
                "directory": "\(modules?.directory ?? "none")",
                "reason": "\(foreign ? "a foreign kernel's configuration: no module state" : modules == nil ? "not found" : "found")"
            ])

        var kata: KataSettings?
        var kataError: String?
        if let path = options.kataConfigPath ?? (options.kataDefaultLookup ? KataSettings.locate() : nil) {
            do { kata = try KataSettings.load(path: path) } catch { kataError = "\(error)" }
            logger.debug("kata configuration", metadata: ["path": "\(path)", "error": "\(kataError ?? "none")"])
        }

        if var k = kata, let arch, let m = k.machineType, m.split(separator: ",").first.map(String.init) != expectedMachine(arch) {
            k.problems.append(
                "[hypervisor.\(k.hypervisor ?? "qemu")] machine_type = \"\(m)\" is not a machine for \(arch): "
                    + "use \"\(expectedMachine(arch))\" (\(qemuMachine(for: arch)))")
            kata = k
        }
        let catalog = Requirements.catalog(arch: arch)
        let probesWanted = options.liveProbes && !foreign
        var probes: [ProbeID: ProbeResult] = [:]
        if probesWanted {
            probes = LiveProbes.run(Set(catalog.compactMap(\.probe)), bootProbe: options.kvmBootProbe)
        } else {
            logger.debug("live probes skipped", metadata: ["reason": "\(foreign ? "foreign kernel" : "turned off")"])
        }

        let evaluator = Evaluator(config: config, modules: modules, loading: loading, arch: arch, kata: kata, probes: probes)
        var results = catalog.map(evaluator.evaluate)
        if foreign, let i = results.firstIndex(where: { $0.id == "kvm" }), results[i].status == .pass {
            results[i].summary += "; whether KVM is usable on the host that boots it cannot be told from a configuration"
        }

        let checkedModels = options.models ?? kata?.model.map { [$0] } ?? NetworkModel.allCases
        logger.debug(
            "models deciding the verdict",
            metadata: [
                "models": "\(checkedModels.map(\.rawValue).joined(separator: ","))",
                "reason":
                    "\(options.models != nil ? "asked for" : kata?.model != nil ? "the Kata configuration's model" : "no model given or configured: all")"
            ])
        let verdicts = NetworkModel.allCases.map { m -> ModelVerdict in
            let mine = results.filter { $0.models.contains(m) }
            let failed = mine.filter { $0.status == .fail && $0.importance == .required }.map(\.id)
            // Unknown is not a pass: neither is a requirement nothing could assess.
            let unknown = mine.filter { ($0.status == .unknown || $0.status == .notAssessed) && $0.importance == .required }.map(\.id)
            let warnings = mine.filter { $0.status == .warn || ($0.status == .fail && $0.importance == .recommended) }.map(\.id)
            let status: Status = !failed.isEmpty ? .fail : (!unknown.isEmpty ? .unknown : .pass)
            logger.debug(
                "model verdict",
                metadata: [
                    "model": "\(m.rawValue)", "status": "\(status.rawValue)", "checked": "\(checkedModels.contains(m))",
                    "failed": "\(failed.joined(separator: ","))", "unknown": "\(unknown.joined(separator: ","))"
                ])
            return ModelVerdict(
                model: m, status: status, checked: checkedModels.contains(m), failed: failed, warnings: warnings, unknown: unknown)
        }
        let kataBroken = !(kata?.problems.isEmpty ?? true) || kataError != nil
        let passed = verdicts.filter(\.checked).allSatisfy { $0.status == .pass } && !kataBroken

        let facts = HostFacts(
            kernelRelease: shownRelease, machine: shownMachine, architecture: arch, architectureSource: archSource,
            qemuMachine: arch.map(qemuMachine(for:)), kernelConfig: config?.source,
            kernelConfigError: configError, foreignKernel: foreign, moduleLoading: loading,
            liveProbes: probesWanted,
            liveProbesSkipReason: foreign
                ? "the configuration checked is not the running kernel's"
                : (!options.liveProbes ? "live probes were turned off" : LiveProbes.rootSkipReason))
        return CheckReport(
            schemaVersion: CheckReport.schemaVersion, host: facts, kata: kata, kataError: kataError,
            models: verdicts, requirements: results, kvm: probes[.devKVM]?.kvm, passed: passed)
    }

    static func expectedMachine(_ arch: Architecture) -> String { arch == .x86_64 ? "q35" : "virt" }

    /// The machine type Kata's QEMU uses for `arch`, and where the NICs' root ports sit.
    public static func qemuMachine(for arch: Architecture) -> String {
        switch arch {
        case .x86_64: return "q35 (NICs on pcie-root-port devices on pcie.0)"
        case .arm64: return "virt (NICs on pcie-root-port devices on the generic PCIe host bridge, pcie.0)"
        }
    }
}

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
