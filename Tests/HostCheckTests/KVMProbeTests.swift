import Foundation
import HostCheck
import SandnetCore
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

enum KVMHost {
    static let hasKVM = FileManager.default.fileExists(atPath: "/dev/kvm") && getuid() == 0
    static let isX86 = HostCheck.uname().machine == "x86_64"
}

@Suite("KVM usability: guest code in a throwaway VM, not just open /dev/kvm")
struct KVMProbeTests {
    @Test(
        "the probe runs guest code and its verdict follows what the guest did",
        .enabled(if: KVMHost.hasKVM && KVMHost.isX86, "needs /dev/kvm, root and x86_64"))
    func probeHere() throws {
        let k = KVMProbe.run()
        print("KVMProbeTests: \(k.verdict.rawValue): \(k.reason)")
        for step in k.ran { print("  ran: \(step)") }
        #expect(k.ran.contains { $0.contains("KVM_CREATE_VM") })
        #expect(k.ran.contains { $0.contains("KVM_CREATE_VCPU") })
        switch k.verdict {
        case .usable:
            #expect(k.ran.contains { $0.contains("long mode with 4-level paging") })
            #expect(k.ran.contains { $0.contains("three timer interrupts") })
            let guest = try #require(k.guestLoopMicroseconds)
            let host = try #require(k.hostLoopMicroseconds)
            #expect(guest / max(host, 1) < KVMUsability.slowdownLimit)
        case .unusable:
            #expect(k.meaning?.contains("-accel tcg") == true)
        default:
            Issue.record("with /dev/kvm and root the verdict is usable or unusable, not \(k.verdict)")
        }
        // This machine: kvm_pvm opens /dev/kvm and runs the probe through its timer
        // interrupts, but emulates every instruction; a Linux guest never leaves its decompressor.
        if k.vendorModule == "kvm_pvm" {
            #expect(k.verdict == .unusable)
            #expect(k.ran.contains { $0.contains("three timer interrupts") }, "the functional steps pass here: \(k.ran)")
            #expect(k.reason.contains("slower than on the host"), "\(k.reason)")
        }
    }

    @Test(
        "the watchdog bounds a guest that does not finish",
        .enabled(if: KVMHost.hasKVM && KVMHost.isX86, "needs /dev/kvm, root and x86_64"))
    func watchdogBounds() {
        let start = Date()
        let k = KVMProbe.run(timeoutMilliseconds: 300)
        let elapsed = Date().timeIntervalSince(start)
        #expect(elapsed < 2.0, "the probe took \(elapsed) s with a 300 ms watchdog")
        if k.verdict == .unusable, k.guestLoopMicroseconds == nil {
            #expect(k.ran.contains { $0.contains("the watchdog stopped the vCPU after 300 ms") }, "\(k.ran)")
        }
    }

    @Test(
        "the check's kvm requirement carries the probe's verdict, and unusable is not ready",
        .enabled(if: KVMHost.hasKVM && KVMHost.isX86, "needs /dev/kvm, root and x86_64"))
    func requirementFollowsProbe() throws {
        let report = HostCheck.run(CheckOptions(kataDefaultLookup: false, models: [.none]))
        let k = try #require(report.kvm)
        let r = try #require(report.requirement("kvm"))
        #expect(r.summary.hasPrefix("\(k.verdict.rawValue): "))
        #expect(r.probe?.kvm == k)
        if k.verdict == .unusable {
            #expect(r.status == .fail)
            #expect(!report.passed && report.exitCode == 1)
            #expect(report.text().contains("KVM: UNUSABLE: "))
            #expect(r.fix?.notes.contains(KVMUsability.consequence) == true)
            #expect(NodeFeatureFile.labels(for: report).contains { $0 == ("\(NodeFeatureFile.namespace)/kvm-verdict", "unusable") })
        }
    }

    @Test("the boot probe without an image says so and starts nothing")
    func bootProbeWithoutImage() {
        let dir = NSTemporaryDirectory() + "sandnet-no-image-\(getpid())"
        let b = KVMBootProbe(imageDirectory: dir, arch: "x86_64", timeoutSeconds: 5).run()
        #expect(b.error?.contains("no guest image: \(dir)/vmlinuz is missing") == true, "\(b.error ?? "no error")")
        #expect(!b.booted && b.reached.isEmpty && b.elapsedSeconds == 0)
        #expect(b.command.contains("-accel") && b.command.contains("kvm"))
    }
}
