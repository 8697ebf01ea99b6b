import QemuWiring
import SandnetCore

/// What the host side of a plug hands back: the journaled record, the root port, the
/// guest's view of the new interface, and the queue and vhost descriptors (open, CLOEXEC)
/// for QEMU's `getfd`. Close them with `closeDescriptors()` once QEMU has its copies.
public struct PlugResult: Sendable {
    public var plugged: PluggedEndpoint
    public var rootPort: RootPortRecord
    /// The interface as the guest channel announces it (addresses, routes, neighbours).
    public var guestInterface: GuestInterface
    public let queueFDs: [Int32]
    public let vhostFDs: [Int32]
    private let closer: DescriptorCloser

    init(plugged: PluggedEndpoint, rootPort: RootPortRecord, guestInterface: GuestInterface, queueFDs: [Int32], vhostFDs: [Int32]) {
        self.plugged = plugged
        self.rootPort = rootPort
        self.guestInterface = guestInterface
        self.queueFDs = queueFDs
        self.vhostFDs = vhostFDs
        closer = DescriptorCloser(queueFDs + vhostFDs)
    }

    /// Closes the descriptors once; later calls do nothing.
    public func closeDescriptors() { closer.close() }
}
