import Foundation
import NetlinkSocket

/// Called right after each kernel change an attach makes, with the number of changes so
/// far. Fault-injection tests kill or stop the process there; nothing on a node sets it.
public typealias KernelChangeHook = @Sendable (_ changes: Int) -> Void

/// Makes an attach's kernel changes one at a time, journaling each intent first.
final class Transaction {
    private(set) var journal: SandboxJournal
    let store: JournalStore
    private(set) var changes = 0
    /// The JSON of each journaled step, encoded once (see `JournalStore.encode(_:encodedSteps:)`).
    private var encodedSteps: [Data] = []
    private let afterKernelChange: KernelChangeHook?

    init(journal: SandboxJournal, store: JournalStore, afterKernelChange: KernelChangeHook? = nil) {
        self.journal = journal; self.store = store; self.afterKernelChange = afterKernelChange
    }

    /// Records `step`, then makes the change(s) in `body`. `body` may make several kernel
    /// changes that one undo covers; call `changed()` after each.
    func step<T>(_ step: JournalStep, _ body: (Transaction) throws -> T) throws -> T {
        journal.steps.append(step)
        encodedSteps.append(try JournalStore.encode(step: step))
        try store.write(journal, encodedSteps: encodedSteps)
        return try body(self)
    }

    /// Counts one kernel change and tells the hook, if any.
    func changed() {
        changes += 1
        afterKernelChange?(changes)
    }

    func update(_ edit: (inout SandboxJournal) -> Void) throws {
        edit(&journal)
        try store.write(journal, encodedSteps: journal.steps.count == encodedSteps.count ? encodedSteps : nil)
    }
}
