import Foundation
import NetlinkSocket
import SandboxNetwork
import SandnetCore
import Synchronization
import TapDevices
import TestSupport
import Testing

extension SandboxIntegration {
    /// 32 sandboxes attached and detached at once, 10 rounds: every pod comes back identical,
    /// and the test process keeps no extra descriptors and no thread in a foreign namespace.
    /// Counts the whole process's descriptors, so it runs in a process of its own, one test
    /// at a time (see TestEnvironment.leakChecksIsolated).
    @Suite(.serialized, .enabled(if: TestEnvironment.leakChecksIsolated, Comment(rawValue: TestEnvironment.leakCheckSkipReason)))
    struct ConcurrencyLeakChecks {
        @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"))
        func thirtyTwoSandboxesTenRounds() throws {
            let count = 32
            let rounds = 10
            var pods: [PodFixture] = []
            defer { for p in pods { p.remove() } }
            for i in 0..<count {
                let f = try PodFixture()
                pods.append(f)
                try f.addEndpoint("eth0", .veth, number: 0)
                try f.configure("eth0", number: 0)
                if i % 2 == 0 { try f.addEndpoint("eth1", .macvlan, number: 1) }
            }
            let before = try pods.map { try $0.snapshot() }
            let paths = pods.map(\.pod.namespace.path) // what the concurrent attaches need, as Sendable values
            let state = StateDirectory()
            let store = JournalStore(directory: state.path)
            var fdsBefore: [Int32: String] = [:]
            for round in 0..<rounds {
                // Measured after the first round: the namespace thread pool keeps up to four idle
                // workers, each holding its home namespace open, by design.
                if round == 1 { fdsBefore = TestEnvironment.openDescriptors() }
                let errors = ErrorBox()
                DispatchQueue.concurrentPerform(iterations: count) { i in
                    do {
                        let model: NetworkModel = (i + round) % 3 == 0 ? .macvtap : (i + round) % 3 == 1 ? .tcfilter : .none
                        let r = try SandboxAttach.attach(
                            AttachSettings(
                                sandbox: "c\(i)", namespace: paths[i],
                                model: model, vcpus: 2), store: store)
                        r.closeDescriptors()
                    } catch { errors.add("attach c\(i) round \(round): \(error)") }
                }
                DispatchQueue.concurrentPerform(iterations: count) { i in
                    do { _ = try SandboxDetach.detach(sandbox: "c\(i)", store: store) } catch {
                        errors.add("detach c\(i) round \(round): \(error)")
                    }
                }
                #expect(errors.all.isEmpty, "\(errors.all.prefix(3))")
            }
            for (i, p) in pods.enumerated() {
                let after = try p.snapshot()
                #expect(after == before[i], "pod \(i): \(firstDifference(before[i], after))")
            }
            #expect(store.sandboxes().isEmpty)
            // Nothing else runs in this process, so every descriptor counts, of whatever kind
            // (but the runtime's own event descriptors): more descriptors to anything than after
            // the first round is a leak. Counted by target, not number: the pool may keep other
            // idle workers (each with its home namespace open) than it kept then.
            func byTarget(_ fds: [Int32: String]) -> [String: Int] { fds.values.reduce(into: [:]) { $0[$1, default: 0] += 1 } }
            let now = TestEnvironment.openDescriptors()
            let then = byTarget(fdsBefore)
            let leaked = byTarget(now).filter { $0.value > then[$0.key, default: 0] }
                .map { target, n in
                    "\(n - then[target, default: 0]) more to \(target) (now fds \(now.filter { $0.value == target }.keys.sorted()))"
                }
            #expect(leaked.isEmpty, "descriptors leaked: \(leaked)")
            let home = try NetworkNamespace.current.identity()
            for tid in try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task") {
                let ns = NetworkNamespace.path("/proc/self/task/\(tid)/ns/net")
                if let id = try? ns.identity() { #expect(id == home, "thread \(tid) is left in another network namespace") }
            }
        }

        final class ErrorBox: Sendable {
            private let errors = Mutex<[String]>([])
            func add(_ e: String) { errors.withLock { $0.append(e) } }
            var all: [String] { errors.withLock { $0 } }
        }
    }
}
