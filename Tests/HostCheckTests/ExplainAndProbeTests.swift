import Foundation
import HostCheck
import NetlinkSocket
import TestSupport
import Testing

@Suite("Explain: field messages to cause, fix, and whether it applies here")
struct ExplainTests {
    @Test(
        "recognises the messages operators meet",
        arguments: [
            ("failed to create shim task: protocol not supported: unknown", "netlink-protocol-not-supported"),
            ("Fail to get network endpoints number: protocol not supported", "endpoints-number"),
            ("failed to create shim task: Unsupported network interface: vxlan: unknown", "unsupported-interface"),
            ("Invalid internetworking model", "invalid-model"),
            ("RTNETLINK answers: Device or resource busy (adding ingress qdisc)", "qdisc-busy"),
            ("Error: Specified qdisc kind is unknown.", "qdisc-unknown"),
            ("Failed to add filter for index 4 : no such file or directory", "filter-unknown"),
            ("Error: TC classifier not found.", "filter-unknown"),
            ("Error: Failed to load TC action module.", "filter-unknown"),
            ("Error: Unknown device type.", "unknown-link-kind"),
            ("qemu-system-x86_64: -netdev tap,vhost=on: Could not open '/dev/vhost-net': No such file or directory", "vhost-net-missing"),
            ("Could not access KVM kernel module: No such file or directory", "kvm-missing")
        ])
    func recognises(_ message: String, _ id: String) {
        #expect(Explain.match(message).map(\.id).contains(id), "\(Explain.match(message).map(\.id))")
    }

    @Test("an unrelated message matches nothing")
    func unrelated() { #expect(Explain.match("disk quota exceeded").isEmpty) }

    @Test("\"protocol not supported\" applies exactly when this host's XFRM or NETFILTER netlink is missing")
    func appliesFollowsProbe() {
        let report = HostCheck.run(CheckOptions(kataDefaultLookup: false))
        let e = Explain.explain("protocol not supported", report: report).first { $0.id == "netlink-protocol-not-supported" }
        let families = NetlinkProtocol.probe([.xfrm, .netfilter])
        #expect(e?.appliesHere == (families.allSatisfy(\.available) ? .no : .yes))
        #expect(e?.evidence.count == 2)
    }
}

@Suite("Live probes in a throwaway namespace, cross-checked against the kernel")
struct LiveProbeTests {
    @Test("netlink family probes agree with opening the sockets directly")
    func netlinkFamilies() {
        let results = LiveProbes.run([.netlinkRoute, .netlinkXfrm, .netlinkNetfilter])
        for f in NetlinkProtocol.probe([.route, .xfrm, .netfilter]) {
            let id = ProbeID.allCases.first { Requirements.family(of: $0) == f.family }!
            #expect((results[id]?.outcome == .passed) == f.available)
        }
        #expect(results[.netlinkRoute]?.outcome == .passed)
    }

    @Test(
        "every namespace probe runs, agrees with /dev, and leaves no namespace behind",
        .enabled(if: TestEnvironment.isRoot, "needs root: creates a namespace and opens device nodes"))
    func namespaceProbes() throws {
        let name = "sandnet-check-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let results = LiveProbes.run(namespaceName: name)
        #expect(results.count == ProbeID.allCases.count)
        #expect(results[.networkNamespace]?.outcome == .passed)
        for (p, path) in [
            (ProbeID.devTun, "/dev/net/tun"), (.devVhostNet, "/dev/vhost-net"), (.devKVM, "/dev/kvm"), (.devVhostVsock, "/dev/vhost-vsock")
        ] {
            let exists = FileManager.default.fileExists(atPath: path)
            if !exists { #expect(results[p]?.outcome == .failed && results[p]?.errno == ENOENT, "\(p)") }
        }
        // Each tc/link probe either works or names what is missing with errno and culprit.
        for p in [ProbeID.veth, .macvtap, .tapMultiqueue, .ingressQdisc, .u32Filter, .mirredAction] {
            let r = try #require(results[p])
            #expect(r.outcome != .skipped || r.detail?.contains("failed") == true, "\(p): \(r)")
            if r.outcome == .failed { #expect(r.errno != nil && r.culprit != nil, "\(p): \(r)") }
        }
        #expect(!NetworkNamespace.listNamed().contains(name))
    }

    @Test(
        "probes without root are skipped with the reason, never passed",
        .enabled(if: !TestEnvironment.isRoot, "runs only as a non-root user"))
    func unprivileged() {
        let r = LiveProbes.run([.veth])
        #expect(r[.veth]?.outcome == .skipped)
    }
}
