/// The guest architectures sandnet wires NICs for, and the QEMU machine each one uses.
/// Both machines have a PCI Express root complex (`pcie.0`), so every NIC can sit on
/// its own hotpluggable root port.
public enum GuestArchitecture: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case x86_64
    case arm64

    /// Accepts the spellings operators use: `x86_64`/`amd64`/`x86-64`, `arm64`/`aarch64`.
    public init?(parsing text: String) {
        switch text.lowercased() {
        case "x86_64", "x86-64", "amd64": self = .x86_64
        case "arm64", "aarch64": self = .arm64
        default: return nil
        }
    }

    /// `-machine` type: `q35` on x86_64, `virt` on arm64.
    public var machineType: String {
        switch self { case .x86_64: return "q35"; case .arm64: return "virt" }
    }

    /// The QEMU binary for this guest.
    public var qemuBinary: String {
        switch self { case .x86_64: return "qemu-system-x86_64"; case .arm64: return "qemu-system-aarch64" }
    }

    /// The PCIe root bus both machines name `pcie.0`.
    public var rootBus: String { "pcie.0" }

    public var description: String { rawValue }
}
