import Foundation
import Logging
import NetlinkCodec
import NetlinkSocket
import Rtnetlink
import TrafficControl

#if canImport(Glibc)
    import Glibc
#endif

extension SandboxDetach {
    /// The host-side undo of one NIC (plugged or wired at attach), under the sandbox lock:
    /// in a namespace that is gone or was replaced nothing is touched and the record is only
    /// forgotten; otherwise the steps `steps` picks are undone one link at a time (the group
    /// holds the other NICs' links too), and the record is forgotten once all of them are.
    /// `kind` names the record in the logs. Returns the steps undone, newest first.
    static func undoOneNIC(
        _ endpoint: String, kind: String, sandbox: String, journal: inout SandboxJournal, store: JournalStore,
        logger: Logger, steps: (SandboxJournal, Rtnetlink) throws -> [JournalStep], forget: (inout SandboxJournal) -> Void
    ) throws -> [String] {
        let log = SandboxLogging.forSandbox(logger, sandbox: sandbox, namespace: journal.namespacePath, phase: "unplug")
        let rt: Rtnetlink
        switch try NamespaceCheck.open(journal, warnings: SandboxLogging.kernelWarnings(log)) {
        case .same(let opened): rt = opened
        case .gone(let why), .replaced(let why):
            log.notice("\(kind) forgotten", metadata: ["endpoint": "\(endpoint)", "reason": "\(why); nothing was touched"])
            forget(&journal)
            try store.write(journal)
            return []
        }
        defer { rt.close() }
        var undone: [String] = []
        let failures = undoSteps(
            try steps(journal, rt), group: journal.linkGroup, rt: rt, logger: log, wholeGroup: false, undone: &undone)
        guard failures.isEmpty else { throw SandboxError.undoFailed(sandbox: sandbox, failures: failures) }
        forget(&journal)
        try store.write(journal)
        log.info("\(kind) undone", metadata: ["endpoint": "\(endpoint)", "steps": "\(undone.count)"])
        return undone
    }

    /// Undoes `steps` newest first. Each undo accepts that its change may never have been
    /// made, and checks what it finds is still what sandnet made (see `OwnedObjects`).
    /// `rollback`: the steps are the failing attach's own, in memory, so an intent without
    /// its confirmation is a change that failed. Returns what could not be undone.
    /// `afterKernelChange`: fault injection only. `wholeGroup` false (one plugged endpoint's
    /// undo): each link is deleted alone, since the group holds the other endpoints' too.
    static func undoSteps(
        _ steps: [JournalStep], group: UInt32, rt: Rtnetlink, logger: Logger, rollback: Bool = false,
        wholeGroup: Bool = true, undone: inout [String], afterKernelChange: KernelChangeHook? = nil
    ) -> [String] {
        var undo = UndoAttempts(logger: logger, afterKernelChange: afterKernelChange)
        var linksDeleted = !wholeGroup
        // Links this journal made (its taps): their createLink undo deletes them, and with
        // them every qdisc and filter on them, so those are not undone one by one. (All taps
        // of an attach are made first: undoing theirs request by request doubled a detach.)
        var madeIndexes: Set<Int32> = []
        var madeNames: Set<String> = []
        for case .createLink(let name, _, let ifindex) in steps {
            if let ifindex { madeIndexes.insert(ifindex) } else { madeNames.insert(name) }
        }
        func goesWithItsLink(_ link: String, _ ifindex: Int32?) -> Bool {
            ifindex.map { madeIndexes.contains($0) } ?? madeNames.contains(link)
        }
        // Qdisc adds the journal never confirmed (a kill right after an endpoint's batch):
        // the kernel's evidence that they are sandnet's, read before any undo removes it.
        var proven: Set<Int> = []
        if !rollback {
            var groupLinks: Set<Int32>?
            for (i, step) in steps.enumerated() {
                guard case .addIngressQdisc(let link, let ifindex?, let added) = step, added != true else { continue }
                if OwnedObjects.ingressEvidence(link: link, ifindex: ifindex, group: group, groupLinks: &groupLinks, rt: rt) {
                    proven.insert(i)
                }
            }
        }
        for (i, step) in steps.enumerated().reversed() {
            let number = i + 1
            switch step {
            case .createLink(let name, let kind, let ifindex):
                if !linksDeleted {
                    // One request removes every link of the sandbox: the group is sandnet's, chosen free in this namespace.
                    undo.attempt("delete", .linkGroup(group), step: step, number: number, ignoring: [ENODEV, ENOENT]) {
                        try rt.linkDeleteGroup(group)
                    }
                    linksDeleted = true
                }
                // A link made but killed before it joined the group.
                undo.attemptChecked("delete", .link(name, ifindex: ifindex), step: step, number: number, ignoring: [ENODEV, ENOENT]) {
                    try OwnedObjects.deleteLink(name: name, kind: kind, ifindex: ifindex, group: group, rollback: rollback, rt: rt)
                }
            case .addIngressQdisc(let link, let ifindex, _) where goesWithItsLink(link, ifindex),
                .addRedirect(let link, _, let ifindex, _, _, _) where goesWithItsLink(link, ifindex):
                undo.attemptChecked("delete", .link(link, ifindex: ifindex), step: step, number: number, ignoring: []) {
                    .nothingToUndo("it goes with its link, which sandnet made and deletes")
                }
            case .addIngressQdisc(let link, let ifindex, let added):
                undo.attemptChecked(
                    "delete", .qdisc("ingress", on: link, ifindex: ifindex), step: step, number: number,
                    ignoring: [ENODEV, ENOENT, EINVAL]
                ) {
                    try OwnedObjects.deleteIngress(
                        link: link, ifindex: ifindex, added: added, rollback: rollback, proven: proven.contains(i), rt: rt)
                }
            case .addRedirect(let from, let to, let fromIndex, let toIndex, let priority, let handle):
                undo.attemptChecked(
                    "delete", .filter("u32 redirect to \(to)", on: from, ifindex: fromIndex), step: step, number: number,
                    ignoring: [ENODEV, ENOENT, EINVAL]
                ) {
                    try OwnedObjects.deleteRedirect(
                        from: from, to: to, fromIndex: fromIndex, toIndex: toIndex, priority: priority,
                        handle: handle, rt: rt)
                }
            case .setMAC(let link, let original, let replacement, let ifindex):
                undo.attemptChecked("set MAC \(original)", .link(link, ifindex: ifindex), step: step, number: number, ignoring: [ENODEV]) {
                    try OwnedObjects.restoreMAC(link: link, original: original, replacement: replacement, ifindex: ifindex, rt: rt)
                }
            case .setTxQueueLength(let link, let ifindex, let original, let replacement):
                undo.attemptChecked(
                    "set txqueuelen \(original)", .link(link, ifindex: ifindex), step: step, number: number, ignoring: [ENODEV]
                ) {
                    try OwnedObjects.restoreTxQueueLength(
                        link: link, ifindex: ifindex, original: original, replacement: replacement, rt: rt)
                }
            case .addRateQdisc(let link, let ifindex, let handle, let added):
                undo.attemptChecked(
                    "delete", .qdisc("htb \(TcHandle(rawValue: handle))", on: link, ifindex: ifindex), step: step, number: number,
                    ignoring: [ENODEV, ENOENT, EINVAL]
                ) {
                    try OwnedObjects.deleteRateQdisc(link: link, ifindex: ifindex, handle: handle, added: added, rollback: rollback, rt: rt)
                }
            case .addRateClass(let link, let ifindex, let classID, let rate, let added):
                undo.attemptChecked(
                    "delete", .qdisc("htb class \(TcHandle(rawValue: classID))", on: link, ifindex: ifindex), step: step,
                    number: number, ignoring: [ENODEV, ENOENT, EINVAL]
                ) {
                    try OwnedObjects.deleteRateClass(
                        link: link, ifindex: ifindex, classID: classID, rate: rate, added: added, rollback: rollback, rt: rt)
                }
            case .removeAddresses:
                continue // given back last, below
            }
            undone.append(step.summary)
        }
        // Addresses come back once every device is gone and every MAC is back, in the
        // endpoints' own order: routes sharing a prefix (fe80::/64) list in insertion order.
        // By the endpoint's name now: its setMAC step recorded its ifindex (it may have been renamed).
        var ifindexes: [String: Int32] = [:]
        for case .setMAC(let link, _, _, let ifindex?) in steps { ifindexes[link] = ifindex }
        for (i, step) in steps.enumerated() {
            guard case .removeAddresses(let link, let saved) = step else { continue }
            let name = (try? OwnedObjects.currentName(link, ifindex: ifindexes[link], rt: rt)) ?? link
            EndpointState.restore(saved, on: name, rt: rt, step: step, number: i + 1, &undo)
            undone.append(step.summary)
        }
        return undo.failures
    }
}
