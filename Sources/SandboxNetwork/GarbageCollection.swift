import Foundation
import Logging
import NetlinkCodec
import NetlinkSocket
import Rtnetlink

#if canImport(Glibc)
import Glibc
#endif

extension SandboxDetach {
    /// `sandnet gc`: undoes every sandbox whose owner died (an attach killed midway, or a
    /// QEMU started with --exec that has exited) and whose queues no process holds (a
    /// `qemu -daemonize` outlives its owner pid; see `SandboxLiveness`). Corrupted journals
    /// are reported and left alone. Each journal's fate is logged at `.notice` with why.
    public static func collectGarbage(store: JournalStore = JournalStore(),
                                      logger: Logger = SandboxLogging.silent) -> (reports: [DetachReport], errors: [String]) {
        var reports: [DetachReport] = [], errors: [String] = []
        // Who holds which queues, in one /proc pass for every journal (read without their
        // locks: only their link names and devices are wanted, and a sandbox's do not change
        // once made). A holder seen here that exits before its journal is looked at only
        // keeps it until the next gc.
        // Made at the first journal whose owner is gone: a gc with none does not read /proc.
        var scan: QueueHolderScan?
        let holders = { () -> QueueHolderScan in
            if let scan { return scan }
            let made = SandboxLiveness.scan(for: store.sandboxes().compactMap { try? store.read(sandbox: $0) })
            scan = made
            return made
        }
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
                    if let alive = SandboxLiveness.check(j, holders: holders) {
                        log.notice("journal kept", metadata: ["reason": "\(alive.reason)", "pid": "\(alive.pid)"])
                        return nil
                    }
                    let how = switch j.state {
                    case .attaching: "its attach was killed midway"
                    case .attached: "its QEMU exited"
                    case .detaching: "its detach was interrupted"
                    }
                    log.notice("undoing sandbox", metadata: [
                        "reason": "owner process \(pid) is gone and no process holds its queues: \(how)",
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
}
