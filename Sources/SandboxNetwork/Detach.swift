import Foundation
import NetlinkCodec
import NetlinkSocket
import Rtnetlink

#if canImport(Glibc)
import Glibc
#endif

/// What a detach or gc did for one sandbox.
public struct DetachReport: Codable, Equatable, Sendable {
    public var sandbox: String
    public var namespace: String
    /// Steps undone, newest first.
    public var undone: [String]
    /// Set when the namespace no longer exists: the kernel already removed everything.
    public var namespaceGone: Bool
}

public enum SandboxDetach {
    /// `sandnet detach --sandbox ID`: undoes every journaled change and removes the journal.
    /// A corrupted journal throws before anything is touched.
    public static func detach(sandbox: String, store: JournalStore = JournalStore(), force: Bool = false) throws -> DetachReport {
        try JournalStore.validate(sandbox: sandbox)
        return try store.withLock("sandbox-\(sandbox)") {
            guard let journal = try store.read(sandbox: sandbox) else { throw SandboxError.notAttached(sandbox) }
            if !force, let pid = journal.ownerPID, pid != getpid(), journal.ownerIsAlive {
                throw SandboxError.ownerAlive(sandbox: sandbox, pid: pid)
            }
            return try undo(journal, store: store)
        }
    }

    /// `sandnet gc`: undoes every sandbox whose owner died (an attach killed midway, or a
    /// QEMU started with --exec that has exited). Corrupted journals are reported and left alone.
    public static func collectGarbage(store: JournalStore = JournalStore()) -> (reports: [DetachReport], errors: [String]) {
        var reports: [DetachReport] = [], errors: [String] = []
        for id in store.sandboxes() {
            do {
                let r: DetachReport? = try store.withLock("sandbox-\(id)") {
                    guard let j = try store.read(sandbox: id), j.ownerPID != nil, !j.ownerIsAlive else { return nil }
                    return try undo(j, store: store)
                }
                if let r { reports.append(r) }
            } catch { errors.append("\(error)") }
        }
        return (reports, errors)
    }

    static func undo(_ journal: SandboxJournal, store: JournalStore) throws -> DetachReport {
        var report = DetachReport(sandbox: journal.sandbox, namespace: journal.namespacePath, undone: [], namespaceGone: false)
        let ns = NetworkNamespace.path(journal.namespacePath)
        guard let identity = try? ns.identity(), journal.isNamespace(identity) else {
            // The namespace is gone (or the path now names another one): its links went with it.
            report.namespaceGone = true
            try store.remove(sandbox: journal.sandbox)
            return report
        }
        var j = journal
        j.state = .detaching
        try store.write(j)
        let rt = try Rtnetlink(namespace: ns)
        defer { rt.close() }
        let failures = undoSteps(journal.steps, group: journal.linkGroup, rt: rt, undone: &report.undone)
        guard failures.isEmpty else { throw SandboxError.undoFailed(sandbox: journal.sandbox, failures: failures) }
        try store.remove(sandbox: journal.sandbox)
        return report
    }

    /// Undoes `steps` newest first. Each undo accepts that its change may never have been
    /// made. Returns what could not be undone.
    static func undoSteps(_ steps: [JournalStep], group: UInt32, rt: Rtnetlink, undone: inout [String]) -> [String] {
        var failures: [String] = []
        var linksDeleted = false
        func attempt(_ what: String, ignoring benign: Set<Int32>, _ body: () throws -> Void) {
            do { try body() } catch let e as NetlinkError {
                if let code = e.errno, benign.contains(code) { return }
                failures.append("\(what): \(e)")
            } catch { failures.append("\(what): \(error)") }
        }
        for step in steps.reversed() {
            switch step {
            case let .createLink(name):
                if !linksDeleted {
                    // One request removes every link of the sandbox.
                    attempt("delete link group \(group)", ignoring: [ENODEV, ENOENT]) { try rt.linkDeleteGroup(group) }
                    linksDeleted = true
                }
                // A link made but killed before it joined the group goes by name.
                attempt("delete link \(name)", ignoring: [ENODEV, ENOENT]) { try rt.linkDelete(.name(name)) }
            case let .addIngressQdisc(link):
                attempt("delete ingress qdisc of \(link)", ignoring: [ENODEV, ENOENT, EINVAL]) {
                    try TcFilterModel.removeIngress(link, rt: rt)
                }
            case .addRedirect:
                break   // removed with the ingress qdisc it hangs off
            case let .setMAC(link, original, _):
                attempt("restore MAC of \(link)", ignoring: [ENODEV]) { try rt.linkSet(.name(link), LinkChange(address: original)) }
            case .removeAddresses:
                continue   // given back last, below
            }
            undone.append(step.summary)
        }
        // Addresses come back once every device is gone and every MAC is back, in the
        // endpoints' own order: routes sharing a prefix (fe80::/64) list in insertion order.
        for step in steps {
            guard case let .removeAddresses(link, saved) = step else { continue }
            failures += EndpointState.restore(saved, on: link, rt: rt)
            undone.append(step.summary)
        }
        return failures
    }
}
