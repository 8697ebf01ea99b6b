/// How many queues one guest NIC has, and everything that follows from that number: the
/// queue descriptors (one per queue pair: a tap or /dev/tapN open), the vhost-net
/// descriptors (one per queue pair, or none), and virtio-net's MSI-X vectors. The one place
/// these are computed, so the tap, QEMU's `fds=`/`vhostfds=` and `vectors=` always agree.
public struct QueueLayout: Sendable, Equatable, Codable {
    /// Queue pairs (one RX and one TX virtqueue each).
    public let queues: Int
    /// Whether a /dev/vhost-net descriptor goes with each queue.
    public let vhost: Bool

    /// A tap and a macvtap take at most 256 queues (MAX_TAP_QUEUES in the kernel).
    public static let maximumQueues = 256
    public static let allowedQueues: ClosedRange<Int> = 1...maximumQueues

    public init(queues: Int, vhost: Bool) throws {
        guard Self.allowedQueues.contains(queues) else { throw QemuWiringError.invalidQueues(queues) }
        self.queues = queues
        self.vhost = vhost
    }

    /// Tap (or /dev/tapN) descriptors to open.
    public var queueDescriptors: Int { queues }
    /// /dev/vhost-net descriptors to open.
    public var vhostDescriptors: Int { vhost ? queues : 0 }
    /// MSI-X vectors: one per RX and per TX queue, one for configuration changes, one for the control queue.
    public var vectors: Int { 2 * queues + 2 }

    /// The layout a NIC's descriptors imply, or nil when they do not fit one (no queues,
    /// or a vhost count that is neither 0 nor the queue count).
    public static func of(queueFDs: Int, vhostFDs: Int) -> QueueLayout? {
        guard vhostFDs == 0 || vhostFDs == queueFDs, let l = try? QueueLayout(queues: queueFDs, vhost: vhostFDs > 0) else { return nil }
        return l
    }
}
