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
    /// Appended to the kernel command line (`ipv6.disable=1`).
    public var extraKernelArguments: [String] = []
    /// TCP port on every probe target that reads `uploadBytes` and answers "received":
    /// the guest times its upload to it (nil: no upload).
    public var uploadPort: Int?
    public var uploadBytes: Int = 0
    /// Addresses the guest only pings (either family), reported as SANDNET-PING.
    public var pingTargets: [String] = []
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
        for a in extraKernelArguments { s += " \(a)" }
        return s
    }

    /// The probe instructions, shell assignments the guest init sources.
    public var probeScript: String {
        var s = "targets=\"\(probeTargets.joined(separator: " "))\"\ntoken_path=/token\nblob_path=/blob\n"
        if channelChanges > 0 { s += "channel_changes=\(channelChanges)\nchannel_targets=\"\(channelTargets.joined(separator: " "))\"\n" }
        if let uploadPort { s += "upload_port=\(uploadPort)\nupload_bytes=\(uploadBytes)\n" }
        if !pingTargets.isEmpty { s += "ping_targets=\"\(pingTargets.joined(separator: " "))\"\n" }
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
    /// The upload to the target (bytes, kbit/s), when the boot asked for one.
    public var uploadBytes: Int? = nil
    public var uploadKbps: Int? = nil
}

/// What the guest's kernel showed for one NIC.
public struct GuestNICEvidence: Sendable, Equatable {
    /// Entries of /sys/class/net/DEV/queues/rx-* and tx-*.
    public var rxQueues: Int
    public var txQueues: Int
    /// `ip -j addr|route4|route6|neigh show dev DEV` as the guest printed it, by what.
    public var json: [String: String] = [:]
}

/// What a finished guest run showed.
public struct GuestReport: Sendable {
    /// Host time from starting QEMU to the guest's "every NIC configured" line.
    public var bootToNetworkSeconds: Double
    /// The guest's own uptime at that moment.
    public var guestUptimeAtNetworkMilliseconds: Int
    public var results: [PeerProbeResult]
    public var console: [String]
    /// By guest interface name.
    public var nics: [String: GuestNICEvidence] = [:]
    /// Ping-only targets that answered, with their RTT in ms.
    public var pings: [String: Double] = [:]
}

/// What the runner reports while the guest boots.
public enum GuestProgress: Sendable {
    case started(pid: Int32)
    case stage(String)
    case networkUp(seconds: Double)
    case result(PeerProbeResult)
    case consoleLine(String)
}
