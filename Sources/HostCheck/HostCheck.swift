import Foundation
import Logging
import NetlinkSocket
import SandnetCore

#if canImport(Glibc)
    import Glibc
#endif

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
