import Foundation
import SandboxNetwork
import SandnetCore
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 11's soak: per model, random SIGKILLs during attach and during detach, each
/// followed by `sandnet gc`; after every gc the pod is exactly as before and the state
/// directory holds nothing (no sandbox lives). SANDNET_SOAK_COUNT sets the kills per cell
/// (the figure is 100; CI runs 25 to stay within its time budget).
extension SandboxIntegration {
    @Suite(.serialized) struct SoakTests {
        static let killsPerCell = Int(ProcessInfo.processInfo.environment["SANDNET_SOAK_COUNT"] ?? "") ?? 25

        /// The number in `text` after `label` (`"kernelChanges" : 14`, `after 9 undo`).
        static func number(in text: String, after label: String) -> Int? {
            guard let r = text.range(of: label) else { return nil }
            return Int(text[r.upperBound...].drop(while: { !$0.isNumber }).prefix(while: \.isNumber))
        }

        @Test(
            .enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"),
            .enabled(if: SandnetBinary.exists, "the sandnet binary is not built (swift build)"),
            .enabled(if: LabBinary.exists, "the sandnet-lab binary is not built (swift build)"),
            .enabled(if: KindProbe.has(.macvlan), KindProbe.reason(.macvlan)),
            arguments: [NetworkModel.tcfilter, .macvtap])
        func randomKillsDuringAttachAndDetachAreAlwaysUndoneByGc(_ model: NetworkModel) throws {
            try PodFixture.with { f in
                try f.addEndpoint("eth0", .veth, number: 0)
                try f.addEndpoint("eth1", .macvlan, number: 1)
                try f.configure("eth0", number: 0)
                try f.configure("eth1", number: 1)
                let before = try f.snapshot()
                let state = StateDirectory()
                let common = ["--sandbox", "soak", "--state-dir", state.path]
                let attach = ["--netns", f.pod.namespace.path, "--model", model.rawValue, "--vcpus", "2", "--json"] + common
                let start = ContinuousClock.now

                // One full attach and detach: how many kernel changes each makes.
                let full = try SandnetBinary.run(["attach"] + attach)
                try #require(full.status == 0, "\(full.stderr)")
                let attachChanges = try #require(Self.number(in: full.stdout, after: "\"kernelChanges\""))
                let undo = try LabBinary.run(["fault-detach", "--kill-after", "1000000"] + common)
                try #require(undo.status == 0, "\(undo.stderr)")
                let detachChanges = try #require(Self.number(in: undo.stderr, after: "finished after"))
                try #require(try f.snapshot() == before)

                /// After each gc: the pod as it was, and no file left in the state directory.
                func restored(_ what: String) throws -> Bool {
                    let gc = try SandnetBinary.run(["gc", "--state-dir", state.path])
                    let after = try f.snapshot()
                    let left = StateFiles.files(under: state.path)
                    #expect(gc.status == 0, "\(what): gc: \(gc.stderr)")
                    #expect(after == before, "\(what): \(firstDifference(before, after))")
                    #expect(left.isEmpty, "\(what): left in the state directory: \(left)")
                    return gc.status == 0 && after == before && left.isEmpty
                }
                var g = SystemRandomNumberGenerator()
                for i in 1...Self.killsPerCell {
                    let n = Int.random(in: 1...attachChanges, using: &g)
                    let r = try LabBinary.run(["fault-attach", "--kill-after", "\(n)"] + attach)
                    #expect(r.killedBySignal && r.status == SIGKILL, "attach \(i) with --kill-after \(n) was not killed: \(r.stderr)")
                    guard try restored("attach kill \(i) after change \(n) of \(attachChanges)") else { return }
                }
                for i in 1...Self.killsPerCell {
                    let a = try SandnetBinary.run(["attach"] + attach)
                    try #require(a.status == 0, "\(a.stderr)")
                    let n = Int.random(in: 1...detachChanges, using: &g)
                    let r = try LabBinary.run(["fault-detach", "--kill-after", "\(n)"] + common)
                    #expect(r.killedBySignal && r.status == SIGKILL, "detach \(i) with --kill-after \(n) was not killed: \(r.stderr)")
                    guard try restored("detach kill \(i) after change \(n) of \(detachChanges)") else { return }
                }
                print(
                    "soak \(model): \(Self.killsPerCell) attach kills (of \(attachChanges) changes) and \(Self.killsPerCell) detach kills "
                        + "(of \(detachChanges) undo changes), each followed by gc: all restored in \(ContinuousClock.now - start)")
            }
        }
    }
}
