import Foundation
import NetlinkSocket
#if canImport(Glibc)
import Glibc
#endif

/// Makes an attach's kernel changes one at a time, journaling each intent first.
///
/// Test-only switches (environment): `SANDNET_FAULT_AFTER_STEP=N` SIGKILLs the process
/// right after the Nth kernel change; `SANDNET_PAUSE_AFTER_STEP=N` stops it (SIGSTOP) there
/// so a test can inspect it, then it carries on when continued.
final class Transaction {
    private(set) var journal: SandboxJournal
    let store: JournalStore
    private(set) var changes = 0
    /// The JSON of each journaled step, encoded once (see `JournalStore.encode(_:encodedSteps:)`).
    private var encodedSteps: [Data] = []
    private let faultAfter: Int?
    private let pauseAfter: Int?

    init(journal: SandboxJournal, store: JournalStore) {
        self.journal = journal; self.store = store
        let env = ProcessInfo.processInfo.environment
        faultAfter = env["SANDNET_FAULT_AFTER_STEP"].flatMap(Int.init)
        pauseAfter = env["SANDNET_PAUSE_AFTER_STEP"].flatMap(Int.init)
    }

    /// Records `step`, then makes the change(s) in `body`. `body` may make several kernel
    /// changes that one undo covers; call `changed()` after each.
    func step<T>(_ step: JournalStep, _ body: (Transaction) throws -> T) throws -> T {
        journal.steps.append(step)
        encodedSteps.append(try JournalStore.encode(step: step))
        try store.write(journal, encodedSteps: encodedSteps)
        return try body(self)
    }

    /// Counts one kernel change, and fires the test switches.
    func changed() {
        changes += 1
        if changes == faultAfter { kill(getpid(), SIGKILL) }
        if changes == pauseAfter { raise(SIGSTOP) }
    }

    func update(_ edit: (inout SandboxJournal) -> Void) throws {
        edit(&journal)
        try store.write(journal, encodedSteps: journal.steps.count == encodedSteps.count ? encodedSteps : nil)
    }
}
