import QemuWiring
import TapDevices

extension ModelContext {
    /// The endpoint's NIC queues, vhost descriptors and vectors: the settings' queue count
    /// for it, with vhost-net when this host has it. Every model asks here.
    func queueLayout(for e: ScannedLink) throws -> QueueLayout {
        try QueueLayout(queues: settings.queues(for: e.name), vhost: vhostAvailable)
    }
}
