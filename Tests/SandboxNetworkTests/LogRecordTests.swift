import Foundation
import SandboxNetwork
import SandnetCore
import TestSupport
import Testing

/// Every stderr line of `sandnet ... --log-format json`, parsed; a line that is not one
/// JSON object of strings fails the test.
func jsonLogRecords(_ stderr: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [[String: String]] {
    try stderr.split(separator: "\n").map { line in
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8))
        return try #require(object as? [String: String], "not a JSON object of strings: \(line)", sourceLocation: sourceLocation)
    }
}

extension SandboxIntegration {
    /// `sandnet attach|detach|gc --log-level L --log-format json`, as a script following the
    /// log sees it: one JSON object per stderr line, one record per kernel change.
    @Suite(.serialized) struct LogRecordTests {
        static let changeKeys = ["sandbox", "namespace", "phase", "object", "objectKind", "step", "stepNumber", "operation"]
        static let stepKinds: Set<String> = ["createLink", "addIngressQdisc", "addRedirect", "setMAC", "removeAddresses"]

        @Test(
            .enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"),
            .enabled(if: SandnetBinary.exists, "the sandnet binary is not built (swift build)"),
            arguments: [NetworkModel.tcfilter, .macvtap])
        func attachLogsOneRecordPerKernelChange(_ model: NetworkModel) throws {
            try PodFixture.withEndpoint { f in
                try f.addEndpoint("eth1", .veth, number: 1)
                try f.configure("eth1", number: 1)
                let state = StateDirectory()
                let ns = f.pod.namespace.path
                let r = try SandnetBinary.run([
                    "attach", "--netns", ns, "--sandbox", "lg", "--model", model.rawValue, "--vcpus", "2",
                    "--state-dir", state.path, "--json", "--log-level", "debug", "--log-format", "json"
                ])
                try #require(r.status == 0, "\(r.stderr)")
                let summary = try JSONDecoder().decode(AttachSummary.self, from: Data(r.stdout.utf8))
                let records = try jsonLogRecords(r.stderr)
                for rec in records {
                    for key in ["time", "level", "label", "message"] { #expect(rec[key] != nil, "no \(key) in \(rec)") }
                }
                let changes = records.filter { $0["message"] == "kernel change" }
                #expect(summary.kernelChanges > 0)
                #expect(changes.count == summary.kernelChanges, "\(r.stderr)")
                for (i, c) in changes.enumerated() {
                    for key in Self.changeKeys { #expect(!(c[key] ?? "").isEmpty, "no \(key) in \(c)") }
                    #expect(c["level"] == "debug")
                    #expect(c["sandbox"] == "lg")
                    #expect(c["namespace"] == ns)
                    #expect(c["phase"] == "attach")
                    #expect(Self.stepKinds.contains(c["step"] ?? ""), "\(c)")
                    #expect(c["change"] == "\(i + 1)", "changes are numbered in order: \(c)")
                }
                // Step numbers never go down: the changes follow the journal. tcfilter makes all
                // taps first and brings each up in sandnet's group in its endpoint's datagram:
                // that change belongs to the tap's createLink step, so it is left out here.
                let steps = changes.filter { !($0["operation"] ?? "").hasPrefix("set link up") }
                    .compactMap { $0["stepNumber"].flatMap(Int.init) }
                #expect(steps == steps.sorted())
                for c in changes where (c["operation"] ?? "").hasPrefix("set link up") {
                    #expect(c["step"] == "createLink", "\(c)")
                }
                #expect(records.last?["message"] == "attach finished")
                #expect(records.last?["kernelChanges"] == "\(summary.kernelChanges)")
                if model == .macvtap {
                    #expect(changes.contains { $0["objectKind"] == "address" && $0["step"] == "removeAddresses" })
                }

                let d = try SandnetBinary.run([
                    "detach", "--sandbox", "lg", "--state-dir", state.path, "--log-level", "debug", "--log-format", "json"
                ])
                try #require(d.status == 0, "\(d.stderr)")
                let undone = try jsonLogRecords(d.stderr).filter { $0["message"] == "kernel change" }
                #expect(!undone.isEmpty)
                for u in undone {
                    #expect(u["phase"] == "detach")
                    #expect(["done", "nothing to undo"].contains(u["result"] ?? ""), "\(u)")
                    for key in Self.changeKeys { #expect(!(u[key] ?? "").isEmpty, "no \(key) in \(u)") }
                }

                // At the default level a successful attach and detach say nothing on stderr.
                let quiet = try SandnetBinary.run([
                    "attach", "--netns", ns, "--sandbox", "lg", "--model", model.rawValue,
                    "--state-dir", state.path
                ])
                #expect(quiet.status == 0 && quiet.stderr.isEmpty, "\(quiet.stderr)")
                let quietDetach = try SandnetBinary.run(["detach", "--sandbox", "lg", "--state-dir", state.path])
                #expect(quietDetach.status == 0 && quietDetach.stderr.isEmpty, "\(quietDetach.stderr)")
            }
        }

        @Test(
            .enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"),
            .enabled(if: SandnetBinary.exists, "the sandnet binary is not built (swift build)"))
        func aRollbackIsLoggedAtNotice() throws {
            try PodFixture.with { f in
                try f.addEndpoint("eth0", .veth, number: 0)
                try f.addEndpoint("eth1", .veth, number: 1)
                _ = try f.pod.tc("qdisc", "add", "dev", "eth1", "ingress") // someone else's: tcfilter refuses eth1
                let state = StateDirectory()
                let r = try SandnetBinary.run([
                    "attach", "--netns", f.pod.namespace.path, "--sandbox", "rb", "--state-dir", state.path,
                    "--log-level", "notice", "--log-format", "json"
                ])
                #expect(r.status == 1)
                // The last stderr line is the error sentence, not a record.
                var lines = r.stderr.split(separator: "\n")
                #expect(lines.popLast()?.contains("every change made so far was undone") == true, "\(r.stderr)")
                let records = try jsonLogRecords(lines.joined(separator: "\n"))
                #expect(records.allSatisfy { $0["level"] == "notice" })
                let failed = try #require(records.first { $0["message"] == "attach failed; rolling back" }, "\(r.stderr)")
                #expect(failed["failedAt"] == "tcfilter for eth1")
                // Every tcfilter endpoint is checked before the first tap is made: nothing to undo.
                #expect(failed["kernelChanges"] == "0", "\(failed)")
                #expect(records.contains { $0["message"] == "rolled back" && $0["sandbox"] == "rb" })
            }
        }

        @Test(
            .enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"),
            .enabled(if: SandnetBinary.exists, "the sandnet binary is not built (swift build)"),
            .enabled(if: LabBinary.exists, "the sandnet-lab binary is not built (swift build)"))
        func gcLogsWhatItUndoesAndKeepsAndWhy() throws {
            try PodFixture.with { f in
                try f.addEndpoint("eth0", .veth, number: 0)
                try f.addEndpoint("eth1", .veth, number: 1)
                let state = StateDirectory()
                let killed = try LabBinary.run([
                    "fault-attach", "--netns", f.pod.namespace.path, "--sandbox", "dead", "--state-dir", state.path,
                    "--kill-after", "3", "--log-level", "debug", "--log-format", "json"
                ])
                #expect(killed.killedBySignal)
                // The record of the change the process was killed after is out: the log is written before the hook.
                #expect(try jsonLogRecords(killed.stderr).filter { $0["message"] == "kernel change" }.count == 3, "\(killed.stderr)")
                // In a pod of its own: until gc undoes "dead", its journal still holds eth0 and eth1 (one owner per endpoint).
                let other = try PodFixture()
                defer { other.remove() }
                try other.addEndpoint("eth0", .veth, number: 0)
                let kept = try SandnetBinary.run([
                    "attach", "--netns", other.pod.namespace.path, "--sandbox", "kept", "--state-dir", state.path,
                    "--model", "none"
                ])
                #expect(kept.status == 0, "\(kept.stderr)")
                let gc = try SandnetBinary.run(["gc", "--state-dir", state.path, "--log-level", "notice", "--log-format", "json"])
                #expect(gc.status == 0, "\(gc.stderr)")
                let records = try jsonLogRecords(gc.stderr)
                let undo = try #require(records.first { $0["sandbox"] == "dead" && $0["message"] == "undoing sandbox" }, "\(gc.stderr)")
                #expect(undo["reason"]?.contains("attach was killed midway") == true, "\(undo)")
                let keep = try #require(records.first { $0["sandbox"] == "kept" && $0["message"] == "journal kept" }, "\(gc.stderr)")
                #expect(keep["reason"]?.contains("without an owner") == true, "\(keep)")
                _ = try SandnetBinary.run(["detach", "--sandbox", "kept", "--state-dir", state.path])
            }
        }
    }
}
