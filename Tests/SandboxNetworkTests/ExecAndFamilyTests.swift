import Foundation
import ProcessRunner
import SandboxNetwork
import SandnetCore
import TestSupport
import Testing

extension SandboxIntegration {
    @Suite(.serialized) struct ExecAndFamilyTests {
        /// `attach --exec` replaces itself with the given program, which must find exactly
        /// stdin/stdout/stderr plus the queue descriptors its -netdev arguments name.
        @Test(
            .enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"),
            .enabled(if: SandnetBinary.exists, "the sandnet binary is not built (swift build)"),
            arguments: [NetworkModel.tcfilter, .macvtap])
        func execHandsOverExactlyTheQueueDescriptors(_ model: NetworkModel) throws {
            try PodFixture.with { f in
                try f.addEndpoint("eth0", .veth, number: 0)
                try f.addEndpoint("eth1", .macvlan, number: 1)
                let state = StateDirectory()
                // The "QEMU" lists its own descriptors and what they are, then prints its arguments.
                // The listing runs in a subshell that writes to a file: the shell itself opens
                // nothing meanwhile (a `ls | sed` pipeline would have it hold the pipe while ls
                // looks, and a plain `ls >file` makes dash keep a saved copy of stdout).
                let listing = NSTemporaryDirectory() + "sandnet-exec-fds-\(getpid())-\(model.rawValue)"
                defer { unlink(listing) }
                let script =
                    #"(ls -l /proc/$$/fd) >"# + "'\(listing)'" + #"; sed -n 's/.* \([0-9]*\) -> \(.*\)/fd \1 \2/p' "#
                    + "'\(listing)'" + #"; for a in "$@"; do echo "arg $a"; done"#
                let r = try SandnetBinary.run([
                    "attach", "--netns", f.pod.namespace.path, "--sandbox", "ex", "--model", model.rawValue,
                    "--vcpus", "3", "--state-dir", state.path, "--exec", "--", "/bin/sh", "-c", script, "qemu"
                ])
                #expect(r.status == 0, "\(r.stderr)")
                let lines = r.stdout.split(separator: "\n").map(String.init)
                let fds = Dictionary(
                    lines.filter { $0.hasPrefix("fd ") }.map { l -> (Int32, String) in
                        let p = l.split(separator: " ", maxSplits: 2).map(String.init)
                        return (Int32(p[1])!, p.count > 2 ? p[2] : "")
                    }, uniquingKeysWith: { a, _ in a })
                let netdevs = lines.filter { $0.hasPrefix("arg tap,") }
                #expect(netdevs.count == 2)
                let named = netdevs.flatMap { a -> [Int32] in
                    let fdsField = a.split(separator: ",").first { $0.hasPrefix("fds=") }!.dropFirst(4)
                    return fdsField.split(separator: ":").map { Int32($0)! }
                }
                #expect(named.count == 6, "two NICs with three queues each")
                #expect(Set(fds.keys) == Set([0, 1, 2] + named), "open descriptors \(fds)")
                for fd in named {
                    let target = fds[fd] ?? ""
                    #expect(model == .tcfilter ? target == "/dev/net/tun" : target.contains("tap"), "fd \(fd) is \(target)")
                }
                let d = try SandnetBinary.run(["detach", "--sandbox", "ex", "--state-dir", state.path, "--force"])
                #expect(d.status == 0, "\(d.stderr)")
            }
        }

        /// Scan and attach need NETLINK_ROUTE only. Shown two ways: (1) the attach process,
        /// stopped in the middle of its work, holds netlink sockets of protocol 0 and no other;
        /// (2) with socket(2) made to refuse NETLINK_XFRM and NETLINK_NETFILTER exactly as a
        /// kernel without them does (EPROTONOSUPPORT, through an LD_PRELOAD shim), scan, attach
        /// and detach still work.
        @Test(
            .enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"),
            .enabled(if: LabBinary.exists, "the sandnet-lab binary is not built (swift build)"))
        func attachHoldsOnlyRouteNetlinkSockets() throws {
            try PodFixture.withEndpoint { f in
                let state = StateDirectory()
                let p = try ProcessRunner.spawn([
                    LabBinary.path, "fault-attach", "--stop-after", "3",
                    "--netns", f.pod.namespace.path, "--sandbox", "fam", "--model", "tcfilter", "--state-dir", state.path
                ])
                // On a failed expectation: let it finish its attach (detach below undoes it), bounded.
                defer {
                    p.signal(SIGCONT)
                    _ = try? p.wait(timeout: .seconds(60))
                }
                let pid = p.pid
                var stopped = false
                for _ in 0..<200 where !stopped {
                    let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
                    stopped = stat.split(separator: ")").last?.split(separator: " ").first == "T"
                    if !stopped { usleep(20_000) }
                }
                try #require(stopped, "the attach did not reach its pause point")
                // Socket inodes the process holds.
                let fdDir = "/proc/\(pid)/fd"
                let inodes: [String] = try FileManager.default.contentsOfDirectory(atPath: fdDir).compactMap {
                    let t = (try? FileManager.default.destinationOfSymbolicLink(atPath: "\(fdDir)/\($0)")) ?? ""
                    return t.hasPrefix("socket:[") ? String(t.dropFirst(8).dropLast()) : nil
                }
                // Netlink sockets by inode, in the host namespace and in the pod (sockets stay where they were made).
                var protocolByInode: [String: String] = [:]
                let tables = [
                    try String(contentsOfFile: "/proc/\(pid)/net/netlink", encoding: .utf8),
                    try TestEnvironment.sh(["ip", "netns", "exec", f.pod.name, "cat", "/proc/net/netlink"])
                ]
                for table in tables {
                    for line in table.split(separator: "\n").dropFirst() {
                        let c = line.split(separator: " ", omittingEmptySubsequences: true)
                        if c.count >= 10 { protocolByInode[String(c[9])] = String(c[1]) }
                    }
                }
                let netlink = inodes.compactMap { protocolByInode[$0] }
                #expect(!netlink.isEmpty, "the paused attach holds its NETLINK_ROUTE socket")
                #expect(netlink.allSatisfy { $0 == "0" }, "netlink protocols held: \(netlink)")
                p.signal(SIGCONT)
                #expect(try p.wait(timeout: .seconds(60)) == .exited(0))
                _ = try SandnetBinary.run(["detach", "--sandbox", "fam", "--state-dir", state.path])
            }
        }

        @Test(
            .enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"),
            .enabled(if: SandnetBinary.exists, "the sandnet binary is not built (swift build)"),
            .enabled(if: RefuseNetlinkShim.path != nil, "no C compiler to build the LD_PRELOAD shim"))
        func scanAndAttachWorkWhenXfrmAndNetfilterAreRefused() throws {
            let shim = try #require(RefuseNetlinkShim.path)
            // Its only user: the shim's directory goes with this test.
            defer { try? FileManager.default.removeItem(atPath: (shim as NSString).deletingLastPathComponent) }
            // The shim really refuses: python's socket() goes through the same libc call.
            let check = try TestEnvironment.run([
                "env", "LD_PRELOAD=\(shim)", "python3", "-c",
                "import socket\nfor p in (6, 12):\n  try:\n    socket.socket(16, socket.SOCK_RAW, p); print('open', p)\n  except OSError as e: print('refused', p, e.errno)\nsocket.socket(16, socket.SOCK_RAW, 0); print('open 0')"
            ])
            #expect(check.stdout == "refused 6 93\nrefused 12 93\nopen 0\n", "\(check.stdout) \(check.stderr)")
            try PodFixture.withEndpoint { f in
                let before = try f.snapshot()
                let state = StateDirectory()
                let env = ["LD_PRELOAD": shim]
                let scan = try SandnetBinary.run(["scan", "--netns", f.pod.namespace.path, "--json"], environment: env)
                #expect(scan.status == 0, "\(scan.stderr)")
                #expect(scan.stdout.contains("\"endpointCount\" : 1"))
                for model in NetworkModel.allCases {
                    let a = try SandnetBinary.run(
                        [
                            "attach", "--netns", f.pod.namespace.path, "--sandbox", "nx", "--model", model.rawValue,
                            "--state-dir", state.path
                        ], environment: env)
                    #expect(a.status == 0, "\(model): \(a.stderr)")
                    let d = try SandnetBinary.run(["detach", "--sandbox", "nx", "--state-dir", state.path], environment: env)
                    #expect(d.status == 0, "\(model): \(d.stderr)")
                }
                #expect(try f.snapshot() == before)
            }
        }
    }
}

/// A tiny LD_PRELOAD library whose socket() refuses NETLINK_XFRM (6) and NETLINK_NETFILTER
/// (12) with EPROTONOSUPPORT, as a kernel built without them does.
enum RefuseNetlinkShim {
    static let path: String? = {
        let dir = NSTemporaryDirectory() + "sandnet-shim-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let src = "\(dir)/refuse.c"
        let lib = "\(dir)/refuse.so"
        let code = """
            #define _GNU_SOURCE
            #include <dlfcn.h>
            #include <errno.h>
            #include <sys/socket.h>
            int socket(int domain, int type, int protocol) {
                static int (*real)(int, int, int);
                if (!real) real = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
                if (domain == AF_NETLINK && (protocol == 6 || protocol == 12)) { errno = EPROTONOSUPPORT; return -1; }
                return real(domain, type, protocol);
            }
            """
        guard (try? code.write(toFile: src, atomically: true, encoding: .utf8)) != nil,
            let r = try? TestEnvironment.run(["gcc", "-shared", "-fPIC", "-o", lib, src, "-ldl"]), r.status == 0
        else { return nil }
        return lib
    }()
}
