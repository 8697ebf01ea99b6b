import Foundation
import SandboxNetwork
import SandnetCore
import TestSupport
import Testing

extension SandboxIntegration {
    /// Issue 11 point 4: an endpoint attached by one sandbox cannot be attached by another,
    /// whatever the models. Seen before: two macvtap attaches on one endpoint both succeeded,
    /// and after both detaches the endpoint kept a random MAC.
    @Suite(.serialized) struct EndpointOwnerTests {
        struct Pair: CustomStringConvertible, Sendable {
            var first: NetworkModel, second: NetworkModel
            var description: String { "\(first) then \(second)" }
        }
        static let pairs: [Pair] = NetworkModel.allCases.flatMap { a in NetworkModel.allCases.map { Pair(first: a, second: $0) } }

        @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"), arguments: pairs)
        func aSecondSandboxCannotTakeAnAttachedEndpoint(_ pair: Pair) throws {
            try PodFixture.withEndpoint { f in
                let before = try f.snapshot()
                let state = StateDirectory()
                let store = JournalStore(directory: state.path)
                let a = try SandboxAttach.attach(
                    AttachSettings(sandbox: "holder", namespace: f.pod.namespace.path, model: pair.first, vcpus: 1),
                    store: store)
                a.closeDescriptors()
                let held = try f.snapshot()
                #expect {
                    let b = try SandboxAttach.attach(
                        AttachSettings(
                            sandbox: "intruder", namespace: f.pod.namespace.path, model: pair.second,
                            vcpus: 1), store: store)
                    b.closeDescriptors()
                } throws: { e in
                    "\(e)".contains("eth0") && "\(e)".contains("holder")
                }
                let afterRefusal = try f.snapshot()
                #expect(afterRefusal == held, "the refused attach changed the namespace: \(firstDifference(held, afterRefusal))")
                #expect(try store.read(sandbox: "intruder") == nil, "the refused attach left a journal")
                _ = try? SandboxDetach.detach(sandbox: "intruder", store: store)
                _ = try SandboxDetach.detach(sandbox: "holder", store: store)
                let after = try f.snapshot()
                #expect(after == before, "\(firstDifference(before, after))")
                // Once detached, the endpoint is free again.
                let c = try SandboxAttach.attach(
                    AttachSettings(
                        sandbox: "intruder", namespace: f.pod.namespace.path, model: pair.second,
                        vcpus: 1), store: store)
                c.closeDescriptors()
                _ = try SandboxDetach.detach(sandbox: "intruder", store: store)
            }
        }

        /// The product binary says who holds the endpoint, and exits non-zero before any change.
        @Test(
            .enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"),
            .enabled(if: SandnetBinary.exists, "the sandnet binary is not built (swift build)"))
        func theRefusalNamesTheHolder() throws {
            try PodFixture.withEndpoint { f in
                let state = StateDirectory()
                let attach = ["attach", "--netns", f.pod.namespace.path, "--model", "macvtap", "--vcpus", "1", "--state-dir", state.path]
                let a = try SandnetBinary.run(attach + ["--sandbox", "pod-a"])
                #expect(a.status == 0, "\(a.stderr)")
                let held = try f.snapshot()
                let b = try SandnetBinary.run(attach + ["--sandbox", "pod-b"])
                #expect(b.status != 0)
                #expect(b.stderr.contains("eth0") && b.stderr.contains("pod-a"), "\(b.stderr)")
                #expect(try f.snapshot() == held)
                let d = try SandnetBinary.run(["detach", "--sandbox", "pod-a", "--state-dir", state.path])
                #expect(d.status == 0, "\(d.stderr)")
            }
        }
    }
}
