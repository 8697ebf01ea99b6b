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
    /// Set when the namespace no longer exists (its path is gone, or names another
    /// namespace now): the kernel already removed everything, and nothing was touched.
    public var namespaceGone: Bool
    /// Why the namespace counts as gone, as one sentence; nil when it was there.
    public var namespaceNote: String?
}

public enum SandboxDetach {
    /// `sandnet detach --sandbox ID`: undoes every journaled change and removes the journal.
    /// A corrupted journal throws before anything is touched.
    public static func detach(sandbox: String, store: JournalStore = JournalStore(), force: Bool = false,
                              logger: Logger = SandboxLogging.silent) throws -> DetachReport {
        try JournalStore.validate(sandbox: sandbox)
        return try store.withLock("sandbox-\(sandbox)") {
            guard let journal = try store.read(sandbox: sandbox) else { throw SandboxError.notAttached(sandbox) }
            // Alive by the rule of SandboxLiveness: its owner runs, or someone holds its queues.
            if !force, let alive = SandboxLiveness.check(journal, holders: { SandboxLiveness.scan(for: [journal]) }) {
                if alive.pid == journal.ownerPID { throw SandboxError.ownerAlive(sandbox: sandbox, pid: alive.pid) }
                throw SandboxError.queuesHeld(sandbox: sandbox, pid: alive.pid, reason: alive.reason)
            }
            return try undo(journal, store: store, logger: SandboxLogging.forSandbox(
                logger, sandbox: sandbox, namespace: journal.namespacePath, phase: "detach"))
        }
    }

    static func undo(_ journal: SandboxJournal, store: JournalStore, logger: Logger) throws -> DetachReport {
        var report = DetachReport(sandbox: journal.sandbox, namespace: journal.namespacePath, undone: [], namespaceGone: false)
        let rt: Rtnetlink
        switch try NamespaceCheck.open(journal, warnings: SandboxLogging.kernelWarnings(logger)) {
        case let .same(opened): rt = opened
        case let .gone(why), let .replaced(why):
            // Not the sandbox's namespace any more: touch nothing, forget the journal.
            logger.notice("journal removed", metadata: ["reason": "\(why); nothing was touched"])
            report.namespaceGone = true
            report.namespaceNote = why
            try store.remove(sandbox: journal.sandbox)
            return report
        }
        defer { rt.close() }
        var j = journal
        j.state = .detaching
        try store.write(j)
        let failures = undoSteps(journal.steps, group: journal.linkGroup, rt: rt, logger: logger, undone: &report.undone)
        guard failures.isEmpty else { throw SandboxError.undoFailed(sandbox: journal.sandbox, failures: failures) }
        try store.remove(sandbox: journal.sandbox)
        logger.info("sandbox undone", metadata: ["steps": "\(report.undone.count)"])
        return report
    }
}
