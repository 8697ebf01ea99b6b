import QemuWiring
import SandnetCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// What attach hands back: where each endpoint went, QEMU's arguments and descriptors,
/// and the guest description. The descriptors are open (CLOEXEC) in this process: exec
/// QEMU with `QemuExec` or close them with `closeDescriptors()`.
public struct AttachResult: Sendable {
    public var summary: AttachSummary
    public var plan: QemuNetworkPlan?
    public var guestDescription: GuestDescription
    /// The endpoints with a NIC, in root-port order (NIC k is on port k).
    public var nicEndpoints: [String] = []
    private let closer: DescriptorCloser

    init(summary: AttachSummary, plan: QemuNetworkPlan?, guestDescription: GuestDescription) {
        self.summary = summary
        self.plan = plan
        self.guestDescription = guestDescription
        closer = DescriptorCloser(plan?.inheritedFDs ?? [])
    }

    public var descriptors: [Int32] { plan?.inheritedFDs ?? [] }

    /// Closes the queue and vhost descriptors once; later calls do nothing (a second close
    /// could hit a descriptor number reused by someone else).
    public func closeDescriptors() { closer.close() }
}

/// The descriptors of one attach result, closed at most once however many copies of the
/// result ask. (The result cannot be `~Copyable` itself: callers copy it and close it in a
/// `defer` and again later.)
final class DescriptorCloser: Sendable {
    private let fds: Mutex<[Int32]>
    init(_ fds: [Int32]) { self.fds = Mutex(fds) }
    func close() {
        let mine = fds.withLock { fds in
            defer { fds = [] }
            return fds
        }
        for fd in mine { _ = Glibc.close(fd) }
    }
}

/// The printable outcome of an attach, also kept in the journal.
public struct AttachSummary: Codable, Equatable, Sendable {
    public struct Endpoint: Codable, Equatable, Sendable {
        public var name: String
        public var linkClass: LinkClass
        public var model: NetworkModel
        /// The tap or macvtap created for it (nil for model none).
        public var device: String?
        public var guestMAC: MACAddress
        public var queues: Int
        public var vhost: Bool
        /// The endpoint's rate limit, when it has one (absent in journals written before limits existed).
        public var rateLimit: RateLimit? = nil
    }
    public var sandbox: String
    public var namespace: String
    public var linkGroup: UInt32
    public var endpoints: [Endpoint]
    /// Links that are not attached, with why.
    public var skipped: [String: String]
    public var qemuArguments: [String]
    public var kernelChanges: Int
}
