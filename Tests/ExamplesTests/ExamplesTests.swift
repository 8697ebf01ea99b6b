import Foundation
import TestSupport
import Testing

/// The programs in examples/, built next to this bundle, run against a throwaway
/// namespace holding a veth pair, and checked against `ip -j` / `tc -j`.
@Suite(.serialized) struct ExamplesTests {
    @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"))
    func listLinksPrintsWhatIpPrints() throws {
        try withVethNamespace { ns in
            let out = try runExample("list-links", [ns.name])
            #expect(out.status == 0, "\(out.stderr)")
            // Skip the header; each row is INDEX NAME KIND STATE MAC.
            let rows = out.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: " ").map(String.init) }
            let ours = rows.map { "\($0[0]) \($0[1])" }.sorted()
            let ip = try ns.ipJSON("link", "show").map { "\($0["ifindex"] as? Int ?? -1) \($0["ifname"] as? String ?? "?")" }.sorted()
            #expect(ours == ip)
            #expect(rows.first { $0[1] == "veth-a" }?[2] == "veth")
        }
    }

    @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"))
    func tapRedirectInstallsIngressAndMirredBothWays() throws {
        try withVethNamespace { ns in
            let out = try runExample("tap-redirect", [ns.name, "veth-a"])
            #expect(out.status == 0, "\(out.stderr)")
            #expect(try ns.ipJSON("link", "show", "sn-tap0").first?["ifname"] as? String == "sn-tap0")
            for (from, to) in [("veth-a", "sn-tap0"), ("sn-tap0", "veth-a")] {
                let qdiscs = try ns.tcJSON("qdisc", "show", "dev", from)
                #expect(qdiscs.contains { $0["kind"] as? String == "ingress" }, "no ingress qdisc on \(from)")
                let filters = try ns.tcJSON("filter", "show", "dev", from, "ingress")
                #expect(
                    filters.contains { f in
                        f["kind"] as? String == "u32"
                            && Self.actions(of: f).contains {
                                $0["kind"] as? String == "mirred" && $0["to_dev"] as? String == to
                                    && $0["mirred_action"] as? String == "redirect"
                            }
                    }, "no u32 filter on \(from) redirecting to \(to): \(filters)")
            }
        }
    }

    @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"))
    func attachSandboxLeavesTheNamespaceAsItWas() throws {
        try withVethNamespace { ns in
            try ns.ip("addr", "add", "198.51.100.10/24", "dev", "veth-a")
            let before = try snapshot(ns)
            let state = FileManager.default.temporaryDirectory.appendingPathComponent(
                "snx-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            ).path
            defer { try? FileManager.default.removeItem(atPath: state) }
            let out = try runExample("attach-sandbox", [ns.name], environment: ["SANDNET_STATE_DIR": state])
            #expect(out.status == 0, "\(out.stderr)")
            #expect(out.stdout.contains("endpoint veth-a: tcfilter"), "\(out.stdout)")
            #expect(out.stdout.contains("detached example-"), "\(out.stdout)")
            #expect(try snapshot(ns) == before)
        }
    }

    /// Links, addresses, routes and qdiscs as `ip`/`tc` print them, without counters.
    func snapshot(_ ns: TestNamespace) throws -> [String] {
        try ns.ip("-br", "link", "show").split(separator: "\n").map(String.init)
            + ns.ip("-br", "addr", "show").split(separator: "\n").map(String.init)
            + ns.ip("route", "show", "table", "all").split(separator: "\n").map(String.init)
            + ns.tc("qdisc", "show").split(separator: "\n").map(String.init)
    }

    static func actions(of filter: [String: Any]) -> [[String: Any]] {
        (filter["options"] as? [String: Any])?["actions"] as? [[String: Any]] ?? []
    }

    /// A namespace with a veth pair veth-a/veth-b, both up; always removed.
    func withVethNamespace(_ body: (TestNamespace) throws -> Void) throws {
        try TestNamespace.with(prefix: "snx") { ns in
            try ns.ip("link", "add", "veth-a", "type", "veth", "peer", "name", "veth-b")
            try ns.ip("link", "set", "veth-a", "up")
            try ns.ip("link", "set", "veth-b", "up")
            try body(ns)
        }
    }
}

/// Runs a built example through TestSupport's runner (ProcessRunner), killed after 60 s.
func runExample(_ name: String, _ arguments: [String], environment: [String: String] = [:]) throws
    -> (status: Int32, stdout: String, stderr: String)
{
    let path = builtExecutable(name)
    guard FileManager.default.isExecutableFile(atPath: path) else {
        throw TestFailure("example \(name) is not built at \(path); run `swift build --build-tests` first")
    }
    return try TestEnvironment.run([path] + arguments, environment: environment, timeout: .seconds(60))
}

/// A built executable of this package next to the test bundle (as CLIFixture finds `sandnet`).
func builtExecutable(_ name: String) -> String {
    let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for candidate in [dir, dir.deletingLastPathComponent()] {
        let p = candidate.appendingPathComponent(name).path
        if FileManager.default.isExecutableFile(atPath: p) { return p }
    }
    return dir.appendingPathComponent(name).path
}
