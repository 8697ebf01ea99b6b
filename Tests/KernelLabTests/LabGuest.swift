import Foundation
import KernelConformance
import ProcessRunner
import TestSupport

/// The kernel lab guest (scripts/guest/build-lab-image.sh): the Debian cloud kernel x86_64
/// with the modules of every feature the host may lack, Debian's ip and tc, and the static
/// sandnet-conformance, which prints one result line per check of ConformanceCatalog.
enum LabGuest {
    static let qemu = "qemu-system-x86_64"
    static let repoRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    enum Outcome: Sendable {
        /// The checks' results by name, how long the boot took, and the guest's `uname -r`.
        case ran([String: ConformanceResult], seconds: Double, kernel: String)
        /// The lab cannot run on this machine (no QEMU, the packages not cached): the tests skip.
        case unavailable(String)
        /// Building or booting it failed: every lab test fails with this.
        case broken(String)
    }

    /// Built (offline, rebuilt if stale) and booted once per test process.
    static let outcome: Outcome = {
        let o = prepareAndBoot()
        if case .unavailable(let why) = o { print("KernelLabTests: skipping the lab: \(why)") }
        return o
    }()

    static var skipReason: String? {
        if case .unavailable(let why) = outcome { return why }
        return nil
    }

    private static func prepareAndBoot() -> Outcome {
        guard TestEnvironment.isRoot else { return .unavailable("needs root to build the image's module tree") }
        guard (try? TestEnvironment.run(["sh", "-c", "command -v \(qemu)"]))?.status == 0 else {
            return .unavailable("\(qemu) is not installed (apt-get install qemu-system-x86)")
        }
        let script = repoRoot + "/scripts/guest/build-lab-image.sh"
        let built: (status: Int32, stdout: String, stderr: String)
        let buildStart = ContinuousClock.now
        // A static release build when the sources changed: minutes on two busy cores.
        do { built = try TestEnvironment.run([script], environment: ["SANDNET_OFFLINE": "1"], timeout: .seconds(1800)) } catch {
            return .broken("cannot run \(script): \(error)")
        }
        let tail = built.stderr.split(separator: "\n").suffix(15).joined(separator: "\n")
        switch built.status {
        case 0: break
        case 3: return .unavailable("the lab's packages are not cached (run scripts/setup.sh): \(tail)")
        default: return .broken("\(script) exited with \(built.status):\n\(tail)")
        }
        print("KernelLabTests: image ready in \(Int(seconds(since: buildStart))) s")
        guard let image = built.stdout.split(separator: "\n").last.map(String.init) else { return .broken("\(script) printed no image") }
        let bootStart = ContinuousClock.now
        do {
            let console = try boot(image)
            let results = try parse(console)
            let took = seconds(since: bootStart)
            let kernel = kernelRelease(console)
            if kernel == "?" { print("KernelLabTests: no kernel line in the console: \(console.prefix(600))") }
            print("KernelLabTests: the lab guest (kernel \(kernel)) booted and ran \(results.count) checks in \(Int(took)) s")
            return .ran(results, seconds: took, kernel: kernel)
        } catch {
            return .broken("\(error)")
        }
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// Boots the guest under TCG, bounded; the whole console.
    static func boot(_ image: String, timeout: Duration = .seconds(900)) throws -> String {
        let argv = [
            qemu, "-M", "q35", "-accel", "tcg", "-cpu", "max", "-smp", "1", "-m", "1024",
            "-nographic", "-monitor", "none", "-no-reboot", "-nic", "none",
            "-kernel", image + "/vmlinuz", "-initrd", image + "/initrd.img",
            "-append", "console=ttyS0 panic=-1 quiet loglevel=1"
        ]
        do {
            let r = try ProcessRunner.run(argv, timeout: timeout)
            return String(decoding: r.stdout + r.stderr, as: UTF8.self).replacingOccurrences(of: "\r", with: "")
        } catch let ProcessRunnerError.timedOut(_, _, stdout, stderr) {
            let console = String(decoding: stdout + stderr, as: UTF8.self).replacingOccurrences(of: "\r", with: "")
            throw TestFailure("the lab guest did not power off within \(timeout); console:\n\(console.suffix(3000))")
        }
    }

    /// The lab kernel's release, as lab-init's `SANDNET-STAGE init kernel=…` line gives it.
    static func kernelRelease(_ console: String) -> String {
        // Anywhere in a line: the kernel's own console output may share it.
        guard let r = console.range(of: "SANDNET-STAGE init kernel=") else { return "?" }
        return String(console[r.upperBound...].prefix { !$0.isWhitespace })
    }

    /// The `SANDNET-LAB-RESULT` lines, by check name; the run must have reached its end line.
    static func parse(_ console: String) throws -> [String: ConformanceResult] {
        let lines = console.split(separator: "\n").map(String.init)
        if let error = lines.first(where: { $0.hasPrefix("SANDNET-ERROR") }) {
            throw TestFailure("the lab guest could not set up: \(error); console:\n\(console.suffix(3000))")
        }
        guard lines.contains(where: { $0.hasPrefix("SANDNET-LAB-END ") }) else {
            throw TestFailure("the lab guest's conformance run did not finish; console:\n\(console.suffix(3000))")
        }
        var out: [String: ConformanceResult] = [:]
        for line in lines {
            guard let start = line.range(of: ConformanceResult.linePrefix) else { continue }
            let json = line[start.upperBound...]
            let r = try JSONDecoder().decode(ConformanceResult.self, from: Data(json.utf8))
            out[r.name] = r
        }
        return out
    }
}
