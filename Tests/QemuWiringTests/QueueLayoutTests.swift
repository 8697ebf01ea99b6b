import QemuWiring
import SandnetCore
import Testing

@Suite("Queue layout: queue descriptors, vhost descriptors and vectors from one number")
struct QueueLayoutTests {
    @Test(arguments: [1, 2, 3, 4, 8, 16, 255, 256])
    func descriptorsAndVectorsFollowTheQueueCount(_ n: Int) throws {
        for vhost in [false, true] {
            let l = try QueueLayout(queues: n, vhost: vhost)
            #expect(l.queueDescriptors == n)
            #expect(l.vhostDescriptors == (vhost ? n : 0))
            #expect(l.vectors == 2 * n + 2)
            #expect(QueueLayout.of(queueFDs: l.queueDescriptors, vhostFDs: l.vhostDescriptors) == l)
            // The arguments QEMU gets say the same numbers.
            let nic = QemuNIC(
                id: "sn0", mac: MACAddress("02:00:00:00:00:01")!, queueFDs: (0..<Int32(n)).map { 100 + $0 },
                vhostFDs: vhost ? (0..<Int32(n)).map { 600 + $0 } : [])
            let p = try #require(try QemuNetworkPlan(architecture: .x86_64, nics: [nic]).placements.first)
            #expect(p.deviceArgument.contains("vectors=\(l.vectors),"))
            #expect(p.netdevArgument.split(separator: ",").first { $0.hasPrefix("fds=") }?.split(separator: ":").count == n)
            #expect(p.netdevArgument.contains("vhostfds=") == vhost)
        }
    }

    @Test func impossibleLayoutsAreRefused() throws {
        #expect(throws: QemuWiringError.invalidQueues(0)) { try QueueLayout(queues: 0, vhost: false) }
        #expect(throws: QemuWiringError.invalidQueues(257)) { try QueueLayout(queues: 257, vhost: true) }
        #expect(QueueLayout.of(queueFDs: 4, vhostFDs: 2) == nil)
        let tooMany = QemuNIC(id: "sn0", mac: MACAddress("02:00:00:00:00:01")!, queueFDs: (0..<257).map { $0 + 3 })
        #expect(throws: QemuWiringError.self) { try QemuNetworkPlan(architecture: .arm64, nics: [tooMany]) }
    }
}
