import Foundation
import TestSupport
import Testing

/// CNI 1.1's STATUS and GC against real attachments.
@Suite(
    .serialized,
    .enabled(if: TestEnvironment.isRoot, "needs root: CNI plugins create veths, taps and filters"),
    .enabled(
        if: FileManager.default.isExecutableFile(atPath: "/usr/lib/cni/ptp"),
        "containernetworking-plugins is not installed (/usr/lib/cni/ptp): run scripts/setup.sh"),
    .enabled(if: FileManager.default.isExecutableFile(atPath: ChainRig.binary), "sandnet-cni is not built (swift build --build-tests)"))
struct HousekeepingTests {
    @Test func gcUndoesOnlyAttachmentsTheRuntimeNoLongerLists() throws {
        try ChainRig.with { rig in
            try TestNamespace.with(prefix: "sn-cnicq") { second in
                // Debian's ptp speaks up to 1.0.0; STATUS and GC go to sandnet-cni as 1.1.0.
                let v11: [String: Any] = ["cniVersion": "1.1.0"]
                let pods = [("ctr-a", rig.netnsPath), ("ctr-b", second.namespace.path)]
                var results: [String: [String: Any]] = [:]
                for (id, netns) in pods {
                    rig.containerID = id
                    let ptp = try ChainRig.Run.require(try rig.invoke("ADD", rig.plugins[0], prevResult: nil, netns: netns))
                    results[id] = try ChainRig.Run.require(try rig.invoke("ADD", rig.plugins[1], prevResult: ptp, netns: netns))
                }
                #expect(rig.journals().count == 2)
                #expect(try rig.invoke("STATUS", rig.plugins[1], prevResult: nil, extra: v11).status == 0)

                let valid = v11.merging(["cni.dev/valid-attachments": [["containerID": "ctr-a", "ifname": "eth0"]]]) { $1 }
                let gc = try rig.invoke("GC", rig.plugins[1], prevResult: nil, extra: valid)
                #expect(gc.status == 0, "\(String(decoding: gc.stdout, as: UTF8.self))")
                #expect(rig.journals().count == 1)
                rig.containerID = "ctr-a"
                #expect(try rig.invoke("CHECK", rig.plugins[1], prevResult: results["ctr-a"]).status == 0)
                rig.containerID = "ctr-b"
                let gone = try rig.invoke("CHECK", rig.plugins[1], prevResult: results["ctr-b"], netns: second.namespace.path)
                #expect(gone.object?["code"] as? Int == 3, "\(String(decoding: gone.stdout, as: UTF8.self))")
                #expect(try second.tcJSON("qdisc", "show", "dev", "eth0", "ingress").isEmpty)
                #expect(try second.ipJSON("link", "show").filter { ($0["ifname"] as? String)?.hasPrefix("tap") == true }.isEmpty)
                #expect(try rig.pod.ipJSON("link", "show").filter { ($0["ifname"] as? String)?.hasPrefix("tap") == true }.count == 1)

                for (id, netns) in pods {
                    rig.containerID = id
                    #expect(try rig.invoke("DEL", rig.plugins[1], prevResult: nil, netns: netns).status == 0)
                    #expect(try rig.invoke("DEL", rig.plugins[0], prevResult: nil, netns: netns).status == 0)
                }
                #expect(rig.journals().isEmpty)
                #expect(rig.allocations().isEmpty)
            }
        }
    }
}
