import CSandnetLinux
import Foundation
import NetlinkSocket

#if canImport(Glibc)
    import Glibc
#endif

/// Runs the KVM usability probe of CSandnetLinux/kvm_probe.c and says what it means.
public enum KVMProbe {
    /// The watchdog's bound on the guest; a working KVM needs about 20 ms of it.
    public static let defaultTimeoutMilliseconds: Int32 = 2000

    /// The vendor module behind /dev/kvm, from /sys/module (kvm_pvm: a software-only
    /// "hypervisor" for nested setups, which emulates guests that are not PVM-aware).
    public static func vendorModule(sysModule: String = "/sys/module") -> String? {
        ["kvm_intel", "kvm_amd", "kvm_pvm", "kvm_arm"].first { FileManager.default.fileExists(atPath: "\(sysModule)/\($0)") }
    }

    public static func run(timeoutMilliseconds: Int32 = defaultTimeoutMilliseconds) -> KVMUsability {
        let vendor = vendorModule()
        guard sandnet_kvm_probe_supported() == 1 else {
            // arm64 (and anything else): no guest code to run here yet, so nothing tells.
            let fd = open("/dev/kvm", O_RDWR | O_CLOEXEC)
            let e = errno
            if fd >= 0 { close(fd) }
            if fd < 0 && e == ENOENT {
                return KVMUsability(
                    verdict: .absent, reason: "/dev/kvm does not exist: no hardware virtualization here",
                    ran: ["open /dev/kvm: \(errnoText(e))"], vendorModule: vendor)
            }
            return KVMUsability(
                verdict: .unknown,
                reason: "this build has no guest-code probe for \(HostCheck.uname().machine) (only x86_64): "
                    + (fd >= 0 ? "/dev/kvm opens, but whether a guest runs on it was not tried" : "open /dev/kvm: \(errnoText(e))"),
                ran: ["open /dev/kvm: " + (fd >= 0 ? "ok" : errnoText(e))], vendorModule: vendor)
        }
        var r = sandnet_kvm_probe_result()
        let rc = sandnet_kvm_probe(timeoutMilliseconds, &r)
        return interpret(r, returned: rc, timeoutMilliseconds: timeoutMilliseconds, vendor: vendor)
    }

    static func ms(_ us: UInt64) -> String { String(format: "%.1f ms", Double(us) / 1000) }

    /// Turns the C result into steps and a verdict.
    static func interpret(_ r: sandnet_kvm_probe_result, returned rc: Int32, timeoutMilliseconds: Int32, vendor: String?)
        -> KVMUsability
    {
        let failedCall = withUnsafeBytes(of: r.failed_call) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let stageTimes = withUnsafeBytes(of: r.stage_us) { Array($0.bindMemory(to: UInt64.self)) }
        var ran: [String] = []
        let host: [(Int32, String)] = [
            (Int32(SANDNET_KVM_OPENED), "open /dev/kvm, KVM_GET_API_VERSION"),
            (Int32(SANDNET_KVM_VM_CREATED), "KVM_CREATE_VM, KVM_SET_TSS_ADDR, KVM_CREATE_IRQCHIP"),
            (Int32(SANDNET_KVM_MEMORY), "mmap 2 MiB of throwaway guest memory, KVM_SET_USER_MEMORY_REGION"),
            (Int32(SANDNET_KVM_VCPU_CREATED), "KVM_CREATE_VCPU, KVM_SET_CPUID2, KVM_SET_SREGS/KVM_SET_REGS (real mode at 0x8000)"),
            (
                Int32(SANDNET_KVM_RAN),
                "KVM_RUN on its own thread, a \(timeoutMilliseconds) ms watchdog (immediate_exit + a signal unblocked only in KVM_RUN)"
            )
        ]
        for (stage, what) in host where r.stage >= stage { ran.append(what) }
        if rc != 0 {
            let e = r.failed_errno
            ran.append("\(failedCall) failed: \(errnoText(e))")
            if failedCall == "open /dev/kvm" {
                let verdict: KVMUsability.Verdict = e == ENOENT ? .absent : (e == EACCES || e == EPERM ? .unknown : .unusable)
                let reason: String
                switch verdict {
                case .absent: reason = "/dev/kvm does not exist: no hardware virtualization here"
                case .unknown: reason = "/dev/kvm may not be opened by this user (run as root): its usability was not tried"
                default: reason = "/dev/kvm cannot be opened (\(errnoText(e)))"
                }
                return KVMUsability(verdict: verdict, reason: reason, ran: ran, vendorModule: vendor)
            }
            return KVMUsability(
                verdict: .unusable,
                reason: "/dev/kvm opens but \(failedCall) failed (\(errnoText(e))): no VM can be made",
                ran: ran, vendorModule: vendor)
        }
        let guest: [(Int32, String)] = [
            (Int32(SANDNET_KVM_GUEST_REAL_MODE), "guest: real-mode code ran"),
            (Int32(SANDNET_KVM_GUEST_PROTECTED_MODE), "guest: entered 32-bit protected mode (lgdt, CR0.PE)"),
            (Int32(SANDNET_KVM_GUEST_LONG_MODE), "guest: entered long mode with 4-level paging (CR3, CR4.PAE, EFER.LME, CR0.PG)"),
            (Int32(SANDNET_KVM_GUEST_TIMER_ARMED), "guest: loaded an IDT, armed the local APIC timer (periodic), sti; hlt"),
            (Int32(SANDNET_KVM_GUEST_INTERRUPT), "guest: a timer interrupt was handled"),
            (Int32(SANDNET_KVM_GUEST_TICKS), "guest: three timer interrupts were handled")
        ]
        for (stage, what) in guest where r.guest_stage >= stage {
            ran.append("\(what) (at \(ms(stageTimes[Int(stage)])))")
        }
        let loops = Int(SANDNET_KVM_LOOP)
        let native = max(r.native_loop_us, 1)
        let stopped: String
        if r.timed_out != 0 {
            stopped = "the watchdog stopped the vCPU after \(timeoutMilliseconds) ms (guest RIP 0x\(String(r.guest_rip, radix: 16)))"
        } else if r.unexpected_exit != 0 {
            stopped =
                "the vCPU stopped with KVM exit \(exitName(r.exit_reason)) at RIP 0x\(String(r.guest_rip, radix: 16))"
        } else {
            stopped = "the run ended"
        }
        guard r.guest_stage >= Int32(SANDNET_KVM_GUEST_TICKS) else {
            let last = guest.last { r.guest_stage >= $0.0 }?.1 ?? "no guest step reported"
            ran.append(stopped)
            return KVMUsability(
                verdict: .unusable,
                reason: "/dev/kvm opens but the probe guest got no further than \"\(last)\": \(stopped)",
                ran: ran, vendorModule: vendor)
        }
        if r.guest_stage < Int32(SANDNET_KVM_GUEST_DONE) {
            let spent = r.elapsed_us - stageTimes[Int(SANDNET_KVM_GUEST_TICKS)]
            ran.append("guest: a compute loop of \(loops) iterations did not finish; \(stopped) (the host runs it in \(ms(native)))")
            return KVMUsability(
                verdict: .unusable,
                reason: "/dev/kvm works functionally (long mode, paging, timer interrupts) but guest code runs at least "
                    + "\(spent / native)x slower than on the host\(vendor.map { " (vendor module \($0))" } ?? "")"
                    + ", as when a nested KVM emulates the guest instead of running it: a Linux guest stalls in early boot",
                ran: ran, vendorModule: vendor, hostLoopMicroseconds: native)
        }
        let loop = stageTimes[Int(SANDNET_KVM_GUEST_DONE)] - stageTimes[Int(SANDNET_KVM_GUEST_TICKS)]
        let slowdown = loop / native
        ran.append("guest: a compute loop of \(loops) iterations took \(ms(loop)) (the host: \(ms(native)))")
        if slowdown >= KVMUsability.slowdownLimit {
            return KVMUsability(
                verdict: .unusable,
                reason: "/dev/kvm works functionally but guest code runs \(slowdown)x slower than on the host "
                    + "(limit \(KVMUsability.slowdownLimit)x): not hardware virtualization",
                ran: ran, vendorModule: vendor, guestLoopMicroseconds: loop, hostLoopMicroseconds: native)
        }
        return KVMUsability(
            verdict: .usable,
            reason: "a guest ran into long mode with paging, took local APIC timer interrupts and computed at host speed "
                + "(\(ms(loop)) against \(ms(native)))",
            ran: ran, vendorModule: vendor, guestLoopMicroseconds: loop, hostLoopMicroseconds: native)
    }

    static func exitName(_ reason: UInt32) -> String {
        let names: [UInt32: String] = [
            0: "KVM_EXIT_UNKNOWN", 2: "KVM_EXIT_IO", 5: "KVM_EXIT_HLT", 6: "KVM_EXIT_MMIO", 8: "KVM_EXIT_SHUTDOWN (triple fault)",
            9: "KVM_EXIT_FAIL_ENTRY", 17: "KVM_EXIT_INTERNAL_ERROR"
        ]
        return names[reason] ?? "\(reason)"
    }
}
