import Foundation
import NetlinkSocket
import SandboxNetwork
import TapDevices
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Detach and gc refuse a sandbox while some process holds a queue of its taps. The scan sees
/// a descriptor and looks at it a moment later: the process may have closed it and reused the
/// number for anything. Such a descriptor is no holder (seen: detach refused with
/// "TUNGETDEVNETNS: Inappropriate ioctl for device" while another process churned descriptors).
extension SandboxIntegration {
    @Suite struct QueueHolderScanTests {
        @Test func aDescriptorReusedForAnotherFileIsNoQueue() throws {
            let fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC)
            try #require(fd >= 0)
            defer { close(fd) }
            let d = QueueHolderScan.Descriptor(pid: getpid(), fd: fd)
            guard case .exited = QueueHolderScan.namespaceOfQueue(d, tap: "sn1t0") else {
                Issue.record("a regular file counted: \(QueueHolderScan.namespaceOfQueue(d, tap: "sn1t0"))")
                return
            }
        }

        @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates a tap in a throwaway namespace"))
        func aQueueIsFoundInItsNamespaceAndOnlyUnderItsTapsName() throws {
            try TestNamespace.with { ns in
                let identity = try ns.namespace.identity()
                let queues = try TunTap.create(TapSpec(name: "snq0", queues: 1, multiQueue: true, persistent: false), in: ns.namespace)
                let d = QueueHolderScan.Descriptor(pid: getpid(), fd: queues.descriptors[0])
                let own = QueueHolderScan.namespaceOfQueue(d, tap: "snq0")
                // The same number seen as a queue of another tap: no holder of the one asked about.
                let other = QueueHolderScan.namespaceOfQueue(d, tap: "snq1")
                queues.close()
                if case .namespace(let id, _) = own { #expect(id == identity) } else { Issue.record("the tap's own queue: \(own)") }
                if case .exited = other {} else { Issue.record("counted under another tap's name: \(other)") }
            }
        }
    }
}
