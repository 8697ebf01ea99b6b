import SandnetCore

/// The QEMU machine each architecture uses. Both machines have a PCI Express root
/// complex (`pcie.0`), so every NIC can sit on its own hotpluggable root port.
extension Architecture {
    /// `-machine` type: `q35` on x86_64, `virt` on arm64.
    public var machineType: String {
        switch self {
        case .x86_64: return "q35"
        case .arm64: return "virt"
        }
    }

    /// The QEMU binary for this guest.
    public var qemuBinary: String {
        switch self {
        case .x86_64: return "qemu-system-x86_64"
        case .arm64: return "qemu-system-aarch64"
        }
    }

    /// The PCIe root bus both machines name `pcie.0`.
    public var rootBus: String { "pcie.0" }
}
