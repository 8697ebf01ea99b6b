import Foundation
import QemuWiring
import SandnetCore

/// Everything needed to boot one test guest: image, machine, the network arguments and
/// descriptors sandnet generated, the guest description, and what the guest must probe.
public struct GuestBoot: Sendable {
    public var image: GuestImage
    public var architecture: Architecture { image.architecture }
    public var memoryMiB: Int = 256
    public var cpus: Int = 1
    /// `-device`/`-netdev` arguments (QemuNetworkPlan.arguments).
    public var networkArguments: [String]
    /// Descriptors the network arguments name; QEMU gets exactly these besides stdio.
    public var inheritedFDs: [Int32]
    /// The guest description document, handed over as fw_cfg file opt/sandnet/guest.json.
    public var guestDescription: Data
    /// "ADDRESS:PORT" of every HTTP peer the guest must reach, one per NIC.
    public var probeTargets: [String]
    /// Modules the guest init must not load (to show the error a missing one gives).
    public var skipModules: [String] = []
    /// QEMU binary; the architecture's by default.
    public var qemuBinary: String?
    public var extraArguments: [String] = []
    /// Runs QEMU through this command (`ip netns exec POD`, for a VMM that opens its tap by
    /// name in the pod's namespace); it must exec QEMU in its own process.
    public var launcher: [String] = []
    public var timeoutSeconds: Double = 180
    /// The guest channel's chardev socket (docs/guest-channel.md); nil: no channel device.
    public var channelSocket: String?
    /// Guest channel changes the guest init serves after NET-UP, then the peers it probes after them.
    public var channelChanges = 0
    public var channelTargets: [String] = []
    /// Changes the guest serves after its probes (a remove-interface before a hot-unplug);
    /// it then waits for the removed NIC to go and prints `SANDNET-STAGE unplugged`.
    public var channelAfterChanges = 0

    public init(image: GuestImage, networkArguments: [String], inheritedFDs: [Int32], guestDescription: Data, probeTargets: [String]) {
        self.image = image
        self.networkArguments = networkArguments
        self.inheritedFDs = inheritedFDs
        self.guestDescription = guestDescription
        self.probeTargets = probeTargets
    }

    public var binary: String { qemuBinary ?? architecture.qemuBinary }

    /// The kernel command line: serial console, quiet, power off instead of rebooting on panic.
    public var kernelCommandLine: String {
        var s = "console=\(architecture.serialConsole) quiet panic=-1"
        if !skipModules.isEmpty { s += " sandnet.skip_modules=\(skipModules.joined(separator: ","))" }
        return s
    }

    /// The probe instructions, shell assignments the guest init sources.
    public var probeScript: String {
        var s = "targets=\"\(probeTargets.joined(separator: " "))\"\ntoken_path=/token\nblob_path=/blob\n"
        if channelChanges > 0 { s += "channel_changes=\(channelChanges)\nchannel_targets=\"\(channelTargets.joined(separator: " "))\"\n" }
        if channelAfterChanges > 0 { s += "channel_after=\(channelAfterChanges)\n" }
        return s
    }

    /// QEMU's argv after the binary. TCG only (no KVM here), no default devices, serial on
    /// stdio, no reboot: the guest's poweroff ends QEMU.
    public var arguments: [String] {
        var a: [String]
        switch architecture {
        case .x86_64: a = ["-M", "q35", "-accel", "tcg"]
        // pauth-impdef: an implementation-defined pointer-auth hash, much cheaper under TCG than QARMA.
        case .arm64: a = ["-M", "virt", "-cpu", "max,pauth-impdef=on", "-accel", "tcg"]
        }
        a += [
            "-m", "\(memoryMiB)", "-smp", "\(cpus)", "-nodefaults", "-display", "none", "-no-reboot", "-serial", "stdio",
            "-kernel", image.kernel, "-initrd", image.initrd, "-append", kernelCommandLine,
            "-fw_cfg", "name=opt/sandnet/guest.json,string=\(Self.escapeOption(String(decoding: guestDescription, as: UTF8.self)))",
            "-fw_cfg", "name=opt/sandnet/probe,string=\(Self.escapeOption(probeScript))"
        ]
        let channel = channelSocket.map { GuestChannelDevice.arguments(socketPath: $0) } ?? []
        return a + networkArguments + channel + extraArguments
    }

    /// QEMU option values escape a comma by doubling it.
    static func escapeOption(_ s: String) -> String { s.replacingOccurrences(of: ",", with: ",,") }
}

/// What the guest measured against one peer (its token, RTT and throughput), as it reported it.
public struct PeerProbeResult: Sendable, Equatable {
    public var target: String
    public var token: String
    public var rttMilliseconds: Double
    public var bytes: Int
    public var throughputKbps: Int
}

/// What a finished guest run showed.
public struct GuestReport: Sendable {
    /// Host time from starting QEMU to the guest's "every NIC configured" line.
    public var bootToNetworkSeconds: Double
    /// The guest's own uptime at that moment.
    public var guestUptimeAtNetworkMilliseconds: Int
    public var results: [PeerProbeResult]
    public var console: [String]
}

/// What the runner reports while the guest boots.
public enum GuestProgress: Sendable {
    case started(pid: Int32)
    case stage(String)
    case networkUp(seconds: Double)
    case result(PeerProbeResult)
    case consoleLine(String)
}
