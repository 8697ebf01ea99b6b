import Foundation
import Logging
import NetlinkSocket

/// Called right after each kernel change an attach makes, with the number of changes so
/// far. Fault-injection tests kill or stop the process there; nothing on a node sets it.
public typealias KernelChangeHook = @Sendable (_ changes: Int) -> Void

/// Makes an attach's kernel changes one at a time, journaling each intent first.
final class Transaction {
    private(set) var journal: SandboxJournal
    let store: JournalStore
    /// Carries the sandbox, namespace and phase; one `.debug` record per kernel change.
    let logger: Logger
    private(set) var changes = 0
    /// The JSON of each journaled step, encoded once (see `JournalStore.encode(_:encodedSteps:)`).
    private var encodedSteps: [Data] = []
    private let afterKernelChange: KernelChangeHook?
    /// Set for a plug: steps go to this record of `journal.plugged`, not to the attach's.
    let pluggedIndex: Int?

    init(
        journal: SandboxJournal, store: JournalStore, logger: Logger, afterKernelChange: KernelChangeHook? = nil,
        pluggedIndex: Int? = nil
    ) {
        self.pluggedIndex = pluggedIndex
        self.journal = journal
        self.store = store
        self.logger = logger
        self.afterKernelChange = afterKernelChange
    }

    /// Records `step`, then makes the change(s) in `body`. `body` may make several kernel
    /// changes that one undo covers; call `changed(_:_:)` after each.
    func step<T>(_ step: JournalStep, _ body: (Transaction) throws -> T) throws -> T {
        if let p = pluggedIndex {
            journal.plugged![p].steps.append(step)
            try store.write(journal)
            return try body(self)
        }
        journal.steps.append(step)
        encodedSteps.append(try JournalStore.encode(step: step))
        try store.write(journal, encodedSteps: encodedSteps)
        return try body(self)
    }

    /// Rewrites the newest step with what is known once its change is made (an ifindex, a
    /// handle, that an add succeeded), in memory first, so a rollback sees it even when the
    /// write fails. Call it before `changed(_:_:)`: a kill at that change finds it on disk.
    func amendLast(_ step: JournalStep) throws {
        if let p = pluggedIndex {
            guard !journal.plugged![p].steps.isEmpty else { return }
            journal.plugged![p].steps[journal.plugged![p].steps.count - 1] = step
            return try store.write(journal)
        }
        guard !journal.steps.isEmpty else { return }
        journal.steps[journal.steps.count - 1] = step
        encodedSteps[encodedSteps.count - 1] = try JournalStore.encode(step: step)
        try store.write(journal, encodedSteps: encodedSteps)
    }

    /// Counts one kernel change just made for the newest step, logs it, and tells the hook
    /// (after the log record is written: the hook may kill the process).
    func changed(_ operation: String, _ object: KernelObject) {
        changes += 1
        let steps = pluggedIndex.map { journal.plugged![$0].steps } ?? journal.steps
        if let step = steps.last {
            logger.kernelChange(operation, object, step: step, number: steps.count, ["change": "\(changes)"])
        }
        afterKernelChange?(changes)
    }

    func update(_ edit: (inout SandboxJournal) -> Void) throws {
        edit(&journal)
        try store.write(journal, encodedSteps: pluggedIndex == nil && journal.steps.count == encodedSteps.count ? encodedSteps : nil)
    }
}
