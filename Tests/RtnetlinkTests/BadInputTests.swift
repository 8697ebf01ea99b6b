import Foundation
import NetlinkCodec
import NetlinkSocket
import Rtnetlink
import TestSupport
import Testing

/// Bad input gets a typed error with a clear sentence, and changes nothing.
@Suite(.serialized) struct BadInputTests {
    /// The sandnet executable built next to the test bundle (.build/<triple>/debug/sandnet).
    static let sandnetBinary: String? = {
        guard let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return nil }
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        for _ in 0..<3 {
            let candidate = dir.appendingPathComponent("sandnet").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }()

    static func refusal(_ body: () throws -> Void) -> NetlinkError? {
        do {
            try body()
            return nil
        } catch let e as NetlinkError { return e } catch { return nil }
    }

    @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"))
    func badNamesDuplicatesMissingLinksAndKernelReasonsChangeNothing() throws {
        try TestNamespace.with { ns in
            let rt = try Rtnetlink(namespace: ns.namespace)
            defer { rt.close() }
            try rt.linkAdd(LinkSpec(name: "ok0", kind: .veth(peerName: "ok1")))
            let before = try ns.ip("-j", "-d", "link", "show")
            for bad in ["", "sixteen-bytes-xx", "a/b", "a b", "tab\tname", "new\nline"] {
                let e = try #require(
                    Self.refusal { try rt.linkAdd(LinkSpec(name: bad, kind: .veth(peerName: "peer0"))) }, "name \(bad.debugDescription)")
                guard case .invalidArgument = e else {
                    Issue.record("\(bad.debugDescription): \(e)")
                    continue
                }
                #expect(e.description.contains("interface name") || e.description.contains("empty"))
                #expect(Self.refusal { try rt.linkSet(.name("ok0"), LinkChange(name: bad)) } != nil)
                #expect(Self.refusal { try rt.linkDelete(.name(bad)) } != nil)
            }
            let long = try #require(Self.refusal { try rt.linkAdd(LinkSpec(name: "sixteen-bytes-xx", kind: .bridge)) })
            #expect(long.description.contains("16 bytes") && long.description.contains("15"))

            let dup = try #require(Self.refusal { try rt.linkAdd(LinkSpec(name: "ok0", kind: .veth(peerName: "ok2"))) })
            #expect(dup.errno == EEXIST && dup.description.contains("ok0") && dup.description.contains("EEXIST"))
            let missing = try #require(Self.refusal { try rt.linkDelete(.name("nosuch0")) })
            #expect(missing.errno == ENODEV && missing.description.contains("nosuch0"))
            #expect(Self.refusal { try rt.linkDelete(.index(99999)) }?.errno == ENODEV)

            // The kernel explains through extended ACK; the text must reach the error.
            let mtu = try #require(Self.refusal { try rt.linkSet(.name("ok0"), LinkChange(mtu: 100_000)) })
            guard case .kernel(let r) = mtu else {
                Issue.record("expected a kernel refusal, got \(mtu)")
                return
            }
            #expect(r.errno == EINVAL && r.kernelMessage?.contains("mtu") == true)
            #expect(mtu.description.contains("kernel: \(r.kernelMessage ?? "?")"))
            // A macvlan needs a parent: built by hand without IFLA_LINK, the kernel refuses.
            let orphan = Rtnetlink.linkAddRequest(LinkSpec(name: "mv0", kind: .macvlan(parent: .index(0), mode: .bridge)), parentIndex: nil)
            #expect(Self.refusal { try rt.execute(orphan, operation: "add macvlan link", object: "mv0") }?.errno == EINVAL)

            #expect(try ns.ip("-j", "-d", "link", "show") == before, "failed requests changed nothing")
        }
    }

    @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"))
    func missingNamespaceIsATypedErrorNamingIt() throws {
        let ns = NetworkNamespace.named("sandnet-missing-\(getpid())")
        let e = try #require(Self.refusal { _ = try Rtnetlink(namespace: ns) })
        #expect(e.errno == ENOENT && e.description.contains(ns.path))
        #expect(Self.refusal { _ = try Rtnetlink(namespace: .named("../etc")) } != nil)
    }

    @Test(
        .enabled(
            if: TestEnvironment.isRoot && sandnetBinary != nil,
            "needs root and the built sandnet executable next to the test bundle (swift build --build-tests)"))
    func cliFailsWithOneSentenceAndExitCodes() throws {
        let bin = try #require(Self.sandnetBinary)
        let missing = try TestEnvironment.run([bin, "link", "--netns", "sandnet-missing-\(getpid())"])
        #expect(missing.status == 1)
        #expect(missing.stderr.hasPrefix("sandnet: ") && missing.stderr.contains("ip netns list"))
        #expect(missing.stderr.split(separator: "\n").count == 1)
        let usage = try TestEnvironment.run([bin, "route", "--table", "nonsense"])
        #expect(usage.status == 2)
        try TestNamespace.with { ns in
            try ns.ip("link", "add", "cli0", "type", "veth", "peer", "name", "cli1")
            try ns.ip("addr", "add", "198.51.100.2/24", "dev", "cli0")
            try ns.ip("link", "set", "cli0", "up")
            for cmd in ["link", "addr", "route", "neigh"] {
                let r = try TestEnvironment.run([bin, cmd, "--netns", ns.name, "--json"])
                #expect(r.status == 0, "\(cmd): \(r.stderr)")
                let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]]
                #expect(json != nil, "\(cmd) --json prints an array")
                let human = try TestEnvironment.run([bin, cmd, "--netns", ns.name])
                #expect(human.status == 0)
                if cmd != "neigh" { #expect(human.stdout.contains(cmd == "route" ? "198.51.100.0/24 dev cli0" : "cli0")) }
            }
            let links =
                try JSONSerialization.jsonObject(with: Data(try TestEnvironment.sh([bin, "link", "--netns", ns.name, "--json"]).utf8))
                as? [[String: Any]] ?? []
            let cli0 = try #require(links.first { $0["name"] as? String == "cli0" })
            let ipView = try #require(try ns.ipJSON("link", "show", "cli0").first)
            #expect(cli0["index"] as? Int == ipView["ifindex"] as? Int && cli0["kind"] as? String == "veth")
            #expect(cli0["parent"] as? String == "cli1" && cli0["address"] as? String == ipView["address"] as? String)
            let addrs =
                try JSONSerialization.jsonObject(with: Data(try TestEnvironment.sh([bin, "addr", "--netns", ns.name, "--json"]).utf8))
                as? [[String: Any]] ?? []
            #expect(
                addrs.contains {
                    $0["address"] as? String == "198.51.100.2" && $0["prefixLength"] as? Int == 24 && $0["device"] as? String == "cli0"
                })
        }
    }

    /// A caller without CAP_NET_ADMIN: the real executable run as nobody, unprivileged.
    @Test(
        .enabled(
            if: TestEnvironment.isRoot && sandnetBinary != nil && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"),
            "needs root, setpriv (util-linux) and the built sandnet executable"))
    func nonRootCallerIsToldItNeedsCapNetAdmin() throws {
        let bin = try #require(Self.sandnetBinary)
        try TestNamespace.with { ns in
            let before = try ns.ip("-j", "-d", "link", "show")
            let r = try TestEnvironment.run([
                "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
                "--bounding-set=-all", bin, "link", "--netns", ns.name
            ])
            #expect(r.status == 1, "stdout: \(r.stdout) stderr: \(r.stderr)")
            #expect(r.stderr.contains("CAP_NET_ADMIN") && r.stderr.contains("EPERM"), "\(r.stderr)")
            #expect(try ns.ip("-j", "-d", "link", "show") == before)
        }
    }
}
