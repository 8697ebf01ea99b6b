import Foundation
import Logging
import NetlinkCodec
import NetlinkSocket
import Rtnetlink

#if canImport(Glibc)
    import Glibc
#endif

extension SandboxDetach {
    /// How long gc waits for a sandbox another process holds before reporting it busy.
    public static let defaultLockWait: Duration = .seconds(5)

    /// `sandnet gc`: undoes every sandbox whose owner died (an attach killed midway, or a
    /// QEMU started with --exec that has exited) and whose queues no process holds (a
    /// `qemu -daemonize` outlives its owner pid; see `SandboxLiveness`), and finishes every
    /// interrupted detach, then sweeps files nobody needs (see `JournalStore.sweep`). A
    /// journal it cannot read or trust, a state directory it cannot list, and a sandbox held
    /// longer than `lockWait` are reported in `errors` and left alone. Each journal's fate is
    /// logged at `.notice` with why.
    public static func collectGarbage(
        store: JournalStore = JournalStore(), lockWait: Duration = defaultLockWait,
        logger: Logger = SandboxLogging.silent
    ) -> (reports: [DetachReport], errors: [String]) {
        var reports: [DetachReport] = []
        var errors: [String] = []
        let ids: [String]
        do { ids = try store.listSandboxes() } catch {
            logger.notice("state not read", metadata: ["reason": "\(error)", "directory": "\(store.directory)"])
            return ([], ["\(error)"])
        }
        // Who holds which queues, in one /proc pass for every journal (read without their
        // locks: only their link names and devices are wanted, and a sandbox's do not change
        // once made). A holder seen here that exits before its journal is looked at only
        // keeps it until the next gc.
        // Made at the first journal whose owner is gone: a gc with none does not read /proc.
        var scan: QueueHolderScan?
        let holders = { () -> QueueHolderScan in
            if let scan { return scan }
            let made = SandboxLiveness.scan(for: ids.compactMap { try? store.read(sandbox: $0) })
            scan = made
            return made
        }
        for id in ids {
            var log = logger
            log[metadataKey: "sandbox"] = "\(id)"
            log[metadataKey: "journal"] = "\(store.path(of: id))"
            do {
                let r: DetachReport? = try store.withLock("sandbox-\(id)", waiting: lockWait, sandbox: id) {
                    guard let j = try store.read(sandbox: id) else { return nil } // detached meanwhile
                    log[metadataKey: "namespace"] = "\(j.namespacePath)"
                    guard let reason = reasonToUndo(j, log, holders: holders) else { return nil }
                    log.notice("undoing sandbox", metadata: ["reason": "\(reason)", "state": "\(j.state.rawValue)"])
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
        errors += store.sweep(logger: logger)
        return (reports, errors)
    }

    /// Why gc undoes `j`, or nil (logged) when it keeps it.
    private static func reasonToUndo(_ j: SandboxJournal, _ log: Logger, holders: () -> QueueHolderScan) -> String? {
        // The lock is ours, so no detach is running: one that marked the journal and
        // stopped was killed, whoever owns the sandbox. Finish what it started.
        if j.state == .detaching { return "its detach was interrupted" }
        guard let pid = j.ownerPID else {
            log.notice("journal kept", metadata: ["reason": "attached without an owner process; only detach undoes it"])
            return nil
        }
        // Alive by the rule of SandboxLiveness: its owner runs, or someone holds its queues.
        if let alive = SandboxLiveness.check(j, holders: holders) {
            log.notice("journal kept", metadata: ["reason": "\(alive.reason)", "pid": "\(alive.pid)"])
            return nil
        }
        return "owner process \(pid) is gone and no process holds its queues: "
            + (j.state == .attaching ? "its attach was killed midway" : "its QEMU exited")
    }
}
