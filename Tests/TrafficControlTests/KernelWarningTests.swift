import KernelConformance
import NetlinkSocket
import Rtnetlink
import Synchronization
import TestSupport
import Testing
import TrafficControl

/// The kernel's extended-ACK text on a request it carried out reaches the handle's
/// warning handler, with the text tc prints for the same request.
@Suite struct KernelWarningTests {
    @Test(
        .enabled(
            if: KernelFeatureProbe.htbQuantumWarning,
            "kernel lacks sch_htb (CONFIG_NET_SCH_HTB) or sends the htb quantum warning only to its log (Linux 6.1), not as extended ACK"))
    func aWarningOnASuccessfulRequestReachesTheHandler() throws {
        // The same check the kernel lab runs in the Debian cloud guest (Sources/KernelConformance).
        try TrafficControlChecks.aWarningOnASuccessfulRequestReachesTheHandler()
    }
}
