import ArgumentParser
import Foundation
import HostCheck
import Logging
import SandnetCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Set by SIGTERM and SIGINT while `check --every` loops (a C signal handler can only reach globals).
private let checkStopRequested = Atomic<Bool>(false)

/// `sandnet check`: can this host run VM sandboxes, and if not, what exactly to fix.
struct CheckCommand: ParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check the kernel, modules, device nodes and Kata configuration for VM sandboxes.",
        discussion: """
            Exit status: 0 when every checked model is ready (everything it requires is met), 1 when something is missing \
            or could not be told (unknown is not a pass), 2 for usage errors and a --kernel-config that cannot be read or is \
            not a kernel configuration.
            Run as root for the live probes (throwaway namespace, device nodes, a throwaway KVM guest); netlink families are \
            probed as any user. A --kernel-config is judged for its own architecture and version (its header, CONFIG_ARM64 \
            or CONFIG_X86_64), or for --arch.
            """)

    @Option(help: "Check this kernel configuration (.config or config.gz) instead of the running kernel's; no live probes then.")
    var kernelConfig: String?

    @Option(
        help:
            "Kata configuration.toml (default: /etc/kata-containers/configuration.toml, then /usr/share/defaults/kata-containers/configuration.toml)."
    )
    var kataConfig: String?

    @Option(
        name: .customLong("model"),
        help:
            "A model whose requirements decide the exit status (tcfilter, macvtap, none); repeatable. Default: the Kata configuration's model, or all."
    )
    var models: [String] = []

    @Option(help: "Judge for this architecture (x86_64, arm64) instead of the configuration's or this machine's.")
    var arch: String?

    @Flag(help: "Skip the live probes; judge from the configuration and module tree only.")
    var noProbes = false

    @Flag(
        help:
            "Also boot a small Linux guest under qemu-system-ARCH -accel kvm (bounded by --kvm-boot-timeout) to tell whether KVM runs a whole guest."
    )
    var kvmBootProbe = false

    @Option(help: "The guest image for --kvm-boot-probe: a directory with vmlinuz and initrd.img (default /var/cache/sandnet/guest/ARCH).")
    var kvmBootImage: String?

    @Option(help: "Seconds --kvm-boot-probe waits for the guest to reach user space.")
    var kvmBootTimeout: Double = 60

    @Flag(help: "Print JSON (schema: docs/check-schema.json).")
    var json = false

    @Option(help: "Also write a Node Feature Discovery feature file here (e.g. /etc/kubernetes/node-feature-discovery/features.d/sandnet).")
    var nfd: String?

    @Option(help: "Seconds until the feature file's labels expire (# +expiry-time), unless a later run rewrites it.")
    var nfdLifetime: Double = NodeFeatureFile.defaultLifetime

    @Option(
        help:
            "Run the check again every this many seconds, forever, rewriting --nfd each time and printing one line per run (a DaemonSet's loop)."
    )
    var every: Double?

    @OptionGroup var log: LogOptions
    var logSettings: LogSettings { log.settings }

    func validate() throws {
        for m in models where NetworkModel(rawValue: m) == nil {
            throw ValidationError("unknown model \"\(m)\": use tcfilter, macvtap or none")
        }
        if let k = kernelConfig {
            // Unreadable, or not a kernel configuration: an error (exit 2), never a verdict.
            do { _ = try KernelConfig.load(path: k) } catch { throw ValidationError("--kernel-config: \(error)") }
        }
        if let a = arch, Architecture(parsing: a) == nil {
            throw ValidationError("unknown architecture \"\(a)\": use x86_64 or arm64")
        }
        if nfdLifetime < 60 { throw ValidationError("--nfd-lifetime must be at least 60 seconds") }
        if kvmBootTimeout <= 0 { throw ValidationError("--kvm-boot-timeout must be positive") }
        if let every {
            guard nfd != nil else { throw ValidationError("--every needs --nfd: the feature file is what a repeated check is for") }
            guard every >= 10, every < nfdLifetime else {
                throw ValidationError("--every must be at least 10 seconds and less than --nfd-lifetime (\(Int(nfdLifetime)) s)")
            }
        }
        if let k = kataConfig, !FileManager.default.isReadableFile(atPath: k) {
            throw ValidationError("--kata-config \(k): no such readable file")
        }
    }

    func run() throws {
        var options = CheckOptions(
            kernelConfigPath: kernelConfig, kataConfigPath: kataConfig,
            models: models.isEmpty ? nil : models.compactMap(NetworkModel.init(rawValue:)), liveProbes: !noProbes)
        options.arch = arch.flatMap(Architecture.init(parsing:))
        if kvmBootProbe {
            let machine = HostCheck.uname().machine
            options.kvmBootProbe = KVMBootProbe(
                imageDirectory: kvmBootImage ?? KVMBootProbe.defaultImage(for: machine), arch: machine, timeoutSeconds: kvmBootTimeout)
        }
        if let every, let nfd {
            // SIGTERM (a DaemonSet's pod being stopped) or SIGINT ends the loop between runs: a
            // run always finishes its write, so no temporary file is left in the directory NFD reads.
            for s in [SIGTERM, SIGINT] { signal(s) { _ in checkStopRequested.store(true, ordering: .relaxed) } }
            while !checkStopRequested.load(ordering: .relaxed) {
                let report = HostCheck.run(options, logger: Logger(label: "sandnet.check"))
                let labels = NodeFeatureFile.labels(for: report).filter {
                    ["ready", "kvm-verdict", "arch"].contains($0.0.split(separator: "/").last!)
                }
                do {
                    try NodeFeatureFile.write(report, to: nfd, lifetime: nfdLifetime)
                    print(
                        "\(NodeFeatureFile.rfc3339(Date())) wrote \(nfd): "
                            + labels.map { "\($0.0.split(separator: "/").last!)=\($0.1)" }.joined(separator: " "))
                    fflush(nil) // a pod's log is a pipe: one line per run, when it happens
                } catch {
                    // The old labels expire on their own: that is the point of the expiry.
                    Output.printError("\(error)")
                }
                let wakeUp = Date(timeIntervalSinceNow: every)
                while !checkStopRequested.load(ordering: .relaxed), Date() < wakeUp { Thread.sleep(forTimeInterval: 0.1) }
            }
            print("\(NodeFeatureFile.rfc3339(Date())) stopped by a signal; \(nfd) keeps its labels until they expire")
            return
        }
        let report = HostCheck.run(options, logger: Logger(label: "sandnet.check"))
        if json { print(try report.json()) } else { print(report.text(), terminator: "") }
        if let nfd {
            try NodeFeatureFile.write(report, to: nfd, lifetime: nfdLifetime)
            if !json { print("Wrote Node Feature Discovery labels to \(nfd).") }
        }
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }
}
