import Foundation
import ProcessRunner
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `sandnet check --every` is a DaemonSet's loop: SIGTERM (the pod being stopped) must end
/// it with status 0 between runs, leaving the feature file whole and no temporary file in the
/// directory Node Feature Discovery reads (NFD would parse one as a feature file).
extension SandboxIntegration {
    @Suite struct CheckLoopSignalTests {
        @Test(.enabled(if: SandnetBinary.exists, "the sandnet binary is not built (swift build)"))
        func sigtermEndsTheLoopCleanly() throws {
            let dir = NSTemporaryDirectory() + "sandnet-nfd-loop-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let file = dir + "/sandnet"
            let p = try ProcessRunner.spawn([SandnetBinary.path, "check", "--no-probes", "--nfd", file, "--every", "10"])
            defer { _ = p.kill() }
            let deadline = ContinuousClock.now + .seconds(60)
            while !FileManager.default.fileExists(atPath: file), p.isRunning, ContinuousClock.now < deadline { usleep(50_000) }
            #expect(FileManager.default.fileExists(atPath: file), "no feature file within 60 s")
            #expect(p.isRunning, "the loop ended on its own: \(String(describing: p.termination))")
            #expect(p.signal(SIGTERM))
            let end = try p.wait(timeout: .seconds(30))
            #expect(end.shellStatus == 0, "\(end)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["sandnet"])
            let text = try String(contentsOfFile: file, encoding: .utf8)
            #expect(text.hasPrefix("# +expiry-time="), "\(text.prefix(200))")
        }
    }
}
