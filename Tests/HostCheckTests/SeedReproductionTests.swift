import Foundation
import HostCheck
import ProcessRunner
import SandnetCore
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The guest of scripts/guest/build-check-image.sh: the Debian cloud kernel with nfnetlink.ko
/// and xfrm_user.ko on disk but neither loaded nor loadable on demand, a static sandnet, and
/// an init that runs `sandnet check --json` before and after `insmod`ing the two modules.
enum SeedGuest {
    struct Prepared {
        /// vmlinuz and initrd.img live here.
        var image: String?
        /// Why the guest cannot run on this machine (no QEMU, no kernel package); nil: it can.
        var skipReason: String?
        /// Why building it failed for another reason: a test failure, not a skip.
        var buildError: String?
    }

    static let qemu = "qemu-system-x86_64"

    /// Built once per test process from what scripts/setup.sh unpacked (SANDNET_OFFLINE=1:
    /// the script downloads nothing and asks apt nothing); a checksum check when nothing
    /// changed, an incremental static build of sandnet when its sources did.
    static let prepared: Prepared = {
        let p = prepare()
        if let why = p.skipReason { print("SeedReproductionTests: skipping: \(why)") }
        return p
    }()

    private static func prepare() -> Prepared {
        guard (try? TestEnvironment.run(["sh", "-c", "command -v \(qemu)"]))?.status == 0 else {
            return Prepared(skipReason: "\(qemu) is not installed (apt-get install qemu-system-x86)")
        }
        let script = RealKernels.repoRoot + "/scripts/guest/build-check-image.sh"
        let r: (status: Int32, stdout: String, stderr: String)
        // The static release build alone takes minutes on two busy cores.
        do { r = try TestEnvironment.run([script], environment: ["SANDNET_OFFLINE": "1"], timeout: .seconds(1800)) } catch {
            return Prepared(buildError: "cannot run \(script): \(error)")
        }
        let tail = r.stderr.split(separator: "\n").suffix(15).joined(separator: "\n")
        switch r.status {
        case 0:
            return Prepared(image: r.stdout.split(separator: "\n").last.map(String.init))
        case 3:
            return Prepared(skipReason: "the Debian cloud kernel or busybox-static is not unpacked (run scripts/setup.sh): \(tail)")
        default:
            return Prepared(buildError: "\(script) exited with \(r.status):\n\(tail)")
        }
    }

    /// One `sandnet check` run inside the guest.
    struct Run {
        var report: CheckReport
        var exitStatus: Int32
    }

    /// Boots the guest under TCG (bounded), returns the two runs and the whole console.
    static func boot(_ image: String, timeout: TimeInterval = 300) throws -> (before: Run, after: Run, console: String) {
        let argv = [
            qemu, "-M", "q35", "-accel", "tcg", "-cpu", "max", "-smp", "1", "-m", "1024",
            "-nographic", "-monitor", "none", "-no-reboot", "-nic", "none",
            "-kernel", image + "/vmlinuz", "-initrd", image + "/initrd.img",
            "-append", "console=ttyS0 panic=-1 quiet loglevel=1"
        ]
        let output: [UInt8]
        do {
            let r = try ProcessRunner.run(argv, timeout: .seconds(timeout))
            output = r.stdout + r.stderr
        } catch let ProcessRunnerError.timedOut(_, _, stdout, stderr) {
            let console = String(decoding: stdout + stderr, as: UTF8.self).replacingOccurrences(of: "\r", with: "")
            throw SeedGuestError("the guest did not power off within \(Int(timeout)) s; console:\n\(console.suffix(3000))")
        }
        let console = String(decoding: output, as: UTF8.self).replacingOccurrences(of: "\r", with: "")
        return (try run("before-insmod", in: console), try run("after-insmod", in: console), console)
    }

    /// The human report between `SANDNET-TEXT-BEGIN name` and `SANDNET-TEXT-END name`.
    static func text(_ name: String, in console: String) -> String? {
        guard let begin = console.range(of: "SANDNET-TEXT-BEGIN \(name)\n"),
            let end = console.range(of: "SANDNET-TEXT-END \(name)", range: begin.upperBound..<console.endIndex)
        else { return nil }
        return String(console[begin.upperBound..<end.lowerBound])
    }

    /// The NFD feature file between `SANDNET-NFD-BEGIN name` and `SANDNET-NFD-END name`.
    static func nfd(_ name: String, in console: String) -> String? {
        guard let begin = console.range(of: "SANDNET-NFD-BEGIN \(name)\n"),
            let end = console.range(of: "SANDNET-NFD-END \(name)", range: begin.upperBound..<console.endIndex)
        else { return nil }
        return String(console[begin.upperBound..<end.lowerBound])
    }

    /// The report between `SANDNET-CHECK-BEGIN name` and `SANDNET-CHECK-END name exit=N`.
    static func run(_ name: String, in console: String) throws -> Run {
        let lines = console.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let begin = lines.firstIndex(of: "SANDNET-CHECK-BEGIN \(name)"),
            let end = lines[begin...].firstIndex(where: { $0.hasPrefix("SANDNET-CHECK-END \(name) exit=") }),
            let status = Int32(lines[end].dropFirst("SANDNET-CHECK-END \(name) exit=".count))
        else {
            throw SeedGuestError("no complete \(name) report on the console:\n\(console.suffix(3000))")
        }
        let json = lines[(begin + 1)..<end].joined(separator: "\n")
        do {
            return Run(report: try JSONDecoder().decode(CheckReport.self, from: Data(json.utf8)), exitStatus: status)
        } catch {
            throw SeedGuestError("the \(name) report is not a check report (\(error)):\n\(json.prefix(3000))")
        }
    }
}

struct SeedGuestError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

@Suite("Seed failure in a real kernel: NETFILTER/XFRM netlink missing until nfnetlink and xfrm_user are loaded")
struct SeedReproductionTests {
    @Test(
        "static sandnet in a Debian cloud x86_64 guest: both families unavailable with cause and modprobe fix, then available after insmod",
        .enabled(
            if: SeedGuest.prepared.skipReason == nil,
            "qemu-system-x86_64 or the Debian cloud kernel package cannot be had (the exact reason is printed above)"))
    func seedFailureThenFixed() throws {
        if let e = SeedGuest.prepared.buildError {
            Issue.record(Comment(rawValue: e))
            return
        }
        let image = try #require(SeedGuest.prepared.image)
        let (before, after, console) = try SeedGuest.boot(image)
        let stderrLines = console.split(separator: "\n").filter { $0.hasPrefix("SANDNET-STDERR") }
        #expect(stderrLines.isEmpty, "sandnet wrote to stderr: \(stderrLines)")

        // Before: the modules are on disk, the kernel cannot load them on demand.
        let b = before.report
        print("SeedReproductionTests: before insmod (exit \(before.exitStatus)):")
        for id in ["netlink-route", "netlink-netfilter", "netlink-xfrm"] {
            let r = b.requirement(id)
            print(
                "  \(id): \(r?.status.rawValue ?? "?"): \(r?.summary ?? "?") | fix: \(r?.fix.map { "\($0.commands) \($0.notes)" } ?? "none")"
            )
        }
        #expect(b.host.architecture == .x86_64)
        #expect(b.host.kernelRelease.hasSuffix("-cloud-amd64"))
        #expect(b.host.kernelConfig?.hasPrefix("/boot/config-") == true)
        #expect(b.host.liveProbes)
        #expect(
            b.host.moduleLoading.supported && !b.host.moduleLoading.autoloadPossible,
            "the guest turned autoloading off: \(b.host.moduleLoading)")
        #expect(b.requirement("netlink-route")?.status == .pass)
        #expect(b.requirement("netlink-route")?.probe?.outcome == .passed)
        for (id, option, module) in [
            ("netlink-netfilter", "CONFIG_NETFILTER_NETLINK", "nfnetlink"),
            ("netlink-xfrm", "CONFIG_XFRM_USER", "xfrm_user")
        ] {
            let r = try #require(b.requirement(id))
            #expect(r.status == .fail, "\(id): \(r.summary)")
            let probe = try #require(r.probe, "\(id) was not probed")
            #expect(probe.outcome == .failed)
            #expect(probe.errno == EPROTONOSUPPORT, "\(id): \(probe.errnoName ?? "no errno")")
            #expect(
                probe.culprit?.contains(option) == true && probe.culprit?.contains(module) == true,
                "\(id) culprit: \(probe.culprit ?? "none")")
            #expect(r.summary.contains("\(option)=m (\(module) not loaded, and cannot load on demand)"), "\(id): \(r.summary)")
            #expect(r.options.first?.option == option && r.options.first?.value == .module)
            if case .onDisk(let path)? = r.options.first?.moduleState {
                #expect(path.hasSuffix("/\(module).ko"))
            } else {
                Issue.record("\(id): \(module) should be on disk, not loaded: \(String(describing: r.options.first?.moduleState))")
            }
            // A modular kernel: load the module, no rebuild.
            let fix = try #require(r.fix, "\(id) has no fix")
            #expect(fix.commands.first == "modprobe \(module)", "\(id) fix: \(fix.commands)")
            #expect(fix.kernelConfig.isEmpty, "\(id) asks for a rebuild although \(module).ko is there: \(fix.kernelConfig)")
            #expect(fix.notes.contains { $0.contains(module) && $0.contains("cannot load it on demand") }, "\(id) notes: \(fix.notes)")
        }
        // Everything else either model needs was loaded at boot; only KVM is missing (TCG has none).
        for m in [NetworkModel.tcfilter, .macvtap] {
            let v = b.model(m)
            #expect(v.status == .fail && v.checked)
            #expect(Set(v.failed).subtracting(["kvm"]) == ["netlink-netfilter", "netlink-xfrm"], "\(m) failed: \(v.failed)")
        }
        #expect(before.exitStatus == 1)
        // A TCG guest has no /dev/kvm: absent, said so, and what it means.
        let kvm = try #require(b.kvm, "no KVM verdict in the guest")
        print("SeedReproductionTests: KVM in the TCG guest: \(kvm.verdict.rawValue): \(kvm.reason); ran: \(kvm.ran)")
        #expect(kvm.verdict == .absent)
        #expect(kvm.ran.contains { $0.hasPrefix("open /dev/kvm") })
        #expect(b.requirement("kvm")?.status == .fail)
        let textBefore = try #require(SeedGuest.text("before-insmod", in: console), "no human report before insmod")
        #expect(textBefore.contains("KVM: ABSENT: /dev/kvm does not exist"), "\(textBefore)")
        #expect(textBefore.contains("✗ NETLINK_NETFILTER sockets") && textBefore.contains("✗ NETLINK_XFRM sockets"), "\(textBefore)")
        #expect(textBefore.contains("      modprobe nfnetlink\n") && textBefore.contains("      modprobe xfrm_user\n"), "\(textBefore)")

        // After insmod nfnetlink, xfrm_algo, xfrm_user: the same check.
        let a = after.report
        print("SeedReproductionTests: after insmod (exit \(after.exitStatus)):")
        for id in ["netlink-route", "netlink-netfilter", "netlink-xfrm"] {
            print("  \(id): \(a.requirement(id)?.status.rawValue ?? "?"): \(a.requirement(id)?.summary ?? "?")")
        }
        for m in [NetworkModel.tcfilter, .macvtap] {
            print("  model \(m.rawValue): \(a.model(m).status.rawValue), failed \(a.model(m).failed)")
        }
        for (id, module) in [("netlink-netfilter", "nfnetlink"), ("netlink-xfrm", "xfrm_user")] {
            let r = try #require(a.requirement(id))
            #expect(r.status == .pass, "\(id): \(r.summary)")
            #expect(r.probe?.outcome == .passed)
            #expect(r.options.first?.moduleState == .loaded, "\(module): \(String(describing: r.options.first?.moduleState))")
            #expect(r.fix == nil)
        }
        #expect(a.requirement("netlink-route")?.status == .pass)
        let textAfter = try #require(SeedGuest.text("after-insmod", in: console), "no human report after insmod")
        #expect(textAfter.contains("✓ NETLINK_NETFILTER sockets") && textAfter.contains("✓ NETLINK_XFRM sockets"), "\(textAfter)")
        #expect(!textAfter.contains("Fixes:\n  NETLINK") && !textAfter.contains("      modprobe "), "\(textAfter)")
        for m in [NetworkModel.tcfilter, .macvtap] {
            #expect(Set(a.model(m).failed).subtracting(["kvm"]).isEmpty, "\(m) still fails: \(a.model(m).failed)")
        }

        // The guest's NFD files: valid, expiring, and saying what the reports say.
        let ns = NodeFeatureFile.namespace
        for (run, report) in [("before-insmod", b), ("after-insmod", a)] {
            let file = try #require(SeedGuest.nfd(run, in: console), "no NFD file \(run)")
            print("SeedReproductionTests: NFD feature file in the guest, \(run):\n\(file)")
            let lines = file.split(separator: "\n").map(String.init)
            #expect(lines.first?.hasPrefix("# +expiry-time=") == true)
            for line in lines { #expect(NFDRules.problem(line: line) == nil, "\(line)") }
            #expect(lines.contains("\(ns)/kvm-verdict=absent"))
            #expect(lines.contains("\(ns)/ready=false"))
            #expect(lines.contains("\(ns)/netlink-xfrm=\(report.requirement("netlink-xfrm")?.status == .pass)"))
        }
    }
}
