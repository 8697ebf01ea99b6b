import ArgumentParser
import Foundation
import SandboxNetwork
import SandnetCLI
import Synchronization

/// `sandnet-lab fault-detach`: `sandnet detach` that kills or stops itself right after
/// its Nth undo kernel change, so tests can prove `gc` finishes any interrupted detach.
struct FaultDetachCommand: ParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(
        commandName: "fault-detach",
        abstract: "Run `sandnet detach`, SIGKILLing (--kill-after) or SIGSTOPping (--stop-after) itself after its Nth undo kernel change.",
        discussion: "Takes every option of `sandnet detach`. A stopped detach carries on when sent SIGCONT. "
            + "A detach that makes fewer changes finishes and says how many it made on stderr.")

    @OptionGroup var fault: FaultPoint
    @OptionGroup var detach: DetachOptions
    var logSettings: LogSettings { detach.logSettings }

    func run() throws {
        let made = ChangeCount()
        try detach.run(afterKernelChange: fault.hook(seen: { changes in made.value.withLock { $0 = changes } }))
        FileHandle.standardError.write(Data("fault-detach: detach finished after \(made.value.withLock { $0 }) undo kernel changes\n".utf8))
    }
}

/// The undo kernel changes a fault-detach has seen, shared with its hook.
final class ChangeCount: Sendable {
    let value = Mutex(0)
}
