import Foundation
import NetlinkSocket
import ProcessRunner
import TestSupport
import Testing

/// Issue 11, point 9: `sandnet explain` is read-only unless `--probe` is given, and a probe
/// namespace left by a killed process is swept by the next probing run.
extension SandboxIntegration {
    @Suite(.serialized) struct ExplainReadOnlyTests {
        static let strace = ["/usr/bin/strace", "/bin/strace"].first { FileManager.default.isExecutableFile(atPath: $0) }
        static let kvmMessage = "qemu: Could not access KVM kernel module: No such file or directory"
        static let qdiscMessage = "failed to add ingress qdisc: device or resource busy"
        static let probePrefix = "sandnet-check-"

        /// Runs sandnet under strace and returns what it opened, unshared and entered.
        static func traced(_ args: [String]) throws -> (status: Int32, trace: String) {
            let out = NSTemporaryDirectory() + "sandnet-explain-trace-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            defer { unlink(out) }
            let r = try TestEnvironment.run(
                [strace!, "-f", "-qq", "-e", "trace=open,openat,unshare,setns", "-o", out, SandnetBinary.path] + args)
            return (r.status, (try? String(contentsOfFile: out, encoding: .utf8)) ?? "")
        }

        static func probeNamespaces() -> [String] { NetworkNamespace.listNamed().filter { $0.hasPrefix(probePrefix) } }

        @Test(
            .enabled(if: TestEnvironment.isRoot, "needs root: the probes it must not run need root"),
            .enabled(if: SandnetBinary.exists, "the sandnet binary is not built (swift build)"),
            .enabled(if: strace != nil, "strace is not installed: cannot watch what explain opens"))
        func explainOpensNoDeviceAndCreatesNoNamespace() throws {
            for message in [Self.kvmMessage, Self.qdiscMessage] {
                let (status, trace) = try Self.traced(["explain", message])
                #expect(status == 0, "\(trace.suffix(500))")
                #expect(!trace.isEmpty, "strace recorded nothing")
                let opened = trace.split(separator: "\n").filter {
                    $0.contains("/dev/kvm") || $0.contains("/dev/net/tun") || $0.contains("/dev/vhost")
                }
                #expect(opened.isEmpty, "explain opened device nodes: \(opened)")
                let unshared = trace.split(separator: "\n").filter { $0.contains("unshare(") || $0.contains("setns(") }
                #expect(unshared.isEmpty, "explain made or entered namespaces: \(unshared)")
            }
            // The same watch sees it when probes are asked for: the test above can fail.
            let (_, probed) = try Self.traced(["explain", "--probe", Self.kvmMessage])
            #expect(probed.contains("/dev/kvm"), "explain --probe did not open /dev/kvm")
        }

        /// A leftover probe namespace of a dead process is removed by the next probing run; one
        /// whose creator still runs is left alone.
        @Test(
            .enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"),
            .enabled(if: SandnetBinary.exists, "the sandnet binary is not built (swift build)"))
        func nextProbingRunSweepsTheNamespaceOfAKilledOne() throws {
            var leftover: String?
            defer { if let leftover { try? NetworkNamespace.delete(named: leftover) } }
            // SIGKILL an `explain --probe` while its throwaway namespace exists (the namespace
            // lives for a few milliseconds: try a few times).
            for _ in 0..<20 where leftover == nil {
                let p = try ProcessRunner.spawn([SandnetBinary.path, "explain", "--probe", Self.qdiscMessage])
                let mine = "\(Self.probePrefix)\(p.pid)-"
                var seen: String?
                for _ in 0..<20_000 where seen == nil {
                    seen = Self.probeNamespaces().first { $0.hasPrefix(mine) }
                    if seen == nil {
                        if !p.isRunning { break }
                        usleep(200)
                    }
                }
                if seen != nil { p.signal(SIGKILL) }
                _ = try? p.wait(timeout: .seconds(30))
                leftover = Self.probeNamespaces().first { $0.hasPrefix(mine) }
            }
            let left = try #require(leftover, "never caught explain --probe with its namespace in place")
            // A namespace named for a live process (this one) must survive the sweep.
            let alive = "\(Self.probePrefix)\(getpid())-1"
            try NetworkNamespace.create(named: alive)
            defer { try? NetworkNamespace.delete(named: alive) }
            let r = try SandnetBinary.run(["explain", "--probe", Self.qdiscMessage])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(!NetworkNamespace.listNamed().contains(left), "the killed run's namespace \(left) is still there")
            #expect(NetworkNamespace.listNamed().contains(alive), "a live process's probe namespace was removed")
        }
    }
}
