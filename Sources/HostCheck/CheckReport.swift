import Foundation
import SandnetCore

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
