import ArgumentParser
import Foundation
import HostCheck
import Logging
import SandnetCore

/// `sandnet check`: can this host run VM sandboxes, and if not, what exactly to fix.
struct CheckCommand: ParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check the kernel, modules, device nodes and Kata configuration for VM sandboxes.",
        discussion: """
            Exit status: 0 when everything the checked models require passes, 1 when something fails, 2 for usage errors.
            Run as root for the live probes (throwaway namespace, device nodes); netlink families are probed as any user.
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

    @Flag(help: "Skip the live probes; judge from the configuration and module tree only.")
    var noProbes = false

    @Flag(help: "Print JSON (schema: docs/check-schema.json).")
    var json = false

    @Option(help: "Also write a Node Feature Discovery feature file here (e.g. /etc/kubernetes/node-feature-discovery/features.d/sandnet).")
    var nfd: String?

    @OptionGroup var log: LogOptions
    var logSettings: LogSettings { log.settings }

    func validate() throws {
        for m in models where NetworkModel(rawValue: m) == nil {
            throw ValidationError("unknown model \"\(m)\": use tcfilter, macvtap or none")
        }
        if let k = kernelConfig, !FileManager.default.isReadableFile(atPath: k) {
            throw ValidationError("--kernel-config \(k): no such readable file")
        }
        if let k = kataConfig, !FileManager.default.isReadableFile(atPath: k) {
            throw ValidationError("--kata-config \(k): no such readable file")
        }
    }

    func run() throws {
        let report = HostCheck.run(
            CheckOptions(
                kernelConfigPath: kernelConfig, kataConfigPath: kataConfig,
                models: models.isEmpty ? nil : models.compactMap(NetworkModel.init(rawValue:)), liveProbes: !noProbes),
            logger: Logger(label: "sandnet.check"))
        if json { print(try report.json()) } else { print(report.text(), terminator: "") }
        if let nfd {
            try NodeFeatureFile.write(report, to: nfd)
            if !json { print("Wrote Node Feature Discovery labels to \(nfd).") }
        }
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }
}
