import Foundation
import HostCheck
import ProcessRunner
import SandnetCNIPlugin
import SandnetCore
import Testing

/// The CNI protocol of the built binary itself: versions, error objects, exit status. No root.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: ChainRig.binary), "sandnet-cni is not built (swift build --build-tests)"))
struct ProtocolTests {
    func run(_ env: [String: String], _ stdin: String) throws -> (status: Int32, object: [String: Any]?, text: String) {
        let r = try ProcessRunner.run([ChainRig.binary], input: Array(stdin.utf8), environment: .exactly(env), timeout: .seconds(30))
        return (r.termination.shellStatus, (try? JSONSerialization.jsonObject(with: Data(r.stdout))) as? [String: Any], r.stdoutText)
    }

    let attachment = ["CNI_CONTAINERID": "c1", "CNI_NETNS": "/run/netns/sn-none", "CNI_IFNAME": "eth0", "CNI_PATH": "/opt/cni/bin"]

    @Test func versionListsTheChainingVersions() throws {
        let r = try run(["CNI_COMMAND": "VERSION"], #"{"cniVersion":"1.0.0"}"#)
        #expect(r.status == 0)
        #expect(r.object?["cniVersion"] as? String == "1.0.0")
        #expect(r.object?["supportedVersions"] as? [String] == ["0.4.0", "1.0.0", "1.1.0"])
    }

    @Test func errorsAreSpecificationErrorObjectsWithNonZeroStatus() throws {
        let cases: [(String, [String: String], String, Int, String)] = [
            ("no command", [:], #"{"cniVersion":"1.0.0","name":"n"}"#, 4, "CNI_COMMAND is not set"),
            ("unknown command", ["CNI_COMMAND": "FROB"], #"{"cniVersion":"1.0.0","name":"n"}"#, 4, "FROB"),
            ("old version", attachment.merging(["CNI_COMMAND": "ADD"]) { $1 }, #"{"cniVersion":"0.3.1","name":"n"}"#, 1, "0.3.1"),
            ("not JSON", attachment.merging(["CNI_COMMAND": "ADD"]) { $1 }, "{nope", 6, "not a JSON object"),
            ("no name", attachment.merging(["CNI_COMMAND": "ADD"]) { $1 }, #"{"cniVersion":"1.0.0"}"#, 7, "name"),
            (
                "no ifname", ["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c1", "CNI_NETNS": "/x"], #"{"cniVersion":"1.0.0","name":"n"}"#, 4,
                "CNI_IFNAME"
            ),
            (
                "no prevResult", attachment.merging(["CNI_COMMAND": "ADD"]) { $1 }, #"{"cniVersion":"1.0.0","name":"n"}"#, 7,
                "chained plugin"
            ),
            (
                "bad model", attachment.merging(["CNI_COMMAND": "ADD"]) { $1 }, #"{"cniVersion":"1.0.0","name":"n","model":"none"}"#, 7,
                "model"
            ),
            (
                "bad queues", attachment.merging(["CNI_COMMAND": "ADD"]) { $1 }, #"{"cniVersion":"1.0.0","name":"n","queues":0}"#, 7,
                "queues"
            ),
            (
                "long tap name", attachment.merging(["CNI_COMMAND": "ADD"]) { $1 },
                #"{"cniVersion":"1.0.0","name":"n","tapName":"a-very-long-tap-name"}"#, 7, "tapName"
            ),
            ("STATUS before 1.1", ["CNI_COMMAND": "STATUS"], #"{"cniVersion":"1.0.0","name":"n"}"#, 1, "1.1.0"),
            (
                "bad CNI_ARGS", attachment.merging(["CNI_COMMAND": "DEL", "CNI_ARGS": "novalue"]) { $1 },
                #"{"cniVersion":"1.0.0","name":"n"}"#, 4, "CNI_ARGS"
            )
        ]
        for (what, env, stdin, code, words) in cases {
            let r = try run(env, stdin)
            #expect(r.status != 0, "\(what)")
            #expect(r.object?["code"] as? Int == code, "\(what): \(r.text)")
            #expect((r.object?["msg"] as? String)?.contains(words) == true, "\(what): \(r.text)")
            #expect(r.object?["cniVersion"] is String, "\(what)")
        }
    }

    @Test func tapNamesAndSandboxIDsAreStableAndFitTheKernel() {
        let a = AttachmentKey(network: "net", containerID: "0123456789abcdef", interfaceName: "eth0")
        let b = AttachmentKey(network: "net", containerID: "0123456789abcdef", interfaceName: "eth1")
        // Pinned: the same attachment gets the same names in every process, run and release.
        #expect(a.derivedTapName == AttachmentKey(network: "net", containerID: "0123456789abcdef", interfaceName: "eth0").derivedTapName)
        #expect(a.derivedTapName.utf8.count == 15)
        #expect(a.derivedTapName != b.derivedTapName)
        #expect(a.sandbox != b.sandbox)
        #expect(a.sandbox.hasPrefix(AttachmentKey.sandboxPrefix(network: "net")))
        #expect(!a.sandbox.hasPrefix(AttachmentKey.sandboxPrefix(network: "other")))
        #expect(AttachmentKey.fnv1aForTests("") == 0xcbf2_9ce4_8422_2325)
        #expect(AttachmentKey.fnv1aForTests("a") == 0xaf63_dc4c_8601_ec8c)
    }

    /// 0.4.0 results carry "version" on each IP; 1.0.0 ones must not.
    @Test func ipVersionKeyFollowsTheConfigurationsVersion() throws {
        let prev: [String: Any] = [
            "cniVersion": "0.4.0",
            "interfaces": [["name": "eth0", "mac": "02:00:00:00:00:01", "sandbox": "/run/netns/p"]],
            "ips": [["version": "4", "address": "203.0.113.2/24", "interface": 0], ["address": "2001:db8::2/64", "interface": 0]]
        ]
        for version in ["0.4.0", "1.0.0"] {
            let r = try ChainedResult(
                previous: prev, cniVersion: version, interface: "eth0", netns: "/run/netns/p", containerID: "c1", tap: "tap0",
                tapMAC: "02:00:00:00:00:02", guestMAC: "02:00:00:00:00:01")
            let ips = try #require(r.object["ips"] as? [[String: Any]])
            #expect(ips.count == 4)
            let copies = ips.suffix(2)
            #expect(copies.map { $0["interface"] as? Int } == [2, 2])
            if version == "0.4.0" {
                #expect(copies.map { $0["version"] as? String } == ["4", "6"])
            } else {
                #expect(copies.allSatisfy { $0["version"] == nil })
            }
            #expect(ChainedResult.tapPair(in: r.object, containerID: "c1")?.tap["sandbox"] as? String == "/run/netns/p")
        }
    }

    /// A kernel without the u32 classifier: the ADD error uses `sandnet check`'s words.
    @Test func kernelWithoutU32IsExplainedInTheChecksWords() throws {
        let failed = try JSONDecoder().decode(
            ProbeResult.self,
            from: Data(
                #"{"probe":"u32-filter","outcome":"failed","operation":"tc filter add dev X ingress u32","errno":95,"errnoName":"EOPNOTSUPP (Operation not supported)"}"#
                    .utf8))
        let failure = try #require(
            KernelSupport.failure(model: .tcfilter, probes: [.u32Filter: failed], cause: "attach failed at \"tcfilter for eth0\""))
        #expect(failure.code == 100)
        let requirement = try #require(Requirements.catalog(arch: nil).first { $0.probe == .u32Filter })
        #expect(failure.message.contains(requirement.title))
        #expect(failure.message.contains(requirement.why))
        #expect(failure.message.contains("CONFIG_NET_CLS_U32"))
        #expect(failure.message.contains("EOPNOTSUPP"))
        #expect(failure.details == "attach failed at \"tcfilter for eth0\"")
        // A probe of another model's requirement does not count against this one.
        let macvtap = try JSONDecoder().decode(
            ProbeResult.self, from: Data(#"{"probe":"macvtap","outcome":"failed","operation":"ip link add type macvtap"}"#.utf8))
        #expect(KernelSupport.failure(model: .tcfilter, probes: [.macvtap: macvtap], cause: "") == nil)
    }

    /// The documented conflist: ptp + host-local first, then sandnet-cni, whose keys it accepts
    /// (ADD gets as far as asking for the prevResult a runtime would pass).
    @Test func exampleConflistIsAcceptedByThePlugin() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("examples/cni/10-sandnet-ptp.conflist").path
        let list = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        let plugins = try #require(list["plugins"] as? [[String: Any]])
        #expect(plugins.map { $0["type"] as? String } == ["ptp", "sandnet-cni"])
        let ipam = try #require(plugins[0]["ipam"] as? [String: Any])
        #expect((ipam["ranges"] as? [Any])?.count == 2)
        var config = plugins[1]
        config["cniVersion"] = list["cniVersion"]
        config["name"] = list["name"]
        config["runtimeConfig"] = ["queues": 4]
        let stdin = String(decoding: try JSONSerialization.data(withJSONObject: config), as: UTF8.self)
        let r = try run(attachment.merging(["CNI_COMMAND": "ADD"]) { $1 }, stdin)
        #expect(r.object?["code"] as? Int == 7)
        #expect((r.object?["msg"] as? String)?.contains("chained plugin") == true, "\(r.text)")
    }
}
