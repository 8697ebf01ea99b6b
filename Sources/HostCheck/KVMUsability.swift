/// Whether QEMU can run a pod's VM with `-accel kvm`: not whether `/dev/kvm` opens, but
/// whether guest code runs there at hardware speed. A broken or emulating nested setup
/// opens `/dev/kvm` and runs a few real-mode instructions, yet a Linux guest never gets
/// past its decompressor.
public struct KVMUsability: Sendable, Codable, Equatable {
    public enum Verdict: String, Sendable, Codable {
        /// Guest code ran into long mode with paging, took timer interrupts, and computed at
        /// (near) host speed.
        case usable
        /// `/dev/kvm` is there but a guest cannot run on it (or runs far too slowly).
        case unusable
        /// No `/dev/kvm`: no hardware virtualization here (a TCG guest, a VM without nesting).
        case absent
        /// Nothing could tell: no probe for this architecture, not root, probes off.
        case unknown
    }

    public var verdict: Verdict
    /// One sentence: why this verdict, and what it means for QEMU.
    public var reason: String
    /// What the verdict means for the sandboxes (unusable, absent).
    public var meaning: String? {
        verdict == .unusable || verdict == .absent ? Self.consequence : nil
    }
    /// What the probe did, step by step, with how far it got.
    public var ran: [String]
    /// The KVM vendor module loaded (kvm_intel, kvm_amd, kvm_pvm, ...), from /sys/module.
    public var vendorModule: String?
    /// The guest's compute loop, and the same loop on the host, in microseconds.
    public var guestLoopMicroseconds: UInt64?
    public var hostLoopMicroseconds: UInt64?
    /// The deeper probe (`--kvm-boot-probe`), when it ran.
    public var bootProbe: KVMBootProbeResult?

    public init(
        verdict: Verdict, reason: String, ran: [String], vendorModule: String? = nil,
        guestLoopMicroseconds: UInt64? = nil, hostLoopMicroseconds: UInt64? = nil, bootProbe: KVMBootProbeResult? = nil
    ) {
        self.verdict = verdict
        self.reason = reason
        self.ran = ran
        self.vendorModule = vendorModule
        self.guestLoopMicroseconds = guestLoopMicroseconds
        self.hostLoopMicroseconds = hostLoopMicroseconds
        self.bootProbe = bootProbe
    }

    /// What an unusable or absent KVM means for the sandboxes.
    public static let consequence =
        "QEMU must run the pod VMs with -accel tcg (software emulation, many times slower than KVM); "
        + "Kata's QEMU configuration must not ask for KVM"

    /// The guest is this many times slower than the host at the same loop, or more: not
    /// hardware virtualization. A working KVM (nested included) runs it at about 1x.
    public static let slowdownLimit: UInt64 = 20
}

/// The deeper probe: a real Linux guest booted under `qemu-system-* -accel kvm`, bounded.
public struct KVMBootProbeResult: Sendable, Codable, Equatable {
    public var command: [String]
    public var timeoutSeconds: Double
    public var elapsedSeconds: Double
    /// The console markers seen, in boot order (`Linux version`: the decompressed kernel
    /// started; `Run /init` or `SANDNET-STAGE init`: user space).
    public var reached: [String]
    /// The guest reached user space in time.
    public var booted: Bool
    /// Why the probe could not run (no QEMU, no image); nil when it ran.
    public var error: String?
    /// The console's last lines.
    public var consoleTail: String
}
