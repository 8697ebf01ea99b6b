import CSandnetLinux
import Foundation
import NetlinkSocket
import Rtnetlink
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

        @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates a macvtap in a throwaway namespace"))
        func aQueueOfADeletedMacvtapIsNoHolder() throws {
            try TestNamespace.with { ns in
                try ns.ip("link", "add", "snqv0", "type", "veth", "peer", "name", "snqv1")
                let rt = try Rtnetlink(namespace: ns.namespace)
                defer { rt.close() }
                try Macvtap.create(MacvtapSpec(name: "snqm0", parent: .name("snqv0")), in: rt)
                let dir = NSTemporaryDirectory() + "sandnet-qh-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
                defer { try? FileManager.default.removeItem(atPath: dir) }
                let queues = try Macvtap.openQueues(.name("snqm0"), count: 1, in: rt, nodeDirectory: dir)
                let fd = queues.descriptors[0]
                var st = stat()
                let statted = fstat(fd, &st) == 0
                let n = DeviceNumber(major: sandnet_dev_major(UInt64(st.st_rdev)), minor: sandnet_dev_minor(UInt64(st.st_rdev)))
                let d = QueueHolderScan.Descriptor(pid: getpid(), fd: fd)
                let whileThere = QueueHolderScan.macvtapQueueIsAttached(d, device: n)
                let deleted = Result { try ns.ip("link", "del", "snqm0") }
                let afterDelete = QueueHolderScan.macvtapQueueIsAttached(d, device: n)
                queues.close()
                #expect(statted)
                #expect(whileThere, "a live macvtap's queue must count")
                #expect(throws: Never.self) { try deleted.get() }
                #expect(!afterDelete, "the queue of a deleted macvtap counted as a holder of \(n)")
            }
        }
    }
}
