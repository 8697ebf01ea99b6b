import Foundation
import Logging
import NetlinkSocket

/// Called right after each kernel change an attach makes, with the number of changes so
/// far. Fault-injection tests kill or stop the process there; nothing on a node sets it.
public typealias KernelChangeHook = @Sendable (_ changes: Int) -> Void

/// Makes an attach's kernel changes, journaling each intent first: one step at a time
/// (`step`), or a run of steps with one write (`intend`) whose outcomes are confirmed in
/// memory and written with the next write.
final class Transaction {
    private(set) var journal: SandboxJournal
    let store: JournalStore
    /// Carries the sandbox, namespace and phase; one `.debug` record per kernel change.
    let logger: Logger
    private(set) var changes = 0
    /// The JSON of each journaled step, encoded once (see `JournalStore.encode(_:encodedSteps:)`).
    private var encodedSteps: [Data] = []
    /// The journal's JSON around its steps, kept until something other than the steps
    /// changes (`update(_:)`): most writes of an attach change only the steps.
    private var frame: JournalStore.Frame?
    /// The checked journal directory, opened at the first write (`JournalStore.openForWrites()`).
    private var directory: OpenJournalDirectory?
    private let afterKernelChange: KernelChangeHook?
    /// Set by `confirm(_:_:)` until a journal write carries what it recorded.
    private var confirmationsPending = false
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
            confirmationsPending = false
            return try body(self)
        }
        journal.steps.append(step)
        encodedSteps.append(try JournalStore.encode(step: step))
        try writeJournal()
        confirmationsPending = false
        return try body(self)
    }

    /// Records every step of `steps` with one journal write, before any of their changes is
    /// made: the intent for a run of changes that go to the kernel together. Returns their
    /// positions in the step list, for `confirm(_:_:)`. Every undo accepts a change of the
    /// run that never happened, and tells sandnet's object from another tool's by what the
    /// kernel shows when the run's confirmation did not reach the disk (see `OwnedObjects`).
    func intend(_ steps: [JournalStep]) throws -> [Int] {
        if let p = pluggedIndex {
            let first = journal.plugged![p].steps.count
            journal.plugged![p].steps += steps
            try store.write(journal)
            confirmationsPending = false
            return Array(first..<(first + steps.count))
        }
        let first = journal.steps.count
        journal.steps += steps
        for step in steps { encodedSteps.append(try JournalStore.encode(step: step)) }
        try writeJournal()
        confirmationsPending = false
        return Array(first..<(first + steps.count))
    }

    /// Writes the journal as it stands (an attach's first write, before any change).
    func write() throws {
        if pluggedIndex == nil { try writeJournal() } else { try store.write(journal) }
        confirmationsPending = false
    }

    /// The step at `position`, as it stands in memory.
    func step(at position: Int) -> JournalStep {
        pluggedIndex.map { journal.plugged![$0].steps[position] } ?? journal.steps[position]
    }

    /// Replaces the step at `position` with what the kernel's answer proved (an add it
    /// accepted, the handle it chose), in memory only: the next journal write (the next
    /// intent, `flush()`, `update(_:)`) records it. Until then a kill leaves only the
    /// intent on disk, and recovery goes by the kernel's evidence.
    func confirm(_ position: Int, _ step: JournalStep) throws {
        if let p = pluggedIndex {
            journal.plugged![p].steps[position] = step
        } else {
            journal.steps[position] = step
            encodedSteps[position] = try JournalStore.encode(step: step)
        }
        confirmationsPending = true
    }

    /// Writes confirmations not yet on disk (a rollback that leaves something for gc).
    func flush() throws {
        guard confirmationsPending else { return }
        if pluggedIndex == nil { try writeJournal() } else { try store.write(journal) }
        confirmationsPending = false
    }

    /// Rewrites the newest step with what is known once its change is made (an ifindex, a
    /// handle, that an add succeeded), in memory first, so a rollback sees it even when the
    /// write fails. Call it before `changed(_:_:)`: a kill at that change finds it on disk.
    func amendLast(_ step: JournalStep) throws {
        if let p = pluggedIndex {
            guard !journal.plugged![p].steps.isEmpty else { return }
            journal.plugged![p].steps[journal.plugged![p].steps.count - 1] = step
            try store.write(journal)
            confirmationsPending = false
            return
        }
        guard !journal.steps.isEmpty else { return }
        journal.steps[journal.steps.count - 1] = step
        encodedSteps[encodedSteps.count - 1] = try JournalStore.encode(step: step)
        try writeJournal()
        confirmationsPending = false
    }

    /// Counts one kernel change just made for the newest step, logs it, and tells the hook
    /// (after the log record is written: the hook may kill the process).
    func changed(_ operation: String, _ object: KernelObject) {
        let steps = pluggedIndex.map { journal.plugged![$0].steps } ?? journal.steps
        changed(operation, object, stepAt: steps.count - 1)
    }

    /// The same for the change of the step at `position` (one of a batch).
    func changed(_ operation: String, _ object: KernelObject, stepAt position: Int) {
        changes += 1
        let steps = pluggedIndex.map { journal.plugged![$0].steps } ?? journal.steps
        if steps.indices.contains(position) {
            logger.kernelChange(operation, object, step: steps[position], number: position + 1, ["change": "\(changes)"])
        }
        afterKernelChange?(changes)
    }

    func update(_ edit: (inout SandboxJournal) -> Void) throws {
        edit(&journal)
        frame = nil
        if pluggedIndex == nil { try writeJournal() } else { try store.write(journal) }
        confirmationsPending = false
    }

    /// Writes the attach's journal (not a plug's): the kept frame, or a new one, around the
    /// steps encoded so far (the whole journal encoded when those are not all its steps).
    private func writeJournal() throws {
        let dir = try directory ?? store.openForWrites()
        directory = dir
        guard encodedSteps.count == journal.steps.count else {
            return try store.write(journal, frame: nil, encodedSteps: [], in: dir)
        }
        if frame == nil { frame = try JournalStore.frame(of: journal) }
        try store.write(journal, frame: frame, encodedSteps: encodedSteps, in: dir)
    }
}
