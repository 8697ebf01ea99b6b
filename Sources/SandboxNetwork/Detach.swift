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
    /// A corrupted or untrusted journal throws before anything is touched. Waits at most
    /// `lockWait` for another process holding the sandbox (forever when nil).
    /// `afterKernelChange` is for fault-injection tests only: called after each undo
    /// kernel change with the number made so far.
    public static func detach(
        sandbox: String, store: JournalStore = JournalStore(), force: Bool = false,
        lockWait: Duration? = nil, logger: Logger = SandboxLogging.silent,
        afterKernelChange: KernelChangeHook? = nil
    ) throws -> DetachReport {
        try JournalStore.validate(sandbox: sandbox)
        return try store.withLock("sandbox-\(sandbox)", waiting: lockWait, sandbox: sandbox) {
            guard let journal = try store.read(sandbox: sandbox) else { throw SandboxError.notAttached(sandbox) }
            // Alive by the rule of SandboxLiveness: its owner runs, or someone holds its queues.
            if !force, let alive = SandboxLiveness.check(journal, holders: { SandboxLiveness.scan(for: [journal]) }) {
                if alive.pid == journal.ownerPID { throw SandboxError.ownerAlive(sandbox: sandbox, pid: alive.pid) }
                throw SandboxError.queuesHeld(sandbox: sandbox, pid: alive.pid, reason: alive.reason)
            }
            return try undo(
                journal, store: store,
                logger: SandboxLogging.forSandbox(
                    logger, sandbox: sandbox, namespace: journal.namespacePath, phase: "detach"), afterKernelChange: afterKernelChange)
        }
    }

    static func undo(
        _ journal: SandboxJournal, store: JournalStore, logger: Logger,
        afterKernelChange: KernelChangeHook? = nil
    ) throws -> DetachReport {
        var report = DetachReport(sandbox: journal.sandbox, namespace: journal.namespacePath, undone: [], namespaceGone: false)
        let rt: Rtnetlink
        switch try NamespaceCheck.open(journal, warnings: SandboxLogging.kernelWarnings(logger)) {
        case .same(let opened): rt = opened
        case .gone(let why), .replaced(let why):
            // Not the sandbox's namespace any more: touch nothing, forget the journal.
            logger.notice("journal removed", metadata: ["reason": "\(why); nothing was touched"])
            report.namespaceGone = true
            report.namespaceNote = why
            try store.removeDeviceNodes(journal.deviceNodes ?? [])
            try store.remove(sandbox: journal.sandbox)
            return report
        }
        defer { rt.close() }
        var j = journal
        // gc finishes a journal in this state whoever owns the sandbox: the detach was killed.
        j.state = .detaching
        try store.write(j)
        let failures = undoSteps(
            journal.allHostSteps, group: journal.linkGroup, rt: rt, logger: logger, undone: &report.undone,
            afterKernelChange: afterKernelChange)
        guard failures.isEmpty else { throw SandboxError.undoFailed(sandbox: journal.sandbox, failures: failures) }
        try store.removeDeviceNodes(journal.deviceNodes ?? [])
        try store.remove(sandbox: journal.sandbox)
        logger.info("sandbox undone", metadata: ["steps": "\(report.undone.count)"])
        return report
    }
}
