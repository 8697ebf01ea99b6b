import Logging
import NetlinkSocket

/// An undo of journaled steps in progress (detach, gc, an attach's rollback): each kernel
/// change is tried once, logged with its result, and collected when it fails. Every undo
/// tolerates its change never having been made, so some errnos mean "nothing to undo".
struct UndoAttempts {
    /// Carries the sandbox, namespace and phase.
    let logger: Logger
    private(set) var failures: [String] = []
    /// Fault injection only (see `SandboxDetach.detach`); told after each change made.
    private let afterKernelChange: KernelChangeHook?
    private var changes = 0

    init(logger: Logger, afterKernelChange: KernelChangeHook? = nil) {
        self.logger = logger
        self.afterKernelChange = afterKernelChange
    }

    mutating func attempt(
        _ operation: String, _ object: KernelObject, step: JournalStep, number: Int,
        ignoring benign: Set<Int32>, _ body: () throws -> Void
    ) {
        attemptChecked(operation, object, step: step, number: number, ignoring: benign) {
            try body()
            return .done
        }
    }

    /// The same for an undo that first checks its object (`OwnedObjects`) and may find nothing of sandnet's to undo.
    mutating func attemptChecked(
        _ operation: String, _ object: KernelObject, step: JournalStep, number: Int,
        ignoring benign: Set<Int32>, _ body: () throws -> UndoOutcome
    ) {
        do {
            switch try body() {
            case .done:
                changes += 1
                logger.kernelChange(operation, object, step: step, number: number, ["result": "done", "change": "\(changes)"])
                afterKernelChange?(changes) // after the log record: the hook may kill the process
            case .nothingToUndo(let why):
                logger.kernelChange(
                    operation, object, step: step, number: number,
                    ["result": "nothing to undo", "reason": "\(why)"])
            }
        } catch let e as SandboxError {
            // A decision, not a kernel failure: logged as one.
            failures.append("\(operation) \(object): \(e)")
            logger.notice(
                "left in place",
                metadata: object.metadata.merging([
                    "step": "\(step.kind)", "stepNumber": "\(number)",
                    "reason": "\(e)"
                ]) { $1 })
        } catch let e as NetlinkError where e.errno.map(benign.contains) ?? false {
            logger.kernelChange(
                operation, object, step: step, number: number,
                ["result": "nothing to undo", "errno": "\(errnoText(e.errno!))"])
        } catch {
            failures.append("\(operation) \(object): \(error)")
            logger.kernelChange(operation, object, step: step, number: number, ["result": "failed", "error": "\(error)"])
        }
    }
}
