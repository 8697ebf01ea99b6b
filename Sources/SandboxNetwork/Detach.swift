import Foundation
import Logging
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
    public static func detach(sandbox: String, store: JournalStore = JournalStore(), force: Bool = false,
                              logger: Logger = SandboxLogging.silent) throws -> DetachReport {
        try JournalStore.validate(sandbox: sandbox)
        return try store.withLock("sandbox-\(sandbox)") {
            guard let journal = try store.read(sandbox: sandbox) else { throw SandboxError.notAttached(sandbox) }
            if !force, let pid = journal.ownerPID, pid != getpid(), journal.ownerIsAlive {
                throw SandboxError.ownerAlive(sandbox: sandbox, pid: pid)
            }
            return try undo(journal, store: store, logger: SandboxLogging.forSandbox(
                logger, sandbox: sandbox, namespace: journal.namespacePath, phase: "detach"))
        }
    }

    /// `sandnet gc`: undoes every sandbox whose owner died (an attach killed midway, or a
    /// QEMU started with --exec that has exited). Corrupted journals are reported and left
    /// alone. Each journal's fate is logged at `.notice` with why.
    public static func collectGarbage(store: JournalStore = JournalStore(),
                                      logger: Logger = SandboxLogging.silent) -> (reports: [DetachReport], errors: [String]) {
        var reports: [DetachReport] = [], errors: [String] = []
        for id in store.sandboxes() {
            var log = logger
            log[metadataKey: "sandbox"] = "\(id)"
            log[metadataKey: "journal"] = "\(store.path(of: id))"
            do {
                let r: DetachReport? = try store.withLock("sandbox-\(id)") {
                    guard let j = try store.read(sandbox: id) else { return nil }   // detached meanwhile
                    log[metadataKey: "namespace"] = "\(j.namespacePath)"
                    guard let pid = j.ownerPID else {
                        log.notice("journal kept", metadata: ["reason": "attached without an owner process; only detach undoes it"])
                        return nil
                    }
                    if j.ownerIsAlive {
                        log.notice("journal kept", metadata: ["reason": "owner process \(pid) still runs", "pid": "\(pid)"])
                        return nil
                    }
                    let how = switch j.state {
                    case .attaching: "its attach was killed midway"
                    case .attached: "its QEMU exited"
                    case .detaching: "its detach was interrupted"
                    }
                    log.notice("undoing sandbox", metadata: [
                        "reason": "owner process \(pid) is gone: \(how)",
                        "pid": "\(pid)", "state": "\(j.state.rawValue)",
                    ])
                    var undoLog = log
                    undoLog[metadataKey: "phase"] = "gc"
                    return try undo(j, store: store, logger: undoLog)
                }
                if let r { reports.append(r) }
            } catch {
                log.notice("journal kept", metadata: ["reason": "\(error)"])
                errors.append("\(error)")
            }
        }
        return (reports, errors)
    }

    static func undo(_ journal: SandboxJournal, store: JournalStore, logger: Logger) throws -> DetachReport {
        var report = DetachReport(sandbox: journal.sandbox, namespace: journal.namespacePath, undone: [], namespaceGone: false)
        let ns = NetworkNamespace.path(journal.namespacePath)
        guard let identity = try? ns.identity(), journal.isNamespace(identity) else {
            // The namespace is gone (or the path now names another one): its links went with it.
            logger.notice("journal removed", metadata: ["reason": "the namespace is gone (or its path names another one); its links went with it"])
            report.namespaceGone = true
            try store.remove(sandbox: journal.sandbox)
            return report
        }
        var j = journal
        j.state = .detaching
        try store.write(j)
        let rt = try Rtnetlink(namespace: ns)
        defer { rt.close() }
        let failures = undoSteps(journal.steps, group: journal.linkGroup, rt: rt, logger: logger, undone: &report.undone)
        guard failures.isEmpty else { throw SandboxError.undoFailed(sandbox: journal.sandbox, failures: failures) }
        try store.remove(sandbox: journal.sandbox)
        logger.info("sandbox undone", metadata: ["steps": "\(report.undone.count)"])
        return report
    }

    /// Undoes `steps` newest first. Each undo accepts that its change may never have been
    /// made. Returns what could not be undone.
    static func undoSteps(_ steps: [JournalStep], group: UInt32, rt: Rtnetlink, logger: Logger, undone: inout [String]) -> [String] {
        var undo = UndoAttempts(logger: logger)
        var linksDeleted = false
        for (i, step) in steps.enumerated().reversed() {
            let number = i + 1
            switch step {
            case let .createLink(name):
                if !linksDeleted {
                    // One request removes every link of the sandbox.
                    undo.attempt("delete", .linkGroup(group), step: step, number: number, ignoring: [ENODEV, ENOENT]) {
                        try rt.linkDeleteGroup(group)
                    }
                    linksDeleted = true
                }
                // A link made but killed before it joined the group goes by name.
                undo.attempt("delete", .link(name), step: step, number: number, ignoring: [ENODEV, ENOENT]) {
                    try rt.linkDelete(.name(name))
                }
            case let .addIngressQdisc(link):
                undo.attempt("delete", .qdisc("ingress", on: link), step: step, number: number, ignoring: [ENODEV, ENOENT, EINVAL]) {
                    try TcFilterModel.removeIngress(link, rt: rt)
                }
            case .addRedirect:
                break   // removed with the ingress qdisc it hangs off
            case let .setMAC(link, original, _):
                undo.attempt("set MAC \(original)", .link(link), step: step, number: number, ignoring: [ENODEV]) {
                    try rt.linkSet(.name(link), LinkChange(address: original))
                }
            case .removeAddresses:
                continue   // given back last, below
            }
            undone.append(step.summary)
        }
        // Addresses come back once every device is gone and every MAC is back, in the
        // endpoints' own order: routes sharing a prefix (fe80::/64) list in insertion order.
        for (i, step) in steps.enumerated() {
            guard case let .removeAddresses(link, saved) = step else { continue }
            EndpointState.restore(saved, on: link, rt: rt, step: step, number: i + 1, &undo)
            undone.append(step.summary)
        }
        return undo.failures
    }
}
