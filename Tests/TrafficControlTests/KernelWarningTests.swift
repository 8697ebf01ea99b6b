import NetlinkSocket
import Rtnetlink
import Synchronization
import TestSupport
import Testing
import TrafficControl

/// The kernel's extended-ACK text on a request it carried out reaches the handle's
/// warning handler, with the text tc prints for the same request.
@Suite struct KernelWarningTests {
    @Test(.enabled(if: Probe.hasHtb, "kernel lacks sch_htb (CONFIG_NET_SCH_HTB)"))
    func aWarningOnASuccessfulRequestReachesTheHandler() throws {
        try TestNamespace.with(prefix: "snwarn") { ns in
            let seen = Mutex<[KernelWarning]>([])
            let rt = try Rtnetlink(namespace: ns.namespace, warnings: { w in seen.withLock { $0.append(w) } })
            defer { rt.close() }
            try rt.linkAdd(LinkSpec(name: "a", kind: .veth(peerName: "b"), up: true))
            try rt.qdiscAdd(QdiscSpec(device: .name("a"), kind: .htb(defaultClass: 0x10, directQueueLength: 100)))
            #expect(seen.withLock { $0 }.isEmpty, "nothing to warn about yet")
            // 8 kbit/s with the default r2q of 10 gives a quantum of 100 bytes: the kernel
            // raises it to 1000 and says so, but makes the class.
            try rt.htbClassAdd(HtbClassSpec(device: .name("a"), parent: TcHandle("1:")!, classID: TcHandle("1:10")!, rate: 8_000))
            let warnings = seen.withLock { $0 }
            try #require(warnings.count == 1, "warnings: \(warnings)")
            #expect(warnings[0].message.contains("quantum of class 10010 is small"), "\(warnings[0])")
            #expect(try rt.classes(device: .name("a")).contains { $0.classID == TcHandle("1:10")! })
            // tc, sent the same request, prints the same kernel text.
            let tc = try TestEnvironment.run([
                "tc", "-n", ns.name, "class", "add", "dev", "a", "parent", "1:", "classid", "1:20",
                "htb", "rate", "8kbit"
            ])
            #expect(tc.status == 0)
            #expect(tc.stderr.contains("quantum of class 10020 is small"), "tc said: \(tc.stderr)")
        }
    }
}
