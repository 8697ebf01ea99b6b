import CNI
import Foundation
import ProcessRunner
import TestSupport
import Testing

/// The checks every ADD result of the chain gets: the JSON Schema of the CNI 1.0 result,
/// the specification's semantic rules (CNIResult.parse), and tc-redirect-tap's shape field
/// by field against the previous plugin's result.
enum ResultShape {
    static let schema = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/cni/result-1.0.schema.json").path

    /// python3-jsonschema (scripts/setup.sh installs it) against the fixture schema.
    static func schemaErrors(_ result: [String: Any]) throws -> String? {
        let file = NSTemporaryDirectory() + "sandnet-cni-result-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).json"
        try JSONSerialization.data(withJSONObject: result).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let script = """
            import json, sys, jsonschema
            schema = json.load(open(sys.argv[1]))
            jsonschema.Draft202012Validator.check_schema(schema)
            errors = [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(json.load(open(sys.argv[2])))]
            print("; ".join(errors))
            sys.exit(1 if errors else 0)
            """
        let r = try ProcessRunner.run(["python3", "-c", script, schema, file], timeout: .seconds(30))
        return r.succeeded ? nil : r.stdoutText + r.stderrText
    }

    static var jsonschemaAvailable: Bool {
        (try? ProcessRunner.run(["python3", "-c", "import jsonschema"], timeout: .seconds(30)).succeeded) ?? false
    }

    /// tc-redirect-tap's result, as its ADD builds it: the previous result's interfaces and
    /// IPs unchanged; then the tap (sandbox: the netns, mac: the tap's); then a pseudo-interface
    /// named like the tap whose sandbox is the container id, carrying the redirected
    /// interface's MAC; then each IP of the redirected interface again, pointing at it.
    static func expectTcRedirectTapShape(
        _ result: [String: Any], previous: [String: Any], interface: String, netns: String, containerID: String,
        tapName: String, tapMAC: String, guestMAC: String
    ) throws {
        let prevIfaces = previous["interfaces"] as? [[String: Any]] ?? []
        let prevIPs = previous["ips"] as? [[String: Any]] ?? []
        let ifaces = try #require(result["interfaces"] as? [[String: Any]])
        let ips = try #require(result["ips"] as? [[String: Any]])
        #expect(result["cniVersion"] as? String == previous["cniVersion"] as? String)
        #expect(ifaces.count == prevIfaces.count + 2)
        for (i, p) in prevIfaces.enumerated() { #expect(NSDictionary(dictionary: ifaces[i]).isEqual(to: p), "interface \(i) changed") }
        for (i, p) in prevIPs.enumerated() { #expect(NSDictionary(dictionary: ips[i]).isEqual(to: p), "ip \(i) changed") }
        #expect(NSArray(array: result["routes"] as? [Any] ?? []).isEqual(to: previous["routes"] as? [Any] ?? []))
        #expect(NSDictionary(dictionary: result["dns"] as? [String: Any] ?? [:]).isEqual(to: previous["dns"] as? [String: Any] ?? [:]))

        let tap = ifaces[prevIfaces.count]
        let vm = ifaces[prevIfaces.count + 1]
        #expect(Set(tap.keys) == ["name", "mac", "sandbox"])
        #expect(Set(vm.keys) == ["name", "mac", "sandbox"])
        #expect(tap["name"] as? String == tapName)
        #expect(tap["sandbox"] as? String == netns)
        #expect(tap["mac"] as? String == tapMAC)
        #expect(vm["name"] as? String == tapName)
        #expect(vm["sandbox"] as? String == containerID)
        #expect(vm["mac"] as? String == guestMAC)

        let redirected = try #require(prevIfaces.firstIndex { $0["name"] as? String == interface && $0["sandbox"] as? String == netns })
        let theirs = prevIPs.filter { $0["interface"] as? Int == redirected }
        let copies = Array(ips[prevIPs.count...])
        #expect(copies.count == theirs.count)
        for (c, t) in zip(copies, theirs) {
            #expect(c["address"] as? String == t["address"] as? String)
            #expect(c["gateway"] as? String == t["gateway"] as? String)
            #expect(c["interface"] as? Int == prevIfaces.count + 1)
        }
        // What a tc-redirect-tap consumer looks up (firecracker-go-sdk's VMTapPair): exactly
        // one interface in the VM's sandbox, and exactly one other interface of its name.
        let inVM = ifaces.filter { $0["sandbox"] as? String == containerID }
        #expect(inVM.count == 1)
        #expect(ifaces.filter { $0["name"] as? String == tapName && $0["sandbox"] as? String != containerID }.count == 1)

        // And the specification's own rules (interface indexes in range, MACs, prefixes).
        let data = try JSONSerialization.data(withJSONObject: result)
        _ = try CNIResult.parse(data, expectedVersion: result["cniVersion"] as? String ?? "")
    }
}
